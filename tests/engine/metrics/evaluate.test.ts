import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { collectOutputs, generatorSource } from '../../../src-main/engine/metrics/batching.ts';
import { evaluateSamples, formatReport, referenceStats } from '../../../src-main/engine/metrics/evaluate.ts';
import { inceptionScore } from '../../../src-main/engine/metrics/inception.ts';
import {
  functionFeatureNetwork,
  modelFeatureNetwork,
  penultimateModel,
  probabilityNetwork,
  teacherFeatureNetwork,
} from '../../../src-main/engine/metrics/networks.ts';
import { DistilleryError } from '../../../src-main/engine/errors.ts';
import { tinyClassifier } from './tiny-classifier.ts';

const K = 3;
let teacher: tf.LayersModel;
let student: tf.LayersModel;
let userModel: tf.LayersModel;
let softmaxModel: tf.LayersModel;
let generator: tf.LayersModel;

const classifier = (name: string, hidden: number, seed: number, softmax = false) => tinyClassifier(name, { numClasses: K, hidden, seed, softmax });

beforeAll(async () => {
  await tf.setBackend('cpu');
  teacher = classifier('teacher', 16, 1);
  student = classifier('student', 6, 10);
  softmaxModel = classifier('probs', 6, 20, true);
  // A "user" feature model with its own input size and 3 channels, like a converted Inception-v3.
  const inp = tf.input({ shape: [12, 12, 3] });
  const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 30 }), name: 'conv' }).apply(inp) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(conv) as tf.SymbolicTensor;
  const pool = tf.layers.dense({ units: 5, kernelInitializer: tf.initializers.glorotUniform({ seed: 31 }), name: 'pool' }).apply(gap) as tf.SymbolicTensor;
  userModel = tf.model({ inputs: inp, outputs: pool, name: 'mini_inception' });
  generator = tf.sequential({
    name: 'gen',
    layers: [
      tf.layers.dense({ inputShape: [4], units: 64, activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 40 }) }),
      tf.layers.reshape({ targetShape: [8, 8, 1] }),
    ],
  });
});

afterAll(() => {
  for (const m of [teacher, student, userModel, softmaxModel, generator]) m.dispose();
});

/** Largest absolute difference of two tensors (tidied). */
function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

function images(n: number, seed: number): tf.Tensor4D {
  return tf.randomUniform([n, 8, 8, 1], -1, 1, 'float32', seed) as tf.Tensor4D;
}

describe('feature networks', () => {
  it("takes the teacher's penultimate activations (input of its last Dense layer)", () => {
    const x = images(5, 1);
    const before = tf.memory().numTensors;
    const f = teacherFeatureNetwork(teacher).apply(x);
    expect(f.shape).toEqual([5, 16]);
    // Independently: run the layers one by one up to the hidden Dense.
    const expected = tf.tidy(() => teacher.layers.slice(0, 3).reduce((h, l) => l.apply(h) as tf.Tensor, x as tf.Tensor));
    expect(maxAbsDiff(f, expected)).toBeLessThan(1e-6);
    tf.dispose([f, expected]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('uses any user layers model, adapting size and channels, or one of its layers', () => {
    const x = images(4, 2);
    const net = modelFeatureNetwork(userModel);
    expect(net.label).toBe('mini_inception features');
    const f = net.apply(x);
    expect(f.shape).toEqual([4, 5]);
    const expected = tf.tidy(() => userModel.predict(tf.tile(tf.image.resizeBilinear(x, [12, 12]), [1, 1, 1, 3])) as tf.Tensor);
    expect(maxAbsDiff(f, expected)).toBeLessThan(1e-6);
    const g = modelFeatureNetwork(userModel, { layer: 'gap' });
    expect(g.label).toBe('mini_inception/gap features');
    const gf = g.apply(x);
    expect(gf.shape).toEqual([4, 4]);
    expect(() => modelFeatureNetwork(userModel, { layer: 'nope' })).toThrow(DistilleryError);
    tf.dispose([x, f, expected, gf]);
  });

  it('rejects a model without a Dense layer for penultimate features', () => {
    const m = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [2, 2, 1] })] });
    expect(() => penultimateModel(m)).toThrow(/Dense/);
    m.dispose();
  });

  it('applies softmax to logits and leaves softmax outputs alone', () => {
    const x = images(6, 3);
    const fromLogits = probabilityNetwork(teacher).apply(x);
    const expected = tf.tidy(() => tf.softmax(teacher.predict(x) as tf.Tensor));
    expect(maxAbsDiff(fromLogits, expected)).toBeLessThan(1e-6);
    const fromProbs = probabilityNetwork(softmaxModel).apply(x);
    const direct = softmaxModel.predict(x) as tf.Tensor;
    expect(maxAbsDiff(fromProbs, direct)).toBeLessThan(1e-7);
    const forced = probabilityNetwork(softmaxModel, { outputs: 'logits' }).apply(x);
    expect(maxAbsDiff(forced, direct)).toBeGreaterThan(1e-3);
    tf.dispose([x, fromLogits, expected, fromProbs, direct, forced]);
  });
});

