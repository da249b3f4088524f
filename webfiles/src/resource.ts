// The resource view: every stored version by time with its watch type and what changed, any two
// versions diffed (side by side, inline, or as a list of changed fields), the full payload of a
// version, the resource's Events, its configured links, its owners and the Node a pod ran on.

import {
  ApiError,
  getJson,
  getTimeline,
  type FoundResource,
  type TimelineAnswer,
  type TimelineRow,
  type EventRecord,
  type EventsAnswer,
  type ExpandedLink,
  type LinksAnswer,
  type HistoryAnswer,
  type UiConfig,
  type Version,
} from './api';
import { changedFields, denoise, renderLineDiff, shortValue, stableJson, type FieldChange } from './diff';
import { clear, fmtTime, h, isoSeconds, plural, setChildren, zoneLabel } from './dom';
import { badgeStyle } from './palette';
import { withVersionsAt, type ViewState } from './state';

export interface ResourceCallbacks {
  /** Moves to a new state; push=false replaces the history entry. */
  navigate(patch: Partial<ViewState>, push?: boolean): void;
  /** An href for a state, for real links (open in new tab works). */
  href(patch: Partial<ViewState>): string;
  busy(message: string | null): void;
  error(e: unknown): void;
}

interface Loaded {
  id: string;
  /** Every object that had this kind, namespace and name, oldest first (one per uid). */
  incarnations: FoundResource[];
  versions: Version[];
  events: EventRecord[];
  truncated: boolean;
  eventsTruncated: boolean;
  links: ExpandedLink[];
}

export class ResourceView {
  readonly el = h('div', { class: 'resource', 'data-testid': 'resource-view' });
  private loaded: Loaded | null = null;
  private abort: AbortController | null = null;
  private changesCache = new Map<string, FieldChange[]>();

  constructor(
    private config: UiConfig,
    private cb: ResourceCallbacks,
  ) {}

  async show(s: ViewState) {
    const res = s.res!;
    const id = `${res.kind}/${res.namespace}/${res.name}/${s.uid}`;
    if (!this.loaded || this.loaded.id !== id) {
      this.abort?.abort();
      const abort = (this.abort = new AbortController());
      this.loaded = null;
      this.changesCache.clear();
      clear(this.el);
      this.el.appendChild(h('div', { class: 'placeholder' }, `Loading the history of ${res.kind} ${res.namespace ? res.namespace + '/' : ''}${res.name}…`));
      this.cb.busy(`Loading versions of ${res.name}…`);
      try {
        // Identity is the uid: a name reused (a StatefulSet pod recreated, a Job run again) is
        // another object. The search lists every uid the name has had, with its lifetime.
        const incarnations = await this.incarnations(res, abort.signal);
        if (!s.uid && incarnations.length) {
          // A link without uid (a Node named in a pod, an old link): the object alive at the clicked
          // time, else the newest; written into the URL so that the view is one object.
          const at = s.at ? s.at * 1000 : NaN;
          const t = (v: string | null) => (v ? new Date(v).getTime() : NaN);
          const alive = incarnations.filter((r) => t(r.created ?? r.first_seen) <= at + 1000 && (!r.deleted || t(r.last_seen) >= at - 1000));
          const pick = alive.length ? alive[alive.length - 1] : incarnations[incarnations.length - 1];
          // An Event (known by name, its rows without uid) or an object without one: shown as is.
          if (pick.uid) {
            this.cb.navigate({ uid: pick.uid }, false);
            return;
          }
        }
        const hist = await getJson<HistoryAnswer>(
          'history',
          { kind: res.kind, namespace: res.namespace, name: res.name, uid: s.uid },
          { signal: abort.signal, progress: (n) => this.cb.busy(`Loading versions of ${res.name}… ${Math.round(n / 1024)} KiB`) },
        );
        const versions = hist.versions || [];
        let events: EventRecord[] = [];
        let eventsTruncated = false;
        if (versions.length) {
          this.cb.busy(`Loading events of ${res.name}…`);
          const from = new Date(new Date(versions[0].time).getTime() - 3600 * 1000);
          try {
            const ev = await getJson<EventsAnswer>(
              'events',
              { kind: res.kind, namespace: res.namespace, name: res.name, uid: s.uid, from: isoSeconds(from), to: isoSeconds(new Date(Date.now() + 60000)) },
              { signal: abort.signal },
            );
            // Only this object's Events: an Event names the uid it is about, and the name's
            // other objects (same kind, namespace and name) are other objects.
            events = (ev.events || []).filter((e) => !s.uid || !e.event?.involved?.uid || e.event.involved.uid === s.uid);
            eventsTruncated = ev.truncated;
          } catch (e) {
            if ((e as Error).name === 'AbortError') throw e;
            this.cb.error(e);
          }
        }
        // Resource links are Go templates expanded by the server (printf, urlquery, …).
        let links: ExpandedLink[] = [];
        if ((this.config.resource_links || []).length) {
          try {
            const uid = s.uid || (versions.length ? versions[versions.length - 1].uid || '' : '');
            links = (await getJson<LinksAnswer>('links', { kind: res.kind, namespace: res.namespace, name: res.name, uid }, { signal: abort.signal })).links || [];
          } catch (e) {
            if ((e as Error).name === 'AbortError') throw e;
            this.cb.error(e);
          }
        }
        this.loaded = { id, incarnations, versions, events, truncated: hist.truncated, eventsTruncated, links };
      } catch (e) {
        if ((e as Error).name === 'AbortError') return;
        clear(this.el);
        this.el.appendChild(this.header(s, []));
        this.el.appendChild(h('div', { class: 'placeholder error-text' }, `Could not load this resource: ${e instanceof ApiError ? e.describe() : String(e)}`));
        this.cb.error(e);
        return;
      } finally {
        if (this.abort === abort) this.cb.busy(null);
      }
    }
    this.render(s);
  }

