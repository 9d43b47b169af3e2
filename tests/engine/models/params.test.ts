import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ARCHITECTURES, countParams, countTrainableParams, getArchitecture, getClassifier, getGenerator } from '../../../src-main/engine/models/index.ts';
import { DistilleryError } from '../../../src-main/engine/errors.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// RDSKD's Table 1 (methods.md); the counts include BatchNorm running statistics.
const PAPER: [string, number][] = [
  ['lenet5', 61_706],
  ['lenet5-half', 15_738],
  ['wrn-40-2', 2_248_954],
  ['wrn-16-1', 175_994],
  ['resnet34', 21_299_146],
  ['resnet18', 11_183_562],
];

describe('parameter counts of the papers\' architectures', () => {
  it.each(PAPER)('%s has %i parameters on its reference input', (name, expected) => {
    const spec = getClassifier(name);
    expect(spec.paperParams).toBe(expected);
    const model = spec.build({ inputShape: spec.reference.shape, numClasses: 10 });
    try {
      expect(countParams(model)).toBe(expected);
      expect(model.outputs[0]!.shape).toEqual([null, 10]);
    } finally {
      model.dispose();
    }
  });

  it('counts BatchNorm running statistics like the paper (trainable = total − 2 per BN channel)', () => {
    const model = getClassifier('wrn-16-1').build({ inputShape: [32, 32, 3], numClasses: 10 });
    const bnChannels = model.layers.filter((l) => l.getClassName() === 'BatchNormalization').reduce((s, l) => s + (l.getWeights()[0]!.shape[0] as number), 0);
    expect(countTrainableParams(model)).toBe(countParams(model) - 2 * bnChannels);
    model.dispose();
  });

  it('the DAFL generator (seventh architecture) matches the reference layer by layer', () => {
    const g = getGenerator('dafl-generator').build({ outputShape: [32, 32, 1], latentDim: 100 });
    // PyTorch: Linear 100→8192 (827,392) + BN128 + conv 128→128 (147,584) + BN + conv 128→64 (73,792)
    // + BN + conv 64→1 (577) + BN(1, affine=False). tfjs keeps γ/β of the last BN as fixed weights.
    const weights = (n: string): number[] => g.getLayer(n).getWeights().map((w) => w.size);
    expect(weights('fc')).toEqual([100 * 8192, 8192]);
    expect(weights('conv1')).toEqual([128 * 128 * 9, 128]);
    expect(weights('conv2')).toEqual([128 * 64 * 9, 64]);
    expect(weights('conv3')).toEqual([64 * 9, 1]);
    const cfg = (n: string): Record<string, unknown> => g.getLayer(n).getConfig() as Record<string, unknown>;
    expect(cfg('bn0').epsilon).toBeCloseTo(1e-5);
    expect(cfg('bn1').epsilon).toBe(0.8);
    expect(cfg('bn2').epsilon).toBe(0.8);
    expect(cfg('bn1').momentum).toBe(0.9); // PyTorch momentum 0.1
    expect(g.getLayer('image').trainable).toBe(false); // affine=False
    expect(g.getLayer('tanh')).toBeDefined();
    expect(countTrainableParams(g)).toBe(827_392 + 256 + 147_584 + 256 + 73_792 + 128 + 577);
    g.dispose();
  });

  it('the ZSKT generator has no tanh, default epsilon and an affine final BN', () => {
    const g = getGenerator('zskt-generator').build({ outputShape: [32, 32, 3], latentDim: 100 });
    expect(g.layers.some((l) => l.name === 'tanh')).toBe(false);
    expect((g.getLayer('bn1').getConfig() as { epsilon: number }).epsilon).toBeCloseTo(1e-5);
    expect(g.getLayer('image').trainable).toBe(true);
    expect(g.outputs[0]!.shape).toEqual([null, 32, 32, 3]);
    g.dispose();
  });
});