describe('batched collection', () => {
  it('gives the same rows whatever the batch size, and leaks nothing', async () => {
    const x = images(37, 4);
    const net = teacherFeatureNetwork(teacher);
    const before = tf.memory().numTensors;
    const [a] = await collectOutputs(x, [net.apply], { batchSize: 5 });
    const [b] = await collectOutputs(x, [net.apply], { batchSize: 100 });
    expect(tf.memory().numTensors).toBe(before);
    expect(a!.rows).toBe(37);
    expect(a!.cols).toBe(16);
    for (let i = 0; i < a!.data.length; i++) expect(a!.data[i]).toBeCloseTo(b!.data[i]!, 5);
    x.dispose();
  });

  it('stops with CANCELLED when the signal is aborted', async () => {
    const x = images(10, 5);
    const ctl = new AbortController();
    ctl.abort();
    await expect(collectOutputs(x, [teacherFeatureNetwork(teacher).apply], { signal: ctl.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
    x.dispose();
  });
});

describe('evaluateSamples', () => {
  it('reports every metric with its label and sample sizes, independent of batching, without leaks', async () => {
    const samples = images(300, 6);
    const reference = images(200, 7);
    const before = tf.memory().numTensors;
    const small = await evaluateSamples({ samples, reference, teacher, student, batchSize: 64, splits: 5 });
    const large = await evaluateSamples({ samples, reference, teacher, student, batchSize: 1000, splits: 5 });
    expect(tf.memory().numTensors).toBe(before);

    expect(small.sampleSize).toBe(300);
    expect(small.referenceSize).toBe(200);
    expect(small.featureNetwork).toBe('teacher features');
    const labels = small.lines.map((l) => l.label);
    expect(labels).toContain('FID (teacher features)');
    expect(labels).toContain('IS (teacher classifier)');
    expect(labels).toContain('LPIPS-style diversity (teacher features)');
    const fid = small.lines.find((l) => l.key === 'fid')!;
    expect(fid.sampleSize).toBe(300);
    expect(fid.referenceSize).toBe(200);
    expect(small.lines.every((l) => l.sampleSize > 0)).toBe(true);

    expect(small.frechet!.value).toBeCloseTo(large.frechet!.value, 4);
    expect(small.inceptionScore.mean).toBeCloseTo(large.inceptionScore.mean, 5);
    expect(small.diversity.mean!).toBeCloseTo(large.diversity.mean!, 5);
    expect(small.agreement!.rate).toBe(large.agreement!.rate);
    expect(small.coverage.counts.reduce((a, b) => a + b, 0)).toBe(300);
    expect(small.kdLossEval!.n).toBe(Math.ceil(300 / 64));
    expect(large.kdLossEval!.n).toBe(1);

    // IS equals the IS of the teacher's softmax computed directly.
    const probs = tf.tidy(() => tf.softmax(teacher.predict(samples) as tf.Tensor2D)) as tf.Tensor2D;
    expect(small.inceptionScore.mean).toBeCloseTo(inceptionScore(probs, { splits: 5 }).mean, 5);
    probs.dispose();

    const table = formatReport(small);
    expect(table).toContain('FID (teacher features)');
    expect(table).toContain('n = 300, ref = 200');
    tf.dispose([samples, reference]);
  });

  it('gives diversity 0, IS 1 and a single covered class for identical images', async () => {
    const one = images(1, 8);
    const samples = tf.tile(one, [40, 1, 1, 1]) as tf.Tensor4D;
    const r = await evaluateSamples({ samples, teacher, batchSize: 16 });
    expect(Math.abs(r.diversity.mean!)).toBeLessThan(1e-9);
    expect(r.inceptionScore.mean).toBeCloseTo(1, 5);
    expect(r.coverage.classesCovered).toBe(1);
    expect(r.coverage.normalisedEntropy).toBe(0);
    expect(r.frechet).toBeNull();
    expect(r.lines.find((l) => l.key === 'fid')!.value).toBeNull();
    tf.dispose([one, samples]);
  });

  it('gives agreement 1 and KD loss 0 when the student is the teacher', async () => {
    const samples = images(50, 9);
    const r = await evaluateSamples({ samples, teacher, student: teacher, batchSize: 16, kdLossHistory: [0.5, 0.7, 0.6] });
    expect(r.agreement!.rate).toBe(1);
    expect(r.kdLossEval!.mean).toBeLessThan(1e-9);
    expect(r.kdLossTrain!.n).toBe(3);
    expect(r.kdLossTrain!.variance).toBeCloseTo(0.01, 12);
    expect(r.lines.map((l) => l.key)).toEqual(['is', 'fid', 'diversity', 'coverage', 'agreement', 'kdLossVarianceEval', 'kdLossVarianceTrain']);
    samples.dispose();
  });

  it('reuses reference statistics; FID of a sample set against itself is ~0; mismatched features are refused', async () => {
    const samples = images(120, 10);
    const net = teacherFeatureNetwork(teacher);
    const ref = await referenceStats(samples, net, { batchSize: 50 });
    expect(ref.stats.n).toBe(120);
    const r = await evaluateSamples({ samples, teacher, reference: ref, batchSize: 32 });
    expect(r.frechet!.value).toBeLessThan(1e-6);
    await expect(evaluateSamples({ samples, teacher, reference: { ...ref, featureLabel: 'other features' } })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    samples.dispose();
  });

  it('labels reports with a user feature network (the user-model path)', async () => {
    const samples = images(60, 11);
    const reference = images(40, 12);
    const featureNetwork = modelFeatureNetwork(userModel, { label: 'mini-inception features' });
    const r = await evaluateSamples({ samples, reference, teacher, featureNetwork, batchSize: 25 });
    expect(r.lines.find((l) => l.key === 'fid')!.label).toBe('FID (mini-inception features)');
    expect(r.frechet!.dim).toBe(5);
    expect(r.frechet!.value).toBeGreaterThan(0);
    // A function network over the same model gives the same FID.
    const fn = functionFeatureNetwork((x) => userModel.predict(tf.tile(tf.image.resizeBilinear(x, [12, 12]), [1, 1, 1, 3])) as tf.Tensor, 'mini-inception features');
    const r2 = await evaluateSamples({ samples, reference, teacher, featureNetwork: fn, batchSize: 60 });
    expect(r2.frechet!.value).toBeCloseTo(r.frechet!.value, 4);
    tf.dispose([samples, reference]);
  });

  it('evaluates 2,000 generated images in batches with bounded tf memory', async () => {
    const source = generatorSource(generator, { count: 2000, seed: 3 });
    // The same start gives the same images.
    const a = await source.batch(0, 4);
    const b = await source.batch(0, 4);
    expect(maxAbsDiff(a, b)).toBe(0);
    tf.dispose([a, b]);

    const before = tf.memory().numTensors;
    const during: number[] = [];
    const r = await evaluateSamples({
      samples: source,
      reference: generatorSource(generator, { count: 500, seed: 99 }),
      teacher,
      student,
      batchSize: 250,
      onProgress: () => during.push(tf.memory().numTensors),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(during).toHaveLength(8);
    expect(new Set(during).size).toBe(1); // nothing accumulates between batches
    expect(r.sampleSize).toBe(2000);
    expect(r.referenceSize).toBe(500);
    expect(r.inceptionScore.splits).toBe(10);
    expect(r.frechet!.value).toBeLessThan(r.frechet!.traceSqrt + 1); // same generator: small next to the feature scale
  });
});
