#!/usr/bin/env node
// DEV ONLY: a stand-in for `sloop` that serves webfiles/dist/ and the /api/v1 routes of
// docs/api.md with made-up data shaped like kubesim's e2e scenario. For working on the UI
// without a cluster; the browser tests run against the real binary.
//
//   node dev/mock-server.mjs [--port 8080] [--context cluster] [--extra-pods 5000] [--fail timeline]

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const PORT = Number(args.port ?? 8080);
const CTX = args.context ?? 'cluster';
const EXTRA = Number(args['extra-pods'] ?? 0);
const FAIL = args.fail ?? '';
const DIST = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');

const now = Math.floor(Date.now() / 1000);
const T0 = now - 40 * 60;
const iso = (s) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
let uidSeq = 0;
const uid = (name) => `${name}-${(++uidSeq).toString(16).padStart(4, '0')}-uid`;

/** resources: {kind, namespace, name, uid, owners, versions:[{t, type, payload}], events:[…]} */
const resources = [];
function add(kind, namespace, name, { owner, created = T0, deleted = null, changes = [], extra = {} } = {}) {
  const r = { kind, namespace, name, uid: uid(name), owners: owner ? [{ kind: owner.kind, name: owner.name, uid: owner.uid, controller: true }] : [], versions: [], events: [] };
  let rv = 100 + resources.length * 10;
  const base = {
    apiVersion: kind === 'Widget' ? 'example.com/v1' : ['Deployment', 'ReplicaSet', 'StatefulSet'].includes(kind) ? 'apps/v1' : 'v1',
    kind,
    metadata: {
      name,
      ...(namespace ? { namespace } : {}),
      uid: r.uid,
      resourceVersion: String(rv),
      creationTimestamp: iso(created),
      labels: { app: name.split('-')[0] },
      ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: owner.kind, name: owner.name, uid: owner.uid, controller: true }] } : {}),
      managedFields: [{ manager: 'kube-controller-manager', operation: 'Update', time: iso(created) }],
    },
    ...extra,
  };
  r.versions.push({ t: created, type: 'ADDED', payload: base });
  let cur = base;
  for (const [t, mutate] of changes) {
    cur = structuredClone(cur);
    mutate(cur);
    cur.metadata.resourceVersion = String(++rv);
    r.versions.push({ t, type: 'MODIFIED', payload: cur });
  }
  if (deleted) r.versions.push({ t: deleted, type: 'DELETED', payload: cur });
  r.created = created;
  r.deleted = deleted;
  resources.push(r);
  return r;
}
function event(r, t, reason, type, message, count = 1) {
  r.events.push({ t, reason, type, message, count, name: `${r.name}.${r.events.length + 1}` });
}
const podSpec = (node, image = 'nginx:1.25') => ({
  spec: { nodeName: node, containers: [{ name: 'main', image, ports: [{ containerPort: 80 }] }] },
  status: { phase: 'Pending', conditions: [{ type: 'Ready', status: 'False' }] },
});
const running = (t) => [t, (p) => { p.status.phase = 'Running'; p.status.conditions[0].status = 'True'; p.status.startTime = iso(t); }];

for (const ns of ['default', 'shop', 'kube-system']) add('Namespace', '', ns);
const nodes = ['node-a', 'node-b', 'node-c'].map((n) => add('Node', '', n, { extra: { status: { capacity: { cpu: '8', memory: '32Gi' } } } }));

