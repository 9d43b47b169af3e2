/**
 * Every kernel Distillery registers for the wasm backend, against the cpu backend on random inputs.
 * Tolerances: float32 results of differently ordered sums (XNNPACK vs the cpu backend's loops);
 * atol 1e-4 plus rtol 1e-4 unless stated.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { WASM_KERNEL_NAMES, wasmKernelTuning } from '../../../src-main/engine/backend/wasm/kernels.ts';
import { onBoth, randomArray, randomTensor, useWasm, worstError } from './helpers.ts';

beforeAll(async () => {
  await useWasm();
});

describe('registration', () => {
  it('registers our kernels for wasm, including the missing Conv2DBackpropFilter', () => {
    for (const name of ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'BatchMatMul', 'Sum', 'Mean', 'Identity', 'MaxPoolGrad', 'Slice', 'SplitV', 'PadV2']) {
      expect(WASM_KERNEL_NAMES).toContain(name);
      expect(tf.getKernel(name, 'wasm')).toBeDefined();
    }
  });
});

type Pad = 'same' | 'valid';
interface ConvCase { n: number; h: number; w: number; ci: number; co: number; k: [number, number]; s: number; pad: Pad }

const convCases: ConvCase[] = [];
for (const pad of ['same', 'valid'] as Pad[]) {
  for (const s of [1, 2]) {
    for (const [h, w] of [[9, 7], [8, 8]] as const) {
      convCases.push({ n: 3, h, w, ci: 3, co: 5, k: [3, 3], s, pad });
    }
    convCases.push({ n: 2, h: 11, w: 10, ci: 2, co: 4, k: [5, 5], s, pad });
    convCases.push({ n: 2, h: 7, w: 9, ci: 4, co: 3, k: [1, 1], s, pad });
  }
}
// Shapes of our models: LeNet5's convolutions (5×5 valid, input gradients by GEMM + SIMD col2im; the
// last one is dense-like), a
// ResNet-style 1×1 stride-2 shortcut, the generator's 3×3 same.
convCases.push({ n: 4, h: 32, w: 32, ci: 1, co: 6, k: [5, 5], s: 1, pad: 'valid' });
convCases.push({ n: 2, h: 14, w: 14, ci: 6, co: 16, k: [5, 5], s: 1, pad: 'valid' });
convCases.push({ n: 4, h: 5, w: 5, ci: 16, co: 12, k: [5, 5], s: 1, pad: 'valid' });
convCases.push({ n: 3, h: 4, w: 6, ci: 5, co: 7, k: [4, 6], s: 1, pad: 'valid' });
convCases.push({ n: 2, h: 16, w: 16, ci: 8, co: 16, k: [1, 1], s: 2, pad: 'valid' });
convCases.push({ n: 2, h: 18, w: 18, ci: 8, co: 8, k: [3, 3], s: 2, pad: 'valid' });
convCases.push({ n: 2, h: 16, w: 16, ci: 16, co: 8, k: [3, 3], s: 1, pad: 'same' });
// Few output channels (the generator's last conv, 64 → 1): the swapped-roles formulation.
convCases.push({ n: 3, h: 9, w: 7, ci: 8, co: 1, k: [3, 3], s: 1, pad: 'same' });
convCases.push({ n: 2, h: 10, w: 9, ci: 12, co: 3, k: [5, 5], s: 1, pad: 'valid' });
convCases.push({ n: 2, h: 8, w: 8, ci: 8, co: 2, k: [4, 4], s: 1, pad: 'same' });
convCases.push({ n: 2, h: 8, w: 8, ci: 8, co: 2, k: [4, 4], s: 2, pad: 'same' });

describe('Conv2D gradients (Conv2DBackpropFilter, Conv2DBackpropInput) match the cpu backend', () => {
  it.each(convCases)('x %j', async (c) => {
    const xs = [c.n, c.h, c.w, c.ci];
    const fs = [c.k[0], c.k[1], c.ci, c.co];
    const xv = randomArray(xs.reduce((a, b) => a * b), 1);
    const fv = randomArray(fs.reduce((a, b) => a * b), 2);
    const { wasm, cpu } = await onBoth(() => {
      const x = tf.tensor4d(xv, xs as [number, number, number, number]);
      const f = tf.tensor4d(fv, fs as [number, number, number, number]);
      const y = tf.conv2d(x, f, c.s, c.pad);
      const r = randomTensor(y.shape, 3);
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad), r)));
      const [dx, df] = g([x, f]);
      return [y, dx!, df!];
    });
    for (let i = 0; i < 3; i++) expect(worstError(wasm[i]!, cpu[i]!, 1e-4, 1e-4), ['y', 'dx', 'dfilter'][i]).toBeLessThanOrEqual(1);
  });

  it('chunks the batch of the filter gradient without changing the result', async () => {
    const saved = { ...wasmKernelTuning };
    wasmKernelTuning.filterGradChunkMinOutputRows = 0; // chunk even small filters
    try {
      for (const c of [convCases[0]!, convCases[3]!, convCases[convCases.length - 6]!]) {
        const x = randomArray(c.n * c.h * c.w * c.ci, 41);
        const dyShape = tf.tidy(() => tf.conv2d(tf.zeros([c.n, c.h, c.w, c.ci]) as tf.Tensor4D, tf.zeros([...c.k, c.ci, c.co]) as tf.Tensor4D, c.s, c.pad).shape);
        const dy = randomArray(dyShape.reduce((a, b) => a * b), 42);
        const grad = async (rows: number): Promise<Float32Array> => {
          wasmKernelTuning.filterGradChunkRows = rows;
          const { wasm } = await onBoth(() => tf.engine().runKernel('Conv2DBackpropFilter',
            { x: tf.tensor4d(x, [c.n, c.h, c.w, c.ci]), dy: tf.tensor4d(dy, dyShape) },
            { strides: c.s, pad: c.pad, dataFormat: 'NHWC', filterShape: [...c.k, c.ci, c.co] }) as tf.Tensor);
          return wasm[0]!;
        };
        const whole = await grad(1e9);
        const perSample = await grad(1); // one sample per chunk
        expect(worstError(perSample, whole, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
      }
    } finally {
      Object.assign(wasmKernelTuning, saved);
    }
  });

  it('computes the kernels directly (not only through tf.grads)', async () => {
    const { wasm, cpu } = await onBoth(() => {
      const x = randomTensor([2, 9, 9, 3], 4) as tf.Tensor4D;
      const dy = randomTensor([2, 5, 5, 4], 5) as tf.Tensor4D;
      const f = randomTensor([3, 3, 3, 4], 6) as tf.Tensor4D;
      const df = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 4] }) as tf.Tensor;
      const dx = tf.conv2dTranspose(dy, f, [2, 9, 9, 3], 2, 'same');
      return [df, dx];
    });
    expect(worstError(wasm[0]!, cpu[0]!, 1e-4, 1e-4)).toBeLessThanOrEqual(1);
    expect(worstError(wasm[1]!, cpu[1]!, 1e-4, 1e-4)).toBeLessThanOrEqual(1);
  });
});

describe('BatchMatMul with transposes', () => {
  it.each([
    [false, false], [true, false], [false, true], [true, true],
  ])('transposeA=%s transposeB=%s, 2-D and batched 3-D', async (ta, tb) => {
    const { wasm, cpu } = await onBoth(() => {
      const a2 = randomTensor(ta ? [7, 5] : [5, 7], 7) as tf.Tensor2D;
      const b2 = randomTensor(tb ? [3, 7] : [7, 3], 8) as tf.Tensor2D;
      const a3 = randomTensor(ta ? [4, 9, 6] : [4, 6, 9], 9) as tf.Tensor3D;
      const b3 = randomTensor(tb ? [4, 2, 9] : [4, 9, 2], 10) as tf.Tensor3D;
      return [tf.matMul(a2, b2, ta, tb), tf.matMul(a3, b3, ta, tb)];
    });
    expect(worstError(wasm[0]!, cpu[0]!, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
    expect(worstError(wasm[1]!, cpu[1]!, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
  });
});

describe('Sum and Mean over leading axes', () => {
  const cases: [number[], number | number[] | undefined, boolean][] = [
    [[4, 5, 6, 7], [0, 1, 2], false],
    [[4, 5, 6, 7], [0, 1, 2], true],
    [[4, 5, 6, 7], [2, 1, 0], false],
    [[4, 5, 6, 7], [-4, -3], false],
    [[37, 10], 0, false],
    [[37, 10], [0], true],
    [[3, 5, 7], [0, 1], false],
    [[64, 8, 8, 32], [0, 1, 2], false],
    // Not leading axes, or all axes: the stock kernel (still checked).
    [[4, 5, 6, 7], [1, 2], false],
    [[4, 5, 6, 7], [3], true],
    [[4, 5, 6], undefined, false],
  ];
  it.each(cases)('shape %j axis %j keepDims %s', async (shape, axis, keepDims) => {
    const { wasm, cpu, shapes } = await onBoth(() => {
      const x = randomTensor(shape, 11);
      return [tf.sum(x, axis, keepDims), tf.mean(x, axis, keepDims)];
    });
    expect(shapes[0]).toEqual(shapes[1]);
    const n = shape.reduce((a, b) => a * b, 1);
    // Sums of up to 16k terms in float32 in a different order: scale atol with √n.
    expect(worstError(wasm[0]!, cpu[0]!, 2e-6 * Math.sqrt(n) + 1e-5, 1e-4)).toBeLessThanOrEqual(1);
    expect(worstError(wasm[1]!, cpu[1]!, 1e-5, 1e-4)).toBeLessThanOrEqual(1);
  });

  it('leaves int32 sums exact', async () => {
    const { wasm } = await onBoth(() => tf.sum(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), 0));
    expect(Array.from(wasm[0]!)).toEqual([9, 12]);
  });
});

describe('Slice, SplitV and PadV2 (block copies) equal the cpu backend exactly', () => {
  // Blocks that cut the innermost axis, cut a middle axis under whole trailing axes, span whole
  // tensors, have zero size; ranks 1 to 5; float32, int32 and bool.
  const sliceCases: { shape: number[]; begin: number[]; size: number[] }[] = [
    { shape: [7], begin: [2], size: [4] },
    { shape: [5, 6], begin: [1, 0], size: [3, 6] },
    { shape: [5, 6], begin: [0, 2], size: [5, 3] },
    { shape: [4, 9, 9, 1], begin: [0, 0, 1, 0], size: [4, 9, 8, 1] },
    { shape: [4, 9, 9, 1], begin: [0, 2, 0, 0], size: [4, 7, 9, 1] },
    { shape: [3, 6, 5, 4], begin: [1, 1, 2, 1], size: [2, 4, 3, 2] },
    { shape: [3, 6, 5, 4], begin: [0, 0, 0, 0], size: [3, 6, 5, 4] },
    { shape: [3, 6, 5, 4], begin: [2, 0, 0, 0], size: [1, -1, -1, -1] },
    { shape: [3, 6, 5, 4], begin: [0, 3, 0, 0], size: [3, 0, 5, 4] },
    { shape: [2, 3, 4, 5, 6], begin: [1, 0, 1, 2, 0], size: [1, 3, 2, 3, 6] },
  ];
  const dtypes = ['float32', 'int32', 'bool'] as const;
  const make = (shape: number[], dtype: (typeof dtypes)[number], seed: number) => {
    const v = randomArray(shape.reduce((a, b) => a * b, 1), seed);
    if (dtype === 'float32') return tf.tensor(v, shape);
    return dtype === 'bool' ? tf.tensor(Array.from(v, (a) => a > 0), shape, 'bool') : tf.tensor(Array.from(v, (a) => Math.round(a * 100)), shape, 'int32');
  };

  it.each(sliceCases.flatMap((c) => dtypes.map((dtype) => ({ ...c, dtype }))))('slice %j', async (c) => {
    const { wasm, cpu } = await onBoth(() => tf.slice(make(c.shape, c.dtype, 3), c.begin, c.size));
    expect(Array.from(wasm[0]!)).toEqual(Array.from(cpu[0]!));
  });

  it.each([
    { shape: [4, 9, 9, 1], splits: [8, 1], axis: 2 },
    { shape: [4, 9, 9, 1], splits: [2, 7], axis: 1 },
    { shape: [3, 6, 5, 4], splits: [1, 2, 1], axis: 3 },
    { shape: [3, 6, 5, 4], splits: 3, axis: 0 },
    { shape: [3, 6, 5, 4], splits: [0, 5], axis: 2 },
    { shape: [6, 10], splits: [3, -1], axis: 1 },
  ])('split %j', async (c) => {
    for (const dtype of dtypes) {
      const { wasm, cpu } = await onBoth(() => tf.split(make(c.shape, dtype, 4), c.splits, c.axis));
      expect(wasm.map((a) => Array.from(a))).toEqual(cpu.map((a) => Array.from(a)));
    }
  });

  it.each([
    { shape: [4, 9, 9, 1], paddings: [[0, 0], [1, 0], [0, 1], [0, 0]], value: 0 },
    { shape: [3, 6, 5, 4], paddings: [[1, 2], [0, 0], [3, 1], [0, 2]], value: -1.5 },
    { shape: [3, 6, 5, 4], paddings: [[0, 0], [0, 0], [0, 0], [0, 0]], value: 0 },
    { shape: [5, 6], paddings: [[2, 0], [0, 0]], value: 7 },
    { shape: [7], paddings: [[0, 3]], value: 1 },
    { shape: [2, 0, 3], paddings: [[1, 1], [1, 1], [0, 0]], value: 2 },
  ])('pad %j', async (c) => {
    for (const dtype of dtypes) {
      const value = dtype === 'int32' ? Math.round(c.value) : dtype === 'bool' ? Number(c.value !== 0) : c.value;
      const { wasm, cpu } = await onBoth(() => tf.pad(make(c.shape, dtype, 5), c.paddings as Array<[number, number]>, value));
      expect(Array.from(wasm[0]!)).toEqual(Array.from(cpu[0]!));
    }
  });
});

describe('Identity', () => {
  it('shares data instead of copying, and the copy outlives the original', async () => {
    await tf.setBackend('wasm');
    const buffers = (): number => (tf.memory() as unknown as { numDataBuffers: number }).numDataBuffers;
    const x = tf.tensor1d([1, 2, 3]);
    const before = buffers();
    const y = tf.clone(x);
    expect(buffers()).toBe(before); // one buffer for both tensors
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1, 2, 3]);
    y.dispose();
    expect(buffers()).toBe(before - 1);
  });
});

describe('pooling and resize gradients', () => {
  const poolCases: { shape: number[]; size: number; stride: number; pad: Pad }[] = [
    { shape: [3, 28, 28, 6], size: 2, stride: 2, pad: 'valid' },
    { shape: [2, 9, 7, 4], size: 2, stride: 2, pad: 'valid' },
    { shape: [2, 9, 7, 4], size: 2, stride: 2, pad: 'same' },
    { shape: [2, 9, 9, 3], size: 3, stride: 2, pad: 'same' },
    { shape: [2, 8, 8, 3], size: 3, stride: 1, pad: 'valid' },
  ];
  it.each(poolCases)('max and avg pool %j', async (c) => {
    const { wasm, cpu } = await onBoth(() => {
      const x = randomTensor(c.shape, 12) as tf.Tensor4D;
      const gm = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, c.size, c.stride, c.pad), 1.5)));
      const ga = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(a as tf.Tensor4D, c.size, c.stride, c.pad), 1.5)));
      return [gm(x), ga(x)];
    });
    expect(worstError(wasm[0]!, cpu[0]!, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
    expect(worstError(wasm[1]!, cpu[1]!, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
  });

  it('routes a max-pool gradient to the first maximum on ties, like the cpu backend', async () => {
    const { wasm, cpu } = await onBoth(() => {
      const x = tf.tensor4d([1, 1, 0, 0, 1, 1, 0, 0], [1, 2, 4, 1]);
      return tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid')))(x);
    });
    expect(Array.from(wasm[0]!)).toEqual(Array.from(cpu[0]!));
    expect(Array.from(wasm[0]!)).toEqual([1, 0, 1, 0, 0, 0, 0, 0]);
  });

  // The cpu backend's ResizeNearestNeighborGrad is itself wrong for some shapes (e.g. 5×6 → 10×12),
  // so the reference here is a brute-force sum over each input pixel's 2×2 block.
  it.each([[5, 6], [8, 8], [16, 16]])('nearest-neighbour upsampling ×2 of %i×%i (vs brute force)', async (h, w) => {
    await tf.setBackend('wasm');
    const x = randomTensor([2, h, w, 3], 13) as tf.Tensor4D;
    const rv = randomArray(2 * 2 * h * 2 * w * 3, 14);
    const r = tf.tensor4d(rv, [2, 2 * h, 2 * w, 3]);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [2 * h, 2 * w]), r)))(x);
    const got = Float32Array.from(await g.data());
    tf.dispose([x, r, g]);
    const want = new Float32Array(2 * h * w * 3);
    for (let b = 0; b < 2; b++) for (let i = 0; i < 2 * h; i++) for (let j = 0; j < 2 * w; j++) for (let c = 0; c < 3; c++) {
      want[((b * h + (i >> 1)) * w + (j >> 1)) * 3 + c]! += rv[((b * 2 * h + i) * 2 * w + j) * 3 + c]!;
    }
    expect(worstError(got, want, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
  });

  // Windows that do not overlap take a faster path (maxPoolGradDisjoint; 2×2/2 without padding: the
  // SIMD kernel in simd/train_kernels.wat, vectors of 4 channels with an overlapping last one, a
  // scalar loop below 4 channels, odd last rows/columns left zero): exact routing, padding included.
  // `special` puts NaN, ±∞ and −0 into the input and −0 into the incoming gradient.
  it.each([
    { shape: [2, 28, 28, 6], size: 2, stride: 2, pad: 'valid' as Pad },
    { shape: [2, 9, 7, 1], size: 2, stride: 2, pad: 'valid' as Pad, special: true },
    { shape: [2, 6, 6, 3], size: 2, stride: 2, pad: 'valid' as Pad, special: true },
    { shape: [1, 6, 8, 4], size: 2, stride: 2, pad: 'valid' as Pad, special: true },
    { shape: [1, 5, 6, 5], size: 2, stride: 2, pad: 'valid' as Pad, special: true },
    { shape: [2, 10, 10, 16], size: 2, stride: 2, pad: 'valid' as Pad, special: true },
    { shape: [2, 9, 7, 4], size: 2, stride: 2, pad: 'same' as Pad },
    { shape: [2, 10, 11, 3], size: 2, stride: 3, pad: 'valid' as Pad },
    { shape: [1, 7, 8, 2], size: 3, stride: 3, pad: 'same' as Pad },
  ])('max-pool gradients with disjoint windows %j equal a brute-force reference exactly', async (c) => {
    await tf.setBackend('wasm');
    const [n, h, w, ch] = c.shape as [number, number, number, number];
    // Many ties (ReLU-like zeros) to exercise the first-maximum rule.
    const specials = [Number.NaN, -Infinity, Infinity, -0];
    const xv = randomArray(n * h * w * ch, 15).map((v, i) => (c.special && i % 7 === 3 ? specials[(i >> 3) % 4]! : Math.max(0, v)));
    const x = tf.tensor4d(xv, [n, h, w, ch]);
    const y = tf.maxPool(x, c.size, c.stride, c.pad);
    const rv = randomArray(y.size, 16).map((v, i) => (c.special && i % 5 === 2 ? -0 : v));
    const r = tf.tensor(rv, y.shape);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, c.size, c.stride, c.pad), r)))(x);
    const got = Float32Array.from(await g.data());
    const info = tf.backend_util.computePool2DInfo([n, h, w, ch], c.size, c.stride, 1, c.pad);
    tf.dispose([x, y, r, g]);
    const want = new Float32Array(xv.length);
    const at = (b: number, i: number, j: number, k: number): number => ((b * h + i) * w + j) * ch + k;
    for (let b = 0; b < n; b++) for (let oi = 0; oi < info.outHeight; oi++) for (let oj = 0; oj < info.outWidth; oj++) for (let k = 0; k < ch; k++) {
      let best = -Infinity;
      let pos = -1;
      for (let u = 0; u < c.size; u++) for (let v = 0; v < c.size; v++) {
        const i = oi * c.stride - info.padInfo.top + u;
        const j = oj * c.stride - info.padInfo.left + v;
        if (i < 0 || j < 0 || i >= h || j >= w) continue;
        if (xv[at(b, i, j, k)]! > best) { best = xv[at(b, i, j, k)]!; pos = at(b, i, j, k); }
      }
      if (pos >= 0) want[pos]! += rv[((b * info.outHeight + oi) * info.outWidth + oj) * ch + k]!;
    }
    expect(Array.from(got)).toEqual(Array.from(want));
  });

  it('max-pool gradients with overlapping windows match a brute-force reference', async () => {
    await tf.setBackend('wasm');
    const [n, h, w, c] = [2, 8, 8, 3];
    const xv = randomArray(n * h * w * c, 12);
    const x = tf.tensor4d(xv, [n, h, w, c]);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 3, 1, 'valid')))(x);
    const got = Float32Array.from(await g.data());
    tf.dispose([x, g]);
    const want = new Float32Array(xv.length);
    const at = (b: number, i: number, j: number, k: number): number => ((b * h + i) * w + j) * c + k;
    for (let b = 0; b < n; b++) for (let i = 0; i + 3 <= h; i++) for (let j = 0; j + 3 <= w; j++) for (let k = 0; k < c; k++) {
      let best = -Infinity;
      let pos = -1;
      for (let u = 0; u < 3; u++) for (let v = 0; v < 3; v++) if (xv[at(b, i + u, j + v, k)]! > best) { best = xv[at(b, i + u, j + v, k)]!; pos = at(b, i + u, j + v, k); }
      want[pos]! += 1;
    }
    expect(Array.from(got)).toEqual(Array.from(want));
  });
});
