/**
 * DeepInversion and ZSKD on tiny models (cpu backend): reference defaults, the loss composition,
 * the variant without BatchNorm statistics, the pool written to the run folder, exact resume in the
 * middle of a batch and across batches / phases, no tensor leaks.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DistilleryError } from '../../../src-main/engine/errors.ts';
import { getMethod, losses, METHODS, resolveConfig, runMethod, type MethodContext } from '../../../src-main/engine/methods/index.ts';
import { totalVariationLossFast } from '../../../src-main/engine/methods/deepinversion.ts';
import { impressionTargets, zskdDefaults } from '../../../src-main/engine/methods/zskd.ts';
import { RunStore } from '../../../src-main/engine/runs/store.ts';
import { modelTraits } from '../../../src-main/engine/models/index.ts';
import { bnClassifier, denseClassifier, disposeContext, identity, K, makeContext, SHAPE, weightsOf } from './helpers.ts';
import { KILL_TEST_CONFIG } from './kill-config.ts';
import { tempDirs } from '../../temp-dirs.ts';

const tmp = tempDirs('distillery-methods-');
beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const B = 8;
const tinyDi = { synthesis: { batches: 2, batchSize: B, iterations: 3 }, student: { epochs: 2, batchSize: B }, checkpointEvery: 2, sampleEvery: 2, evalEvery: 2, evalSamples: 8 };
const tinyZskd = { synthesis: { impressions: 2 * B, batchSize: B, iterations: 3 }, student: { epochs: 2, batchSize: B }, checkpointEvery: 2, sampleEvery: 2, evalEvery: 2, evalSamples: 8 };

type Values = Record<string, number>;

/** DeepInversion's own verdict on this teacher and config (what listMethods shows). */
const diFit = (ctx: MethodContext, config: unknown) => getMethod('deepinversion').fit!({ teacher: modelTraits(ctx.teacher), student: modelTraits(ctx.student) }, config);

async function collect(method: string, config: unknown, ctx: MethodContext, maxSteps?: number): Promise<Values[]> {
  const out: Values[] = [];
  await runMethod({ definition: getMethod(method), config: config as never, context: ctx, maxSteps, onProgress: (e) => out.push(e.values) });
  return out;
}

/** Runs uninterrupted, and in three pieces with a fresh student each time; returns both. */
async function resumeComparison(method: string, config: unknown, ctxOf: (seed: number) => MethodContext, pieces: number[]) {
  const a = ctxOf(5);
  const rootA = tmp();
  await runMethod({ definition: getMethod(method), config: config as never, context: a, store: RunStore.create(rootA, identity(method, config), { id: 'a' }) });
  const rootB = tmp();
  const b = [ctxOf(5)];
  await runMethod({ definition: getMethod(method), config: config as never, context: b[0]!, store: RunStore.create(rootB, identity(method, config), { id: 'b' }), maxSteps: pieces[0] });
  for (const [i, n] of pieces.slice(1).entries()) {
    b.push(ctxOf(60 + i));
    await runMethod({ definition: getMethod(method), config: config as never, context: b.at(-1)!, store: RunStore.open(join(rootB, 'b')), resume: true, maxSteps: n });
  }
  b.push(ctxOf(99));
  await runMethod({ definition: getMethod(method), config: config as never, context: b.at(-1)!, store: RunStore.open(join(rootB, 'b')), resume: true });
  const result = {
    studentA: weightsOf(a.student),
    studentB: weightsOf(b.at(-1)!.student),
    metricsA: RunStore.open(join(rootA, 'a')).readMetrics(),
    metricsB: RunStore.open(join(rootB, 'b')).readMetrics(),
    dirA: join(rootA, 'a'),
    dirB: join(rootB, 'b'),
  };
  disposeContext(a);
  for (const c of b) disposeContext(c);
  return result;
}

describe('registry', () => {
  it('all six methods are registered', () => {
    expect(Object.keys(METHODS).sort()).toEqual(['dafl', 'deepinversion', 'mskd', 'rdskd', 'zskd', 'zskt']);
  });
});

