/**
 * ZSKT on tiny models (cpu backend): reference defaults, attention transfer on WRN-shaped models
 * and its documented absence on models without residual groups, cosine annealing, exact resume,
 * no tensor leaks.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { DistilleryError } from '../../../src-main/engine/errors.ts';
import { getMethod, losses, resolveConfig, runMethod } from '../../../src-main/engine/methods/index.ts';
import { RunStore } from '../../../src-main/engine/runs/store.ts';
import { modelTraits } from '../../../src-main/engine/models/index.ts';
import { denseClassifier, disposeContext, groupClassifier, identity, makeContext, weightsOf } from './helpers.ts';
import { tempDirs } from '../../temp-dirs.ts';

const tiny = { latentDim: 6, batchSize: 6, iterations: 4, student: { steps: 3 }, checkpointEvery: 2, sampleEvery: 0, evalEvery: 2, evalSamples: 8 };
const tmp = tempDirs('distillery-methods-');
beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

/** The method's own verdict on these models and config (what listMethods shows). */
const fitOf = (ctx: { teacher: tf.LayersModel; student: tf.LayersModel }, config: unknown, withStudent = true) =>
  getMethod('zskt').fit!({ teacher: modelTraits(ctx.teacher), student: withStudent ? modelTraits(ctx.student) : null }, config);

const wrnContext = (studentSeed = 40) => makeContext(groupClassifier(30, 'teacher', 3), groupClassifier(studentSeed, 'student', 2));

describe('ZSKT', () => {
  it('defaults are the reference hyper-parameters', () => {
    const c = resolveConfig(getMethod('zskt'), 'cifar10');
    expect(c).toMatchObject({ latentDim: 100, batchSize: 128, iterations: 80_000, generator: { lr: 1e-3, steps: 1 }, student: { lr: 2e-3, steps: 10 }, beta: 250, clipNorm: 5, klReduction: 'elementwise', attention: 'auto' });
    expect(getMethod('zskt').phases(c)).toEqual([{ name: 'adversarial', total: 80_000, batchSize: 128, trainsStudent: true }]);
  });

  it('with WRN-shaped models: attention transfer used, every term finite, cosine lrs, no leaks', async () => {
    const config = resolveConfig(getMethod('zskt'), 'cifar10', tiny);
    const ctx = wrnContext();
    const before = tf.memory().numTensors;
    const values: Record<string, number>[] = [];
    const studentBefore = weightsOf(ctx.student);
    await runMethod({ definition: getMethod('zskt'), config, context: ctx, onProgress: (e) => values.push(e.values) });
    expect(tf.memory().numTensors).toBe(before);
    expect(values).toHaveLength(4);
    for (const [s, v] of values.entries()) {
      for (const k of ['lossG', 'kl', 'at', 'lossS', 'gradNormG', 'gradNormS', 'lrG', 'lrS']) expect(Number.isFinite(v[k]), k).toBe(true);
      expect(v.atUsed).toBe(1);
      expect(v.at).toBeGreaterThan(0);
      expect(v.lossS).toBeCloseTo(v.kl! + v.at!, 5);
      expect(v.lossG).toBeLessThanOrEqual(0); // −KL
      expect(v.lrG).toBeCloseTo(losses.cosineAnnealing(1e-3, s, 4), 12);
      expect(v.lrS).toBeCloseTo(losses.cosineAnnealing(2e-3, s, 4), 12);
    }
    expect(values[0]!.lrS).toBe(2e-3);
    expect(values.at(-1)!.agreement).toBeGreaterThanOrEqual(0);
    // What the wizard is told agrees with what ran.
    expect(fitOf(ctx, config)).toEqual({ kind: 'paper' });
    expect(weightsOf(ctx.student)).not.toEqual(studentBefore);
    disposeContext(ctx);
  });

  it('without residual groups (LeNet5-like): runs without AT and says so; "require" refuses', async () => {
    const config = resolveConfig(getMethod('zskt'), 'mnist', tiny);
    const ctx = makeContext(denseClassifier(1, 'teacher'), denseClassifier(5, 'student'));
    const values: Record<string, number>[] = [];
    await runMethod({ definition: getMethod('zskt'), config, context: ctx, maxSteps: 2, onProgress: (e) => values.push(e.values) });
    for (const v of values) {
      expect(v.atUsed).toBe(0);
      expect(v.at).toBe(0);
      expect(v.lossS).toBe(v.kl);
    }
    expect(fitOf(ctx, config)).toMatchObject({ kind: 'variant', variant: 'without attention transfer', reason: expect.stringMatching(/the teacher has 0, the student 0/) });
    expect(fitOf(ctx, config, false)).toMatchObject({ kind: 'variant', reason: expect.stringMatching(/the teacher has none/) });
    const strict = resolveConfig(getMethod('zskt'), 'mnist', { ...tiny, attention: 'require' });
    expect(fitOf(ctx, strict)).toMatchObject({ kind: 'unusable', reason: expect.stringMatching(/group/) });
    await expect(runMethod({ definition: getMethod('zskt'), config: strict, context: ctx })).rejects.toSatisfy((e: unknown) => e instanceof DistilleryError && e.code === 'BAD_MODEL' && /group/.test(e.message));
    // 'off' on WRN-shaped models: no AT either
    const off = resolveConfig(getMethod('zskt'), 'mnist', { ...tiny, attention: 'off' });
    const w = wrnContext();
    const ov: Record<string, number>[] = [];
    await runMethod({ definition: getMethod('zskt'), config: off, context: w, maxSteps: 1, onProgress: (e) => ov.push(e.values) });
    expect(ov[0]!.atUsed).toBe(0);
    expect(fitOf(w, off)).toMatchObject({ kind: 'variant', reason: expect.stringMatching(/attention transfer is off/) });
    disposeContext(ctx);
    disposeContext(w);
  });

  it('resumed runs equal an uninterrupted one, bit for bit, and continue the step count', async () => {
    const config = resolveConfig(getMethod('zskt'), 'cifar10', tiny);
    const a = wrnContext();
    const rootA = tmp();
    await runMethod({ definition: getMethod('zskt'), config, context: a, store: RunStore.create(rootA, identity('zskt', config), { id: 'a' }) });
    const rootB = tmp();
    await runMethod({ definition: getMethod('zskt'), config, context: wrnContext(), store: RunStore.create(rootB, identity('zskt', config), { id: 'b' }), maxSteps: 1 });
    const b = wrnContext(77); // a differently initialised student: the checkpoint must restore it
    await runMethod({ definition: getMethod('zskt'), config, context: b, store: RunStore.open(join(rootB, 'b')), resume: true });
    expect(weightsOf(b.student)).toEqual(weightsOf(a.student));
    const ma = RunStore.open(join(rootA, 'a')).readMetrics();
    const mb = RunStore.open(join(rootB, 'b')).readMetrics();
    expect(mb.map((r) => r.globalStep)).toEqual([1, 2, 3, 4]);
    expect(mb.map((r) => r.values)).toEqual(ma.map((r) => r.values));
    expect(RunStore.open(join(rootB, 'b')).readSummary()).toMatchObject({ last: { adversarial: { atUsed: 1 } } });
    disposeContext(a);
    disposeContext(b);
  });
});
