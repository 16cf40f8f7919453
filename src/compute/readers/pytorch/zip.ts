import type { FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { ModeldiffError, throwIfAborted } from '../../../shared/errors';
import { readRange } from '../../io/fileRange';

/**
 * A zip reader for checkpoints: the central directory is authoritative (ZIP64 end records, locator and extra
 * fields included); a local header is read only for its name (which must agree) and its lengths, which give
 * where the record's bytes start. Entries must be unique, in bounds, non-overlapping and unencrypted. Every read
 * is bounded by sizes checked against the file first.
 */

export interface ZipEntry {
  name: string;
  /** 0 = STORED, 8 = DEFLATE... */
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
  /** Absolute offset of the record's first byte. */
  dataStart: number;
}

export interface ZipArchive {
  /** In central-directory order. */
  entries: ZipEntry[];
  byName: Map<string, ZipEntry>;
}

export const MAX_ZIP_ENTRIES = 1_000_000;
export const MAX_CENTRAL_DIRECTORY_BYTES = 256 * 1024 * 1024;

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const LOCATOR_SIZE = 20;
const ZIP64_EOCD_MIN = 56;
const LOCAL_SIZE = 30;
const CENTRAL_SIZE = 46;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;

const FLAG_ENCRYPTED = 0x1;
const FLAG_PATCHED = 0x20;
const FLAG_STRONG_ENCRYPTION = 0x40;

const utf8 = new TextDecoder('utf-8', { fatal: true });

interface EndRecord {
  count: number;
  cdSize: number;
  cdOffset: number;
  /** Where the central directory must end: the ZIP64 end record, or the classic one. */
  cdEnd: number;
}

export async function readZipDirectory(handle: FileHandle, fileSize: number, path: string, signal?: AbortSignal): Promise<ZipArchive> {
  const fail = (problem: string, details?: Record<string, unknown>): never => {
    throw new ModeldiffError('ZIP_INVALID', `the zip archive is malformed: ${problem}`, { file: path, details });
  };
  const end = await readEndRecord(handle, fileSize, path, fail);
  if (end.count > MAX_ZIP_ENTRIES) {
    throw new ModeldiffError('ZIP_UNSUPPORTED', `the zip archive declares ${end.count} entries, more than the ${MAX_ZIP_ENTRIES} allowed`, { file: path });
  }
  if (end.cdSize > MAX_CENTRAL_DIRECTORY_BYTES) {
    throw new ModeldiffError('ZIP_UNSUPPORTED', `the zip central directory is ${end.cdSize} bytes, more than the ${MAX_CENTRAL_DIRECTORY_BYTES} allowed`, { file: path });
  }
  if (end.count * CENTRAL_SIZE > end.cdSize) fail(`it declares ${end.count} entries in a central directory of only ${end.cdSize} bytes`);
  throwIfAborted(signal);
  const cd = await readRange(handle, end.cdOffset, end.cdSize, path, 'ZIP_INVALID', 'the zip central directory');
  const entries = parseCentralDirectory(cd, end, fileSize, fail);
  const byName = new Map<string, ZipEntry>();
  for (const e of entries) {
    if (byName.has(e.name)) fail(`the entry "${e.name}" appears twice, so which one counts is ambiguous`, { entry: e.name });
    byName.set(e.name, e);
  }
  throwIfAborted(signal);
  await locateData(handle, entries, end.cdOffset, path, fail, signal);
  return { entries, byName };
}

async function readEndRecord(handle: FileHandle, fileSize: number, path: string, fail: (p: string, d?: Record<string, unknown>) => never): Promise<EndRecord> {
  if (fileSize < EOCD_SIZE) fail(`the file has only ${fileSize} bytes, too few for a zip archive`);
  const tailLength = Math.min(fileSize, EOCD_SIZE + U16_MAX + LOCATOR_SIZE);
  const tailStart = fileSize - tailLength;
  const tail = await readRange(handle, tailStart, tailLength, path, 'ZIP_INVALID', 'the zip end record');
  const tv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let at = -1;
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    // The comment length must reach exactly to the end of the file, so a signature inside a comment does not count.
    if (tv.getUint32(i, true) === SIG_EOCD && i + EOCD_SIZE + tv.getUint16(i + 20, true) === tail.length) {
      at = i;
      break;
    }
  }
  if (at < 0) fail('it has no end-of-central-directory record: the file is truncated or not a zip archive');
  const eocdPos = tailStart + at;
  const disk = tv.getUint16(at + 4, true);
  const cdDisk = tv.getUint16(at + 6, true);
  const countOnDisk = tv.getUint16(at + 8, true);
  const count16 = tv.getUint16(at + 10, true);
  const cdSize32 = tv.getUint32(at + 12, true);
  const cdOffset32 = tv.getUint32(at + 16, true);

  const locAt = at - LOCATOR_SIZE;
  const hasLocator = locAt >= 0 && tv.getUint32(locAt, true) === SIG_ZIP64_LOCATOR;
  if (!hasLocator) {
    if (count16 === U16_MAX || cdSize32 === U32_MAX || cdOffset32 === U32_MAX) fail('its end record points to ZIP64 fields but there is no ZIP64 locator');
    if (disk !== 0 || cdDisk !== 0 || countOnDisk !== count16) throw new ModeldiffError('ZIP_UNSUPPORTED', 'is a multi-part (split) zip archive, which is not supported', { file: path });
    if (cdOffset32 + cdSize32 !== eocdPos) fail(`its central directory (bytes ${cdOffset32} to ${cdOffset32 + cdSize32}) does not end where the end record starts (byte ${eocdPos})`);
    return { count: count16, cdSize: cdSize32, cdOffset: cdOffset32, cdEnd: eocdPos };
  }

  const locatorPos = tailStart + locAt;
  const zip64Disk = tv.getUint32(locAt + 4, true);
  const zip64Offset = tv.getBigUint64(locAt + 8, true);
  const disks = tv.getUint32(locAt + 16, true);
  if (zip64Disk !== 0 || disks > 1) throw new ModeldiffError('ZIP_UNSUPPORTED', 'is a multi-part (split) zip archive, which is not supported', { file: path });
  if (zip64Offset + BigInt(ZIP64_EOCD_MIN) > BigInt(locatorPos)) fail(`its ZIP64 locator points to byte ${zip64Offset}, where no ZIP64 end record fits`);
  const z64Pos = Number(zip64Offset);
  const z = await readRange(handle, z64Pos, ZIP64_EOCD_MIN, path, 'ZIP_INVALID', 'the ZIP64 end record');
  const zv = new DataView(z.buffer, z.byteOffset, z.byteLength);
  if (zv.getUint32(0, true) !== SIG_ZIP64_EOCD) fail(`its ZIP64 locator points to byte ${z64Pos}, which is not a ZIP64 end record`);
  const recordSize = zv.getBigUint64(4, true);
  if (BigInt(z64Pos) + 12n + recordSize !== BigInt(locatorPos)) fail('its ZIP64 end record does not end where the ZIP64 locator starts');
  const z64Disk = zv.getUint32(16, true);
  const z64CdDisk = zv.getUint32(20, true);
  const z64CountOnDisk = zv.getBigUint64(24, true);
  const z64Count = zv.getBigUint64(32, true);
  const z64CdSize = zv.getBigUint64(40, true);
  const z64CdOffset = zv.getBigUint64(48, true);
  if (z64Disk !== 0 || z64CdDisk !== 0 || z64CountOnDisk !== z64Count) throw new ModeldiffError('ZIP_UNSUPPORTED', 'is a multi-part (split) zip archive, which is not supported', { file: path });
  if (z64CdOffset + z64CdSize !== BigInt(z64Pos)) fail(`its central directory (bytes ${z64CdOffset} to ${z64CdOffset + z64CdSize}) does not end where the ZIP64 end record starts (byte ${z64Pos})`);
  // Both end records are read by different zip readers; when they disagree, which one counts is ambiguous.
  const disagree =
    (count16 !== U16_MAX && BigInt(count16) !== z64Count) ||
    (cdSize32 !== U32_MAX && BigInt(cdSize32) !== z64CdSize) ||
    (cdOffset32 !== U32_MAX && BigInt(cdOffset32) !== z64CdOffset);
  if (disagree) fail('its classic and ZIP64 end records disagree about the central directory');
  if (z64Count > BigInt(MAX_ZIP_ENTRIES)) {
    throw new ModeldiffError('ZIP_UNSUPPORTED', `the zip archive declares ${z64Count} entries, more than the ${MAX_ZIP_ENTRIES} allowed`, { file: path });
  }
  return { count: Number(z64Count), cdSize: Number(z64CdSize), cdOffset: Number(z64CdOffset), cdEnd: z64Pos };
}

