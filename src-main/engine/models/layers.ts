/**
 * Small helpers shared by the builders: PyTorch-equivalent layer settings, so a model built here
 * behaves like the reference implementation's (initialisation, BatchNorm momentum and epsilon,
 * PyTorch's symmetric padding for strided convolutions).
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryError } from '../errors.ts';

export type Shape3 = [height: number, width: number, channels: number];
type Sym = tf.SymbolicTensor;

type Initializer = ReturnType<typeof tf.initializers.zeros>;

// Seeding: while a builder runs inside `seeded(seed, …)`, every initializer gets its own seed drawn
// from one sequence, so a model built twice with the same seed has the same initial weights.
let nextSeed: (() => number) | null = null;

/** Runs `build` with initializers seeded from `seed` (unseeded if undefined). */
export function seeded<T>(seed: number | undefined, build: () => T): T {
  if (seed === undefined) return build();
  const previous = nextSeed;
  let state = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  nextSeed = () => {
    // mulberry32 step → an integer seed for tfjs's seeded random initializers.
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  try {
    return build();
  } finally {
    nextSeed = previous;
  }
}

function seedOption(): { seed?: number } {
  return nextSeed ? { seed: nextSeed() } : {};
}

/** PyTorch's default Conv/Linear weight init: kaiming_uniform(a=√5) = U(±1/√fan_in). */
export function torchKernelInit(): Initializer {
  return tf.initializers.varianceScaling({ scale: 1 / 3, mode: 'fanIn', distribution: 'uniform', ...seedOption() });
}

/** PyTorch's default bias init: U(±1/√fan_in). */
export function torchBiasInit(fanIn: number): Initializer {
  const bound = 1 / Math.sqrt(fanIn);
  return tf.initializers.randomUniform({ minval: -bound, maxval: bound, ...seedOption() });
}

/** Kaiming-normal, fan-out, ReLU gain: the init the WRN reference uses for its convolutions. */
export function kaimingNormalFanOut(): Initializer {
  return tf.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'normal', ...seedOption() });
}

export interface ConvOptions {
  filters: number;
  kernel: number | [number, number];
  stride?: number;
  /** PyTorch-style symmetric zero padding (pixels each side); 0 = 'valid'. */
  pad?: number;
  bias?: boolean;
  inChannels: number;
  name: string;
  init?: 'torch' | 'kaiming-fan-out';
}

/**
 * A Conv2D with PyTorch's padding semantics. tfjs's 'same' pads asymmetrically for stride 2 on even
 * sizes (0 top, 1 bottom) where PyTorch pads 1 each side, so strided padded convs get an explicit
 * ZeroPadding2D; stride-1 convs with pad = (k−1)/2 use 'same', which is identical.
 */
export function conv(x: Sym, o: ConvOptions): Sym {
  const [kh, kw] = typeof o.kernel === 'number' ? [o.kernel, o.kernel] : o.kernel;
  const stride = o.stride ?? 1;
  const pad = o.pad ?? 0;
  const bias = o.bias ?? true;
  let padding: 'same' | 'valid' = 'valid';
  if (pad > 0) {
    if (stride === 1 && kh === kw && pad * 2 === kh - 1) padding = 'same';
    else x = tf.layers.zeroPadding2d({ padding: pad, name: `${o.name}_pad` }).apply(x) as Sym;
  }
  const fanIn = kh * kw * o.inChannels;
  return tf.layers
    .conv2d({
      filters: o.filters,
      kernelSize: [kh, kw],
      strides: stride,
      padding,
      useBias: bias,
      kernelInitializer: o.init === 'kaiming-fan-out' ? kaimingNormalFanOut() : torchKernelInit(),
      biasInitializer: bias ? torchBiasInit(fanIn) : undefined,
      name: o.name,
    })
    .apply(x) as Sym;
}

export function dense(x: Sym, units: number, inUnits: number, name: string): Sym {
  return tf.layers
    .dense({ units, kernelInitializer: torchKernelInit(), biasInitializer: torchBiasInit(inUnits), name })
    .apply(x) as Sym;
}

export interface BatchNormOptions {
  /** PyTorch default 1e-5 (tfjs's default 1e-3 differs). */
  epsilon?: number;
  /** false = PyTorch affine=False: γ = 1, β = 0 kept fixed (the layer is marked non-trainable). */
  affine?: boolean;
}

/**
 * BatchNorm over channels with PyTorch's defaults: momentum 0.1 in PyTorch's convention (0.9 in
 * tfjs's), epsilon 1e-5. `affine: false` uses `trainable: false` rather than
 * `center/scale: false`, which crashes tfjs-layers in training mode; running statistics are still
 * updated in training mode, as in PyTorch. (tfjs's running variance is the biased batch variance;
 * PyTorch stores the unbiased one — a factor n/(n−1), negligible at our batch sizes.)
 */
export function batchNorm(x: Sym, name: string, o: BatchNormOptions = {}): Sym {
  return tf.layers
    .batchNormalization({
      axis: -1,
      momentum: 0.9,
      epsilon: o.epsilon ?? 1e-5,
      name,
      ...(o.affine === false ? { trainable: false } : {}),
    })
    .apply(x) as Sym;
}

export function relu(x: Sym, name: string): Sym {
  return tf.layers.reLU({ name }).apply(x) as Sym;
}

export function leakyRelu(x: Sym, alpha: number, name: string): Sym {
  return tf.layers.leakyReLU({ alpha, name }).apply(x) as Sym;
}

export function checkShape(shape: readonly number[], what: string): Shape3 {
  if (shape.length !== 3 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new DistilleryError('BAD_INPUT', `${what} must be [height, width, channels] of positive integers, got [${shape.join(', ')}]`);
  }
  return [shape[0]!, shape[1]!, shape[2]!];
}

/**
 * A custom-width student: every channel / unit count of a builder is multiplied by `width` and
 * rounded, never below 1, so width 1 is the zoo's (the papers') architecture exactly.
 */
export function checkWidth(width: number | undefined): number {
  const w = width ?? 1;
  if (!Number.isFinite(w) || w <= 0) {
    throw new DistilleryError('BAD_INPUT', `the width multiplier must be a positive number, got ${String(width)}`, 'e.g. 0.5 halves every layer\'s channels, 2 doubles them');
  }
  return w;
}

/** `channels` scaled by the width multiplier, rounded, at least 1. */
export function scaledChannels(channels: number, width: number): number {
  return Math.max(1, Math.round(channels * width));
}

export function checkClasses(numClasses: number): number {
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new DistilleryError('BAD_INPUT', `the number of classes must be an integer ≥ 2, got ${numClasses}`);
  }
  return numClasses;
}
