// The timeline: one bar per resource over the window, coloured by kind, with Event heat cells
// (Warning vs Normal) and change ticks. Rows are virtualised (only those in view are in the DOM),
// so windows of many thousands of resources stay responsive. The time axis zooms (wheel over the
// axis, or Ctrl+wheel anywhere) and pans (drag).

import * as d3 from 'd3';
import type { HeatCell, TimelineRow } from './api';
import { fmtClock, fmtDuration, fmtTime, h, plural, setChildren, timeZone, toUnix, zoned } from './dom';
import { NORMAL_HEAT, WARNING_HEAT, badgeStyle, kindColour } from './palette';
import { rowHeat, type VisibleRow } from './tree';

export { kindColour };

export const ROW_H = 22;
const LABEL_W = 340;
const OVERSCAN = 8;
/** A row's track: the bar from BAR_Y to HEAT_Y, the Event heat band below it. */
const BAR_Y = 3;
const HEAT_Y = 15;

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

const warnColour = d3.scaleSequentialLog(d3.interpolateRgb(WARNING_HEAT[0], WARNING_HEAT[1])).domain([1, 50]).clamp(true);
const normalColour = d3.scaleSequentialLog(d3.interpolateRgb(NORMAL_HEAT[0], NORMAL_HEAT[1])).domain([1, 50]).clamp(true);

/** A stretch of time the store has no record of, in Unix seconds (end: Infinity while open). */
export interface Unrecorded {
  start: number;
  end: number;
  /** The kind whose watch was cut; null: every kind (sloop was not running, or not yet). */
  kind: string | null;
  text: string;
}

export interface TimelineCallbacks {
  open(row: TimelineRow, atSeconds: number | null): void;
  /** The resource view's URL for a row (a real link: open in a new tab, copy link). */
  href(row: TimelineRow, atSeconds: number | null): string;
  toggleFold(id: string): void;
  zoomed(domain: [number, number] | null): void;
  /** The pointer entered (true) or left (false) the rows. */
  hover(on: boolean): void;
}

/** What each row element shows, for the pointer and key handlers. */
const rowData = new WeakMap<Element, VisibleRow>();

/** Sets attributes (null: removes one) without going through d3, and only those that changed. */
function setAttrs(e: Element, attrs: Record<string, string | number | null>) {
  for (const k in attrs) {
    const v = attrs[k];
    if (v === null) {
      if (e.hasAttribute(k)) e.removeAttribute(k);
    } else {
      const sv = String(v);
      if (e.getAttribute(k) !== sv) e.setAttribute(k, sv);
    }
  }
}

/** Gives an SVG group exactly n children of one tag (adding or removing at the end). */
function sizeGroup(g: Element, n: number, tag: string): Element[] {
  while (g.childElementCount > n) g.lastElementChild!.remove();
  while (g.childElementCount < n) g.appendChild(document.createElementNS(SVG_NS, tag));
  return Array.from(g.children);
}

/** The path of a row's ticks at `times` (seconds), those outside the track left out; null: none. */
function tickPath(times: number[], sx: (t: number) => number, width: number, inset: number): string | null {
  let d = '';
  for (const t of times) {
    const x = sx(t);
    if (x < -2 || x > width + 2) continue;
    d += `M${Math.round(x * 10) / 10} ${inset}V${ROW_H - inset}`;
  }
  return d || null;
}

/** Puts the focusable line of a change tick at `t`, with its accessible name. */
function placeTick(line: SVGLineElement, r: TimelineRow, t: number, sx: (t: number) => number) {
  const x = sx(t);
  setAttrs(line, { 'data-t': t, 'aria-label': `${r.name} changed at ${fmtTime(t)}`, x1: x, x2: x, y1: 3, y2: ROW_H - 3 });
}

