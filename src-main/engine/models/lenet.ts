/**
 * LeNet-5 as in DAFL's lenet.py (the RDSKD/DAFL MNIST teacher and student):
 * conv5×5 6 → ReLU → maxpool2 → conv5×5 16 → ReLU → maxpool2 → conv 120 → ReLU → fc 84 → ReLU → fc K.
 * LeNet5-half halves every width (3-8-60, fc 42). On 1×32×32 inputs: 61,706 and 15,738 parameters.
 *
 * Other input sizes: conv3 spans the whole remaining map (5×5 at 32×32, 4×4 at 28×28, 13×13 at
 * 64×64), so it always yields the 120-d (60-d) feature vector DAFL reads, as in the original LeNet-5
 * whose C5 is fully connected to S4. Inputs must be at least 14×14.
 *
 * A width multiplier scales the four widths (LeNet5 at width 0.5 is LeNet5-half).
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryError } from '../errors.ts';
import { seeded, checkClasses, checkShape, checkWidth, conv, dense, relu, scaledChannels } from './layers.ts';
import { LAYER_NAMES, type ClassifierOptions } from './types.ts';

type Sym = tf.SymbolicTensor;

function buildLeNetUnseeded(opts: ClassifierOptions, widths: [number, number, number, number], defaultName: string): tf.LayersModel {
  const [h, w, c] = checkShape(opts.inputShape, 'the input shape');
  const k = checkClasses(opts.numClasses);
  const width = checkWidth(opts.width);
  const [c1, c2, c3, fc] = widths.map((n) => scaledChannels(n, width)) as [number, number, number, number];
  const h2 = Math.floor((Math.floor((h - 4) / 2) - 4) / 2);
  const w2 = Math.floor((Math.floor((w - 4) / 2) - 4) / 2);
  if (h2 < 1 || w2 < 1) {
    throw new DistilleryError('BAD_INPUT', `LeNet5 needs inputs of at least 14×14 pixels, got ${h}×${w}`);
  }
  const input = tf.input({ shape: [h, w, c], name: 'input' });
  let x: Sym = conv(input, { filters: c1, kernel: 5, inChannels: c, name: 'conv1' });
  x = relu(x, 'relu1');
  x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'pool1' }).apply(x) as Sym;
  x = conv(x, { filters: c2, kernel: 5, inChannels: c1, name: 'conv2' });
  x = relu(x, 'relu2');
  x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'pool2' }).apply(x) as Sym;
  x = conv(x, { filters: c3, kernel: [h2, w2], inChannels: c2, name: 'conv3' });
  x = relu(x, 'relu3');
  x = tf.layers.flatten({ name: LAYER_NAMES.features }).apply(x) as Sym;
  x = dense(x, fc, c3, 'fc1');
  x = relu(x, 'relu4');
  const logits = dense(x, k, fc, LAYER_NAMES.logits);
  return tf.model({ inputs: input, outputs: logits, name: opts.name ?? defaultName });
}

function buildLeNet(opts: ClassifierOptions, widths: [number, number, number, number], defaultName: string): tf.LayersModel {
  return seeded(opts.seed, () => buildLeNetUnseeded(opts, widths, defaultName));
}

export function buildLeNet5(opts: ClassifierOptions): tf.LayersModel {
  return buildLeNet(opts, [6, 16, 120, 84], 'lenet5');
}

export function buildLeNet5Half(opts: ClassifierOptions): tf.LayersModel {
  return buildLeNet(opts, [3, 8, 60, 42], 'lenet5-half');
}
