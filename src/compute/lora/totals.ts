/**
 * Per-key pair results summed into N x N totals per group (a component, a merge block, the whole model). A LoRA
 * that does not change a key has a zero delta there: against it the squared distance is the other's squared norm
 * and the inner product is 0. Each term is added as it is (no subtraction of totals), so no cancellation enters.
 * Two LoRAs that change a key as weights of different shapes are not comparable in that group: distance() is null.
 */
import type { KeyPairs } from './pairwise';

export interface GroupTotals {
  keys: number;
  /** n x n, upper triangle (i < j): sum of squared distances. */
  d2: Float64Array;
  /** n x n, upper triangle: sum of inner products. */
  dot: Float64Array;
  /** Per model: sum of squared norms. */
  norm2: Float64Array;
  /** n x n, upper triangle: keys on which both changed the weight and the deltas differ beyond rounding. */
  differentKeys: Uint32Array;
  /** n x n, upper triangle: 1 when the two change a key of the group as weights of different shapes. */
  notComparable: Uint8Array;
}

export class PairTotals {
  readonly groups = new Map<string, GroupTotals>();

  constructor(readonly n: number) {}

  private group(name: string): GroupTotals {
    let g = this.groups.get(name);
    if (!g) {
      const n = this.n;
      this.groups.set(name, (g = { keys: 0, d2: new Float64Array(n * n), dot: new Float64Array(n * n), norm2: new Float64Array(n), differentKeys: new Uint32Array(n * n), notComparable: new Uint8Array(n * n) }));
    }
    return g;
  }

  /** Adds one key's results to `group`. */
  add(kp: KeyPairs, group: string): void {
    const n = this.n;
    const g = this.group(group);
    g.keys++;
    const m = kp.members.length;
    const slot = new Int32Array(n).fill(-1);
    kp.members.forEach((model, x) => (slot[model] = x));
    for (const i of kp.members) for (const j of kp.incomparable) g.notComparable[Math.min(i, j) * n + Math.max(i, j)] = 1;
    const elsewhere = new Set(kp.incomparable);
    for (let x = 0; x < m; x++) g.norm2[kp.members[x]!] += kp.norm2[x]!;
    for (let i = 0; i < n; i++) {
      const x = slot[i]!;
      for (let j = i + 1; j < n; j++) {
        const y = slot[j]!;
        if (x < 0 && y < 0) continue;
        // a LoRA in `incomparable` is not absent here: its change is counted in its own shape's KeyPairs
        if ((x < 0 && elsewhere.has(i)) || (y < 0 && elsewhere.has(j))) continue;
        const at = i * n + j;
        if (x >= 0 && y >= 0) {
          const [lo, hi] = x < y ? [x, y] : [y, x];
          g.d2[at] += kp.d2[lo * m + hi]!;
          g.dot[at] += kp.dot[lo * m + hi]!;
          if (!kp.same[lo * m + hi]) g.differentKeys[at]++;
        } else {
          g.d2[at] += kp.norm2[x >= 0 ? x : y]!;
          if (kp.norm2[x >= 0 ? x : y]! > 0) g.differentKeys[at]++;
        }
      }
    }
  }

  /** ||dW_i - dW_j|| over a group, 0 for i === j, null when not comparable (a key changed as weights of different shapes). */
  distance(group: string, i: number, j: number): number | null {
    if (i === j) return 0;
    const g = this.groups.get(group);
    if (!g) return 0;
    const [lo, hi] = i < j ? [i, j] : [j, i];
    if (g.notComparable[lo * this.n + hi]) return null;
    return Math.sqrt(Math.max(0, g.d2[lo * this.n + hi]!));
  }

  /** The two LoRAs make the same delta, to float rounding, on every key of the group. */
  sameDelta(group: string, i: number, j: number): boolean {
    if (i === j) return true;
    const g = this.groups.get(group);
    if (!g) return true;
    const [lo, hi] = i < j ? [i, j] : [j, i];
    return g.differentKeys[lo * this.n + hi] === 0 && !g.notComparable[lo * this.n + hi];
  }
}
