// Rollout grouping: nests each timeline row under its controlling owner (Deployment → ReplicaSet
// → Pod, StatefulSet/DaemonSet/Job → Pod, CronJob → Job → Pod, …) by ownerReferences, so a
// rollout reads as one picture; then flattens the tree into the rows to draw, honouring folds.

import { heatOf, type HeatCell, type TimelineRow } from './api';

export interface TreeNode {
  id: string;
  row: TimelineRow;
  children: TreeNode[];
  parent: TreeNode | null;
}

export interface VisibleRow {
  node: TreeNode;
  depth: number;
  folded: boolean;
  /** Descendants in the tree (shown or not). */
  descendants: number;
  /** For a folded group: its own and its descendants' heat, so warnings stay visible; null: the
   * row's own (rowHeat reads it when the row is drawn). */
  heat: HeatCell[] | null;
  warnings: number;
}

export function rowId(r: TimelineRow): string {
  return r.uid || `${r.kind}/${r.namespace}/${r.name}`;
}

export type SortKey = 'start' | 'most_events' | 'name';

function comparator(sort: string): (a: TreeNode, b: TreeNode) => number {
  const byStart = (a: TreeNode, b: TreeNode) =>
    a.row.start < b.row.start ? -1 : a.row.start > b.row.start ? 1 : byName(a, b);
  const byName = (a: TreeNode, b: TreeNode) =>
    a.row.name.localeCompare(b.row.name) || a.row.kind.localeCompare(b.row.kind);
  if (sort === 'name') return byName;
  if (sort === 'most_events') {
    return (a, b) => subtreeEvents(b) - subtreeEvents(a) || byStart(a, b);
  }
  return byStart;
}

const eventsMemo = new WeakMap<TreeNode, number>();
function subtreeEvents(n: TreeNode): number {
  let v = eventsMemo.get(n);
  if (v === undefined) {
    v = n.row.events + n.children.reduce((s, c) => s + subtreeEvents(c), 0);
    eventsMemo.set(n, v);
  }
  return v;
}

/** Builds the forest; with group=false every row is a root. With `keep` (each row id's position in
 * the rows drawn before), rows seen before keep their order and new rows come after them, each
 * among its siblings: live updates never move a row the user is looking at. */
export function buildForest(rows: TimelineRow[], group: boolean, sort: string, keep?: Map<string, number>): TreeNode[] {
  const nodes = rows.map((row) => ({ id: rowId(row), row, children: [], parent: null }) as TreeNode);
  const byUid = new Map<string, TreeNode>();
  for (const n of nodes) if (n.row.uid) byUid.set(n.row.uid, n);
  const roots: TreeNode[] = [];
  for (const n of nodes) {
    let parent: TreeNode | undefined;
    if (group && n.row.owners && n.row.owners.length) {
      // The controller first (most objects have one owner: nothing to sort).
      const owners = n.row.owners.length === 1 ? n.row.owners : [...n.row.owners].sort((a, b) => Number(b.controller) - Number(a.controller));
      for (const o of owners) {
        const p = byUid.get(o.uid);
        if (p && p !== n && p.row.namespace === n.row.namespace && !isAncestor(n, p)) {
          parent = p;
          break;
        }
      }
    }
    if (parent) {
      n.parent = parent;
      parent.children.push(n);
    } else {
      roots.push(n);
    }
  }
  const stable = (base: (a: TreeNode, b: TreeNode) => number) =>
    keep
      ? (a: TreeNode, b: TreeNode) => {
          const x = keep.get(a.id);
          const y = keep.get(b.id);
          if (x !== undefined && y !== undefined) return x - y;
          if (x !== undefined) return -1;
          if (y !== undefined) return 1;
          return base(a, b);
        }
      : base;
  const cmp = stable(comparator(sort));
  const childCmp = stable(comparator('start'));
  const sortRec = (list: TreeNode[], top: boolean) => {
    // Children read best in the order they came to life, whatever the top-level order.
    list.sort(top ? cmp : childCmp);
    for (const n of list) sortRec(n.children, false);
  };
  sortRec(roots, true);
  return roots;
}

function isAncestor(candidate: TreeNode, of: TreeNode): boolean {
  for (let p: TreeNode | null = of; p; p = p.parent) if (p === candidate) return true;
  return false;
}

function countDescendants(n: TreeNode): number {
  return n.children.reduce((s, c) => s + 1 + countDescendants(c), 0);
}

function collectHeat(n: TreeNode, out: HeatCell[]): number {
  let warnings = n.row.warnings;
  out.push(...heatOf(n.row));
  for (const c of n.children) warnings += collectHeat(c, out);
  return warnings;
}

/** The heat drawn on a row: a folded group's collected heat, else the row's own. */
export function rowHeat(v: VisibleRow): HeatCell[] {
  return v.heat ?? heatOf(v.node.row);
}

/** The rows to draw, depth-first, skipping the children of folded groups. */
export function flatten(roots: TreeNode[], folded: Set<string>): VisibleRow[] {
  const out: VisibleRow[] = [];
  const walk = (n: TreeNode, depth: number) => {
    const isFolded = folded.size > 0 && folded.has(n.id) && n.children.length > 0;
    let heat: HeatCell[] | null = null;
    let warnings = n.row.warnings;
    if (isFolded) {
      heat = [];
      warnings = collectHeat(n, heat);
    }
    out.push({ node: n, depth, folded: isFolded, descendants: n.children.length ? countDescendants(n) : 0, heat, warnings });
    if (!isFolded) for (const c of n.children) walk(c, depth + 1);
  };
  for (const r of roots) walk(r, 0);
  return out;
}
