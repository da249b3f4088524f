// What the "what changed" and "time travel" views share with the page: how they move (the URL),
// report, and the controls of their bars (namespace, kind, a time typed in the zone times are
// shown in).

import './views.css';
import { fmtTime, h } from './dom';
import type { ViewState } from './state';
import { badgeStyle } from './palette';

export interface ViewCallbacks {
  /** Moves to a new state; push=false replaces the history entry. */
  navigate(patch: Partial<ViewState>, push?: boolean): void;
  /** An href for a state, for real links (open in new tab works). */
  href(patch: Partial<ViewState>): string;
  busy(message: string | null): void;
  error(e: unknown): void;
  hideError(): void;
  /** The namespaces and kinds seen in the timeline's window, as the page last loaded them. */
  lists(): { namespaces: string[]; kinds: string[] };
}

/** A kind's badge, in the timeline's colour for it (text contrast-checked, palette.ts). */
export function kindBadge(kind: string, big = false): HTMLElement {
  return h('span', { class: `kind-badge${big ? ' big' : ''}`, style: badgeStyle(kind) }, kind);
}

/** A <select> of [value, label] options; a value not among them is added first. */
export function select(name: string, value: string, options: [string, string][], onchange: (v: string) => void): HTMLElement {
  if (!options.some(([v]) => v === value)) options = [[value, value], ...options];
  return h(
    'select',
    { name, 'data-testid': `filter-${name}`, onchange: (e: Event) => onchange((e.target as HTMLSelectElement).value) },
    options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)),
  );
}

export function field(label: string, ...control: (Node | null)[]): HTMLElement {
  return h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), ...control);
}

/** The namespace and kind selects of a view's bar, fed by the page's lists. `allKinds` offers
 * "all kinds"; without it the kind shown is `kind` (the caller's default for all). */
export function scopeFields(cb: ViewCallbacks, s: ViewState, kind: string, allKinds: boolean): HTMLElement[] {
  const { namespaces, kinds } = cb.lists();
  const nsOptions: [string, string][] = [['_all', 'all namespaces'], ...namespaces.map((n) => [n, n] as [string, string])];
  const kindOptions: [string, string][] = [...(allKinds ? [['_all', 'all kinds'] as [string, string]] : []), ...kinds.map((k) => [k, k] as [string, string])];
  return [
    field('namespace', select('namespace', s.namespace, nsOptions, (v) => cb.navigate({ namespace: v, fold: [] }))),
    field('kind', select('kind', kind, kindOptions, (v) => cb.navigate({ kind: v, fold: [] }))),
  ];
}

/** How far the zone times are shown in (fmtTime's) is ahead of UTC at `t`, in milliseconds. */
function shownOffset(t: number): number {
  const shown = Date.parse(fmtTime(new Date(t)).replace(' ', 'T') + 'Z');
  return Number.isFinite(shown) ? shown - Math.floor(t / 1000) * 1000 : 0;
}

/** The zone times are shown in, for labels: "UTC" or "UTC+01:00". */
export function shownZone(t: number = Date.now()): string {
  const off = Math.round(shownOffset(t) / 60000);
  if (off === 0) return 'UTC';
  const a = Math.abs(off);
  return `UTC${off > 0 ? '+' : '−'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/** Reads "2026-11-20 09:01[:05]" (a space or a T between), 24-hour, as a time in the zone times
 * are shown in; also RFC 3339 with a zone and Unix seconds. Null when it is none of these. */
export function parseShown(text: string): Date | null {
  const v = text.trim();
  if (/^\d{9,12}$/.test(v)) return new Date(Number(v) * 1000);
  if (/(Z|[+-]\d{2}:\d{2})$/i.test(v)) {
    const t = Date.parse(v.replace(' ', 'T'));
    return Number.isFinite(t) ? new Date(t) : null;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ]+(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(v);
  if (!m) return null;
  const [y, mo, d, hh, mi, ss] = m.slice(1).map((x) => Number(x ?? 0));
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mi > 59 || ss > 59) return null;
  const fields = Date.UTC(y, mo - 1, d, hh, mi, ss);
  // The fields are in the shown zone: take its offset off (twice, for a change of offset between).
  let t = fields - shownOffset(fields);
  t = fields - shownOffset(t);
  const back = new Date(t);
  return isNaN(t) || fmtTime(back) !== `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6] ?? '00'}` ? null : back;
}

/** Unix seconds of an RFC 3339 text, or of now when empty. */
export function unixOr(t: string, now = Date.now()): number {
  const v = t ? Date.parse(t) : now;
  return Math.floor((Number.isFinite(v) ? v : now) / 1000);
}
