/**
 * A FusedBatchNorm gradient without tiling. TensorFlow.js's stock gradient tiles the per-channel
 * scale to the activation's size and builds two more activation-sized tensors before it knows which
 * derivatives are wanted (~3 s per ResNet-18 step on wasm). With r = 1/√(var+ε), s = scale (or 1),
 * reducing over every axis but the channel axis:
 *   ∂x = dy·(r·s)                      (broadcast over channels)
 *   ∂mean = −r·s·Σdy       ∂variance = −½·r³·s·Σ dy·(x−mean)
 *   ∂scale = r·Σ dy·(x−mean)           ∂offset = Σdy
 * The two sums are the only reductions (one activation-sized temporary). Gradients are registered
 * per kernel, not per backend, so this replaces the stock gradient on every backend; it computes the
 * same function (tests compare it with finite differences and with the stock formula).
 */
import * as tf from '@tensorflow/tfjs';

const KERNEL = 'FusedBatchNorm';

let stockGradient: tf.GradConfig | null = null;

const gradient: tf.GradConfig = {
  kernelName: KERNEL,
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy, saved, attrs) => {
    const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
    if (mean!.rank !== 1 || Array.isArray(dy)) return stockGradient!.gradFunc(dy, saved, attrs);
    const g = dy as tf.Tensor;
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const axes = [...Array(x!.rank - 1).keys()];
    const r = tf.rsqrt(tf.add(variance!, tf.scalar(varianceEpsilon)));
    const rs = scale == null ? r : tf.mul(r, scale);
    const sumDy = tf.sum(g, axes);
    const sumDyXc = tf.tidy(() => tf.sum(tf.mul(g, tf.sub(x!, mean!)), axes));
    const shape = mean!.shape;
    return {
      x: () => tf.mul(g, rs),
      mean: () => tf.reshape(tf.neg(tf.mul(rs, sumDy)), shape),
      variance: () => tf.reshape(tf.mul(tf.mul(tf.mul(tf.square(r), rs), tf.scalar(-0.5)), sumDyXc), shape),
      scale: () => tf.reshape(tf.mul(r, sumDyXc), shape),
      offset: () => tf.reshape(sumDy, shape),
    };
  },
};

/** Replaces the stock FusedBatchNorm gradient (all backends). Idempotent. */
export function registerBatchNormGradient(): void {
  const current = tf.getGradient(KERNEL);
  if (current === gradient) return;
  stockGradient = current;
  tf.registerGradient(gradient);
}

/** The stock gradient, for tests. */
export function stockBatchNormGradient(): tf.GradConfig | null {
  return stockGradient ?? tf.getGradient(KERNEL);
}
