/**
 * The generators of DAFL (also used by RDSKD and MSKD) and ZSKT, built for the teacher's input shape.
 *
 * DAFL (methods.md, huawei-noah DAFL): Dense(latent → 128·h0·w0) → reshape h0×w0×128 → BN(128) →
 * up×2 → conv3×3 128 → BN(eps 0.8) → LeakyReLU(0.2) → up×2 → conv3×3 64 → BN(eps 0.8) →
 * LeakyReLU(0.2) → conv3×3 C → tanh → BN(C, no scale/offset).
 * ZSKT (polo5): the same trunk with PyTorch's default BN epsilon, no tanh, and an affine final BN.
 *
 * Other shapes: the reference's seed is img_size // 4 (8×8 for 32×32). We use h0 = ⌈H/4⌉,
 * w0 = ⌈W/4⌉ (7×7 for 28×28, 16×16 for 64×64) and, when H or W is not a multiple of 4, centre-crop
 * after the second upsampling so the last convolutions already work at H×W. C is the teacher's
 * channel count. The reshape is channels-last: a fixed permutation of the Dense outputs relative to
 * PyTorch's view(B, 128, h0, w0), so the family of functions is the same.
 *
 * The final BN's running statistics matter: RDSKD's student phase runs the generator in inference
 * mode, so they must be trained (they are, in training mode) and saved (they are weights).
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryError } from '../errors.ts';
import { seeded, batchNorm, checkShape, conv, dense, leakyRelu } from './layers.ts';
import { LAYER_NAMES, type GeneratorOptions } from './types.ts';

type Sym = tf.SymbolicTensor;

interface Variant {
  trunkEpsilon: number;
  tanh: boolean;
  finalAffine: boolean;
  defaultName: string;
}

function buildGeneratorUnseeded(opts: GeneratorOptions, v: Variant): tf.LayersModel {
  const [h, w, c] = checkShape(opts.outputShape, 'the generator output shape');
  if (!Number.isInteger(opts.latentDim) || opts.latentDim < 1) {
    throw new DistilleryError('BAD_INPUT', `the latent dimension must be a positive integer, got ${opts.latentDim}`);
  }
  if (h < 4 || w < 4) throw new DistilleryError('BAD_INPUT', `generators need outputs of at least 4×4 pixels, got ${h}×${w}`);
  const h0 = Math.ceil(h / 4);
  const w0 = Math.ceil(w / 4);
  const z = tf.input({ shape: [opts.latentDim], name: 'latent' });
  let x = dense(z, 128 * h0 * w0, opts.latentDim, 'fc');
  x = tf.layers.reshape({ targetShape: [h0, w0, 128], name: 'seed' }).apply(x) as Sym;
  x = batchNorm(x, 'bn0');
  x = tf.layers.upSampling2d({ size: [2, 2], interpolation: 'nearest', name: 'up1' }).apply(x) as Sym;
  x = conv(x, { filters: 128, kernel: 3, pad: 1, inChannels: 128, name: 'conv1' });
  x = batchNorm(x, 'bn1', { epsilon: v.trunkEpsilon });
  x = leakyRelu(x, 0.2, 'lrelu1');
  x = tf.layers.upSampling2d({ size: [2, 2], interpolation: 'nearest', name: 'up2' }).apply(x) as Sym;
  const extraH = 4 * h0 - h;
  const extraW = 4 * w0 - w;
  if (extraH > 0 || extraW > 0) {
    const top = Math.floor(extraH / 2);
    const left = Math.floor(extraW / 2);
    x = tf.layers
      .cropping2D({ cropping: [[top, extraH - top], [left, extraW - left]], name: 'crop' })
      .apply(x) as Sym;
  }
  x = conv(x, { filters: 64, kernel: 3, pad: 1, inChannels: 128, name: 'conv2' });
  x = batchNorm(x, 'bn2', { epsilon: v.trunkEpsilon });
  x = leakyRelu(x, 0.2, 'lrelu2');
  x = conv(x, { filters: c, kernel: 3, pad: 1, inChannels: 64, name: 'conv3' });
  if (v.tanh) x = tf.layers.activation({ activation: 'tanh', name: 'tanh' }).apply(x) as Sym;
  x = batchNorm(x, LAYER_NAMES.image, { affine: v.finalAffine });
  return tf.model({ inputs: z, outputs: x, name: opts.name ?? v.defaultName });
}

function buildGenerator(opts: GeneratorOptions, v: Variant): tf.LayersModel {
  return seeded(opts.seed, () => buildGeneratorUnseeded(opts, v));
}

/** DAFL's generator (RDSKD, DAFL, MSKD). */
export function buildDaflGenerator(opts: GeneratorOptions): tf.LayersModel {
  return buildGenerator(opts, { trunkEpsilon: 0.8, tanh: true, finalAffine: false, defaultName: 'dafl-generator' });
}

/** ZSKT's generator. */
export function buildZsktGenerator(opts: GeneratorOptions): tf.LayersModel {
  return buildGenerator(opts, { trunkEpsilon: 1e-5, tanh: false, finalAffine: true, defaultName: 'zskt-generator' });
}
