#!/usr/bin/env node
// Browser end-to-end tests of the UI (ctest label `browser`): playwright-core drives Debian's
// chromium, headless, against a real `sloop` fed by `kubesim --scenario e2e`. What the UI must
// show is read from sloop's own /api/v1 first (the scenario's names are not hard-coded), then
// checked on the page. A screenshot of every screen goes to the output directory. Tests of later
// features live one file per feature in tests/webfiles/e2e/ and register themselves here.
//
//   node tests/webfiles/run-e2e.mjs [--sloop build/sloop] [--kubesim build/kubesim]
//        [--chromium /usr/bin/chromium] [--out DIR] [--only NAME,NAME] [--skip NAME,NAME]
//        [--url http://127.0.0.1:8080/cluster]   (test a server already running; starts nothing)
//        [--web-files-path webfiles/dist]         (have sloop serve the UI from disk)
//
// Exit status 0 when every test passed. Output is TAP.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const require = createRequire(path.join(root, 'webfiles', 'package.json'));

function flag(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  return eq ? eq.slice(name.length + 3) : dflt;
}
const opt = {
  sloop: flag('sloop', process.env.SLOOP_BINARY || path.join(root, 'build', 'sloop')),
  kubesim: flag('kubesim', process.env.KUBESIM_BINARY || path.join(root, 'build', 'kubesim')),
  chromium: flag('chromium', process.env.CHROMIUM || '/usr/bin/chromium'),
  out: path.resolve(flag('out', process.env.WEBFILES_TEST_OUT || path.join(root, 'build', 'tests', 'webfiles'))),
  url: flag('url', process.env.SLOOP_UI_URL || ''),
  webFilesPath: flag('web-files-path', ''),
  only: flag('only', '').split(',').filter(Boolean),
  skip: flag('skip', '').split(',').filter(Boolean),
};

let playwright;
try {
  playwright = require('playwright-core');
} catch {
  console.error('Bail out! playwright-core is not installed: run `npm ci` in webfiles/');
  process.exit(1);
}

// ---------------------------------------------------------------- processes

const children = [];
let workDir = '';

function start(name, cmd, args, env = {}) {
  const log = fs.openSync(path.join(workDir, `${name}.log`), 'a');
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', log, log] });
  child.on('error', (e) => console.error(`# ${name}: ${e.message}`));
  children.push({ name, child });
  return child;
}

function stopAll() {
  for (const { child } of children) if (child.exitCode === null && !child.killed) child.kill('SIGTERM');
}