  /** The objects that had this name, from the search (every uid, deleted ones too), oldest first. */
  private async incarnations(res: { kind: string; namespace: string; name: string }, signal: AbortSignal): Promise<FoundResource[]> {
    try {
      const ans = await getJson<{ resources: FoundResource[] }>('resources', { search: res.name, kind: res.kind, limit: 1000 }, { signal });
      const t = (r: FoundResource) => new Date(r.first_seen ?? r.created ?? 0).getTime();
      return (ans.resources || []).filter((r) => r.kind === res.kind && r.namespace === res.namespace && r.name === res.name).sort((a, b) => t(a) - t(b));
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      this.cb.error(e);
      return [];
    }
  }

  private render(s: ViewState) {
    // Opened on two versions by time (a line of "what changed"): A and B as if picked by key.
    s = withVersionsAt(s, this.loaded!.versions);
    const L = this.loaded!;
    clear(this.el);
    const versions = L.versions;
    this.el.appendChild(this.header(s, versions));
    if (L.incarnations.length > 1) this.el.appendChild(this.incarnationList(L.incarnations, s));
    if (!versions.length) {
      this.el.appendChild(h('div', { class: 'placeholder' }, 'No stored versions of this resource. It may be older than the retention, or the name may be misspelt: try the search box.'));
      return;
    }
    const idx = (key: string) => versions.findIndex((v) => v.key === key);
    const time = (i: number) => new Date(versions[i].time).getTime() / 1000;
    let bi = s.b ? idx(s.b) : -1;
    if (bi < 0 && s.at) {
      // Opened from a click on the timeline: the version in force at that moment; before the
      // first version (the bar's empty track, or the time it existed unrecorded), the first.
      // `at` is whole seconds (a change tick's second): the versions within that second count.
      bi = 0;
      for (let i = 0; i < versions.length; i++) if (time(i) < s.at + 1) bi = i;
    }
    let ai = s.a ? idx(s.a) : -1;
    if (bi < 0) {
      // By default the last real change: versions that differ from the one before in nothing but
      // noise (resyncs, no-change updates) are skipped.
      bi = versions.length - 1;
      while (bi > 0 && this.changes(versions, bi - 1, bi, s.noise).length === 0) bi--;
      if (bi === 0 && versions.length > 1 && ai < 0) bi = versions.length - 1;
    }
    if (ai < 0) ai = Math.max(0, bi - 1);

    this.el.appendChild(this.summary(versions, s));
    const table = this.versionTable(versions, ai, bi, s);
    this.el.appendChild(table);
    // The versions list scrolls: bring the selected B into it (the default is often near the end).
    const box = table.querySelector<HTMLElement>('.scroll-y');
    const selected = table.querySelector<HTMLElement>('tr.sel-b');
    if (box && selected && selected.offsetTop + selected.offsetHeight > box.clientHeight) box.scrollTop = selected.offsetTop - box.clientHeight / 2;
    this.el.appendChild(this.diffPanel(versions[ai], versions[bi], ai, bi, s));
    this.el.appendChild(this.payloadPanel(versions[bi], bi));
    this.el.appendChild(this.eventsPanel(L.events, L.eventsTruncated));
    const related = this.relatedPanel(s, versions);
    if (related) this.el.appendChild(related);
  }