const deploy = add('Deployment', 'shop', 'web', {
  created: T0 + 60,
  extra: { spec: { replicas: 3, template: { spec: { containers: [{ name: 'main', image: 'nginx:1.25' }] } } } },
  changes: [[T0 + 900, (d) => { d.spec.template.spec.containers[0].image = 'nginx:1.27'; d.metadata.generation = 2; }]],
});
const rsOld = add('ReplicaSet', 'shop', 'web-6d4cf56db6', { owner: deploy, created: T0 + 61, extra: { spec: { replicas: 3 } }, changes: [[T0 + 960, (r) => (r.spec.replicas = 0)]] });
const rsNew = add('ReplicaSet', 'shop', 'web-7f9b8c5d44', { owner: deploy, created: T0 + 900, extra: { spec: { replicas: 0 } }, changes: [[T0 + 905, (r) => (r.spec.replicas = 3)]] });
for (let i = 0; i < 3; i++) {
  const p = add('Pod', 'shop', `web-6d4cf56db6-${['x2kq9', 'b7v4m', 'pl8sd'][i]}`, { owner: rsOld, created: T0 + 62, deleted: T0 + 930 + i * 15, extra: podSpec(nodes[i].name), changes: [running(T0 + 75)] });
  event(p, T0 + 64, 'Scheduled', 'Normal', `Successfully assigned shop/${p.name} to ${nodes[i].name}`);
  event(p, T0 + 70, 'Pulled', 'Normal', 'Container image "nginx:1.25" already present on machine');
  event(p, T0 + 930 + i * 15, 'Killing', 'Normal', 'Stopping container main');
}
for (let i = 0; i < 3; i++) {
  const p = add('Pod', 'shop', `web-7f9b8c5d44-${['q9w2e', 'r5t6y', 'u7i8o'][i]}`, { owner: rsNew, created: T0 + 906 + i * 15, extra: podSpec(nodes[i].name, 'nginx:1.27'), changes: [running(T0 + 920 + i * 15)] });
  event(p, T0 + 907 + i * 15, 'Scheduled', 'Normal', `Successfully assigned shop/${p.name} to ${nodes[i].name}`);
  event(p, T0 + 912 + i * 15, 'Pulling', 'Normal', 'Pulling image "nginx:1.27"');
}
const sts = add('StatefulSet', 'shop', 'db', { created: T0 + 120, extra: { spec: { replicas: 2 } } });
for (let i = 0; i < 2; i++) add('Pod', 'shop', `db-${i}`, { owner: sts, created: T0 + 125 + i * 30, extra: podSpec(nodes[i].name, 'postgres:16'), changes: [running(T0 + 140 + i * 30)] });
const crashy = add('Pod', 'default', 'crashy', {
  created: T0 + 300,
  extra: podSpec('node-b', 'busybox'),
  changes: Array.from({ length: 6 }, (_, i) => [T0 + 360 + i * 300, (p) => { p.status.phase = 'Running'; p.status.containerStatuses = [{ name: 'main', restartCount: i + 1, state: { waiting: { reason: 'CrashLoopBackOff' } } }]; }]),
});
for (let i = 0; i < 12; i++) event(crashy, T0 + 360 + i * 150, 'BackOff', 'Warning', 'Back-off restarting failed container main in pod crashy_default', i + 1);
event(crashy, T0 + 302, 'Pulled', 'Normal', 'Successfully pulled image "busybox"');
add('Pod', 'default', 'gone', { created: T0 + 600, deleted: T0 + 720, extra: podSpec('node-c', 'busybox'), changes: [running(T0 + 640)] });
add('Widget', 'shop', 'widget-alpha', { created: T0 + 200, extra: { spec: { size: 1 } }, changes: [[T0 + 1500, (w) => (w.spec.size = 2)]] });
add('Widget', 'shop', 'widget-beta', { created: T0 + 210, extra: { spec: { size: 5 } } });
const bigRs = EXTRA ? add('ReplicaSet', 'load', 'load-5c8d', { created: T0 }) : null;
for (let i = 0; i < EXTRA; i++) {
  const c = T0 + ((i * 7) % 2000);
  const p = add('Pod', 'load', `load-5c8d-${String(i).padStart(5, '0')}`, { owner: i % 3 ? bigRs : null, created: c, deleted: i % 4 === 0 ? c + 300 : null, extra: podSpec(nodes[i % 3].name), changes: [running(c + 20)] });
  if (i % 10 === 0) event(p, c + 30, 'Unhealthy', 'Warning', 'Readiness probe failed');
}

