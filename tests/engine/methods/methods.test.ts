/**
 * RDSKD, DAFL and MSKD on tiny models (cpu backend): defaults, config validation, the per-epoch
 * snapshot, the frozen generator in the student phase, resume across the phase boundary, memory.
 * The generator is the model zoo's DAFL generator at 8×8×1 (real layers, tiny spatial size).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { DistilleryError } from '../../../src-main/engine/errors.ts';
import { defaultGeneratorFactory, getMethod, METHODS, resolveConfig, runMethod, type MethodContext } from '../../../src-main/engine/methods/index.ts';
import { RunStore, type MetricRecord } from '../../../src-main/engine/runs/store.ts';
import { tempDirs } from '../../temp-dirs.ts';

const SHAPE = [4, 4, 1] as const;
const K = 4;

function classifier(seed: number, name: string): tf.LayersModel {
  return tf.sequential({
    name,
    layers: [
      tf.layers.flatten({ inputShape: [...SHAPE] }),
      tf.layers.dense({ units: 12, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.dense({ units: K, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }), name: `${name}_logits` }),
    ],
  });
}

/**
 * A small seeded generator with the DAFL generator's ingredients that matter here (BatchNorm in
 * training vs inference mode, tanh, a final BN without scale/offset), dense only: the cpu backend
 * runs the real one's 128-channel convolutions far too slowly for a unit suite (one smoke test
 * below uses it).
 */
function tinyGenerator(options: { outputShape: readonly number[]; latentDim: number }): tf.LayersModel {
  const [h, w, c] = options.outputShape as [number, number, number];
  return tf.sequential({
    name: 'tiny-generator',
    layers: [
      tf.layers.dense({ inputShape: [options.latentDim], units: 16, kernelInitializer: tf.initializers.glorotUniform({ seed: 21 }) }),
      tf.layers.batchNormalization({ epsilon: 0.8, momentum: 0.9 }),
      tf.layers.leakyReLU({ alpha: 0.2 }),
      tf.layers.dense({ units: h * w * c, activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 22 }) }),
      tf.layers.reshape({ targetShape: [h, w, c] }),
      tf.layers.batchNormalization({ trainable: false }),
    ],
  });
}

function context(studentSeed = 5, real = false): MethodContext {
  return {
    teacher: classifier(1, 'teacher'),
    student: classifier(studentSeed, 'student'),
    inputShape: [...SHAPE],
    numClasses: K,
    buildGenerator: real ? defaultGeneratorFactory : (_kind, o) => tinyGenerator(o),
  };
}

const tiny = {
  rdskd: { latentDim: 6, generator: { epochs: 2, itersPerEpoch: 3, batchSize: 8 }, student: { epochs: 2, itersPerEpoch: 2, batchSize: 8 }, checkpointEvery: 2, sampleEvery: 3, evalEvery: 2, evalSamples: 16 },
  dafl: { latentDim: 6, epochs: 2, itersPerEpoch: 2, batchSize: 8, checkpointEvery: 2, sampleEvery: 0, evalEvery: 2, evalSamples: 16 },
};

const tmp = tempDirs('distillery-methods-');

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

function identity(method: string, config: unknown) {
  return { method, dataset: 'mnist', config: config as never, teacher: { architecture: 'tiny' }, student: { architecture: 'tiny' } };
}

