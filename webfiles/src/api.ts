// The /api/v1 client: typed answers (docs/api.md), errors as values the UI shows, and progress
// (bytes received) for long queries.

declare global {
  interface Window {
    SLOOP_ROOT?: string;
    SLOOP_LOAD?: (scripts: string[], styles: string[]) => void;
    /** The answer to api/v1/config, asked for by index.html before the scripts load. */
    SLOOP_CONFIG?: Promise<Partial<UiConfig> | null>;
  }
}

/** The context root the page was served under, e.g. "/cluster/". */
export function rootPath(): string {
  return window.SLOOP_ROOT || '/';
}

export interface Owner {
  kind: string;
  name: string;
  uid: string;
  controller: boolean;
}

export interface HeatCell {
  minute: number;
  reason: string;
  type: string;
  count: number;
}

export interface TimelineRow {
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  api_version: string;
  start: string;
  end: string;
  created: string | null;
  deleted: boolean;
  events: number;
  warnings: number;
  changed_at: number[];
  nochange_at: number[];
  heat: HeatCell[];
  owners: Owner[];
}

export interface TimelineAnswer {
  from: string;
  to: string;
  matched: number;
  truncated: boolean;
  rows: TimelineRow[];
}

/** A timeline asked for with heat=packed: each row's heat is [minute, key, count] triples, the
 * minutes counted from heat_from (Unix seconds), the keys indexes into heat_keys. */
interface PackedTimelineAnswer extends Omit<TimelineAnswer, 'rows'> {
  heat_from: number;
  heat_keys: { reason: string; type: string }[];
  rows: (Omit<TimelineRow, 'heat'> & { heat: number[] })[];
}

/** A row's heat not yet read back: its triples and the answer's keys (see heatOf). */
const packedHeat = new WeakMap<TimelineRow, { p: number[]; keys: PackedTimelineAnswer['heat_keys']; from: number }>();
const NOT_READ: HeatCell[] = Object.freeze([]) as unknown as HeatCell[];

/** The timeline, fetched with its heat packed (a third of the bytes, far fewer objects to parse).
 * A row's heat is read back into HeatCell objects when first asked for (heatOf): a screenful of
 * rows is drawn, not 10,000. */
export async function getTimeline(params: Params, opts: { signal?: AbortSignal; progress?: Progress } = {}): Promise<TimelineAnswer> {
  const a = await getJson<PackedTimelineAnswer>('timeline', { ...params, heat: 'packed' }, opts);
  // A server that does not pack (an older one, the dev mock) answers with the objects already.
  if (!Array.isArray(a.heat_keys)) return a as unknown as TimelineAnswer;
  for (const row of a.rows) {
    if (!row.heat.length) continue;
    packedHeat.set(row as unknown as TimelineRow, { p: row.heat, keys: a.heat_keys, from: a.heat_from });
    (row as unknown as TimelineRow).heat = NOT_READ;
  }
  return a as unknown as TimelineAnswer;
}

/** A timeline row's Event heat (read back from its packed form the first time). */
export function heatOf(row: TimelineRow): HeatCell[] {
  if (row.heat !== NOT_READ) return row.heat;
  const { p, keys, from } = packedHeat.get(row)!;
  const cells: HeatCell[] = new Array(Math.floor(p.length / 3));
  for (let i = 0, j = 0; i + 2 < p.length; i += 3, j++) {
    const k = keys[p[i + 1]] ?? { reason: '', type: '' };
    cells[j] = { minute: from + p[i] * 60, reason: k.reason, type: k.type, count: p[i + 2] };
  }
  packedHeat.delete(row);
  return (row.heat = cells);
}

export interface FoundResource {
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  first_seen: string | null;
  last_seen: string | null;
  created: string | null;
  deleted: boolean;
}

export interface Version {
  time: string;
  watch_type: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  resource_version: string;
  api_version: string;
  key: string;
  payload?: unknown;
}

export interface HistoryAnswer {
  from: string | null;
  to: string | null;
  versions: Version[];
  truncated: boolean;
}

export interface EventSummary {
  involved: { kind: string; namespace: string; name: string; uid: string };
  reason: string;
  type: string;
  count: number;
  message: string;
  first_timestamp: string | null;
  last_timestamp: string | null;
}

export interface EventRecord {
  time: string;
  watch_type: string;
  name: string;
  namespace: string;
  uid: string;
  key: string;
  event: EventSummary;
}

export interface EventsAnswer {
  from: string;
  to: string;
  events: EventRecord[];
  truncated: boolean;
}

/** /api/v1/snapshot: one kind as it was at a moment, in kubectl's columns. */
export interface SnapshotRow {
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  api_version: string;
  /** The stored version the cells come from; null when retention deleted them all. */
  version_time: string | null;
  resource_version: string | null;
  cells: string[];
}