// ---- the routes ----

function parseTime(v) {
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(v) ? v : v + 'Z');
  return Number.isNaN(t) ? null : Math.floor(t / 1000);
}
// The server's duration syntax (http/go_duration.h): Go's units plus d.
function parseDuration(v) {
  if (v === '0') return 0;
  const m = [...v.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ms|us|µs|ns|d|h|m|s)/g)];
  if (!m.length || m.map((x) => x[0]).join('') !== v) return null;
  const unit = { d: 86400, h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, 'µs': 1e-6, ns: 1e-9 };
  return m.reduce((s, x) => s + Number(x[1]) * unit[x[2]], 0);
}
class BadParam extends Error { constructor(parameter, message, status = 400) { super(message); this.parameter = parameter; this.status = status; } }
function windowOf(q) {
  let to = now + (Math.floor(Date.now() / 1000) - now);
  if (q.get('to')) { to = parseTime(q.get('to')); if (to === null) throw new BadParam('to', `"${q.get('to')}" is not a time`); }
  if (q.get('from') && q.get('lookback')) throw new BadParam('lookback', 'give from or lookback, not both');
  if (q.get('from')) { const f = parseTime(q.get('from')); if (f === null) throw new BadParam('from', 'not a time'); return [f, to]; }
  const lb = q.get('lookback') ? parseDuration(q.get('lookback')) : 3600;
  if (lb === null) throw new BadParam('lookback', `"${q.get('lookback')}" is not a duration: expected a duration such as 1h, 90m, 1h30m or 45s`);
  return [to - Math.min(lb, 14 * 86400), to];
}
const endOf = (r) => r.deleted ?? Infinity;
function find(q) {
  for (const p of ['kind', 'name']) if (!q.get(p)) throw new BadParam(p, `${p} is required`);
  return resources.filter((r) => r.kind === q.get('kind') && r.name === q.get('name') && (r.namespace === (q.get('namespace') ?? '') || !r.namespace));
}
function eventJson(r, e) {
  return {
    time: iso(e.t), watch_type: 'ADDED', kind: 'Event', namespace: r.namespace, name: e.name, uid: `uid-${e.name}`, resource_version: '1', api_version: 'v1',
    key: `/watch/${String(Math.floor(e.t / 3600) * 3600).padStart(12, '0')}/Event/${r.namespace}/${e.name}/${e.t}000000000`,
    event: { involved: { kind: r.kind, namespace: r.namespace, name: r.name, uid: r.uid }, reason: e.reason, type: e.type, count: e.count, message: e.message, first_timestamp: iso(e.t), last_timestamp: iso(e.t) },
  };
}
function versionJson(r, v, payloads = true) {
  return {
    time: iso(v.t), watch_type: v.type, kind: r.kind, namespace: r.namespace, name: r.name, uid: r.uid, resource_version: v.payload.metadata.resourceVersion, api_version: v.payload.apiVersion,
    key: `/watch/${String(Math.floor(v.t / 3600) * 3600).padStart(12, '0')}/${r.kind}/${r.namespace}/${r.name}/${v.t}000000000`,
    ...(payloads ? { payload: v.payload } : {}),
  };
}