describe('custom widths', () => {
  const count = (name: string, width?: number, shape: [number, number, number] = [32, 32, 1]): number => {
    const model = getClassifier(name).build({ inputShape: shape, numClasses: 10, ...(width === undefined ? {} : { width }) });
    try {
      return countParams(model);
    } finally {
      model.dispose();
    }
  };
  const filters = (model: tf.LayersModel, layer: string): number => (model.getLayer(layer).getConfig() as { filters?: number; units?: number }).filters ?? (model.getLayer(layer).getConfig() as { units: number }).units;

  it('width 1 is the zoo\'s architecture exactly', () => {
    expect(count('lenet5', 1)).toBe(61_706);
    expect(count('wrn-16-1', 1, [32, 32, 3])).toBe(175_994);
  });

  it('LeNet5 at width 0.5 is LeNet5-half, and LeNet5-half at width 2 is LeNet5', () => {
    expect(count('lenet5', 0.5)).toBe(15_738);
    expect(count('lenet5-half', 2)).toBe(61_706);
  });

  it('scales every channel and unit count, rounded and never below 1', () => {
    const lenet = getClassifier('lenet5').build({ inputShape: [32, 32, 1], numClasses: 10, width: 0.3 });
    expect(['conv1', 'conv2', 'conv3', 'fc1'].map((l) => filters(lenet, l))).toEqual([2, 5, 36, 25]); // 1.8, 4.8, 36, 25.2
    expect(filters(lenet, 'logits')).toBe(10); // the classes are not scaled
    lenet.dispose();
    const tiny = getClassifier('lenet5').build({ inputShape: [32, 32, 1], numClasses: 10, width: 0.01 });
    expect(['conv1', 'conv2', 'conv3', 'fc1'].map((l) => filters(tiny, l))).toEqual([1, 1, 1, 1]);
    tiny.dispose();
    const wrn = getClassifier('wrn-16-2').build({ inputShape: [32, 32, 3], numClasses: 10, width: 0.5 });
    expect(['conv1', 'g1b1_conv1', 'g2b1_conv1', 'g3b2_conv2'].map((l) => filters(wrn, l))).toEqual([8, 16, 32, 64]);
    expect(wrn.getLayer('logits').getWeights()[0]!.shape).toEqual([64, 10]);
    wrn.dispose();
    const resnet = getClassifier('resnet18').build({ inputShape: [32, 32, 3], numClasses: 10, width: 0.25 });
    expect(['conv1', 'g1b1_conv1', 'g2b1_conv1', 'g3b1_conv1', 'g4b2_conv2'].map((l) => filters(resnet, l))).toEqual([16, 16, 32, 64, 128]);
    expect(resnet.getLayer('logits').getWeights()[0]!.shape).toEqual([128, 10]);
    resnet.dispose();
  });

  it('parameters grow about as width² for the residual networks', () => {
    const base = count('wrn-16-1', 1, [32, 32, 3]);
    const double = count('wrn-16-1', 2, [32, 32, 3]);
    const half = count('wrn-16-1', 0.5, [32, 32, 3]);
    expect(double / base).toBeGreaterThan(3.5);
    expect(double / base).toBeLessThan(4.1);
    expect(base / half).toBeGreaterThan(3.5);
    expect(base / half).toBeLessThan(4.1);
  });

  it.each([[0], [-1], [Number.NaN], [Number.POSITIVE_INFINITY]])('refuses width %s with BAD_INPUT', (width) => {
    expect(() => getClassifier('lenet5').build({ inputShape: [32, 32, 1], numClasses: 10, width })).toThrow(/width multiplier must be a positive number/);
  });
});