export interface SnapshotAnswer {
  at: string;
  kind: string;
  namespace: string | null;
  columns: string[];
  rows: SnapshotRow[];
  matched: number;
  truncated: boolean;
}

export type ChangeType = 'added' | 'deleted' | 'changed' | 'rollout_started' | 'rollout_finished' | 'warnings';

/** /api/v1/changes: one thing that changed in a window. */
export interface Change {
  change: ChangeType;
  at: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  /** The top of the owner chain (Pod → ReplicaSet → Deployment), for grouping. */
  owner: { kind: string; name: string; uid: string } | null;
  fields: string[];
  from_time: string | null;
  to_time: string | null;
  detail: string;
  reason?: string;
  count?: number;
}

export interface ChangesAnswer {
  start: string;
  end: string;
  changes: Change[];
  counts: Record<ChangeType, number>;
  matched: number;
  truncated: boolean;
}

export interface Link {
  text: string;
  url_template: string;
  /** Left-bar links: the template expanded by the server. */
  url?: string;
  kinds?: string[];
}

/** A resource link expanded by the server for one resource (api/v1/links). */
export interface ExpandedLink {
  text: string;
  url: string;
}

export interface LinksAnswer {
  links: ExpandedLink[];
}

export interface UiConfig {
  context: string;
  display_context: string;
  url_prefix: string;
  /** This page's cluster, and every cluster the server serves (a gateway's: several). */
  cluster?: string;
  clusters?: string[];
  defaults: { namespace: string; kind: string; lookback: string };
  max_look_back_seconds: number;
  left_bar_links: Link[];
  resource_links: Link[];
}

/** A failed request, with the server's own explanation when it gave one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly parameter?: string,
    readonly url?: string,
  ) {
    super(message);
  }
  describe(): string {
    const where = this.parameter ? ` (parameter "${this.parameter}")` : '';
    const code = this.status ? `HTTP ${this.status}: ` : '';
    return `${code}${this.message}${where}`;
  }
}

export type Progress = (bytesReceived: number) => void;

export type Params = Record<string, string | number | boolean | undefined | null>;

export function apiUrl(route: string, params: Params = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    q.set(k, String(v));
  }
  const qs = q.toString();
  return `${rootPath()}api/v1/${route}${qs ? '?' + qs : ''}`;
}

/** Who hears of answers that left out records of damaged stored blocks (X-Sloop-Damaged-Blocks). */
let partialListener: ((blocks: number, route: string) => void) | null = null;
export function onPartialAnswer(fn: (blocks: number, route: string) => void) {
  partialListener = fn;
}

/** GETs an /api/v1 route and parses its JSON, reporting bytes as they arrive. */
export async function getJson<T>(
  route: string,
  params: Params,
  opts: { signal?: AbortSignal; progress?: Progress } = {},
): Promise<T> {
  const url = apiUrl(route, params);
  let res: Response;
  try {
    res = await fetch(url, { signal: opts.signal, headers: { Accept: 'application/json' } });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, `the server did not answer: ${(e as Error).message}`, undefined, url);
  }
  const text = await readBody(res, opts.progress);
  if (!res.ok) {
    let message = text.trim() || res.statusText;
    let parameter: string | undefined;
    try {
      const body = JSON.parse(text);
      if (body && body.error) {
        message = body.error.message || message;
        parameter = body.error.parameter;
      }
    } catch {
      /* not JSON: keep the text */
    }
    throw new ApiError(res.status, message, parameter, url);
  }
  const damaged = Number(res.headers.get('X-Sloop-Damaged-Blocks') || 0);
  if (damaged > 0 && partialListener) partialListener(damaged, route);
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new ApiError(res.status, `the answer is not JSON: ${(e as Error).message}`, undefined, url);
  }
}

async function readBody(res: Response, progress?: Progress): Promise<string> {
  if (!progress || !res.body) return res.text();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  let told = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    // A large answer comes in hundreds of chunks: the count is shown a few times a second.
    const now = performance.now();
    if (now - told >= 200) {
      told = now;
      progress(received);
    }
  }
  const all = new Uint8Array(received);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return new TextDecoder().decode(all);
}

export async function loadConfig(): Promise<UiConfig> {
  const fallback: UiConfig = {
    context: '',
    display_context: '',
    url_prefix: rootPath().replace(/\/$/, ''),
    defaults: { namespace: '_all', kind: '_all', lookback: '1h' },
    max_look_back_seconds: 14 * 86400,
    left_bar_links: [],
    resource_links: [],
  };
  try {
    const early = window.SLOOP_CONFIG ? await window.SLOOP_CONFIG : null;
    const c = early ?? (await getJson<UiConfig>('config', {}));
    return { ...fallback, ...c, defaults: { ...fallback.defaults, ...(c.defaults || {}) } };
  } catch {
    return fallback;
  }
}

/** Expands a Sloop link template ({{.Name}}, {{ToLower .Namespace}}, …) for one resource. */
