// The page: a header with search, the filter bar and the timeline, or the resource view. The
// URL's query string is the single source of truth (state.ts); every control changes the URL and
// the page follows it, so back/forward and shared links reproduce a view.

import './style.css';
import { ApiError, getJson, getTimeline, loadConfig, onPartialAnswer, rootPath, type FoundResource, type TimelineAnswer, type TimelineRow, type UiConfig } from './api';
import { fmtBytes, fmtClock, fmtTime, h, isoSeconds, parseZoned, plural, setChildren, setTimeZone, toUnix, zoneLabel } from './dom';
import { badgeStyle } from './palette';
import { ChangesView } from './changes';
import { ResourceView } from './resource';
import { SnapshotView } from './snapshot';
import { LOOKBACKS, SORTS, durationSeconds, formatState, isSloopLink, parseState, type Defaults, type ViewState } from './state';
import { TimelineView, kindColour, type Unrecorded } from './timeline';
import { buildForest, flatten, type TreeNode } from './tree';

/** /api/v1/gaps (CONTRACT.md): what the store did not record in a window. */
interface GapsAnswer {
  start: string;
  end: string;
  recording_since: string | null;
  gaps: { start: string; end: string | null; scope: string; kind: string | null; group: string | null; reason: string }[];
}

/** How often the live view (no `end`) asks again. */
const LIVE_PERIOD_MS = 5000;

class App {
  private state!: ViewState;
  private defaults!: Defaults;
  private busyEl = h('div', { class: 'busy', role: 'status', 'aria-live': 'polite', 'data-testid': 'busy' });
  private errorEl = h('div', { class: 'error-banner', role: 'alert', 'data-testid': 'error' });
  private partialEl = h('div', { class: 'error-banner partial', role: 'status', 'data-testid': 'partial' });
  private main = h('main');
  private toolbar = h('div', { class: 'toolbar', 'data-testid': 'filters' });
  private legend = h('div', { class: 'legend' });
  private timeline: TimelineView;
  private resource: ResourceView;
  private timelineBox: HTMLElement;
  private loadedKey = '';
  private answer: TimelineAnswer | null = null;
  private forest: TreeNode[] = [];
  private timelineAbort: AbortController | null = null;
  /** The timeline query in flight, and what the busy bar says about it. */
  private timelineQuery: { key: string; abort: AbortController; pending: Promise<TimelineAnswer> } | null = null;
  private timelineWhat = 'Loading the timeline';
  private namespaces: string[] = [];
  private kinds: string[] = [];
  private listsKey = '';
  private changes: ChangesView;
  private snapshot: SnapshotView;
  private tabs = h('nav', { class: 'view-tabs', 'aria-label': 'views', 'data-testid': 'view-tabs' });

