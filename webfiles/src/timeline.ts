// The timeline: one bar per resource over the window, coloured by kind, with Event heat cells
// (Warning vs Normal) and change ticks. Rows are virtualised (only those in view are in the DOM),
// so windows of many thousands of resources stay responsive. The time axis zooms (wheel over the
// axis, or Ctrl+wheel anywhere) and pans (drag).

import * as d3 from 'd3';
import type { HeatCell, TimelineRow } from './api';
import { fmtDuration, fmtTime, h, setChildren, toUnix } from './dom';
import type { VisibleRow } from './tree';

export const ROW_H = 22;
const LABEL_W = 340;
const OVERSCAN = 8;

const KIND_COLOURS: Record<string, string> = {
  Pod: '#4e79a7',
  ReplicaSet: '#59a14f',
  Deployment: '#2f7d32',
  StatefulSet: '#b07aa1',
  DaemonSet: '#9c755f',
  Job: '#edc948',
  CronJob: '#c9a227',
  Node: '#76b7b2',
  Namespace: '#bab0ac',
  Service: '#f28e2b',
  Endpoints: '#ffbe7d',
  ConfigMap: '#8cd17d',
  PersistentVolumeClaim: '#86bcb6',
  PersistentVolume: '#499894',
  HorizontalPodAutoscaler: '#d37295',
  Event: '#999999',
};
const extraColours = d3.scaleOrdinal<string, string>(d3.schemeSet2);

export function kindColour(kind: string): string {
  return KIND_COLOURS[kind] ?? extraColours(kind);
}

interface MinuteCell {
  minute: number;
  warning: number;
  normal: number;
  reasons: HeatCell[];
}

const cellCache = new WeakMap<HeatCell[], MinuteCell[]>();
function minuteCells(heat: HeatCell[]): MinuteCell[] {
  let cells = cellCache.get(heat);
  if (cells) return cells;
  const byMinute = new Map<number, MinuteCell>();
  for (const c of heat) {
    let m = byMinute.get(c.minute);
    if (!m) byMinute.set(c.minute, (m = { minute: c.minute, warning: 0, normal: 0, reasons: [] }));
    if (c.type === 'Warning') m.warning += c.count;
    else m.normal += c.count;
    const same = m.reasons.find((r) => r.reason === c.reason && r.type === c.type);
    if (same) same.count += c.count;
    else m.reasons.push({ ...c });
  }
  cells = [...byMinute.values()].sort((a, b) => a.minute - b.minute);
  cellCache.set(heat, cells);
  return cells;
}

const warnColour = d3.scaleSequentialLog(d3.interpolateRgb('#f6a04d', '#b2182b')).domain([1, 50]).clamp(true);
const normalColour = d3.scaleSequentialLog(d3.interpolateRgb('#c6dbef', '#2166ac')).domain([1, 50]).clamp(true);

export interface TimelineCallbacks {
  open(row: TimelineRow, atSeconds: number | null): void;
  toggleFold(id: string): void;
  zoomed(domain: [number, number] | null): void;
}

export class TimelineView {
  readonly el: HTMLElement;
  private axisSvg: d3.Selection<SVGSVGElement, unknown, null, undefined>;
  private scroll: HTMLElement;
  private spacer: HTMLElement;
  private tooltip: HTMLElement;
  private info: HTMLElement;
  private rows: VisibleRow[] = [];
  private x0 = d3.scaleUtc();
  private x = d3.scaleUtc();
  private width = 600;
  private zoom: d3.ZoomBehavior<HTMLElement, unknown>;
  private showNoChange = false;
  private zoomNotify = 0;
  private silentZoom = false;
  private frame = 0;
  /** Bumped when the scale or drawing options change: rows drawn at an older version are redrawn. */
  private drawVersion = 0;
  private axisVersion = -1;

