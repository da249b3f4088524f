// The whole view lives in the URL's query string, so a link reproduces what its sender saw.
//
// Timeline: end (RFC 3339; absent = now), lookback, namespace, kind, match, sort, group,
//           nochange, zoom (unix seconds "a-b"), fold (collapsed group ids).
// Every view: tz (utc | local; absent = local, the zone of the browser): the zone every time is
//           shown and typed in.
// Resource view: res = "Kind/namespace/name", uid, at (a clicked time), a and b (the two versions' keys), diff
//           (side | inline | fields), noise (1 = keep managedFields/resourceVersion in diffs),
//           a_at and b_at (RFC 3339: A and B are the versions in force at these times, exactly as
//           /api/v1/changes names them in from_time/to_time; a and b win when both are given).
// view: timeline (absent) | changes | snapshot, the page shown when no res is open. changes (what
//           changed) takes the timeline's window (end, lookback, zoom) and namespace/kind; snapshot
//           (time travel) takes when (RFC 3339 or Unix seconds; absent = now), namespace and kind
//           (all kinds shows Pods). `at` stays the resource view's: a snapshot row opens its
//           object with at = when.

export interface ViewState {
  end: string;
  lookback: string;
  namespace: string;
  kind: string;
  match: string;
  sort: string;
  group: boolean;
  nochange: boolean;
  zoom: [number, number] | null;
  fold: string[];
  res: { kind: string; namespace: string; name: string } | null;
  uid: string;
  /** Unix seconds clicked on the timeline: the resource view starts at the version then. */
  at: number;
  a: string;
  b: string;
  diff: string;
  noise: boolean;
  view: View;
  /** The moment time travel shows, RFC 3339 UTC ('' = now). */
  when: string;
  aAt: string;
  bAt: string;
  tz: 'local' | 'utc';
}

export type View = 'timeline' | 'changes' | 'snapshot';
const VIEWS: View[] = ['timeline', 'changes', 'snapshot'];

export interface Defaults {
  namespace: string;
  kind: string;
  lookback: string;
}

export const LOOKBACKS: [string, string][] = [
  ['15m', '15 min'],
  ['30m', '30 min'],
  ['1h', '1 hour'],
  ['3h', '3 hours'],
  ['6h', '6 hours'],
  ['12h', '12 hours'],
  ['24h', '1 day'],
  ['72h', '3 days'],
  ['168h', '1 week'],
  ['336h', '2 weeks'],
];

export const SORTS: [string, string][] = [
  ['start', 'start time'],
  ['most_events', 'most events'],
  ['name', 'name'],
];

/** The parameters only Sloop's UI writes; a URL with any of them is a Sloop link. */
const SLOOP_ONLY = ['namematch', 'selectedEndTime', 'end_time', 'start_time', 'query', 'click_time', 'click_data', 'uuid'];

export function isSloopLink(search: string): boolean {
  const q = new URLSearchParams(search);
  return SLOOP_ONLY.some((k) => q.has(k)) || (q.has('sort') && sloopSort(q.get('sort')!) !== q.get('sort'));
}

/** Sloop's sort values (starttime, start_time, mostevents, name), and what Sloop does with any
 * other value: it sorts by start time. */
function sloopSort(v: string): string {
  const k = v.toLowerCase().replace(/_/g, '');
  if (k === 'mostevents') return 'most_events';
  if (k === 'name') return 'name';
  return 'start';
}

/** A Sloop time: Unix seconds, or its UTC date-time without a zone ("2026-11-20T09:14:03", the
 * seconds optional, as a datetime-local field gives it), or RFC 3339. Null when unreadable. */
export function sloopTime(v: string | null): Date | null {
  if (!v) return null;
  if (/^\d{1,12}$/.test(v)) return new Date(Number(v) * 1000);
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/i.exec(v);
  if (!m) return null;
  const t = new Date(`${m[1]}T${m[2]}${m[3] ?? ':00'}${m[5] ?? 'Z'}`);
  const y = t.getUTCFullYear();
  return Number.isFinite(t.getTime()) && y >= 1971 && y < 2262 ? t : null;
}

