/**
 * Tiny models and run helpers for the method smoke tests (cpu backend, 4×4×1 inputs, 4 classes).
 */
import * as tf from '@tensorflow/tfjs';
import type { MethodContext } from '../../../src-main/engine/methods/index.ts';

export const SHAPE = [4, 4, 1] as const;
export const K = 4;

const glorot = (seed: number) => tf.initializers.glorotUniform({ seed });

/** Flatten → Dense(12, relu) → Dense(K): no BatchNorm, no residual groups (LeNet5-like). */
export function denseClassifier(seed: number, name: string): tf.LayersModel {
  return tf.sequential({
    name,
    layers: [
      tf.layers.flatten({ inputShape: [...SHAPE] }),
      tf.layers.dense({ units: 12, activation: 'relu', kernelInitializer: glorot(seed) }),
      tf.layers.dense({ units: K, kernelInitializer: glorot(seed + 1), name: `${name}_logits` }),
    ],
  });
}

/** Conv → BatchNorm (non-trivial running statistics) → ReLU → Dense(K). */
export function bnClassifier(seed: number, name: string): tf.LayersModel {
  const model = tf.sequential({
    name,
    layers: [
      tf.layers.conv2d({ inputShape: [...SHAPE], filters: 3, kernelSize: 3, padding: 'same', kernelInitializer: glorot(seed) }),
      tf.layers.batchNormalization({ name: `${name}_bn` }),
      tf.layers.reLU(),
      tf.layers.flatten(),
      tf.layers.dense({ units: K, kernelInitializer: glorot(seed + 1), name: `${name}_logits` }),
    ],
  });
  // Running statistics that differ from the initial 0 / 1, as a trained teacher's do.
  const bn = model.getLayer(`${name}_bn`);
  const [gamma, beta] = bn.getWeights();
  bn.setWeights([gamma!, beta!, tf.tensor1d([0.1, -0.2, 0.3]), tf.tensor1d([0.5, 1.5, 2])]);
  return model;
}

/** A WRN-shaped toy: three conv "groups" named group1..group3 (the attention-transfer taps), then Dense(K). */
export function groupClassifier(seed: number, name: string, width: number): tf.LayersModel {
  const input = tf.input({ shape: [...SHAPE] });
  let x = input as tf.SymbolicTensor;
  for (let g = 1; g <= 3; g++) {
    x = tf.layers.conv2d({ filters: width, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: glorot(seed + g), name: `group${g}` }).apply(x) as tf.SymbolicTensor;
  }
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: K, kernelInitializer: glorot(seed + 9), name: 'logits' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name });
}

/** A small seeded dense generator with BatchNorm (training vs inference mode matters), 4×4×1 out. */
export function tinyGenerator(options: { outputShape: readonly number[]; latentDim: number }): tf.LayersModel {
  const [h, w, c] = options.outputShape as [number, number, number];
  return tf.sequential({
    name: 'tiny-generator',
    layers: [
      tf.layers.dense({ inputShape: [options.latentDim], units: 16, kernelInitializer: glorot(21) }),
      tf.layers.batchNormalization({ momentum: 0.9 }),
      tf.layers.leakyReLU({ alpha: 0.2 }),
      tf.layers.dense({ units: h * w * c, kernelInitializer: glorot(22) }),
      tf.layers.reshape({ targetShape: [h, w, c] }),
      tf.layers.batchNormalization(),
    ],
  });
}

export function makeContext(teacher: tf.LayersModel, student: tf.LayersModel): MethodContext {
  return { teacher, student, inputShape: [...SHAPE], numClasses: K, buildGenerator: (_kind, o) => tinyGenerator(o) };
}

export function disposeContext(ctx: MethodContext): void {
  ctx.teacher.dispose();
  ctx.student.dispose();
}

export function identity(method: string, config: unknown) {
  return { method, dataset: 'mnist', config: config as never, teacher: { architecture: 'tiny' }, student: { architecture: 'tiny' } };
}

export function weightsOf(model: tf.LayersModel): number[][] {
  return model.getWeights().map((t) => Array.from(t.dataSync()));
}
