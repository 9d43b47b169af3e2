import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDataset, openIdxDataset, readIdxLabels } from '../../../src-main/engine/data/index.ts';
import { DistilleryError } from '../../../src-main/engine/errors.ts';
import { idxBytes, writeFile, writeIdx } from './formats.ts';
import { tempDir } from '../../temp-dirs.ts';

const dir = tempDir('distillery-idx-');

const N = 37;
const H = 5;
const W = 4;
const pixel = (n: number, i: number): number => (n * 31 + i * 7) % 256;
const images = Uint8Array.from({ length: N * H * W }, (_, k) => pixel(Math.floor(k / (H * W)), k % (H * W)));
const labels = Uint8Array.from({ length: N }, (_, n) => (n * 3) % 10);

describe('IDX files', () => {
  for (const gzip of [false, true]) {
    it(`reads ${gzip ? 'gzipped' : 'uncompressed'} images and labels in any order`, async () => {
      const sub = join(dir, gzip ? 'gz' : 'raw');
      writeIdx(join(sub, `train-images-idx3-ubyte${gzip ? '.gz' : ''}`), 0x08, [N, H, W], images, gzip);
      writeIdx(join(sub, `train-labels-idx1-ubyte${gzip ? '.gz' : ''}`), 0x08, [N], labels, gzip);
      writeIdx(join(sub, 't10k-images-idx3-ubyte'), 0x08, [2, H, W], images.subarray(0, 2 * H * W));
      writeIdx(join(sub, 't10k-labels-idx1-ubyte'), 0x08, [2], labels.subarray(0, 2));
      const ds = await openDataset(`idx:${sub}`, 'train');
      try {
        expect(ds.size).toBe(N);
        expect(ds.shape).toEqual([H, W, 1]);
        expect(Array.from(ds.labels)).toEqual(Array.from(labels));
        expect(ds.numClasses).toBe(10);
        const order = [36, 0, 1, 2, 17, 5, 6];
        const out = new Uint8Array(order.length * H * W);
        ds.read(order, out);
        order.forEach((n, s) => {
          for (let i = 0; i < H * W; i++) expect(out[s * H * W + i]).toBe(pixel(n, i));
        });
      } finally {
        ds.close();
      }
      const test = await openDataset(sub, 'test'); // a bare folder path is recognised
      expect(test.size).toBe(2);
      test.close();
    });
  }

  it('reads [N, rows, cols, channels] images and big-endian int32 labels', async () => {
    const imgs = Uint8Array.from({ length: 3 * 2 * 2 * 3 }, (_, i) => i);
    writeIdx(join(dir, 'rgb-images'), 0x08, [3, 2, 2, 3], imgs);
    const lab = Buffer.alloc(12);
    [2, 0, 1].forEach((v, i) => lab.writeInt32BE(v, 4 * i));
    writeIdx(join(dir, 'rgb-labels'), 0x0c, [3], lab);
    expect(Array.from(await readIdxLabels(join(dir, 'rgb-labels')))).toEqual([2, 0, 1]);
    const ds = await openIdxDataset(join(dir, 'rgb-images'), join(dir, 'rgb-labels'));
    expect(ds.shape).toEqual([2, 2, 3]);
    const out = new Uint8Array(12);
    ds.read([2], out);
    expect(Array.from(out)).toEqual(Array.from(imgs.subarray(24, 36)));
    ds.close();
  });

  it('rejects files that are not IDX, truncated, or disagree with their labels', async () => {
    const bad = async (name: string, bytes: Uint8Array, message: RegExp): Promise<void> => {
      writeFile(join(dir, name), bytes);
      const error = await openIdxDataset(join(dir, name), join(dir, 'raw', 'train-labels-idx1-ubyte')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DistilleryError);
      expect((error as DistilleryError).code).toBe('BAD_DATA');
      expect((error as Error).message).toMatch(message);
    };
    await bad('png-not-idx', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]), /not an IDX file/);
    await bad('truncated', idxBytes(0x08, [N, H, W], images.subarray(0, 100)), /truncated/);
    await bad('fewer-images', idxBytes(0x08, [N - 1, H, W], images.subarray(0, (N - 1) * H * W)), /36 images but 37 labels/);
    await bad('float-images', idxBytes(0x0d, [1, 1, 1], Buffer.alloc(4)), /must be uint8/);
  });
});
