/**
 * The SIMD training kernels (src-main/engine/backend/wasm/simd): the committed binary is what
 * train_kernels.wat compiles to; both variants (shared memory for the threaded tfjs build, plain
 * memory for the single-threaded one) run and agree; the running backend gets its instance.
 * Their results against the cpu backend and brute force are in wasm-kernels.test.ts (max-pool).
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileTrainKernels, GENERATED_FILE, renderGeneratedModule } from '../../../src-main/engine/backend/wasm/simd/compile.ts';
import { asPermuteRQP, instantiateTrainKernels, pointer, trainKernels, wasmApi, type WasmMemory } from '../../../src-main/engine/backend/wasm/simd/index.ts';
import { randomArray, useWasm } from './helpers.ts';

beforeAll(async () => {
  await useWasm();
});

/** maxPoolGrad2x2 of one random [2, 7, 9, 6] input in a fresh memory; returns dx. */
function runMaxPoolGrad(memory: WasmMemory): Float32Array {
  const [n, h, w, c, oh, ow] = [2, 7, 9, 6, 3, 4];
  const k = instantiateTrainKernels(memory);
  const f32 = new Float32Array(memory.buffer);
  const x = 1024;
  const dy = x + n * h * w * c * 4;
  const dx = dy + n * oh * ow * c * 4;
  f32.set(randomArray(n * h * w * c, 5), x / 4);
  f32.set(randomArray(n * oh * ow * c, 6), dy / 4);
  f32.fill(7, dx / 4, dx / 4 + n * h * w * c); // the last row/column, which no window covers, stays 7
  k.maxPoolGrad2x2(dx, x, dy, n, h, w, c, oh, ow);
  return f32.slice(dx / 4, dx / 4 + n * h * w * c);
}

describe('SIMD training kernels', () => {
  it('the committed binary is train_kernels.wat compiled', async () => {
    expect(readFileSync(GENERATED_FILE, 'utf8')).toBe(renderGeneratedModule(await compileTrainKernels()));
  });

  it('the shared-memory and plain-memory builds compute the same', () => {
    const shared = runMaxPoolGrad(new wasmApi.Memory({ initial: 2, maximum: 65536, shared: true }));
    const plain = runMaxPoolGrad(new wasmApi.Memory({ initial: 2 }));
    expect(Array.from(plain)).toEqual(Array.from(shared));
    // Each covered 2×2 window has exactly one non-zero (random values: no ties); row 6 and column 8 untouched.
    const [h, w, c] = [7, 9, 6];
    let nonZero = 0;
    let untouched = 0;
    plain.forEach((v, i) => {
      const col = Math.floor(i / c) % w;
      const row = Math.floor(i / (c * w)) % h;
      if (row === 6 || col === 8) untouched += v === 7 ? 1 : 0;
      else if (v !== 0) nonZero++;
    });
    expect(nonZero).toBe(2 * 3 * 4 * 6);
    expect(untouched).toBe(2 * (w + h - 1) * c);
  });

  it('recognises the permutations permuteRQP does', () => {
    expect(asPermuteRQP([8, 5, 5, 3], [3, 1, 2, 0])).toEqual([8, 25, 3, 1]); // NHWC → CHWN
    // NHWC → HWNC: P = ∅, Q = N, R = HW is an equally valid split of it.
    expect(asPermuteRQP([8, 5, 5, 3], [1, 2, 0, 3])).toEqual([1, 8, 25, 3]);
    expect(asPermuteRQP([4, 6, 7], [1, 0, 2])).toEqual([1, 4, 6, 7]);
    expect(asPermuteRQP([4, 6, 7], [0, 2, 1])).toBeNull();
    expect(asPermuteRQP([2, 3, 4, 5], [0, 1, 2, 3])).toEqual([1, 1, 1, 120]); // identity: all in S
  });

  // Block sizes S of 1–9 floats cover every tail of the copy (16-, 8- and 4-byte moves).
  it.each([
    { shape: [7, 3, 4, 5], perm: [3, 1, 2, 0] },
    { shape: [9, 2, 3, 1], perm: [3, 1, 2, 0] },
    ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((c) => ({ shape: [6, 3, 2, c], perm: [1, 2, 0, 3] })),
    { shape: [5, 11, 6], perm: [1, 0, 2] },
  ])('permuteRQP equals the stock Transpose for %j', ({ shape, perm }) => {
    const backend = tf.backend() as BackendWasm;
    const kernels = trainKernels(backend)!;
    const x = tf.tensor(randomArray(shape.reduce((a, b) => a * b, 1), 9), shape);
    const want = tf.transpose(x, perm); // tf.transpose runs the stock kernel: ours is internal
    const out = tf.zeros(want.shape).add(0); // a buffer of its own to write into
    kernels.permuteRQP(pointer(backend, out), pointer(backend, x), ...asPermuteRQP(shape, perm)!);
    expect(Array.from(out.dataSync())).toEqual(Array.from(want.dataSync()));
    tf.dispose([x, want, out]);
  });

  it('attaches to the running wasm backend', () => {
    expect(tf.getBackend()).toBe('wasm');
    const backend = tf.backend() as BackendWasm;
    const kernels = trainKernels(backend);
    expect(kernels).not.toBeNull();
    expect(trainKernels(backend)).toBe(kernels);
  });
});