describe('builders follow the teacher\'s input shape', () => {
  const shapes: [number, number, number][] = [
    [28, 28, 1],
    [32, 32, 3],
    [64, 64, 3],
    [30, 26, 3],
  ];
  for (const spec of ARCHITECTURES) {
    it(`${spec.name} builds for ${shapes.map((s) => s.join('×')).join(', ')}`, () => {
      for (const shape of shapes) {
        if (spec.kind === 'classifier') {
          const m = spec.build({ inputShape: shape, numClasses: 7 });
          expect(m.inputs[0]!.shape).toEqual([null, ...shape]);
          expect(m.outputs[0]!.shape).toEqual([null, 7]);
          m.dispose();
        } else {
          const g = spec.build({ outputShape: shape, latentDim: 16 });
          expect(g.inputs[0]!.shape).toEqual([null, 16]);
          expect(g.outputs[0]!.shape).toEqual([null, ...shape]);
          g.dispose();
        }
      }
    });
  }

  it('generators seed at ⌈H/4⌉×⌈W/4⌉ (8×8 for 32×32, 7×7 for 28×28)', () => {
    for (const [shape, seed] of [
      [[32, 32, 1], [8, 8]],
      [[28, 28, 1], [7, 7]],
      [[64, 64, 3], [16, 16]],
    ] as const) {
      const g = getGenerator('dafl-generator').build({ outputShape: shape, latentDim: 10 });
      expect(g.getLayer('seed').outputShape).toEqual([null, seed[0], seed[1], 128]);
      g.dispose();
    }
  });

  it('a generator output feeds a classifier of the same shape', () => {
    const g = getGenerator('dafl-generator').build({ outputShape: [28, 28, 1], latentDim: 10 });
    const c = getClassifier('lenet5').build({ inputShape: [28, 28, 1], numClasses: 10 });
    const y = tf.tidy(() => c.apply(g.apply(tf.randomNormal([2, 10]), { training: true }), { training: true }) as tf.Tensor);
    expect(y.shape).toEqual([2, 10]);
    expect(Number.isFinite(y.sum().dataSync()[0])).toBe(true);
    tf.dispose([y]);
    g.dispose();
    c.dispose();
  });

  it('rejects impossible configurations with BAD_INPUT', () => {
    expect(() => getClassifier('lenet5').build({ inputShape: [10, 10, 1], numClasses: 10 })).toThrow(DistilleryError);
    expect(() => getClassifier('wrn-15-1')).not.toThrow(); // parsed; depth is checked at build time
    expect(() => getClassifier('wrn-15-1').build({ inputShape: [32, 32, 3], numClasses: 10 })).toThrow(/6n \+ 4/);
    expect(() => getClassifier('lenet5').build({ inputShape: [32, 32], numClasses: 10 })).toThrow(/height, width, channels/);
    expect(() => getClassifier('lenet5').build({ inputShape: [32, 32, 1], numClasses: 1 })).toThrow(/classes/);
    expect(() => getArchitecture('vgg16')).toThrow(/unknown architecture/);
    expect(() => getClassifier('dafl-generator')).toThrow(/generator/);
  });

  it('a seed makes the initial weights reproducible', () => {
    const weights = (seed?: number): Float32Array[] => {
      const m = getClassifier('lenet5-half').build({ inputShape: [32, 32, 1], numClasses: 10, ...(seed === undefined ? {} : { seed }) });
      const w = m.getWeights().map((t) => t.dataSync() as Float32Array);
      m.dispose();
      return w;
    };
    const a = weights(5);
    expect(weights(5)).toEqual(a);
    expect(weights(6)[0]).not.toEqual(a[0]);
    expect(weights()[0]).not.toEqual(a[0]);
    // Each layer gets its own seed (not the same draw for equal shapes).
    expect(a[0]!.slice(0, 3)).not.toEqual(a[2]!.slice(0, 3));
    // PyTorch's default init: U(±1/√fan_in); conv1 has fan_in 25.
    expect(Math.max(...a[0]!.map(Math.abs))).toBeLessThanOrEqual(1 / 5);
    expect(Math.max(...a[0]!.map(Math.abs))).toBeGreaterThan(0.15);
    const g1 = getGenerator('dafl-generator').build({ outputShape: [8, 8, 1], latentDim: 4, seed: 1 });
    const g2 = getGenerator('dafl-generator').build({ outputShape: [8, 8, 1], latentDim: 4, seed: 1 });
    expect(g1.getWeights()[0]!.dataSync()).toEqual(g2.getWeights()[0]!.dataSync());
    g1.dispose();
    g2.dispose();
  });

  it('any wrn-D-K is available', () => {
    const m = getClassifier('wrn-10-1').build({ inputShape: [32, 32, 3], numClasses: 10 });
    expect(m.layers.filter((l) => l.name.endsWith('_add')).length).toBe(3);
    m.dispose();
  });
});
