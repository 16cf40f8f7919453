import { ModeldiffError } from '../../shared/errors';

/**
 * A strict RFC 8259 JSON parser for untrusted headers, with serde_json's acceptance rules plus a few refusals
 * `JSON.parse` cannot make: duplicate keys, lone surrogate escapes, integers that would lose precision.
 *
 * Values: objects are `Map`s (so `__proto__` and `constructor` are plain keys), integer tokens are exact
 * (`number` up to 2^53-1 in magnitude, `bigint` beyond), and number tokens with a fraction or an exponent
 * (`8.0`, `8e0`) are `JsonFloat`s so a caller can refuse them where an integer is required.
 * An integer token `-0` comes back as the number -0; check with `Object.is` if that matters.
 */
export type JsonValue = null | boolean | string | number | bigint | JsonFloat | JsonValue[] | JsonObject;
export type JsonObject = Map<string, JsonValue>;

export class JsonFloat {
  constructor(
    readonly value: number,
    /** The token as written, for messages. */
    readonly text: string,
  ) {}
}

export interface StrictJsonOptions {
  /** Most arrays/objects allowed inside one another. */
  maxDepth?: number;
  /** Most members one object or array may hold: parsing stops there, before the rest is built (MODEL_LIMIT). */
  maxMembers?: number;
}

/** serde_json's default recursion limit of 128 lets 127 arrays/objects nest. */
export const DEFAULT_MAX_DEPTH = 127;

/**
 * Parses `text` as one JSON value with optional surrounding whitespace (space, tab, LF, CR).
 * Throws ModeldiffError ST_INVALID_JSON (`details.position`: UTF-16 index into `text`, `details.reason`) or
 * ST_DUPLICATE_KEY (`details.key`, `details.path`: keys/indices of the enclosing object, `details.position`).
 */
