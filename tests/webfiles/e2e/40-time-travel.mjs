// Time travel (webfiles/src/snapshot.ts): the cluster as it was at a moment, checked against what
// kubesim itself served at that moment (kubesim is the Kubernetes API: its own `kubectl get pods
// -o wide` Table is the truth), and its controls: the typed moment, the steps, the URL, the tabs,
// a click on the timeline's axis, and the empty answer.

import fs from 'node:fs';
import path from 'node:path';

/** Pods as kubesim lists them now, in its Table form (kubectl's columns), keyed namespace/name. */
async function kubesimPods(t) {
  const portFile = path.join(t.workDir, 'kubesim.port');
  t.assert(fs.existsSync(portFile), `no ${portFile}: this test needs the kubesim the harness starts (not --url)`);
  const port = fs.readFileSync(portFile, 'utf8').trim();
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/pods`, { headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } });
  t.assert(res.ok, `kubesim answered ${res.status} to a Table list of pods`);
  const table = await res.json();
  const col = (name) => table.columnDefinitions.findIndex((c) => c.name.toLowerCase() === name);
  const [ready, status, restarts, ip, node] = ['ready', 'status', 'restarts', 'ip', 'node'].map(col);
  t.assert([ready, status, restarts, ip, node].every((i) => i >= 0), `kubesim's pod Table lacks a column: ${table.columnDefinitions.map((c) => c.name)}`);
  const pods = new Map();
  for (const r of table.rows) {
    const m = r.object.metadata;
    pods.set(`${m.namespace}/${m.name}`, {
      ready: r.cells[ready],
      status: r.cells[status],
      // "3 (20s ago)": the count is the state; how long ago depends on when you look.
      restarts: parseInt(String(r.cells[restarts]), 10),
      ip: r.cells[ip],
      node: r.cells[node],
    });
  }
  return pods;
}

const same = (a, b) => JSON.stringify([...a.entries()].sort()) === JSON.stringify([...b.entries()].sort());

/** The snapshot table on the page: header names and rows of cells, with each row's link. */
async function snapshotTable(page) {
  await page.waitForSelector('[data-testid=snapshot-table], [data-testid=snapshot-empty]');
  await page.waitForFunction(() => !document.querySelector('[data-testid=busy]')?.classList.contains('on'));
  return page.evaluate(() => {
    const table = document.querySelector('[data-testid=snapshot-table]');
    if (!table) return { columns: [], rows: [] };
    const columns = [...table.querySelectorAll('thead th')].map((th) => th.textContent);
    const rows = [...table.querySelectorAll('tbody tr')].map((tr) => ({
      cells: [...tr.querySelectorAll('td')].map((td) => td.textContent),
      href: tr.querySelector('a[href]')?.href ?? '',
      uid: tr.dataset.uid,
      versionTime: tr.dataset.versionTime,
    }));
    return { columns, rows };
  });
}

const iso = (sec) => new Date(sec * 1000).toISOString().replace('.000Z', 'Z');

