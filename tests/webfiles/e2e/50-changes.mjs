// What changed (webfiles/src/changes.ts): the counts and lines of a window against
// /api/v1/changes for the same window and against the e2e scenario (the Deployment rolled out, the
// bare pod deleted, the crasher's BackOff warnings), grouping by owner, the header tab keeping the
// timeline's window, and a line opening the diff of the two versions the server named.

/** The lines on the page, in order, with their group. */
async function changeLines(page) {
  await page.waitForSelector('[data-testid=change-list], [data-testid=changes-empty]');
  await page.waitForFunction(() => !document.querySelector('[data-testid=busy]')?.classList.contains('on'));
  return page.evaluate(() =>
    [...document.querySelectorAll('[data-testid=change-list] a.change-line')].map((a) => {
      const group = a.closest('.change-group');
      return {
        ...a.dataset,
        href: a.href,
        text: a.textContent,
        group: group.dataset.group,
        ownerKind: group.dataset.ownerKind ?? null,
        ownerName: group.dataset.ownerName ?? null,
      };
    }),
  );
}

const key = (c) => [c.change, c.kind, c.namespace, c.name, c.uid, c.from_time ?? c.from ?? '', c.to_time ?? c.to ?? ''].join('|');

/** The page's lines against the API's answer for the window the page says it showed. */
async function checkAgainstApi(t, page, params) {
  const lines = await changeLines(page);
  const win = await page.evaluate(() => ({ ...document.querySelector('[data-testid=changes-view]').dataset }));
  t.assert(win.start && win.end, 'the view does not say which window it showed');
  const answer = await t.api('changes', { ...params, from: win.start, to: win.end, limit: 2000 });
  const want = answer.changes.map(key).sort();
  const got = lines.map((l) => key({ ...l, from_time: l.from, to_time: l.to })).sort();
  const missing = want.filter((k) => !got.includes(k));
  const extra = got.filter((k) => !want.includes(k));
  t.assert(!missing.length && !extra.length, `lines missing (${missing.slice(0, 3)}) or not in the API's answer (${extra.slice(0, 3)})`);
  const counts = await page.$$eval('[data-testid=change-counts] .count-chip', (els) => Object.fromEntries(els.map((e) => [e.dataset.change, Number(e.dataset.count)])));
  t.assert(JSON.stringify(counts) === JSON.stringify(answer.counts), `counts ${JSON.stringify(counts)}, the API's ${JSON.stringify(answer.counts)}`);
  // Grouped by the top owner; within a group, and group by group, newest first.
  for (const l of lines) {
    const c = answer.changes.find((x) => key(x) === key({ ...l, from_time: l.from, to_time: l.to }));
    if (c.owner) t.assert(l.ownerName === c.owner.name && l.ownerKind === c.owner.kind, `${c.kind} ${c.name} is not under its owner ${c.owner.kind} ${c.owner.name}`);
  }
  const groups = [];
  for (const l of lines) {
    if (groups.at(-1)?.id !== l.group) groups.push({ id: l.group, at: [] });
    groups.at(-1).at.push(l.at);
  }
  t.assert(new Set(groups.map((g) => g.id)).size === groups.length, 'a group is split');
  for (const g of groups) t.assert(g.at.every((a, i) => i === 0 || Date.parse(g.at[i - 1]) >= Date.parse(a)), `group ${g.id} is not newest first`);
  t.assert(groups.every((g, i) => i === 0 || Date.parse(groups[i - 1].at[0]) >= Date.parse(g.at[0])), 'groups are not newest first');
  return { lines, answer };
}

