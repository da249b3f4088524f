#!/usr/bin/env node
// WCAG AA contrast of the UI's colours, computed: every kind badge (the kinds with their own
// colour and the palette other kinds take) has text at 4.5:1 or more, the lightest Event heat
// cell of each scale stands out from the white track at 3:1 (WCAG 1.4.11, graphics), and so do
// the fixed text/background pairs of the style sheet that carry words. Loads
// webfiles/src/palette.ts alone, compiled with the TypeScript in webfiles/node_modules.
//
//   node tests/webfiles/contrast-check.mjs      (exit 0 when every pair passes; prints each)
// Also run by the browser suite (tests/webfiles/e2e/20-timeline-and-resource.mjs).

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');

export async function loadPalette() {
  const require = createRequire(path.join(root, 'webfiles', 'package.json'));
  const ts = require('typescript');
  const src = fs.readFileSync(path.join(root, 'webfiles', 'src', 'palette.ts'), 'utf8');
  const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2020 } }).outputText;
  return import(`data:text/javascript;base64,${Buffer.from(js).toString('base64')}`);
}

/** Every pair checked: [what, foreground, background, minimum ratio]. */
export async function contrastPairs() {
  const p = await loadPalette();
  const pairs = [];
  const kinds = [...Object.keys(p.KIND_COLOURS)];
  // Kinds without a colour of their own: enough names to land on every palette entry.
  const extra = new Set();
  for (let i = 0; extra.size < p.EXTRA_COLOURS.length && i < 10000; i++) {
    const k = `Custom${i}`;
    if (!extra.has(p.kindColour(k))) {
      extra.add(p.kindColour(k));
      kinds.push(k);
    }
  }
  for (const k of kinds) {
    const c = p.badgeColours(k);
    pairs.push([`kind badge ${k}`, c.color, c.background, 4.5]);
  }
  pairs.push(['Warning heat (lightest)', p.WARNING_HEAT[0], p.TRACK_BACKGROUND, 3]);
  pairs.push(['Warning heat (darkest)', p.WARNING_HEAT[1], p.TRACK_BACKGROUND, 3]);
  pairs.push(['Normal heat (lightest)', p.NORMAL_HEAT[0], p.TRACK_BACKGROUND, 3]);
  pairs.push(['Normal heat (darkest)', p.NORMAL_HEAT[1], p.TRACK_BACKGROUND, 3]);
  // Text on fixed colours in style.css.
  pairs.push(['warning badge text', '#a12a16', '#fde2dd', 4.5]);
  pairs.push(['deleted badge text', '#555555', '#eeeeee', 4.5]);
  pairs.push(['alive badge text', '#116329', '#dcf5e3', 4.5]);
  pairs.push(['muted text', '#6a737d', '#ffffff', 4.5]);
  return pairs.map(([what, fg, bg, min]) => ({ what, fg, bg, min, ratio: p.contrast(fg, bg) }));
}

if (import.meta.url === pathToFileURL(process.argv[1] || '').href) {
  const pairs = await contrastPairs();
  let bad = 0;
  for (const x of pairs) {
    const ok = x.ratio >= x.min;
    if (!ok) bad++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${x.ratio.toFixed(2).padStart(5)}:1 (min ${x.min}) ${x.what}: ${x.fg} on ${x.bg}`);
  }
  process.exit(bad ? 1 : 0);
}
