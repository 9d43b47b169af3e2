import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDataset, openSvhnMat, readMatVariables } from '../../../src-main/engine/data/index.ts';
import { DistilleryError } from '../../../src-main/engine/errors.ts';
import { cifarBatch, doubles, matFile, writeFile, type MatVar } from './formats.ts';
import { tempDir } from '../../temp-dirs.ts';

const dir = tempDir('distillery-cifar-svhn-');

describe('CIFAR-10 binary batches', () => {
  const pixel = (batch: number) => (n: number, c: number, p: number): number => (batch * 50 + n * 13 + c * 80 + p) % 256;
  it('reads labels and turns the R, G, B planes into channels-last pixels across batch files', async () => {
    const root = join(dir, 'cifar-10-batches-bin');
    const counts = [3, 2, 4, 1, 2];
    counts.forEach((n, b) => writeFile(join(root, `data_batch_${b + 1}.bin`), cifarBatch(Array.from({ length: n }, (_, i) => (b + i) % 10), pixel(b))));
    writeFile(join(root, 'test_batch.bin'), cifarBatch([9, 8, 7], pixel(9)));
    writeFileSync(join(root, 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');
    const train = await openDataset(`cifar10:${dir}`, 'train'); // the parent of cifar-10-batches-bin works too
    expect(train.size).toBe(12);
    expect(train.shape).toEqual([32, 32, 3]);
    expect(train.classNames[9]).toBe('truck');
    expect(Array.from(train.labels)).toEqual([0, 1, 2, 1, 2, 2, 3, 4, 5, 3, 4, 5]);
    // Samples 2..4 span data_batch_1 (last) and data_batch_2 (both).
    const out = new Uint8Array(3 * 3072);
    train.read([2, 3, 4], out);
    const expectPixel = (s: number, batch: number, n: number): void => {
      for (const p of [0, 1, 33, 1023]) for (let c = 0; c < 3; c++) expect(out[s * 3072 + p * 3 + c]).toBe(pixel(batch)(n, c, p));
    };
    expectPixel(0, 0, 2);
    expectPixel(1, 1, 0);
    expectPixel(2, 1, 1);
    train.close();
    const test = await openDataset(root, 'test');
    expect(Array.from(test.labels)).toEqual([9, 8, 7]);
    test.close();
  });

  it('rejects files that are not whole CIFAR-10 records', async () => {
    const root = join(dir, 'bad-cifar');
    writeFile(join(root, 'test_batch.bin'), new Uint8Array(3073 * 2 + 1));
    await expect(openDataset(`cifar10:${root}`, 'test')).rejects.toThrow(/not a whole number of 3073-byte/);
    writeFile(join(root, 'test_batch.bin'), cifarBatch([11], () => 0));
    await expect(openDataset(`cifar10:${root}`, 'test')).rejects.toThrow(/label 11/);
  });
});

describe('SVHN cropped digits (level-5 MAT-files)', () => {
  const H = 32;
  const W = 32;
  const C = 3;
  const N = 5;
  // X(i, j, k, n) in MATLAB's column-major order.
  const value = (i: number, j: number, k: number, n: number): number => (i * 7 + j * 3 + k * 50 + n * 11) % 256;
  const X = Buffer.alloc(H * W * C * N);
  for (let n = 0; n < N; n++) for (let k = 0; k < C; k++) for (let j = 0; j < W; j++) for (let i = 0; i < H; i++) X[i + H * j + H * W * k + H * W * C * n] = value(i, j, k, n);
  const yLabels = [10, 1, 5, 9, 10];

  const variants: [string, (compressed: boolean) => MatVar[]][] = [
    ['y stored as doubles', (compressed) => [
      { name: '__header_note', mxClass: 6, dims: [1, 3], dataType: 9, data: doubles([1, 2, 3]), compressed },
      { name: 'X', mxClass: 9, dims: [H, W, C, N], dataType: 2, data: X, compressed },
      { name: 'y', mxClass: 6, dims: [N, 1], dataType: 9, data: doubles(yLabels), compressed },
    ]],
    ['y a double array stored compactly as uint8 (as MATLAB does)', (compressed) => [
      { name: 'y', mxClass: 6, dims: [N, 1], dataType: 2, data: Buffer.from(yLabels), compressed },
      { name: 'X', mxClass: 9, dims: [H, W, C, N], dataType: 2, data: X, compressed },
    ]],
  ];

  for (const compressed of [true, false]) {
    for (const [what, vars] of variants) {
      it(`${compressed ? 'miCOMPRESSED' : 'uncompressed'} file, ${what}: pixels channels-last, label 10 → 0`, async () => {
        const file = join(dir, `svhn-${compressed}-${what.length}.mat`);
        writeFile(file, matFile(vars(compressed)));
        const ds = await openSvhnMat(file);
        expect(ds.size).toBe(N);
        expect(ds.shape).toEqual([32, 32, 3]);
        expect(Array.from(ds.labels)).toEqual([0, 1, 5, 9, 0]);
        const out = new Uint8Array(2 * H * W * C);
        ds.read([3, 1], out);
        [3, 1].forEach((n, s) => {
          for (const [i, j] of [[0, 0], [0, 1], [1, 0], [31, 17], [5, 31]] as const) {
            for (let k = 0; k < C; k++) expect(out[s * H * W * C + (i * W + j) * C + k]).toBe(value(i, j, k, n));
          }
        });
        ds.close();
      });
    }
  }

  it('finds test_32x32.mat in a folder, skips other variables, and explains v7.3 files', async () => {
    const folder = join(dir, 'svhn');
    writeFile(join(folder, 'test_32x32.mat'), matFile(variants[0]![1](true)));
    const ds = await openDataset(`svhn:${folder}`, 'test');
    expect(ds.size).toBe(N);
    ds.close();
    const vars = await readMatVariables(join(folder, 'test_32x32.mat'), ['y']);
    expect([...vars.keys()]).toEqual(['y']);
    await expect(readMatVariables(join(folder, 'test_32x32.mat'), ['Z'])).rejects.toThrow(/no variable 'Z'/);
    const v73 = Buffer.alloc(512, 0x20);
    v73.write('MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Nov 23 2026 HDF5 schema 1.00 .');
    writeFile(join(dir, 'v73.mat'), v73);
    const error = await openSvhnMat(join(dir, 'v73.mat')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DistilleryError);
    expect((error as DistilleryError).message).toMatch(/7\.3 \(HDF5\)/);
    const corrupt = Buffer.from(matFile(variants[0]![1](true)));
    corrupt.fill(0x55, 300, 400);
    writeFile(join(dir, 'corrupt.mat'), corrupt);
    await expect(openSvhnMat(join(dir, 'corrupt.mat'))).rejects.toThrow(DistilleryError);
  });
});
