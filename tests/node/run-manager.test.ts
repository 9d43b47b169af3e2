import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { EngineHost } from '../../src-main/node/host.ts';
import { RunManager, thin } from '../../src-main/node/run-manager.ts';
import type { MetricRecord } from '../../src-main/engine/runs/store.ts';
import { tempDirs } from '../temp-dirs.ts';

const tmp = tempDirs('distillery-run-manager-');
const dataDir = tmp();

describe('run requests', () => {
  const host = new EngineHost({ dataDir });

  it.each([['../../etc'], ['a/b'], ['..'], ['.hidden'], ['']])('rejects the path-like run id %j before anything runs', async (runId) => {
    const result = await host.dispatch('getRun', { runId });
    expect(result).toMatchObject({ ok: false, error: { code: 'BAD_INPUT' } });
  });

  it('says clearly when a run does not exist', async () => {
    const result = await host.dispatch('getRun', { runId: 'no-such-run' });
    expect(result).toMatchObject({ ok: false, error: { code: 'NOT_FOUND', message: 'there is no run no-such-run' } });
  });

  it('refuses a teacher outside the bundled and imported folders', async () => {
    const result = await host.dispatch('startRun', { teacherId: 'nope', student: 'lenet5-half', method: 'rdskd' });
    expect(result).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });

  it('rejects unknown methods and extra keys', async () => {
    expect(await host.dispatch('startRun', { teacherId: 'lenet5-mnist', student: 'lenet5-half', method: 'magic' })).toMatchObject({ ok: false, error: { code: 'BAD_INPUT' } });
    expect(await host.dispatch('controlRun', { runId: 'x', action: 'pause', extra: 1 })).toMatchObject({ ok: false, error: { code: 'BAD_INPUT' } });
  });

  it('lists no runs in a fresh data folder', async () => {
    expect(await host.dispatch('listRuns', {})).toEqual({ ok: true, value: [] });
  });

  it('controlling a run that is not running is an error, not a crash', async () => {
    const manager = new RunManager({ dataDir, emit: () => {} });
    await expect(manager.handlers().controlRun({ runId: 'x', action: 'pause' })).rejects.toThrow(/not running/);
  });
});

describe('thin', () => {
  const records = (phaseIndex: number, n: number): MetricRecord[] =>
    Array.from({ length: n }, (_, i) => ({ globalStep: i + 1, phase: `p${phaseIndex}`, phaseIndex, step: i + 1, total: n, time: i, values: { loss: i } }));

  it('keeps at most about maxPoints per phase and always the last point', () => {
    const points = thin([...records(0, 1000), ...records(1, 7)], 100);
    const p0 = points.filter((p) => p.phase === 'p0');
    expect(p0.length).toBeLessThanOrEqual(101);
    expect(p0.at(-1)!.step).toBe(1000);
    expect(points.filter((p) => p.phase === 'p1')).toHaveLength(7);
  });
});