const routes = {
  config: () => ({ context: 'kind-dev', display_context: CTX, url_prefix: `/${CTX}`, defaults: { namespace: '_all', kind: '_all', lookback: '1h' }, max_look_back_seconds: 1209600, left_bar_links: [{ text: 'Runbook', url_template: 'https://wiki.example/runbook' }], resource_links: [{ text: 'Logs', url_template: 'https://logs.example/?q={{ToLower .Name}}&ns={{.Namespace}}', kinds: ['Pod'] }] }),
  timeline(q) {
    const [from, to] = windowOf(q);
    const ns = q.get('namespace'), kind = q.get('kind'), match = q.get('name_match') ?? q.get('namematch');
    let rows = resources
      .filter((r) => r.created <= to && endOf(r) >= from)
      .filter((r) => !ns || r.namespace === ns || (!r.namespace && r.kind !== 'Namespace'))
      .filter((r) => !kind || r.kind === kind)
      .filter((r) => !match || r.name.includes(match))
      .map((r) => {
        const heat = r.events.filter((e) => e.t >= from && e.t <= to).map((e) => ({ minute: Math.floor(e.t / 60) * 60, reason: e.reason, type: e.type, count: 1 }));
        return {
          kind: r.kind, namespace: r.namespace, name: r.name, uid: r.uid, api_version: r.versions[0].payload.apiVersion,
          start: iso(Math.max(from, r.created)), end: iso(Math.min(to, endOf(r))), created: iso(r.created), deleted: r.deleted !== null && r.deleted <= to,
          events: heat.length, warnings: heat.filter((x) => x.type === 'Warning').length,
          changed_at: r.versions.slice(1).map((v) => v.t).filter((t) => t >= from && t <= to), nochange_at: [], heat, owners: r.owners,
        };
      });
    const sort = q.get('sort') || 'start';
    rows.sort(sort === 'name' ? (a, b) => a.name.localeCompare(b.name) : sort === 'most_events' ? (a, b) => b.events - a.events : (a, b) => a.start.localeCompare(b.start));
    const limit = Number(q.get('limit') || 5000);
    const matched = rows.length;
    rows = rows.slice(0, limit);
    return { from: iso(from), to: iso(to), matched, truncated: matched > rows.length, rows };
  },
  resources(q) {
    const s = (q.get('search') || '').toLowerCase();
    if (!s) throw new BadParam('search', 'search is required');
    return { resources: resources.filter((r) => r.name.toLowerCase().includes(s)).slice(0, Number(q.get('limit') || 1000)).map((r) => ({ kind: r.kind, namespace: r.namespace, name: r.name, uid: r.uid, first_seen: iso(r.created), last_seen: iso(r.deleted ?? now), created: iso(r.created), deleted: r.deleted !== null })) };
  },
  history(q) {
    const rs = find(q).filter((r) => !q.get('uid') || r.uid === q.get('uid'));
    const versions = rs.flatMap((r) => r.versions.map((v) => versionJson(r, v, q.get('payloads') !== 'false'))).sort((a, b) => a.time.localeCompare(b.time));
    return { from: null, to: iso(now), versions, truncated: false };
  },
  events(q) {
    const [from, to] = windowOf(q);
    const rs = find(q);
    return { from: iso(from), to: iso(to), events: rs.flatMap((r) => r.events.filter((e) => e.t >= from && e.t <= to).map((e) => eventJson(r, e))), truncated: false };
  },
  diff(q) {
    const rs = find(q);
    const vs = rs.flatMap((r) => r.versions.map((v) => ({ r, v }))).sort((a, b) => a.v.t - b.v.t);
    const at = (p) => {
      const t = parseTime(q.get(p) ?? '');
      if (t === null) throw new BadParam(p, `${p} is required`);
      const hit = vs.filter((x) => x.v.t <= t).pop();
      if (!hit) throw new BadParam(p, `no version at ${q.get(p)}`, 404);
      return hit;
    };
    const a = at('from'), b = at('to');
    const ops = [];
    const walk = (x, y, path) => {
      if (JSON.stringify(x) === JSON.stringify(y)) return;
      if (x && y && typeof x === 'object' && typeof y === 'object' && Array.isArray(x) === Array.isArray(y)) {
        for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) {
          if (!(k in y)) ops.push({ op: 'remove', path: `${path}/${k}`, old: x[k] });
          else if (!(k in x)) ops.push({ op: 'add', path: `${path}/${k}`, value: y[k] });
          else walk(x[k], y[k], `${path}/${k}`);
        }
      } else ops.push({ op: 'replace', path, value: y, old: x });
    };
    walk(a.v.payload, b.v.payload, '');
    const head = (x) => ({ time: iso(x.v.t), resource_version: x.v.payload.metadata.resourceVersion, uid: x.r.uid, watch_type: x.v.type });
    return { from: head(a), to: head(b), ops };
  },
  // Made-up recording gaps: the store began a minute after T0, sloop was down for 5 minutes, and
  // the Pod and ReplicaSet watches were cut and relisted once.
  gaps(q) {
    const from = q.get('start_time') ? parseTime(q.get('start_time')) : windowOf(q)[0];
    const to = q.get('end_time') ? parseTime(q.get('end_time')) : windowOf(q)[1];
    const all = [
      { start: T0 + 1200, end: T0 + 1500, scope: 'recorder', kind: null, group: null, reason: 'sloop was not running' },
      ...['Pod', 'ReplicaSet'].map((kind) => ({ start: T0 + 1800, end: T0 + 1860, scope: 'watch', kind, group: kind === 'Pod' ? '' : 'apps', reason: `the ${kind} watch was cut (410 Gone) and relisted; changes in between may be missing` })),
    ];
    const gaps = all.filter((g) => g.end > from && g.start < to).map((g) => ({ ...g, start: iso(Math.max(g.start, from)), end: iso(Math.min(g.end, to)) }));
    return { start: iso(from), end: iso(to), recording_since: iso(T0 + 60), recording: true, gaps };
  },
  namespaces(q) {
    const [from, to] = windowOf(q);
    return { namespaces: [...new Set(resources.filter((r) => r.namespace && r.created <= to && endOf(r) >= from).map((r) => r.namespace))].sort() };
  },
  kinds(q) {
    const [from, to] = windowOf(q);
    return { kinds: [...new Set(resources.filter((r) => r.created <= to && endOf(r) >= from).map((r) => r.kind)), 'Event'].sort() };
  },
};

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json' };
function sendFile(res, file) {
  if (!fs.existsSync(file)) return send(res, 404, { error: { message: `no such file: ${path.basename(file)}` } });
  res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
  res.end(fs.readFileSync(file));
}
function send(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body) + '\n');
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  let p = url.pathname;
  if (p === '/') { res.writeHead(307, { Location: `/${CTX}` }); return res.end(); }
  if (p === '/healthz') { res.writeHead(200); return res.end('OK'); }
  if (p === `/${CTX}` || p === `/${CTX}/`) return sendFile(res, path.join(DIST, 'index.html'));
  if (p.startsWith(`/${CTX}/webfiles/`)) {
    const rel = p.slice(`/${CTX}/webfiles/`.length);
    if (rel.split('/').some((s) => s === '..' || s === '')) return send(res, 400, { error: { parameter: 'path', message: 'bad path' } });
    return sendFile(res, path.join(DIST, rel));
  }
  if (p.startsWith(`/${CTX}/api/v1/`)) p = p.slice(CTX.length + 1);
  if (p.startsWith('/api/v1/')) {
    const name = p.slice('/api/v1/'.length);
    const route = routes[name];
    if (!route) return send(res, 404, { error: { message: `no route ${p}` } });
    if (FAIL === name) return send(res, 500, { error: { message: 'the store failed: segment 12 is unreadable (mock --fail)' } });
    const delay = name === 'timeline' ? 300 : 50;
    setTimeout(() => {
      try { send(res, 200, route(url.searchParams)); } catch (e) { send(res, e.status ?? 500, { error: { ...(e.parameter ? { parameter: e.parameter } : {}), message: e.message } }); }
    }, delay);
    return;
  }
  send(res, 404, { error: { message: `no such route: ${p}` } });
});
server.listen(PORT, '127.0.0.1', () => console.log(`mock sloop on http://127.0.0.1:${server.address().port}/${CTX} (${resources.length} resources)`));
