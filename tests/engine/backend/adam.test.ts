/**
 * FusedAdam (src-main/engine/backend/adam.ts) against tfjs's own Adam on the wasm backend: the same
 * variables, the same gradients, several steps with a learning-rate change and a variable without a
 * gradient; the variables, both moments and the β-powers must be bit-identical, the optimizer's
 * weights must round-trip through getWeights/setWeights, and no tensors may leak.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { adam, FusedAdam } from '../../../src-main/engine/backend/adam.ts';
import { setLearningRate } from '../../../src-main/engine/methods/common.ts';
import { profileKernels } from '../../../src-main/engine/backend/wasm/profile.ts';
import { randomArray, useWasm } from './helpers.ts';

beforeAll(async () => {
  await useWasm();
});

// Sizes of LeNet5's variables (the 2,400-value one is where XNNPACK's Square stalled) and odd ones.
const SHAPES = [[5, 5, 1, 6], [6], [5, 5, 6, 16], [400, 120], [84, 10], [7, 3]];

function makeVariables(tag: string): tf.Variable[] {
  return SHAPES.map((shape, i) => tf.variable(tf.tensor(randomArray(shape.reduce((a, b) => a * b, 1), 100 + i), shape), true, `${tag}/v${i}`));
}

function gradientsFor(vars: tf.Variable[], step: number): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  vars.forEach((v, i) => {
    if (i === 1 && step === 2) {
      // A variable without a gradient at one step (null keeps its position: tfjs's Adam indexes its
      // moments by position in the map, so leaving the key out would shift the others).
      out[v.name] = null as unknown as tf.Variable;
      return;
    }
    // Gradients over several magnitudes, including exact zeros.
    const g = randomArray(v.size, 1000 * step + i).map((x, k) => (k % 17 === 0 ? 0 : x * 10 ** ((k % 7) - 4)));
    out[v.name] = tf.tensor(g, v.shape) as tf.Variable; // applyGradients' type; it only reads
  });
  return out;
}

async function train(opt: tf.AdamOptimizer, tag: string): Promise<{ values: Float32Array[]; state: Float32Array[] }> {
  const vars = makeVariables(tag);
  for (let step = 0; step < 5; step++) {
    if (step === 3) setLearningRate(opt, 3e-4);
    const grads = gradientsFor(vars, step);
    opt.applyGradients(grads);
    tf.dispose(Object.values(grads));
  }
  const values = vars.map((v) => v.dataSync().slice() as Float32Array);
  const weights = await opt.getWeights();
  const state = weights.map((w) => w.tensor.dataSync().slice() as Float32Array);
  const priv = opt as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
  state.push(priv.accBeta1.dataSync().slice() as Float32Array, priv.accBeta2.dataSync().slice() as Float32Array);
  tf.dispose(weights.filter((w) => w.name === 'iter').map((w) => w.tensor));
  tf.dispose(vars);
  return { values, state };
}

describe('FusedAdam on wasm', () => {
  it('gives bit-identical variables and state to tf.train.adam', async () => {
    const ref = await train(tf.train.adam(1e-3, 0.9, 0.999, 1e-8), 'ref');
    const fused = await train(adam(1e-3, 0.9, 0.999, 1e-8), 'fused');
    expect(fused.values.length).toBe(SHAPES.length);
    fused.values.forEach((v, i) => expect(Buffer.from(v.buffer).equals(Buffer.from(ref.values[i]!.buffer)), `variable ${i}`).toBe(true));
    expect(fused.state.length).toBe(ref.state.length);
    fused.state.forEach((v, i) => expect(Buffer.from(v.buffer).equals(Buffer.from(ref.state[i]!.buffer)), `state ${i}`).toBe(true));
  });

  it('uses the default ε of tf.train.adam and keeps its class name (checkpoints)', () => {
    const opt = adam(0.01);
    expect(opt).toBeInstanceOf(FusedAdam);
    expect(opt.getClassName()).toBe('Adam');
    expect((opt as unknown as { epsilon: number }).epsilon).toBe((tf.train.adam(0.01) as unknown as { epsilon: number }).epsilon);
    opt.dispose();
  });

  it('runs no per-element kernels and leaks no tensors', () => {
    const vars = makeVariables('leak');
    const opt = adam(1e-3);
    const once = (): void => {
      const grads = gradientsFor(vars, 0);
      opt.applyGradients(grads);
      tf.dispose(Object.values(grads));
    };
    once();
    const before = tf.memory().numTensors;
    const prof = profileKernels('wasm');
    for (let i = 0; i < 20; i++) once();
    const kernels = prof.stats().map((s) => s.kernel);
    prof.stop();
    expect(tf.memory().numTensors).toBe(before);
    // Only the β-power updates remain (one Multiply each per step); no Square/Sqrt/RealDiv/Add.
    expect(kernels.filter((k) => k !== 'Multiply' && k !== 'Identity')).toEqual([]);
    opt.dispose();
    tf.dispose(vars);
  });
});
