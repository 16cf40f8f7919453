/**
 * Text from model files (file names, tensor names, metadata, messages quoting them) printed to a terminal. A file
 * named "x\n  m.safetensors: identical" or holding an escape sequence must neither fake a line of the summary nor
 * retitle or repaint the terminal: control characters, DEL, C1 controls and bidirectional overrides are printed as
 * visible escapes (`\n`, `\x1b`, `\u202e`), so the name can still be recognised and typed.
 */

// eslint-disable-next-line no-control-regex -- control characters are exactly what is escaped
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex -- the same without the line feed and the tab we write ourselves
const UNSAFE_IN_TEXT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\x1b': '\\x1b' };

function escapeChar(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One name or value, every control character escaped (line feeds and tabs too). */
export function shown(s: string): string {
  return s.replace(UNSAFE, escapeChar);
}

/** Text we composed (several lines, names already `shown`): whatever control character is left is escaped too. */
export function safeLines(s: string): string {
  return s.replace(UNSAFE_IN_TEXT, escapeChar);
}

/** Writes composed text to standard output. */
export function print(text: string): void {
  process.stdout.write(safeLines(text));
}

/** Writes composed text to standard error. */
export function printError(text: string): void {
  process.stderr.write(safeLines(text));
}
