// Colours of kinds and Event heat, chosen so that text on them meets WCAG 2.x AA (4.5:1) and heat
// cells stand out from the white track (3:1, WCAG 1.4.11 for graphics). No imports: a unit check
// (tests/webfiles/contrast-check.mjs) loads this file alone and computes every pair.

/** Bar and badge background of the common kinds. */
export const KIND_COLOURS: Record<string, string> = {
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

/** Other kinds (CRDs…) take one of these by a hash of the name, the same one on every page. */
export const EXTRA_COLOURS = ['#66c2a5', '#fc8d62', '#8da0cb', '#e78ac3', '#a6d854', '#ffd92f', '#e5c494', '#b3b3b3'];

/** Heat cells: the lightest and the darkest of each scale (the track under them is white). */
export const WARNING_HEAT: [string, string] = ['#d9480f', '#8f1021'];
export const NORMAL_HEAT: [string, string] = ['#4a86c5', '#0b3c78'];
export const TRACK_BACKGROUND = '#ffffff';

export function kindColour(kind: string): string {
  const known = KIND_COLOURS[kind];
  if (known) return known;
  let hash = 0;
  for (let i = 0; i < kind.length; i++) hash = (hash * 31 + kind.charCodeAt(i)) >>> 0;
  return EXTRA_COLOURS[hash % EXTRA_COLOURS.length];
}

/** WCAG relative luminance of "#rrggbb". */
export function luminance(hex: string): number {
  const v = hex.replace('#', '');
  const ch = [0, 2, 4].map((i) => parseInt(v.slice(i, i + 2), 16) / 255);
  const lin = ch.map((c) => (c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4)));
  return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
}

/** WCAG contrast ratio of two "#rrggbb" colours (1 to 21). */
export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** Darkens (factor < 1) a "#rrggbb" colour in sRGB. */
function scale(hex: string, factor: number): string {
  const v = hex.replace('#', '');
  return (
    '#' +
    [0, 2, 4]
      .map((i) => Math.round(parseInt(v.slice(i, i + 2), 16) * factor))
      .map((c) => c.toString(16).padStart(2, '0'))
      .join('')
  );
}

const badgeCache = new Map<string, { background: string; color: string }>();

/** A kind badge's colours: the kind's colour with black or white text, whichever reads better;
 * when neither reaches 4.5:1 the background is darkened until white does. */
export function badgeColours(kind: string): { background: string; color: string } {
  let c = badgeCache.get(kind);
  if (c) return c;
  let background = kindColour(kind);
  const black = contrast(background, '#000000');
  const white = contrast(background, '#ffffff');
  let color = black >= white ? '#000000' : '#ffffff';
  if (Math.max(black, white) < 4.5) {
    color = '#ffffff';
    for (let f = 0.95; contrast(background, color) < 4.5 && f > 0.2; f -= 0.05) background = scale(kindColour(kind), f);
  }
  c = { background, color };
  badgeCache.set(kind, c);
  return c;
}

/** The inline style of a kind badge. */
export function badgeStyle(kind: string): string {
  const c = badgeColours(kind);
  return `background:${c.background};color:${c.color}`;
}
