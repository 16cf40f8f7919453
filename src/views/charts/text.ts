/** Number and label formatting shared by the chart builders (no DOM). */

/** 4 significant digits, exponent for very small or large values; null is "n/a", never 0. */
export function chartNumber(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined) return 'n/a';
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 1e6 || abs < 1e-3) return v.toExponential(Math.max(0, digits - 2)).replace(/\.?0+e/, 'e');
  const s = v.toPrecision(digits);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** A share in [0, 1] as "12.3 %". */
export function percent(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : `${(v * 100).toFixed(digits)} %`;
}

/**
 * Text from a model file made safe to show: control characters and bidirectional overrides become U+FFFD (the same
 * rule as the webview's displayText).
 */
export function safeText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, '\ufffd');
}

export function shorten(s: string, max: number): string {
  const chars = Array.from(s);
  if (max <= 0 || chars.length <= max) return s;
  if (max <= 1) return '…';
  const head = Math.ceil((max - 1) / 2);
  const tail = Math.floor((max - 1) / 2);
  return chars.slice(0, head).join('') + '…' + (tail > 0 ? chars.slice(chars.length - tail).join('') : '');
}

/** "#2 model.safetensors", shortened in the middle to `max` characters of name when max > 0. */
export function modelName(index: number, file: string | undefined, max = 0): string {
  if (file === undefined) return `#${index}`;
  return `#${index} ${shorten(safeText(file), max)}`;
}
