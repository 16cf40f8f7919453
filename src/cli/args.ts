import { ModeldiffError } from '../compute';

export interface Parsed {
  positional: string[];
  flags: Map<string, string | true>;
}

/** Minimal GNU-style parsing: `--name value`, `--name=value`, boolean `--flag`; `--` ends options. */
export function parseArgs(argv: string[], booleans: readonly string[], valued: readonly string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('--') || a === '-') {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (booleans.includes(name)) {
      if (eq > 0) throw new ModeldiffError('USAGE', `--${name} takes no value`);
      flags.set(name, true);
    } else if (valued.includes(name)) {
      const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new ModeldiffError('USAGE', `--${name} needs a value`);
      flags.set(name, value);
    } else {
      throw new ModeldiffError('USAGE', `unknown option --${name}`);
    }
  }
  return { positional, flags };
}

export function intFlag(p: Parsed, name: string, min: number): number | undefined {
  const v = p.flags.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v === true || !Number.isInteger(n) || n < min) throw new ModeldiffError('USAGE', `--${name} needs a whole number >= ${min}`);
  return n;
}

export function stringFlag(p: Parsed, name: string): string | undefined {
  const v = p.flags.get(name);
  return v === true ? undefined : v;
}
