// Small DOM and formatting helpers. Text always goes in as text nodes: names, messages and
// payloads come from the cluster and are never trusted as HTML.

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v as EventListener);
    } else if (k === 'class') {
      el.className = String(v);
    } else if (v === true) {
      el.setAttribute(k, '');
    } else {
      el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

/** replaceChildren that skips null/false children. */
export function setChildren(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The zone times are shown in: the user's choice (URL `tz`), set by the page on every route. */
export type TimeZoneChoice = 'local' | 'utc';
let zone: TimeZoneChoice = 'local';

export function setTimeZone(z: TimeZoneChoice): void {
  zone = z;
}

export function timeZone(): TimeZoneChoice {
  return zone;
}

let browserZone: string | undefined;

/** What the chosen zone is called in headings: "UTC", or the browser's zone ("Europe/Berlin"),
 * or its offset when the browser does not name it. */
export function zoneLabel(): string {
  if (zone === 'utc') return 'UTC';
  // Asking Intl costs tens of milliseconds on a page's first draw; the browser's zone is asked once.
  const name = (browserZone ??= Intl.DateTimeFormat().resolvedOptions().timeZone || '');
  if (name && name !== 'UTC' && name !== 'Etc/UTC') return name;
  const off = -new Date().getTimezoneOffset();
  return off === 0 ? 'local: UTC' : `local: UTC${off > 0 ? '+' : '−'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
}

/** The calendar fields of a moment in the chosen zone. */
export function zoned(d: Date): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  return zone === 'utc'
    ? { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds() }
    : { y: d.getFullYear(), mo: d.getMonth() + 1, d: d.getDate(), h: d.getHours(), mi: d.getMinutes(), s: d.getSeconds() };
}

/** "2026-11-20 09:01:05" in the chosen zone, 24-hour whatever the browser's locale. */
export function fmtTime(t: Date | number | string | null | undefined): string {
  if (t === null || t === undefined || t === '') return '—';
  const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t);
  if (isNaN(d.getTime())) return String(t);
  const z = zoned(d);
  return `${z.y}-${pad(z.mo)}-${pad(z.d)} ${pad(z.h)}:${pad(z.mi)}:${pad(z.s)}`;
}

/** "09:01" (or "09:01:05" when seconds matter) in the chosen zone. */
export function fmtClock(t: Date | number, seconds = false): string {
  const z = zoned(typeof t === 'number' ? new Date(t * 1000) : t);
  return `${pad(z.h)}:${pad(z.mi)}${seconds ? ':' + pad(z.s) : ''}`;
}

/** Reads "2026-11-20 09:01[:05]" (a space or a T between) as a time in the chosen zone; null when
 * it is not one. */
export function parseZoned(v: string): Date | null {
  const m = /^\s*(\d{4})-(\d{1,2})-(\d{1,2})[T ]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$/.exec(v);
  if (!m) return null;
  const [y, mo, d, hh, mi, ss] = m.slice(1).map((x) => Number(x ?? 0));
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mi > 59 || ss > 59) return null;
  const t = zone === 'utc' ? new Date(Date.UTC(y, mo - 1, d, hh, mi, ss)) : new Date(y, mo - 1, d, hh, mi, ss);
  return isNaN(t.getTime()) ? null : t;
}

/** "1 resource", "2 resources"; irregular plurals passed in. */
export function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A duration in seconds as "2h 5m", "45s". */
export function fmtDuration(sec: number): string {
  sec = Math.max(0, Math.round(sec));
  const d = Math.floor(sec / 86400);
  const hr = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  const parts: string[] = [];
  if (d) parts.push(`${d}d`);
  if (hr) parts.push(`${hr}h`);
  if (m && d === 0) parts.push(`${m}m`);
  if (s && d === 0 && hr === 0) parts.push(`${s}s`);
  return parts.join(' ') || '0s';
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1 << 20)).toFixed(1)} MiB`;
}

/** RFC 3339 UTC without fractions, for URLs and API parameters. */
export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function toUnix(t: string | null | undefined): number {
  return t ? new Date(t).getTime() / 1000 : NaN;
}
