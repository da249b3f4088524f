// Version diffs: a list of changed fields (jsondiffpatch, structural, arrays matched by name) and
// a line diff of the pretty-printed documents (jsdiff), shown side by side or inline, with long
// unchanged stretches folded.

import { create, type Delta } from 'jsondiffpatch';
import { diffLines } from 'diff';
import { h, plural } from './dom';

const differ = create({
  // Containers, conditions, ports, env, volumes…: match list items by their identity, not index.
  objectHash: (obj: object, index?: number) => {
    const o = obj as Record<string, unknown>;
    for (const k of ['name', 'type', 'uid', 'containerPort', 'key', 'ip']) {
      if (o && typeof o[k] === 'string') return `${k}:${o[k]}`;
      if (o && typeof o[k] === 'number') return `${k}:${o[k]}`;
    }
    return `$$index:${index}`;
  },
  arrays: { detectMove: false },
});

export interface FieldChange {
  path: string;
  op: 'added' | 'removed' | 'changed';
  old?: unknown;
  value?: unknown;
}

/** Drops the fields that change on every write or relist and say nothing (unless noise is wanted). */
export function denoise(doc: unknown, keepNoise: boolean): unknown {
  if (keepNoise || !doc || typeof doc !== 'object') return doc;
  const copy = structuredClone(doc) as Record<string, any>;
  // kind and apiVersion never change for one object, but a relist's items lack them (a list
  // carries them once for all): without this every relist would read as a change.
  delete copy.kind;
  delete copy.apiVersion;
  if (copy.metadata && typeof copy.metadata === 'object') {
    delete copy.metadata.managedFields;
    delete copy.metadata.resourceVersion;
  }
  return copy;
}

/** The fields that differ between two documents, as dotted paths with old and new values. */
export function changedFields(a: unknown, b: unknown): FieldChange[] {
  const delta = differ.diff(a, b);
  const out: FieldChange[] = [];
  if (delta) walk(delta, '', out);
  return out;
}

function walk(delta: Delta, path: string, out: FieldChange[]) {
  if (Array.isArray(delta)) {
    if (delta.length === 1) out.push({ path: path || '/', op: 'added', value: delta[0] });
    else if (delta.length === 2) out.push({ path: path || '/', op: 'changed', old: delta[0], value: delta[1] });
    else if (delta.length === 3 && delta[2] === 0) out.push({ path: path || '/', op: 'removed', old: delta[0] });
    else if (delta.length === 3 && delta[2] === 2) out.push({ path: path || '/', op: 'changed', old: '(text)', value: '(text diff)' });
    return;
  }
  if (!delta || typeof delta !== 'object') return;
  const obj = delta as Record<string, Delta>;
  const isArray = (obj as Record<string, unknown>)._t === 'a';
  for (const key of Object.keys(obj)) {
    if (key === '_t') continue;
    if (isArray) {
      const removed = key.startsWith('_');
      const idx = removed ? key.slice(1) : key;
      walk(obj[key], `${path}[${idx}]`, out);
    } else {
      walk(obj[key], path ? `${path}.${key}` : key, out);
    }
  }
}

/** JSON with object keys sorted, so that two versions line up for a line diff. */
export function stableJson(v: unknown): string {
  return JSON.stringify(sortKeys(v), null, 2);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

export function shortValue(v: unknown, max = 80): string {
  if (v === undefined) return '';
  const s = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v);
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

interface Line {
  left?: { n: number; text: string };
  right?: { n: number; text: string };
  kind: 'same' | 'del' | 'add' | 'mod';
}

function lineRows(aText: string, bText: string): Line[] {
  const parts = diffLines(aText, bText);
  const rows: Line[] = [];
  let ln = 1;
  let rn = 1;
  const split = (s: string) => {
    const lines = s.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines;
  };
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (p.removed && parts[i + 1]?.added) {
      const dels = split(p.value);
      const adds = split(parts[i + 1].value);
      const n = Math.max(dels.length, adds.length);
      for (let j = 0; j < n; j++) {
        rows.push({
          kind: j < dels.length && j < adds.length ? 'mod' : j < dels.length ? 'del' : 'add',
          left: j < dels.length ? { n: ln++, text: dels[j] } : undefined,
          right: j < adds.length ? { n: rn++, text: adds[j] } : undefined,
        });
      }
      i++;
    } else if (p.removed) {
      for (const t of split(p.value)) rows.push({ kind: 'del', left: { n: ln++, text: t } });
    } else if (p.added) {
      for (const t of split(p.value)) rows.push({ kind: 'add', right: { n: rn++, text: t } });
    } else {
      for (const t of split(p.value)) rows.push({ kind: 'same', left: { n: ln++, text: t }, right: { n: rn++, text: t } });
    }
  }
  return rows;
}