describe('configs', () => {
  it('defaults are the reference hyper-parameters per dataset', () => {
    const r = resolveConfig(getMethod('rdskd'), 'mnist');
    expect(r).toMatchObject({ latentDim: 100, generator: { epochs: 20, itersPerEpoch: 120, batchSize: 512, lr: 1e-3 }, student: { epochs: 1000, itersPerEpoch: 120, batchSize: 512, lr: 2e-3, tau: 10 } });
    expect(r.student.lrDecay).toBeUndefined();
    const rc = resolveConfig(getMethod('rdskd'), 'cifar10');
    expect(rc.latentDim).toBe(1000);
    expect(rc.student.lrDecay).toEqual({ milestones: [800, 1600], factor: 0.1 });
    const d = resolveConfig(getMethod('dafl'), 'mnist');
    expect(d).toMatchObject({ latentDim: 100, epochs: 200, itersPerEpoch: 120, batchSize: 512, lrG: 0.2, weights: { oh: 1, ie: 5, a: 0.1 }, student: { optimizer: 'adam', lr: 2e-3 } });
    const dc = resolveConfig(getMethod('dafl'), 'cifar10');
    expect(dc).toMatchObject({ latentDim: 1000, epochs: 2000, batchSize: 1024, lrG: 0.02, weights: { oh: 0.05, ie: 5, a: 0.01 }, student: { optimizer: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 5e-4 } });
    // overrides merge deeply
    expect(resolveConfig(getMethod('rdskd'), 'mnist', { generator: { lr: 0.2 } }).generator).toEqual({ epochs: 20, itersPerEpoch: 120, batchSize: 512, lr: 0.2 });
  });

  it('invalid configs are BAD_INPUT naming the key', () => {
    const bad = (m: string, over: unknown) => {
      try {
        resolveConfig(getMethod(m), 'mnist', over);
      } catch (e) {
        return e as DistilleryError;
      }
      throw new Error('accepted');
    };
    expect(bad('rdskd', { generator: { batchSize: 511 } }).message).toMatch(/generator\.batchSize: RDSKD splits the batch/);
    expect(bad('rdskd', { student: { tau: -1 } }).code).toBe('BAD_INPUT');
    expect(bad('dafl', { lrG: 0.1, typo: 1 }).message).toMatch(/typo|Unrecognized/);
    expect(() => getMethod('nope')).toThrow(/unknown method/);
    expect(Object.keys(METHODS).sort()).toEqual(['dafl', 'deepinversion', 'mskd', 'rdskd', 'zskd', 'zskt']);
  });
});

