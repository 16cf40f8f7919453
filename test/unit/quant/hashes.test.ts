// Component hashes of quantised files cover everything their values depend on: two files with the same codes but
// another scale or absmax hash differently; a byte copy hashes the same.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { componentHashes } from '../../../src/compute/analysis/hashes';
import { writeBnb4bit, writeScaledFp8, type SourceTensor } from '../../fixtures/quantisedSafetensors';
import { tmpDir } from '../../helpers/tmp';

const dir = tmpDir('modeldiff-qhash-');
const P = 'model.diffusion_model.';
const MODEL: SourceTensor[] = [{ name: `${P}out.0.weight`, shape: [8, 64], values: Array.from({ length: 512 }, (_, i) => Math.sin(i) * 0.1) }];

/** The file at `from` with the float32 at the n-th occurrence of `bytes` changed. */
function patchFloat(from: string, to: string, find: (buf: Buffer) => number): void {
  const b = Buffer.from(readFileSync(from));
  const at = find(b);
  b.writeFloatLE(b.readFloatLE(at) * 2, at);
  writeFileSync(to, b);
}

/** Byte offset of tensor `name`'s data in a safetensors file. */
function dataOffset(buf: Buffer, name: string): number {
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString()) as Record<string, { data_offsets: [number, number] }>;
  return 8 + n + header[name]!.data_offsets[0];
}

describe('component hashes of quantised files', () => {
  it('scaled fp8: same codes, another scale -> another hash; a copy -> the same', async () => {
    const a = join(dir, 'a.safetensors');
    writeScaledFp8(a, MODEL, 'scale_weight');
    copyFileSync(a, join(dir, 'a2.safetensors'));
    patchFloat(a, join(dir, 'b.safetensors'), (buf) => dataOffset(buf, `${P}out.0.scale_weight`));
    const [ha, ha2, hb] = await Promise.all(['a', 'a2', 'b'].map((f) => componentHashes(join(dir, `${f}.safetensors`))));
    assert.equal(ha!['unet']!.sha256, ha2!['unet']!.sha256);
    assert.notEqual(ha!['unet']!.sha256, hb!['unet']!.sha256);
  });

  it('NF4: same codes, another absmax -> another hash', async () => {
    const a = join(dir, 'n.safetensors');
    writeBnb4bit(a, MODEL);
    patchFloat(a, join(dir, 'm.safetensors'), (buf) => dataOffset(buf, `${P}out.0.weight.absmax`));
    const [ha, hb] = await Promise.all(['n', 'm'].map((f) => componentHashes(join(dir, `${f}.safetensors`))));
    assert.notEqual(ha!['unet']!.sha256, hb!['unet']!.sha256);
  });
});