export function register(t) {
  t.test("what changed: one click from the timeline's header, its window kept, the lines and counts the API's", async () => {
    const ns = t.S.rollout.d.namespace;
    // A window that ends in the past, once ingested: what sloop answers for it no longer changes.
    await t.sleep(1500);
    const end = new Date((Math.floor(Date.now() / 1000) - 1) * 1000).toISOString().replace('.000Z', 'Z');
    const page = await t.newPage({ width: 1500, height: 1200 });
    await t.timeline(page, `?namespace=${encodeURIComponent(ns)}&lookback=3h&end=${end}&tz=utc`);
    await page.click('[data-testid=view-tabs] a[data-view=changes]');
    await page.waitForURL((u) => u.searchParams.get('view') === 'changes');
    const u = new URL(page.url());
    t.assert(u.searchParams.get('namespace') === ns && u.searchParams.get('lookback') === '3h' && u.searchParams.get('end') === end, `the tab lost the timeline's window or namespace: ${u.search}`);
    const { lines } = await checkAgainstApi(t, page, { namespace: ns });
    t.assert(lines.length > 0, 'no change in three hours of the scenario');
    const elsewhere = lines.filter((l) => l.namespace !== ns && !(l.kind === 'Namespace' && l.name === ns));
    t.assert(!elsewhere.length, `lines from another namespace: ${elsewhere.map((l) => `${l.kind} ${l.namespace}/${l.name}`)}`);
    // The whole scenario is in the window: its deleted pod and its crash-looping pod's warnings.
    const gone = t.S.deletedPod;
    if (gone.namespace === ns) {
      t.assert(lines.some((l) => l.change === 'deleted' && l.uid === gone.uid), `the deleted pod ${gone.name} is not among ${lines.filter((l) => l.change === 'deleted').map((l) => l.name)}`);
    }
    const warn = lines.find((l) => l.change === 'warnings' && l.name === t.S.warned.name);
    t.assert(warn && /\d+× \w+/.test(warn.text), `no warning burst line for ${t.S.warned.name}`);
    // The same window on the timeline: the tab back keeps it.
    await page.click('[data-testid=view-tabs] a[data-view=timeline]');
    await page.waitForURL((u) => !u.searchParams.get('view') && u.searchParams.get('lookback') === '3h' && u.searchParams.get('namespace') === ns && u.searchParams.get('end') === end);

    // Zoomed in, the timeline's visible window is the one asked about; ◀ moves a window that size.
    await page.waitForSelector('[data-testid=row-count]');
    await page.click('button[title^="zoom in"]');
    await page.waitForURL((u) => !!u.searchParams.get('zoom'));
    const [z0, z1] = new URL(page.url()).searchParams.get('zoom').split('-').map(Number);
    await page.click('[data-testid=view-tabs] a[data-view=changes]');
    await page.waitForURL((u) => u.searchParams.get('view') === 'changes' && !!u.searchParams.get('zoom'));
    await checkAgainstApi(t, page, { namespace: ns });
    const shown = await page.evaluate(() => ({ ...document.querySelector('[data-testid=changes-view]').dataset }));
    t.assert(Date.parse(shown.start) === z0 * 1000 && Date.parse(shown.end) === z1 * 1000, `zoomed to ${z0}-${z1}, the view asked about ${shown.start} to ${shown.end}`);
    await page.click('[data-testid=changes-bar] button[title^="earlier"]');
    await page.waitForURL((u) => !u.searchParams.get('zoom') && u.searchParams.get('lookback') === `${z1 - z0}s` && Math.abs(Date.parse(u.searchParams.get('end')) - (z1 - (z1 - z0) / 2) * 1000) < 1000);
    await checkAgainstApi(t, page, { namespace: ns });
    t.assert(page.errors.length === 0, `page errors: ${page.errors.join('; ')}`);
    await page.close();
  });

  t.test('what changed across a rollout: rollout started under its Deployment, the deletion, the warnings; a line opens its diff', async () => {
    const { d } = t.S.rollout;
    const hist = (await t.api('history', { kind: 'Deployment', namespace: d.namespace, name: d.name })).versions;
    // A window from just before the version whose pod template changed (the rollout) to now.
    const template = (v) => JSON.stringify(v.payload?.spec?.template ?? null);
    const r = hist.findIndex((v, i) => i > 0 && template(v) !== template(hist[i - 1]));
    t.assert(r > 0, `sloop recorded no template change of ${d.name} (${hist.length} versions): it began after the rollout`);
    const from = (Date.parse(hist[r - 1].time) + Date.parse(hist[r].time)) / 2;
    // The window ends in the past (what sloop holds of it no longer changes), once ingested.
    const end = Math.floor(Date.now() / 1000) - 1;
    await t.sleep(1500);
    const lookback = `${((end * 1000 - from) / 1000).toFixed(3)}s`;
    const endIso = new Date(end * 1000).toISOString().replace('.000Z', 'Z');
    const page = await t.newPage({ width: 1500, height: 1200 });
    await page.goto(`${t.uiUrl}?view=changes&namespace=_all&end=${endIso}&lookback=${lookback}&tz=utc`);
    const { lines, answer } = await checkAgainstApi(t, page, {});

    const rollout = lines.find((l) => l.change === 'rollout_started' && l.kind === 'Deployment' && l.name === d.name);
    t.assert(rollout, `no rollout_started line for ${d.name}: ${lines.map((l) => `${l.change} ${l.name}`).join(', ')}`);
    t.assert(rollout.ownerName === d.name || !rollout.ownerName, 'the rollout line is under another owner');
    t.assert(/image .+ → /.test(rollout.text), `the rollout line does not say what: "${rollout.text}"`);
    const rsLines = lines.filter((l) => l.kind === 'ReplicaSet' && l.ownerName === d.name);
    t.assert(rsLines.length > 0, `no ReplicaSet change grouped under ${d.name}`);
    t.assert(rsLines.every((l) => l.group === rollout.group), 'the ReplicaSets are not in the Deployment\'s group');
    const gone = lines.find((l) => l.change === 'deleted' && l.name === t.S.deletedPod.name);
    t.assert(gone, `the deleted pod ${t.S.deletedPod.name} is not listed as deleted`);
    t.assert(lines.some((l) => l.change === 'warnings'), 'no warning burst');
    t.assert(answer.counts.rollout_started >= 1 && (await page.textContent('[data-testid=change-counts] [data-change=rollout_started] b')) === String(answer.counts.rollout_started), 'the rollout count is not shown');
    await t.screenshot(page, 'what-changed');

    // The rollout line opens the Deployment's diff between the two versions the server compared.
    await page.click(`a.change-line[data-change=rollout_started][data-uid="${rollout.uid}"]`);
    await page.waitForURL((u) => u.searchParams.get('res') === `Deployment/${d.namespace}/${d.name}`);
    let url = new URL(page.url());
    t.assert(url.searchParams.get('a_at') === rollout.from && url.searchParams.get('b_at') === rollout.to, `the diff link is ${url.search}`);
    await page.waitForSelector('[data-testid=versions] tbody tr.sel-b');
    const sel = async () => ({
      a: await page.getAttribute('[data-testid=versions] tbody tr.sel-a', 'data-key'),
      b: await page.getAttribute('[data-testid=versions] tbody tr.sel-b', 'data-key'),
    });
    let picked = await sel();
    const want = { a: hist.find((v) => v.time === rollout.from)?.key, b: hist.find((v) => v.time === rollout.to)?.key };
    t.assert(want.a && want.b, `no stored version at ${rollout.from} or ${rollout.to}`);
    t.assert(picked.a === want.a && picked.b === want.b, `A/B are ${JSON.stringify(picked)}, the change names ${JSON.stringify(want)}`);
    const diff = await t.api('diff', { kind: 'Deployment', namespace: d.namespace, name: d.name, from: rollout.from, to: rollout.to });
    const image = diff.ops.find((o) => o.path === '/spec/template/spec/containers/0/image');
    t.assert(image, `the API's diff has no image change: ${diff.ops.map((o) => o.path)}`);
    const fields = await page.textContent('[data-testid=changed-fields]');
    t.assert(fields.includes('spec.template.spec.containers[0].image') && fields.includes(String(image.value)), `the diff's changed fields lack the image: ${fields.slice(0, 300)}`);
    await page.locator('[data-testid=diff]').scrollIntoViewIfNeeded();
    await t.screenshot(page, 'what-changed-diff');

    // Back to the list, then the deletion: B is the deletion record, A the version before it.
    await page.goBack();
    await page.waitForURL((u) => u.searchParams.get('view') === 'changes' && !u.searchParams.get('res'));
    await page.click(`a.change-line[data-change=deleted][data-uid="${gone.uid}"]`);
    await page.waitForURL((u) => u.searchParams.get('res') === `Pod/${gone.namespace}/${gone.name}`);
    await page.waitForSelector('[data-testid=versions] tbody tr.sel-b');
    const bType = await page.getAttribute('[data-testid=versions] tbody tr.sel-b', 'data-watch-type');
    t.assert(/^DELETED/.test(bType), `the deletion opened a ${bType} version as B`);
    const podHist = (await t.api('history', { kind: 'Pod', namespace: gone.namespace, name: gone.name, uid: gone.uid, payloads: 'false' })).versions;
    picked = await sel();
    t.assert(picked.a === podHist.find((v) => v.time === gone.from)?.key, `A is ${picked.a}, not the version of ${gone.from}`);
    url = new URL(page.url());
    t.assert(url.searchParams.get('view') === 'changes', 'the resource view forgot where it was opened from');
    t.assert(page.errors.length === 0, `page errors: ${page.errors.join('; ')}`);
    await page.close();
  });
}