  /** Live mode: why it is paused (empty: following the clock), when it last refreshed. */
  private liveEl = h('span', { class: 'live', 'data-testid': 'live', role: 'status' });
  private hovering = false;
  private liveBusy = false;
  private liveAt = 0;
  /** How long the last live refresh took (ms): refreshes take at most a tenth of the time. */
  private liveCost = 0;
  private gapsKey = '';
  private suggestEl = h('div', { class: 'suggest', 'data-testid': 'suggest' });
  private suggestKey = '';
  constructor(private config: UiConfig) {
    const body = document.body.dataset;
    const templ = (v: string | undefined) => (v && !v.includes('{{') ? v : '');
    this.defaults = {
      namespace: config.defaults.namespace || templ(body.defaultNamespace) || '_all',
      kind: config.defaults.kind || templ(body.defaultKind) || '_all',
      lookback: config.defaults.lookback || templ(body.defaultLookback) || '1h',
    };
    this.state = parseState(location.search, this.defaults);
    // A Sloop link (bookmark, runbook) opens the same view, under this UI's own parameters.
    if (isSloopLink(location.search)) {
      history.replaceState(null, '', location.pathname + formatState(this.state, this.defaults) + location.hash);
    }
    setTimeZone(this.state.tz);
    // The page's timeline is asked for now: the server works on it while the views are built.
    if (!this.state.res && this.state.view === 'timeline') this.startTimeline(this.timelineParams(this.state));
    this.timeline = new TimelineView({
      open: (row, at) => this.openRow(row, at),
      href: (row, at) => this.href(this.rowPatch(row, at)),
      hover: (on) => {
        this.hovering = on;
        this.updateLive();
        if (!on) this.liveTick();
      },
      toggleFold: (id) => this.toggleFold(id),
      zoomed: (domain) => this.navigate({ zoom: domain }, false),
    });
    this.resource = new ResourceView(config, {
      navigate: (p, push) => this.navigate(p, push),
      href: (p) => this.href(p),
      busy: (m) => this.busy(m),
      error: (e) => this.showError(e),
    });
    const views = {
      navigate: (p: Partial<ViewState>, push?: boolean) => this.navigate(p, push),
      href: (p: Partial<ViewState>) => this.href(p),
      busy: (m: string | null) => this.busy(m),
      error: (e: unknown) => this.showError(e),
      hideError: () => this.hideError(),
      lists: () => ({ namespaces: this.namespaces, kinds: this.kinds }),
    };
    this.changes = new ChangesView(views);
    this.snapshot = new SnapshotView(views);
    // A click on the time axis (not a drag: d3-zoom swallows those) shows the cluster then.
    const axisHint = document.createElementNS('http://www.w3.org/2000/svg', 'title');
    axisHint.textContent = 'Click: the cluster at this moment (time travel). Wheel: zoom.';
    this.timeline.el.querySelector('.tl-axis')?.appendChild(axisHint);
    this.timeline.el.addEventListener('click', (e) => {
      const t = this.timeline.axisTime(e);
      if (t === null || e.defaultPrevented) return;
      this.navigate({ view: 'snapshot', when: t * 1000 >= Date.now() ? '' : isoSeconds(new Date(t * 1000)) });
    });
    this.timelineBox = h('div', { class: 'timeline-box' }, this.toolbar, this.legend, this.suggestEl, this.timeline.el);

    const context = config.display_context || templ(body.context) || rootPath().replace(/\//g, '');
    const app = document.getElementById('app')!;
    app.replaceChildren(
      h(
        'header',
        {},
        h('a', { class: 'logo', href: this.href({ res: null, uid: '', at: 0, a: '', b: '' }), 'data-nav': '1' }, 'sloop'),
        this.clusterPicker(config, context),
        this.tabs,
        new SearchBox(
          (r) => this.navigate(this.resPatch(r), true),
          (r) => this.href(this.resPatch(r)),
          (e) => this.showError(e),
          () => this.windowParams(this.state),
        ).el,
        h('span', { class: 'spacer' }),
        this.zoneSelect(),
        (config.left_bar_links || []).map((l) => h('a', { class: 'ext', href: l.url ?? '', target: '_blank', rel: 'noopener' }, l.text)),
      ),
      this.busyEl,
      this.errorEl,
      this.partialEl,
      this.main,
    );
    document.addEventListener('click', (e) => {
      const a = (e.target as Element).closest?.('a[data-nav]') as HTMLAnchorElement | null;
      if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
      e.preventDefault();
      history.pushState(null, '', a.href);
      this.route();
    });
    window.addEventListener('popstate', () => this.route());
    window.setInterval(() => this.liveTick(), LIVE_PERIOD_MS);
    document.addEventListener('visibilitychange', () => {
      this.updateLive();
      this.liveTick();
    });
  }

  private resPatch(r: { kind: string; namespace: string; name: string; uid: string }): Partial<ViewState> {
    return { res: { kind: r.kind, namespace: r.namespace, name: r.name }, uid: r.uid, at: 0, a: '', b: '' };
  }

  private rowPatch(row: TimelineRow, at: number | null): Partial<ViewState> {
    return { ...this.resPatch(row), at: at ?? 0 };
  }

  /** The cluster's name; in a gateway (several clusters, each at /<name>/), a menu that opens
   * the same view of another cluster (without the resource open here, which is this one's). */
  private clusterPicker(config: UiConfig, context: string): HTMLElement {
    const clusters = config.clusters ?? [];
    if (clusters.length < 2) return h('span', { class: 'context', title: 'cluster context' }, context);
    const current = config.cluster ?? context;
    return h(
      'select',
      {
        class: 'context',
        'data-testid': 'cluster',
        'aria-label': 'cluster',
        title: 'The cluster shown: this sloop serves several',
        onchange: (e: Event) => {
          const name = (e.target as HTMLSelectElement).value;
          const base = rootPath().replace(/\/$/, '');
          const here = this.href({ res: null, uid: '', at: 0, a: '', b: '' });
          location.assign(base.replace(/[^/]*$/, encodeURIComponent(name)) + here.slice(base.length));
        },
      },
      clusters.map((c) => h('option', { value: c, selected: c === current }, c)),
    );
  }

  /** The zone every time is shown in: the user's choice, kept in the URL (tz). */
  private zoneSelect(): HTMLElement {
    const sel = h(
      'select',
      {
        class: 'tz',
        'data-testid': 'tz',
        'aria-label': 'time zone of the times shown',
        title: 'Show and type times in UTC or in the browser\'s time zone',
        onchange: (e: Event) => this.navigate({ tz: (e.target as HTMLSelectElement).value as 'utc' | 'local' }, false),
      },
      h('option', { value: 'local' }, 'local time'),
      h('option', { value: 'utc' }, 'UTC'),
    ) as HTMLSelectElement;
    this.zoneEl = sel;
    return sel;
  }
  private zoneEl: HTMLSelectElement | null = null;
  href(patch: Partial<ViewState>): string {
    const s = { ...this.state, ...patch };
    return rootPath().replace(/\/$/, '') + formatState(s, this.defaults) || rootPath();
  }

  navigate(patch: Partial<ViewState>, push = true) {
    const url = this.href(patch);
    if (push) history.pushState(null, '', url);
    else history.replaceState(null, '', url);
    this.route();
  }

  route() {
    this.state = parseState(location.search, this.defaults);
    setTimeZone(this.state.tz);
    if (this.zoneEl) this.zoneEl.value = this.state.tz;
    // A moment given as Unix seconds or without a zone is kept as RFC 3339, as the page writes it.
    const rawWhen = new URLSearchParams(location.search).get('when');
    if (!this.state.res && this.state.view === 'snapshot' && rawWhen !== (this.state.when || null)) {
      history.replaceState(null, '', this.href({}) + location.hash);
    }
    // An unreadable moment is not quietly taken for now: the view says which one it shows.
    this.snapshot.unreadable = !this.state.res && rawWhen && !this.state.when ? rawWhen : '';
    this.renderTabs();
    const other = this.state.res ? this.resource : this.state.view === 'changes' ? this.changes : this.state.view === 'snapshot' ? this.snapshot : null;
    if (other) {
      this.timeline.el.querySelector<HTMLElement>('.tl-tooltip')!.style.display = 'none';
      if (this.main.firstChild !== other.el) this.main.replaceChildren(other.el);
    }
    if (this.state.res) {
      document.title = `${this.state.res.name} · sloop`;
      this.resource.show(this.state);
    } else if (other === this.changes || other === this.snapshot) {
      document.title = `${other === this.changes ? 'What changed' : 'Time travel'} · sloop`;
      this.loadLists(this.state);
      other.show(this.state);
    } else {
      if (this.main.firstChild !== this.timelineBox) this.main.replaceChildren(this.timelineBox);
      document.title = 'sloop';
      this.showTimeline();
    }
  }

  /** Timeline, what changed and time travel: each keeps the namespace, kind and window. */
  private renderTabs() {
    const s = this.state;
    const none = { res: null, uid: '', at: 0, a: '', b: '', aAt: '', bAt: '' };
    // Time travel from the timeline starts at the end of what it shows.
    const end = s.zoom ? s.zoom[1] * 1000 : s.end ? Date.parse(s.end) : NaN;
    const when = s.view === 'snapshot' ? s.when : Number.isFinite(end) && end < Date.now() ? isoSeconds(new Date(end)) : '';
    const tab = (view: ViewState['view'], label: string, title: string, patch: Partial<ViewState> = {}) =>
      h(
        'a',
        { class: `view-tab ${!s.res && s.view === view ? 'active' : ''}`, href: this.href({ ...none, view, ...patch }), 'data-nav': '1', 'data-view': view, title, 'aria-current': !s.res && s.view === view ? 'page' : null },
        label,
      );
    this.tabs.replaceChildren(
      tab('timeline', 'Timeline', 'every resource over the window'),
      tab('changes', 'What changed', 'what changed in the window, grouped by owner: the first screen of an incident review'),
      tab('snapshot', 'Time travel', 'the cluster as it was at a moment, like kubectl get -o wide', { when }),
    );
  }

  // ---- timeline ----

  private windowParams(s: ViewState): Record<string, string> {
    const p: Record<string, string> = { lookback: s.lookback };
    if (s.end) p.to = s.end;
    return p;
  }

  private timelineParams(s: ViewState): Record<string, string | number> {
    return {
      ...this.windowParams(s),
      namespace: s.namespace === '_all' ? '' : s.namespace,
      kind: s.kind === '_all' ? '' : s.kind,
      name_match: s.match,
      sort: s.sort,
      limit: 20000,
    };
  }

  /** Sends the timeline query, or returns the one in flight for the same parameters (the page's
   * first query goes out from the constructor, before the views are built). */
  private startTimeline(params: Record<string, string | number>): { key: string; abort: AbortController; pending: Promise<TimelineAnswer> } {
    const key = JSON.stringify(params);
    if (this.timelineQuery?.key === key) return this.timelineQuery;
    const abort = new AbortController();
    const pending = getTimeline(params, {
      signal: abort.signal,
      progress: (n) => this.busy(`${this.timelineWhat}… ${fmtBytes(n)} received`),
    });
    pending.catch(() => {}); // awaited by showTimeline; a failure before then is not unhandled
    return (this.timelineQuery = { key, abort, pending });
  }

  private async showTimeline() {
    const s = this.state;
    const params = this.timelineParams(s);
    const key = JSON.stringify(params);
    if (key === this.loadedKey && this.answer) {
      this.renderToolbar();
      this.drawTimeline(false);
      this.updateLive();
      return;
    }
    const started = performance.now();
    const what = (this.timelineWhat = `Loading the timeline (${s.lookback}${s.end ? ' to ' + fmtTime(s.end) : ' to now'})`);
    // The query goes out first: the server works on it while the page draws its toolbar.
    const query = this.startTimeline(params);
    if (this.timelineAbort && this.timelineAbort !== query.abort) this.timelineAbort.abort();
    const abort = (this.timelineAbort = query.abort);
    const pending = query.pending;
    this.renderToolbar();
    // The namespace and kind lists (for the toolbar's menus) are asked for once the rows are
    // drawn: while the timeline is being built they would only take the server's CPU from it.
    const first = !this.answer;
    if (!first) this.loadLists(s);
    this.busy(`${what}…`);
    const tick = window.setInterval(() => this.busy(`${what}… ${((performance.now() - started) / 1000).toFixed(0)} s`), 1000);
    try {
      const answer = await pending;
      this.answer = answer;
      this.loadedKey = key;
      this.liveAt = Date.now();
      this.hideError();
      this.drawTimeline(true);
      this.loadGaps(answer);
      this.updateLive();
      if (first) this.loadLists(s);
    } catch (e) {
      if (first) this.loadLists(s);
      if ((e as Error).name === 'AbortError') return;
      this.showError(e);
      this.timeline.setInfo(h('span', { class: 'error-text' }, 'The timeline could not be loaded.'));
    } finally {
      window.clearInterval(tick);
      if (this.timelineQuery?.abort === abort) this.timelineQuery = null;
      if (this.timelineAbort === abort) this.busy(null);
    }
  }

  /** Draws the answer. live: a refresh of the live view, which keeps the order of the rows already
   * shown (new ones come after their siblings) and the row at the top of the view in place. */
  private drawTimeline(fresh: boolean, live = false) {
    const a = this.answer!;
    const s = this.state;
    if (fresh || !this.forest.length || (this.forest as unknown as { _key?: string })._key !== `${s.group}|${s.sort}`) {
      let keep: Map<string, number> | undefined;
      if (live) {
        keep = new Map();
        flatten(this.forest, new Set()).forEach((r, i) => keep!.set(r.node.id, i));
      }
      this.forest = buildForest(a.rows, s.group, s.sort, keep);
      (this.forest as unknown as { _key?: string })._key = `${s.group}|${s.sort}`;
    }
    const rows = flatten(this.forest, new Set(s.fold));
    const win: [number, number] = [toUnix(a.from), toUnix(a.to)];
    this.timeline.setData(rows, win, s.zoom, s.nochange, live);
    const kinds = new Map<string, number>();
    for (const r of a.rows) kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + 1);
    this.legend.replaceChildren(
      ...[...kinds.entries()].sort().map(([k, n]) =>
        h('span', { class: 'legend-item' }, h('span', { class: 'swatch', style: `background:${kindColour(k)}` }), `${k} ${n}`),
      ),
      h('span', { class: 'legend-item' }, h('span', { class: 'swatch warning' }), 'Warning events'),
      h('span', { class: 'legend-item' }, h('span', { class: 'swatch normal' }), 'Normal events'),
      h('span', { class: 'legend-item' }, h('span', { class: 'swatch tick' }), 'changed'),
      h('span', { class: 'legend-item' }, h('span', { class: 'swatch unrecorded' }), 'existed, not recorded'),
      h('span', { class: 'legend-item' }, h('span', { class: 'swatch gap' }), 'not recorded'),
      h('span', { class: 'window', title: 'the window queried' }, `${fmtTime(a.from)} → ${fmtTime(a.to)} ${zoneLabel()}`),
    );
    this.timeline.setInfo(
      h(
        'span',
        { 'data-testid': 'row-count' },
        a.rows.length === 0
          ? 'No resources in this window. Widen the look-back or clear the filters.'
          : `${plural(a.rows.length, 'resource')}${a.truncated ? ` of ${a.matched} (truncated: narrow the filters)` : ''}`,
      ),
    );
    this.suggest(a);
  }