  constructor(private cb: TimelineCallbacks) {
    this.info = h('div', { class: 'tl-head-label' });
    const axis = d3.create('svg').attr('class', 'tl-axis').attr('height', 30);
    this.axisSvg = axis as unknown as d3.Selection<SVGSVGElement, unknown, null, undefined>;
    this.axisSvg.append('g').attr('class', 'axis').attr('transform', 'translate(0,26)');
    this.axisSvg.append('line').attr('class', 'cursor').attr('y1', 0).attr('y2', 30).style('display', 'none');
    this.axisSvg.append('text').attr('class', 'cursor-label').attr('y', 10).style('display', 'none');
    this.spacer = h('div', { class: 'tl-spacer' });
    this.scroll = h('div', { class: 'tl-scroll', 'data-testid': 'timeline-rows' }, this.spacer);
    this.tooltip = h('div', { class: 'tl-tooltip', role: 'tooltip' });
    this.el = h(
      'div',
      { class: 'tl', 'data-testid': 'timeline' },
      h('div', { class: 'tl-head' }, this.info, axis.node() as Node),
      this.scroll,
      this.tooltip,
    );

    this.zoom = d3
      .zoom<HTMLElement, unknown>()
      .scaleExtent([1, 20000])
      .filter((event: Event) => {
        const t = event.target as Element;
        if (event.type === 'wheel') {
          return (event as WheelEvent).ctrlKey || !!t.closest('.tl-axis');
        }
        if (t.closest('.tl-label')) return false;
        return !(event as MouseEvent).button;
      })
      .on('zoom', (event: d3.D3ZoomEvent<HTMLElement, unknown>) => {
        this.x = event.transform.rescaleX(this.x0);
        this.drawVersion++;
        this.scheduleRender();
        if (!this.silentZoom) {
          window.clearTimeout(this.zoomNotify);
          const k = event.transform.k;
          this.zoomNotify = window.setTimeout(() => {
            this.zoomNotify = 0;
            const [a, b] = this.x.domain().map((d) => d.getTime() / 1000);
            this.cb.zoomed(k <= 1.0001 ? null : [a, b]);
          }, 250);
        }
      });
    d3.select(this.el).call(this.zoom).on('dblclick.zoom', null);

    this.scroll.addEventListener('scroll', () => this.scheduleRender(), { passive: true });
    new ResizeObserver(() => this.resize()).observe(this.el);
    this.axisSvg.on('mousemove', (event: MouseEvent) => this.showCursor(d3.pointer(event)[0]));
    this.axisSvg.on('mouseleave', () => this.hideCursor());
  }

  /** Sets the rows and the window (Unix seconds); zoom restores a zoomed domain. */
  setData(rows: VisibleRow[], window: [number, number], zoom: [number, number] | null, noChange: boolean) {
    // A zoom the user just made has not reached the URL yet (it is reported 250 ms later): data
    // arriving meanwhile keeps it rather than resetting the view.
    if (!zoom && this.zoomNotify && d3.zoomTransform(this.el).k > 1.0001) {
      const [a, b] = this.x.domain().map((d) => d.getTime() / 1000);
      zoom = [a, b];
    }
    this.rows = rows;
    this.showNoChange = noChange;
    this.drawVersion++;
    const sameWindow =
      +this.x0.domain()[0] === window[0] * 1000 && +this.x0.domain()[1] === window[1] * 1000;
    this.x0.domain([new Date(window[0] * 1000), new Date(window[1] * 1000)]);
    this.spacer.style.height = `${rows.length * ROW_H}px`;
    this.resize();
    if (!sameWindow || zoom) this.applyZoom(zoom);
    this.render();
  }

  /** Replaces the rows only (fold/unfold), keeping zoom and scroll. */
  setRows(rows: VisibleRow[]) {
    this.rows = rows;
    this.drawVersion++;
    this.spacer.style.height = `${rows.length * ROW_H}px`;
    this.render();
  }

  setInfo(content: Node | string) {
    this.info.replaceChildren(content);
  }

  /** Zooms around the middle of the visible time range. */
  zoomBy(factor: number) {
    d3.select(this.el).call(this.zoom.scaleBy, factor, [this.width / 2, 0]);
  }

  /** The time (Unix seconds) under a pointer event on the time axis; null elsewhere. */
  axisTime(event: MouseEvent): number | null {
    const axis = this.axisSvg.node();
    if (!axis || !(event.target instanceof Node) || !axis.contains(event.target)) return null;
    return Math.round(this.x.invert(d3.pointer(event, axis)[0]).getTime() / 1000);
  }

  resetZoom() {
    d3.select(this.el).call(this.zoom.transform, d3.zoomIdentity);
  }

