/**
 * Wide ResNet WRN-d-k as in ZSKT's reference (polo5/ZeroShotKnowledgeTransfer, after Zagoruyko):
 * conv3×3 16 → 3 groups of n = (d−4)/6 pre-activation basic blocks (widths 16k, 32k, 64k; strides
 * 1, 2, 2) → BN → ReLU → global average pool → fc K. Convolutions have no bias; 1×1 shortcut
 * convolutions where the width changes. The group outputs (`group1..3`, before the final BN) are the
 * activations ZSKT's attention transfer reads. The reference's 8×8 average pool is a global pool at
 * 32×32 input; a global pool keeps other input sizes working.
 *
 * A width multiplier (custom-width students) scales every channel count, the 16-channel stem
 * included; `widen` stays the architecture's k.
 *
 * Parameter counts include BatchNorm running statistics, as the papers' Table 1 does
 * (WRN-16-1: 175,994; WRN-40-2: 2,248,954 on 3×32×32).
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryError } from '../errors.ts';
import { seeded, batchNorm, checkClasses, checkShape, checkWidth, conv, dense, relu, scaledChannels } from './layers.ts';
import { LAYER_NAMES, type ClassifierOptions } from './types.ts';

type Sym = tf.SymbolicTensor;

export interface WideResNetOptions extends ClassifierOptions {
  depth: number;
  widen: number;
}

function block(x: Sym, inC: number, outC: number, stride: number, name: string): Sym {
  const equalInOut = inC === outC && stride === 1;
  let pre = batchNorm(x, `${name}_bn1`);
  pre = relu(pre, `${name}_relu1`);
  let out = conv(pre, { filters: outC, kernel: 3, stride, pad: 1, bias: false, inChannels: inC, name: `${name}_conv1`, init: 'kaiming-fan-out' });
  out = batchNorm(out, `${name}_bn2`);
  out = relu(out, `${name}_relu2`);
  out = conv(out, { filters: outC, kernel: 3, pad: 1, bias: false, inChannels: outC, name: `${name}_conv2`, init: 'kaiming-fan-out' });
  // The reference: the identity shortcut takes the block input; otherwise the 1×1 conv takes the
  // pre-activated input (relu(bn1(x))).
  const shortcut = equalInOut
    ? x
    : conv(pre, { filters: outC, kernel: 1, stride, bias: false, inChannels: inC, name: `${name}_shortcut`, init: 'kaiming-fan-out' });
  return tf.layers.add({ name: `${name}_add` }).apply([shortcut, out]) as Sym;
}

function buildWideResNetUnseeded(opts: WideResNetOptions): tf.LayersModel {
  const [h, w, c] = checkShape(opts.inputShape, 'the input shape');
  const k = checkClasses(opts.numClasses);
  const { depth, widen } = opts;
  if (!Number.isInteger(depth) || depth < 10 || (depth - 4) % 6 !== 0) {
    throw new DistilleryError('BAD_INPUT', `WRN depth must be 6n + 4 (10, 16, 22, 28, 40, …), got ${depth}`);
  }
  if (!Number.isInteger(widen) || widen < 1) throw new DistilleryError('BAD_INPUT', `WRN width must be a positive integer, got ${widen}`);
  const n = (depth - 4) / 6;
  const width = checkWidth(opts.width);
  const widths = [16, 16 * widen, 32 * widen, 64 * widen].map((n) => scaledChannels(n, width));
  const input = tf.input({ shape: [h, w, c], name: 'input' });
  let x = conv(input, { filters: widths[0]!, kernel: 3, pad: 1, bias: false, inChannels: c, name: 'conv1', init: 'kaiming-fan-out' });
  for (let g = 0; g < 3; g++) {
    for (let b = 0; b < n; b++) {
      const inC = b === 0 ? widths[g]! : widths[g + 1]!;
      const stride = b === 0 && g > 0 ? 2 : 1;
      x = block(x, inC, widths[g + 1]!, stride, `g${g + 1}b${b + 1}`);
    }
    // A named identity marks the group output for attention transfer.
    x = tf.layers.activation({ activation: 'linear', name: LAYER_NAMES.group(g + 1) }).apply(x) as Sym;
  }
  x = batchNorm(x, 'bn_final');
  x = relu(x, 'relu_final');
  x = tf.layers.globalAveragePooling2d({ name: LAYER_NAMES.features }).apply(x) as Sym;
  const logits = dense(x, k, widths[3]!, LAYER_NAMES.logits);
  return tf.model({ inputs: input, outputs: logits, name: opts.name ?? `wrn-${depth}-${widen}` });
}

export function buildWideResNet(opts: WideResNetOptions): tf.LayersModel {
  return seeded(opts.seed, () => buildWideResNetUnseeded(opts));
}
