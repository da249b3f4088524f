// Browser tests of the timeline and resource view for the on-call engineer (issue 19): identity by
// uid, real links, first/last version from the empty track, deletion marks when zoomed, axis
// labels and ◀ ▶ back to live, time zones, accessibility, the empty landing page, what an object
// owned and the pods of a node. What the page must show is read from sloop's /api/v1 first.

import { contrastPairs } from '../contrast-check.mjs';

export function register(t) {
  const { test, assert } = t;
  const idle = (page) => page.waitForFunction(() => !document.querySelector('[data-testid=busy]')?.classList.contains('on'));
  const resourceUrl = (r, extra = '') => `?res=${encodeURIComponent(`${r.kind}/${r.namespace}/${r.name}`)}&uid=${encodeURIComponent(r.uid)}${extra}`;
  /** "2026-11-20 09:01:05" for an instant in an IANA zone (sv-SE writes ISO-like 24-hour times). */
  const fmtIn = (zone, when) =>
    new Intl.DateTimeFormat('sv-SE', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
      .format(new Date(when))
      .replace(',', '');
  /** The versions the resource view lists (their keys, in order) and the one selected as B. */
  const versionsShown = (page) =>
    page.$$eval('[data-testid=versions] tbody tr', (trs) => ({ keys: trs.map((tr) => tr.dataset.key), b: trs.findIndex((tr) => tr.classList.contains('sel-b')), a: trs.findIndex((tr) => tr.classList.contains('sel-a')) }));

  /** A Pod name that several objects had (kubesim's e2e scenario recreates db-1), from the API. */
  const reused = () =>
    t.waitFor(
      'a Pod name used by two uids (StatefulSet pod recreated)',
      async () => {
        const tl = await t.api('timeline', { lookback: '3h', kind: 'Pod', limit: 100000 });
        const byName = new Map();
        for (const r of tl.rows) byName.set(`${r.namespace}/${r.name}`, [...(byName.get(`${r.namespace}/${r.name}`) || []), r]);
        const list = [...byName.values()].find((l) => new Set(l.map((r) => r.uid)).size >= 2 && l.some((r) => !r.deleted));
        return list && list.sort((a, b) => (a.start < b.start ? -1 : 1));
      },
      30000,
    );

  test('a name reused by two objects is two rows and two resource views, with a switcher between them', async () => {
    const rows = await reused();
    const { namespace, name } = rows[0];
    const page = await t.newPage({ width: 1500, height: 1100 });
    await t.timeline(page, `?namespace=${encodeURIComponent(namespace)}&kind=Pod&match=${encodeURIComponent(name)}&lookback=3h&sort=start`);
    const uids = await page.$$eval('.tl-row', (els, n) => els.filter((e) => e.dataset.name === n).map((e) => e.dataset.uid), name);
    for (const r of rows) assert(uids.includes(r.uid), `no row for ${name} uid ${r.uid} (rows: ${uids})`);
    await t.screenshot(page, 'uid-two-rows');

    // Each row opens its own object; the URL names the uid.
    const old = rows[0];
    await page.click(`.tl-row[data-uid="${old.uid}"] a.name`);
    await page.waitForURL((u) => u.searchParams.get('uid') === old.uid);
    await page.waitForSelector('[data-testid=versions] tbody tr');
    const hist = await t.api('history', { kind: 'Pod', namespace, name, uid: old.uid, payloads: 'false' });
    const all = await t.api('history', { kind: 'Pod', namespace, name, payloads: 'false' });
    assert(all.versions.length > hist.versions.length, 'the history without uid should hold both objects');
    const shown = await versionsShown(page);
    assert(JSON.stringify(shown.keys) === JSON.stringify(hist.versions.map((v) => v.key)), `versions ${shown.keys.length}, the API has ${hist.versions.length} for uid ${old.uid}`);
    assert((await page.textContent('[data-testid=uid]')).trim() === old.uid, 'the summary names another uid');

    // The switcher lists every object of the name (the search API's uids) with its lifetime.
    const found = (await t.api('resources', { search: name, kind: 'Pod' })).resources.filter((r) => r.namespace === namespace && r.name === name);
    const listed = await page.$$eval('[data-testid=incarnations] li', (lis) => lis.map((li) => ({ uid: li.dataset.uid, current: li.classList.contains('current'), text: li.textContent })));
    assert(listed.length === found.length, `switcher lists ${listed.length} objects, the API ${found.length}`);
    for (const f of found) assert(listed.some((l) => l.uid === f.uid), `switcher lacks ${f.uid}`);
    assert(listed.find((l) => l.uid === old.uid)?.current, 'the shown object is not marked');
    assert(listed.find((l) => l.uid === old.uid).text.includes('deleted') === found.find((f) => f.uid === old.uid).deleted, 'deleted mark differs from the API');
    await page.locator('[data-testid=incarnations]').scrollIntoViewIfNeeded();
    await t.screenshot(page, 'uid-switcher');

    const next = rows[rows.length - 1];
    await page.click(`[data-testid=incarnations] li[data-uid="${next.uid}"] a`);
    await page.waitForURL((u) => u.searchParams.get('uid') === next.uid);
    await page.waitForFunction((u) => document.querySelector('[data-testid=uid]')?.textContent.trim() === u, next.uid);
    const shown2 = await versionsShown(page);
    const hist2 = await t.api('history', { kind: 'Pod', namespace, name, uid: next.uid, payloads: 'false' });
    assert(shown2.keys.length > 0 && shown2.keys.every((k) => hist2.versions.some((v) => v.key === k)), 'the second object lists versions that are not its own');
    assert(!shown2.keys.some((k) => hist.versions.some((v) => v.key === k)), 'the second object lists versions of the first');

    // A link without uid (an old link) is resolved to one object and says so in the URL.
    await page.goto(`${t.uiUrl}?res=${encodeURIComponent(`Pod/${namespace}/${name}`)}`);
    await page.waitForURL((u) => !!u.searchParams.get('uid'));
    assert(found.some((f) => f.uid === new URL(page.url()).searchParams.get('uid')), 'resolved to an unknown uid');
    assert(page.errors.length === 0, `page errors: ${page.errors.join('; ')}`);
    await page.close();
  });

  test('rows and search results are real links: open in a new tab works, a left click stays in the page', async () => {
    const pod = t.S.changed[0];
    const page = await t.newPage();
    await t.timeline(page, `?namespace=${encodeURIComponent(pod.namespace)}&kind=Pod&lookback=3h`);
    const link = page.locator(`.tl-row[data-uid="${pod.uid}"] a.name`);
    const href = await link.getAttribute('href');
    const u = new URL(href, page.url());
    assert(u.searchParams.get('res') === `Pod/${pod.namespace}/${pod.name}` && u.searchParams.get('uid') === pod.uid, `row link ${href}`);
    // A new tab: the href alone opens the resource.
    const tab = await t.newPage();
    await tab.goto(u.href);
    await tab.waitForSelector('[data-testid=versions] tbody tr');
    assert((await tab.textContent('[data-testid=resource-title]')).includes(pod.name), 'the link opens another resource');
    await tab.close();
    // A left click navigates without reloading the page.
    await page.evaluate(() => (document.documentElement.dataset.stay = '1'));
    await link.click();
    await page.waitForURL((x) => x.searchParams.get('uid') === pod.uid);
    await page.waitForSelector('[data-testid=versions] tbody tr');
    assert((await page.evaluate(() => document.documentElement.dataset.stay)) === '1', 'the click reloaded the page');

    // Search results: each an <a href> to the resource view with its uid.
    await page.fill('[data-testid=search]', pod.name);
    const hit = page.locator(`[data-testid=search-results] li.result[data-uid="${pod.uid}"] a`);
    await hit.waitFor();
    const shref = new URL(await hit.getAttribute('href'), page.url());
    assert(shref.searchParams.get('uid') === pod.uid && shref.searchParams.get('res') === `Pod/${pod.namespace}/${pod.name}`, `search link ${shref}`);
    await t.screenshot(page, 'search-result-links');
    await page.close();
  });

  test('a gateway (several clusters): the header picks the cluster and keeps the view; search asks for the window shown', async () => {
    const page = await t.newPage();
    // This sloop serves one cluster; its config is answered as a gateway's would be.
    let own = '';
    await page.route('**/api/v1/config*', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      own = body.cluster;
      await route.fulfill({ response: res, json: { ...body, clusters: [body.cluster, 'zz-other'] } });
    });
    const searched = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/v1/resources?')) searched.push(new URL(r.url()));
    });
    await t.timeline(page, '?kind=Pod&lookback=3h');
    const picker = page.locator('header select[data-testid=cluster]');
    await picker.waitFor();
    const options = await picker.locator('option').allTextContents();
    assert(JSON.stringify(options) === JSON.stringify([own, 'zz-other']), `cluster options ${options}`);
    await t.screenshot(page, 'cluster-picker');
    assert((await picker.inputValue()) === own, `the picker shows ${await picker.inputValue()}, not ${own}`);
    // Search covers the window shown (a gateway searches its bucket from the window's start).
    await page.fill('[data-testid=search]', t.S.changed[0].name);
    await page.locator('[data-testid=search-results] li.result').first().waitFor();
    assert(searched.length > 0 && searched.every((u) => u.searchParams.get('lookback') === '3h'), `search requests ${searched.map(String)}`);
    await page.keyboard.press('Escape');
    // Another cluster: the same view at /zz-other/.
    await Promise.all([page.waitForURL((u) => u.pathname.includes('/zz-other')), picker.selectOption('zz-other')]);
    const u = new URL(page.url());
    assert(!u.pathname.includes(`/${own}`), `still under /${own}: ${u}`);
    assert(u.searchParams.get('kind') === 'Pod' && u.searchParams.get('lookback') === '3h', `the view was not kept: ${u}`);
    await page.close();
  });

  test('the empty track before a bar opens the first version, after it the last', async () => {
    const p = t.S.deletedPod;
    const hist = await t.api('history', { kind: 'Pod', namespace: p.namespace, name: p.name, uid: p.uid, payloads: 'false' });
    const vs = hist.versions;
    assert(vs.length >= 2, `${p.name} has ${vs.length} versions`);
    const start = Date.parse(p.start) / 1000;
    const end = Date.parse(p.end) / 1000;
    const span = Math.max(10, end - start);
    const zoom = `${Math.floor(start - span - 20)}-${Math.ceil(end + span + 20)}`;
    const page = await t.newPage();
    const q = `?namespace=${encodeURIComponent(p.namespace)}&kind=Pod&match=${encodeURIComponent(p.name)}&lookback=3h&zoom=${zoom}`;
    for (const [where, expect] of [['before', 0], ['after', vs.length - 1]]) {
      await t.timeline(page, q);
      const track = page.locator(`.tl-row[data-uid="${p.uid}"] svg.tl-track`);
      const box = await track.boundingBox();
      const bar = await page.locator(`.tl-row[data-uid="${p.uid}"] rect.bar`).boundingBox();
      assert(bar.x - box.x > 20 && box.x + box.width - (bar.x + bar.width) > 20, 'the zoom leaves no track around the bar');
      if (where === 'before') await t.screenshot(page, 'click-before-bar');
      await page.mouse.click(where === 'before' ? box.x + 5 : box.x + box.width - 5, box.y + box.height / 2);
      await page.waitForURL((u) => u.searchParams.get('uid') === p.uid);
      await page.waitForSelector('[data-testid=versions] tbody tr.sel-b');
      const shown = await versionsShown(page);
      assert(shown.b === expect, `a click ${where} the bar selected version #${shown.b + 1}, want #${expect + 1} of ${vs.length}`);
    }
    await page.close();
  });

  test('zoomed in, an object that only exists after the visible stretch has no deletion mark', async () => {
    const p = t.S.deletedPod;
    const start = Date.parse(p.start) / 1000;
    const end = Date.parse(p.end) / 1000;
    const page = await t.newPage();
    const q = (zoom) => `?namespace=${encodeURIComponent(p.namespace)}&kind=Pod&match=${encodeURIComponent(p.name)}&lookback=3h&zoom=${zoom}`;
    const state = () =>
      page.$eval(`.tl-row[data-uid="${p.uid}"]`, (row) => ({
        deleted: row.classList.contains('deleted'),
        badge: !!row.querySelector('.deleted-badge'),
        endcap: getComputedStyle(row.querySelector('line.endcap')).display !== 'none',
        bar: getComputedStyle(row.querySelector('rect.bar')).display !== 'none',
      }));
    // Before the pod existed: nothing drawn, nothing deleted.
    await t.timeline(page, q(`${Math.floor(start - 1500)}-${Math.floor(start - 300)}`));
    let s = await state();
    assert(!s.deleted && !s.badge && !s.endcap && !s.bar, `before its life the row shows ${JSON.stringify(s)}`);
    await t.screenshot(page, 'zoomed-before-creation');
    // Its life in view: the deletion is marked (control).
    await t.timeline(page, q(`${Math.floor(start - 60)}-${Math.ceil(end + 60)}`));
    s = await state();
    assert(s.deleted && s.endcap && s.bar, `with its deletion in view the row shows ${JSON.stringify(s)}`);
    await page.close();
  });

  test('axis labels are inside the axis at both ends, and ◀ then ▶ returns to live', async () => {
    const page = await t.newPage({ width: 1300, height: 700 });
    for (const q of ['?namespace=_all&lookback=1h', '?namespace=_all&lookback=3h', '?namespace=_all&lookback=15m']) {
      await t.timeline(page, q);
      const out = await page.evaluate(() => {
        const svg = document.querySelector('.tl-axis').getBoundingClientRect();
        return [...document.querySelectorAll('.tl-axis g.axis .tick text')]
          .map((e) => ({ text: e.textContent, r: e.getBoundingClientRect() }))
          .filter(({ r }) => r.left < svg.left - 0.5 || r.right > svg.right + 0.5)
          .map((x) => x.text);
      });
      assert(out.length === 0, `${q}: labels cut at the edge: ${out}`);
    }
    await t.screenshot(page, 'axis-labels');
    await page.click('[data-testid=shift-earlier]');
    await page.waitForURL((u) => !!u.searchParams.get('end'));
    await idle(page);
    await page.click('[data-testid=shift-later]');
    await page.waitForURL((u) => !u.searchParams.get('end'));
    await idle(page);
    await page.waitForFunction(() => document.querySelector('[data-testid=live]')?.dataset.state === 'live');
    assert((await page.isChecked('[data-testid=filter-now]')), '"now" is not ticked after ▶');
    await page.close();
  });

  test('times follow the chosen zone (local by default, or UTC, kept in the URL), 24-hour everywhere', async () => {
    const zone = 'America/New_York';
    const page = await t.browser.newPage({ viewport: { width: 1500, height: 1000 }, timezoneId: zone, locale: 'en-US' });
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(e.message));
    const pod = [...t.S.changed].sort((a, b) => b.changed_at.length - a.changed_at.length)[0];
    const history = () => t.api('history', { kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid, payloads: 'false' });
    const times = () => page.$$eval('[data-testid=versions] tbody td.time', (tds) => tds.map((td) => td.textContent));
    // The pod keeps changing while the scenario runs: a version recorded between the API's
    // answer and the page's is read again (page and API both), up to five times.
    const agree = async (tz) => {
      let shown = [];
      let want = [];
      for (let attempt = 0; attempt < 5; attempt++) {
        if (attempt > 0) {
          await page.reload();
          await page.waitForSelector('[data-testid=versions] tbody tr');
        }
        shown = await times();
        want = (await history()).versions.map((v) => fmtIn(tz, v.time));
        if (JSON.stringify(shown) === JSON.stringify(want)) return;
      }
      assert(false, `${tz} times ${shown.length}: ${shown.slice(0, 2)}… vs the API's ${want.length}: ${want.slice(0, 2)}…`);
    };
    await page.goto(`${t.uiUrl}${resourceUrl(pod)}`);
    await page.waitForSelector('[data-testid=versions] tbody tr');
    await agree(zone);
    assert((await page.textContent('[data-testid=versions] thead')).includes(zone), 'the time column does not name the zone');
    const hist = await history();
    await page.selectOption('[data-testid=tz]', 'utc');
    await page.waitForURL((u) => u.searchParams.get('tz') === 'utc');
    // Versions are listed oldest first: the first one's time says the zone changed.
    await page.waitForFunction((first) => document.querySelector('[data-testid=versions] tbody td.time')?.textContent === first, fmtIn('UTC', hist.versions[0].time));
    await agree('UTC');
    await t.screenshot(page, 'tz-utc-resource');

    // The timeline: axis ticks in the zone, the end box 24-hour in the zone, typed times read in it.
    const ticksMatch = (z) =>
      page.$$eval('.tl-axis g.axis .tick', (ticks) => ticks.map((tk) => ({ at: tk.__data__?.getTime?.(), text: tk.querySelector('text').textContent }))).then((list) =>
        list.filter((x) => /^\d\d:\d\d(:\d\d)?$/.test(x.text)).every((x) => fmtIn(z, x.at).slice(11, 11 + x.text.length) === x.text) && list.length > 0,
      );
    for (const [tz, z] of [['utc', 'UTC'], ['local', zone]]) {
      await t.timeline(page, `?namespace=_all&lookback=3h${tz === 'utc' ? '&tz=utc' : ''}`);
      assert(await ticksMatch(z), `axis ticks are not in ${z}`);
      assert((await page.inputValue('[data-testid=tz]')) === tz, `the zone select shows ${await page.inputValue('[data-testid=tz]')}`);
      await page.uncheck('[data-testid=filter-now]');
      await page.waitForURL((u) => !!u.searchParams.get('end'));
      await idle(page);
      const end = new URL(page.url()).searchParams.get('end');
      const box = await page.inputValue('[data-testid=filter-end]');
      assert(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(box) && !/[AP]M/i.test(box), `end box "${box}"`);
      assert(box === fmtIn(z, end), `end box "${box}", the URL's end ${end} in ${z} is ${fmtIn(z, end)}`);
      // Type an hour earlier, in the zone: the URL gets the same instant in UTC.
      const earlier = new Date(Date.parse(end) - 3600e3);
      await page.fill('[data-testid=filter-end]', fmtIn(z, earlier));
      await page.press('[data-testid=filter-end]', 'Enter');
      await page.waitForURL((u) => u.searchParams.get('end') === earlier.toISOString().replace('.000Z', 'Z'));
      await idle(page);
      if (tz === 'local') await t.screenshot(page, 'tz-local-timeline');
    }
    assert(page.errors.length === 0, `page errors: ${page.errors.join('; ')}`);
    await page.close();
  });

  test('accessibility: contrast of badges and heat, keyboard on bars and ticks, accessible names, no debug globals, plurals', async () => {
    // Contrast of every colour pair, computed (the same check as tests/webfiles/contrast-check.mjs).
    const bad = (await contrastPairs()).filter((x) => x.ratio < x.min);
    assert(bad.length === 0, `contrast below AA: ${bad.map((x) => `${x.what} ${x.ratio.toFixed(2)}`).join(', ')}`);
    const page = await t.newPage({ width: 1500, height: 1000 });
    await t.timeline(page, '?namespace=_all&lookback=3h');
    const badges = await page.$$eval('.kind-badge', (els) => {
      const rgb = (s) => s.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number);
      const lum = (c) => {
        const l = c.map((v) => v / 255).map((v) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
        return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
      };
      return els.map((e) => {
        const cs = getComputedStyle(e);
        const [a, b] = [lum(rgb(cs.color)), lum(rgb(cs.backgroundColor))].sort((x, y) => y - x);
        return { kind: e.textContent, ratio: (a + 0.05) / (b + 0.05) };
      });
    });
    assert(badges.length > 3, 'no kind badges drawn');
    const low = badges.filter((b) => b.ratio < 4.5);
    assert(low.length === 0, `badges below 4.5:1: ${JSON.stringify(low.slice(0, 5))}`);

    // Accessible names on every drawn bar.
    const unnamed = await page.$$eval('.tl-row', (rows) => rows.filter((r) => !(r.querySelector('rect.bar').getAttribute('aria-label') || '').includes(r.dataset.name)).length);
    assert(unnamed === 0, `${unnamed} bars without an accessible name`);

    // Keyboard: a bar takes focus, → reaches its first change tick, Enter opens the version then.
    const pod = [...t.S.changed].sort((a, b) => b.changed_at.length - a.changed_at.length)[0];
    // Zoomed on the pod's life, so that its ticks are apart (and the screenshot shows the focus).
    const life = `${Math.floor(Date.parse(pod.start) / 1000 - 20)}-${Math.ceil(Math.max(...pod.changed_at) + 20)}`;
    await t.timeline(page, `?namespace=${encodeURIComponent(pod.namespace)}&kind=Pod&lookback=3h&zoom=${life}`);
    const bar = `.tl-row[data-uid="${pod.uid}"] rect.bar`;
    await page.focus(bar);
    assert(await page.evaluate((sel) => document.activeElement === document.querySelector(sel), bar), 'the bar did not take focus');
    await page.keyboard.press('ArrowDown');
    const moved = await page.evaluate(() => document.activeElement?.closest('.tl-row')?.dataset.index);
    const rowsCount = await page.$$eval('.tl-row', (r) => r.length);
    if (rowsCount > 1) assert(moved !== undefined, 'ArrowDown did not move to another row');
    // Every change of the pod is drawn as a tick (one path for the row's changes); a live pod may
    // have changed since the scenario's answer, inside the zoom's last 20 s.
    const drawn = await page.$eval(`.tl-row[data-uid="${pod.uid}"] path.tick.changed`, (p) => (p.getAttribute('d') || '').split('M').length - 1);
    assert(drawn >= pod.changed_at.length, `${drawn} change ticks drawn, the API had ${pod.changed_at.length}`);
    await page.focus(bar);
    await page.keyboard.press('ArrowRight');
    const tick = await page.evaluate(() => ({ cls: document.activeElement?.getAttribute('class'), t: Number(document.activeElement?.dataset?.t), label: document.activeElement?.getAttribute('aria-label') }));
    assert(/tick/.test(tick.cls || '') && tick.t === Math.min(...pod.changed_at), `ArrowRight focused ${JSON.stringify(tick)}`);
    assert(tick.label && tick.label.includes(pod.name), `the tick has no accessible name: ${tick.label}`);
    await t.screenshot(page, 'keyboard-tick-focus');
    // → and ← move the focus from change to change, in time order.
    const times = [...new Set(pod.changed_at)].sort((a, b) => a - b);
    const focusedT = () => page.evaluate(() => Number(document.activeElement?.dataset?.t));
    if (times.length >= 2) {
      await page.keyboard.press('ArrowRight');
      assert((await focusedT()) === times[1], `the second → focused ${await focusedT()}, want ${times[1]}`);
      await page.keyboard.press('ArrowLeft');
      assert((await focusedT()) === times[0], `← focused ${await focusedT()}, want ${times[0]}`);
    }
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.searchParams.get('uid') === pod.uid && Number(u.searchParams.get('at')) === tick.t);
    await page.waitForSelector('[data-testid=versions] tbody tr.sel-b');
    const hist = await t.api('history', { kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid, payloads: 'false' });
    let want = 0;
    hist.versions.forEach((v, i) => {
      // The tick's second: the last version recorded within it (the change it marks).
      if (Date.parse(v.time) / 1000 < tick.t + 1) want = i;
    });
    const shown = await versionsShown(page);
    assert(shown.b === want, `Enter on the tick opened version #${shown.b + 1}, the one in force then is #${want + 1}`);

    // No debug globals in the production bundle.
    const scripts = await page.evaluate(() => [...document.querySelectorAll('script[src]')].map((s) => s.src));
    assert(scripts.length > 0, 'no script loaded');
    for (const src of scripts) {
      const js = await (await fetch(src)).text();
      const hits = js.match(/\b(?:window|globalThis|self)\.(?:__\w+|debug\w*)\s*=[^=]/g);
      assert(!hits, `${src} assigns debug globals: ${hits}`);
    }

    // "1 resource", not "1 resources": a filter with exactly one row, found with the API.
    const one = t.S.tl.rows.find((r) => r.namespace && t.S.tl.rows.filter((x) => x.namespace === r.namespace && x.kind === r.kind && x.name.includes(r.name)).length === 1);
    const q = { lookback: '3h', namespace: one.namespace, kind: one.kind, name_match: one.name };
    assert((await t.api('timeline', q)).rows.length === 1, 'the API has not one row for the filter');
    await t.timeline(page, `?namespace=${encodeURIComponent(one.namespace)}&kind=${one.kind}&match=${encodeURIComponent(one.name)}&lookback=3h`);
    const count = (await page.textContent('[data-testid=row-count]')).trim();
    assert(count === '1 resource', `the count says "${count}"`);
    assert(page.errors.length === 0, `page errors: ${page.errors.join('; ')}`);
    await page.close();
  });

  test('a landing page with few rows says so and offers all namespaces and the busiest ones', async () => {
    const cfg = await t.api('config');
    const ns = cfg.defaults.namespace && cfg.defaults.namespace !== '_all' ? cfg.defaults.namespace : 'default';
    const lookback = cfg.defaults.lookback || '1h';
    const here = await t.api('timeline', { lookback, namespace: ns, limit: 20000 });
    const page = await t.newPage();
    await t.timeline(page, ns === cfg.defaults.namespace ? '' : `?namespace=${ns}`);
    if (here.rows.length >= 5) {
      assert(!(await page.isVisible('[data-testid=suggest]')), 'suggestions shown on a busy namespace');
      await page.close();
      return;
    }
    const box = page.locator('[data-testid=suggest]');
    await box.waitFor({ state: 'visible' });
    await page.waitForSelector('[data-testid=suggest-all]');
    const all = await t.api('timeline', { lookback, limit: 20000 });
    const counts = new Map();
    for (const r of all.rows) if (r.namespace && r.namespace !== ns) counts.set(r.namespace, (counts.get(r.namespace) || 0) + 1);
    const busiest = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
    const offered = await page.$$eval('[data-testid=suggest] a[data-namespace]', (as) => as.map((a) => ({ ns: a.dataset.namespace, n: Number(a.dataset.count) })));
    assert(offered.length > 0 && offered[0].ns === busiest[0], `busiest offered ${JSON.stringify(offered)}, the API's is ${busiest}`);
    // The scenario plays on between the two reads: the count may have grown a little.
    assert(Math.abs(offered[0].n - busiest[1]) <= 3, `count ${offered[0].n}, the API says ${busiest[1]}`);
    const text = await box.textContent();
    assert(text.includes(here.rows.length === 1 ? '1 resource ' : `${here.rows.length} resources`) || text.includes('Nothing'), `the box says "${text}"`);
    await t.screenshot(page, 'landing-suggestions');
    await page.click(`[data-testid=suggest] a[data-namespace="${busiest[0]}"]`);
    await page.waitForURL((u) => u.searchParams.get('namespace') === busiest[0]);
    await idle(page);
    const rows = await t.allRows(page);
    assert(rows.length >= busiest[1] - 3, `${rows.length} rows in ${busiest[0]}`);
    await page.click('header a.logo');
    await page.waitForSelector('[data-testid=suggest-all]');
    await page.click('[data-testid=suggest-all]');
    await page.waitForURL((u) => u.searchParams.get('namespace') === '_all');
    await page.close();
  });

  test("a Deployment's page lists its ReplicaSets and their Pods, a Node's the Pods that ran on it", async () => {
    const { d } = t.S.rollout;
    const page = await t.newPage({ width: 1500, height: 1200 });
    await page.goto(`${t.uiUrl}${resourceUrl(d)}`);
    await page.waitForSelector('[data-testid=owned] li');
    const tl = await t.api('timeline', { lookback: '3h', namespace: d.namespace, limit: 100000 });
    const rs = tl.rows.filter((r) => r.owners?.some((o) => o.uid === d.uid));
    const pods = tl.rows.filter((r) => r.owners?.some((o) => rs.some((x) => x.uid === o.uid)));
    const shown = await page.$$eval('[data-testid=owned] li', (lis) => lis.map((li) => ({ kind: li.dataset.kind, uid: li.dataset.uid, parent: li.parentElement.closest('li')?.dataset.uid || '', href: li.querySelector('a').getAttribute('href') })));
    for (const r of rs) assert(shown.some((s) => s.uid === r.uid && s.kind === 'ReplicaSet' && s.parent === ''), `ReplicaSet ${r.name} not listed`);
    for (const p of pods) {
      const owner = p.owners.find((o) => rs.some((x) => x.uid === o.uid)).uid;
      assert(shown.some((s) => s.uid === p.uid && s.parent === owner), `Pod ${p.name} not listed under its ReplicaSet`);
    }
    for (const s of shown) assert(new URL(s.href, page.url()).searchParams.get('uid') === s.uid, `owned link without its uid: ${s.href}`);
    await page.locator('[data-testid=owned]').scrollIntoViewIfNeeded();
    await t.screenshot(page, 'owned-over-time');

    // A Node: the pods whose spec.nodeName is the node (the timeline's node filter).
    const nodes = t.S.tl.rows.filter((r) => r.kind === 'Node');
    let node = null;
    let ran = null;
    for (const n of nodes) {
      const a = await t.api('timeline', { lookback: '3h', node: n.name, limit: 20000 });
      if (a.rows.length) {
        node = n;
        ran = a.rows;
        break;
      }
    }
    assert(node, 'no node with pods');
    // Cross-check the filter with the pods' own payloads.
    for (const p of ran.slice(0, 5)) {
      const v = await t.api('payload', { kind: 'Pod', namespace: p.namespace, name: p.name, uid: p.uid, at: p.end });
      assert(v.payload.spec.nodeName === node.name, `${p.name} ran on ${v.payload.spec.nodeName}, not ${node.name}`);
    }
    await page.goto(`${t.uiUrl}${resourceUrl(node)}`);
    await page.waitForSelector('[data-testid=node-pods] li');
    const listed = await page.$$eval('[data-testid=node-pods] li', (lis) => lis.map((li) => li.dataset.uid));
    for (const p of ran) if (Date.parse(p.start) >= Date.now() - 3 * 3600e3) assert(listed.includes(p.uid), `pod ${p.name} ran on ${node.name} but is not listed`);
    await page.locator('[data-testid=node-pods]').scrollIntoViewIfNeeded();
    await t.screenshot(page, 'node-pods');
    assert(page.errors.length === 0, `page errors: ${page.errors.join('; ')}`);
    await page.close();
  });
}