  private applyZoom(zoom: [number, number] | null) {
    const [a, b] = this.x0.domain().map((d) => d.getTime() / 1000);
    let t = d3.zoomIdentity;
    if (zoom && zoom[1] > zoom[0]) {
      const k = Math.max(1, (b - a) / (zoom[1] - zoom[0]));
      t = d3.zoomIdentity.scale(k).translate(-this.x0(new Date(zoom[0] * 1000)), 0);
    }
    this.silentZoom = true;
    d3.select(this.el).call(this.zoom.transform, t);
    this.silentZoom = false;
  }

  private resize() {
    const w = Math.max(200, this.scroll.clientWidth - LABEL_W - 8);
    if (w === this.width && this.x0.range()[1] === w) return;
    this.width = w;
    this.x0.range([0, w]);
    const t = d3.zoomTransform(this.el);
    this.x = t.rescaleX(this.x0);
    this.drawVersion++;
    this.zoom.extent([
      [0, 0],
      [w, 1],
    ]).translateExtent([
      [0, 0],
      [w, 1],
    ]);
    this.axisSvg.attr('width', w).style('margin-left', `${LABEL_W}px`);
    this.scheduleRender();
  }

  private scheduleRender() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private render() {
    const __t = performance.now();
    try { this.render2(); } finally { (window as any).__rms = ((window as any).__rms || 0) + performance.now() - __t; }
  }
  private render2() {
    if (this.axisVersion !== this.drawVersion) {
      this.axisVersion = this.drawVersion;
      const ticks = Math.max(2, Math.floor(this.width / 110));
      this.axisSvg
        .select<SVGGElement>('g.axis')
        .call(d3.axisTop(this.x).ticks(ticks).tickFormat(utcTickFormat) as never);
    }

    const top = this.scroll.scrollTop;
    const height = this.scroll.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
    const last = Math.min(this.rows.length, Math.ceil((top + height) / ROW_H) + OVERSCAN);
    const slice = this.rows.slice(first, last).map((r, i) => ({ r, index: first + i }));

    const self = this;
    d3.select(this.spacer)
      .selectAll<HTMLDivElement, { r: VisibleRow; index: number }>('div.tl-row')
      .data(slice, (d) => d.r.node.id)
      .join((enter) => {
        const row = enter.append('div').attr('class', 'tl-row');
        row.append('div').attr('class', 'tl-label');
        const svg = row.append('svg').attr('class', 'tl-track').attr('height', ROW_H);
        svg.append('rect').attr('class', 'bar');
        svg.append('g').attr('class', 'heat');
        svg.append('g').attr('class', 'ticks');
        svg.append('line').attr('class', 'endcap');
        return row;
      })
      .style('top', (d) => `${d.index * ROW_H}px`)
      .each(function (d) {
        // Scrolling moves rows without changing them: draw only new rows, or all after a zoom.
        const stamp = `${self.drawVersion}`;
        if (this.dataset.drawn === stamp) return;
        this.dataset.drawn = stamp;
        self.drawRow(this, d.r);
      });
  }