/** An empty row: the label, and the track's layers in drawing order (drawRow fills them). */
function newRow(): HTMLDivElement {
  const row = document.createElement('div');
  row.className = 'tl-row';
  const label = document.createElement('div');
  label.className = 'tl-label';
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('class', 'tl-track');
  svg.setAttribute('height', String(ROW_H));
  const part = (tag: string, cls: string) => {
    const e = document.createElementNS(SVG_NS, tag);
    e.setAttribute('class', cls);
    svg.appendChild(e);
    return e;
  };
  const bar = part('rect', 'bar');
  bar.setAttribute('tabindex', '0');
  bar.setAttribute('role', 'link');
  part('g', 'unrecorded'); // the hatch goes over the bar
  part('g', 'heat');
  // The change ticks are one path each (changed, then no-change on top): an element a tick made
  // scrolling draw tens of elements a row. A tick takes focus through a line made when the keys
  // reach it (TimelineView.focusTick).
  const ticks = part('g', 'ticks');
  for (const cls of ['tick changed', 'tick nochange']) {
    const p = document.createElementNS(SVG_NS, 'path');
    p.setAttribute('class', cls);
    ticks.appendChild(p);
  }
  part('line', 'endcap');
  row.append(label, svg);
  return row;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export class TimelineView {
  readonly el: HTMLElement;
  private axisSvg: d3.Selection<SVGSVGElement, unknown, null, undefined>;
  private scroll: HTMLElement;
  private spacer: HTMLElement;
  private gapLayer: HTMLElement;
  private tooltip: HTMLElement;
  private info: HTMLElement;
  private rows: VisibleRow[] = [];
  private unrecorded: Unrecorded[] = [];
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
  private gapVersion = -1;
  /** The row elements in the DOM, by row id. */
  private rowEls = new Map<string, HTMLDivElement>();

  constructor(private cb: TimelineCallbacks) {
    this.info = h('div', { class: 'tl-head-label' });
    const axis = d3.create('svg').attr('class', 'tl-axis').attr('height', 30);
    this.axisSvg = axis as unknown as d3.Selection<SVGSVGElement, unknown, null, undefined>;
    this.axisSvg.append('g').attr('class', 'gaps');
    this.axisSvg.append('g').attr('class', 'axis').attr('transform', 'translate(0,26)');
    this.axisSvg.append('line').attr('class', 'cursor').attr('y1', 0).attr('y2', 30).style('display', 'none');
    this.axisSvg.append('text').attr('class', 'cursor-label').attr('y', 10).style('display', 'none');
    this.spacer = h('div', { class: 'tl-spacer' });
    this.scroll = h('div', { class: 'tl-scroll', 'data-testid': 'timeline-rows' }, this.spacer);
    this.gapLayer = h('div', { class: 'tl-gap-layer', 'aria-hidden': 'true' });
    this.tooltip = h('div', { class: 'tl-tooltip', role: 'tooltip' });
    // The hatch of "existed, not recorded": one pattern for every row's SVG.
    const defs = d3.create('svg').attr('class', 'tl-defs').attr('width', 0).attr('height', 0).attr('aria-hidden', 'true');
    const pattern = defs.append('defs').append('pattern').attr('id', 'tl-unrecorded-hatch').attr('patternUnits', 'userSpaceOnUse').attr('width', 6).attr('height', 6).attr('patternTransform', 'rotate(45)');
    pattern.append('rect').attr('width', 6).attr('height', 6).attr('fill', '#ffffff');
    pattern.append('line').attr('x1', 0).attr('y1', 0).attr('x2', 0).attr('y2', 6).attr('stroke', '#6a737d').attr('stroke-width', 3);
    this.el = h(
      'div',
      { class: 'tl', 'data-testid': 'timeline' },
      defs.node() as Node,
      h('div', { class: 'tl-head' }, this.info, axis.node() as Node),
      this.gapLayer,
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
    for (const type of ['mousemove', 'click', 'keydown']) this.spacer.addEventListener(type, (e) => this.trackEvent(e));
    this.spacer.addEventListener('mouseleave', () => this.hideTooltip());
    this.scroll.addEventListener('pointerenter', () => this.cb.hover(true));
    this.scroll.addEventListener('pointerleave', () => this.cb.hover(false));
    new ResizeObserver(() => this.resize()).observe(this.el);
    this.axisSvg.on('mousemove', (event: MouseEvent) => {
      const px = d3.pointer(event)[0];
      this.showCursor(px);
      const t = this.x.invert(px).getTime() / 1000;
      const here = this.unrecordedAt(t, null);
      if (here.length) this.placeTooltip(event, h('div', { class: 'tt-gap' }, here.map((g) => h('div', {}, g.text))));
      else this.tooltip.style.display = 'none';
    });
    this.axisSvg.on('mouseleave', () => this.hideTooltip());
  }

  /** Sets the rows and the window (Unix seconds); zoom restores a zoomed domain. With
   * keepAnchor (live updates), the row at the top of the view stays where it is on screen. */
  setData(rows: VisibleRow[], window: [number, number], zoom: [number, number] | null, noChange: boolean, keepAnchor = false) {
    // A zoom the user just made has not reached the URL yet (it is reported 250 ms later): data
    // arriving meanwhile keeps it rather than resetting the view.
    if (!zoom && this.zoomNotify && d3.zoomTransform(this.el).k > 1.0001) {
      const [a, b] = this.x.domain().map((d) => d.getTime() / 1000);
      zoom = [a, b];
    }
    const anchor = keepAnchor ? this.anchor() : null;
    this.rows = rows;
    this.showNoChange = noChange;
    this.drawVersion++;
    const sameWindow =
      +this.x0.domain()[0] === window[0] * 1000 && +this.x0.domain()[1] === window[1] * 1000;
    this.x0.domain([new Date(window[0] * 1000), new Date(window[1] * 1000)]);
    this.spacer.style.height = `${rows.length * ROW_H}px`;
    this.resize();
    if (!sameWindow || zoom) this.applyZoom(zoom);
    if (anchor) this.restoreAnchor(anchor);
    if (this.rowEls.size === 0) {
      // The first rows of a page: the screenful alone now, the rows around it in the next frame.
      this.render(0);
      this.scheduleRender();
    } else {
      this.render();
    }
  }

  /** Replaces the rows only (fold/unfold), keeping zoom and scroll. */
  setRows(rows: VisibleRow[]) {
    this.rows = rows;
    this.drawVersion++;
    this.spacer.style.height = `${rows.length * ROW_H}px`;
    this.render();
  }

  /** The stretches not recorded (shaded on the axis and behind the rows, hatched on bars). */
  setUnrecorded(list: Unrecorded[]) {
    this.unrecorded = list;
    this.drawVersion++;
    this.scheduleRender();
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

  /** The first row in view and how far its top is scrolled past. */
  private anchor(): { id: string; offset: number } | null {
    const top = this.scroll.scrollTop;
    if (top <= 0) return null;
    const i = Math.floor(top / ROW_H);
    const r = this.rows[i];
    return r ? { id: r.node.id, offset: top - i * ROW_H } : null;
  }

  private restoreAnchor(a: { id: string; offset: number }) {
    const i = this.rows.findIndex((r) => r.node.id === a.id);
    if (i >= 0) this.scroll.scrollTop = i * ROW_H + a.offset;
  }

  private applyZoom(zoom: [number, number] | null) {
    const [a, b] = this.x0.domain().map((d) => d.getTime() / 1000);
    let t = d3.zoomIdentity;
    // A zoom from the URL may reach past the window (a link made earlier): keep it inside.
    if (zoom) zoom = [Math.max(zoom[0], a), Math.min(zoom[1], b)];
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
    this.gapLayer.style.left = `${LABEL_W}px`;
    this.gapLayer.style.width = `${w}px`;
    this.scheduleRender();
  }

  private scheduleRender() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private render(overscan = OVERSCAN) {
    if (this.axisVersion !== this.drawVersion) {
      this.axisVersion = this.drawVersion;
      const ticks = Math.max(2, Math.floor(this.width / 110));
      const g = this.axisSvg.select<SVGGElement>('g.axis');
      g.call(d3.axisTop(this.x).ticks(ticks).tickFormat(tickFormat) as never);
      // Labels at either end would be cut in half by the edge: align them inwards instead.
      const w = this.width;
      g.selectAll<SVGGElement, Date>('.tick').each(function () {
        const x = Number(this.getAttribute('transform')?.match(/translate\(([-\d.e]+)/)?.[1] ?? 0);
        const text = this.querySelector('text');
        if (!text) return;
        // Estimated (11 px labels, about 6.5 px a character): measuring would lay out the whole
        // page before the rows are in it, on a page's first draw.
        const half = ((text.textContent ?? '').length * 6.5) / 2;
        text.setAttribute('text-anchor', x - half < 0 ? 'start' : x + half > w ? 'end' : 'middle');
      });
    }
    if (this.gapVersion !== this.drawVersion) {
      this.gapVersion = this.drawVersion;
      this.drawUnrecorded();
    }

    const top = this.scroll.scrollTop;
    const height = this.scroll.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_H) - overscan);
    const last = Math.min(this.rows.length, Math.ceil((top + height) / ROW_H) + overscan);
    // Rows are kept by id: scrolling adds the rows coming into view and removes those leaving it,
    // and leaves the others alone (their position and drawing only change with the rows or the
    // scale). The DOM order is the rows' order, which is the order keyboard focus moves in.
    const stamp = String(this.drawVersion);
    const shown = new Map<string, HTMLDivElement>();
    const order: HTMLDivElement[] = [];
    for (let i = first; i < last; i++) {
      const v = this.rows[i];
      let key = v.node.id;
      if (shown.has(key)) key = `${key}\u0000${i}`; // the same id twice: one element each
      let el = this.rowEls.get(key);
      if (el) this.rowEls.delete(key);
      else el = newRow();
      shown.set(key, el);
      order.push(el);
      const index = String(i);
      if (el.dataset.index !== index) {
        el.style.top = `${i * ROW_H}px`;
        el.dataset.index = index;
      }
      if (el.dataset.drawn !== stamp) {
        el.dataset.drawn = stamp;
        this.drawRow(el, v);
      }
    }
    for (const el of this.rowEls.values()) el.remove();
    this.rowEls = shown;
    let next = this.spacer.firstElementChild;
    for (const el of order) {
      if (el === next) next = el.nextElementSibling;
      else this.spacer.insertBefore(el, next);
    }
  }

  /** The stretches not recorded: shaded on the axis and behind every row. */
  private drawUnrecorded() {
    const [lo, hi] = this.x.domain().map((d) => d.getTime() / 1000);
    // Watch gaps of several kinds over one stretch come as one entry each: one shade for the
    // stretch (overlapping shades would darken), its title naming every kind.
    const merged: Unrecorded[] = [];
    for (const g of [...this.unrecorded].sort((a, b) => a.start - b.start)) {
      const last = merged[merged.length - 1];
      if (last && (last.kind === null) === (g.kind === null) && g.start <= last.end) {
        merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, g.end), kind: last.kind === null ? null : [last.kind, g.kind].join(', '), text: `${last.text}\n${g.text}` };
      } else {
        merged.push(g);
      }
    }
    const shown = merged
      .filter((g) => g.end > lo && g.start < hi)
      .map((g) => ({ g, x1: Math.max(0, this.x(new Date(Math.max(g.start, lo) * 1000))), x2: Math.min(this.width, this.x(new Date(Math.min(g.end, hi) * 1000))) }))
      .filter((d) => d.x2 > d.x1);
    this.axisSvg
      .select('g.gaps')
      .selectAll<SVGRectElement, (typeof shown)[number]>('rect')
      .data(shown)
      .join('rect')
      .attr('class', (d) => `gap ${d.g.kind ? 'watch' : 'recorder'}`)
      .attr('x', (d) => d.x1)
      .attr('width', (d) => Math.max(1, d.x2 - d.x1))
      .attr('y', 0)
      .attr('height', 30)
      .attr('data-start', (d) => d.g.start)
      .attr('data-end', (d) => (Number.isFinite(d.g.end) ? d.g.end : ''))
      .attr('aria-label', (d) => d.g.text);
    this.gapLayer.replaceChildren(
      ...shown.map((d) =>
        h('div', { class: `tl-gap ${d.g.kind ? 'watch' : 'recorder'}`, 'data-testid': 'gap', 'data-start': d.g.start, 'data-kind': d.g.kind ?? '', style: `left:${d.x1}px;width:${Math.max(1, d.x2 - d.x1)}px`, title: d.g.text }),
      ),
    );
  }

  /** The stretches not recorded at t for a kind (null: any). */
  private unrecordedAt(t: number, kind: string | null): Unrecorded[] {
    return this.unrecorded.filter((g) => t >= g.start && t < g.end && (kind === null || g.kind === null || g.kind === kind));
  }

  private drawRow(el: HTMLDivElement, v: VisibleRow) {
    const r = v.node.row;
    const x = this.x;
    const start = toUnix(r.start);
    const end = toUnix(r.end);
    const [lo, hi] = x.domain().map((d) => d.getTime() / 1000);
    // Deleted as far as the visible stretch goes: a deletion after it is not shown (zoomed in on
    // the object's earlier life), nor is an object that only comes to life after it.
    const deletedHere = r.deleted && end <= hi;
    el.dataset.kind = r.kind;
    el.dataset.namespace = r.namespace;
    el.dataset.name = r.name;
    el.dataset.uid = r.uid;
    el.dataset.depth = String(v.depth);
    el.classList.toggle('deleted', deletedHere);
    el.classList.toggle('group', v.descendants > 0);

    const label = el.firstElementChild as HTMLElement;
    const key = `${v.depth}|${v.folded}|${v.descendants}|${deletedHere}|${r.warnings}|${v.warnings}`;
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
                title: v.folded ? `Show ${plural(v.descendants, 'owned resource')}` : 'Fold the owned resources',
                'aria-label': v.folded ? `Show ${plural(v.descendants, 'owned resource')} of ${r.name}` : `Fold the owned resources of ${r.name}`,
                'aria-expanded': String(!v.folded),
                onclick: (e: Event) => {
                  e.stopPropagation();
                  this.cb.toggleFold(v.node.id);
                },
              },
              v.folded ? '▸' : '▾',
            )
          : h('span', { class: 'fold-space' });
      // The badges come before the name: a long name is cut at the label's edge (an ellipsis), and
      // what happened to the object stays in view.
      setChildren(label,
        toggle,
        h('span', { class: 'kind-badge', style: badgeStyle(r.kind), title: r.kind }, abbreviate(r.kind)),
        deletedHere ? h('span', { class: 'badge deleted-badge' }, 'deleted') : null,
        v.warnings > 0 ? h('span', { class: 'badge warn-badge', title: plural(v.warnings, 'Warning event') }, `⚠ ${v.warnings}`) : null,
        h('a', { class: 'name', href: this.cb.href(r, null), 'data-nav': '1', title: `${r.kind} ${r.namespace ? r.namespace + '/' : ''}${r.name}` }, r.name),
        v.folded ? h('span', { class: 'count', title: plural(v.descendants, 'owned resource') }, `+${v.descendants}`) : null,
        r.namespace && v.depth === 0 ? h('span', { class: 'ns' }, r.namespace) : null,
      );
    }

    // The track is drawn with plain DOM calls: a fling draws several new rows a frame.
    const track = el.lastElementChild as SVGSVGElement;
    const [bar, hatchGroup, heatGroup, tickGroup, endcap] = track.children as unknown as [SVGGElement, SVGRectElement, SVGGElement, SVGGElement, SVGLineElement];
    track.setAttribute('width', String(this.width));
    const sx = (t: number) => x(new Date(t * 1000));
    const rawX1 = sx(start);
    const rawX2 = sx(end);
    const x2 = Math.min(this.width, rawX2);
    // A bar is at least 2 px wide and never runs past the track's right edge (a resource created
    // moments ago would otherwise be drawn outside the track, where it can't be seen or hovered).
    const x1 = Math.max(0, Math.min(rawX1, x2 - 2, this.width - 2));
    const outside = rawX2 < 0 || rawX1 > this.width;
    const changes = r.changed_at || [];
    bar.style.display = outside ? 'none' : 'inline';
    setAttrs(bar, { x: x1, y: BAR_Y, width: Math.max(2, x2 - x1), height: HEAT_Y - BAR_Y, rx: 2, fill: kindColour(r.kind), tabindex: outside ? -1 : 0 });
    bar.setAttribute(
      'aria-label',
      `${r.kind} ${r.namespace ? r.namespace + '/' : ''}${r.name}: ${fmtTime(start)} to ${fmtTime(end)}${deletedHere ? ', deleted' : ''}, ${plural(changes.length, 'change')}, ${plural(r.events, 'event')}. Enter opens it; left and right arrows move between its changes.`,
    );
    // Where the object existed but nothing was recorded (sloop down, a watch cut, or before the
    // store began): hatched over the bar.
    const hatch: [number, number][] = [];
    const unseen = unrecordedLife(r, this.x0.domain()[0].getTime() / 1000);
    if (!outside && unseen) {
      const a = Math.max(unseen[0], lo);
      const b = Math.min(unseen[1], hi);
      if (b > a) hatch.push([sx(a), sx(b)]);
    }
    if (!outside) {
      for (const g of this.unrecorded) {
        if (g.kind !== null && g.kind !== r.kind) continue;
        const a = Math.max(g.start, start, lo);
        const b = Math.min(g.end, end, hi);
        if (b > a) hatch.push([sx(a), sx(b)]);
      }
    }
    const hatchRects = sizeGroup(hatchGroup, hatch.length, 'rect');
    hatch.forEach((d, i) => setAttrs(hatchRects[i], { class: 'unrecorded-span', x: d[0], width: Math.max(1, d[1] - d[0]), y: BAR_Y, height: HEAT_Y - BAR_Y }));
    bar.classList.toggle('has-unrecorded', hatch.length > 0);
    const endVisible = rawX2 >= 0 && rawX2 <= this.width;
    endcap.style.display = deletedHere && endVisible ? 'inline' : 'none';
    setAttrs(endcap, { x1: x2, x2, y1: 1, y2: ROW_H - 1 });

    const cells = minuteCells(rowHeat(v));
    const cellRects = sizeGroup(heatGroup, cells.length, 'rect');
    cells.forEach((c, i) => {
      // A band under the bar (which stays visible when zoomed in on a minute), cut to the bar:
      // a minute's cell would otherwise reach back before the object existed.
      let a = sx(c.minute);
      let b = sx(c.minute + 60);
      if (b > x1 && a < x2) {
        a = Math.max(a, x1);
        b = Math.min(b, Math.max(x2, x1 + 3));
      }
      setAttrs(cellRects[i], {
        class: c.warning ? 'cell warning' : 'cell normal',
        x: a,
        width: Math.max(3, b - a),
        y: HEAT_Y,
        height: ROW_H - 1 - HEAT_Y,
        fill: c.warning ? warnColour(c.warning) : normalColour(c.normal),
      });
    });

    const [changedPath, nochangePath] = tickGroup.children as unknown as [SVGPathElement, SVGPathElement];
    setAttrs(changedPath, { d: tickPath(changes, sx, this.width, 3) });
    setAttrs(nochangePath, { d: this.showNoChange ? tickPath(r.nochange_at || [], sx, this.width, 7) : null });
    const focused = tickGroup.querySelector<SVGLineElement>('line.tick');
    if (focused) {
      if (document.activeElement === focused) placeTick(focused, r, Number(focused.dataset.t), sx);
      else focused.remove();
    }
    // The pointer and keys on the track are handled once for all rows (see the constructor).
    rowData.set(el, v);
  }

  /** What the pointer or a key on a row's track does: `el` is the row, `v` what it shows. */
  private trackEvent(event: Event) {
    const target = event.target as Element | null;
    const track = target?.closest?.('svg.tl-track');
    const el = track?.parentElement as HTMLDivElement | undefined;
    const v = el ? rowData.get(el) : undefined;
    if (event.type === 'mousemove') {
      if (v && track) this.showTooltip(event as MouseEvent, track, v);
      else this.hideTooltip();
      return;
    }
    if (!el || !v) return;
    const r = v.node.row;
    if (event.type === 'click') {
      if (event.defaultPrevented) return;
      const t = this.x.invert(d3.pointer(event, track)[0]).getTime() / 1000;
      const start = toUnix(r.start);
      const end = toUnix(r.end);
      // The empty track before the bar opens the first version, after it the last one (the
      // URL keeps whole seconds: round outwards so that the end still covers the last record).
      this.cb.open(r, t < start ? Math.floor(start) - 1 : t > end ? Math.ceil(end) : t);
    } else if (event.type === 'keydown') {
      this.onKey(event as KeyboardEvent, el, r);
    }
  }

  /** Keyboard: Enter opens (at a focused change tick, that version); ← → move between the change
   * ticks of a bar; ↑ ↓ move between rows. */
  private onKey(event: KeyboardEvent, el: HTMLDivElement, r: TimelineRow) {
    const target = event.target as SVGElement;
    const ticks = [...new Set(r.changed_at || [])].sort((a, b) => a - b);
    const bar = el.querySelector<SVGRectElement>('rect.bar')!;
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      const t = target.classList.contains('tick') ? Number(target.dataset.t) : null;
      this.cb.open(r, t);
    } else if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
      event.preventDefault();
      if (!ticks.length) return;
      const i = target.classList.contains('tick') ? ticks.indexOf(Number(target.dataset.t)) : -1;
      const next = event.key === 'ArrowRight' ? (i < 0 ? 0 : i + 1) : i < 0 ? ticks.length - 1 : i - 1;
      if (next < 0 || next >= ticks.length) bar.focus();
      else this.focusTick(el, r, ticks[next]);
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      this.focusRow(Number(el.dataset.index) + (event.key === 'ArrowDown' ? 1 : -1));
    }
  }

  /** Focuses the change tick at `t` of row `el`: the one line of the row that stands for a tick
   * (made here, moved from tick to tick, gone when the row is drawn again without the focus). */
  private focusTick(el: HTMLDivElement, r: TimelineRow, t: number) {
    const group = el.querySelector('svg.tl-track g.ticks')!;
    let line = group.querySelector<SVGLineElement>('line.tick');
    if (!line) {
      line = document.createElementNS(SVG_NS, 'line');
      setAttrs(line, { class: 'tick changed', tabindex: -1, role: 'link' });
      group.appendChild(line);
    }
    placeTick(line, r, t, (s) => this.x(new Date(s * 1000)));
    line.focus();
  }

  /** Scrolls row `index` into view and focuses its bar (or its name when the bar is off-screen). */
  private focusRow(index: number) {
    if (index < 0 || index >= this.rows.length) return;
    const top = index * ROW_H;
    if (top < this.scroll.scrollTop) this.scroll.scrollTop = top;
    else if (top + ROW_H > this.scroll.scrollTop + this.scroll.clientHeight) this.scroll.scrollTop = top + ROW_H - this.scroll.clientHeight;
    this.render();
    const row = this.spacer.querySelector<HTMLElement>(`.tl-row[data-index="${index}"]`);
    const bar = row?.querySelector<SVGRectElement>('rect.bar');
    if (bar && bar.getAttribute('tabindex') === '0') bar.focus();
    else row?.querySelector<HTMLElement>('a.name')?.focus();
  }

  private showTooltip(event: MouseEvent, track: Element, v: VisibleRow) {
    const r = v.node.row;
    const px = d3.pointer(event, track)[0];
    const t = this.x.invert(px).getTime() / 1000;
    this.showCursor(px);
    const minute = Math.floor(t / 60) * 60;
    const cells = minuteCells(rowHeat(v));
    const here = cells.find((c) => c.minute === minute);
    const totals = new Map<string, { type: string; count: number }>();
    for (const c of rowHeat(v)) {
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
    const gaps = this.unrecordedAt(t, r.kind).map((g) => g.text);
    const unseen = unrecordedLife(r, this.x0.domain()[0].getTime() / 1000);
    if (unseen && t >= unseen[0] && t < unseen[1]) gaps.unshift(`existed, not recorded: created ${fmtTime(unseen[0])}, first recorded ${fmtTime(unseen[1])}`);
    setChildren(this.tooltip,
      h('div', { class: 'tt-title' }, r.name),
      h('div', { class: 'tt-sub' }, `${r.kind}${r.namespace ? ' · ' + r.namespace : ''}${r.deleted ? ' · deleted' : ''}`),
      gaps.length ? h('div', { class: 'tt-gap' }, gaps.map((g) => h('div', {}, g))) : null,
      h(
        'table',
        {},
        h('tr', {}, h('th', {}, 'created'), h('td', {}, fmtTime(r.created))),
        h('tr', {}, h('th', {}, 'in window'), h('td', {}, `${fmtTime(start)} → ${fmtTime(end)}${r.deleted ? '' : ' (alive)'}`)),
        h('tr', {}, h('th', {}, 'span'), h('td', {}, fmtDuration(end - start))),
        h('tr', {}, h('th', {}, 'changes'), h('td', {}, String((r.changed_at || []).length))),
        h('tr', {}, h('th', {}, 'events'), h('td', {}, `${r.events} (${r.warnings} warning)`)),
        h('tr', {}, h('th', {}, 'cursor'), h('td', {}, fmtTime(t))),
      ),
      here
        ? h(
            'div',
            { class: 'tt-minute' },
            h('b', {}, `Events at ${fmtClock(minute)}:`),
            h('ul', {}, here.reasons.map((c) => h('li', { class: c.type === 'Warning' ? 'warn' : '' }, `${c.reason} (${c.type}) × ${c.count}`))),
          )
        : null,
      reasonList.length ? h('div', { class: 'tt-reasons' }, h('b', {}, v.folded ? 'Event reasons (group):' : 'Event reasons:'), h('ul', {}, reasonList)) : null,
      h('div', { class: 'tt-hint' }, t < start ? 'click to open the first version' : t > end ? 'click to open the last version' : 'click to open versions and events'),
    );
    this.placeTooltip(event);
  }

  private placeTooltip(event: MouseEvent, content?: Node) {
    if (content) this.tooltip.replaceChildren(content);
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
      .text(fmtClock(t, true));
  }

  private hideCursor() {
    this.axisSvg.selectAll('.cursor, .cursor-label').style('display', 'none');
  }
}

