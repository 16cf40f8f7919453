/** Text from model files made safe to show and to embed, for every surface. */

/**
 * Text from a model file made safe to show: control characters and bidirectional overrides become U+FFFD (a file name
 * or a metadata value cannot reorder or hide what is around it).
 */
export function safeText(s: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is replaced
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, '\ufffd');
}

/** Escapes text for HTML and XML element content and quoted attributes. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Shortens a label in the middle to `max` characters: "very_long_mod…v3.safetensors" (max <= 0: unchanged). */
export function shorten(s: string, max: number): string {
  const chars = Array.from(s);
  if (max <= 0 || chars.length <= max) return s;
  if (max <= 1) return '…';
  const head = Math.ceil((max - 1) / 2);
  const tail = Math.floor((max - 1) / 2);
  return chars.slice(0, head).join('') + '…' + (tail > 0 ? chars.slice(chars.length - tail).join('') : '');
}

/** "#2 model.safetensors", the name made safe and shortened in the middle to `max` characters when max > 0. */
export function modelName(index: number, file: string | undefined, max = 0): string {
  if (file === undefined) return `#${index}`;
  return `#${index} ${shorten(safeText(file), max)}`;
}
