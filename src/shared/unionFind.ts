/** Disjoint sets of 0..n-1 (path halving); each set is named by its smallest member. */
export class UnionFind {
  private readonly parent: number[];

  constructor(n: number) {
    this.parent = Array.from({ length: n }, (_, i) => i);
  }

  /** The smallest member of x's set. */
  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) {
      p[x] = p[p[x]!]!;
      x = p[x]!;
    }
    return x;
  }

  /** Joins the sets of a and b; false when they were one set already. */
  union(a: number, b: number): boolean {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return false;
    this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
    return true;
  }

  /** The set of every member, by its smallest member: roots()[i] === find(i). */
  roots(): number[] {
    return this.parent.map((_, i) => this.find(i));
  }

  /** Every set as its members in increasing order, the sets by their smallest member. */
  groups(): number[][] {
    const byRoot = new Map<number, number[]>();
    this.roots().forEach((r, i) => byRoot.set(r, [...(byRoot.get(r) ?? []), i]));
    return [...byRoot.values()].sort((x, y) => x[0]! - y[0]!);
  }
}