/** Rewrites the parameters of a link into Sloop's UI or API (/CTX?query=EventHeatMap&namematch=…&
 * selectedEndTime=…&sort=mostevents, start_time/end_time in Unix seconds, the resource pop-up's
 * kind/namespace/name with click_time or uuid) into this UI's own. What cannot be read is left
 * out, so that an old link opens the nearest view instead of an error. */
export function fromSloop(search: string): URLSearchParams {
  const q = new URLSearchParams(search);
  const out = new URLSearchParams();
  for (const k of ['lookback', 'namespace', 'kind', 'res', 'uid', 'at', 'a', 'b', 'diff', 'noise', 'group', 'nochange', 'zoom', 'fold', 'match', 'end', 'tz', 'view', 'when', 'a_at', 'b_at']) {
    const v = q.get(k);
    if (v !== null && v !== '') out.set(k, v);
  }
  if (out.has('lookback') && !Number.isFinite(durationSeconds(out.get('lookback')!))) out.delete('lookback');
  const match = q.get('namematch');
  if (match) out.set('match', match);
  if (q.has('sort')) out.set('sort', sloopSort(q.get('sort')!));
  const start = sloopTime(q.get('start_time'));
  const end = sloopTime(q.get('end_time')) ?? sloopTime(q.get('selectedEndTime'));
  if (end && end.getTime() < Date.now() - 60_000) out.set('end', end.toISOString().replace('.000Z', 'Z'));
  if (start && end && start < end) out.set('lookback', `${Math.round((end.getTime() - start.getTime()) / 1000)}s`);
  if (out.get('end') && !sloopTime(out.get('end'))) out.delete('end');
  // The resource pop-up's parameters: open that resource.
  const name = q.get('name');
  const kind = q.get('kind');
  if (!out.has('res') && name && kind && kind !== '_all' && (q.has('click_time') || q.has('uuid') || q.has('click_data'))) {
    const ns = q.get('namespace');
    out.set('res', `${kind}/${ns && ns !== '_all' ? ns : ''}/${name}`);
    const uuid = q.get('uuid');
    if (uuid) out.set('uid', uuid);
    const click = Number(q.get('click_time'));
    if (Number.isFinite(click) && click > 0) out.set('at', String(Math.round(click / 1000)));
  }
  return out;
}

export function parseState(search: string, d: Defaults): ViewState {
  const q = isSloopLink(search) ? fromSloop(search) : new URLSearchParams(search);
  const get = (k: string, dflt = '') => q.get(k) ?? dflt;
  let zoom: [number, number] | null = null;
  const z = get('zoom').split('-').map(Number);
  if (z.length === 2 && z.every((n) => Number.isFinite(n)) && z[0] < z[1]) zoom = [z[0], z[1]];
  let res: ViewState['res'] = null;
  const r = get('res');
  if (r) {
    const parts = r.split('/');
    if (parts.length >= 3) {
      res = { kind: parts[0], namespace: parts[1], name: parts.slice(2).join('/') };
    }
  }
  return {
    end: get('end'),
    lookback: get('lookback', d.lookback || '1h'),
    namespace: get('namespace', d.namespace || '_all'),
    kind: get('kind', d.kind || '_all'),
    match: get('match'),
    sort: sloopSort(get('sort', 'start')),
    group: get('group', '1') !== '0',
    nochange: get('nochange') === '1',
    zoom,
    fold: get('fold') ? get('fold').split(',') : [],
    res,
    uid: get('uid'),
    at: Number(get('at')) || 0,
    a: get('a'),
    b: get('b'),
    diff: get('diff', 'side'),
    noise: get('noise') === '1',
    view: VIEWS.find((v) => v === get('view')) ?? 'timeline',
    when: timeParam(get('when')),
    aAt: timeParam(get('a_at'), true),
    bAt: timeParam(get('b_at'), true),
    tz: get('tz').toLowerCase() === 'utc' ? 'utc' : 'local',
  };
}