describe('export destinations', () => {
  it('writes only into folders the user chose in the system dialog', async () => {
    const { mkdirSync, writeFileSync, existsSync } = await import('node:fs');
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    const { buildLeNet5Half, saveModel } = await import('../../src-main/engine/models/index.ts');
    const home = tmp();
    const picked = tmp();
    const other = tmp();
    // A finished run as the run store leaves it.
    const runDir = join(home, 'runs', 'run-1');
    mkdirSync(runDir, { recursive: true });
    await saveModel(buildLeNet5Half({ inputShape: [32, 32, 1], numClasses: 10 }), join(runDir, 'student'));
    writeFileSync(join(runDir, 'config.json'), JSON.stringify({ method: 'rdskd' }));
    writeFileSync(join(runDir, 'summary.json'), JSON.stringify({ selection: { model: 'student' } }));

    const browserHost = new EngineHost({ dataDir: home });
    expect(await browserHost.dispatch('chooseFolder', { purpose: 'export' })).toMatchObject({ ok: false, error: { message: 'choosing a folder needs the desktop app' } });

    const host = new EngineHost({ dataDir: home, chooseFolder: async () => picked });
    expect(await host.dispatch('exportRun', { runId: 'run-1', format: 'tfjs', folder: other })).toMatchObject({ ok: false, error: { code: 'BAD_INPUT' } });
    expect(existsSync(join(other, 'distillery-run-1-tfjs'))).toBe(false);
    expect(await host.dispatch('chooseFolder', { purpose: 'export' })).toEqual({ ok: true, value: { folder: picked } });
    const done = await host.dispatch('exportRun', { runId: 'run-1', format: 'tfjs', folder: picked });
    expect(done).toMatchObject({ ok: true, value: { dir: join(picked, 'distillery-run-1-tfjs'), format: 'tfjs', precision: 'float32' } });
    expect(existsSync(join(picked, 'distillery-run-1-tfjs', 'model.json'))).toBe(true);
    // Without a folder, the export goes into the app's data folder; one folder per format and precision.
    expect(await host.dispatch('exportRun', { runId: 'run-1' })).toMatchObject({ ok: true, value: { dir: join(home, 'exports', 'run-1-tfjs') } });
    expect(await host.dispatch('exportRun', { runId: 'run-1', float16: true })).toMatchObject({ ok: true, value: { dir: join(home, 'exports', 'run-1-tfjs-float16'), precision: 'float16' } });
    const onnx = await host.dispatch('exportRun', { runId: 'run-1', format: 'onnx', folder: picked });
    expect(onnx).toMatchObject({ ok: true, value: { dir: join(picked, 'distillery-run-1-onnx'), format: 'onnx', note: expect.stringContaining('opset 13') } });
    expect(existsSync(join(picked, 'distillery-run-1-onnx', 'student.onnx'))).toBe(true);
    expect(await host.dispatch('exportRun', { runId: 'run-1', format: 'tflite', folder: other })).toMatchObject({ ok: false, error: { code: 'BAD_INPUT' } });
  });

  it('validates the format options: int8 only with TFLite and ONNX, float16 only with TensorFlow.js', async () => {
    const host = new EngineHost({ dataDir });
    const int8Tfjs = await host.dispatch('exportRun', { runId: 'run-1', format: 'tfjs', int8: true });
    expect(int8Tfjs).toMatchObject({ ok: false, error: { code: 'BAD_INPUT', message: expect.stringContaining('int8: int8 quantization is for TFLite and ONNX exports') } });
    const int8IoOnnx = await host.dispatch('exportRun', { runId: 'run-1', format: 'onnx', int8: true, int8Io: true });
    expect(int8IoOnnx).toMatchObject({ ok: false, error: { code: 'BAD_INPUT', message: expect.stringContaining('int8Io: int8 input/output is for TFLite exports only') } });
    const f16Tflite = await host.dispatch('exportRun', { runId: 'run-1', format: 'tflite', float16: true });
    expect(f16Tflite).toMatchObject({ ok: false, error: { code: 'BAD_INPUT', message: expect.stringContaining('float16: float16 weights are for TensorFlow.js exports only') } });
    expect(await host.dispatch('exportRun', { runId: 'run-1', format: 'tfjs-float16' })).toMatchObject({ ok: false, error: { code: 'BAD_INPUT' } });
    const io = await host.dispatch('exportRun', { runId: 'run-1', format: 'tflite', int8Io: true });
    expect(io).toMatchObject({ ok: false, error: { code: 'BAD_INPUT', message: expect.stringContaining('int8Io: int8 input/output and per-tensor weight scales need int8 quantization') } });
    expect(await host.dispatch('exportRun', { runId: 'run-1', format: 'tflite', weightScales: 'per-tensor' })).toMatchObject({ ok: false, error: { code: 'BAD_INPUT' } });
    expect(await host.dispatch('exportRun', { runId: 'run-1', format: 'onnx', stripStrings: true })).toMatchObject({ ok: false, error: { code: 'BAD_INPUT', message: expect.stringContaining('stripStrings') } });
    expect(await host.dispatch('exportRun', { runId: 'run-1', format: 'tflite', int8: true, weightScales: 'per-row' })).toMatchObject({ ok: false, error: { code: 'BAD_INPUT' } });
  });

  it('runs an int8 export in a worker process: calibrated on the run\'s generator, a TFLite file smaller than float32', async () => {
    const { useWasm } = await import('../engine/backend/helpers.ts');
    const { tinyRun } = await import('../engine/export/tiny-run.ts');
    const { existsSync } = await import('node:fs');
    await useWasm();
    const home = tmp();
    await tinyRun(home, 'rdskd', 'tiny');
    const host = new EngineHost({ dataDir: home });
    const result = await host.dispatch('exportRun', { runId: 'tiny', format: 'tflite', int8: true });
    expect(result).toMatchObject({ ok: true, value: { dir: join(home, 'exports', 'tiny-tflite-int8'), format: 'tflite', precision: 'int8', calibration: expect.stringContaining('512 generated images') } });
    const value = (result as { value: { modelBytes: number; float32Bytes: number } }).value;
    expect(value.float32Bytes).toBeGreaterThan(value.modelBytes);
    expect(existsSync(join(home, 'exports', 'tiny-tflite-int8', 'student.tflite'))).toBe(true);
    // The microcontroller variant: its own folder, int8 I/O said in the description.
    const micro = await host.dispatch('exportRun', { runId: 'tiny', format: 'tflite', int8: true, weightScales: 'per-tensor', int8Io: true, stripStrings: true });
    expect(micro).toMatchObject({ ok: true, value: { dir: join(home, 'exports', 'tiny-tflite-int8-per-tensor-int8io-stripped'), description: expect.stringContaining('int8 input and output, strings stripped') } });
    expect((micro as { value: { modelBytes: number } }).value.modelBytes).toBeLessThan(value.modelBytes);
  }, 120_000);
});

