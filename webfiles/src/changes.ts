// What changed: the first screen of an incident review. For the timeline's window (end, lookback,
// or its zoom when zoomed) and its namespace/kind, /api/v1/changes' counts, then the changes grouped
// by the top of their owner chain (a Deployment with its ReplicaSets' and Pods' changes under it;
// objects nobody owns on their own), newest first. Each line says what changed and when, and
// links to that object's diff between the two versions the server names (a_at/b_at).

import { ApiError, getJson, type Change, type ChangeType, type ChangesAnswer } from './api';
import { fmtTime, h, isoSeconds, setChildren } from './dom';
import { LOOKBACKS, durationSeconds, timeNs, type ViewState } from './state';
import { field, scopeFields, select, shownZone, unixOr, kindBadge, type ViewCallbacks } from './viewbar';

/** Each kind of change: its badge, and how its count reads. */
const CHANGE_KINDS: { type: ChangeType; badge: string; label: string }[] = [
  { type: 'added', badge: '+ added', label: 'added' },
  { type: 'deleted', badge: '✕ deleted', label: 'deleted' },
  { type: 'changed', badge: '~ changed', label: 'changed' },
  { type: 'rollout_started', badge: '▶ rollout', label: 'rollouts started' },
  { type: 'rollout_finished', badge: '✓ rolled out', label: 'rollouts finished' },
  { type: 'warnings', badge: '⚠ warnings', label: 'warning bursts' },
];

interface Group {
  /** The owner's uid, or the object's own when nobody owns it. */
  id: string;
  head: { kind: string; namespace: string; name: string; uid: string };
  changes: Change[];
  newest: string;
}

/** Groups changes by the top of their owner chain; groups and their lines newest first. */
export function groupChanges(changes: Change[]): Group[] {
  const groups = new Map<string, Group>();
  for (const c of changes) {
    const top = c.owner ?? { kind: c.kind, name: c.name, uid: c.uid };
    const id = top.uid || `${top.kind}/${c.namespace}/${top.name}`;
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { id, head: { kind: top.kind, namespace: c.namespace, name: top.name, uid: top.uid }, changes: [], newest: c.at }));
    g.changes.push(c);
  }
  const newer = (a: string, b: string) => {
    const [x, y] = [timeNs(a), timeNs(b)];
    return y > x ? 1 : y < x ? -1 : 0;
  };
  for (const g of groups.values()) {
    g.changes.sort((x, y) => newer(x.at, y.at));
    g.newest = g.changes[0].at;
  }
  return [...groups.values()].sort((x, y) => newer(x.newest, y.newest));
}

export class ChangesView {
  readonly el = h('div', { class: 'view changes', 'data-testid': 'changes-view' });
  private bar = h('div', { class: 'toolbar', 'data-testid': 'changes-bar' });
  private body = h('div', { class: 'view-body' });
  private state: ViewState | null = null;
  private loadedKey = '';
  private answer: ChangesAnswer | null = null;
  private abort: AbortController | null = null;

  constructor(private cb: ViewCallbacks) {
    this.el.append(this.bar, this.body);
  }

  show(s: ViewState) {
    this.state = s;
    this.renderBar();
    this.load(s);
  }

  listsChanged() {
    if (this.state && this.el.isConnected) this.renderBar();
  }

  /** The timeline's visible window: its zoom when zoomed, else end and lookback. */
  private params(s: ViewState): Record<string, string | number> {
    const p: Record<string, string | number> = {};
    if (s.zoom) {
      p.from = isoSeconds(new Date(s.zoom[0] * 1000));
      p.to = isoSeconds(new Date(s.zoom[1] * 1000));
    } else {
      p.lookback = s.lookback;
      if (s.end) p.to = s.end;
    }
    if (s.namespace && s.namespace !== '_all') p.namespace = s.namespace;
    if (s.kind && s.kind !== '_all') p.kind = s.kind;
    p.limit = 2000;
    return p;
  }