describe('DeepInversion', () => {
  it('defaults are the reference hyper-parameters', () => {
    const c = resolveConfig(getMethod('deepinversion'), 'cifar10');
    expect(c.synthesis).toMatchObject({ batchSize: 256, iterations: 2000, lr: 0.05, jitter: 2, rFeat: 10, tv: 2.5e-5, l2: 0, cig: 0, bnStatistics: 'auto' });
    expect(c.student.tau).toBe(3);
    const [synth, student] = getMethod('deepinversion').phases(c);
    expect(synth).toMatchObject({ name: 'synthesis', total: c.synthesis.batches * 2000, trainsStudent: false });
    expect(student).toMatchObject({ name: 'student', total: c.student.epochs * Math.ceil((c.synthesis.batches * 256) / c.student.batchSize), trainsStudent: true });
  });

  it('the fast total variation equals losses.totalVariationLoss (value and gradient), 1 and 3 channels', () => {
    for (const shape of [[2, 5, 6, 1], [3, 4, 7, 3]] as const) {
      const x = tf.randomNormal([...shape], 0, 1, 'float32', 11) as tf.Tensor4D;
      const [ref, fast] = [losses.totalVariationLoss, totalVariationLossFast].map((f) => tf.valueAndGrad((t: tf.Tensor) => f(t as tf.Tensor4D))(x));
      expect(fast!.value.dataSync()[0]).toBeCloseTo(ref!.value.dataSync()[0]!, 4);
      const diff = tf.max(tf.abs(tf.sub(fast!.grad, ref!.grad))).dataSync()[0]!;
      expect(diff).toBeLessThan(1e-5);
      tf.dispose([x, ref!.value, ref!.grad, fast!.value, fast!.grad]);
    }
  });

  it('with a BatchNorm teacher: CE + r_feat·BN + tv·TV, lowest-loss batch kept, no leaks', async () => {
    const config = resolveConfig(getMethod('deepinversion'), 'mnist', tinyDi);
    const ctx = makeContext(bnClassifier(1, 'teacher'), denseClassifier(5, 'student'));
    const before = tf.memory().numTensors;
    const v = await collect('deepinversion', config, ctx);
    expect(tf.memory().numTensors).toBe(before);
    expect(v).toHaveLength(6 + 4);
    const synth = v.slice(0, 6);
    for (const [s, x] of synth.entries()) {
      for (const k of ['ce', 'rFeat', 'tv', 'l2', 'total', 'bestCost']) expect(Number.isFinite(x[k]), k).toBe(true);
      expect(x.rFeatUsed).toBe(1);
      expect(x.bnLayers).toBe(1);
      expect(x.rFeat).toBeGreaterThan(0);
      expect(x.total).toBeCloseTo(x.ce! + 10 * x.rFeat! + 2.5e-5 * x.tv!, 4);
      // the best cost is the lowest total seen in the current batch
      const batchStart = s - (s % 3);
      expect(x.bestCost).toBe(Math.min(...synth.slice(batchStart, s + 1).map((y) => y.total!)));
      expect(x.batch).toBe(Math.floor(s / 3));
    }
    expect(synth.map((x) => x.pool)).toEqual([0, 0, B, B, B, 2 * B]);
    for (const x of v.slice(6)) {
      expect(Number.isFinite(x.kd)).toBe(true);
      expect(x.kd).toBeGreaterThanOrEqual(0);
    }
    expect(v.at(-1)!.agreement).toBeGreaterThanOrEqual(0);
    expect(diFit(ctx, config)).toEqual({ kind: 'paper' });
    disposeContext(ctx);
  });

  it('the images are what is optimised: the CE to the balanced targets falls over a batch', async () => {
    const config = resolveConfig(getMethod('deepinversion'), 'mnist', { ...tinyDi, synthesis: { batches: 1, batchSize: B, iterations: 25, lr: 0.1, jitter: 0, rFeat: 0 }, student: { epochs: 0 } });
    const ctx = makeContext(bnClassifier(1, 'teacher'), denseClassifier(5, 'student'));
    const v = await collect('deepinversion', config, ctx);
    expect(v.at(-1)!.ce).toBeLessThan(v[0]!.ce! * 0.8);
    expect(v[0]!.rFeatUsed).toBe(0); // r_feat = 0: the term is not used
    expect(diFit(ctx, config)).toMatchObject({ kind: 'variant', reason: expect.stringMatching(/synthesis\.rFeat\) is 0/) });
    disposeContext(ctx);
  });

  it('a teacher without BatchNorm (LeNet5) runs the variant without r_feat and records it; "require" refuses', async () => {
    const config = resolveConfig(getMethod('deepinversion'), 'mnist', tinyDi);
    const ctx = makeContext(denseClassifier(1, 'teacher'), denseClassifier(5, 'student'));
    const root = tmp();
    const before = tf.memory().numTensors;
    await runMethod({ definition: getMethod('deepinversion'), config, context: ctx, store: RunStore.create(root, identity('deepinversion', config), { id: 'n' }) });
    expect(tf.memory().numTensors).toBe(before); // with checkpoints, sample grids and pool files
    expect(readdirSync(join(root, 'n', 'samples')).length).toBeGreaterThan(0);
    const store = RunStore.open(join(root, 'n'));
    for (const r of store.readMetrics().filter((m) => m.phase === 'synthesis')) {
      expect(r.values.rFeatUsed).toBe(0);
      expect(r.values.bnLayers).toBe(0);
      expect(r.values.rFeat).toBe(0);
      expect(r.values.total).toBeCloseTo(r.values.ce! + 2.5e-5 * r.values.tv!, 5);
    }
    expect(store.readSummary()).toMatchObject({ last: { synthesis: { rFeatUsed: 0, bnLayers: 0 } } });
    // What the wizard is told agrees with what ran.
    expect(diFit(ctx, config)).toMatchObject({ kind: 'variant', variant: 'without the BatchNorm-statistics term (r_feat)', reason: expect.stringMatching(/no BatchNorm layer/) });
    // the pool: one file per finished batch, B·H·W·C float32 values each, finite
    const files = readdirSync(join(root, 'n', 'pool')).filter((f) => !f.startsWith('.')).sort();
    expect(files).toEqual(['deepinversion-000000.f32', 'deepinversion-000001.f32']);
    const buf = readFileSync(join(root, 'n', 'pool', files[0]!));
    expect(buf.length).toBe(B * SHAPE[0] * SHAPE[1] * SHAPE[2] * 4);
    expect(Array.from(new Float32Array(new Uint8Array(buf).buffer)).every(Number.isFinite)).toBe(true);
    const strict = resolveConfig(getMethod('deepinversion'), 'mnist', { ...tinyDi, synthesis: { ...tinyDi.synthesis, bnStatistics: 'require' } });
    expect(diFit(ctx, strict)).toMatchObject({ kind: 'unusable', reason: expect.stringMatching(/no BatchNorm layer/) });
    await expect(runMethod({ definition: getMethod('deepinversion'), config: strict, context: ctx })).rejects.toSatisfy((e: unknown) => e instanceof DistilleryError && e.code === 'BAD_MODEL' && /BatchNorm/.test(e.message));
    disposeContext(ctx);
  });

  it('resumed mid-batch, across batches and into the student phase equals an uninterrupted run', async () => {
    const config = resolveConfig(getMethod('deepinversion'), 'mnist', tinyDi);
    const r = await resumeComparison('deepinversion', config, (seed) => makeContext(bnClassifier(1, 'teacher'), denseClassifier(seed, 'student')), [1, 3, 3]);
    expect(r.metricsB.map((m) => m.globalStep)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(r.metricsB.map((m) => m.values)).toEqual(r.metricsA.map((m) => m.values));
    expect(r.studentB).toEqual(r.studentA);
    for (const f of ['deepinversion-000000.f32', 'deepinversion-000001.f32']) {
      expect(readFileSync(join(r.dirB, 'pool', f))).toEqual(readFileSync(join(r.dirA, 'pool', f)));
    }
  });
});

