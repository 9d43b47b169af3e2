/**
 * LeakyReLU gradient as dy·step(x, α) (Step is x > 0 ? 1 : α): two kernels instead of the stock
 * Greater + Multiply + Select with a boolean mask. Registered per kernel name (every backend); the
 * same function as the stock gradient (tests compare them).
 */
import * as tf from '@tensorflow/tfjs';

const KERNEL = 'LeakyRelu';
let stockGradient: tf.GradConfig | null = null;

const gradient: tf.GradConfig = {
  kernelName: KERNEL,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as [tf.Tensor];
    const { alpha } = attrs as unknown as { alpha: number };
    return { x: () => tf.mul(dy as tf.Tensor, tf.step(x, alpha)) };
  },
};

export function registerLeakyReluGradient(): void {
  const current = tf.getGradient(KERNEL);
  if (current === gradient) return;
  stockGradient = current;
  tf.registerGradient(gradient);
}

export function stockLeakyReluGradient(): tf.GradConfig | null {
  return stockGradient ?? tf.getGradient(KERNEL);
}
