/** Labels for the webview's shapes, dtypes and export file names (numbers: src/shared/format.ts). Pure: no DOM. */

/** "[320, 4, 3, 3]" */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** "bf16: 12, f32: 3", largest first. */
export function formatDtypes(dtypes: Record<string, number>): string {
  return Object.entries(dtypes)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
}

/** A file-name-safe fragment: "unet-l2-#0-vs-#1" -> "unet-l2-0-vs-1". */
export function slug(s: string): string {
  return (
    s
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 80) || 'export'
  );
}