  private drawRow(el: HTMLDivElement, v: VisibleRow) {
    const r = v.node.row;
    el.dataset.kind = r.kind;
    el.dataset.namespace = r.namespace;
    el.dataset.name = r.name;
    el.dataset.uid = r.uid;
    el.dataset.depth = String(v.depth);
    el.classList.toggle('deleted', r.deleted);
    el.classList.toggle('group', v.descendants > 0);

    const label = el.firstElementChild as HTMLElement;
    const key = `${v.depth}|${v.folded}|${v.descendants}|${r.deleted}|${r.warnings}`;
    if (label.dataset.key !== key || label.dataset.id !== v.node.id) {
      label.dataset.key = key;
      label.dataset.id = v.node.id;
      label.style.paddingLeft = `${6 + v.depth * 16}px`;
      const toggle =
        v.descendants > 0
          ? h(
              'button',
              {
                class: 'fold',
                title: v.folded ? `Show ${v.descendants} owned resources` : 'Fold the owned resources',
                'aria-expanded': String(!v.folded),
                onclick: (e: Event) => {
                  e.stopPropagation();
                  this.cb.toggleFold(v.node.id);
                },
              },
              v.folded ? '▸' : '▾',
            )
          : h('span', { class: 'fold-space' });
      setChildren(label,
        toggle,
        h('span', { class: 'kind-badge', style: `background:${kindColour(r.kind)}` }, abbreviate(r.kind)),
        h('a', { class: 'name', href: '#', title: `${r.kind} ${r.namespace ? r.namespace + '/' : ''}${r.name}` }, r.name),
        v.folded ? h('span', { class: 'count' }, `+${v.descendants}`) : null,
        r.namespace && v.depth === 0 ? h('span', { class: 'ns' }, r.namespace) : null,
        r.deleted ? h('span', { class: 'badge deleted-badge' }, 'deleted') : null,
        v.warnings > 0 ? h('span', { class: 'badge warn-badge', title: 'Warning events' }, `⚠ ${v.warnings}`) : null,
      );
      (label.querySelector('a.name') as HTMLElement).onclick = (e) => {
        e.preventDefault();
        this.cb.open(r, null);
      };
    }

    const x = this.x;
    const svg = d3.select(el).select<SVGSVGElement>('svg.tl-track').attr('width', this.width);
    const start = toUnix(r.start);
    const end = toUnix(r.end);
    const rawX1 = x(new Date(start * 1000));
    const rawX2 = x(new Date(end * 1000));
    const x2 = Math.min(this.width, rawX2);
    // A bar is at least 2 px wide and never runs past the track's right edge (a resource created
    // moments ago would otherwise be drawn outside the track, where it can't be seen or hovered).
    const x1 = Math.max(0, Math.min(rawX1, x2 - 2, this.width - 2));
    svg
      .select('rect.bar')
      .style('display', rawX2 < 0 || rawX1 > this.width ? 'none' : 'inline')
      .attr('x', x1)
      .attr('y', 4)
      .attr('width', Math.max(2, x2 - x1))
      .attr('height', ROW_H - 8)
      .attr('rx', 2)
      .attr('fill', kindColour(r.kind));
    svg
      .select('line.endcap')
      .style('display', r.deleted ? 'inline' : 'none')
      .attr('x1', x2)
      .attr('x2', x2)
      .attr('y1', 1)
      .attr('y2', ROW_H - 1);

    const cells = minuteCells(v.heat);
    svg
      .select('g.heat')
      .selectAll<SVGRectElement, MinuteCell>('rect')
      .data(cells, (c) => String(c.minute))
      .join('rect')
      .attr('class', (c) => (c.warning ? 'cell warning' : 'cell normal'))
      .attr('x', (c) => x(new Date(c.minute * 1000)))
      .attr('y', 2)
      .attr('width', (c) => Math.max(3, x(new Date((c.minute + 60) * 1000)) - x(new Date(c.minute * 1000))))
      .attr('height', ROW_H - 4)
      .attr('fill', (c) => (c.warning ? warnColour(c.warning) : normalColour(c.normal)));

    const tickData: { t: number; changed: boolean }[] = (r.changed_at || []).map((t) => ({ t, changed: true }));
    if (this.showNoChange) for (const t of r.nochange_at || []) tickData.push({ t, changed: false });
    svg
      .select('g.ticks')
      .selectAll<SVGLineElement, { t: number; changed: boolean }>('line')
      .data(tickData)
      .join('line')
      .attr('class', (d) => (d.changed ? 'tick changed' : 'tick nochange'))
      .attr('x1', (d) => x(new Date(d.t * 1000)))
      .attr('x2', (d) => x(new Date(d.t * 1000)))
      .attr('y1', (d) => (d.changed ? 3 : 7))
      .attr('y2', (d) => (d.changed ? ROW_H - 3 : ROW_H - 7));

    svg
      .on('mousemove', (event: MouseEvent) => this.showTooltip(event, v))
      .on('mouseleave', () => this.hideTooltip())
      .on('click', (event: MouseEvent) => {
        if (event.defaultPrevented) return;
        const t = this.x.invert(d3.pointer(event)[0]).getTime() / 1000;
        this.cb.open(r, t);
      });
  }

