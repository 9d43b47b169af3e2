import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchNormLayers, getClassifier, getGenerator, withTaps } from '../../../src-main/engine/models/index.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function close(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('intermediate outputs for the methods', () => {
  it('LeNet5: features are DAFL\'s 120-d vector; penultimate is the 84-d input of the classifier', () => {
    const m = getClassifier('lenet5').build({ inputShape: [32, 32, 1], numClasses: 10 });
    const t = withTaps(m, ['features', 'penultimate']);
    const x = tf.randomNormal([3, 32, 32, 1]);
    const outs = t.model.predict(x) as tf.Tensor[];
    expect(outs.map((o) => o.shape)).toEqual([[3, 10], [3, 120], [3, 84]]);
    expect(t.index).toMatchObject({ features: [1], penultimate: [2] });
    const direct = m.predict(x) as tf.Tensor;
    expect(close(outs[0]!, direct)).toBeLessThan(1e-6);
    // Shared weights: changing the original changes the tapped model.
    const fc = m.getLayer('logits');
    fc.setWeights(fc.getWeights().map((w) => tf.zerosLike(w)));
    const after = (t.model.predict(x) as tf.Tensor[])[0]!;
    expect(tf.abs(after).max().dataSync()[0]).toBe(0);
    tf.dispose([x, ...outs, direct, after]);
    m.dispose();
  });

  it('WRN-16-1: three group outputs (attention transfer) and every BatchNorm input (DeepInversion)', () => {
    const m = getClassifier('wrn-16-1').build({ inputShape: [32, 32, 3], numClasses: 10 });
    const t = withTaps(m, ['groups', 'bnInputs', 'features']);
    const bn = batchNormLayers(m);
    expect(t.bnLayers).toHaveLength(bn.length);
    expect(bn.length).toBe(13);
    const outs = t.model.apply(tf.randomNormal([2, 32, 32, 3]), { training: true }) as tf.Tensor[];
    const groups = t.index.groups.map((i) => outs[i]!.shape);
    expect(groups).toEqual([[2, 32, 32, 16], [2, 16, 16, 32], [2, 8, 8, 64]]);
    t.index.bnInputs.forEach((i, j) => {
      const channels = bn[j]!.getWeights()[0]!.shape[0];
      expect(outs[i]!.shape[3]).toBe(channels);
    });
    expect(outs[t.index.features[0]!]!.shape).toEqual([2, 64]);
    tf.dispose(outs);
    m.dispose();
  });

  it('ResNet18 has four groups; generators expose their BatchNorm inputs', () => {
    const r = getClassifier('resnet18').build({ inputShape: [32, 32, 3], numClasses: 10 });
    const t = withTaps(r, ['groups']);
    expect(t.index.groups).toHaveLength(4);
    r.dispose();
    const g = getGenerator('dafl-generator').build({ outputShape: [28, 28, 1], latentDim: 8 });
    const tg = withTaps(g, ['bnInputs']);
    expect(tg.bnLayers.map((l) => l.name)).toEqual(['bn0', 'bn1', 'bn2', 'image']);
    g.dispose();
  });

  it('LeNet5 has no groups: asking for them is a clear BAD_MODEL error', () => {
    const m = getClassifier('lenet5').build({ inputShape: [32, 32, 1], numClasses: 10 });
    expect(() => withTaps(m, ['groups'])).toThrow(/residual-group/);
    m.dispose();
  });

  it('models without our layer names (user models) still give features: the classifier\'s input', () => {
    const input = tf.input({ shape: [8, 8, 1] });
    const h = tf.layers.flatten().apply(tf.layers.conv2d({ filters: 2, kernelSize: 3 }).apply(input)) as tf.SymbolicTensor;
    const hidden = tf.layers.dense({ units: 5, activation: 'relu' }).apply(h) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3 }).apply(hidden) as tf.SymbolicTensor;
    const m = tf.model({ inputs: input, outputs: out });
    const t = withTaps(m, ['features']);
    expect(t.model.outputs[1]!.shape).toEqual([null, 5]);
    m.dispose();
  });
});
