/**
 * Whole-model checks on the wasm backend with Distillery's kernels: gradients of a tiny conv net
 * with BatchNorm against central finite differences, the BatchNorm gradient against TensorFlow.js's
 * stock formula, agreement with the cpu backend, and no tensor leaks over 100 training steps.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { stockBatchNormGradient } from '../../../src-main/engine/backend/wasm/batchnorm_grad.ts';
import { stockLeakyReluGradient } from '../../../src-main/engine/backend/wasm/leaky_relu_grad.ts';
import { onBoth, randomArray, useWasm, worstError } from './helpers.ts';

beforeAll(async () => {
  await useWasm();
});

/** Parameters of the tiny net, as plain arrays (so each backend builds its own tensors). */
interface Params { [name: string]: { shape: number[]; values: Float32Array } }

function makeParams(): Params {
  const spec: [string, number[], number][] = [
    ['c1', [3, 3, 2, 4], 0.5], ['b1', [4], 0.1], ['g1', [4], 0.2], ['o1', [4], 0.1],
    ['c2', [3, 3, 4, 6], 0.3], ['g2', [6], 0.2], ['o2', [6], 0.1],
    ['c3', [1, 1, 6, 3], 0.5], ['g3', [3], 0.2], ['o3', [3], 0.1],
    ['d', [3 * 4 * 4, 5], 0.3],
  ];
  const p: Params = {};
  spec.forEach(([name, shape, scale], i) => {
    const v = randomArray(shape.reduce((a, b) => a * b, 1), 100 + i).map((x) => x * scale);
    // BN scales around 1.
    if (name.startsWith('g')) for (let k = 0; k < v.length; k++) v[k] = 1 + v[k]!;
    p[name] = { shape, values: v };
  });
  return p;
}

function bn(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.batchNorm(x, mean, variance, beta as tf.Tensor1D, gamma as tf.Tensor1D, eps) as tf.Tensor4D;
}

/**
 * conv3×3 (bias) → BN → LeakyReLU → maxpool 2 → conv3×3 stride 2 same → BN(eps 0.8) → tanh →
 * nearest ×2 → conv1×1 → BN → ReLU → avgpool 2 → dense → softmax cross-entropy.
 * `smooth` swaps the kinked LeakyReLU / max-pool / ReLU for ELU / avg-pool / softplus, for finite
 * differences in float32 (a parameter step crosses kinks somewhere in the batch and the central
 * difference then measures the kink, not the gradient). The kinked ops are checked against the
 * cpu backend (below) and against brute force (wasm-kernels.test.ts).
 */
function loss(w: Record<string, tf.Tensor>, x: tf.Tensor4D, labels: tf.Tensor2D, upsample = true, smooth = false): tf.Scalar {
  let h = tf.add(tf.conv2d(x, w.c1 as tf.Tensor4D, 1, 'same'), w.b1!) as tf.Tensor4D;
  h = bn(h, w.g1!, w.o1!, 1e-5);
  h = smooth ? tf.elu(h) : tf.leakyRelu(h, 0.2);
  h = smooth ? tf.avgPool(h, 2, 2, 'valid') : tf.maxPool(h, 2, 2, 'valid');
  h = tf.tanh(bn(tf.conv2d(h, w.c2 as tf.Tensor4D, 2, 'same'), w.g2!, w.o2!, 0.8));
  if (upsample) h = tf.image.resizeNearestNeighbor(h, [h.shape[1] * 2, h.shape[2] * 2]);
  h = bn(tf.conv2d(h, w.c3 as tf.Tensor4D, 1, 'valid'), w.g3!, w.o3!, 1e-5);
  h = smooth ? tf.softplus(h) : tf.relu(h);
  if (upsample) h = tf.avgPool(h, 2, 2, 'valid');
  const logits = tf.matMul(tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D, w.d as tf.Tensor2D);
  return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
}

const X_SHAPE: [number, number, number, number] = [6, 16, 16, 2];
const xValues = randomArray(X_SHAPE.reduce((a, b) => a * b, 1), 7);
const labelValues = Array.from({ length: 6 }, (_, i) => (i * 3) % 5);

function gradsOf(p: Params, upsample = true, smooth = false): { names: string[]; run: () => tf.Tensor[] } {
  const names = Object.keys(p);
  return {
    names,
    run: () => {
      const ws = names.map((n) => tf.tensor(p[n]!.values, p[n]!.shape));
      const x = tf.tensor4d(xValues, X_SHAPE);
      const labels = tf.oneHot(tf.tensor1d(labelValues, 'int32'), 5) as tf.Tensor2D;
      const f = (...args: tf.Tensor[]): tf.Scalar => loss(Object.fromEntries(names.map((n, i) => [n, args[i]!])), x, labels, upsample, smooth);
      const { value, grads } = tf.valueAndGrads(f)(ws);
      return [value, ...grads];
    },
  };
}