/** The query string for a state; values equal to the defaults are left out to keep links short. */
export function formatState(s: ViewState, d: Defaults): string {
  const q = new URLSearchParams();
  if (s.res) {
    q.set('res', `${s.res.kind}/${s.res.namespace}/${s.res.name}`);
    if (s.uid) q.set('uid', s.uid);
    if (s.at && !s.b) q.set('at', String(Math.round(s.at)));
    if (s.a) q.set('a', s.a);
    if (s.b) q.set('b', s.b);
    if (s.diff && s.diff !== 'side') q.set('diff', s.diff);
    if (s.noise) q.set('noise', '1');
    if (s.aAt && !s.a) q.set('a_at', s.aAt);
    if (s.bAt && !s.b) q.set('b_at', s.bAt);
  }
  if (s.view !== 'timeline') q.set('view', s.view);
  if (s.view === 'snapshot' && s.when) q.set('when', s.when);
  if (s.end) q.set('end', s.end);
  if (s.lookback !== (d.lookback || '1h')) q.set('lookback', s.lookback);
  if (s.namespace !== (d.namespace || '_all')) q.set('namespace', s.namespace);
  if (s.kind !== (d.kind || '_all')) q.set('kind', s.kind);
  if (s.match) q.set('match', s.match);
  if (s.sort && s.sort !== 'start') q.set('sort', s.sort);
  if (!s.group) q.set('group', '0');
  if (s.nochange) q.set('nochange', '1');
  if (s.zoom) q.set('zoom', `${Math.round(s.zoom[0])}-${Math.round(s.zoom[1])}`);
  if (s.fold.length) q.set('fold', s.fold.join(','));
  if (s.tz === 'utc') q.set('tz', 'utc');
  const qs = q.toString();
  return qs ? '?' + qs : '';
}

/** A time parameter as RFC 3339 UTC ('' when absent or unreadable): Unix seconds and zone-less
 * UTC are read as sloopTime reads them. `exact` keeps an RFC 3339 text as it is (its nanoseconds
 * name one stored version); otherwise the time is cut to whole seconds. */
function timeParam(v: string, exact = false): string {
  if (exact && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/.test(v)) return v;
  const t = sloopTime(v);
  return t ? t.toISOString().replace(/\.\d{3}Z$/, 'Z') : '';
}

/** Nanoseconds since the epoch of an RFC 3339 time as the server writes them (fractions of up to
 * nine digits): Date keeps milliseconds only, too coarse to tell versions apart. */
export function timeNs(t: string): bigint {
  const m = /^(.*?:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(t);
  const whole = m ? Date.parse(m[1] + m[3]) : Date.parse(t);
  if (!Number.isFinite(whole)) return BigInt(-1);
  return BigInt(whole) * BigInt(1_000_000) + BigInt((m?.[2] ?? '').padEnd(9, '0') || '0');
}

/** The key of the version in force at `at` (the newest at or before it) among versions sorted
 * oldest first, of `uid` when given; '' when none is. */
export function versionKeyAt(versions: { time: string; key: string; uid: string }[], at: string, uid: string): string {
  const t = timeNs(at);
  let key = '';
  for (const v of versions) {
    if (uid && v.uid && v.uid !== uid) continue;
    if (timeNs(v.time) <= t) key = v.key;
  }
  return key;
}

/** Resolves a_at and b_at into the keys a and b, for views that pick versions by key. */
export function withVersionsAt<S extends Pick<ViewState, 'a' | 'b' | 'aAt' | 'bAt' | 'uid'>>(
  s: S,
  versions: { time: string; key: string; uid: string }[],
): S {
  const a = !s.a && s.aAt ? versionKeyAt(versions, s.aAt, s.uid) : s.a;
  const b = !s.b && s.bAt ? versionKeyAt(versions, s.bAt, s.uid) : s.b;
  return a === s.a && b === s.b ? s : { ...s, a, b };
}

const UNIT_SECONDS: Record<string, number> = { d: 86400, h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, 'µs': 1e-6, ns: 1e-9 };

/** Parses a duration in the server's syntax (Go's, plus d: 1h30m, 90m, 45s, 14d) into seconds;
 * NaN when malformed. */
export function durationSeconds(d: string): number {
  if (d === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ms|us|µs|ns|d|h|m|s)/gy;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(d))) {
    total += parseFloat(m[1]) * UNIT_SECONDS[m[2]];
    consumed += m[0].length;
  }
  return consumed === d.length && consumed > 0 ? total : NaN;
}