export function register(t) {
  t.test("time travel shows the pods as kubesim served them at a past moment, each row a link to that version", async () => {
    // A moment when kubesim's pods were the same in two reads 2.5 s apart: sloop's view of it
    // then, a few hundred milliseconds of ingest later, is that state too.
    let truth = null;
    let t1 = 0;
    for (let attempt = 0; attempt < 6 && !truth; attempt++) {
      const a = await kubesimPods(t);
      const readA = Date.now();
      await t.sleep(2500);
      const b = await kubesimPods(t);
      if (same(a, b)) {
        truth = b;
        t1 = Math.floor(readA / 1000) + 2;
      }
    }
    t.assert(truth, 'kubesim never held still for 2.5 s');
    t.assert(truth.size > 0, 'kubesim serves no pods');
    // The scenario goes on (the crasher restarts); see it move on if it does within 15 s.
    let moved = false;
    for (let i = 0; i < 15 && !moved; i++) {
      await t.sleep(1000);
      moved = !same(truth, await kubesimPods(t));
    }
    console.log(`# time travel to ${iso(t1)}: ${truth.size} pods; kubesim ${moved ? 'moved on after it' : 'held still for 15 s after it'}`);

    const page = await t.newPage();
    await page.goto(`${t.uiUrl}?view=snapshot&namespace=_all&when=${t1}&tz=utc`);
    const { columns, rows } = await snapshotTable(page);
    const at = (name) => columns.indexOf(name);
    for (const c of ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE']) t.assert(at(c) >= 0, `no ${c} column: ${columns}`);
    const shown = new Map(
      rows.map((r) => [
        `${r.cells[at('NAMESPACE')]}/${r.cells[at('NAME')]}`,
        { ready: r.cells[at('READY')], status: r.cells[at('STATUS')], restarts: parseInt(r.cells[at('RESTARTS')], 10), ip: r.cells[at('IP')], node: r.cells[at('NODE')] },
      ]),
    );
    const missing = [...truth.keys()].filter((k) => !shown.has(k));
    const extra = [...shown.keys()].filter((k) => !truth.has(k));
    t.assert(!missing.length && !extra.length, `at ${iso(t1)} kubesim had pods sloop's time travel lacks (${missing}) or not these (${extra})`);
    for (const [k, want] of truth) {
      const got = shown.get(k);
      t.assert(JSON.stringify(got) === JSON.stringify(want), `${k} at ${iso(t1)}: the page shows ${JSON.stringify(got)}, kubesim served ${JSON.stringify(want)}`);
    }
    if (moved) {
      // The page did not show the cluster now: kubesim moved on, and sloop's now moved with it.
      const nowAnswer = await t.api('snapshot', { kind: 'Pod', namespace: '_all' });
      const now = new Map(nowAnswer.rows.map((r) => [`${r.namespace}/${r.name}`, r.cells.join('|')]));
      const then = new Map(rows.map((r) => [`${r.cells[at('NAMESPACE')]}/${r.cells[at('NAME')]}`, r.cells.filter((_, i) => i !== at('NAMESPACE')).join('|')]));
      const ageless = (m) => new Map([...m].map(([k, v]) => [k, v.split('|').filter((_, i) => i !== 4).map((c) => c.replace(/ \(.*\)$/, '')).join('|')]));
      t.assert(!same(ageless(now), ageless(then)), 'kubesim changed after the moment, yet the page shows what sloop shows now');
    }
    const count = await page.textContent('[data-testid=snapshot-count]');
    t.assert(count.startsWith(`${truth.size} Pod`), `the count says "${count}" for ${truth.size} pods`);
    t.assert(new URL(page.url()).searchParams.get('when') === iso(t1), `the moment in the URL is ${new URL(page.url()).searchParams.get('when')}, not ${iso(t1)}`);
    t.assert((await page.inputValue('[data-testid=snapshot-when]')) === iso(t1).replace('T', ' ').replace('Z', ''), 'the moment box does not show the moment, 24-hour');
    await t.screenshot(page, 'time-travel');

    // Every row is a link to its object's resource view, at the very version the row was read from.
    for (const r of rows) {
      const u = new URL(r.href);
      const ns = r.cells[at('NAMESPACE')];
      const name = r.cells[at('NAME')];
      t.assert(u.searchParams.get('res') === `Pod/${ns}/${name}` && u.searchParams.get('uid') === r.uid, `row ${name} links to ${r.href}`);
      t.assert(u.searchParams.get('at') === String(t1) && u.searchParams.get('b_at') === r.versionTime, `row ${name} does not link to its version at the moment: ${r.href}`);
    }
    const crasher = rows.find((r) => /CrashLoopBackOff|Error/.test(r.cells[at('STATUS')])) ?? rows[0];
    const ns = crasher.cells[at('NAMESPACE')];
    const name = crasher.cells[at('NAME')];
    const inForce = await t.api('payload', { kind: 'Pod', namespace: ns, name, at: iso(t1) });
    await page.click(`[data-testid=snapshot-table] tr[data-uid="${crasher.uid}"] a`);
    await page.waitForURL((u) => u.searchParams.get('res') === `Pod/${ns}/${name}`);
    await page.waitForSelector('[data-testid=versions] tbody tr.sel-b');
    const b = await page.getAttribute('[data-testid=versions] tbody tr.sel-b', 'data-key');
    t.assert(b === inForce.key, `the resource view opened version ${b}, the one in force at ${iso(t1)} is ${inForce.key}`);
    t.assert(inForce.time === crasher.versionTime, `the row was read from ${crasher.versionTime}, the version in force is of ${inForce.time}`);
    await page.goBack();
    await page.waitForURL((u) => u.searchParams.get('view') === 'snapshot' && !u.searchParams.get('res'));
    t.assert((await snapshotTable(page)).rows.length === rows.length, 'back from the resource view, the table is not the same');
    t.assert(page.errors.length === 0, `page errors: ${page.errors.join('; ')}`);
    await page.close();
  });

  t.test('time travel: typed moments, steps, now, the empty answer, tabs and a click on the time axis, all in the URL', async () => {
    const ns = t.S.rollout.d.namespace;
    const page = await t.newPage();
    await t.timeline(page, `?namespace=${encodeURIComponent(ns)}&lookback=3h&tz=utc`);

    // A click on the time axis: the cluster at that moment, namespace kept.
    const axis = await page.locator('.tl-axis').boundingBox();
    const win = await page.evaluate(() => document.querySelector('.legend .window')?.textContent ?? '');
    await page.mouse.click(axis.x + axis.width * 0.75, axis.y + axis.height / 2);
    await page.waitForURL((u) => u.searchParams.get('view') === 'snapshot');
    let u = new URL(page.url());
    const clicked = Date.parse(u.searchParams.get('when'));
    const lo = Date.now() - 3 * 3600e3;
    t.assert(clicked > lo + 3600e3 && clicked < Date.now(), `a click three quarters along the axis of ${win} gave when=${u.searchParams.get('when')}`);
    t.assert(u.searchParams.get('namespace') === ns && u.searchParams.get('lookback') === '3h', `the namespace or window was lost: ${u.search}`);
    t.assert((await page.inputValue('[data-testid=filter-kind]')) === 'Pod', 'with all kinds, time travel does not show Pods');
    await snapshotTable(page);

    // The tabs: the timeline and back, every parameter kept.
    await page.click('[data-testid=view-tabs] a[data-view=timeline]');
    await page.waitForURL((u) => !u.searchParams.get('view'));
    await page.waitForSelector('[data-testid=row-count]');
    t.assert(new URL(page.url()).searchParams.get('namespace') === ns, 'the timeline tab lost the namespace');
    await page.goBack();
    await page.waitForURL((u) => u.searchParams.get('view') === 'snapshot');
    await snapshotTable(page);

    // A moment typed, 24-hour; the steps; an unreadable one is refused and named.
    const first = Math.min(...t.S.pods.filter((p) => p.namespace === ns).map((p) => Date.parse(p.start)));
    const typed = new Date(Math.floor((first + Date.now()) / 2000) * 1000);
    const text = typed.toISOString().slice(0, 19).replace('T', ' ');
    await page.fill('[data-testid=snapshot-when]', text);
    await page.press('[data-testid=snapshot-when]', 'Enter');
    await page.waitForURL((u) => u.searchParams.get('when') === typed.toISOString().replace('.000Z', 'Z'));
    let { rows } = await snapshotTable(page);
    const api = await t.api('snapshot', { kind: 'Pod', namespace: ns, at: typed.toISOString() });
    t.assert(JSON.stringify(rows.map((r) => r.cells)) === JSON.stringify(api.rows.map((r) => r.cells)), `the rows at ${text} are not the API's: ${JSON.stringify(rows.map((r) => r.cells[0]))}`);
    t.assert(!(await page.locator('[data-testid=snapshot-table] th', { hasText: 'NAMESPACE' }).count()), 'a NAMESPACE column for one namespace');
    await page.click('[data-testid=snapshot-bar] button[data-step="-300"]');
    await page.waitForURL((u) => u.searchParams.get('when') === new Date(typed.getTime() - 300e3).toISOString().replace('.000Z', 'Z'));
    await page.click('[data-testid=snapshot-bar] button[data-step="3600"]');
    await page.waitForURL((u) => Date.parse(u.searchParams.get('when')) === typed.getTime() + 3300e3 || !u.searchParams.get('when'));
    await page.goBack();
    await page.waitForURL((u) => u.searchParams.get('when') === new Date(typed.getTime() - 300e3).toISOString().replace('.000Z', 'Z'));
    // Back re-renders the view once its answer is in: type into the box that answer drew.
    await page.waitForFunction(() => !document.querySelector('[data-testid=busy]')?.classList.contains('on'));
    await page.fill('[data-testid=snapshot-when]', 'yesterday at 3');
    await page.press('[data-testid=snapshot-when]', 'Enter');
    await page.waitForSelector('[data-testid=snapshot-when].invalid', { timeout: 5000 });
    t.assert(/not a time/.test(await page.textContent('[data-testid=snapshot-when-error]')), 'an unreadable moment is not explained');

    // A namespace without Deployments: none existed, and the page says so.
    const bare = t.S.tl.rows.map((r) => r.namespace).filter((n) => n && !t.S.tl.rows.some((r) => r.kind === 'Deployment' && r.namespace === n))[0];
    t.assert(bare, 'every namespace of the scenario has a Deployment');
    const shownAt = (d) => d.toISOString().slice(0, 19).replace('T', ' ');
    await page.goto(`${t.uiUrl}?view=snapshot&namespace=${encodeURIComponent(bare)}&kind=Deployment&when=${typed.toISOString()}&tz=utc`);
    await page.waitForSelector('[data-testid=snapshot-empty]');
    let empty = await page.textContent('[data-testid=snapshot-empty]');
    t.assert(empty.includes(`No Deployment existed in ${bare} at ${shownAt(typed)}`), `the empty answer says "${empty}"`);
    await t.screenshot(page, 'time-travel-empty');
    // Before sloop's oldest record, "none existed" would be a guess: the page says it does not know.
    const before = new Date(Date.parse((await t.api('stats')).oldest_record) - 3600e3);
    await page.goto(`${t.uiUrl}?view=snapshot&namespace=${encodeURIComponent(ns)}&kind=Deployment&when=${before.toISOString()}&tz=utc`);
    await page.waitForSelector('[data-testid=snapshot-empty].unrecorded');
    empty = await page.textContent('[data-testid=snapshot-empty]');
    t.assert(empty.includes(`Nothing is known of ${ns} at ${shownAt(before)}`) && /history starts at/.test(empty), `before the history, the page says "${empty}"`);

    // Another kind, now: kubectl's Deployment columns, the API's rows.
    await page.click('[data-testid=snapshot-bar] button[data-step=now]');
    await page.waitForURL((u) => !u.searchParams.get('when'));
    ({ rows } = await snapshotTable(page));
    const deps = await t.api('snapshot', { kind: 'Deployment', namespace: ns });
    const cols = await page.locator('[data-testid=snapshot-table] th').allTextContents();
    t.assert(JSON.stringify(cols) === JSON.stringify(deps.columns), `Deployment columns ${cols}, the API's ${deps.columns}`);
    t.assert(JSON.stringify(rows.map((r) => r.cells[0]).sort()) === JSON.stringify(deps.rows.map((r) => r.name).sort()), 'the Deployments now are not the API\'s');

    // In a browser east of UTC (no DST there): the box shows and takes the moment in the zone the
    // page shows times in (its label says which), 24-hour.
    const ctx = await t.browser.newContext({ timezoneId: 'Asia/Kolkata', locale: 'en-US', viewport: { width: 1500, height: 950 } });
    const east = await ctx.newPage();
    await east.goto(`${t.uiUrl}?view=snapshot&namespace=${encodeURIComponent(ns)}&when=${iso(typed.getTime() / 1000)}`);
    await snapshotTable(east);
    const label = await east.textContent('[data-testid=snapshot-bar] .field-label');
    const offset = /UTC\+05:30/.test(label) ? 330 * 60e3 : /\(UTC\)/.test(label) ? 0 : NaN;
    t.assert(Number.isFinite(offset), `the moment's label "${label}" names neither the browser's zone nor UTC`);
    console.log(`# time travel in Asia/Kolkata: the moment is typed in "${label}"`);
    const shownText = (ms) => new Date(ms + offset).toISOString().slice(0, 19).replace('T', ' ');
    t.assert((await east.inputValue('[data-testid=snapshot-when]')) === shownText(typed.getTime()), `the box shows ${await east.inputValue('[data-testid=snapshot-when]')} under "${label}"`);
    await east.fill('[data-testid=snapshot-when]', shownText(typed.getTime() - 60e3));
    await east.press('[data-testid=snapshot-when]', 'Enter');
    await east.waitForURL((u) => u.searchParams.get('when') === iso(typed.getTime() / 1000 - 60));
    await ctx.close();

    // A moment that is not one is said so, not quietly taken for now.
    await page.goto(`${t.uiUrl}?view=snapshot&when=yesterday`);
    await page.waitForSelector('[data-testid=snapshot-unreadable]');
    t.assert(!new URL(page.url()).searchParams.has('when'), 'the unreadable moment stayed in the URL');
    t.assert(page.errors.length === 0, `page errors: ${page.errors.join('; ')}`);
    await page.close();
  });
}