// stopAll, then waits until every child has exited (sloop seals its shard on SIGTERM, writing into
// the work directory: removing it before then fails with ENOTEMPTY), SIGKILL after `ms`.
async function stopAllAndWait(ms = 20000) {
  stopAll();
  await Promise.all(
    children.map(({ child }) =>
      child.exitCode !== null || child.signalCode !== null
        ? null
        : new Promise((resolve) => {
            const timer = setTimeout(() => child.kill('SIGKILL'), ms);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
          }),
    ),
  );
}
process.on('exit', stopAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, fn, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function tail(file, n = 30) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

/** Starts kubesim and sloop; returns the UI's base URL (http://127.0.0.1:PORT/<ctx>). */
async function startCluster() {
  for (const [what, file] of [['sloop', opt.sloop], ['kubesim', opt.kubesim]]) {
    if (!fs.existsSync(file)) throw new Error(`no ${what} binary at ${file} (build it, or pass --${what} PATH)`);
  }
  const portFile = path.join(workDir, 'kubesim.port');
  start('kubesim', opt.kubesim, ['--port', '0', '--bind', '127.0.0.1', '--port-file', portFile, '--scenario', 'e2e', '--seed', '7']);
  const simPort = await waitFor('kubesim to write its port', () => fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim(), 15000).catch((e) => {
    throw new Error(`${e.message}\n${tail(path.join(workDir, 'kubesim.log'))}`);
  });
  const kubeconfig = path.join(workDir, 'kubeconfig');
  fs.writeFileSync(
    kubeconfig,
    `apiVersion: v1\nkind: Config\ncurrent-context: e2e\nclusters:\n- name: sim\n  cluster:\n    server: http://127.0.0.1:${simPort}\n` +
      `users:\n- name: nobody\n  user: {}\ncontexts:\n- name: e2e\n  context:\n    cluster: sim\n    user: nobody\n`,
  );
  const port = await freePort();
  const args = [`-port=${port}`, '-bind-address=127.0.0.1', `-store-root=${path.join(workDir, 'store')}`];
  if (opt.webFilesPath) args.push(`-web-files-path=${path.resolve(opt.webFilesPath)}`);
  start('sloop', opt.sloop, args, { KUBECONFIG: kubeconfig, HOME: workDir });
  const base = `http://127.0.0.1:${port}`;
  await waitFor('sloop /healthz', async () => (await fetch(`${base}/healthz`)).ok, 20000).catch((e) => {
    throw new Error(`${e.message}\n${tail(path.join(workDir, 'sloop.log'))}`);
  });
  const cfg = await (await fetch(`${base}/api/v1/config`)).json();
  return `${base}${cfg.url_prefix || '/cluster'}`;
}

// ---------------------------------------------------------------- ground truth from the API

let uiUrl = '';
const api = async (route, params = {}) => {
  const u = new URL(`${uiUrl}/api/v1/${route}`);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, String(v));
  const res = await fetch(u);
  if (!res.ok) throw new Error(`${u}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
};

/** Waits until the scenario has played far enough for every test, then describes it. */
async function scenario() {
  return waitFor(
    'the e2e scenario (a rolled-out Deployment, a deleted pod, Warning events) in sloop',
    async () => {
      const tl = await api('timeline', { lookback: '3h', limit: 100000 });
      const byUid = new Map(tl.rows.map((r) => [r.uid, r]));
      const pods = tl.rows.filter((r) => r.kind === 'Pod');
      const deletedPod = pods.find((r) => r.deleted);
      const warned = pods.find((r) => r.warnings > 0);
      const rollout = tl.rows
        .filter((r) => r.kind === 'Deployment')
        .map((d) => ({ d, rs: tl.rows.filter((r) => r.kind === 'ReplicaSet' && r.owners?.some((o) => o.uid === d.uid)) }))
        .find((x) => x.rs.length >= 2);
      const changed = pods.filter((r) => !r.deleted && (r.changed_at?.length ?? 0) >= 1);
      if (!deletedPod || !rollout || !warned || !changed.length) return null;
      return { tl, byUid, pods, deletedPod, warned, rollout, changed };
    },
    45000,
  );
}

// ---------------------------------------------------------------- tests

const tests = [];
const test = (name, fn) => tests.push({ name, fn });
const assert = (cond, msg) => {
  if (!cond) throw new Error(msg);
};

let browser;
let S; // the scenario
let shot = 0;

async function newPage(viewport = { width: 1500, height: 950 }) {
  const page = await browser.newPage({ viewport });
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  return page;
}

async function screenshot(page, name) {
  const file = path.join(opt.out, `${String(++shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
  console.log(`# screenshot ${file}`);
}

async function timeline(page, query) {
  await page.goto(`${uiUrl}${query}`);
  await page.waitForSelector('[data-testid=row-count]');
  await page.waitForFunction(() => !document.querySelector('[data-testid=busy]')?.classList.contains('on'));
}

/** The rows of the (virtualised) timeline, collected by scrolling it from top to bottom. */
async function allRows(page) {
  return page.evaluate(async () => {
    const scroll = document.querySelector('[data-testid=timeline-rows]');
    const seen = new Map();
    scroll.scrollTop = 0;
    for (;;) {
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      for (const row of scroll.querySelectorAll('.tl-row')) {
        const bar = row.querySelector('rect.bar');
        seen.set(Number(row.style.top.replace('px', '')), {
          kind: row.dataset.kind,
          namespace: row.dataset.namespace,
          name: row.dataset.name,
          depth: Number(row.dataset.depth),
          barWidth: bar ? Number(bar.getAttribute('width')) : 0,
        });
      }
      if (scroll.scrollTop + scroll.clientHeight >= scroll.scrollHeight - 1) break;
      scroll.scrollTop += scroll.clientHeight;
    }
    scroll.scrollTop = 0;
    return [...seen.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
  });
}

test('the timeline renders a bar for every pod of the scenario', async () => {
  const page = await newPage();
  await timeline(page, '?namespace=_all&lookback=3h');
  const rows = await allRows(page);
  const shown = new Set(rows.filter((r) => r.kind === 'Pod').map((r) => `${r.namespace}/${r.name}`));
  const missing = S.pods.filter((p) => !shown.has(`${p.namespace}/${p.name}`));
  assert(S.pods.length > 0, 'the scenario has no pods');
  assert(missing.length === 0, `pods missing from the timeline: ${missing.map((p) => p.name).join(', ')}`);
  assert(rows.every((r) => r.barWidth > 0), 'a row has no bar');
  const count = await page.textContent('[data-testid=row-count]');
  assert(count.startsWith(`${S.tl.rows.length} resources`) || rows.length >= S.pods.length, `row count says "${count}"`);
  assert(page.errors.length === 0, `page errors: ${page.errors.join('; ')}`);
  await screenshot(page, 'timeline');
  await page.close();
});

test('filters change the URL and the rows, and the URL reproduces the view', async () => {
  const page = await newPage();
  await timeline(page, '?namespace=_all&lookback=3h');
  const ns = S.rollout.d.namespace;
  await page.selectOption('[data-testid=filter-namespace]', ns);
  await page.waitForURL((u) => u.searchParams.get('namespace') === ns);
  await page.waitForFunction(() => !document.querySelector('[data-testid=busy]')?.classList.contains('on'));
  await page.selectOption('[data-testid=filter-kind]', 'Pod');
  await page.waitForURL((u) => u.searchParams.get('kind') === 'Pod');
  await page.waitForFunction(() => !document.querySelector('[data-testid=busy]')?.classList.contains('on'));
  let rows = await allRows(page);
  assert(rows.length > 0, 'no rows after filtering on kind=Pod');
  assert(rows.every((r) => r.kind === 'Pod' && r.namespace === ns), `rows other than Pods in ${ns}: ${JSON.stringify(rows.slice(0, 3))}`);
  const expected = S.pods.filter((p) => p.namespace === ns).length;
  assert(rows.length === expected, `${rows.length} rows, the API has ${expected} pods in ${ns}`);

  const match = S.rollout.rs[0].name;
  await page.fill('[data-testid=filter-match]', match);
  await page.waitForURL((u) => u.searchParams.get('match') === match);
  await page.waitForFunction((n) => {
    const rows = [...document.querySelectorAll('.tl-row')];
    return !document.querySelector('[data-testid=busy]')?.classList.contains('on') && rows.length > 0 && rows.every((r) => r.dataset.name.includes(n));
  }, match);
  rows = await allRows(page);
  assert(rows.every((r) => r.name.includes(match)), 'the name filter let other names through');

  await page.selectOption('[data-testid=filter-lookback]', '6h');
  await page.waitForURL((u) => u.searchParams.get('lookback') === '6h');
  await page.waitForFunction(() => !document.querySelector('[data-testid=busy]')?.classList.contains('on'));
  await page.selectOption('[data-testid=filter-sort]', 'name');
  await page.waitForURL((u) => u.searchParams.get('sort') === 'name');
  await page.waitForFunction(() => !document.querySelector('[data-testid=busy]')?.classList.contains('on'));
  rows = await allRows(page);
  const names = rows.filter((r) => r.depth === 0).map((r) => r.name);
  assert(JSON.stringify(names) === JSON.stringify([...names].sort((a, b) => a.localeCompare(b))), `not sorted by name: ${names}`);
  await screenshot(page, 'timeline-filtered');

  // A link reproduces the view: open the URL afresh in another page.
  const url = page.url();
  const other = await newPage();
  await timeline(other, new URL(url).search);
  const key = (rs) => JSON.stringify(rs.map((r) => [r.kind, r.namespace, r.name, r.depth]));
  const again = await allRows(other);
  assert(key(again) === key(rows), 'the same URL shows other rows');
  assert((await other.inputValue('[data-testid=filter-match]')) === match, 'the name filter was not restored from the URL');
  assert((await other.inputValue('[data-testid=filter-namespace]')) === ns, 'the namespace was not restored from the URL');
  await other.close();

  // End time: unticking "now" pins the window's end in the URL.
  await page.uncheck('[data-testid=filter-now]');
  await page.waitForURL((u) => !!u.searchParams.get('end'));
  await page.close();
});

test("rollout grouping shows a Deployment's two ReplicaSets and their pods, collapsibly", async () => {
  const { d, rs } = S.rollout;
  const page = await newPage({ width: 1500, height: 1400 });
  await timeline(page, `?namespace=${encodeURIComponent(d.namespace)}&lookback=3h`);
  const rows = await allRows(page);
  const at = rows.findIndex((r) => r.kind === 'Deployment' && r.name === d.name);
  assert(at >= 0, `Deployment ${d.name} is not on the timeline`);
  assert(rows[at].depth === 0, 'the Deployment is not a top-level row');
  const group = [];
  for (let i = at + 1; i < rows.length && rows[i].depth > 0; i++) group.push(rows[i]);
  const rsShown = group.filter((r) => r.kind === 'ReplicaSet' && r.depth === 1).map((r) => r.name);
  for (const r of rs) assert(rsShown.includes(r.name), `ReplicaSet ${r.name} is not grouped under ${d.name} (got ${rsShown})`);
  const podsUnder = group.filter((r) => r.kind === 'Pod' && r.depth === 2);
  const podsOwned = S.pods.filter((p) => p.owners?.some((o) => rs.some((r) => r.uid === o.uid)));
  assert(podsUnder.length === podsOwned.length, `${podsUnder.length} pods grouped under the ReplicaSets, the API says ${podsOwned.length}`);
  await page.locator(`.tl-row[data-kind=Deployment][data-name="${d.name}"]`).scrollIntoViewIfNeeded();
  await screenshot(page, 'rollout-grouped');

  // Fold the Deployment: its ReplicaSets and pods go, the URL remembers.
  await page.click(`.tl-row[data-kind=Deployment][data-name="${d.name}"] button.fold`);
  await page.waitForURL((u) => !!u.searchParams.get('fold'));
  const folded = await allRows(page);
  assert(!folded.some((r) => rs.some((x) => x.name === r.name)), 'folding the Deployment left its ReplicaSets shown');
  assert(folded.length === rows.length - group.length, 'folding hid the wrong rows');
  await screenshot(page, 'rollout-folded');
  await page.click(`.tl-row[data-kind=Deployment][data-name="${d.name}"] button.fold`);
  await page.waitForURL((u) => !u.searchParams.get('fold'));
  await page.close();
});

test('hovering a bar shows a tooltip with its Event reasons', async () => {
  const p = S.warned;
  const page = await newPage();
  await timeline(page, `?namespace=${encodeURIComponent(p.namespace)}&kind=Pod&match=${encodeURIComponent(p.name)}&lookback=3h`);
  const bar = page.locator(`.tl-row[data-name="${p.name}"] rect.bar`).first();
  await bar.hover();
  const tip = page.locator('.tl-tooltip');
  await tip.waitFor({ state: 'visible' });
  const text = await tip.textContent();
  const reasons = [...new Set(p.heat.filter((c) => c.type === 'Warning').map((c) => c.reason))];
  assert(text.includes(p.name) && text.includes('Pod'), `tooltip lacks name/kind: ${text}`);
  assert(reasons.some((r) => text.includes(r)), `tooltip lacks the Warning reasons ${reasons}: ${text}`);
  const cells = await page.locator(`.tl-row[data-name="${p.name}"] rect.cell.warning`).count();
  assert(cells > 0, 'no Warning heat cell drawn');
  await screenshot(page, 'timeline-tooltip');
  await page.close();
});

test('zooming the time axis narrows the window and is kept in the URL', async () => {
  const page = await newPage();
  await timeline(page, '?namespace=_all&lookback=3h');
  const before = await page.locator('.tl-axis g.axis .tick text').allTextContents();
  // Each click narrows the window: wait for each one to reach the URL before the next.
  const width = (u) => {
    const z = u.searchParams.get('zoom');
    if (!z) return Infinity;
    const [lo, hi] = z.split('-').map(Number);
    return hi - lo;
  };
  await page.click('button[title^="zoom in"]');
  await page.waitForURL((u) => width(u) < 3 * 3600);
  const once = width(new URL(page.url()));
  await page.click('button[title^="zoom in"]');
  await page.waitForURL((u) => width(u) < once);
  const after = await page.locator('.tl-axis g.axis .tick text').allTextContents();
  assert(JSON.stringify(before) !== JSON.stringify(after), 'the axis did not change on zoom');
  const twice = width(new URL(page.url()));
  assert(twice < 3 * 3600 * 0.3, `zoomed window still ${twice} s wide after two zooms`);
  await page.click('button[title="show the whole window"]');
  await page.waitForURL((u) => !u.searchParams.get('zoom'));
  await page.close();
});

test('clicking a pod opens its versions, and the diff shows the changed field', async () => {
  // The pod with the most changes, and what sloop itself says changed last.
  const pod = [...S.changed].sort((a, b) => b.changed_at.length - a.changed_at.length)[0];
  const hist = await api('history', { kind: 'Pod', namespace: pod.namespace, name: pod.name, payloads: 'false' });
  const vs = hist.versions;
  assert(vs.length >= 2, `${pod.name} has ${vs.length} versions`);
  const diff = await api('diff', { kind: 'Pod', namespace: pod.namespace, name: pod.name, from: vs[vs.length - 2].time, to: vs[vs.length - 1].time });
  const top = (p) => p.split('/').filter(Boolean).slice(0, 2).join('.');
  const expected = [...new Set(diff.ops.map((o) => o.path).filter((p) => !/^\/metadata\/(resourceVersion|managedFields)/.test(p)).map(top))];

  const page = await newPage({ width: 1500, height: 1300 });
  await timeline(page, `?namespace=${encodeURIComponent(pod.namespace)}&kind=Pod&match=${encodeURIComponent(pod.name)}&lookback=3h`);
  await page.click(`.tl-row[data-name="${pod.name}"] a.name`);
  await page.waitForURL((u) => u.searchParams.get('res') === `Pod/${pod.namespace}/${pod.name}`);
  await page.waitForSelector('[data-testid=versions] tbody tr');
  const versionRows = await page.locator('[data-testid=versions] tbody tr').count();
  // The scenario plays on: the pod may gain a version between the two reads of the API.
  const later = (await api('history', { kind: 'Pod', namespace: pod.namespace, name: pod.name, payloads: 'false' })).versions;
  assert(versionRows >= vs.length && versionRows <= later.length, `${versionRows} versions listed, the API has ${vs.length} then ${later.length}`);
  const types = await page.locator('[data-testid=versions] tbody tr').evaluateAll((trs) => trs.map((t) => t.dataset.watchType));
  const apiTypes = later.slice(0, versionRows).map((v) => v.watch_type);
  assert(JSON.stringify(types) === JSON.stringify(apiTypes), `watch types ${types}, the API says ${apiTypes}`);
  const fields = await page.textContent('[data-testid=changed-fields]');
  if (expected.length) {
    assert(expected.some((p) => fields.includes(p)), `changed fields "${fields.slice(0, 300)}" name none of ${expected}`);
  }
  assert((await page.locator('[data-testid=diff-side] td.code.new').count()) > 0 || !expected.length, 'the side-by-side diff marks no new line');
  await page.locator('[data-testid=diff]').scrollIntoViewIfNeeded();
  await screenshot(page, 'resource-diff-side-by-side');

  await page.click('[data-testid=diff] button[data-mode=inline]');
  await page.waitForURL((u) => u.searchParams.get('diff') === 'inline');
  await page.waitForSelector('[data-testid=diff-inline]');
  await page.locator('[data-testid=diff]').scrollIntoViewIfNeeded();
  await screenshot(page, 'resource-diff-inline');

  // Diff the first version against the last: pick A and B by hand.
  await page.locator('[data-testid=versions] tbody tr').first().locator('input[data-role=a]').check();
  await page.waitForURL((u) => u.searchParams.get('a') === vs[0].key);
  await page.waitForSelector('[data-testid=changed-fields]');

  // The payload of a version, and the Node the pod ran on.
  await page.click('.payload-panel summary');
  const payload = await page.textContent('[data-testid=payload]');
  assert(payload.includes(`"name": "${pod.name}"`), 'the payload is not shown');
  const node = page.locator('[data-testid=node-link]');
  if (await node.count()) {
    const nodeName = (await node.textContent()).trim();
    await node.click();
    await page.waitForURL((u) => u.searchParams.get('res') === `Node//${nodeName}`);
    await page.waitForSelector('[data-testid=versions] tbody tr');
    await screenshot(page, 'resource-node');
    await page.goBack();
    await page.waitForURL((u) => u.searchParams.get('res') === `Pod/${pod.namespace}/${pod.name}`);
  }
  assert(page.errors.length === 0, `page errors: ${page.errors.join('; ')}`);
  await page.close();
});

test("a crash-looping pod's Warning events are listed in its resource view", async () => {
  const p = S.warned;
  const page = await newPage({ width: 1500, height: 1300 });
  await page.goto(`${uiUrl}?res=${encodeURIComponent(`Pod/${p.namespace}/${p.name}`)}`);
  await page.waitForSelector('[data-testid=events] tbody tr.warn');
  const reasons = await page.locator('[data-testid=events] tbody tr.warn td:nth-child(3)').allTextContents();
  const expected = p.heat.filter((c) => c.type === 'Warning').map((c) => c.reason);
  assert(expected.every((r) => reasons.includes(r)), `Warning reasons ${[...new Set(reasons)]} lack some of ${[...new Set(expected)]}`);
  await page.locator('[data-testid=events]').scrollIntoViewIfNeeded();
  await screenshot(page, 'resource-events');
  await page.close();
});

test('a deleted pod is found by search and opens', async () => {
  const gone = S.deletedPod;
  const page = await newPage();
  await page.goto(uiUrl);
  await page.waitForSelector('[data-testid=search]');
  const q = gone.name.slice(0, Math.max(4, gone.name.length - 2)).toUpperCase();
  await page.fill('[data-testid=search]', q);
  const hit = page.locator(`[data-testid=search-results] li.result[data-kind=Pod][data-name="${gone.name}"][data-uid="${gone.uid}"]`);
  await hit.waitFor();
  assert((await hit.locator('.deleted-badge').count()) === 1, 'the deleted pod is not marked deleted');
  await screenshot(page, 'search-deleted-pod');
  await hit.click();
  await page.waitForURL((u) => u.searchParams.get('res') === `Pod/${gone.namespace}/${gone.name}`);
  await page.waitForSelector('[data-testid=versions] tbody tr');
  const title = await page.textContent('[data-testid=resource-title]');
  assert(title.includes(gone.name), `title "${title}"`);
  const last = await page.locator('[data-testid=versions] tbody tr').last().getAttribute('data-watch-type');
  assert(/^DELETED/.test(last), `the last version is ${last}, not a deletion`);
  await screenshot(page, 'resource-deleted-pod');
  await page.close();
});

test("the server's errors are shown, not swallowed", async () => {
  const page = await newPage();
  await page.goto(`${uiUrl}?lookback=-1h`);
  const banner = page.locator('[data-testid=error]');
  await banner.waitFor({ state: 'visible' });
  const text = await banner.textContent();
  assert(/400/.test(text) && /lookback/.test(text), `error banner says "${text}"`);
  await screenshot(page, 'error-shown');
  await page.close();
});

/**
 * A reverse proxy on a sub-path, as an Ingress with a rewrite or `kubectl proxy` is: requests under
 * `prefix` go to the sloop behind uiUrl with the prefix stripped, with X-Forwarded-Prefix when
 * `header` (ingress-nginx) and without (kubectl proxy); anything else is 404.
 */
async function subPathProxy(prefix, header) {
  const target = new URL(uiUrl);
  const server = http.createServer((req, res) => {
    if (!req.url.startsWith(prefix)) {
      res.writeHead(404).end('outside the prefix: ' + req.url);
      return;
    }
    const headers = { ...req.headers, host: target.host };
    if (header) headers['x-forwarded-prefix'] = prefix.replace(/\/$/, '');
    const up = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: '/' + req.url.slice(prefix.length).replace(/^\//, ''), headers },
      (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', (e) => res.writeHead(502).end(String(e)));
    req.pipe(up);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${server.address().port}${prefix}` };
}

test('behind a proxy on a sub-path (ingress rewrite, kubectl proxy) every asset and API call stays under it', async () => {
  for (const [prefix, header] of [['/sloop/', true], ['/api/v1/namespaces/sloop/services/sloop:8080/proxy/', false]]) {
    const { server, url } = await subPathProxy(prefix, header);
    const page = await newPage();
    const outside = [];
    page.on('response', (r) => {
      if (!new URL(r.url()).pathname.startsWith(prefix) && !r.url().startsWith('data:')) outside.push(r.url());
      // A server without /api/v1/gaps answers it 404, which the UI tolerates (no shading).
      if (r.status() >= 400 && !(r.status() === 404 && new URL(r.url()).pathname.endsWith('/api/v1/gaps'))) outside.push(`${r.status()} ${r.url()}`);
    });
    try {
      await page.goto(url); // the root: a redirect that must keep the prefix
      await page.waitForSelector('[data-testid=row-count]');
      await page.waitForFunction(() => !document.querySelector('[data-testid=busy]')?.classList.contains('on'));
      const count = await page.textContent('[data-testid=row-count]');
      const path = new URL(page.url()).pathname;
      assert(path.startsWith(prefix), `the redirect left the prefix: ${page.url()}`);
      assert(outside.length === 0, `requests outside ${prefix} or failing: ${outside.join(', ')}`);
      assert(/\d+ resources?\b/.test(count), `the timeline's answer is missing: "${count}"`);
      assert(!(await page.locator('[data-testid=error]').isVisible()), 'an error is shown');
      assert(page.errors.length === 0, `page errors: ${page.errors.join('; ')}`);
      await screenshot(page, header ? 'sub-path-ingress' : 'sub-path-kubectl-proxy');
    } finally {
      await page.close();
      server.close();
    }
  }
});

test("Sloop's links open the same view, with no error banner and a sane time axis", async () => {
  const ns = S.rollout.d.namespace;
  const now = new Date();
  const utc = (d) => d.toISOString().slice(0, 19); // Sloop's zone-less UTC form
  const minute = (d) => d.toISOString().slice(0, 16); // a datetime-local field without seconds
  const unix = (d) => String(Math.floor(d.getTime() / 1000));
  const earlier = new Date(now.getTime() - 20 * 60 * 1000);
  const links = [
    // Sloop's form (index.html + filter.js), every sort value it writes, and one it does not know.
    { q: `?query=EventHeatMap&selectedEndTime=${utc(now)}&lookback=3h&namespace=${ns}&kind=Pod&sort=starttime&namematch=`, sort: 'start' },
    { q: `?query=EventHeatMap&selectedEndTime=${minute(earlier)}&lookback=6h&namespace=${ns}&kind=_all&sort=mostevents&namematch=`, sort: 'most_events', end: true },
    { q: `?query=EventHeatMap&lookback=3h&namespace=${ns}&kind=Pod&sort=name&namematch=${encodeURIComponent(S.pods.find((p) => p.namespace === ns).name.slice(0, 3))}`, sort: 'name', match: true },
    { q: `?query=EventHeatMap&lookback=3h&namespace=_all&kind=_all&sort=newest`, sort: 'start' },
    // The data URL's own parameters, pasted as a page URL: start/end in Unix seconds, end_time.
    { q: `?namespace=${ns}&kind=Pod&start_time=${unix(new Date(now.getTime() - 3 * 3600e3))}&end_time=${unix(earlier)}`, end: true },
    { q: `?namespace=${ns}&lookback=3h&end_time=${utc(earlier)}&sort=start_time`, sort: 'start', end: true },
    // Junk Sloop would have ignored: a 1970 or malformed end, an unknown lookback.
    { q: `?namespace=${ns}&lookback=forever&end_time=0&selectedEndTime=garbage&sort=`, sort: 'start' },
  ];
  for (const link of links) {
    const page = await newPage();
    await timeline(page, link.q);
    const banner = await page.locator('[data-testid=error]').evaluate((el) => el.classList.contains('on') && el.textContent);
    assert(!banner, `${link.q}: error banner "${banner}"`);
    const url = new URL(page.url());
    assert(!url.searchParams.has('namematch') && !url.searchParams.has('query'), `${link.q}: the URL was not rewritten: ${url.search}`);
    if (link.sort) assert((url.searchParams.get('sort') || 'start') === link.sort, `${link.q}: sort ${url.searchParams.get('sort')}, want ${link.sort}`);
    if (link.match) assert(url.searchParams.get('match'), `${link.q}: namematch was lost`);
    if (link.end) assert(url.searchParams.get('end'), `${link.q}: the end time was lost`);
    const win = await page.textContent('.window');
    const years = [...win.matchAll(/(19|20)\d\d/g)].map((m) => Number(m[0]));
    assert(years.length >= 2 && years.every((y) => y >= 2000), `${link.q}: the window is "${win}"`);
    const ticks = await page.$$eval('.tl-axis .tick text', (els) => els.map((e) => e.textContent));
    assert(ticks.length > 0 && !ticks.some((t) => /1970/.test(t)), `${link.q}: axis ticks ${ticks.join(', ')}`);
    assert(page.errors.length === 0, `${link.q}: page errors: ${page.errors.join('; ')}`);
    if (link === links[1]) await screenshot(page, 'sloop-link');
    await page.close();
  }
});

// ---------------------------------------------------------------- more tests, one file per feature

// Each tests/webfiles/e2e/*.mjs exports `register(t)`: it adds its tests with t.test, after the
// ones above, in file-name order, with the helpers and the shared state below (S, uiUrl and browser
// are read through getters: they exist only once main() has started the cluster).
const harness = {
  test,
  assert,
  api,
  newPage,
  screenshot,
  timeline,
  allRows,
  sleep,
  waitFor,
  start,
  freePort,
  tail,
  opt,
  playwright,
  get S() {
    return S;
  },
  get uiUrl() {
    return uiUrl;
  },
  get browser() {
    return browser;
  },
  get workDir() {
    return workDir;
  },
};
const moduleDir = path.join(here, 'e2e');
if (fs.existsSync(moduleDir)) {
  for (const file of fs.readdirSync(moduleDir).filter((f) => f.endsWith('.mjs')).sort()) {
    const mod = await import(path.join(moduleDir, file));
    if (typeof mod.register !== 'function') {
      console.log(`Bail out! ${path.join(moduleDir, file)} does not export register(t)`);
      process.exit(1);
    }
    mod.register(harness);
  }
}

// ---------------------------------------------------------------- main

async function main() {
  fs.mkdirSync(opt.out, { recursive: true });
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sloop-webfiles-e2e-'));
  console.log(`# output ${opt.out}; logs ${workDir}`);
  try {
    uiUrl = opt.url ? opt.url.replace(/\/$/, '') : await startCluster();
    const page = await (await fetch(uiUrl)).text();
    if (!page.includes('SLOOP_LOAD')) {
      throw new Error(
        `${uiUrl} does not serve the built UI (the placeholder?): build webfiles/ (npm ci && npm run build) before configuring CMake, or pass --web-files-path webfiles/dist`,
      );
    }
    S = await scenario();
    browser = await playwright.chromium.launch({ executablePath: opt.chromium, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  } catch (e) {
    console.log(`Bail out! ${e.message}`);
    stopAll();
    process.exit(1);
  }
  const chosen = tests.filter((t) => (!opt.only.length || opt.only.some((o) => t.name.includes(o))) && !opt.skip.some((o) => t.name.includes(o)));
  console.log(`1..${chosen.length}`);
  let failed = 0;
  for (const [i, t] of chosen.entries()) {
    const t0 = Date.now();
    try {
      await Promise.race([t.fn(), sleep(60000).then(() => Promise.reject(new Error('took over 60 s')))]);
      console.log(`ok ${i + 1} - ${t.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    } catch (e) {
      failed++;
      console.log(`not ok ${i + 1} - ${t.name}\n  ---\n  ${String(e.stack || e).split("\n").slice(0, 14).join('\n  ')}\n  ...`);
      for (const ctx of browser.contexts()) {
        for (const p of ctx.pages()) {
          await p.screenshot({ path: path.join(opt.out, `FAILED-${i + 1}.png`) }).catch(() => {});
          await p.close().catch(() => {});
        }
      }
    }
  }
  await browser.close();
  await stopAllAndWait();
  if (!failed) fs.rmSync(workDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  else console.log(`# kept ${workDir} (sloop.log, kubesim.log)`);
  process.exit(failed ? 1 : 0);
}

main();
