/** `n` values in [-1, 1) from an LCG seeded by `seed`: fast enough for tens of MB of fixtures, the same bytes on every machine. */
export function lcgValues(seed: number, n: number): Float64Array {
  const out = new Float64Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}