function parseCentralDirectory(cd: Uint8Array, end: EndRecord, fileSize: number, fail: (p: string, d?: Record<string, unknown>) => never): ZipEntry[] {
  const v = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < end.count; i++) {
    if (p + CENTRAL_SIZE > cd.length) fail(`its central directory ends after ${i} of ${end.count} entries`);
    if (v.getUint32(p, true) !== SIG_CENTRAL) fail(`central directory entry ${i} has a bad signature`);
    const flags = v.getUint16(p + 8, true);
    const method = v.getUint16(p + 10, true);
    const crc = v.getUint32(p + 16, true);
    let compressedSize = v.getUint32(p + 20, true);
    let uncompressedSize = v.getUint32(p + 24, true);
    const nameLength = v.getUint16(p + 28, true);
    const extraLength = v.getUint16(p + 30, true);
    const commentLength = v.getUint16(p + 32, true);
    let diskStart = v.getUint16(p + 34, true);
    let localHeaderOffset = v.getUint32(p + 42, true);
    const next = p + CENTRAL_SIZE + nameLength + extraLength + commentLength;
    if (next > cd.length) fail(`central directory entry ${i} runs past the end of the directory`);
    const nameBytes = cd.subarray(p + CENTRAL_SIZE, p + CENTRAL_SIZE + nameLength);
    let name: string;
    try {
      name = utf8.decode(nameBytes);
    } catch {
      return fail(`the name of entry ${i} is not valid UTF-8`, { entry: i });
    }
    checkName(name, fail);

    // ZIP64 extended information: present only for the fields that overflowed, in this fixed order.
    const extraStart = p + CENTRAL_SIZE + nameLength;
    let zip64 = false;
    const extraEnd = extraStart + extraLength;
    for (let e = extraStart; e < extraEnd; ) {
      if (e + 4 > extraEnd) fail(`the extra field of "${name}" is cut short`);
      const id = v.getUint16(e, true);
      const size = v.getUint16(e + 2, true);
      if (e + 4 + size > extraEnd) fail(`the extra field of "${name}" runs past its end`);
      if (id === 0x0001) {
        zip64 = true;
        let q = e + 4;
        const take = (what: string): number => {
          if (q + 8 > e + 4 + size) fail(`the ZIP64 field of "${name}" lacks its ${what}`);
          const x = v.getBigUint64(q, true);
          q += 8;
          if (x > BigInt(Number.MAX_SAFE_INTEGER)) fail(`"${name}" declares a ${what} of ${x} bytes, larger than any real file`);
          return Number(x);
        };
        if (uncompressedSize === U32_MAX) uncompressedSize = take('size');
        if (compressedSize === U32_MAX) compressedSize = take('compressed size');
        if (localHeaderOffset === U32_MAX) localHeaderOffset = take('offset');
        if (diskStart === U16_MAX) {
          if (q + 4 > e + 4 + size) fail(`the ZIP64 field of "${name}" lacks its disk number`);
          diskStart = v.getUint32(q, true);
        }
      }
      e += 4 + size;
    }
    if (!zip64 && (uncompressedSize === U32_MAX || compressedSize === U32_MAX || localHeaderOffset === U32_MAX)) {
      fail(`the entry "${name}" has a size or offset of 0xFFFFFFFF but no ZIP64 field with the real value`, { entry: name });
    }
    if (diskStart !== 0) throw new ModeldiffError('ZIP_UNSUPPORTED', 'is a multi-part (split) zip archive, which is not supported');
    if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION)) throw new ModeldiffError('ZIP_UNSUPPORTED', `the zip entry "${name}" is encrypted, which a checkpoint never is`);
    if (flags & FLAG_PATCHED) throw new ModeldiffError('ZIP_UNSUPPORTED', `the zip entry "${name}" uses patched data, which is not supported`);
    if (localHeaderOffset + LOCAL_SIZE > end.cdOffset || compressedSize > fileSize) {
      fail(`the entry "${name}" lies outside the file's data area`, { entry: name, offset: localHeaderOffset, size: compressedSize });
    }
    entries.push({ name, method, flags, crc32: crc, compressedSize, uncompressedSize, localHeaderOffset, dataStart: -1 });
    p = next;
  }
  if (p !== cd.length) fail(`its central directory has ${cd.length - p} bytes after the last of its ${end.count} entries`);
  return entries;
}