describe('RDSKD', () => {
  it('snapshot of L_oh / L_ie is refreshed at iteration 1 of each epoch and used by the total', async () => {
    const config = resolveConfig(getMethod('rdskd'), 'mnist', tiny.rdskd);
    const metrics: MetricRecord[] = [];
    const ctx = context();
    const tensorsBefore = tf.memory().numTensors;
    await runMethod({ definition: getMethod('rdskd'), config, context: ctx, maxSteps: 6, onProgress: (e) => metrics.push({ globalStep: 0, phase: e.phase, phaseIndex: 0, step: e.step, total: e.total, time: e.time, values: e.values }) });
    expect(tf.memory().numTensors).toBe(tensorsBefore); // six generator steps leak nothing
    const v = metrics.map((m) => m.values);
    expect(v).toHaveLength(6);
    // before the first refresh the snapshot is 0
    expect([v[0]!.ohPrev, v[0]!.iePrev]).toEqual([0, 0]);
    // refreshed at i == 1 (steps 1 and 4) with that step's own terms, kept in between
    for (const s of [1, 2]) expect([v[s]!.ohPrev, v[s]!.iePrev]).toEqual([v[1]!.oh, v[1]!.ie]);
    expect([v[3]!.ohPrev, v[3]!.iePrev]).toEqual([v[1]!.oh, v[1]!.ie]);
    for (const s of [4, 5]) expect([v[s]!.ohPrev, v[s]!.iePrev]).toEqual([v[4]!.oh, v[4]!.ie]);
    // total = exp(oh − oh_prev) + exp(ie − ie_prev) + ds with the snapshot in force during the step
    const usedPrev = (s: number) => (s === 0 || s === 1 ? [0, 0] : s === 4 ? [v[1]!.oh!, v[1]!.ie!] : [v[s]!.ohPrev!, v[s]!.iePrev!]);
    for (let s = 0; s < 6; s++) {
      const [po, pi] = usedPrev(s);
      const expected = Math.exp(v[s]!.oh! - po!) + Math.exp(v[s]!.ie! - pi!) + v[s]!.ds!;
      expect(Math.abs(v[s]!.total! - expected)).toBeLessThan(1e-4 * Math.abs(expected));
    }
    ctx.teacher.dispose();
    ctx.student.dispose();
  });

  it('the student phase leaves the generator (and its BN statistics) untouched', async () => {
    const root = tmp();
    const config = resolveConfig(getMethod('rdskd'), 'mnist', tiny.rdskd);
    const store = RunStore.create(root, identity('rdskd', config), { id: 'g' });
    await runMethod({ definition: getMethod('rdskd'), config, context: context(), store, maxSteps: 6 }); // exactly the generator phase
    const afterGen = RunStore.open(join(root, 'g')).checkpointInfo()!;
    expect(afterGen.position).toEqual({ phaseIndex: 1, step: 0, globalStep: 6 });
    // read the generator weights stored at the phase boundary and at the end
    const weightsAt = async (dir: string) => {
      const gen = tinyGenerator({ outputShape: SHAPE, latentDim: 6 });
      const st = RunStore.open(dir);
      const { restoreCheckpoint } = await import('../../../src-main/engine/runs/checkpoint.ts');
      await restoreCheckpoint(st.checkpointPath, { generator: gen }, {});
      const w = gen.getWeights().map((t) => Array.from(t.dataSync()));
      gen.dispose();
      return w;
    };
    const before = await weightsAt(join(root, 'g'));
    await runMethod({ definition: getMethod('rdskd'), config, context: context(), store: RunStore.open(join(root, 'g')), resume: true });
    const after = await weightsAt(join(root, 'g'));
    expect(after).toEqual(before);
    const m = RunStore.open(join(root, 'g')).readMetrics();
    expect(m.map((r) => r.globalStep)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const last = m.at(-1)!.values;
    expect(Number.isFinite(last.kd)).toBe(true);
    expect(last.agreement).toBeGreaterThanOrEqual(0);
  });

  it('resumed across the phase boundary equals an uninterrupted run, bit for bit', async () => {
    const config = resolveConfig(getMethod('rdskd'), 'mnist', tiny.rdskd);
    const a = context();
    const rootA = tmp();
    await runMethod({ definition: getMethod('rdskd'), config, context: a, store: RunStore.create(rootA, identity('rdskd', config), { id: 'a' }) });
    const rootB = tmp();
    await runMethod({ definition: getMethod('rdskd'), config, context: context(), store: RunStore.create(rootB, identity('rdskd', config), { id: 'b' }), maxSteps: 5 });
    await runMethod({ definition: getMethod('rdskd'), config, context: context(), store: RunStore.open(join(rootB, 'b')), resume: true, maxSteps: 2 });
    const b = context(9);
    await runMethod({ definition: getMethod('rdskd'), config, context: b, store: RunStore.open(join(rootB, 'b')), resume: true });
    const wa = a.student.getWeights().map((t) => Array.from(t.dataSync()));
    const wb = b.student.getWeights().map((t) => Array.from(t.dataSync()));
    expect(wb).toEqual(wa);
    const ma = RunStore.open(join(rootA, 'a')).readMetrics().map((r) => r.values.total ?? r.values.kd);
    const mb = RunStore.open(join(rootB, 'b')).readMetrics().map((r) => r.values.total ?? r.values.kd);
    expect(mb).toEqual(ma);
  });

  it('with the optional sample pool, a run resumed inside the student phase equals an uninterrupted one', async () => {
    const pooled = { ...tiny.rdskd, student: { ...tiny.rdskd.student, epochs: 3, samplePool: { batches: 2, refreshEvery: 2 } } };
    const config = resolveConfig(getMethod('rdskd'), 'mnist', pooled);
    const a = context();
    const rootA = tmp();
    await runMethod({ definition: getMethod('rdskd'), config, context: a, store: RunStore.create(rootA, identity('rdskd', config), { id: 'a' }) });
    const rootB = tmp();
    // 6 generator steps + 3 student steps, then resumed: the pool is rebuilt at student step 3.
    await runMethod({ definition: getMethod('rdskd'), config, context: context(), store: RunStore.create(rootB, identity('rdskd', config), { id: 'b' }), maxSteps: 9 });
    const b = context(9);
    await runMethod({ definition: getMethod('rdskd'), config, context: b, store: RunStore.open(join(rootB, 'b')), resume: true });
    expect(b.student.getWeights().map((t) => Array.from(t.dataSync()))).toEqual(a.student.getWeights().map((t) => Array.from(t.dataSync())));
    const kd = (root: string, id: string) => RunStore.open(join(root, id)).readMetrics().filter((r) => r.phase === 'student').map((r) => r.values.kd);
    expect(kd(rootB, 'b')).toEqual(kd(rootA, 'a'));
    expect(kd(rootA, 'a')).toHaveLength(6);
  });
});

describe('with the model zoo\'s DAFL generator', () => {
  it('RDSKD and DAFL take real steps (4×4 images, batch 4)', async () => {
    const rd = resolveConfig(getMethod('rdskd'), 'mnist', { ...tiny.rdskd, generator: { epochs: 1, itersPerEpoch: 2, batchSize: 4 }, student: { epochs: 1, itersPerEpoch: 1, batchSize: 4 }, evalSamples: 4, sampleEvery: 0 });
    const values: Record<string, number>[] = [];
    const ctx = context(5, true);
    await runMethod({ definition: getMethod('rdskd'), config: rd, context: ctx, onProgress: (e) => values.push(e.values) });
    expect(values).toHaveLength(3);
    for (const v of values) for (const x of Object.values(v)) expect(Number.isFinite(x)).toBe(true);
    const df = resolveConfig(getMethod('dafl'), 'mnist', { ...tiny.dafl, epochs: 1, itersPerEpoch: 1, batchSize: 4, evalSamples: 4 });
    const dv: Record<string, number>[] = [];
    await runMethod({ definition: getMethod('dafl'), config: df, context: ctx, onProgress: (e) => dv.push(e.values) });
    expect(Object.values(dv[0]!).every(Number.isFinite)).toBe(true);
    ctx.teacher.dispose();
    ctx.student.dispose();
  });
});

describe('DAFL and MSKD', () => {
  it('DAFL runs its joint phase: every term finite, generator and student both trained, no leaks', async () => {
    const config = resolveConfig(getMethod('dafl'), 'mnist', tiny.dafl);
    const ctx = context();
    const studentBefore = ctx.student.getWeights().map((t) => Array.from(t.dataSync()));
    const values: Record<string, number>[] = [];
    const before = tf.memory().numTensors;
    await runMethod({ definition: getMethod('dafl'), config, context: ctx, onProgress: (e) => values.push(e.values) });
    expect(tf.memory().numTensors).toBe(before); // the generator, its optimiser state and all temporaries were freed
    expect(values).toHaveLength(4);
    for (const v of values) for (const k of ['oh', 'ie', 'a', 'lossG', 'kd', 'total']) expect(Number.isFinite(v[k]), k).toBe(true);
    // the generator loss is oh·1 + ie·5 + a·0.1 (the MNIST weights)
    for (const v of values) expect(Math.abs(v.lossG! - (v.oh! + 5 * v.ie! + 0.1 * v.a!))).toBeLessThan(1e-4);
    // DAFL's entropy is log10: bounded below by −log10 K
    for (const v of values) expect(v.ie!).toBeGreaterThanOrEqual(-Math.log10(K) - 1e-6);
    expect(values.at(-1)!.agreement).toBeDefined();
    const studentAfter = ctx.student.getWeights().map((t) => Array.from(t.dataSync()));
    expect(studentAfter).not.toEqual(studentBefore);
    ctx.teacher.dispose();
    ctx.student.dispose();
  });

  it('DAFL with the CIFAR student optimiser (SGD, momentum, weight decay) runs and resumes', async () => {
    const config = resolveConfig(getMethod('dafl'), 'cifar10', { ...tiny.dafl, batchSize: 8 });
    const root = tmp();
    await runMethod({ definition: getMethod('dafl'), config, context: context(), store: RunStore.create(root, identity('dafl', config), { id: 'c' }), maxSteps: 3 });
    const r = await runMethod({ definition: getMethod('dafl'), config, context: context(), store: RunStore.open(join(root, 'c')), resume: true });
    expect(r.status).toBe('done');
    expect(RunStore.open(join(root, 'c')).readMetrics().map((m) => m.globalStep)).toEqual([1, 2, 3, 4]);
  });

  it('MSKD logs the mode-seeking term instead of the diversity term', async () => {
    const config = resolveConfig(getMethod('mskd'), 'mnist', tiny.rdskd);
    const values: Record<string, number>[] = [];
    const ctx = context();
    await runMethod({ definition: getMethod('mskd'), config, context: ctx, maxSteps: 2, onProgress: (e) => values.push(e.values) });
    expect(values[0]!.ms).toBeGreaterThan(0);
    expect(values[0]!.ds).toBeUndefined();
    ctx.teacher.dispose();
    ctx.student.dispose();
  });
});
