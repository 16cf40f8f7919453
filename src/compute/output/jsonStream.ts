import { writeSync } from 'node:fs';

/** Text is handed to the file in pieces of about this many characters. */
const PIECE = 1 << 20;

/**
 * Writes `value` to `fd` as JSON, exactly the text JSON.stringify(value, null, indent) makes, but piece by piece: the
 * top `walk` levels of objects and arrays are walked (their items may be made as they are read: see lazyArray.ts) and
 * each value below them is stringified on its own. The text of a 1,000-model result (499,500 pairs) is never held
 * whole, only about a MiB of it.
 */
export function writeJsonStream(fd: number, value: unknown, indent = 0, walk = 2): void {
  const out = new JsonPieces(fd);
  out.value(value, 0, indent, walk);
  out.flush();
}

/** The writer behind writeJsonStream: buffered text, and a value written at a given nesting. */
export class JsonPieces {
  private buf = '';

  constructor(private readonly fd: number) {}

  write(s: string): void {
    this.buf += s;
    if (this.buf.length >= PIECE) this.flush();
  }

  flush(): void {
    if (this.buf) writeSync(this.fd, this.buf);
    this.buf = '';
  }

  /** `value` at nesting `depth` (its first line is already indented, its continuation lines get depth * indent). */
  value(value: unknown, depth: number, indent: number, walk: number): void {
    const v = toJsonValue(value);
    if (depth >= walk || v === null || typeof v !== 'object') {
      const text = JSON.stringify(v, null, indent) ?? 'null';
      this.write(indent && depth ? text.replace(/\n/g, '\n' + ' '.repeat(depth * indent)) : text);
      return;
    }
    const inner = indent ? '\n' + ' '.repeat((depth + 1) * indent) : '';
    const close = indent ? '\n' + ' '.repeat(depth * indent) : '';
    if (Array.isArray(v)) {
      const length = v.length;
      if (!length) return this.write('[]');
      this.write('[');
      for (let i = 0; i < length; i++) {
        this.write((i ? ',' : '') + inner);
        const item: unknown = v[i];
        if (item === undefined || typeof item === 'function' || typeof item === 'symbol') this.write('null');
        else this.value(item, depth + 1, indent, walk);
      }
      this.write(close + ']');
      return;
    }
    let first = true;
    for (const [k, item] of Object.entries(v)) {
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
      this.write((first ? '{' : ',') + inner + JSON.stringify(k) + (indent ? ': ' : ':'));
      first = false;
      this.value(item, depth + 1, indent, walk);
    }
    this.write(first ? '{}' : close + '}');
  }
}

function toJsonValue(v: unknown): unknown {
  return v && typeof (v as { toJSON?: unknown }).toJSON === 'function' ? (v as { toJSON: () => unknown }).toJSON() : v;
}