/** Names must be plain relative paths: no absolute paths, backslashes, empty, `.` or `..` segments, or control characters. */
function checkName(name: string, fail: (p: string, d?: Record<string, unknown>) => never): void {
  const bad =
    name.length === 0 ||
    name.startsWith('/') ||
    name.includes('\\') ||
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f]/.test(name) ||
    name.split('/').some((seg, i, all) => seg === '..' || seg === '.' || (seg === '' && i !== all.length - 1));
  if (bad) fail(`the entry name ${JSON.stringify(name.slice(0, 200))} is not a plain relative path`, { entry: name.slice(0, 200) });
}

/** Reads each local header for its lengths, then checks that records neither overlap nor leave the data area. */
async function locateData(handle: FileHandle, entries: ZipEntry[], cdOffset: number, path: string, fail: (p: string, d?: Record<string, unknown>) => never, signal?: AbortSignal): Promise<void> {
  const encoder = new TextEncoder();
  for (const e of entries) {
    throwIfAborted(signal);
    const nameBytes = encoder.encode(e.name);
    const h = await readRange(handle, e.localHeaderOffset, LOCAL_SIZE + nameBytes.length, path, 'ZIP_INVALID', `the local header of "${e.name}"`);
    const hv = new DataView(h.buffer, h.byteOffset, h.byteLength);
    if (hv.getUint32(0, true) !== SIG_LOCAL) fail(`the local header of "${e.name}" (byte ${e.localHeaderOffset}) has a bad signature`, { entry: e.name });
    const flags = hv.getUint16(6, true);
    const method = hv.getUint16(8, true);
    const nameLength = hv.getUint16(26, true);
    const extraLength = hv.getUint16(28, true);
    if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION)) throw new ModeldiffError('ZIP_UNSUPPORTED', `the zip entry "${e.name}" is encrypted, which a checkpoint never is`, { file: path });
    if (method !== e.method) fail(`the entry "${e.name}" has compression method ${e.method} in the directory but ${method} in its local header`, { entry: e.name });
    const sameName = nameLength === nameBytes.length && h.subarray(LOCAL_SIZE).every((b, i) => b === nameBytes[i]);
    if (!sameName) fail(`the local header at byte ${e.localHeaderOffset} names a different file than the directory entry "${e.name}"`, { entry: e.name });
    e.dataStart = e.localHeaderOffset + LOCAL_SIZE + nameLength + extraLength;
    if (e.dataStart + e.compressedSize > cdOffset) {
      fail(`the data of "${e.name}" (bytes ${e.dataStart} to ${e.dataStart + e.compressedSize}) runs past the data area, which ends at byte ${cdOffset}`, { entry: e.name });
    }
  }
  const byOffset = entries.slice().sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  if (byOffset.length > 0 && byOffset[0]!.localHeaderOffset !== 0) fail(`its first entry starts at byte ${byOffset[0]!.localHeaderOffset}, not at the start of the file`);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1]!;
    const cur = byOffset[i]!;
    if (cur.localHeaderOffset < prev.dataStart + prev.compressedSize) {
      fail(`the entries "${prev.name}" and "${cur.name}" overlap`, { entries: [prev.name, cur.name] });
    }
  }
}