  // ---- an empty landing page ----

  /** Few or no rows in one namespace (the default one on a fresh start): say so and offer all
   * namespaces and the busiest ones, counted from one timeline query over all of them. */
  private async suggest(a: TimelineAnswer) {
    const s = this.state;
    // One namespace with few rows, or nothing at all; not when the user narrowed by kind or name.
    const few = a.rows.length < 5 && !s.match && s.kind === '_all';
    if (!few || (s.namespace === '_all' && a.rows.length > 0)) {
      this.suggestEl.classList.remove('on');
      this.suggestKey = '';
      return;
    }
    const key = JSON.stringify([this.windowParams(s), s.namespace, a.rows.length]);
    if (key === this.suggestKey) return;
    this.suggestKey = key;
    const here = s.namespace === '_all' ? 'any namespace' : `namespace “${s.namespace}”`;
    const lead = a.rows.length === 0 ? `Nothing was recorded in ${here} in this window.` : `Only ${plural(a.rows.length, 'resource')} in ${here} in this window.`;
    setChildren(this.suggestEl, h('span', {}, lead, ' Looking for others…'));
    this.suggestEl.classList.add('on');
    if (s.namespace === '_all') {
      const longer = ['3h', '24h', '168h'].filter((l) => durationSeconds(l) > durationSeconds(s.lookback));
      setChildren(this.suggestEl, h('span', {}, lead), longer.length ? [' Try a longer look-back: ', longer.map((l, i) => [i ? ', ' : '', h('a', { href: this.href({ lookback: l, zoom: null }), 'data-nav': '1' }, LOOKBACKS.find(([v]) => v === l)?.[1] ?? l)])] : null);
      return;
    }
    try {
      const all = await getTimeline({ ...this.windowParams(s), limit: 20000 });
      if (key !== this.suggestKey) return;
      const counts = new Map<string, number>();
      for (const r of all.rows) if (r.namespace && r.namespace !== s.namespace) counts.set(r.namespace, (counts.get(r.namespace) ?? 0) + 1);
      const busiest = [...counts.entries()].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])).slice(0, 5);
      setChildren(
        this.suggestEl,
        h('span', {}, lead),
        ' ',
        h('a', { class: 'button small', href: this.href({ namespace: '_all', fold: [], zoom: null }), 'data-nav': '1', 'data-testid': 'suggest-all' }, `all namespaces (${plural(all.rows.length, 'resource')}${all.truncated ? '+' : ''})`),
        busiest.length ? [h('span', { class: 'muted' }, ' busiest: '), busiest.map(([ns, n]) => h('a', { class: 'button small', href: this.href({ namespace: ns, fold: [], zoom: null }), 'data-nav': '1', 'data-namespace': ns, 'data-count': n }, `${ns} (${n})`))] : null,
      );
    } catch {
      // Counting failed: still offer all namespaces.
      if (key === this.suggestKey) setChildren(this.suggestEl, h('span', {}, lead), ' ', h('a', { class: 'button small', href: this.href({ namespace: '_all', fold: [], zoom: null }), 'data-nav': '1', 'data-testid': 'suggest-all' }, 'all namespaces'));
    }
  }

  // ---- recording gaps ----

  /** Asks /api/v1/gaps for the answer's window and shades what was not recorded. A server without
   * the route (404) shades nothing and says nothing. */
  private async loadGaps(a: TimelineAnswer) {
    const key = `${a.from}|${a.to}`;
    if (key === this.gapsKey) return;
    this.gapsKey = key;
    let g: GapsAnswer;
    try {
      g = await getJson<GapsAnswer>('gaps', { start_time: a.from, end_time: a.to });
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        this.timeline.setUnrecorded([]);
        return;
      }
      this.gapsKey = '';
      this.showError(e);
      return;
    }
    if (key !== this.gapsKey) return;
    const list: Unrecorded[] = [];
    const since = g.recording_since ? toUnix(g.recording_since) : NaN;
    const from = toUnix(g.start);
    if (!g.recording_since || since > from) {
      const end = g.recording_since ? since : toUnix(g.end);
      list.push({ start: -Infinity, end, kind: null, text: g.recording_since ? `not recorded: sloop's store begins at ${fmtTime(since)}` : 'not recorded: nothing is stored yet' });
    }
    // Watch gaps of several kinds over one stretch are separate entries: one shade per stretch
    // for the axis, each kind kept for the bars it hatches.
    for (const x of g.gaps || []) {
      const start = toUnix(x.start);
      const end = x.end ? toUnix(x.end) : Infinity;
      // Minutes, or seconds when the hole is short enough that minutes would say 09:10–09:10.
      const secs = !x.end || end - start < 600;
      const span = `${fmtClock(start, secs)}–${x.end ? fmtClock(end, secs) : 'now'}`;
      const text = x.scope === 'recorder' ? `not recorded: ${x.reason} ${span}` : `${x.kind ?? 'every kind'}: ${x.reason} (${span})`;
      list.push({ start, end, kind: x.scope === 'recorder' ? null : x.kind, text });
    }
    this.timeline.setUnrecorded(list);
  }

  // ---- live mode ----

  /** Why the live view is not following the clock now; '' when it is; null when the view has an
   * end (not live at all). */
  private livePause(): string | null {
    const s = this.state;
    if (s.res || s.end || s.view !== 'timeline') return null;
    if (document.visibilityState !== 'visible') return 'tab hidden';
    if (this.hovering) return 'pointer on the rows';
    if (s.zoom) return 'zoomed in: “fit” to resume';
    return '';
  }

  private updateLive() {
    const why = this.livePause();
    this.liveEl.dataset.state = why === null ? 'off' : why ? 'paused' : 'live';
    this.liveEl.dataset.updated = String(this.liveAt);
    if (why === null) {
      setChildren(this.liveEl);
      return;
    }
    const when = this.liveAt ? ` · ${fmtClock(new Date(this.liveAt), true)}` : '';
    setChildren(this.liveEl, why ? h('span', { title: `Live updates paused: ${why}` }, `❚❚ paused (${why})`) : h('span', { title: `Following the clock: asks again every ${LIVE_PERIOD_MS / 1000} s` }, `● live${when}`));
  }

  /** Every few seconds in live mode: the same query again, drawn without moving rows. */
  private async liveTick() {
    if (this.livePause() !== '' || this.liveBusy || !this.answer) return;
    // Every 5 s, or less often when a refresh is slow (a large window): at most a tenth of the time.
    if (Date.now() - this.liveAt < Math.max(LIVE_PERIOD_MS, this.liveCost * 10) - 500) return;
    const key = this.loadedKey;
    this.liveBusy = true;
    const began = performance.now();
    try {
      const answer = await getTimeline(JSON.parse(key));
      // The view changed meanwhile (filters, zoom, hover): drop this answer.
      if (key !== this.loadedKey || this.livePause() !== '') return;
      this.answer = answer;
      this.liveAt = Date.now();
      this.drawTimeline(true, true);
      this.loadGaps(answer);
      this.liveCost = performance.now() - began;
    } catch (e) {
      if ((e as Error).name !== 'AbortError') this.showError(e);
    } finally {
      this.liveBusy = false;
      this.updateLive();
    }
  }

  private toggleFold(id: string) {
    const fold = new Set(this.state.fold);
    if (fold.has(id)) fold.delete(id);
    else fold.add(id);
    const url = this.href({ fold: [...fold] });
    history.replaceState(null, '', url);
    this.state = parseState(location.search, this.defaults);
    this.timeline.setRows(flatten(this.forest, fold));
  }

  private openRow(row: TimelineRow, at: number | null) {
    this.navigate(this.rowPatch(row, at), true);
  }

  private async loadLists(s: ViewState) {
    const key = JSON.stringify(this.windowParams(s));
    if (key === this.listsKey) return;
    this.listsKey = key;
    try {
      const [ns, ks] = await Promise.all([
        getJson<{ namespaces: string[] }>('namespaces', this.windowParams(s)),
        getJson<{ kinds: string[] }>('kinds', this.windowParams(s)),
      ]);
      this.namespaces = ns.namespaces || [];
      this.kinds = ks.kinds || [];
      if (!this.state.res) this.renderToolbar();
      this.changes.listsChanged();
      this.snapshot.listsChanged();
    } catch (e) {
      this.listsKey = '';
      this.showError(e);
    }
  }

  private renderToolbar() {
    const s = this.state;
    // The end box shows and takes "YYYY-MM-DD HH:MM:SS" in the chosen zone, 24-hour whatever the
    // browser's locale (a datetime-local field would follow the locale: AM/PM in en-US).
    const endValue = fmtTime(s.end ? new Date(s.end) : this.answer ? new Date(this.answer.to) : new Date());
    const select = (name: string, value: string, options: [string, string][], onchange: (v: string) => void) => {
      if (!options.some(([v]) => v === value)) options = [[value, value], ...options];
      return h(
        'select',
        { name, 'data-testid': `filter-${name}`, onchange: (e: Event) => onchange((e.target as HTMLSelectElement).value) },
        options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)),
      );
    };
    const shift = (dir: number) => {
      const span = durationSeconds(s.lookback) || 3600;
      const end = s.end ? new Date(s.end).getTime() : Date.now();
      const next = new Date(end + (dir * span * 1000) / 2);
      // Back at (or within a few seconds of) now: live again, no `end` in the URL. ◀ taken from a
      // live view pinned the end to the moment of the click, so ▶ lands a little before now.
      const slack = Math.max(60, span * 0.02) * 1000;
      this.navigate({ end: next.getTime() >= Date.now() - slack ? '' : isoSeconds(next), zoom: null });
    };
    let matchTimer = 0;
    const match = h('input', {
      type: 'search',
      name: 'match',
      placeholder: 'name contains…',
      value: s.match,
      'data-testid': 'filter-match',
      oninput: (e: Event) => {
        window.clearTimeout(matchTimer);
        const v = (e.target as HTMLInputElement).value;
        matchTimer = window.setTimeout(() => this.navigate({ match: v.trim(), fold: [] }, false), 400);
      },
    }) as HTMLInputElement;
    const endInput = h('input', {
      type: 'text',
      name: 'end',
      value: endValue,
      disabled: !s.end,
      size: 19,
      inputmode: 'numeric',
      placeholder: 'YYYY-MM-DD HH:MM:SS',
      pattern: '\\d{4}-\\d{1,2}-\\d{1,2}[T ]+\\d{1,2}:\\d{2}(:\\d{2})?',
      'aria-label': `end of the window (${zoneLabel()}, 24-hour)`,
      title: `End of the window: YYYY-MM-DD HH:MM:SS, ${zoneLabel()}, 24-hour`,
      'data-testid': 'filter-end',
      onchange: (e: Event) => {
        const el = e.target as HTMLInputElement;
        const t = parseZoned(el.value);
        el.setCustomValidity(t ? '' : 'Write the time as YYYY-MM-DD HH:MM:SS');
        if (!t) {
          el.reportValidity();
          return;
        }
        this.navigate({ end: t.getTime() >= Date.now() ? '' : isoSeconds(t), zoom: null });
      },
    }) as HTMLInputElement;
    const nowBox = h('input', {
      type: 'checkbox',
      name: 'now',
      checked: !s.end,
      'data-testid': 'filter-now',
      onchange: (e: Event) => {
        if ((e.target as HTMLInputElement).checked) this.navigate({ end: '', zoom: null });
        else {
          const to = this.answer ? this.answer.to : isoSeconds(new Date());
          this.navigate({ end: isoSeconds(new Date(to)), zoom: null });
        }
      },
    });
    const field = (label: string, ...control: (Node | null)[]) => h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), ...control);
    const nsOptions: [string, string][] = [['_all', 'all namespaces'], ...this.namespaces.map((n) => [n, n] as [string, string])];
    const kindOptions: [string, string][] = [['_all', 'all kinds'], ...this.kinds.map((k) => [k, k] as [string, string])];
    const focused = document.activeElement as HTMLInputElement | null;
    const refocusMatch = focused && focused.name === 'match' && this.toolbar.contains(focused);
    this.toolbar.replaceChildren(
      field(`end (${zoneLabel()})`, h('button', { class: 'button small', title: 'earlier by half the look-back', 'aria-label': 'earlier by half the look-back', 'data-testid': 'shift-earlier', onclick: () => shift(-1) }, '◀'), endInput, h('label', { class: 'check' }, nowBox, ' now'), h('button', { class: 'button small', title: 'later by half the look-back', 'aria-label': 'later by half the look-back', 'data-testid': 'shift-later', onclick: () => shift(1) }, '▶')),
      field('look-back', select('lookback', s.lookback, LOOKBACKS.map(([v, l]) => [v, l] as [string, string]), (v) => this.navigate({ lookback: v, zoom: null }))),
      field('namespace', select('namespace', s.namespace, nsOptions, (v) => this.navigate({ namespace: v, fold: [] }))),
      field('kind', select('kind', s.kind, kindOptions, (v) => this.navigate({ kind: v, fold: [] }))),
      field('name', match),
      field('sort', select('sort', s.sort, SORTS.map(([v, l]) => [v, l] as [string, string]), (v) => this.navigate({ sort: v }))),
      h('label', { class: 'check', title: 'Nest Pods under their ReplicaSet, ReplicaSets under their Deployment, …' }, h('input', { type: 'checkbox', name: 'group', 'data-testid': 'filter-group', checked: s.group, onchange: (e: Event) => this.navigate({ group: (e.target as HTMLInputElement).checked, fold: [] }) }), ' group by owner'),
      h('label', { class: 'check', title: 'Also mark watch updates that changed nothing' }, h('input', { type: 'checkbox', name: 'nochange', checked: s.nochange, onchange: (e: Event) => this.navigate({ nochange: (e.target as HTMLInputElement).checked }, false) }), ' no-change ticks'),
      h(
        'span',
        { class: 'zoom-buttons' },
        h('button', { class: 'button small', title: 'zoom out (or wheel over the axis / Ctrl+wheel)', onclick: () => this.timeline.zoomBy(0.5) }, '−'),
        h('button', { class: 'button small', title: 'zoom in (or wheel over the axis / Ctrl+wheel); drag to pan', onclick: () => this.timeline.zoomBy(2) }, '+'),
        h('button', { class: 'button small', title: 'show the whole window', onclick: () => this.timeline.resetZoom() }, 'fit'),
        h('button', { class: 'button small', title: 'query again', 'aria-label': 'query again', onclick: () => { this.loadedKey = ''; this.listsKey = ''; this.gapsKey = ''; this.showTimeline(); } }, '⟳'),
      ),
      this.liveEl,
    );
    if (refocusMatch) {
      match.focus();
      match.setSelectionRange(match.value.length, match.value.length);
    }
  }

  // ---- status ----

  busy(message: string | null) {
    this.busyEl.textContent = message ?? '';
    this.busyEl.classList.toggle('on', !!message);
  }

  showError(e: unknown) {
    if ((e as Error)?.name === 'AbortError') return;
    const text = e instanceof ApiError ? e.describe() : String((e as Error)?.message ?? e);
    setChildren(this.errorEl,
      h('b', {}, 'The server could not answer: '),
      text,
      e instanceof ApiError && e.url ? h('span', { class: 'muted' }, ` — ${e.url}`) : null,
      h('button', { class: 'close', title: 'dismiss', onclick: () => this.hideError() }, '×'),
    );
    this.errorEl.classList.add('on');
  }

  /** An answer left out the records of damaged stored blocks: say so until dismissed. */
  showPartial(blocks: number, route: string) {
    setChildren(this.partialEl,
      h('b', {}, 'Part of the stored history could not be read: '),
      `${blocks} damaged block${blocks === 1 ? '' : 's'} skipped, so this view (${route}) leaves out the records ${blocks === 1 ? 'it' : 'they'} held. The server log names the files; restore them from a backup to get the records back.`,
      h('button', { class: 'close', title: 'dismiss', onclick: () => this.partialEl.classList.remove('on') }, '×'),
    );
    this.partialEl.classList.add('on');
  }

  hideError() {
    this.errorEl.classList.remove('on');
  }
}

