/**
 * patches/@tensorflow+tfjs-core+*.patch: the fused ops (conv2d, depthwiseConv2d, matMul, which
 * tfjs-layers' Conv2D and Dense use) go through customGrad, whose gradient function computed the
 * gradient of every input eagerly, so the input gradient of a model's first conv (and the filter
 * gradients of a frozen teacher) were computed and thrown away. Patched, customGrad accepts lazy
 * gradients (functions) and the fused ops return them, so the tape computes only what it needs.
 *
 * Checked here: the patch is installed; skipped work is skipped (kernel counts); the variable
 * gradients of a LeNet5 step are bit-identical whether or not the input gradient is also computed
 * (i.e. as before the patch, when it always was); the input gradient, when asked for, equals the
 * one of an unfused re-implementation (tf.conv2d + add: registered gradients, no customGrad).
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { profileKernels } from '../../../src-main/engine/backend/wasm/profile.ts';
import { buildLeNet5 } from '../../../src-main/engine/models/index.ts';
import { randomArray, randomTensor, useWasm, worstError } from './helpers.ts';

beforeAll(async () => {
  await useWasm();
});

const N = 8;

function setUp(): { model: tf.LayersModel; x: tf.Tensor4D; y: tf.Tensor2D; vars: tf.Variable[] } {
  const model = buildLeNet5({ inputShape: [32, 32, 1], numClasses: 10, seed: 3 });
  const x = tf.tensor4d(randomArray(N * 32 * 32, 21), [N, 32, 32, 1]);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 10) as tf.Tensor2D;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  return { model, x, y, vars };
}

function lossOf(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor2D): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
}

/** LeNet5's forward pass from the model's weights with unfused ops (tf.conv2d + add, matMul + add). */
function unfusedLoss(model: tf.LayersModel, x: tf.Tensor4D, y: tf.Tensor2D): tf.Scalar {
  const w = (layer: string, i: number): tf.Tensor => model.getLayer(layer).getWeights()[i]!;
  const conv = (h: tf.Tensor4D, l: string): tf.Tensor4D => tf.relu(tf.add(tf.conv2d(h, w(l, 0) as tf.Tensor4D, 1, 'valid'), w(l, 1))) as tf.Tensor4D;
  let h = tf.maxPool(conv(x, 'conv1'), 2, 2, 'valid');
  h = tf.maxPool(conv(h, 'conv2'), 2, 2, 'valid');
  const f = tf.reshape(conv(h, 'conv3'), [N, -1]) as tf.Tensor2D;
  const fc = tf.relu(tf.add(tf.matMul(f, w('fc1', 0) as tf.Tensor2D), w('fc1', 1))) as tf.Tensor2D;
  const logits = tf.add(tf.matMul(fc, w('logits', 0) as tf.Tensor2D), w('logits', 1));
  return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
}

async function values(ts: tf.Tensor[]): Promise<Float32Array[]> {
  return Promise.all(ts.map(async (t) => Float32Array.from(await t.data())));
}