/**
 * The bytes of a small STORED record (data.pkl, version, byteorder), CRC-checked. Compressed records are refused:
 * PyTorch never writes them, and a deflated record can expand to any size.
 */
export async function readStoredRecord(handle: FileHandle, entry: ZipEntry, path: string, maxBytes: number): Promise<Uint8Array> {
  checkStored(entry, path);
  if (entry.uncompressedSize > maxBytes) {
    throw new ModeldiffError('PT_LIMIT', `the zip record "${entry.name}" is ${entry.uncompressedSize} bytes, more than the ${maxBytes} allowed`, { file: path });
  }
  const bytes = await readRange(handle, entry.dataStart, entry.uncompressedSize, path, 'ZIP_INVALID', `the zip record "${entry.name}"`);
  if (crc32(bytes) !== entry.crc32) {
    throw new ModeldiffError('ZIP_INVALID', `the zip record "${entry.name}" fails its CRC check: the file is damaged or was altered`, { file: path });
  }
  return bytes;
}

/** A record whose bytes are used in place must be stored uncompressed, with equal sizes. */
export function checkStored(entry: ZipEntry, path: string): void {
  if (entry.method !== 0) {
    throw new ModeldiffError(
      'ZIP_UNSUPPORTED',
      `the zip record "${entry.name}" is compressed (method ${entry.method}); PyTorch stores records uncompressed, and compressed records are refused because they can hide a zip bomb`,
      { file: path, details: { entry: entry.name, method: entry.method } },
    );
  }
  if (entry.compressedSize !== entry.uncompressedSize) {
    throw new ModeldiffError('ZIP_INVALID', `the zip archive is malformed: the stored record "${entry.name}" declares ${entry.compressedSize} stored bytes but a size of ${entry.uncompressedSize}`, {
      file: path,
    });
  }
}
