import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDataset, openImageFolder } from '../../../src-main/engine/data/index.ts';
import { tempDir } from '../../temp-dirs.ts';

const dir = tempDir('distillery-folder-');

function png(path: string, w: number, h: number, rgba: (x: number, y: number) => [number, number, number, number], colorType: 0 | 2 | 6 = 6): void {
  const img = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img.data.set(rgba(x, y), (y * w + x) * 4);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, PNG.sync.write(img, { colorType, inputColorType: 6 }));
}

function jpg(path: string, w: number, h: number, rgb: (x: number, y: number) => [number, number, number]): void {
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([...rgb(x, y), 255], (y * w + x) * 4);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, jpeg.encode({ width: w, height: h, data }, 100).data);
}

describe('image folders (one sub-folder per class)', () => {
  it('reads PNG and JPEG, classes sorted by name, RGB channels-last', () => {
    const root = join(dir, 'rgb');
    const red = (x: number, y: number): [number, number, number, number] => [200, (x * 10) % 256, y * 5, 255];
    png(join(root, 'dog', 'b.png'), 8, 6, red, 2);
    png(join(root, 'cat', 'a.png'), 8, 6, () => [10, 20, 30, 255], 6);
    jpg(join(root, 'cat', 'c.jpg'), 8, 6, () => [120, 60, 30]);
    writeFileSync(join(root, 'cat', 'notes.txt'), 'not an image');
    const ds = openImageFolder(root);
    expect(ds.classNames).toEqual(['cat', 'dog']);
    expect(ds.size).toBe(3);
    expect(Array.from(ds.labels)).toEqual([0, 0, 1]);
    expect(ds.shape).toEqual([6, 8, 3]);
    const out = new Uint8Array(3 * 6 * 8 * 3);
    ds.read([2, 0, 1], out);
    // dog/b.png, pixel (x=3, y=2)
    expect(Array.from(out.subarray((2 * 8 + 3) * 3, (2 * 8 + 3) * 3 + 3))).toEqual([200, 30, 10]);
    expect(Array.from(out.subarray(6 * 8 * 3, 6 * 8 * 3 + 3))).toEqual([10, 20, 30]);
    // JPEG is lossy: close to the flat colour.
    const j = Array.from(out.subarray(2 * 6 * 8 * 3, 2 * 6 * 8 * 3 + 3));
    [120, 60, 30].forEach((v, i) => expect(Math.abs(j[i]! - v)).toBeLessThanOrEqual(3));
  });

  it('grayscale PNGs give one channel; other sizes are resized to the dataset\'s', () => {
    const root = join(dir, 'gray');
    png(join(root, '0', 'x.png'), 4, 4, (x) => [x * 60, x * 60, x * 60, 255], 0);
    png(join(root, '1', 'y.png'), 8, 8, () => [77, 77, 77, 255], 0);
    const ds = openImageFolder(root);
    expect(ds.shape).toEqual([4, 4, 1]);
    const out = new Uint8Array(2 * 16);
    ds.read([0, 1], out);
    expect(Array.from(out.subarray(0, 4))).toEqual([0, 60, 120, 180]);
    expect(Array.from(out.subarray(16))).toEqual(new Array(16).fill(77)); // 8×8 flat → 4×4 flat
    const rgb = openImageFolder(root, { channels: 3, size: [2, 2] });
    expect(rgb.shape).toEqual([2, 2, 3]);
  });

  it('uses train/ and test/ sub-folders for the splits, and explains a folder without classes', async () => {
    const root = join(dir, 'split');
    png(join(root, 'train', 'a', '1.png'), 3, 3, () => [1, 2, 3, 255], 2);
    png(join(root, 'train', 'b', '1.png'), 3, 3, () => [1, 2, 3, 255], 2);
    png(join(root, 'test', 'a', '1.png'), 3, 3, () => [1, 2, 3, 255], 2);
    png(join(root, 'test', 'b', '1.png'), 3, 3, () => [1, 2, 3, 255], 2);
    png(join(root, 'test', 'b', '2.png'), 3, 3, () => [1, 2, 3, 255], 2);
    expect((await openDataset(`folder:${root}`, 'train')).size).toBe(2);
    expect((await openDataset(root, 'test')).size).toBe(3);
    const flat = join(dir, 'flat');
    png(join(flat, 'only', '1.png'), 3, 3, () => [1, 2, 3, 255], 2);
    await expect(openDataset(`folder:${flat}`, 'train')).rejects.toThrow(/has 1 class sub-folder/);
  });
});
