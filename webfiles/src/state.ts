// The whole view lives in the URL's query string, so a link reproduces what its sender saw.
//
// Timeline: end (RFC 3339; absent = now), lookback, namespace, kind, match, sort, group,
//           nochange, zoom (unix seconds "a-b"), fold (collapsed group ids).
// Resource view: res = "Kind/namespace/name", uid, at (a clicked time), a and b (the two versions' keys), diff
//           (side | inline | fields), noise (1 = keep managedFields/resourceVersion in diffs).

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
}

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

export function parseState(search: string, d: Defaults): ViewState {
  const q = new URLSearchParams(search);
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
    sort: get('sort', 'start'),
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
  }
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
  const qs = q.toString();
  return qs ? '?' + qs : '';
}

/** Parses a Go-style duration (1h30m, 90m, 45s) into seconds; NaN when malformed. */
export function durationSeconds(d: string): number {
  const re = /(\d+(?:\.\d+)?)(h|m|s|ms)/g;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(d))) {
    const n = parseFloat(m[1]);
    total += m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : m[2] === 's' ? n : n / 1000;
    consumed += m[0].length;
  }
  return consumed === d.length && consumed > 0 ? total : NaN;
}