describe('ZSKD', () => {
  it('defaults: 24,000 MNIST impressions (40,000 otherwise), β ∈ {1, 0.1} applied, Adam 1e-3 × 1500, τ = 20', () => {
    const c = resolveConfig(getMethod('zskd'), 'mnist');
    expect(c.synthesis).toMatchObject({ impressions: 24_000, iterations: 1500, lr: 1e-3, tau: 20, betas: [1.0, 0.1], referenceBug: false });
    expect(c.student.tau).toBe(20);
    expect(c.pixelNormalization).toEqual({ mean: [0.1307], std: [0.3081] });
    expect(resolveConfig(getMethod('zskd'), 'cifar10').synthesis.impressions).toBe(40_000);
    expect(() => resolveConfig(getMethod('zskd'), 'mnist', { synthesis: { impressions: 1001 } })).toThrow(/multiple of batchSize/);
  });

  it('soft targets: Dirichlet rows, classes and βs in equal shares, β applied unless the reference bug is on', () => {
    const sim = tf.tidy(() => losses.classSimilarity(tf.randomNormal([6, K], 0, 1, 'float32', 3) as tf.Tensor2D).arraySync());
    const c = zskdDefaults('mnist');
    const { targets, classes } = impressionTargets(sim, c, 0, 8 * K);
    for (const row of targets) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    for (let k = 0; k < K; k++) expect(classes.filter((x) => x === k)).toHaveLength(8);
    // deterministic per impression index: a later slice reproduces the same rows
    expect(impressionTargets(sim, c, 4, 4).targets).toEqual(targets.slice(4, 8));
    // the paper: β = 0.1 changes the targets; the reference bug cancels it (β = 0.1 draws = β = 1 draws)
    const withBetas = (betas: number[], referenceBug: boolean) => impressionTargets(sim, { ...c, synthesis: { ...c.synthesis, betas, referenceBug } }, 0, 8 * K).targets;
    expect(withBetas([1.0, 0.1], false)).not.toEqual(withBetas([1.0, 1.0], false));
    const bugged = withBetas([1.0, 0.1], true);
    const same = withBetas([1.0, 1.0], true);
    for (const [i, row] of bugged.entries()) row.forEach((v, k) => expect(v).toBeCloseTo(same[i]![k]!, 8)); // equal up to rounding of 0.1·S
    expect(withBetas([1.0, 0.1], false)).toEqual(targets);
  });

  it('impressions: the loss falls, pixels renormalised to [0, 1], the pool in the teacher\'s input space, no leaks', async () => {
    const config = resolveConfig(getMethod('zskd'), 'mnist', { ...tinyZskd, synthesis: { ...tinyZskd.synthesis, iterations: 20, lr: 0.05 } });
    const ctx = makeContext(denseClassifier(1, 'teacher'), denseClassifier(5, 'student'));
    const root = tmp();
    const before = tf.memory().numTensors;
    await runMethod({ definition: getMethod('zskd'), config, context: ctx, store: RunStore.create(root, identity('zskd', config), { id: 'z' }) });
    expect(tf.memory().numTensors).toBe(before);
    const m = RunStore.open(join(root, 'z')).readMetrics();
    const synth = m.filter((r) => r.phase === 'synthesis').map((r) => r.values);
    expect(synth).toHaveLength(40);
    for (const v of synth) expect(Number.isFinite(v.impression)).toBe(true);
    expect(synth[19]!.impression).toBeLessThan(synth[0]!.impression!);
    for (const r of m.filter((x) => x.phase === 'student')) expect(Number.isFinite(r.values.kd)).toBe(true);
    // stored values are (u − 0.1307) / 0.3081 with every image's u spanning exactly [0, 1]
    const buf = readFileSync(join(root, 'z', 'pool', 'zskd-000000.f32'));
    const x = new Float32Array(new Uint8Array(buf).buffer);
    const per = SHAPE[0] * SHAPE[1] * SHAPE[2];
    for (let i = 0; i < B; i++) {
      const u = Array.from(x.slice(i * per, (i + 1) * per)).map((v) => v * 0.3081 + 0.1307);
      expect(Math.min(...u)).toBeCloseTo(0, 5);
      expect(Math.max(...u)).toBeCloseTo(1, 5);
    }
    disposeContext(ctx);
  });

  it('resumed mid-batch, across batches and into the student phase equals an uninterrupted run', async () => {
    const config = resolveConfig(getMethod('zskd'), 'mnist', tinyZskd);
    const r = await resumeComparison('zskd', config, (seed) => makeContext(denseClassifier(1, 'teacher'), denseClassifier(seed, 'student')), [2, 3, 2]);
    expect(r.metricsB.map((m) => m.globalStep)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(r.metricsB.map((m) => m.values)).toEqual(r.metricsA.map((m) => m.values));
    expect(r.studentB).toEqual(r.studentA);
    expect(existsSync(join(r.dirB, 'pool', 'zskd-000001.f32'))).toBe(true);
  });
});

describe('DeepInversion killed with SIGKILL during synthesis', () => {
  const child = fileURLToPath(new URL('./child-synth.ts', import.meta.url));
  const start = (dir: string, resume: boolean) => spawn(process.execPath, ['--import', 'tsx', child, dir, resume ? '1' : '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = (dir: string) => {
    const p = join(dir, 'metrics.jsonl');
    return existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter(Boolean).length : 0;
  };

  it('keeps the finished batches, resumes, and ends exactly where an uninterrupted run does', async () => {
    const config = resolveConfig(getMethod('deepinversion'), 'mnist', KILL_TEST_CONFIG);
    const [synth, student] = getMethod('deepinversion').phases(config);
    const total = synth!.total + student!.total;
    const iterations = KILL_TEST_CONFIG.synthesis.iterations;
    const dir = join(tmp(), 'killed');
    const proc = start(dir, false);
    let stderr = '';
    proc.stderr.on('data', (d) => (stderr += d));
    const deadline = Date.now() + 60_000;
    // kill once the first batch is finished and the second is under way
    while (lines(dir) < iterations + 40 && Date.now() < deadline && proc.exitCode === null) await new Promise((r) => setTimeout(r, 5));
    expect(proc.exitCode, stderr).toBe(null);
    proc.kill('SIGKILL');
    await new Promise((r) => proc.once('exit', r));
    const saved = RunStore.open(dir).checkpointInfo()!;
    expect(saved.position.phaseIndex).toBe(0); // killed during synthesis
    expect((saved.state as { method: { finished: number } }).method.finished).toBeGreaterThanOrEqual(1);
    expect(existsSync(join(dir, 'pool', 'deepinversion-000000.f32'))).toBe(true);

    const resumed = start(dir, true);
    let out = '';
    let err = '';
    resumed.stdout.on('data', (d) => (out += d));
    resumed.stderr.on('data', (d) => (err += d));
    const code = await new Promise((r) => resumed.once('exit', r));
    expect(code, err).toBe(0);
    const metrics = RunStore.open(dir).readMetrics();
    expect(metrics.map((m) => m.globalStep)).toEqual(Array.from({ length: total }, (_, i) => i + 1));

    // the same run uninterrupted, in this process
    const ctx = makeContext(bnClassifier(1, 'teacher'), denseClassifier(5, 'student'));
    const values: Values[] = [];
    await runMethod({ definition: getMethod('deepinversion'), config, context: ctx, onProgress: (e) => values.push(e.values) });
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual(weightsOf(ctx.student));
    expect(metrics.map((m) => m.values)).toEqual(values);
    disposeContext(ctx);
  });
});