  /** The objects that had this name, each a link; the one shown is marked. */
  private incarnationList(list: FoundResource[], s: ViewState): HTMLElement {
    const res = s.res!;
    return h(
      'nav',
      { class: 'panel incarnations', 'data-testid': 'incarnations', 'aria-label': 'objects that had this name' },
      h('h3', {}, `This name was used by ${plural(list.length, 'object')} (each its own uid)`),
      h(
        'ol',
        {},
        list.map((r) =>
          h(
            'li',
            { class: r.uid === s.uid ? 'current' : '', 'data-uid': r.uid },
            h(
              'a',
              { href: this.cb.href({ res, uid: r.uid, at: 0, a: '', b: '' }), 'data-nav': '1', 'aria-current': r.uid === s.uid ? 'page' : null },
              h('code', {}, r.uid),
            ),
            ' ',
            h('span', { class: 'muted' }, `created ${fmtTime(r.created)} · recorded ${fmtTime(r.first_seen)} → ${fmtTime(r.last_seen)}`),
            r.deleted ? h('span', { class: 'badge deleted-badge' }, 'deleted') : h('span', { class: 'badge alive-badge' }, 'alive'),
            r.uid === s.uid ? h('span', { class: 'muted' }, ' ← shown') : null,
          ),
        ),
      ),
    );
  }

