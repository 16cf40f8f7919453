/** The per-layer values a report embeds (src/shared/report.ts ReportLayers), read one pair at a time. Pure. */

/**
 * Column `column` (of `keys` little-endian float32 values) of a base64 plane, decoding only its own bytes: a report
 * of 232 models carries ~48 MiB of them, which took seconds to decode whole for the first pair shown.
 */
export function decodeColumn(b64: string, column: number, keys: number): Float32Array {
  const start = column * keys * 4;
  const end = start + keys * 4;
  // base64 encodes 3 bytes per 4 characters: decode the aligned span around the column
  const first = Math.floor(start / 3) * 3;
  const bin = atob(b64.slice((first / 3) * 4, Math.ceil(end / 3) * 4));
  const view = new DataView(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) view.setUint8(i, bin.charCodeAt(i));
  const out = new Float32Array(keys);
  for (let k = 0; k < keys; k++) out[k] = view.getFloat32(start - first + k * 4, true);
  return out;
}
