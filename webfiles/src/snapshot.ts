// Time travel: the cluster as it was at a chosen moment, one kind at a time, as `kubectl get -o
// wide` would have listed it then (/api/v1/snapshot; the columns come from the server). Every row
// links to its object's resource view at the version the row was read from. The moment is typed
// (24-hour, in the zone times are shown in) or stepped (−1h … +1h, now), and is kept in the URL
// (view=snapshot&when=…), as are namespace and kind, which the timeline shares.

import { ApiError, getJson, type SnapshotAnswer, type SnapshotRow } from './api';
import { fmtTime, h, isoSeconds, setChildren } from './dom';
import type { ViewState } from './state';
import { field, parseShown, scopeFields, shownZone, unixOr, kindBadge, type ViewCallbacks } from './viewbar';

/** The kind time travel shows when the toolbar says all kinds: what an on-call looks at first. */
export const DEFAULT_SNAPSHOT_KIND = 'Pod';

const STEPS: [string, number][] = [
  ['−1h', -3600],
  ['−5m', -300],
  ['+5m', 300],
  ['+1h', 3600],
];

/** Statuses worth a second look, in any kind's STATUS column. */
const TROUBLE = /BackOff|Err|Fail|OOM|Unknown|NotReady|Evicted|ExitCode|Terminating|Unschedulable|Lost/;

export function snapshotKind(s: ViewState): string {
  return s.kind && s.kind !== '_all' ? s.kind : DEFAULT_SNAPSHOT_KIND;
}

export class SnapshotView {
  readonly el = h('div', { class: 'view snapshot', 'data-testid': 'snapshot-view' });
  private bar = h('div', { class: 'toolbar', 'data-testid': 'snapshot-bar' });
  private body = h('div', { class: 'view-body' });
  private state: ViewState | null = null;
  private loadedKey = '';
  private answer: SnapshotAnswer | null = null;
  private abort: AbortController | null = null;
  /** A `when` the URL gave that is not a time (the page shows now instead, and says so). */
  unreadable = '';
  /** Where the history starts, when the moment shown found nothing. */
  private oldest: string | null = null;

  constructor(private cb: ViewCallbacks) {
    this.el.append(this.bar, this.body);
  }

  show(s: ViewState) {
    this.state = s;
    this.renderBar();
    this.load(s);
  }

  /** The page loaded new namespace/kind lists: offer them. */
  listsChanged() {
    if (this.state && this.el.isConnected) this.renderBar();
  }

  private params(s: ViewState): Record<string, string | number> {
    const p: Record<string, string | number> = { kind: snapshotKind(s), namespace: s.namespace || '_all', limit: 5000 };
    if (s.when) p.at = s.when;
    return p;
  }

  private async load(s: ViewState, force = false) {
    const params = this.params(s);
    const key = JSON.stringify(params);
    // "now" moves: asking again for it is always worth it; a past moment's answer does not change.
    if (!force && s.when && key === this.loadedKey && this.answer) return this.renderTable();
    this.abort?.abort();
    const abort = (this.abort = new AbortController());
    const kind = snapshotKind(s);
    this.cb.busy(`Loading the ${kind}s as they were ${s.when ? 'at ' + fmtTime(s.when) : 'now'}…`);
    try {
      this.answer = await getJson<SnapshotAnswer>('snapshot', params, { signal: abort.signal });
      // Nothing at a moment before the history's start means "not recorded", not "none". Where it
      // starts: the oldest record here, or in the object store's shards (a gateway holds none
      // itself), as /api/v1/gaps says for a window at that moment.
      this.oldest = null;
      if (!this.answer.rows.length && s.when) {
        const gaps = await getJson<{ recording_since: string | null }>('gaps', { from: s.when, to: s.when }, { signal: abort.signal }).catch((e) => {
          if ((e as Error).name === 'AbortError') throw e;
          return null;
        });
        this.oldest = gaps?.recording_since ?? null;
      }
      this.loadedKey = key;
      this.cb.hideError();
      this.renderTable();
      this.renderBar();
    } catch (e) {
      if ((e as Error).name === 'AbortError') return;
      this.answer = null;
      this.loadedKey = '';
      this.cb.error(e);
      setChildren(this.body, h('div', { class: 'placeholder error-text' }, `The snapshot could not be loaded: ${e instanceof ApiError ? e.describe() : String(e)}`));
    } finally {
      if (this.abort === abort) this.cb.busy(null);
    }
  }

