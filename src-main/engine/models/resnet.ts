/**
 * ResNet-18/34, CIFAR variant, as in DAFL's resnet.py (after kuangliu/pytorch-cifar): 3×3 stem
 * conv 64 (no bias) → BN → ReLU, no max-pool; four groups of basic blocks (64, 128, 256, 512;
 * strides 1, 2, 2, 2; [2,2,2,2] or [3,4,6,3] blocks); 1×1 conv + BN shortcuts where the shape
 * changes; global average pool (the reference's 4×4 pool at 32×32) → fc K. `features` is the
 * pooled 512-d vector DAFL reads; `group1..4` are the group outputs.
 *
 * A width multiplier (custom-width students) scales every channel count, the stem included.
 *
 * Counts include BatchNorm running statistics, as the papers' Table 1 does (ResNet18 11,183,562;
 * ResNet34 21,299,146 on 3×32×32).
 */
import * as tf from '@tensorflow/tfjs';
import { seeded, batchNorm, checkClasses, checkShape, checkWidth, conv, dense, relu, scaledChannels } from './layers.ts';
import { LAYER_NAMES, type ClassifierOptions } from './types.ts';

type Sym = tf.SymbolicTensor;

function basicBlock(x: Sym, inC: number, outC: number, stride: number, name: string): Sym {
  let out = conv(x, { filters: outC, kernel: 3, stride, pad: 1, bias: false, inChannels: inC, name: `${name}_conv1` });
  out = batchNorm(out, `${name}_bn1`);
  out = relu(out, `${name}_relu1`);
  out = conv(out, { filters: outC, kernel: 3, pad: 1, bias: false, inChannels: outC, name: `${name}_conv2` });
  out = batchNorm(out, `${name}_bn2`);
  let shortcut = x;
  if (stride !== 1 || inC !== outC) {
    shortcut = conv(x, { filters: outC, kernel: 1, stride, bias: false, inChannels: inC, name: `${name}_shortcut_conv` });
    shortcut = batchNorm(shortcut, `${name}_shortcut_bn`);
  }
  out = tf.layers.add({ name: `${name}_add` }).apply([out, shortcut]) as Sym;
  return relu(out, `${name}_relu2`);
}

function buildResNetUnseeded(opts: ClassifierOptions, blocks: [number, number, number, number], defaultName: string): tf.LayersModel {
  const [h, w, c] = checkShape(opts.inputShape, 'the input shape');
  const k = checkClasses(opts.numClasses);
  const width = checkWidth(opts.width);
  const widths = [64, 128, 256, 512].map((n) => scaledChannels(n, width));
  const stem = widths[0]!;
  const input = tf.input({ shape: [h, w, c], name: 'input' });
  let x = conv(input, { filters: stem, kernel: 3, pad: 1, bias: false, inChannels: c, name: 'conv1' });
  x = batchNorm(x, 'bn1');
  x = relu(x, 'relu1');
  let inC = stem;
  for (let g = 0; g < 4; g++) {
    for (let b = 0; b < blocks[g]!; b++) {
      const stride = b === 0 && g > 0 ? 2 : 1;
      x = basicBlock(x, inC, widths[g]!, stride, `g${g + 1}b${b + 1}`);
      inC = widths[g]!;
    }
    x = tf.layers.activation({ activation: 'linear', name: LAYER_NAMES.group(g + 1) }).apply(x) as Sym;
  }
  x = tf.layers.globalAveragePooling2d({ name: LAYER_NAMES.features }).apply(x) as Sym;
  const logits = dense(x, k, widths[3]!, LAYER_NAMES.logits);
  return tf.model({ inputs: input, outputs: logits, name: opts.name ?? defaultName });
}

function buildResNet(opts: ClassifierOptions, blocks: [number, number, number, number], defaultName: string): tf.LayersModel {
  return seeded(opts.seed, () => buildResNetUnseeded(opts, blocks, defaultName));
}

export function buildResNet18(opts: ClassifierOptions): tf.LayersModel {
  return buildResNet(opts, [2, 2, 2, 2], 'resnet18');
}

export function buildResNet34(opts: ClassifierOptions): tf.LayersModel {
  return buildResNet(opts, [3, 4, 6, 3], 'resnet34');
}