  /** What the object owned over its life (a Deployment's ReplicaSets and their Pods, a Job's Pods)
   * or, for a Node, the Pods that ran on it: from the timeline over the object's lifetime, loaded
   * after the rest of the page. */
  private relatedPanel(s: ViewState, versions: Version[]): HTMLElement | null {
    const res = s.res!;
    // Pods and Events own nothing: no query.
    if (res.kind === 'Pod' || res.kind === 'Event') return null;
    const uid = s.uid || versions[versions.length - 1].uid;
    const isNode = res.kind === 'Node';
    const first = new Date(versions[0].time).getTime();
    const last = versions[versions.length - 1];
    const gone = last.watch_type.startsWith('DELETED');
    const to = gone ? new Date(new Date(last.time).getTime() + 60_000) : new Date();
    // A node's pods are found by reading each pod's stored spec (the timeline's node filter): over
    // the last day of the node's life at most, which the caption says.
    const from = new Date(Math.max(first - 60_000, isNode ? to.getTime() - 86400_000 : 0));
    const key = `${this.loaded!.id}|${isNode}`;
    const title = isNode ? 'Pods that ran on this node' : 'Owned over its life';
    const body = h('div', { class: 'related-body' }, h('span', { class: 'muted' }, 'Loading…'));
    // Shown at once for a Node; for others only once it has something to list.
    const panel = h('section', { class: 'panel related', 'data-testid': isNode ? 'node-pods' : 'owned', hidden: !isNode }, h('h3', {}, title), body);
    const fill = (rows: TimelineRow[] | Error) => {
      if (rows instanceof Error) {
        setChildren(body, h('span', { class: 'error-text' }, rows instanceof ApiError ? rows.describe() : rows.message));
        return;
      }
      if (isNode) {
        const pods = [...rows].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.name.localeCompare(b.name)));
        setChildren(body, pods.length ? [h('div', { class: 'caption' }, `${plural(pods.length, 'pod')} between ${fmtTime(from)} and ${fmtTime(to)} (${zoneLabel()})`), h('ul', { class: 'tree' }, pods.map((r) => this.relatedItem(r, [])))] : h('span', { class: 'muted' }, 'No pod is recorded on this node in its lifetime.'));
        return;
      }
      const byOwner = new Map<string, TimelineRow[]>();
      for (const r of rows) for (const o of r.owners || []) {
        const list = byOwner.get(o.uid) ?? [];
        list.push(r);
        byOwner.set(o.uid, list);
      }
      const seen = new Set<string>([uid]);
      const children = (u: string): HTMLElement[] =>
        (byOwner.get(u) || [])
          .filter((r) => !seen.has(r.uid) && (seen.add(r.uid), true))
          .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0))
          .map((r) => this.relatedItem(r, children(r.uid)));
      const items = children(uid);
      if (!items.length) {
        panel.remove();
        return;
      }
      setChildren(body, h('ul', { class: 'tree' }, items));
      panel.hidden = false;
    };
    const cached = this.relatedCache.get(key);
    if (cached) {
      fill(cached);
    } else {
      const params: Record<string, string | number> = { from: isoSeconds(from), to: isoSeconds(to), limit: 20000 };
      if (isNode) {
        params.kind = 'Pod';
        params.node = res.name;
      } else {
        if (res.namespace) params.namespace = res.namespace;
        // The workload controllers name what they make after themselves (web → web-7d9f8c →
        // web-7d9f8c-x2k4q, a CronJob's Jobs and their Pods): over a long life, ask only for those.
        if (['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'].includes(res.kind)) params.name_match = res.name;
      }
      getTimeline(params)
        .then((a) => a.rows || [])
        .catch((e: Error) => e)
        .then((r) => {
          if (this.relatedCache.size > 50) this.relatedCache.clear();
          this.relatedCache.set(key, r);
          if (this.loaded && `${this.loaded.id}|${isNode}` === key) fill(r);
        });
    }
    return panel;
  }
  private relatedCache = new Map<string, TimelineRow[] | Error>();

  private relatedItem(r: TimelineRow, children: HTMLElement[]): HTMLElement {
    return h(
      'li',
      { 'data-kind': r.kind, 'data-uid': r.uid, 'data-name': r.name },
      h('span', { class: 'kind-badge', style: badgeStyle(r.kind) }, r.kind),
      ' ',
      h('a', { href: this.cb.href({ res: { kind: r.kind, namespace: r.namespace, name: r.name }, uid: r.uid, at: 0, a: '', b: '' }), 'data-nav': '1' }, r.namespace && r.kind !== 'Pod' && r.kind !== 'ReplicaSet' ? `${r.namespace}/${r.name}` : r.name),
      ' ',
      h('span', { class: 'muted' }, `${fmtTime(r.created && r.created < r.start ? r.created : r.start)} → ${r.deleted ? fmtTime(r.end) : 'alive'}`),
      r.deleted ? h('span', { class: 'badge deleted-badge' }, 'deleted') : null,
      children.length ? h('ul', {}, children) : null,
    );
  }

  private header(s: ViewState, versions: Version[]): HTMLElement {
    const res = s.res!;
    const last = versions[versions.length - 1];
    const deleted = last && (last.watch_type === 'DELETED' || last.watch_type === 'DELETED_INFERRED');
    const links = (this.loaded?.links || []).map((l) => h('a', { class: 'button', href: l.url, target: '_blank', rel: 'noopener' }, l.text));
    const firstT = versions.length ? new Date(versions[0].time).getTime() / 1000 : 0;
    const lastT = versions.length ? new Date(last.time).getTime() / 1000 : 0;
    const span = Math.max(3600, (lastT - firstT) * 1.2);
    const lookback = pickLookback(span);
    return h(
      'div',
      { class: 'res-header' },
      h('a', { class: 'back', href: this.cb.href({ res: null, uid: '', at: 0, a: '', b: '' }), 'data-nav': '1' }, '← Timeline'),
      h('span', { class: 'kind-badge big', style: badgeStyle(res.kind) }, res.kind),
      h('h2', { 'data-testid': 'resource-title' }, res.namespace ? h('span', { class: 'ns' }, `${res.namespace}/`) : null, res.name),
      deleted ? h('span', { class: 'badge deleted-badge' }, 'deleted') : null,
      h('span', { class: 'spacer' }),
      versions.length
        ? h(
            'a',
            {
              class: 'button',
              'data-nav': '1',
              href: this.cb.href({
                res: null,
                uid: '',
                a: '',
                b: '',
                namespace: res.namespace || '_all',
                kind: '_all',
                match: res.name,
                lookback,
                end: deleted || lastT < Date.now() / 1000 - 3600 ? isoSeconds(new Date((lastT + 600) * 1000)) : '',
                zoom: null,
              }),
              title: 'The timeline around this resource, filtered to its name',
            },
            'Show on timeline',
          )
        : null,
      ...links,
    );
  }

  private summary(versions: Version[], s: ViewState): HTMLElement {
    const last = versions[versions.length - 1];
    const latest = lastObject(versions);
    const meta = (latest?.metadata ?? {}) as Record<string, any>;
    const spec = (latest?.spec ?? {}) as Record<string, any>;
    const status = (latest?.status ?? {}) as Record<string, any>;
    const uids = [...new Set(versions.map((v) => v.uid).filter(Boolean))];
    const owners: any[] = Array.isArray(meta.ownerReferences) ? meta.ownerReferences : [];
    const res = s.res!;
    const rows: [string, Node | string][] = [];
    rows.push(['uid', uids.length > 1 ? `${uids.length} uids: ${uids.join(', ')}` : h('code', { 'data-testid': 'uid' }, uids[0] || '—')]);
    rows.push(['created', fmtTime(meta.creationTimestamp ?? null)]);
    rows.push(['first stored', fmtTime(versions[0].time)]);
    rows.push([
      last.watch_type.startsWith('DELETED') ? 'deleted' : 'last stored',
      `${fmtTime(last.time)} (${last.watch_type})`,
    ]);
    if (status.phase) rows.push(['phase', String(status.phase)]);
    if (res.kind === 'Pod' && spec.nodeName) {
      rows.push([
        'node',
        h('a', { href: this.cb.href({ res: { kind: 'Node', namespace: '', name: spec.nodeName }, uid: '', at: 0, a: '', b: '' }), 'data-nav': '1', 'data-testid': 'node-link' }, spec.nodeName),
      ]);
    }
    if (owners.length) {
      rows.push([
        'owned by',
        h(
          'span',
          {},
          owners.map((o, i) => [
            i ? ', ' : '',
            h('a', { href: this.cb.href({ res: { kind: o.kind, namespace: res.namespace, name: o.name }, uid: o.uid || '', at: 0, a: '', b: '' }), 'data-nav': '1', class: 'owner-link' }, `${o.kind} ${o.name}`),
          ]),
        ),
      ]);
    }
    const labels = meta.labels && typeof meta.labels === 'object' ? Object.entries(meta.labels as Record<string, string>) : [];
    if (labels.length) rows.push(['labels', h('span', {}, labels.map(([k, v]) => h('code', { class: 'label' }, `${k}=${v}`)))]);
    return h(
      'section',
      { class: 'panel summary' },
      h('table', { class: 'kv' }, rows.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v)))),
    );
  }

  private changes(versions: Version[], i: number, j: number, keepNoise: boolean): FieldChange[] {
    const key = `${versions[i].key}|${versions[j].key}|${keepNoise}`;
    let c = this.changesCache.get(key);
    if (!c) {
      c = changedFields(denoise(versions[i].payload, keepNoise), denoise(versions[j].payload, keepNoise));
      this.changesCache.set(key, c);
    }
    return c;
  }

  private versionTable(versions: Version[], ai: number, bi: number, s: ViewState): HTMLElement {
    const uids = new Set(versions.map((v) => v.uid));
    const body = versions.map((v, i) => {
      const ch = i > 0 ? this.changes(versions, i - 1, i, s.noise) : null;
      const summary = ch === null ? 'first version' : ch.length === 0 ? 'no change' : `${plural(ch.length, 'field')}: ${ch.slice(0, 3).map((c) => c.path).join(', ')}${ch.length > 3 ? ', …' : ''}`;
      const tr = h(
        'tr',
        {
          class: `${i === bi ? 'sel-b' : ''} ${i === ai ? 'sel-a' : ''}`,
          'data-watch-type': v.watch_type,
          'data-key': v.key,
          'data-index': String(i),
          'data-changes': ch === null ? '' : String(ch.length),
          title: 'Click to diff this version with the one before it',
        },
        h('td', { class: 'num' }, String(i + 1)),
        h('td', { class: 'time' }, fmtTime(v.time)),
        h('td', {}, h('span', { class: `wt wt-${v.watch_type.toLowerCase()}` }, v.watch_type)),
        h('td', { class: 'rv' }, v.resource_version),
        uids.size > 1 ? h('td', { class: 'uid', title: v.uid }, v.uid.slice(0, 8)) : null,
        h('td', { class: 'changes' }, summary),
        h('td', { class: 'pick' }, h('input', { type: 'radio', name: 'ver-a', 'aria-label': `version ${i + 1} as A`, checked: i === ai, 'data-role': 'a' })),
        h('td', { class: 'pick' }, h('input', { type: 'radio', name: 'ver-b', 'aria-label': `version ${i + 1} as B`, checked: i === bi, 'data-role': 'b' })),
      );
      tr.addEventListener('click', (e) => {
        const t = e.target as HTMLInputElement;
        if (t.dataset.role === 'a') this.cb.navigate({ a: v.key, b: versions[bi].key }, false);
        else if (t.dataset.role === 'b') this.cb.navigate({ a: versions[ai].key, b: v.key }, false);
        else this.cb.navigate({ a: versions[Math.max(0, i - 1)].key, b: v.key }, false);
      });
      return tr;
    });
    const L = this.loaded!;
    return h(
      'section',
      { class: 'panel versions' },
      h('h3', {}, `${plural(versions.length, 'version')}${L.truncated ? ' (truncated)' : ''}`),
      h(
        'div',
        { class: 'scroll-y' },
        h(
          'table',
          { class: 'grid', 'data-testid': 'versions' },
          h(
            'thead',
            {},
            h('tr', {}, h('th', {}, '#'), h('th', {}, `time (${zoneLabel()})`), h('th', {}, 'watch'), h('th', {}, 'resourceVersion'), uids.size > 1 ? h('th', {}, 'uid') : null, h('th', {}, 'changed vs previous'), h('th', {}, 'A'), h('th', {}, 'B')),
          ),
          h('tbody', {}, body),
        ),
      ),
    );
  }

  private diffPanel(a: Version, b: Version, ai: number, bi: number, s: ViewState): HTMLElement {
    const mode = s.diff === 'inline' || s.diff === 'fields' ? s.diff : 'side';
    const tab = (m: string, label: string) =>
      h('button', { class: `tab ${mode === m ? 'active' : ''}`, 'data-mode': m, onclick: () => this.cb.navigate({ diff: m }, false) }, label);
    const da = denoise(a.payload, s.noise);
    const db = denoise(b.payload, s.noise);
    const changes = this.changes(this.loaded!.versions, ai, bi, s.noise);
    const fields = h(
      'table',
      { class: 'fields', 'data-testid': 'changed-fields' },
      changes.length
        ? changes.map((c) =>
            h(
              'tr',
              { class: `f-${c.op}` },
              h('td', { class: 'op' }, c.op === 'added' ? '+' : c.op === 'removed' ? '−' : '~'),
              h('td', { class: 'path' }, c.path),
              h('td', { class: 'old' }, c.op !== 'added' ? shortValue(c.old) : ''),
              h('td', { class: 'arrow' }, c.op === 'changed' ? '→' : ''),
              h('td', { class: 'new' }, c.op !== 'removed' ? shortValue(c.value) : ''),
            ),
          )
        : null,
    );
    // Nothing to show: one message block, in place of the empty tables.
    const identical = changes.length === 0;
    const message = identical
      ? h(
          'div',
          { class: 'diff-identical', role: 'status', 'data-testid': 'diff-identical' },
          ai === bi
            ? 'A and B are the same version: pick two different ones in the table above.'
            : `Versions #${ai + 1} and #${bi + 1} are identical${s.noise ? '' : ' once managedFields, resourceVersion, kind and apiVersion are left out'}: a resync or an update that changed nothing.`,
        )
      : null;
    const noise = h('label', { class: 'check' }, h('input', { type: 'checkbox', checked: s.noise, onchange: (e: Event) => this.cb.navigate({ noise: (e.target as HTMLInputElement).checked }, false) }), ' show managedFields, resourceVersion, kind and apiVersion');
    return h(
      'section',
      { class: 'panel diff', 'data-testid': 'diff' },
      h(
        'div',
        { class: 'panel-head' },
        h('h3', {}, 'Diff ', h('span', { class: 'ver-a' }, `A #${ai + 1} ${fmtTime(a.time)}`), ' → ', h('span', { class: 'ver-b' }, `B #${bi + 1} ${fmtTime(b.time)}`)),
        h('span', { class: 'spacer' }),
        h('div', { class: 'tabs' }, tab('side', 'Side by side'), tab('inline', 'Inline'), tab('fields', 'Changed fields')),
        noise,
      ),
      message,
      identical ? null : h('div', { class: 'fields-wrap' }, h('div', { class: 'caption' }, `${plural(changes.length, 'changed field')}`), fields),
      identical || mode === 'fields' ? null : h('div', { class: 'scroll-x' }, renderLineDiff(da, db, mode as 'side' | 'inline')),
    );
  }

  private payloadPanel(v: Version, i: number): HTMLElement {
    const text = stableJson(v.payload);
    const pre = h('pre', { class: 'payload', 'data-testid': 'payload' }, text);
    const details = h(
      'details',
      { class: 'panel payload-panel' },
      h(
        'summary',
        {},
        h('h3', {}, `Payload of B (#${i + 1}, ${fmtTime(v.time)}, ${v.watch_type})`),
        h('button', {
          class: 'button small',
          onclick: (e: Event) => {
            e.preventDefault();
            navigator.clipboard?.writeText(text);
          },
        }, 'copy'),
        h('span', { class: 'muted' }, `${(text.length / 1024).toFixed(1)} KiB · key ${v.key}`),
      ),
      pre,
    );
    return details;
  }

  private eventsPanel(events: EventRecord[], truncated: boolean): HTMLElement {
    // Each Event is stored once per update (its count grows): show each one's latest state.
    const latest = new Map<string, EventRecord>();
    for (const e of events) latest.set(e.uid || `${e.namespace}/${e.name}`, e);
    const list = [...latest.values()].sort((x, y) => (evTime(x) < evTime(y) ? -1 : 1));
    return h(
      'section',
      { class: 'panel events' },
      h('h3', {}, `${plural(list.length, 'Event')}${truncated ? ' (truncated)' : ''}`),
      list.length
        ? h(
            'table',
            { class: 'grid', 'data-testid': 'events' },
            h('thead', {}, h('tr', {}, h('th', {}, 'last seen'), h('th', {}, 'type'), h('th', {}, 'reason'), h('th', {}, 'message'), h('th', {}, 'count'), h('th', {}, 'first seen'))),
            h(
              'tbody',
              {},
              list.map((e) =>
                h(
                  'tr',
                  { class: e.event.type === 'Warning' ? 'warn' : '' },
                  h('td', { class: 'time' }, fmtTime(evTime(e))),
                  h('td', {}, e.event.type),
                  h('td', {}, e.event.reason),
                  h('td', { class: 'message' }, e.event.message),
                  h('td', { class: 'num' }, String(e.event.count)),
                  h('td', { class: 'time' }, fmtTime(e.event.first_timestamp)),
                ),
              ),
            ),
          )
        : h('div', { class: 'muted' }, 'No Events about this resource were recorded.'),
    );
  }
}

function evTime(e: EventRecord): string {
  return e.event.last_timestamp || e.time;
}

function lastObject(versions: Version[]): Record<string, any> | null {
  for (let i = versions.length - 1; i >= 0; i--) {
    const p = versions[i].payload;
    if (p && typeof p === 'object') return p as Record<string, any>;
  }
  return null;
}

function pickLookback(seconds: number): string {
  const options = [900, 1800, 3600, 10800, 21600, 43200, 86400, 259200, 604800, 1209600];
  const names = ['15m', '30m', '1h', '3h', '6h', '12h', '24h', '72h', '168h', '336h'];
  for (let i = 0; i < options.length; i++) if (options[i] >= seconds) return names[i];
  return '336h';
}