export function parseStrictJson(text: string, options: StrictJsonOptions = {}): JsonValue {
  return new Parser(text, options.maxDepth ?? DEFAULT_MAX_DEPTH, options.maxMembers ?? Infinity).document();
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

const enum Ch {
  Tab = 0x09,
  LF = 0x0a,
  CR = 0x0d,
  Space = 0x20,
  Quote = 0x22,
  Plus = 0x2b,
  Comma = 0x2c,
  Minus = 0x2d,
  Dot = 0x2e,
  Zero = 0x30,
  Nine = 0x39,
  Colon = 0x3a,
  UpperE = 0x45,
  LBracket = 0x5b,
  Backslash = 0x5c,
  RBracket = 0x5d,
  LowerE = 0x65,
  LBrace = 0x7b,
  RBrace = 0x7d,
}

const SIMPLE_ESCAPES = new Map([
  ['"', '"'],
  ['\\', '\\'],
  ['/', '/'],
  ['b', '\b'],
  ['f', '\f'],
  ['n', '\n'],
  ['r', '\r'],
  ['t', '\t'],
]);

class Parser {
  private pos = 0;
  private depth = 0;
  /** Keys and indices leading to the value being parsed, for duplicate-key reports. */
  private readonly path: (string | number)[] = [];

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
    private readonly maxMembers: number,
  ) {}

  document(): JsonValue {
    // The input of a well-behaved caller comes from a fatal UTF-8 decode and has none; a raw lone surrogate
    // is not text, so refuse it rather than let it through as a key.
    const lone = this.text.search(/\p{Cs}/u);
    if (lone >= 0) this.fail('unpaired surrogate character', lone);
    this.skipWhitespace();
    const value = this.value();
    this.skipWhitespace();
    if (this.pos < this.text.length) this.fail(`unexpected ${this.describe(this.pos)} after the JSON value`);
    return value;
  }

  private value(): JsonValue {
    if (this.pos >= this.text.length) this.fail('unexpected end of input, expected a value');
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case Ch.LBrace:
        return this.object();
      case Ch.LBracket:
        return this.array();
      case Ch.Quote:
        return this.string();
      case 0x74 /* t */:
        return this.literal('true', true);
      case 0x66 /* f */:
        return this.literal('false', false);
      case 0x6e /* n */:
        return this.literal('null', null);
      default:
        if (c === Ch.Minus || (c >= Ch.Zero && c <= Ch.Nine)) return this.number();
        return this.fail(`unexpected ${this.describe(this.pos)}, expected a value`);
    }
  }

  private object(): JsonObject {
    this.enter();
    const map: JsonObject = new Map();
    this.pos++;
    this.skipWhitespace();
    if (this.peek() === Ch.RBrace) {
      this.pos++;
      this.depth--;
      return map;
    }
    for (;;) {
      if (this.peek() !== Ch.Quote) this.fail(`unexpected ${this.describe(this.pos)}, expected a string key`);
      const keyAt = this.pos;
      const key = this.string();
      if (map.size >= this.maxMembers) this.tooMany(keyAt);
      if (map.has(key)) {
        throw new ModeldiffError('ST_DUPLICATE_KEY', `duplicate key ${JSON.stringify(key)} at character ${keyAt}`, {
          details: { key, path: [...this.path], position: keyAt },
        });
      }
      this.skipWhitespace();
      if (this.peek() !== Ch.Colon) this.fail(`unexpected ${this.describe(this.pos)}, expected ':'`);
      this.pos++;
      this.skipWhitespace();
      this.path.push(key);
      map.set(key, this.value());
      this.path.pop();
      this.skipWhitespace();
      const c = this.peek();
      this.pos++;
      if (c === Ch.RBrace) break;
      if (c !== Ch.Comma) this.fail(`unexpected ${this.describe(this.pos - 1)}, expected ',' or '}'`, this.pos - 1);
      this.skipWhitespace();
    }
    this.depth--;
    return map;
  }

  private array(): JsonValue[] {
    this.enter();
    const items: JsonValue[] = [];
    this.pos++;
    this.skipWhitespace();
    if (this.peek() === Ch.RBracket) {
      this.pos++;
      this.depth--;
      return items;
    }
    for (;;) {
      if (items.length >= this.maxMembers) this.tooMany(this.pos);
      this.path.push(items.length);
      items.push(this.value());
      this.path.pop();
      this.skipWhitespace();
      const c = this.peek();
      this.pos++;
      if (c === Ch.RBracket) break;
      if (c !== Ch.Comma) this.fail(`unexpected ${this.describe(this.pos - 1)}, expected ',' or ']'`, this.pos - 1);
      this.skipWhitespace();
    }
    this.depth--;
    return items;
  }

  private string(): string {
    const open = this.pos;
    const { text } = this;
    let out = '';
    let start = ++this.pos;
    for (;;) {
      if (this.pos >= text.length) this.fail('unterminated string', open);
      const c = text.charCodeAt(this.pos);
      if (c === Ch.Quote) {
        out += text.slice(start, this.pos);
        this.pos++;
        return out;
      }
      if (c === Ch.Backslash) {
        out += text.slice(start, this.pos);
        out += this.escape();
        start = this.pos;
      } else if (c < 0x20) {
        this.fail(`unescaped control character ${this.describe(this.pos)} in a string`);
      } else {
        this.pos++;
      }
    }
  }

  /** At a backslash; returns the decoded character(s) and moves past the escape. */
  private escape(): string {
    const at = this.pos;
    const e = this.text[at + 1];
    if (e === undefined) this.fail('unterminated string', at);
    if (e !== 'u') {
      const simple = SIMPLE_ESCAPES.get(e);
      if (simple === undefined) this.fail(`invalid escape \\${e}`, at);
      this.pos += 2;
      return simple;
    }
    const unit = this.hex4(at + 2);
    this.pos = at + 6;
    if (unit >= 0xdc00 && unit <= 0xdfff) this.fail('unpaired low surrogate escape', at);
    if (unit < 0xd800 || unit > 0xdbff) return String.fromCharCode(unit);
    if (this.text[this.pos] !== '\\' || this.text[this.pos + 1] !== 'u') this.fail('unpaired high surrogate escape', at);
    const low = this.hex4(this.pos + 2);
    if (low < 0xdc00 || low > 0xdfff) this.fail('unpaired high surrogate escape', at);
    this.pos += 6;
    return String.fromCharCode(unit, low);
  }

  private hex4(at: number): number {
    let v = 0;
    for (let i = at; i < at + 4; i++) {
      const d = i < this.text.length ? hexDigit(this.text.charCodeAt(i)) : -1;
      if (d < 0) this.fail('invalid \\u escape, expected 4 hex digits', at - 2);
      v = v * 16 + d;
    }
    return v;
  }

  private number(): number | bigint | JsonFloat {
    const start = this.pos;
    if (this.peek() === Ch.Minus) this.pos++;
    if (this.peek() === Ch.Zero) {
      this.pos++;
      if (isDigit(this.peek())) this.fail('leading zeros are not allowed in numbers', start);
    } else if (!this.digits()) {
      this.fail('invalid number', start);
    }
    let integer = true;
    if (this.peek() === Ch.Dot) {
      this.pos++;
      if (!this.digits()) this.fail('invalid number, expected digits after the decimal point', start);
      integer = false;
    }
    const e = this.peek();
    if (e === Ch.LowerE || e === Ch.UpperE) {
      this.pos++;
      const sign = this.peek();
      if (sign === Ch.Plus || sign === Ch.Minus) this.pos++;
      if (!this.digits()) this.fail('invalid number, expected digits in the exponent', start);
      integer = false;
    }
    const token = this.text.slice(start, this.pos);
    const approx = Number(token);
    // serde_json refuses numbers whose f64 value is infinite, integers included.
    if (!Number.isFinite(approx)) this.fail('number out of range', start);
    if (!integer) return new JsonFloat(approx, token);
    // Up to 15 digits is always exact as a double.
    if (token.length <= 15) return approx;
    const exact = BigInt(token);
    return exact <= MAX_SAFE && exact >= -MAX_SAFE ? Number(exact) : exact;
  }

  /** Consumes a run of digits; false when there was none. */
  private digits(): boolean {
    const start = this.pos;
    while (isDigit(this.peek())) this.pos++;
    return this.pos > start;
  }

  private literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail(`unexpected ${this.describe(this.pos)}, expected a value`);
    this.pos += word.length;
    return value;
  }

  private tooMany(position: number): never {
    throw new ModeldiffError('MODEL_LIMIT', `more than ${this.maxMembers} members in one object or array at character ${position}`, {
      details: { limit: this.maxMembers, position, depth: this.path.length },
    });
  }

  private enter(): void {
    if (++this.depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth} levels`);
  }

  private skipWhitespace(): void {
    const { text } = this;
    for (;;) {
      const c = text.charCodeAt(this.pos);
      if (c !== Ch.Space && c !== Ch.LF && c !== Ch.CR && c !== Ch.Tab) return;
      this.pos++;
    }
  }

  /** Char code at the cursor, NaN at the end. */
  private peek(): number {
    return this.text.charCodeAt(this.pos);
  }

  private describe(at: number): string {
    if (at >= this.text.length) return 'end of input';
    const c = this.text.charCodeAt(at);
    if (c > 0x20 && c < 0x7f) return `'${this.text[at]}'`;
    return `character U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  }

  private fail(reason: string, position = this.pos): never {
    throw new ModeldiffError('ST_INVALID_JSON', `${reason} at character ${position}`, { details: { reason, position } });
  }
}

function isDigit(c: number): boolean {
  return c >= Ch.Zero && c <= Ch.Nine;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}
