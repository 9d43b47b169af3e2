/**
 * Helpers for the wasm kernel tests: run the same computation on the wasm backend (with
 * Distillery's kernels) and on the cpu backend (the reference), and compare.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src-main/engine/backend/index.ts';

export async function useWasm(): Promise<void> {
  await initBackend({ prefer: 'wasm' });
  await tf.setBackend('wasm');
}

/** A deterministic pseudo-random Float32Array in [-1, 1) (mulberry32). */
export function randomArray(size: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296 * 2 - 1;
  }
  return out;
}

export function randomTensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(randomArray(shape.reduce((a, b) => a * b, 1), seed), shape);
}

/**
 * Runs `f` on both backends with the same inputs (plain arrays); returns the outputs' values.
 * `f` builds its tensors from `inputs` itself so each backend computes from scratch.
 */
export async function onBoth(f: () => tf.Tensor | tf.Tensor[]): Promise<{ wasm: Float32Array[]; cpu: Float32Array[]; shapes: number[][] }> {
  const runOn = async (name: string): Promise<{ values: Float32Array[]; shapes: number[][] }> => {
    await tf.setBackend(name);
    const out = tf.tidy(f);
    const list = Array.isArray(out) ? out : [out];
    const values = await Promise.all(list.map(async (t) => Float32Array.from(await t.data())));
    const shapes = list.map((t) => t.shape);
    tf.dispose(list);
    return { values, shapes };
  };
  const w = await runOn('wasm');
  const c = await runOn('cpu');
  await tf.setBackend('wasm');
  for (let i = 0; i < w.shapes.length; i++) {
    if (JSON.stringify(w.shapes[i]) !== JSON.stringify(c.shapes[i])) {
      throw new Error(`output ${i}: wasm shape ${w.shapes[i]} vs cpu ${c.shapes[i]}`);
    }
  }
  return { wasm: w.values, cpu: c.values, shapes: w.shapes };
}

/** Largest |a−b| / (atol + rtol·|b|); ≤ 1 means within tolerance. */
export function worstError(a: Float32Array, b: Float32Array, atol: number, rtol: number): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i]! - b[i]!) / (atol + rtol * Math.abs(b[i]!));
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}