/** Search by name across the whole retention, deleted resources included. */
class SearchBox {
  readonly el: HTMLElement;
  private input: HTMLInputElement;
  private list: HTMLElement;
  private results: FoundResource[] = [];
  private active = -1;
  private timer = 0;
  private abort: AbortController | null = null;

  constructor(
    private pick: (r: FoundResource) => void,
    private href: (r: FoundResource) => string,
    private error: (e: unknown) => void,
    /** The window shown: what the server searches beyond its own shards (an object store's). */
    private viewWindow: () => Record<string, string>,
  ) {
    this.input = h('input', {
      type: 'search',
      placeholder: 'Find a resource by name (all retention, deleted too)…',
      'aria-label': 'search resources by name',
      'data-testid': 'search',
      autocomplete: 'off',
    }) as HTMLInputElement;
    this.list = h('ul', { class: 'search-results', role: 'listbox', 'data-testid': 'search-results' });
    this.el = h('div', { class: 'search' }, this.input, this.list);
    // Results are links (open in a new tab, copy link); a plain click is routed in the page by the
    // document's handler of a[data-nav], and closes the list.
    this.list.addEventListener('click', (e) => {
      if ((e.target as Element).closest('a')) this.close();
    });
    this.input.addEventListener('input', () => {
      window.clearTimeout(this.timer);
      this.timer = window.setTimeout(() => this.run(), 250);
    });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        if (!this.results.length) return;
        this.active = (this.active + (e.key === 'ArrowDown' ? 1 : -1) + this.results.length) % this.results.length;
        this.draw();
      } else if (e.key === 'Enter') {
        window.clearTimeout(this.timer);
        if (this.results.length) this.choose(this.results[Math.max(0, this.active)]);
        else this.run(true);
      } else if (e.key === 'Escape') {
        this.close();
      }
    });
    document.addEventListener('click', (e) => {
      if (!this.el.contains(e.target as Node)) this.close();
    });
    this.input.addEventListener('focus', () => {
      if (this.results.length) this.list.classList.add('open');
    });
  }

  private async run(pickFirst = false) {
    const q = this.input.value.trim();
    this.abort?.abort();
    if (!q) {
      this.results = [];
      this.close();
      return;
    }
    const abort = (this.abort = new AbortController());
    this.list.replaceChildren(h('li', { class: 'muted' }, `Searching for “${q}”…`));
    this.list.classList.add('open');
    try {
      const ans = await getJson<{ resources: FoundResource[] }>('resources', { ...this.viewWindow(), search: q, limit: 50 }, {
        signal: abort.signal,
      });
      this.results = ans.resources || [];
      this.active = this.results.length ? 0 : -1;
      if (pickFirst && this.results.length) return this.choose(this.results[0]);
      this.draw(q);
    } catch (e) {
      if ((e as Error).name === 'AbortError') return;
      this.list.replaceChildren(h('li', { class: 'error-text' }, e instanceof ApiError ? e.describe() : String(e)));
      this.error(e);
    }
  }

  private draw(q = this.input.value.trim()) {
    if (!this.results.length) {
      this.list.replaceChildren(h('li', { class: 'muted' }, `Nothing named like “${q}” in the whole retention.`));
      return;
    }
    this.list.replaceChildren(
      ...this.results.map((r, i) =>
        h(
          'li',
          {
            class: `result ${i === this.active ? 'active' : ''} ${r.deleted ? 'deleted' : ''}`,
            role: 'option',
            'aria-selected': String(i === this.active),
            'data-kind': r.kind,
            'data-name': r.name,
            'data-uid': r.uid,
          },
          h(
            'a',
            { class: 'result-link', href: this.href(r), 'data-nav': '1', tabindex: -1 },
            h('span', { class: 'kind-badge', style: badgeStyle(r.kind) }, r.kind),
            h('span', { class: 'name' }, r.namespace ? h('span', { class: 'ns' }, `${r.namespace}/`) : null, r.name),
            r.deleted ? h('span', { class: 'badge deleted-badge' }, 'deleted') : null,
            h('span', { class: 'when muted' }, `${fmtTime(r.first_seen)} → ${fmtTime(r.last_seen)}`),
          ),
        ),
      ),
    );
    this.list.classList.add('open');
  }

  private choose(r: FoundResource) {
    this.close();
    this.pick(r);
  }

  private close() {
    this.list.classList.remove('open');
  }
}

async function start() {
  const config = await loadConfig();
  const app = new App(config);
  onPartialAnswer((blocks, route) => app.showPartial(blocks, route));
  app.route();
}

start();