  private renderBar() {
    const s = this.state!;
    const base = s.when ? Date.parse(s.when) : Date.now();
    // A moment at or after now is "now": the URL then follows the clock.
    const go = (ms: number) => this.cb.navigate({ when: ms >= Date.now() - 1000 ? '' : isoSeconds(new Date(ms)) });
    const error = h('span', { class: 'error-text field-error', 'data-testid': 'snapshot-when-error', role: 'alert' });
    const input = h('input', {
      type: 'text',
      name: 'when',
      class: 'time-input',
      'data-testid': 'snapshot-when',
      inputmode: 'numeric',
      spellcheck: 'false',
      autocomplete: 'off',
      placeholder: 'now (YYYY-MM-DD HH:MM:SS)',
      title: `the moment, 24-hour, ${shownZone(base)} (Unix seconds and RFC 3339 work too); Enter to show it`,
      value: s.when ? fmtTime(s.when) : '',
    }) as HTMLInputElement;
    const apply = () => {
      const v = input.value.trim();
      if (!v || v.toLowerCase() === 'now') return go(Date.now());
      const t = parseShown(v);
      if (!t) {
        input.classList.add('invalid');
        error.textContent = `“${v}” is not a time: type YYYY-MM-DD HH:MM:SS (24-hour, ${shownZone()})`;
        return;
      }
      go(t.getTime());
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') apply();
    });
    input.addEventListener('change', apply);
    const step = ([label, sec]: [string, number]) =>
      h(
        'button',
        { class: 'button small', 'data-step': String(sec), title: `${sec < 0 ? 'earlier' : 'later'} by ${label.slice(1)}`, disabled: sec > 0 && !s.when, onclick: () => go(base + sec * 1000) },
        label,
      );
    this.bar.replaceChildren(
      field(
        `moment (${shownZone(base)})`,
        ...STEPS.slice(0, 2).map(step),
        input,
        ...STEPS.slice(2).map(step),
        h('button', { class: `button small ${s.when ? '' : 'active'}`, 'data-step': 'now', title: 'the cluster now', onclick: () => go(Date.now()) }, 'now'),
      ),
      ...scopeFields(this.cb, s, snapshotKind(s), false),
      h('button', { class: 'button small', title: 'query again', onclick: () => this.load(s, true) }, '⟳'),
      h('span', { class: 'spacer' }),
      h(
        'a',
        {
          class: 'button small',
          'data-nav': '1',
          href: this.cb.href({ view: 'changes', end: s.when, zoom: null }),
          title: 'what changed in the look-back before this moment',
        },
        'what changed before',
      ),
      h(
        'a',
        { class: 'button small', 'data-nav': '1', href: this.cb.href({ view: 'timeline', end: s.when, zoom: null }), title: 'the timeline up to this moment' },
        'timeline to here',
      ),
      error,
    );
  }

  private renderTable() {
    const s = this.state!;
    const a = this.answer!;
    const kind = a.kind || snapshotKind(s);
    const allNs = a.namespace === null || a.namespace === '' || s.namespace === '_all';
    const nsColumn = allNs && a.rows.some((r) => r.namespace);
    const where = allNs ? 'any namespace' : a.namespace!;
    const when = `${fmtTime(a.at)} ${shownZone(Date.parse(a.at))}`;
    const atSeconds = unixOr(s.when || a.at);
    const plural = (n: number) => `${n} ${kind}${n === 1 ? '' : kind.endsWith('s') ? 'es' : 's'}`;
    const count = `${plural(a.rows.length)}${a.truncated ? ` of ${a.matched} (truncated: pick a namespace)` : ''}`;
    const unrecorded = !a.rows.length && this.oldest && Date.parse(a.at) < Date.parse(this.oldest);
    const head = h(
      'div',
      { class: 'view-head' },
      kindBadge(kind, true),
      h('h2', {}, `${allNs ? 'All namespaces' : a.namespace} at `, h('span', { 'data-testid': 'snapshot-at', 'data-at': a.at }, when), s.when ? null : h('span', { class: 'badge live-badge' }, 'now')),
      h('span', { class: `muted ${a.truncated ? 'error-text' : ''}`, 'data-testid': 'snapshot-count' }, count),
      this.unreadable ? h('span', { class: 'error-text', 'data-testid': 'snapshot-unreadable' }, `when=${this.unreadable} is not a time (RFC 3339 or Unix seconds): this is the cluster now.`) : null,
    );
    if (!a.rows.length) {
      const why = unrecorded
        ? `Nothing is known of ${where} at ${when}: sloop's history starts at ${fmtTime(this.oldest)}. Try a later moment.`
        : `No ${kind} existed in ${where} at ${when}. Try another moment, namespace or kind.`;
      setChildren(this.body, head, h('div', { class: `placeholder ${unrecorded ? 'unrecorded' : ''}`, 'data-testid': 'snapshot-empty' }, why));
      return;
    }
    const columns = nsColumn ? ['NAMESPACE', ...a.columns] : a.columns;
    const link = (r: SnapshotRow) =>
      this.cb.href({
        res: { kind: r.kind, namespace: r.namespace, name: r.name },
        uid: r.uid,
        // The version the row was read from, exactly; without one (retention), the moment.
        at: atSeconds,
        bAt: r.version_time ?? '',
        aAt: '',
        a: '',
        b: '',
      });
    const rows = a.rows.map((r) => {
      const href = link(r);
      const cells = nsColumn ? [r.namespace, ...r.cells] : r.cells;
      return h(
        'tr',
        { 'data-namespace': r.namespace, 'data-name': r.name, 'data-uid': r.uid, 'data-version-time': r.version_time ?? '' },
        cells.map((c, i) => {
          const col = columns[i];
          if (col === 'NAME') return h('td', { class: 'name' }, h('a', { href, 'data-nav': '1', title: `${r.kind} ${r.name} as it was at ${when}` }, c));
          return h('td', { class: `${/^(RESTARTS|READY|DESIRED|CURRENT|UP-TO-DATE|AVAILABLE|COMPLETIONS|AGE)$/.test(col) ? 'num' : ''} ${col === 'STATUS' && TROUBLE.test(c) ? 'trouble' : ''}` }, c);
        }),
      );
    });
    const table = h(
      'table',
      { class: 'grid snapshot-table', 'data-testid': 'snapshot-table' },
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, c)))),
      h('tbody', {}, rows),
    );
    // A click anywhere on a row follows its link (the name is the link itself).
    table.addEventListener('click', (e) => {
      const t = e.target as Element;
      if (t.closest('a') || window.getSelection()?.toString()) return;
      t.closest('tr')?.querySelector<HTMLAnchorElement>('a[href]')?.click();
    });
    setChildren(this.body, head, h('div', { class: 'panel scroll-x' }, table));
  }
}