describe('gradients of a small conv net with BatchNorm', () => {
  it('match central finite differences on wasm (float32, smooth variant)', async () => {
    await tf.setBackend('wasm');
    const p = makeParams();
    const { names, run } = gradsOf(p, true, true);
    const out = tf.tidy(run);
    const analytic = await Promise.all(out.slice(1).map(async (t) => Float32Array.from(await t.data())));
    tf.dispose(out);
    const x = tf.tensor4d(xValues, X_SHAPE);
    const labels = tf.oneHot(tf.tensor1d(labelValues, 'int32'), 5) as tf.Tensor2D;
    const lossAt = (q: Params): number =>
      tf.tidy(() => loss(Object.fromEntries(names.map((n) => [n, tf.tensor(q[n]!.values, q[n]!.shape)])), x, labels, true, true).dataSync()[0]!);
    // Float32 forward passes: steps of 3e-3 and 1.5e-3 keep rounding error (~1e-6·|L|/h) near
    // 1e-3. Where the two central differences disagree by more than that the point is skipped as
    // unresolvable in float32 (at most a quarter of them). Elsewhere: 3 % relative error, 3e-3 floor.
    const h = 3e-3;
    let checked = 0;
    let skipped = 0;
    const fdAt = (name: string, i: number, step: number): number => {
      const q: Params = structuredClone(p);
      q[name]!.values[i] = p[name]!.values[i]! + step;
      const up = lossAt(q);
      q[name]!.values[i] = p[name]!.values[i]! - step;
      return (up - lossAt(q)) / (2 * step);
    };
    names.forEach((name, vi) => {
      const size = p[name]!.values.length;
      const picks = new Set<number>();
      for (let k = 0; picks.size < Math.min(6, size); k++) picks.add((k * 7919 + vi * 31) % size);
      for (const i of picks) {
        const fd1 = fdAt(name, i, h);
        const fd2 = fdAt(name, i, h / 2);
        if (Math.abs(fd1 - fd2) > 2e-3 + 0.02 * Math.abs(fd2)) {
          skipped++;
          continue;
        }
        const g = analytic[vi]![i]!;
        const e = Math.abs(fd2 - g) / (3e-3 + 0.03 * Math.abs(fd2));
        expect(e, `${name}[${i}]: finite difference ${fd2}, analytic ${g}`).toBeLessThanOrEqual(1);
        checked++;
      }
    });
    expect(skipped).toBeLessThanOrEqual(Math.floor((checked + skipped) / 4));
    tf.dispose([x, labels]);
    expect(checked).toBeGreaterThan(40);
  });

  // Without the nearest upsampling: the cpu backend's ResizeNearestNeighborGrad is wrong for
  // batch or channels > 1 (see wasm-kernels.test.ts, which checks ours against brute force).
  it('agree with the cpu backend', async () => {
    const p = makeParams();
    const { run } = gradsOf(p, false);
    const { wasm, cpu } = await onBoth(run);
    for (let i = 0; i < wasm.length; i++) expect(worstError(wasm[i]!, cpu[i]!, 1e-4, 1e-3), `output ${i}`).toBeLessThanOrEqual(1);
  });
});

describe('FusedBatchNorm gradient', () => {
  it('is ours, and equals the stock formula for every input', async () => {
    const ours = tf.getGradient('FusedBatchNorm');
    const stock = stockBatchNormGradient();
    expect(ours).not.toBe(stock);
    await tf.setBackend('wasm');
    const x = tf.tensor4d(randomArray(4 * 5 * 3 * 6, 21), [4, 5, 3, 6]);
    const dy = tf.tensor4d(randomArray(4 * 5 * 3 * 6, 22), [4, 5, 3, 6]);
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    const scale = tf.tensor1d(randomArray(6, 23));
    for (const withScale of [true, false]) {
      const saved = [x, mean, variance, withScale ? scale : undefined] as tf.Tensor[];
      const a = ours.gradFunc(dy, saved, { varianceEpsilon: 1e-3 }) as Record<string, () => tf.Tensor>;
      const b = stock!.gradFunc(dy, saved, { varianceEpsilon: 1e-3 }) as Record<string, () => tf.Tensor>;
      for (const key of ['x', 'mean', 'variance', 'scale', 'offset']) {
        const ga = a[key]!();
        const gb = b[key]!();
        expect(ga.shape, key).toEqual(gb.shape);
        expect(worstError(ga.dataSync() as Float32Array, gb.dataSync() as Float32Array, 1e-4, 1e-4), key).toBeLessThanOrEqual(1);
      }
    }
  });
});

describe('LeakyRelu gradient', () => {
  it('is ours, and equals the stock formula (including at 0)', async () => {
    const ours = tf.getGradient('LeakyRelu');
    const stock = stockLeakyReluGradient();
    expect(ours).not.toBe(stock);
    await tf.setBackend('wasm');
    const x = tf.tensor1d([...randomArray(50, 51), 0, -0, 1e-30, -1e-30]);
    const dy = tf.tensor1d(randomArray(54, 52));
    for (const alpha of [0.2, 0.01]) {
      const a = (ours.gradFunc(dy, [x], { alpha }) as Record<string, () => tf.Tensor>).x!();
      const b = (stock!.gradFunc(dy, [x], { alpha }) as Record<string, () => tf.Tensor>).x!();
      expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    }
  });
});

describe('training on wasm', () => {
  it('does not leak tensors over 100 Adam steps of a conv net with BatchNorm', async () => {
    await tf.setBackend('wasm');
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 4, kernelSize: 3, padding: 'same' }),
        tf.layers.batchNormalization(),
        tf.layers.leakyReLU({ alpha: 0.2 }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.upSampling2d({ size: [2, 2] }),
        tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'tanh' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3 }),
      ],
    });
    const optimizer = tf.train.adam(1e-2);
    const x = tf.tensor4d(randomArray(8 * 12 * 12, 31), [8, 12, 12, 1]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
    const step = (): number => {
      const cost = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true)!;
      const v = cost.dataSync()[0]!;
      cost.dispose();
      return v;
    };
    const first = step();
    for (let i = 0; i < 4; i++) step();
    const tensors = tf.memory().numTensors;
    const buffers = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    let last = first;
    for (let i = 0; i < 100; i++) last = step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(buffers);
    expect(last).toBeLessThan(first); // it trains
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  });
});
