/** Helpers for the model-file view. Pure. */

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Metadata values that hold JSON (kohya's ss_* fields, modelspec...) are shown indented; anything else as is. */
export function prettyMetadataValue(v: string): string {
  const t = v.trim();
  if (t.length < 2 || !((t.startsWith('{') && t.endsWith('}')) || (t.startsWith('[') && t.endsWith(']')))) return v;
  try {
    return JSON.stringify(JSON.parse(t), null, 2);
  } catch {
    return v;
  }
}
