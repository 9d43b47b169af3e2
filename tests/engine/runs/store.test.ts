import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { fileURLToPath } from 'node:url';
import { DistilleryError } from '../../../src-main/engine/errors.ts';
import { runMethod } from '../../../src-main/engine/methods/driver.ts';
import { RunControl } from '../../../src-main/engine/methods/method.ts';
import { nodeFileOps, writeFileAtomic, type FileOps } from '../../../src-main/engine/runs/fsio.ts';
import { encodeImageGrid } from '../../../src-main/engine/runs/png.ts';
import { listRuns, RunStore, type MetricRecord } from '../../../src-main/engine/runs/store.ts';
import { toyContext, toyMethod } from './toy-method.ts';
import { toyConfig, toyIdentity } from './toy-identity.ts';
import { tempDirs } from '../../temp-dirs.ts';

const tmp = tempDirs('distillery-runs-');

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const TOTAL = 7 + 9;

/** Metrics must be exactly globalStep 1..n in order, each once, with phase-local steps consistent. */
function expectNoGap(metrics: MetricRecord[], n: number): void {
  expect(metrics.map((m) => m.globalStep)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  const gen = metrics.filter((m) => m.phase === 'generator').map((m) => m.step);
  const stu = metrics.filter((m) => m.phase === 'student').map((m) => m.step);
  expect(gen).toEqual(Array.from({ length: gen.length }, (_, i) => i + 1));
  expect(stu).toEqual(Array.from({ length: stu.length }, (_, i) => i + 1));
}

async function weightsOf(model: tf.LayersModel): Promise<number[]> {
  const out: number[] = [];
  for (const w of model.getWeights()) out.push(...(await w.data()));
  return out;
}

describe('run store', () => {
  it('creates a run folder with config.json and run.json, lists it, and refuses a changed config', () => {
    const root = tmp();
    const config = toyConfig();
    const store = RunStore.create(root, toyIdentity(config), { id: 'r1' });
    expect(existsSync(join(root, 'r1', 'config.json'))).toBe(true);
    expect(JSON.parse(readFileSync(join(root, 'r1', 'run.json'), 'utf8')).status).toBe('created');
    store.close();
    const reopened = RunStore.open(join(root, 'r1'));
    expect(() => reopened.checkSameIdentity(toyIdentity(config))).not.toThrow();
    const changed = toyIdentity(toyConfig({ batchSize: 16 }));
    expect(() => reopened.checkSameIdentity(changed)).toThrow(/differs in: config\.batchSize/);
    try {
      reopened.checkSameIdentity(changed);
    } catch (e) {
      expect((e as DistilleryError).code).toBe('BAD_INPUT');
      expect((e as DistilleryError).hint).toMatch(/new run/);
    }
    expect(() => RunStore.create(root, toyIdentity(config), { id: 'r1' })).toThrow(/already exists/);
    expect(listRuns(root).map((r) => r.id)).toEqual(['r1']);
  });

  it('runs a method end to end: metrics without gaps, checkpoint, samples, student, summary, backend', async () => {
    const root = tmp();
    const config = toyConfig();
    const store = RunStore.create(root, toyIdentity(config), { id: 'full' });
    const events: string[] = [];
    const before = tf.memory().numTensors;
    const ctx = toyContext();
    const afterCtx = tf.memory().numTensors;
    const result = await runMethod({ definition: toyMethod, config, context: ctx, store, onProgress: (e) => events.push(`${e.phase}:${e.step}/${e.total}`) });
    expect(result.status).toBe('done');
    expect(events.length).toBe(TOTAL);
    expect(events[0]).toBe('generator:1/7');
    expect(events.at(-1)).toBe('student:9/9');
    const dir = join(root, 'full');
    const reopened = RunStore.open(dir);
    const metrics = reopened.readMetrics();
    expectNoGap(metrics, TOTAL);
    expect(metrics.every((m) => Number.isFinite(m.values.oh ?? m.values.kd))).toBe(true);
    expect(metrics.filter((m) => m.values.agreement !== undefined).map((m) => m.step)).toEqual([4, 8, 9]);
    expect(existsSync(join(dir, 'checkpoint.ckpt'))).toBe(true);
    expect(reopened.checkpointInfo()?.position).toEqual({ phaseIndex: 2, step: 0, globalStep: TOTAL });
    expect(readdirSync(join(dir, 'samples')).sort()).toEqual(['generator-000004.png', 'generator-000007.png']);
    expect(existsSync(join(dir, 'student', 'model.json'))).toBe(true);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    expect(summary.steps).toBe(TOTAL);
    expect(summary.selection.rule).toBe('last');
    const status = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    expect(status.status).toBe('done');
    expect(status.sessions).toHaveLength(1);
    // no temp files left behind
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
    // the driver disposed what the method created; only the caller's models remain
    expect(tf.memory().numTensors).toBe(afterCtx);
    ctx.teacher.dispose();
    ctx.student.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stop + resume in a fresh context gives exactly the uninterrupted result, with no gap in metrics', async () => {
    const config = toyConfig();
    // uninterrupted
    const rootA = tmp();
    const ctxA = toyContext();
    await runMethod({ definition: toyMethod, config, context: ctxA, store: RunStore.create(rootA, toyIdentity(config), { id: 'a' }) });
    const expected = await weightsOf(ctxA.student);
    // interrupted after 5 steps (mid generator phase, between checkpoints 3 and 6) and after 4 more
    const rootB = tmp();
    const storeB = RunStore.create(rootB, toyIdentity(config), { id: 'b' });
    const first = await runMethod({ definition: toyMethod, config, context: toyContext(), store: storeB, maxSteps: 5 });
    expect(first.status).toBe('stopped');
    expect(first.position).toEqual({ phaseIndex: 0, step: 5, globalStep: 5 });
    const second = await runMethod({ definition: toyMethod, config, context: toyContext(2), store: RunStore.open(join(rootB, 'b')), resume: true, maxSteps: 4 });
    expect(second.position).toEqual({ phaseIndex: 1, step: 2, globalStep: 9 });
    const ctxC = toyContext(3); // different initial weights: everything must come from the checkpoint
    const third = await runMethod({ definition: toyMethod, config, context: ctxC, store: RunStore.open(join(rootB, 'b')), resume: true });
    expect(third.status).toBe('done');
    const got = await weightsOf(ctxC.student);
    expect(got.length).toBe(expected.length);
    expect(got).toEqual(expected); // bit-identical (Adam β-powers are checkpointed too)
    const metrics = RunStore.open(join(rootB, 'b')).readMetrics();
    expectNoGap(metrics, TOTAL);
    // the method's own state (a step counter) came back too
    expect(metrics.at(-1)!.values.counter).toBe(TOTAL);
    const status = JSON.parse(readFileSync(join(rootB, 'b', 'run.json'), 'utf8'));
    expect(status.sessions).toHaveLength(3);
  });

  it('cuts metrics written after the last checkpoint on resume (torn last line included)', async () => {
    const root = tmp();
    const config = toyConfig();
    const store = RunStore.create(root, toyIdentity(config), { id: 'torn' });
    await runMethod({ definition: toyMethod, config, context: toyContext(), store, maxSteps: 4 });
    // simulate a crash after steps 5 and half of 6 were logged but before the next checkpoint
    const metricsPath = join(root, 'torn', 'metrics.jsonl');
    const extra = `${JSON.stringify({ globalStep: 5, phase: 'generator', phaseIndex: 0, step: 5, total: 7, time: 0, values: { oh: 1 } })}\n{"globalStep":6,"pha`;
    writeFileSync(metricsPath, readFileSync(metricsPath, 'utf8') + extra);
    await runMethod({ definition: toyMethod, config, context: toyContext(), store: RunStore.open(join(root, 'torn')), resume: true });
    expectNoGap(RunStore.open(join(root, 'torn')).readMetrics(), TOTAL);
  });

  it('a NaN loss stops the run with NUMERIC and keeps the last good checkpoint', async () => {
    const root = tmp();
    const config = toyConfig({ nanAtGlobalStep: 11 });
    const store = RunStore.create(root, toyIdentity(config), { id: 'nan' });
    const err = await runMethod({ definition: toyMethod, config, context: toyContext(), store }).catch((e) => e);
    expect(err).toBeInstanceOf(DistilleryError);
    expect(err.code).toBe('NUMERIC');
    expect(err.message).toMatch(/kd became NaN at student step 4/);
    expect(err.hint).toMatch(/last good checkpoint \(10 steps\)/);
    const reopened = RunStore.open(join(root, 'nan'));
    // checkpoints every 3 steps and at the end of the generator phase (7): the last good one is 10 (3 steps into the student phase)
    expect(reopened.checkpointInfo()?.position.globalStep).toBe(10);
    expect(reopened.status.status).toBe('failed');
    expect(reopened.status.error?.code).toBe('NUMERIC');
    expectNoGap(reopened.readMetrics(), 10);
  });

  it('NaN weights behind a finite loss are caught before they replace the last good checkpoint', async () => {
    const root = tmp();
    const config = toyConfig({ nanWeightsAtGlobalStep: 10 });
    const err = await runMethod({ definition: toyMethod, config, context: toyContext(), store: RunStore.create(root, toyIdentity(config), { id: 'nanw' }) }).catch((e) => e);
    expect(err.code).toBe('NUMERIC');
    expect(err.message).toMatch(/the student weights became NaN/);
    // the checkpoint of step 7 (end of the generator phase) is still the last one, and loads
    const store = RunStore.open(join(root, 'nanw'));
    expect(store.checkpointInfo()?.position.globalStep).toBe(7);
  });

  it('resume refuses a changed config with a clear error', async () => {
    const root = tmp();
    const config = toyConfig();
    await runMethod({ definition: toyMethod, config, context: toyContext(), store: RunStore.create(root, toyIdentity(config), { id: 'chg' }), maxSteps: 2 });
    const err = await runMethod({ definition: toyMethod, config: toyConfig({ batchSize: 4 }), context: toyContext(), store: RunStore.open(join(root, 'chg')), resume: true }).catch((e) => e);
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toMatch(/different rdskd configuration \(differs in: batchSize\)/);
    expect(RunStore.open(join(root, 'chg')).checkpointInfo()?.position.globalStep).toBe(2);
  });

  it("select 'agreement' keeps the most teacher-agreeing student beside the last one", async () => {
    const root = tmp();
    const config = toyConfig({ select: 'agreement' });
    await runMethod({ definition: toyMethod, config, context: toyContext(), store: RunStore.create(root, toyIdentity(config), { id: 'sel' }) });
    const summary = JSON.parse(readFileSync(join(root, 'sel', 'summary.json'), 'utf8'));
    expect(summary.selection.rule).toMatch(/agreement with the teacher on held-out generated samples/);
    expect(summary.selection.agreement).toBeGreaterThanOrEqual(0);
    expect(existsSync(join(root, 'sel', 'student-best', 'model.json'))).toBe(true);
    expect(existsSync(join(root, 'sel', 'student', 'model.json'))).toBe(true);
  });

  it('cancel writes a checkpoint at the position reached; resume finishes; pause holds the run', async () => {
    const root = tmp();
    const config = toyConfig();
    const store = RunStore.create(root, toyIdentity(config), { id: 'cancel' });
    const control = new RunControl();
    let seen = 0;
    const promise = runMethod({
      definition: toyMethod,
      config,
      context: toyContext(),
      store,
      control,
      onProgress: () => {
        seen++;
        if (seen === 2) control.pause();
        if (seen === 5) control.cancel('stop for the test');
      },
    });
    await new Promise((r) => setTimeout(r, 150));
    expect(seen).toBe(2); // paused: no progress
    expect(control.paused).toBe(true);
    expect(RunStore.open(join(root, 'cancel')).status.status).toBe('paused');
    control.resume();
    const err = await promise.catch((e) => e);
    expect(err.code).toBe('CANCELLED');
    expect(err.message).toMatch(/stop for the test/);
    const reopened = RunStore.open(join(root, 'cancel'));
    expect(reopened.checkpointInfo()?.position).toEqual({ phaseIndex: 0, step: 5, globalStep: 5 });
    expect(reopened.status.status).toBe('cancelled');
    await runMethod({ definition: toyMethod, config, context: toyContext(), store: reopened, resume: true });
    expectNoGap(RunStore.open(join(root, 'cancel')).readMetrics(), TOTAL);
  });

  it('a full disk during a checkpoint is an IO error with a hint; the previous checkpoint survives intact', async () => {
    const root = tmp();
    const config = toyConfig();
    let failWrites = false;
    const ops: FileOps = {
      ...nodeFileOps,
      writeSync: (fd, buf, off, len) => {
        if (failWrites && len > 1000) {
          // write part of it, then fail as a full disk does
          nodeFileOps.writeSync(fd, buf, off, Math.min(len, 100));
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        }
        return nodeFileOps.writeSync(fd, buf, off, len);
      },
    };
    const store = RunStore.create(root, toyIdentity(config), { id: 'full-disk', ops });
    await runMethod({ definition: toyMethod, config, context: toyContext(), store, maxSteps: 3 });
    const good = RunStore.open(join(root, 'full-disk')).checkpointInfo();
    expect(good?.position.globalStep).toBe(3);
    failWrites = true;
    const err = await runMethod({ definition: toyMethod, config, context: toyContext(), store: RunStore.open(join(root, 'full-disk'), { ops }), resume: true }).catch((e) => e);
    expect(err.code).toBe('IO');
    expect(err.hint).toMatch(/disk is full/);
    expect(readdirSync(join(root, 'full-disk')).filter((n) => n.includes('.tmp-'))).toEqual([]);
    failWrites = false;
    const again = RunStore.open(join(root, 'full-disk'));
    expect(again.checkpointInfo()?.position.globalStep).toBe(3); // still loads: checksum verified
    await runMethod({ definition: toyMethod, config, context: toyContext(), store: again, resume: true });
    expectNoGap(RunStore.open(join(root, 'full-disk')).readMetrics(), TOTAL);
  });

  it('writeFileAtomic maps permission errors to IO with a hint', () => {
    const ops: FileOps = { ...nodeFileOps, openSync: (() => { throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }); }) as FileOps['openSync'] };
    const root = tmp();
    let err: DistilleryError | undefined;
    try {
      writeFileAtomic(join(root, 'x.json'), '{}', ops);
    } catch (e) {
      err = e as DistilleryError;
    }
    expect(err?.code).toBe('IO');
    expect(err?.hint).toMatch(/permission/);
  });

  it('a damaged checkpoint is refused clearly', async () => {
    const root = tmp();
    const config = toyConfig();
    await runMethod({ definition: toyMethod, config, context: toyContext(), store: RunStore.create(root, toyIdentity(config), { id: 'dmg' }), maxSteps: 3 });
    const file = join(root, 'dmg', 'checkpoint.ckpt');
    const bytes = readFileSync(file);
    bytes[bytes.length - 3] ^= 0xff;
    writeFileSync(file, bytes);
    const err = await runMethod({ definition: toyMethod, config, context: toyContext(), store: RunStore.open(join(root, 'dmg')), resume: true }).catch((e) => e);
    expect(err.code).toBe('IO');
    expect(err.message).toMatch(/damaged: checksum mismatch/);
  });

  it('sample grids are PNGs of the expected size', () => {
    const images = tf.randomUniform([5, 4, 6, 1], -2, 2) as tf.Tensor4D;
    const png = PNG.sync.read(encodeImageGrid(images, { padding: 1 }));
    // 5 images → 3 columns × 2 rows of 6×4 tiles with 1px padding
    expect([png.width, png.height]).toEqual([3 * 6 + 4, 2 * 4 + 3]);
    const rgb = PNG.sync.read(encodeImageGrid(tf.ones([1, 2, 2, 3]) as tf.Tensor4D, { padding: 0, range: [0, 1] }));
    expect(Array.from(rgb.data.subarray(0, 4))).toEqual([255, 255, 255, 255]);
    tf.dispose(images);
  });
});

