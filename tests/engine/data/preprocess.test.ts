import { describe, expect, it } from 'vitest';
import { convertChannels, iterateBatches, Preprocessor, resizeImage, shuffledIndices, type ImageSource } from '../../../src-main/engine/data/index.ts';

function fakeSource(n: number, shape: [number, number, number]): ImageSource {
  const bytes = shape[0] * shape[1] * shape[2];
  return {
    description: 'fake',
    kind: 'idx',
    size: n,
    shape,
    labels: Int32Array.from({ length: n }, (_, i) => i % 3),
    numClasses: 3,
    classNames: ['a', 'b', 'c'],
    read(indices, out) {
      for (let s = 0; s < indices.length; s++) out.fill(indices[s]! % 256, s * bytes, (s + 1) * bytes);
    },
    close() {},
  };
}

describe('preprocessing', () => {
  it('bilinear resize keeps flat images flat and matches Pillow on a 2×2 → 4×4 ramp', () => {
    expect(Array.from(resizeImage(new Uint8Array(9).fill(42), [3, 3, 1], 7, 5))).toEqual(new Array(35).fill(42));
    // Output of Pillow 9.4.0: Image.fromarray(np.array([[0, 100], [200, 255]], np.uint8)).resize((4, 4), BILINEAR)
    const out = resizeImage(Uint8Array.from([0, 100, 200, 255]), [2, 2, 1], 4, 4);
    expect(Array.from(out)).toEqual([0, 25, 75, 100, 50, 72, 117, 139, 150, 167, 200, 216, 200, 214, 241, 255]);
  });

  it('channel conversion: gray → RGB replicates; RGB → gray uses ITU-R 601 luma like PIL', () => {
    expect(Array.from(convertChannels(Uint8Array.from([9, 200]), 2, 1, 3))).toEqual([9, 9, 9, 200, 200, 200]);
    expect(Array.from(convertChannels(Uint8Array.from([255, 0, 0, 0, 255, 0, 10, 10, 10]), 3, 3, 1))).toEqual([76, 150, 10]);
  });

  it('normalises per channel: (v/255 − mean) / std', () => {
    const pre = new Preprocessor([1, 1, 3], [1, 1, 3], { scale: 1 / 255, mean: [0.5, 0.25, 0], std: [0.5, 0.25, 1] });
    const x = pre.apply(Uint8Array.from([255, 0, 51]), 1);
    expect(x[0]).toBeCloseTo(1, 6);
    expect(x[1]).toBeCloseTo(-1, 6);
    expect(x[2]).toBeCloseTo(0.2, 6);
  });

  it('batches cover every sample once per epoch; shuffling is seeded; dropLast and limit apply', () => {
    const src = fakeSource(10, [2, 2, 1]);
    const pre = new Preprocessor(src.shape, [2, 2, 1], { scale: 1, mean: [0], std: [1] });
    const seen = [...iterateBatches(src, pre, { batchSize: 4, shuffleSeed: 7 })].flatMap((b) => {
      b.indices.forEach((idx, i) => {
        expect(b.x[i * 4]).toBe(idx);
        expect(b.y[i]).toBe(idx % 3);
      });
      return Array.from(b.indices);
    });
    expect([...seen].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(seen).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(shuffledIndices(10, 7))).toEqual(seen);
    expect(Array.from(shuffledIndices(10, 8))).not.toEqual(seen);
    expect([...iterateBatches(src, pre, { batchSize: 4, dropLast: true })].map((b) => b.size)).toEqual([4, 4]);
    expect([...iterateBatches(src, pre, { batchSize: 4, limit: 5 })].map((b) => b.size)).toEqual([4, 1]);
  });
});
