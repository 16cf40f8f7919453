/** Colour parsing, mixing and the heatmap's sequential scale. Pure: the theme's CSS colours are passed in. */

export interface Rgba {
  r: number;
  g: number;
  b: number;
  a: number;
}

const clamp255 = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
const clamp01 = (v: number) => Math.max(0, Math.min(1, v));

/** Parses #rgb, #rgba, #rrggbb, #rrggbbaa, rgb()/rgba() (comma or space syntax) and `transparent`. */
export function parseColor(input: string | null | undefined): Rgba | null {
  if (!input) return null;
  const s = input.trim().toLowerCase();
  if (s === 'transparent') return { r: 0, g: 0, b: 0, a: 0 };
  let m = /^#([0-9a-f]{3,8})$/.exec(s);
  if (m) {
    const h = m[1]!;
    if (h.length === 3 || h.length === 4) {
      const [r, g, b, a] = Array.from(h).map((c) => parseInt(c + c, 16));
      return { r: r!, g: g!, b: b!, a: a === undefined ? 1 : a / 255 };
    }
    if (h.length === 6 || h.length === 8) {
      const v = (i: number) => parseInt(h.slice(i, i + 2), 16);
      return { r: v(0), g: v(2), b: v(4), a: h.length === 8 ? v(6) / 255 : 1 };
    }
    return null;
  }
  m = /^rgba?\(\s*([^)]*)\)$/.exec(s);
  if (m) {
    const parts = m[1]!.split(/\s*[,/]\s*|\s+/).filter(Boolean);
    if (parts.length < 3) return null;
    const ch = (p: string) => (p.endsWith('%') ? (parseFloat(p) * 255) / 100 : parseFloat(p));
    const [r, g, b] = parts.slice(0, 3).map(ch);
    const aPart = parts[3];
    const a = aPart === undefined ? 1 : aPart.endsWith('%') ? parseFloat(aPart) / 100 : parseFloat(aPart);
    if ([r, g, b, a].some((x) => x === undefined || Number.isNaN(x))) return null;
    return { r: clamp255(r!), g: clamp255(g!), b: clamp255(b!), a: clamp01(a) };
  }
  return null;
}

export function toCss(c: Rgba): string {
  return c.a >= 1 ? `rgb(${c.r}, ${c.g}, ${c.b})` : `rgba(${c.r}, ${c.g}, ${c.b}, ${+c.a.toFixed(3)})`;
}

export function toHex(c: Rgba): string {
  const h = (v: number) => clamp255(v).toString(16).padStart(2, '0');
  return `#${h(c.r)}${h(c.g)}${h(c.b)}`;
}

/** Linear mix: t = 0 gives a, t = 1 gives b. */
export function mix(a: Rgba, b: Rgba, t: number): Rgba {
  const u = clamp01(t);
  return {
    r: clamp255(a.r + (b.r - a.r) * u),
    g: clamp255(a.g + (b.g - a.g) * u),
    b: clamp255(a.b + (b.b - a.b) * u),
    a: a.a + (b.a - a.a) * u,
  };
}

/** Composites a (possibly translucent) colour over an opaque background. */
export function over(c: Rgba, background: Rgba): Rgba {
  return { ...mix(background, { ...c, a: 1 }, c.a), a: 1 };
}

/** WCAG relative luminance. */
export function luminance(c: Rgba): number {
  const lin = (v: number) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
}

export function contrastRatio(a: Rgba, b: Rgba): number {
  const la = luminance(a);
  const lb = luminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

/** Picks whichever of the candidates reads best on `background`. */
export function readableOn(background: Rgba, candidates: Rgba[]): Rgba {
  let best = candidates[0] ?? { r: 0, g: 0, b: 0, a: 1 };
  let bestRatio = -1;
  for (const c of candidates) {
    const r = contrastRatio(background, c);
    if (r > bestRatio) {
      best = c;
      bestRatio = r;
    }
  }
  return best;
}

/** A sequential scale of `steps` colours from `low` (small distance) to `high` (large distance). */
export function sequentialScale(low: Rgba, high: Rgba, steps: number): Rgba[] {
  const n = Math.max(2, Math.floor(steps));
  return Array.from({ length: n }, (_, i) => mix(low, high, i / (n - 1)));
}

/**
 * Position of a distance on the scale, in [0, 1]. A degenerate extent (every value equal) maps to 0.5 so a lone value
 * is neither "closest" nor "farthest".
 */
export function scalePosition(d: number, min: number, max: number): number {
  if (!Number.isFinite(d)) return 1;
  if (!(max > min)) return 0.5;
  return clamp01((d - min) / (max - min));
}

/** Index into a scale of `steps` colours. */
export function scaleIndex(d: number, min: number, max: number, steps: number): number {
  return Math.min(steps - 1, Math.max(0, Math.round(scalePosition(d, min, max) * (steps - 1))));
}