/** When an object created inside the window was first recorded only later (its creation time
 * precedes its first record, which is its first change tick): [created, first record] in Unix
 * seconds, else null. One created before the window may have been recorded before it: the row
 * cannot tell, and the gaps answer covers it. Two seconds of slack for clocks and whole seconds. */
function unrecordedLife(r: TimelineRow, windowStart: number): [number, number] | null {
  const created = toUnix(r.created);
  if (!Number.isFinite(created) || created < windowStart) return null;
  let first = Infinity;
  for (const t of r.changed_at || []) first = Math.min(first, t);
  for (const t of r.nochange_at || []) first = Math.min(first, t);
  return Number.isFinite(first) && first - created >= 2 ? [created, first] : null;
}

/** Axis labels in the chosen zone: dates at midnight, seconds only when they are not zero. */
function tickFormat(d: Date | d3.NumberValue): string {
  const date = d as Date;
  const z = zoned(date);
  if (z.h === 0 && z.mi === 0 && z.s === 0) {
    return (timeZone() === 'utc' ? d3.utcFormat('%b %d') : d3.timeFormat('%b %d'))(date);
  }
  return fmtClock(date, z.s !== 0);
}

const KIND_ABBREVIATIONS: Record<string, string> = {
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

function abbreviate(kind: string): string {
  return KIND_ABBREVIATIONS[kind] ?? kind;
}
