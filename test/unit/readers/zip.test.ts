// The zip reader: central directory as the source of truth, ZIP64 records and fields, data offsets from local headers.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { ModeldiffError } from '../../../src/shared/errors';
import { readStoredRecord, readZipDirectory } from '../../../src/compute/readers/pytorch/zip';
import { tmpDir } from '../../helpers/tmp';
import { buildZip, type ZipWriterEntry, type ZipWriterOptions } from '../../fixtures/zipWriter';

const dir = tmpDir();
let n = 0;
const enc = new TextEncoder();

async function read(entries: ZipWriterEntry[], opts: ZipWriterOptions = {}) {
  const z = buildZip(entries, opts);
  const path = join(dir, `${n++}.zip`);
  writeFileSync(path, z.bytes);
  const handle = await open(path, 'r');
  try {
    const archive = await readZipDirectory(handle, z.bytes.length, path);
    const records = await Promise.all(archive.entries.map((e) => readStoredRecord(handle, e, path, 1 << 20)));
    return { z, archive, records };
  } finally {
    await handle.close();
  }
}

const sample: ZipWriterEntry[] = [
  { name: 'archive/data.pkl', data: enc.encode('pickle bytes') },
  { name: 'archive/data/0', data: new Uint8Array(100).fill(7) },
  { name: 'archive/version', data: enc.encode('3\n') },
];

describe('zip reader', () => {
  it('finds every record where the writer put it (64-byte aligned, as torch pads them)', async () => {
    const { z, archive, records } = await read(sample);
    assert.deepEqual(archive.entries.map((e) => [e.name, e.dataStart, e.uncompressedSize, e.crc32]), z.entries.map((e, i) => [e.name, e.dataStart, e.dataLength, crc32(sample[i]!.data)]));
    for (const e of archive.entries) assert.equal(e.dataStart % 64, 0);
    records.forEach((r, i) => assert.deepEqual(r, sample[i]!.data));
    assert.equal(archive.byName.get('archive/data/0')!.flags, 0x0808);
  });

  it('reads sizes and offsets from ZIP64 extra fields', async () => {
    const { z, archive } = await read(sample.map((e) => ({ ...e, zip64Extra: true })));
    assert.deepEqual(archive.entries.map((e) => e.dataStart), z.entries.map((e) => e.dataStart));
  });

  it('reads classic archives and archives with a comment; a comment posing as the end record is refused', async () => {
    await read(sample, { classic: true });
    const { archive } = await read(sample, { comment: enc.encode('PK\x05\x06 is in this comment') });
    assert.equal(archive.entries.length, 3);
    const fake = Uint8Array.of(0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0));
    await assert.rejects(read(sample, { comment: fake }), (e: unknown) => e instanceof ModeldiffError && e.code === 'ZIP_INVALID');
  });

  it('reads records that are not aligned', async () => {
    const { records } = await read(sample.map((e) => ({ ...e, noPadding: true })));
    records.forEach((r, i) => assert.deepEqual(r, sample[i]!.data));
  });

  it('refuses to read a compressed record in place', async () => {
    await assert.rejects(read([{ ...sample[0]!, method: 8 }]), (e: unknown) => e instanceof ModeldiffError && e.code === 'ZIP_UNSUPPORTED' && /compressed/.test(e.message));
  });

  it('declared entry counts the directory cannot hold are refused before reading it', async () => {
    await assert.rejects(read(sample, { classic: true, entryCount: 60000 }), (e: unknown) => e instanceof ModeldiffError && e.code === 'ZIP_INVALID' && /60000 entries in a central directory of only/.test(e.message));
  });
});