describe('training a finished run longer', () => {
  it('extendRun validates its payload, lengthens the run and continues it in a worker to the new end', async () => {
    const { useWasm } = await import('../engine/backend/helpers.ts');
    const { tinyRun } = await import('../engine/export/tiny-run.ts');
    await useWasm();
    const home = tmp();
    await tinyRun(home, 'rdskd', 'tiny'); // 2 generator + 2 student steps
    const host = new EngineHost({ dataDir: home });
    const before = await host.dispatch('getRun', { runId: 'tiny' });
    expect(before).toMatchObject({ ok: true, value: { status: 'done', step: 4, total: 4, extendable: [{ key: 'student.epochs', value: 1 }] } });
    for (const set of [{}, { 'student.epochs': 0 }, { 'student.epochs': 1.5 }, { '../x': 2 }]) {
      expect(await host.dispatch('extendRun', { runId: 'tiny', set })).toMatchObject({ ok: false, error: { code: 'BAD_INPUT' } });
    }
    expect(await host.dispatch('extendRun', { runId: 'tiny', set: { 'generator.epochs': 2 } })).toMatchObject({ ok: false, error: { code: 'BAD_INPUT', message: expect.stringContaining('generator.epochs cannot change') } });
    expect(await host.dispatch('extendRun', { runId: 'gone', set: { 'student.epochs': 2 } })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });

    expect(await host.dispatch('extendRun', { runId: 'tiny', set: { 'student.epochs': 3 } })).toEqual({ ok: true, value: { runId: 'tiny', plannedSteps: 8 } });
    await expect
      .poll(async () => ((await host.dispatch('getRun', { runId: 'tiny' })) as { value: { status: string; step: number } }).value, { timeout: 60_000, interval: 250 })
      .toMatchObject({ status: 'done', step: 8 });
    expect(await host.dispatch('getRun', { runId: 'tiny' })).toMatchObject({ ok: true, value: { total: 8, extendable: [{ key: 'student.epochs', value: 3 }] } });
  }, 120_000);
});

describe('a run that has just stopped', () => {
  it('resumes when Resume comes right after the cancelled status, before its worker has exited', async () => {
    const home = tmp();
    const host = new EngineHost({ dataDir: home });
    const statuses: string[] = [];
    let cancelled = false;
    const resumed = new Promise<unknown>((resolveResume) => {
      host.onEvent((event, payload) => {
        const { runId, status } = payload as { runId: string; status?: string };
        if (event === 'progress' && !cancelled) {
          cancelled = true;
          void host.dispatch('controlRun', { runId, action: 'cancel' });
        }
        if (event === 'runStatus') {
          statuses.push(status!);
          // The app shows 'cancelled' as soon as the worker says so; the user clicks Resume at once.
          if (status === 'cancelled') void host.dispatch('resumeRun', { runId }).then(resolveResume);
        }
      });
    });
    const schedule = { epochs: 1, itersPerEpoch: 6, batchSize: 4, evalSamples: 4, evalEvery: 0, sampleEvery: 0, checkpointEvery: 100 };
    const started = await host.dispatch('startRun', { teacherId: 'lenet5-mnist', student: 'lenet5-half', method: 'dafl', overrides: schedule });
    expect(started).toMatchObject({ ok: true });
    const runId = (started as { value: { runId: string } }).value.runId;
    expect(await resumed).toEqual({ ok: true, value: { runId } });
    await expect.poll(() => statuses.at(-1), { timeout: 60_000, interval: 200 }).toBe('done');
    expect(statuses).toEqual(['running', 'cancelled', 'running', 'done']);
  }, 120_000);
});