  private async load(s: ViewState, force = false) {
    const params = this.params(s);
    const key = JSON.stringify(params);
    // A window ending now moves with the clock: ask again; a fixed one's answer does not change.
    if (!force && (s.end || s.zoom) && key === this.loadedKey && this.answer) return this.render();
    this.abort?.abort();
    const abort = (this.abort = new AbortController());
    this.cb.busy(`Loading what changed (${s.zoom ? 'the zoomed window' : s.lookback + (s.end ? ' to ' + fmtTime(s.end) : ' to now')})…`);
    try {
      this.answer = await getJson<ChangesAnswer>('changes', params, { signal: abort.signal });
      this.loadedKey = key;
      this.cb.hideError();
      // The exact window answered, for links and tests (the bar shows it to the second).
      this.el.dataset.start = this.answer.start;
      this.el.dataset.end = this.answer.end;
      this.render();
    } catch (e) {
      if ((e as Error).name === 'AbortError') return;
      this.answer = null;
      this.loadedKey = '';
      this.cb.error(e);
      setChildren(this.body, h('div', { class: 'placeholder error-text' }, `What changed could not be loaded: ${e instanceof ApiError ? e.describe() : String(e)}`));
    } finally {
      if (this.abort === abort) this.cb.busy(null);
    }
  }

  private renderBar() {
    const s = this.state!;
    const shift = (dir: number) => {
      const span = s.zoom ? s.zoom[1] - s.zoom[0] : durationSeconds(s.lookback) || 3600;
      const end = s.zoom ? s.zoom[1] * 1000 : s.end ? Date.parse(s.end) : Date.now();
      const next = new Date(end + (dir * span * 1000) / 2);
      // A zoomed window moves as a window of its own size (the timeline keeps a zoom inside its
      // window, so moving the zoom alone would leave the timeline behind).
      const size = s.zoom ? { lookback: `${Math.round(span)}s` } : {};
      this.cb.navigate({ ...size, end: next.getTime() >= Date.now() ? '' : isoSeconds(next), zoom: null });
    };
    const a = this.answer;
    const win = a ? `${fmtTime(a.start)} → ${fmtTime(a.end)} ${shownZone(Date.parse(a.end))}` : '';
    this.bar.replaceChildren(
      field(
        'window',
        h('button', { class: 'button small', title: 'earlier by half the window', onclick: () => shift(-1) }, '◀'),
        s.zoom
          ? h('span', { class: 'zoomed', title: 'the timeline is zoomed: this is its visible window' }, 'zoomed ', h('button', { class: 'button small', title: "the timeline's whole window", onclick: () => this.cb.navigate({ zoom: null }) }, 'whole window'))
          : select('lookback', s.lookback, LOOKBACKS.map(([v, l]) => [v, `last ${l}`] as [string, string]), (v) => this.cb.navigate({ lookback: v, zoom: null })),
        h('span', { class: 'window muted', 'data-testid': 'changes-window' }, win, s.end || s.zoom ? '' : ' (now)'),
        h('button', { class: 'button small', title: 'later by half the window', disabled: !s.end && !s.zoom, onclick: () => shift(1) }, '▶'),
        s.end || s.zoom ? h('button', { class: 'button small', title: 'a window ending now', onclick: () => this.cb.navigate({ end: '', zoom: null }) }, 'to now') : null,
      ),
      ...scopeFields(this.cb, s, s.kind, true),
      h('button', { class: 'button small', title: 'query again', onclick: () => this.load(s, true) }, '⟳'),
      h('span', { class: 'spacer' }),
      h(
        'a',
        {
          class: 'button small',
          'data-nav': '1',
          href: this.cb.href({ view: 'snapshot', when: a && (s.end || s.zoom) ? isoSeconds(new Date(a.end)) : '' }),
          title: 'time travel: the cluster as it was at the end of this window',
        },
        'cluster at the end',
      ),
    );
  }

