/**
 * Names that tell models apart: a model is shown by its file name unless another model has the same one, and then by
 * the shortest end of its path that no other model's path ends with ("a/m.safetensors" beside "b/m.safetensors").
 */

const SEPARATOR = /[\\/]/;

/** The path without trailing separators, and where each of its components starts, from the last one back. */
function components(path: string): { text: string; starts: number[] } {
  let end = path.length;
  while (end > 1 && SEPARATOR.test(path[end - 1]!)) end--;
  const text = path.slice(0, end);
  const starts: number[] = [];
  for (let i = text.length - 1; i >= 0; i--) if (SEPARATOR.test(text[i]!) && i + 1 < text.length) starts.push(i + 1);
  if (starts[starts.length - 1] !== 0) starts.push(0);
  return { text, starts };
}

/**
 * For each path, the shortest suffix of whole components that no other path in the list ends with (the file name
 * when it is unique); a path listed twice keeps its whole text. `/` and `\` count alike as separators.
 */
export function distinctPathSuffixes(paths: readonly string[]): string[] {
  const parts = paths.map(components);
  const suffix = (i: number, k: number) => {
    const { text, starts } = parts[i]!;
    return text.slice(starts[Math.min(k, starts.length) - 1]!);
  };
  const key = (i: number, k: number) => suffix(i, k).replace(/\\/g, '/');
  // only paths with the same file name can share a longer suffix
  const byName = new Map<string, number[]>();
  paths.forEach((_, i) => {
    const name = key(i, 1);
    const list = byName.get(name);
    if (list) list.push(i);
    else byName.set(name, [i]);
  });
  return paths.map((p, i) => {
    const same = byName.get(key(i, 1))!;
    if (same.length === 1) return suffix(i, 1);
    for (let k = 2; k <= parts[i]!.starts.length; k++) {
      const mine = key(i, k);
      if (same.every((j) => j === i || key(j, k) !== mine)) return suffix(i, k);
    }
    return p;
  });
}
