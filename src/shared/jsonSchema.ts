/**
 * A small JSON Schema checker for the keywords our schemas use (type, const, enum, required, properties,
 * additionalProperties, items, $ref, minimum, pattern; annotations such as format and description are ignored).
 * A schema is compiled once into checking functions (a result.json of 45,000 pairs is checked in a fraction of the
 * time JSON.parse takes); paths into the value are built only for what is wrong.
 */
type Schema = Record<string, unknown>;
type Path = () => string;
type Check = (v: unknown, path: Path, out: Violations) => void;

const compiled = new WeakMap<Schema, Check>();

/** The violations of `value` against `root`, empty when it is valid; at most `maxErrors` of them. */
export function validate(root: Schema, value: unknown, maxErrors = 100): string[] {
  let check = compiled.get(root);
  if (!check) compiled.set(root, (check = compile(root)));
  const out = new Violations(maxErrors);
  try {
    check(value, () => '$', out);
  } catch (e) {
    if (e !== Violations.FULL) throw e;
  }
  return out.list;
}

/** The violations found so far; the walk stops (FULL is thrown) once there are enough. */
class Violations {
  static readonly FULL = new Error('enough violations');
  readonly list: string[] = [];
  constructor(private readonly max: number) {}
  add(message: string): void {
    this.list.push(message);
    if (this.list.length >= this.max) throw Violations.FULL;
  }
}

function typeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' && Number.isInteger(v) ? 'integer' : typeof v;
}

function compile(root: Schema): Check {
  const refs = new Map<string, Check>();
  const byRef = (ref: string): Check => {
    let c = refs.get(ref);
    if (!c) {
      let target: Check | undefined;
      // set before compiling, so a schema that refers to itself compiles
      refs.set(ref, (c = (v, path, out) => target!(v, path, out)));
      target = node(ref.replace(/^#\//, '').split('/').reduce<unknown>((s, k) => (s as Schema)[k], root) as Schema);
    }
    return c;
  };

  const node = (s: Schema): Check => {
    if (typeof s.$ref === 'string') return byRef(s.$ref);
    const checks: Check[] = [];
    if ('const' in s) {
      const want = s.const;
      checks.push((v, path, out) => {
        if (v !== want) out.add(`${path()}: expected ${JSON.stringify(want)}, found ${JSON.stringify(v)}`);
      });
    }
    if (Array.isArray(s.enum)) {
      const allowed = s.enum as unknown[];
      checks.push((v, path, out) => {
        if (!allowed.includes(v)) out.add(`${path()}: ${JSON.stringify(v)} is not one of ${allowed.map((x) => JSON.stringify(x)).join(', ')}`);
      });
    }
    let types: string[] | null = null;
    if (s.type !== undefined) types = (Array.isArray(s.type) ? s.type : [s.type]) as string[];
    if (typeof s.minimum === 'number') {
      const min = s.minimum;
      checks.push((v, path, out) => {
        if (typeof v === 'number' && v < min) out.add(`${path()}: ${v} is below the minimum ${min}`);
      });
    }
    if (typeof s.pattern === 'string') {
      const re = new RegExp(s.pattern, 'u');
      checks.push((v, path, out) => {
        if (typeof v === 'string' && !re.test(v)) out.add(`${path()}: ${JSON.stringify(v)} does not match ${re.source}`);
      });
    }
    const required = (s.required as string[] | undefined) ?? [];
    const props = new Map(Object.entries((s.properties as Record<string, Schema> | undefined) ?? {}).map(([k, p]) => [k, node(p)]));
    const extra = s.additionalProperties === false ? false : s.additionalProperties && typeof s.additionalProperties === 'object' ? node(s.additionalProperties as Schema) : null;
    if (required.length || props.size || extra !== null) {
      checks.push((v, path, out) => {
        if (!v || typeof v !== 'object' || Array.isArray(v)) return;
        const o = v as Record<string, unknown>;
        for (const r of required) if (!Object.hasOwn(o, r)) out.add(`${path()}: missing ${r}`);
        for (const k in o) {
          if (!Object.hasOwn(o, k)) continue;
          const p = props.get(k);
          if (p) p(o[k], () => `${path()}.${k}`, out);
          else if (extra === false) out.add(`${path()}: unexpected property ${k}`);
          else if (extra) extra(o[k], () => `${path()}.${k}`, out);
        }
      });
    }
    if (s.items && typeof s.items === 'object') {
      const item = node(s.items as Schema);
      checks.push((v, path, out) => {
        if (!Array.isArray(v)) return;
        for (let i = 0; i < v.length; i++) item(v[i], () => `${path()}[${i}]`, out);
      });
    }
    return (v, path, out) => {
      if (types) {
        const t = typeOf(v);
        if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) {
          out.add(`${path()}: ${t === 'undefined' ? 'missing' : `a ${t}`}, expected ${types.join(' or ')}`);
          return;
        }
      }
      for (const c of checks) c(v, path, out);
    };
  };
  return node(root);
}