describe('lazy gradients of fused ops (tfjs-core patch)', () => {
  it('is installed in the tfjs-core build Node loads', () => {
    const file = createRequire(import.meta.url).resolve('@tensorflow/tfjs-core');
    expect(file).toMatch(/tf-core\.node\.js$/);
    expect(readFileSync(file, 'utf8')).toContain('a function is a lazy gradient');
    // customGrad accepts functions as gradients, and calls only the ones the tape needs.
    let calls = 0;
    const f = tf.customGrad(((a: tf.Tensor, b: tf.Tensor) => ({
      value: tf.mul(a, b),
      gradFunc: (dy: tf.Tensor) => [() => { calls++; return tf.mul(dy, b); }, () => { calls++; return tf.mul(dy, a); }],
    })) as unknown as Parameters<typeof tf.customGrad>[0]);
    const a = tf.scalar(2);
    const b = tf.scalar(5);
    const [ga] = tf.grads((u: tf.Tensor) => f(u, b))([a]);
    expect(ga!.dataSync()[0]).toBe(5);
    expect(calls).toBe(1);
    tf.dispose([a, b, ga!]);
  });

  it('skips the input gradient of the first conv, and the filter gradients when only the input is wanted', async () => {
    const { model, x, y, vars } = setUp();
    const count = (f: () => unknown): Record<string, number> => {
      const prof = profileKernels('wasm');
      try {
        tf.tidy(() => { f(); });
        return Object.fromEntries(prof.stats().map((s) => [s.kernel, s.calls]));
      } finally {
        prof.stop();
      }
    };
    const xVar = tf.variable(x);
    const onlyVars = count(() => tf.variableGrads(() => lossOf(model, x, y), vars));
    const withInput = count(() => tf.variableGrads(() => lossOf(model, xVar, y), [xVar, ...vars]));
    const onlyInput = count(() => tf.variableGrads(() => lossOf(model, xVar, y), [xVar]));
    expect(onlyVars.Conv2DBackpropInput).toBe(2); // conv2, conv3
    expect(withInput.Conv2DBackpropInput).toBe(3);
    expect(onlyVars.Conv2DBackpropFilter).toBe(3);
    expect(onlyInput.Conv2DBackpropFilter ?? 0).toBe(0); // a frozen model: no filter gradients
    expect(onlyInput.Conv2DBackpropInput).toBe(3);
    tf.dispose([x, y, xVar]);
    model.dispose();
  });

  it('leaves the variable gradients of a LeNet5 step bit-identical, and the input gradient right', async () => {
    const { model, x, y, vars } = setUp();
    const xVar = tf.variable(x);
    const before = tf.memory().numTensors;
    const lazy = tf.variableGrads(() => lossOf(model, x, y), vars);
    const all = tf.variableGrads(() => lossOf(model, xVar, y), [xVar, ...vars]); // every input, as unpatched
    const names = vars.map((v) => v.name);
    const got = await values(names.map((n) => lazy.grads[n]!));
    const want = await values(names.map((n) => all.grads[n]!));
    for (let i = 0; i < names.length; i++) expect(Array.from(got[i]!), names[i]).toEqual(Array.from(want[i]!));
    expect(lazy.value.dataSync()[0]).toBe(all.value.dataSync()[0]);

    // The input gradient against the unfused formulation (different float rounding in the forward).
    const ref = tf.grad((a: tf.Tensor) => unfusedLoss(model, a as tf.Tensor4D, y))(x);
    const [dx, dxRef] = await values([all.grads[xVar.name]!, ref]);
    expect(worstError(dx!, dxRef!, 1e-6, 1e-4)).toBeLessThanOrEqual(1);
    // And the variable gradients too, for good measure.
    const refVars = tf.variableGrads(() => unfusedLoss(model, x, y), vars);
    const refVals = await values(names.map((n) => refVars.grads[n]!));
    for (let i = 0; i < names.length; i++) expect(worstError(got[i]!, refVals[i]!, 1e-6, 1e-4), names[i]).toBeLessThanOrEqual(1);

    tf.dispose([lazy.value, all.value, refVars.value, ref, ...Object.values(lazy.grads), ...Object.values(all.grads), ...Object.values(refVars.grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y, xVar]);
    model.dispose();
  });

  it('fused conv2d (bias, relu) and matMul (bias): each subset of gradients equals the full set', async () => {
    const x = randomTensor([3, 9, 9, 4], 31) as tf.Tensor4D;
    const f = randomTensor([3, 3, 4, 5], 32) as tf.Tensor4D;
    const b = randomTensor([5], 33);
    const w = randomTensor([5 * 7 * 7, 6], 34) as tf.Tensor2D;
    const c = randomTensor([6], 35);
    const loss = (xx: tf.Tensor, ff: tf.Tensor, bb: tf.Tensor, ww: tf.Tensor, cc: tf.Tensor): tf.Scalar => {
      const h = tf.fused.conv2d({ x: xx as tf.Tensor4D, filter: ff as tf.Tensor4D, strides: 1, pad: 'valid', bias: bb, activation: 'relu' });
      const o = tf.fused.matMul({ a: tf.reshape(h, [3, -1]) as tf.Tensor2D, b: ww as tf.Tensor2D, bias: cc, activation: 'linear' });
      return tf.sum(tf.square(o));
    };
    const inputs = [x, f, b, w, c];
    const full = await values(tf.grads(loss)(inputs));
    for (let mask = 1; mask < 31; mask++) {
      // tf.grads differentiates all its arguments: close over the others as constants.
      const pick = inputs.map((_, i) => (mask >> i) & 1);
      const g = tf.grads((...args: tf.Tensor[]) => {
        let k = 0;
        const all = inputs.map((t, i) => (pick[i] ? args[k++]! : t));
        return loss(all[0]!, all[1]!, all[2]!, all[3]!, all[4]!);
      })(inputs.filter((_, i) => pick[i]));
      const got = await values(g);
      let k = 0;
      for (let i = 0; i < inputs.length; i++) if (pick[i]) expect(Array.from(got[k++]!), `mask ${mask} input ${i}`).toEqual(Array.from(full[i]!));
      tf.dispose(g);
    }
    tf.dispose(inputs);
  });
});
