// Browser tests of live mode, recording gaps, unrecorded spans and the diff's default, against
// clusters of their own: B, lively (kubesim's default scenario, sped up), for live mode; C, the
// e2e scenario recorded by a sloop started 5 s late (its first objects existed before their first
// record), which the gaps test stops and starts again (a hole in the recording; the relist stores
// versions identical to the ones before, which the diff must skip by default).

import fs from 'node:fs';
import path from 'node:path';

export function register(t) {
  const { test, assert } = t;

  /** A kubesim and a sloop recording it on its own store; `delay` between the two (objects the
   * cluster makes meanwhile exist before their first record). */
  async function cluster(name, simArgs, delayMs = 0) {
    const dir = path.join(t.workDir, name);
    fs.mkdirSync(dir, { recursive: true });
    const portFile = path.join(dir, 'kubesim.port');
    const sim = t.start(`kubesim-${name}`, t.opt.kubesim, ['--port', '0', '--bind', '127.0.0.1', '--port-file', portFile, ...simArgs]);
    const simPort = await t.waitFor(`kubesim ${name} to write its port`, () => fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim(), 15000);
    const kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\ncurrent-context: ${name}\nclusters:\n- name: sim\n  cluster:\n    server: http://127.0.0.1:${simPort}\n` +
        `users:\n- name: nobody\n  user: {}\ncontexts:\n- name: ${name}\n  context:\n    cluster: sim\n    user: nobody\n`,
    );
    if (delayMs) await t.sleep(delayMs);
    const port = await t.freePort();
    const c = { name, dir, kubeconfig, port, base: `http://127.0.0.1:${port}`, sim, simStarted: Date.now() - delayMs, sloop: null, restarted: null };
    await startSloop(c);
    const cfg = await (await fetch(`${c.base}/api/v1/config`)).json();
    c.url = `${c.base}${cfg.url_prefix || '/' + name}`;
    c.api = async (route, params = {}) => {
      const u = new URL(`${c.url}/api/v1/${route}`);
      for (const [k, v] of Object.entries(params)) u.searchParams.set(k, String(v));
      const res = await fetch(u);
      if (!res.ok) throw new Error(`${u}: HTTP ${res.status} ${await res.text()}`);
      return res.json();
    };
    return c;
  }

  async function startSloop(c) {
    const args = [`-port=${c.port}`, '-bind-address=127.0.0.1', `-store-root=${path.join(c.dir, 'store')}`];
    if (t.opt.webFilesPath) args.push(`-web-files-path=${path.resolve(t.opt.webFilesPath)}`);
    c.sloop = t.start(`sloop-${c.name}`, t.opt.sloop, args, { KUBECONFIG: c.kubeconfig, HOME: c.dir });
    await t.waitFor(`sloop ${c.name} /readyz`, async () => (await fetch(`${c.base}/readyz`)).ok, 30000);
  }

  async function stop(child) {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }

  // B: lively (kubesim's default scenario at 10x), for live mode; stopped after its test.
  let B = null;
  async function clusterB() {
    if (!B) {
      B = await cluster('b', ['--scenario', 'default', '--pods', '12', '--nodes', '2', '--speed', '10', '--seed', '3']);
      await t.waitFor('sloop B to record the cluster', async () => (await B.api('timeline', { lookback: '15m', limit: 10000 })).rows.length > 50, 30000);
    }
    return B;
  }

  // C: the e2e scenario in real time, recorded from 5 s after it began (what it made first existed
  // before its first record); then quiet, so that a restart's relist stores identical versions.
  let C = null;
  async function clusterC() {
    if (!C) {
      C = await cluster('c', ['--scenario', 'e2e', '--seed', '11'], 5000);
      await t.waitFor('sloop C to record the e2e scenario', async () => (await C.api('timeline', { lookback: '15m', kind: 'Pod', limit: 10000 })).rows.some((r) => r.deleted), 30000);
    }
    return C;
  }

  /** Stops sloop C, waits, starts it again on the same store: once, for the tests that need it. */
  async function restartC() {
    await clusterC();
    if (C.restarted) return C.restarted;
    // The scenario is done within ~10 s: stop after it, so that the relist finds nothing new
    // but the time that passed.
    await t.sleep(Math.max(0, C.simStarted + 12000 - Date.now()));
    const stopped = new Date();
    await stop(C.sloop);
    await t.sleep(6000);
    const started = new Date();
    await startSloop(C);
    C.restarted = { stopped, started };
    return C.restarted;
  }

  /** The uids of the timeline's rows in their order, collected by scrolling the virtualised list. */
  const rowUids = (page) =>
    page.evaluate(async () => {
      const scroll = document.querySelector('[data-testid=timeline-rows]');
      const keep = scroll.scrollTop;
      const seen = new Map();
      scroll.scrollTop = 0;
      for (;;) {
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        for (const row of scroll.querySelectorAll('.tl-row')) seen.set(Number(row.style.top.replace('px', '')), row.dataset.uid);
        if (scroll.scrollTop + scroll.clientHeight >= scroll.scrollHeight - 1) break;
        scroll.scrollTop += scroll.clientHeight;
      }
      scroll.scrollTop = keep;
      return [...seen.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
    });
  const live = (page) => page.$eval('[data-testid=live]', (e) => ({ state: e.dataset.state, updated: Number(e.dataset.updated), text: e.textContent }));

  test('live mode follows the clock: new rows appear without reload, existing rows keep their order, paused while hovered, zoomed or hidden', async () => {
    const B = await clusterB();
    const apiB = B.api;
    const page = await t.newPage({ width: 1500, height: 900 });
    // most_events: a full re-sort would reorder rows as their Events grow; live updates must not.
    await page.goto(`${B.url}?namespace=_all&lookback=15m&sort=most_events`);
    await page.waitForSelector('[data-testid=row-count]');
    await page.waitForFunction(() => document.querySelector('[data-testid=live]')?.dataset.state === 'live');
    await page.mouse.move(5, 5);
    await page.evaluate(() => (document.documentElement.dataset.stay = '1'));
    const before = await rowUids(page);
    const first = await live(page);
    await t.screenshot(page, 'live-following');
    await page.waitForFunction((u) => Number(document.querySelector('[data-testid=live]').dataset.updated) > u, first.updated, { timeout: 15000 });
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid=row-count]').textContent.match(/\d+/)[0]) > n, before.length, { timeout: 20000 });
    const after = await rowUids(page);
    assert((await page.evaluate(() => document.documentElement.dataset.stay)) === '1', 'the page reloaded');
    const added = after.filter((u) => !before.includes(u));
    assert(added.length > 0, 'no new row appeared');
    const apiNow = new Set((await apiB('timeline', { lookback: '15m', limit: 20000 })).rows.map((r) => r.uid));
    assert(added.every((u) => apiNow.has(u)), 'a new row the API does not have');
    const kept = before.filter((u) => after.includes(u));
    const keptAfter = after.filter((u) => before.includes(u));
    assert(JSON.stringify(kept) === JSON.stringify(keptAfter), 'live updates reordered rows that were already shown');

    // Pointer on the rows: paused, no refresh, the row under the pointer stays.
    // The fourth row on screen (rows are positioned in a virtualised list: go by coordinates).
    const list = await page.locator('[data-testid=timeline-rows]').boundingBox();
    const box = { x: list.x, y: list.y + 3 * 22, height: 22 };
    await page.mouse.move(box.x + 600, box.y + box.height / 2);
    await page.waitForFunction(() => document.querySelector('[data-testid=live]').dataset.state === 'paused');
    const under = () => page.evaluate(([x, y]) => document.elementFromPoint(x, y)?.closest('.tl-row')?.dataset.uid, [box.x + 600, box.y + box.height / 2]);
    const held = await live(page);
    const uidUnder = await under();
    assert(/paused/.test(held.text), `indicator says "${held.text}"`);
    await t.screenshot(page, 'live-paused-hover');
    await t.sleep(7000);
    assert((await live(page)).updated === held.updated, 'refreshed while the pointer was on the rows');
    assert((await under()) === uidUnder, 'the row under the pointer changed');
    await page.mouse.move(5, 5);
    await page.waitForFunction((u) => Number(document.querySelector('[data-testid=live]').dataset.updated) > u, held.updated, { timeout: 12000 });

    // Zoomed away from the live edge: paused until "fit".
    await page.click('button[title^="zoom in"]');
    await page.waitForURL((u) => !!u.searchParams.get('zoom'));
    assert((await live(page)).state === 'paused', 'not paused when zoomed in');
    await page.click('button[title="show the whole window"]');
    await page.waitForURL((u) => !u.searchParams.get('zoom'));
    await page.waitForFunction(() => document.querySelector('[data-testid=live]').dataset.state === 'live');
    // A hidden tab asks nothing.
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    assert((await live(page)).state === 'paused', 'not paused in a hidden tab');
    // A fixed end: not live at all.
    await page.goto(`${B.url}?namespace=_all&lookback=15m&end=${encodeURIComponent(new Date(Date.now() - 60000).toISOString().replace(/\.\d+Z/, 'Z'))}`);
    await page.waitForSelector('[data-testid=row-count]');
    assert((await live(page)).state === 'off', 'a view with an end is shown as live');
    assert(page.errors.length === 0, `page errors: ${page.errors.join('; ')}`);
    await page.close();
    // Done with the lively cluster: give the machine back.
    await stop(B.sloop);
    await stop(B.sim);
  });

  test('an object created before sloop began recording is drawn from its creation, hatched up to its first record', async () => {
    const C = await clusterC();
    // From the API: a row created inside the window whose first record (its first change tick)
    // came two or more seconds after its creation: made in the seconds before sloop C began.
    const tl = await C.api('timeline', { lookback: '15m', limit: 20000 });
    const from = Date.parse(tl.from) / 1000;
    const late = tl.rows
      .filter((r) => r.created && Date.parse(r.created) / 1000 >= from && r.changed_at.length)
      .map((r) => ({ r, created: Date.parse(r.created) / 1000, first: Math.min(...r.changed_at, ...(r.nochange_at || [])) }))
      .filter((x) => x.first - x.created >= 2)
      .sort((x, y) => y.first - y.created - (x.first - x.created));
    assert(late.length > 0, "no object in the API's answer was created two seconds or more before its first record");
    const { r, created, first } = late[0];
    const z0 = Math.floor(created - 20);
    const z1 = Math.min(Math.ceil(first + 20), Math.floor(Date.parse(tl.to) / 1000)); // inside the window
    const page = await t.newPage({ width: 1500, height: 700 });
    await page.goto(`${C.url}?namespace=${encodeURIComponent(r.namespace || '_all')}&kind=${r.kind}&match=${encodeURIComponent(r.name)}&lookback=15m&zoom=${z0}-${z1}`);
    await page.waitForSelector(`.tl-row[data-uid="${r.uid}"] rect.unrecorded-span`);
    const g = await page.$eval(`.tl-row[data-uid="${r.uid}"]`, (row) => {
      const track = row.querySelector('svg.tl-track').getBoundingClientRect();
      const bar = row.querySelector('rect.bar').getBoundingClientRect();
      const hs = [...row.querySelectorAll('rect.unrecorded-span')].map((h) => h.getBoundingClientRect());
      return { track: track.toJSON(), bar: bar.toJSON(), hatch: hs.map((x) => x.toJSON()) };
    });
    const pps = g.track.width / (z1 - z0);
    const hatch = g.hatch.find((h) => Math.abs(h.left - g.bar.left) < 2);
    assert(hatch, `no hatch where the bar begins (bar at ${g.bar.left}, hatches at ${g.hatch.map((h) => h.left)})`);
    assert(Math.abs(g.bar.left - (g.track.left + (created - z0) * pps)) < 3, 'the bar does not begin at the creation time');
    assert(Math.abs(hatch.width - (first - created) * pps) < 3, `hatch ${hatch.width.toFixed(1)} px, creation to first record is ${((first - created) * pps).toFixed(1)} px`);
    await page.mouse.move(hatch.left + hatch.width / 2, hatch.top + hatch.height / 2);
    const tip = page.locator('.tl-tooltip');
    await tip.waitFor({ state: 'visible' });
    assert(/existed, not recorded/.test(await tip.textContent()), `tooltip: ${await tip.textContent()}`);
    await t.screenshot(page, 'existed-not-recorded');
    assert(page.errors.length === 0, `page errors: ${page.errors.join('; ')}`);
    await page.close();
  });

  /** Before the store began (the gaps answer's recording_since): shaded as not recorded, and the
   * bars of objects created before it hatched. */
  async function beforeStart(page, C, g) {
    if (!g?.recording_since) return;
    const since = Date.parse(g.recording_since) / 1000;
    await page.goto(`${C.url}?namespace=_all&lookback=15m`);
    await page.waitForSelector('[data-testid=gap]');
    const pre = await page.$$eval('[data-testid=gap]', (els) => els.filter((e) => e.dataset.start === '-Infinity').map((e) => e.title));
    assert(pre.length === 1 && /not recorded/.test(pre[0]), `no shade before recording_since: ${pre}`);
    const tl = await C.api('timeline', { lookback: '15m', limit: 20000 });
    const old = tl.rows.find((r) => r.created && Date.parse(r.created) / 1000 < since - 2 && Date.parse(r.start) / 1000 < since - 2);
    assert(old, 'no object created before the store began (sloop C starts 5 s after its cluster)');
    await page.fill('[data-testid=filter-match]', old.name);
    await page.waitForURL((u) => u.searchParams.get('match') === old.name);
    await page.waitForFunction(() => !document.querySelector('[data-testid=busy]')?.classList.contains('on'));
    await page.waitForSelector(`.tl-row[data-uid="${old.uid}"]`);
    assert((await page.locator(`.tl-row[data-uid="${old.uid}"] rect.unrecorded-span`).count()) > 0, `${old.kind} ${old.name} existed before the store began but its bar is not hatched`);
    await t.screenshot(page, 'not-recorded-before-start');
  }

  test('recording gaps are shaded on the axis and behind the rows, with what happened; unrecorded spans of bars are hatched', async () => {
    const C = await clusterC();
    const probe = await fetch(`${C.url}/api/v1/gaps?lookback=15m`);
    const { stopped, started } = await restartC();
    const page = await t.newPage({ width: 1500, height: 900 });
    // Zoomed on the restart, so that the gap is wide enough to point at.
    const zoom = `${Math.floor(stopped / 1000 - 40)}-${Math.ceil(started / 1000 + 20)}`;
    await page.goto(`${C.url}?namespace=_all&lookback=15m&zoom=${zoom}`);
    await page.waitForSelector('[data-testid=row-count]');
    await page.waitForFunction(() => !document.querySelector('[data-testid=busy]')?.classList.contains('on'));
    // A server without the route (404), or one that keeps no recording log ("recording": false,
    // so it cannot know its gaps): no shading of the restart and no error. The full check runs
    // against a sloop that keeps the log (h-gaps).
    const g = probe.status === 404 ? null : await C.api('gaps', { start_time: new Date(stopped.getTime() - 120000).toISOString(), end_time: new Date(started.getTime() + 5000).toISOString() });
    if (!g || g.recording === false) {
      await t.sleep(500);
      const shades = await page.$$eval('[data-testid=gap]', (els) => els.map((e) => Number(e.dataset.start)).filter((x) => Number.isFinite(x)));
      assert(shades.length === 0, `shading of gaps the server did not report: ${shades}`);
      assert(!(await page.locator('[data-testid=error]').isVisible()), 'an error banner about the gaps route');
      await beforeStart(page, C, g);
      console.log(`# /api/v1/gaps ${g ? 'keeps no recording log ("recording": false)' : 'is absent (404)'}: checked that the UI tolerates it; run again against a sloop with h-gaps complete for the shading`);
      await page.close();
      return;
    }
    const hole = (g.gaps || []).find((x) => x.scope === 'recorder' && Date.parse(x.start) <= started.getTime() && (!x.end || Date.parse(x.end) >= stopped.getTime()));
    assert(hole, `the API reports no recorder gap for the restart (${stopped.toISOString()} to ${started.toISOString()}): ${JSON.stringify(g)}`);
    const from = Date.parse(hole.start) / 1000;
    await page.waitForSelector('[data-testid=gap]');
    const shades = await page.$$eval('[data-testid=gap]', (els) => els.map((e) => ({ start: Number(e.dataset.start), kind: e.dataset.kind, title: e.title, box: e.getBoundingClientRect().toJSON() })));
    const shade = shades.find((s) => Math.abs(s.start - from) < 1 && !s.kind);
    assert(shade, `no shade starting at the API's gap ${hole.start}: ${JSON.stringify(shades.map((s) => s.start))}`);
    assert(shade.title.includes(hole.reason) && /not recorded/.test(shade.title), `shade says "${shade.title}"`);
    assert((await page.locator('.tl-axis rect.gap').count()) === shades.length, 'the axis and the rows are shaded differently');
    // The tooltip over the axis names it.
    const axis = await page.locator('.tl-axis').boundingBox();
    await page.mouse.move(shade.box.x + shade.box.width / 2, axis.y + 8);
    const tip = page.locator('.tl-tooltip');
    await tip.waitFor({ state: 'visible' });
    const text = await tip.textContent();
    assert(text.includes(hole.reason) && /not recorded/.test(text), `axis tooltip says "${text}"`);
    await t.screenshot(page, 'gap-shaded');
    // Bars of objects alive across the gap are hatched over it.
    const hatched = await page.$$eval('.tl-row', (rows, sx) => rows.filter((r) => [...r.querySelectorAll('rect.unrecorded-span')].some((h) => Math.abs(h.getBoundingClientRect().left - sx) < 2)).length, shade.box.x);
    assert(hatched > 0, 'no bar is hatched over the gap');
    await page.mouse.move(5, 5);
    await t.screenshot(page, 'gap-hatched-bars');

    await beforeStart(page, C, g);
    assert(page.errors.length === 0, `page errors: ${page.errors.join('; ')}`);
    await page.close();
  });

  test('the diff defaults to the last real change (a relist that changed nothing is skipped) and says so when two versions are identical', async () => {
    const C = await clusterC();
    await restartC();
    const noise = (p) => {
      const c = structuredClone(p);
      delete c.kind;
      delete c.apiVersion;
      if (c.metadata) {
        delete c.metadata.managedFields;
        delete c.metadata.resourceVersion;
      }
      return c;
    };
    const stable = (v) => JSON.stringify(v, (k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x));
    const same = (a, b) => stable(noise(a.payload)) === stable(noise(b.payload));
    // An object whose newest version (the relist after the restart) equals the one before.
    const tl = await C.api('timeline', { lookback: '15m', limit: 20000 });
    const ticks = (x) => (x.changed_at?.length ?? 0) + (x.nochange_at?.length ?? 0);
    const candidates = tl.rows.filter((x) => !x.deleted && x.kind !== 'Event' && ticks(x) >= 2).sort((x, y) => ticks(y) - ticks(x)).slice(0, 80);
    let pick = null;
    for (const r of candidates) {
      const h = await C.api('history', { kind: r.kind, namespace: r.namespace, name: r.name, uid: r.uid });
      const vs = h.versions;
      if (vs.length >= 3 && same(vs[vs.length - 2], vs[vs.length - 1])) {
        let b = vs.length - 1;
        while (b > 0 && same(vs[b - 1], vs[b])) b--;
        if (b > 0) {
          pick = { r, vs, b };
          break;
        }
      }
    }
    // sloop reconciles a restart's first list against the store, so the restart itself adds no
    // version that changed nothing; stores written before that (and Sloop imports) hold many. Without
    // one, the newest change of an object with several versions is the default, and an identical
    // pair is that version against itself.
    if (!pick) {
      const r = candidates.find(() => true);
      assert(r, 'no object with two versions or more');
      const h = await C.api('history', { kind: r.kind, namespace: r.namespace, name: r.name, uid: r.uid });
      let b = h.versions.length - 1;
      while (b > 0 && same(h.versions[b - 1], h.versions[b])) b--;
      assert(b > 0, `${r.name}: no version differs from the one before`);
      pick = { r, vs: h.versions, b, noIdentical: true };
    }
    const { r, vs, b } = pick;
    const page = await t.newPage({ width: 1500, height: 1100 });
    await page.goto(`${C.url}?res=${encodeURIComponent(`${r.kind}/${r.namespace}/${r.name}`)}&uid=${r.uid}`);
    await page.waitForSelector('[data-testid=versions] tbody tr.sel-b');
    const sel = await page.$$eval('[data-testid=versions] tbody tr', (trs) => ({ keys: trs.map((t) => t.dataset.key), b: trs.findIndex((t) => t.classList.contains('sel-b')), a: trs.findIndex((t) => t.classList.contains('sel-a')) }));
    const bKey = vs[b].key;
    assert(sel.keys[sel.b] === bKey && sel.keys[sel.a] === vs[b - 1].key, `default diff #${sel.a + 1} → #${sel.b + 1}, the last real change is #${b} → #${b + 1} of ${vs.length}`);
    assert((await page.locator('[data-testid=diff-identical]').count()) === 0, 'the default diff says identical');
    await page.locator('[data-testid=diff]').scrollIntoViewIfNeeded();
    await t.screenshot(page, 'diff-last-real-change');

    // Two identical versions: one message block, no empty diff table.
    const last = vs.length - 1;
    const aKey = pick.noIdentical ? vs[last].key : vs[last - 1].key;
    await page.goto(`${C.url}?res=${encodeURIComponent(`${r.kind}/${r.namespace}/${r.name}`)}&uid=${r.uid}&a=${encodeURIComponent(aKey)}&b=${encodeURIComponent(vs[last].key)}`);
    const msg = page.locator('[data-testid=diff-identical]');
    await msg.waitFor();
    const inColumn = await msg.evaluate((e) => !!e.closest('td'));
    assert(!inColumn, 'the message sits in a table cell');
    const width = (await msg.boundingBox()).width;
    assert(width > 400, `the message block is ${width}px wide`);
    const said = await msg.textContent();
    assert(pick.noIdentical ? /same version/.test(said) : /identical/.test(said), `the message says "${said}"`);
    assert((await page.locator('[data-testid=diff] table.linediff').count()) === 0, 'an empty diff table is drawn');
    await page.locator('[data-testid=diff]').scrollIntoViewIfNeeded();
    await t.screenshot(page, 'diff-identical');
    assert(page.errors.length === 0, `page errors: ${page.errors.join('; ')}`);
    await page.close();
  });
}