const CONTEXT = 3;

/** For the inline view: each changed block's old lines first, then its new lines. */
function unify(rows: Line[]): Line[] {
  const out: Line[] = [];
  let dels: Line[] = [];
  let adds: Line[] = [];
  const flush = () => {
    out.push(...dels, ...adds);
    dels = [];
    adds = [];
  };
  for (const r of rows) {
    if (r.kind === 'same') {
      flush();
      out.push(r);
      continue;
    }
    if (r.left) dels.push({ kind: 'del', left: r.left });
    if (r.right) adds.push({ kind: 'add', right: r.right });
  }
  flush();
  return out;
}

/** Renders the line diff of two documents; mode "side" (two columns) or "inline" (unified). */
export function renderLineDiff(a: unknown, b: unknown, mode: 'side' | 'inline'): HTMLElement {
  let rows = lineRows(stableJson(a), stableJson(b));
  if (mode === 'inline') rows = unify(rows);
  if (!rows.some((r) => r.kind !== 'same')) {
    return h('div', { class: 'diff-identical', role: 'status', 'data-testid': 'diff-identical' }, 'The two versions are identical (after the noise filter).');
  }
  const table = h(
    'table',
    { class: `linediff ${mode}`, 'data-testid': `diff-${mode}` },
    mode === 'side'
      ? h('colgroup', {}, h('col', { class: 'ln' }), h('col', {}), h('col', { class: 'ln' }), h('col', {}))
      : h('colgroup', {}, h('col', { class: 'ln' }), h('col', { class: 'ln' }), h('col', {})),
  );
  const tbody = h('tbody');
  table.appendChild(tbody);
  // Fold unchanged runs longer than 2×CONTEXT+1 into an expander row.
  const keep = rows.map(() => false);
  rows.forEach((r, i) => {
    if (r.kind !== 'same') for (let j = Math.max(0, i - CONTEXT); j <= Math.min(rows.length - 1, i + CONTEXT); j++) keep[j] = true;
  });
  let i = 0;
  while (i < rows.length) {
    if (keep[i]) {
      appendRow(tbody, rows[i], mode);
      i++;
      continue;
    }
    let j = i;
    while (j < rows.length && !keep[j]) j++;
    const hidden = rows.slice(i, j);
    const expander = h(
      'tr',
      { class: 'fold-row' },
      h('td', { colspan: mode === 'side' ? 4 : 3 }, h('button', { class: 'linkish' }, `⋯ ${plural(hidden.length, 'unchanged line')}`)),
    );
    expander.addEventListener('click', () => {
      const frag = document.createDocumentFragment();
      const tmp = h('tbody');
      for (const r of hidden) appendRow(tmp, r, mode);
      while (tmp.firstChild) frag.appendChild(tmp.firstChild);
      expander.replaceWith(frag);
    });
    tbody.appendChild(expander);
    i = j;
  }
  return table;
}

function appendRow(tbody: HTMLElement, r: Line, mode: 'side' | 'inline') {
  if (mode === 'side') {
    tbody.appendChild(
      h(
        'tr',
        { class: r.kind },
        h('td', { class: 'ln' }, r.left ? String(r.left.n) : ''),
        h('td', { class: `code ${r.left && r.kind !== 'same' ? 'old' : ''}` }, r.left ? r.left.text : ''),
        h('td', { class: 'ln' }, r.right ? String(r.right.n) : ''),
        h('td', { class: `code ${r.right && r.kind !== 'same' ? 'new' : ''}` }, r.right ? r.right.text : ''),
      ),
    );
    return;
  }
  if (r.kind === 'same') {
    tbody.appendChild(h('tr', { class: 'same' }, h('td', { class: 'ln' }, String(r.left!.n)), h('td', { class: 'ln' }, String(r.right!.n)), h('td', { class: 'code' }, '  ' + r.left!.text)));
    return;
  }
  if (r.left) tbody.appendChild(h('tr', { class: 'del' }, h('td', { class: 'ln' }, String(r.left.n)), h('td', { class: 'ln' }, ''), h('td', { class: 'code old' }, '- ' + r.left.text)));
  if (r.right) tbody.appendChild(h('tr', { class: 'add' }, h('td', { class: 'ln' }, ''), h('td', { class: 'ln' }, String(r.right.n)), h('td', { class: 'code new' }, '+ ' + r.right.text)));
}
