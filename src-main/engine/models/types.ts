import type * as tf from '@tensorflow/tfjs';
import type { Shape3 } from './layers.ts';

export type { Shape3 };

/** What every classifier builder takes: the input the model sees and how many classes it tells apart. */
export interface ClassifierOptions {
  /** [height, width, channels], channels-last, e.g. [32, 32, 1] for the papers' MNIST. */
  inputShape: readonly number[];
  numClasses: number;
  /** Model name (tf.LayersModel.name). */
  name?: string;
  /** Seed of the initial weights (default: unseeded). */
  seed?: number;
  /**
   * Width multiplier of a custom-width student: channels and hidden units scaled and rounded (at
   * least 1). Default 1: the architecture as published.
   */
  width?: number;
}

/** What every generator builder takes: the teacher's input shape (the images it must produce). */
export interface GeneratorOptions {
  /** [height, width, channels] of the images produced = the teacher's input shape. */
  outputShape: readonly number[];
  /** Latent dimension: 100 (MNIST), 1000 (SVHN, CIFAR) in the references. */
  latentDim: number;
  name?: string;
  /** Seed of the initial weights (default: unseeded). */
  seed?: number;
}

/**
 * Names of the layers the distillation methods read (see taps.ts). Every builder here names its
 * layers so: the final Dense is `logits`; `features` is what DAFL's teacher returns as its feature
 * vector; `group1`…`groupN` are the outputs of the residual groups (WRN: the three groups used for
 * attention transfer).
 */
export const LAYER_NAMES = {
  logits: 'logits',
  features: 'features',
  group: (i: number): string => `group${i}`,
  image: 'image',
} as const;

export type Model = tf.LayersModel;