describe('kill -9', () => {
  const child = fileURLToPath(new URL('./child-run.ts', import.meta.url));

  function start(dir: string, resume: boolean, delayMs: number) {
    return spawn(process.execPath, ['--import', 'tsx', child, dir, resume ? '1' : '0', String(delayMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  }

  function lines(dir: string): number {
    const p = join(dir, 'metrics.jsonl');
    return existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter(Boolean).length : 0;
  }

  it('a run killed with SIGKILL at arbitrary moments resumes and finishes with no gap', async () => {
    const root = tmp();
    const dir = join(root, 'killed');
    // kill twice at different points (mid-phase, and in the student phase), then let it finish
    for (const [resume, killAfter] of [[false, 5], [true, 11]] as const) {
      const proc = start(dir, resume, 40);
      let stderr = '';
      proc.stderr.on('data', (d) => (stderr += d));
      const deadline = Date.now() + 60_000;
      while (lines(dir) < killAfter && Date.now() < deadline && proc.exitCode === null) await new Promise((r) => setTimeout(r, 5));
      expect(proc.exitCode, stderr).toBe(null);
      proc.kill('SIGKILL');
      await new Promise((r) => proc.once('exit', r));
    }
    expect(listRuns(root)[0]!.status).toBe('interrupted');
    const proc = start(dir, true, 0);
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (err += d));
    const code = await new Promise((r) => proc.once('exit', r));
    expect(code, err).toBe(0);
    expect(out).toMatch(/finished/);
    const store = RunStore.open(dir);
    expectNoGap(store.readMetrics(), TOTAL);
    expect(store.status.status).toBe('done');
    expect(store.status.sessions.length).toBe(3);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});
