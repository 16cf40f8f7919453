/**
 * Reads a JSON object too large for one string (V8 strings stop near 512 MB; result.json of 1,000 models is 860 MB)
 * from its bytes, parsing one member at a time, and the elements of one array member (`pairs`) one at a time, with
 * JSON.parse. The scan only finds where each piece ends (strings and nesting): JSON.parse checks every piece, so the
 * value is the one JSON.parse would give the whole text, and text it would refuse is refused. JSON's structural
 * characters are ASCII, never part of a UTF-8 sequence, so the bytes are scanned as they are.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

const isSpace = (c: number | undefined) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function skipSpace(b: Uint8Array, i: number): number {
  while (i < b.length && isSpace(b[i])) i++;
  return i;
}

function unexpected(b: Uint8Array, i: number): SyntaxError {
  return new SyntaxError(i >= b.length ? 'Unexpected end of JSON input' : `Unexpected byte 0x${b[i]!.toString(16).padStart(2, '0')} at position ${i}`);
}

/** The end (exclusive) of the string that starts at i. */
function stringEnd(b: Uint8Array, i: number): number {
  for (let k = i + 1; k < b.length; k++) {
    const c = b[k];
    if (c === BACKSLASH) k++;
    else if (c === QUOTE) return k + 1;
  }
  throw unexpected(b, b.length);
}

/** The end (exclusive) of the value that starts at i. */
function valueEnd(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c === QUOTE) return stringEnd(b, i);
  if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
    let depth = 0;
    for (let k = i; k < b.length; k++) {
      const x = b[k];
      if (x === QUOTE) k = stringEnd(b, k) - 1;
      else if (x === OPEN_OBJECT || x === OPEN_ARRAY) depth++;
      else if ((x === CLOSE_OBJECT || x === CLOSE_ARRAY) && --depth === 0) return k + 1;
    }
    throw unexpected(b, b.length);
  }
  // a number, true, false or null: up to the next delimiter
  let k = i;
  while (k < b.length && !isSpace(b[k]) && b[k] !== COMMA && b[k] !== CLOSE_OBJECT && b[k] !== CLOSE_ARRAY) k++;
  if (k === i) throw unexpected(b, i);
  return k;
}

const decoder = new TextDecoder('utf-8');
const piece = (b: Uint8Array, from: number, to: number): unknown => JSON.parse(decoder.decode(b.subarray(from, to)));

/** The array at i, element by element; returns it and where it ends. */
function arrayInPieces(b: Uint8Array, i: number): { value: unknown[]; end: number } {
  const out: unknown[] = [];
  let k = skipSpace(b, i + 1);
  if (b[k] === CLOSE_ARRAY) return { value: out, end: k + 1 };
  for (;;) {
    const end = valueEnd(b, k);
    out.push(piece(b, k, end));
    k = skipSpace(b, end);
    if (b[k] === COMMA) k = skipSpace(b, k + 1);
    else if (b[k] === CLOSE_ARRAY) return { value: out, end: k + 1 };
    else throw unexpected(b, k);
  }
}

/** The JSON object in `b`, its member `split` (an array) parsed element by element. */
export function parseJsonInPieces(b: Uint8Array, split: string): unknown {
  let i = skipSpace(b, 0);
  if (b[i] !== OPEN_OBJECT) {
    // not an object: whatever it is, JSON.parse says (or the caller refuses it)
    return piece(b, 0, b.length);
  }
  const out: Record<string, unknown> = {};
  i = skipSpace(b, i + 1);
  if (b[i] === CLOSE_OBJECT) i++;
  else {
    for (;;) {
      if (b[i] !== QUOTE) throw unexpected(b, i);
      const keyEnd = stringEnd(b, i);
      const key = piece(b, i, keyEnd) as string;
      i = skipSpace(b, keyEnd);
      if (b[i] !== COLON) throw unexpected(b, i);
      i = skipSpace(b, i + 1);
      let value: unknown;
      if (key === split && b[i] === OPEN_ARRAY) ({ value, end: i } = arrayInPieces(b, i));
      else {
        const end = valueEnd(b, i);
        value = piece(b, i, end);
        i = end;
      }
      // as JSON.parse does: an own property, even "__proto__"; a repeated key keeps its last value
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      i = skipSpace(b, i);
      if (b[i] === COMMA) i = skipSpace(b, i + 1);
      else if (b[i] === CLOSE_OBJECT) {
        i++;
        break;
      } else throw unexpected(b, i);
    }
  }
  i = skipSpace(b, i);
  if (i !== b.length) throw unexpected(b, i);
  return out;
}
