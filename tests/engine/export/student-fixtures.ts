/**
 * Models for the exporter tests: zoo classifiers with BatchNorm statistics that are far from the
 * initial ones (so folding BN into a convolution is really exercised), and one small model that
 * uses every layer kind and padding case the exporters support.
 */
import * as tf from '@tensorflow/tfjs';
import { Preprocessor } from '../../../src-main/engine/data/index.ts';
import { openDataset } from '../../../src-main/engine/data/open.ts';
import type { TeacherManifest } from '../../../src-main/engine/models/manifest.ts';
import { ARCHITECTURES, type ClassifierSpec } from '../../../src-main/engine/models/registry.ts';

type Sym = tf.SymbolicTensor;

export const ZOO_CLASSIFIERS = ARCHITECTURES.filter((a): a is ClassifierSpec => a.kind === 'classifier');

/**
 * Sets every BatchNorm's γ ∈ [0.5, 1.5], β ∈ [−0.5, 0.5], moving mean ∈ [−0.5, 0.5] and moving
 * variance ∈ [0.5, 2] (seeded), instead of the initial 1, 0, 0, 1 that make BN nearly the identity.
 */
export function randomiseBatchNorm(model: tf.LayersModel, seed = 1): void {
  let s = seed;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    layer.setWeights(
      layer.weights.map((w) => {
        const [lo, hi] = w.originalName.endsWith('moving_variance') ? [0.5, 2] : w.originalName.endsWith('gamma') ? [0.5, 1.5] : [-0.5, 0.5];
        return tf.randomUniform(w.shape as number[], lo, hi, 'float32', s++);
      }),
    );
  }
}

/** A zoo classifier on its reference input, seeded weights, randomised BatchNorm statistics. */
export function zooStudent(spec: ClassifierSpec, seed = 1): tf.LayersModel {
  const model = spec.build({ inputShape: spec.reference.shape, numClasses: spec.reference.numClasses ?? 10, seed });
  randomiseBatchNorm(model, seed);
  return model;
}

/**
 * Every supported layer kind on a 9×10×2 input (odd and even sizes, so 'same' padding is
 * asymmetric): explicit asymmetric ZeroPadding2D, stride-2 'same' convolution, conv with fused
 * ReLU config, conv → BN (folded) and BN not after a conv (kept), LeakyReLU, linear and relu
 * Activation layers, max and average pooling with 'same' padding (padding excluded from the
 * average), a three-way Add, global average pooling, Flatten of a multi-pixel multi-channel map
 * (NHWC order), Dense with a ReLU, BN of a vector, Dense logits.
 */
export function everyLayerModel(seed = 2): tf.LayersModel {
  let s = seed;
  const init = (): { kernelInitializer: ReturnType<typeof tf.initializers.glorotUniform>; biasInitializer: ReturnType<typeof tf.initializers.randomUniform> } => ({
    kernelInitializer: tf.initializers.glorotUniform({ seed: s++ }),
    biasInitializer: tf.initializers.randomUniform({ minval: -0.3, maxval: 0.3, seed: s++ }),
  });
  const input = tf.input({ shape: [9, 10, 2], name: 'image_in' });
  let x = tf.layers.zeroPadding2d({ padding: [[0, 1], [2, 1]], name: 'pad' }).apply(input) as Sym;
  x = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'valid', name: 'conv_padded', ...init() }).apply(x) as Sym;
  x = tf.layers.batchNormalization({ axis: -1, epsilon: 1e-3, name: 'bn_folded' }).apply(x) as Sym;
  x = tf.layers.reLU({ name: 'relu_a' }).apply(x) as Sym;
  const strided = tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'conv_same_s2', ...init() }).apply(x) as Sym;
  let branch = tf.layers.batchNormalization({ axis: -1, name: 'bn_kept' }).apply(strided) as Sym;
  branch = tf.layers.leakyReLU({ alpha: 0.2, name: 'leaky' }).apply(branch) as Sym;
  const pooled = tf.layers.maxPooling2d({ poolSize: 2, strides: 1, padding: 'same', name: 'maxpool_same' }).apply(strided) as Sym;
  const averaged = tf.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same', name: 'avgpool_same' }).apply(strided) as Sym;
  const linear = tf.layers.activation({ activation: 'linear', name: 'identity' }).apply(averaged) as Sym;
  x = tf.layers.add({ name: 'add3' }).apply([branch, pooled, linear]) as Sym;
  x = tf.layers.activation({ activation: 'relu', name: 'relu_activation' }).apply(x) as Sym;
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as Sym;
  const flat = tf.layers.flatten({ name: 'flatten' }).apply(x) as Sym;
  let h = tf.layers.dense({ units: 6, activation: 'relu', name: 'dense_relu', ...init() }).apply(flat) as Sym;
  h = tf.layers.batchNormalization({ axis: -1, name: 'bn_vector' }).apply(h) as Sym;
  h = tf.layers.add({ name: 'add_gap' }).apply([h, gap]) as Sym;
  const logits = tf.layers.dense({ units: 5, name: 'logits', ...init() }).apply(h) as Sym;
  const model = tf.model({ inputs: input, outputs: logits, name: 'every-layer' });
  randomiseBatchNorm(model, seed);
  return model;
}

/**
 * `count` MNIST images of `split` (every `stride`-th from the first), preprocessed as `manifest`
 * says, with their labels: the trained-model checks of the exporters.
 */
export async function mnistImages(manifest: TeacherManifest, split: 'train' | 'test', count: number, stride: number): Promise<{ x: tf.Tensor4D; labels: number[] }> {
  const source = await openDataset('mnist', split);
  try {
    const pre = new Preprocessor(source.shape, manifest.inputShape, manifest.preprocessing);
    const indices = Uint32Array.from({ length: count }, (_, i) => i * stride);
    const raw = new Uint8Array(count * source.shape[0] * source.shape[1] * source.shape[2]);
    source.read(indices, raw);
    return { x: tf.tensor4d(pre.apply(raw, count), [count, ...pre.inputShape]), labels: Array.from(indices, (i) => source.labels[i]!) };
  } finally {
    source.close();
  }
}