  private render() {
    this.renderBar();
    const s = this.state!;
    const a = this.answer!;
    const counts = h(
      'div',
      { class: 'change-counts', 'data-testid': 'change-counts' },
      CHANGE_KINDS.map((k) =>
        h('span', { class: `count-chip c-${k.type} ${a.counts?.[k.type] ? '' : 'zero'}`, 'data-change': k.type, 'data-count': String(a.counts?.[k.type] ?? 0) }, h('b', {}, String(a.counts?.[k.type] ?? 0)), ` ${k.label}`),
      ),
      a.truncated ? h('span', { class: 'error-text', 'data-testid': 'changes-truncated' }, `showing ${a.changes.length} of ${a.matched}: narrow the window, namespace or kind`) : null,
    );
    const where = s.namespace && s.namespace !== '_all' ? `in ${s.namespace}` : 'in all namespaces';
    if (!a.changes.length) {
      setChildren(this.body, counts, h('div', { class: 'placeholder', 'data-testid': 'changes-empty' }, `Nothing changed ${where}${s.kind !== '_all' ? ` among ${s.kind}s` : ''} from ${fmtTime(a.start)} to ${fmtTime(a.end)}. Widen the window or clear the filters.`));
      return;
    }
    const groups = groupChanges(a.changes);
    const list = h(
      'div',
      { class: 'change-list', 'data-testid': 'change-list' },
      groups.map((g) => {
        const single = g.changes.every((c) => c.uid === g.head.uid) && !g.changes.some((c) => c.owner);
        const lines = h('ul', { class: 'change-lines' }, g.changes.map((c) => this.line(c, !single)));
        if (single) return h('section', { class: 'change-group single', 'data-group': g.id }, lines);
        const objects = new Set(g.changes.map((c) => c.uid)).size;
        return h(
          'section',
          { class: 'change-group', 'data-group': g.id, 'data-owner-kind': g.head.kind, 'data-owner-name': g.head.name },
          h(
            'div',
            { class: 'group-head' },
            kindBadge(g.head.kind),
            h(
              'a',
              { class: 'name', 'data-nav': '1', href: this.cb.href({ res: { kind: g.head.kind, namespace: g.head.namespace, name: g.head.name }, uid: g.head.uid, at: 0, a: '', b: '', aAt: '', bAt: '' }) },
              g.head.name,
            ),
            g.head.namespace ? h('span', { class: 'ns' }, g.head.namespace) : null,
            h('span', { class: 'muted' }, `${g.changes.length} change${g.changes.length === 1 ? '' : 's'} to ${objects} object${objects === 1 ? '' : 's'}, last ${fmtTime(g.newest)}`),
          ),
          lines,
        );
      }),
    );
    setChildren(this.body, counts, list);
  }

  private line(c: Change, owned: boolean): HTMLElement {
    const k = CHANGE_KINDS.find((x) => x.type === c.change);
    const href = this.cb.href({
      res: { kind: c.kind, namespace: c.namespace, name: c.name },
      uid: c.uid,
      at: unixOr(c.at),
      a: '',
      b: '',
      // The two versions the server compared; an added object's first version stands alone.
      aAt: c.from_time ?? '',
      bAt: c.to_time ?? '',
    });
    const fields = c.change === 'changed' || c.change === 'rollout_started' ? c.fields : [];
    return h(
      'li',
      {},
      h(
        'a',
        {
          class: `change-line ch-${c.change}`,
          href,
          'data-nav': '1',
          'data-change': c.change,
          'data-at': c.at,
          'data-kind': c.kind,
          'data-namespace': c.namespace,
          'data-name': c.name,
          'data-uid': c.uid,
          'data-from': c.from_time ?? '',
          'data-to': c.to_time ?? '',
          title: c.from_time && c.to_time ? `the diff of ${c.name} from ${fmtTime(c.from_time)} to ${fmtTime(c.to_time)}` : `${c.name} at ${fmtTime(c.at)}`,
        },
        h('span', { class: `change-badge c-${c.change}` }, k?.badge ?? c.change),
        kindBadge(c.kind),
        h('span', { class: 'name' }, !owned && c.namespace ? h('span', { class: 'ns' }, `${c.namespace}/`) : null, c.name),
        h('span', { class: 'detail' }, c.change === 'warnings' && c.count && c.reason ? h('b', {}, `${c.count}× ${c.reason}`) : null, c.change === 'warnings' && c.count && c.reason ? detailRest(c.detail, c.count, c.reason) : c.detail),
        fields.length ? h('span', { class: 'fields muted', title: fields.join('\n') }, fields.slice(0, 3).join(', ') + (fields.length > 3 ? ` +${fields.length - 3}` : '')) : null,
        h('span', { class: 'when muted' }, fmtTime(c.at)),
      ),
    );
  }
}

/** A warning burst's detail ("12× BackOff: message") without the count and reason shown bold. */
function detailRest(detail: string, count: number, reason: string): string {
  const lead = `${count}× ${reason}`;
  return detail.startsWith(lead) ? detail.slice(lead.length) : `: ${detail}`;
}