  private showTooltip(event: MouseEvent, v: VisibleRow) {
    const r = v.node.row;
    const px = d3.pointer(event)[0];
    const t = this.x.invert(px).getTime() / 1000;
    this.showCursor(px);
    const minute = Math.floor(t / 60) * 60;
    const cells = minuteCells(v.heat);
    const here = cells.find((c) => c.minute === minute);
    const totals = new Map<string, { type: string; count: number }>();
    for (const c of v.heat) {
      const k = `${c.reason}|${c.type}`;
      const cur = totals.get(k) ?? { type: c.type, count: 0 };
      cur.count += c.count;
      totals.set(k, cur);
    }
    const reasonList = [...totals.entries()]
      .sort((a, b) => b[1].count - a[1].count)
      .slice(0, 8)
      .map(([k, val]) =>
        h('li', { class: val.type === 'Warning' ? 'warn' : '' }, `${k.split('|')[0]} (${val.type}) × ${val.count}`),
      );
    const start = toUnix(r.start);
    const end = toUnix(r.end);
    setChildren(this.tooltip,
      h('div', { class: 'tt-title' }, r.name),
      h('div', { class: 'tt-sub' }, `${r.kind}${r.namespace ? ' · ' + r.namespace : ''}${r.deleted ? ' · deleted' : ''}`),
      h(
        'table',
        {},
        h('tr', {}, h('th', {}, 'created'), h('td', {}, fmtTime(r.created))),
        h('tr', {}, h('th', {}, 'in window'), h('td', {}, `${fmtTime(start)} → ${r.deleted ? fmtTime(end) : fmtTime(end) + (r.deleted ? '' : ' (alive)')}`)),
        h('tr', {}, h('th', {}, 'span'), h('td', {}, fmtDuration(end - start))),
        h('tr', {}, h('th', {}, 'changes'), h('td', {}, String((r.changed_at || []).length))),
        h('tr', {}, h('th', {}, 'events'), h('td', {}, `${r.events} (${r.warnings} warning)`)),
        h('tr', {}, h('th', {}, 'cursor'), h('td', {}, fmtTime(t))),
      ),
      here
        ? h(
            'div',
            { class: 'tt-minute' },
            h('b', {}, `Events at ${fmtTime(minute).slice(11, 16)}:`),
            h('ul', {}, here.reasons.map((c) => h('li', { class: c.type === 'Warning' ? 'warn' : '' }, `${c.reason} (${c.type}) × ${c.count}`))),
          )
        : null,
      reasonList.length ? h('div', { class: 'tt-reasons' }, h('b', {}, v.folded ? 'Event reasons (group):' : 'Event reasons:'), h('ul', {}, reasonList)) : null,
      h('div', { class: 'tt-hint' }, 'click to open versions and events'),
    );
    this.tooltip.style.display = 'block';
    const pad = 14;
    const tw = this.tooltip.offsetWidth;
    const th = this.tooltip.offsetHeight;
    let left = event.clientX + pad;
    let top = event.clientY + pad;
    if (left + tw > window.innerWidth) left = event.clientX - tw - pad;
    if (top + th > window.innerHeight) top = Math.max(0, event.clientY - th - pad);
    this.tooltip.style.left = `${left}px`;
    this.tooltip.style.top = `${top}px`;
  }

  private hideTooltip() {
    this.tooltip.style.display = 'none';
    this.hideCursor();
  }

  private showCursor(px: number) {
    const t = this.x.invert(px);
    this.axisSvg.select('line.cursor').style('display', null).attr('x1', px).attr('x2', px);
    this.axisSvg
      .select('text.cursor-label')
      .style('display', null)
      .attr('x', Math.min(px + 4, this.width - 60))
      .text(fmtTime(t).slice(11));
  }

  private hideCursor() {
    this.axisSvg.selectAll('.cursor, .cursor-label').style('display', 'none');
  }
}

function utcTickFormat(d: Date | d3.NumberValue): string {
  const date = d as Date;
  if (date.getUTCHours() === 0 && date.getUTCMinutes() === 0 && date.getUTCSeconds() === 0) {
    return d3.utcFormat('%b %d')(date);
  }
  if (date.getUTCSeconds() !== 0) return d3.utcFormat('%H:%M:%S')(date);
  return d3.utcFormat('%H:%M')(date);
}

function abbreviate(kind: string): string {
  const known: Record<string, string> = {
    Pod: 'po',
    ReplicaSet: 'rs',
    Deployment: 'deploy',
    StatefulSet: 'sts',
    DaemonSet: 'ds',
    Job: 'job',
    CronJob: 'cj',
    Node: 'node',
    Namespace: 'ns',
    Service: 'svc',
    Endpoints: 'ep',
    ConfigMap: 'cm',
    PersistentVolumeClaim: 'pvc',
    PersistentVolume: 'pv',
    HorizontalPodAutoscaler: 'hpa',
    PodDisruptionBudget: 'pdb',
    StorageClass: 'sc',
    Event: 'ev',
  };
  return known[kind] ?? kind;
}
