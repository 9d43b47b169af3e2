/**
 * Every method end to end on the bundled MNIST teacher (LeNet5 → LeNet5-half, the zoo's generators,
 * wasm backend) with a schedule of a few steps: stopped part-way, resumed to the end. The method
 * tests elsewhere use tiny dense models for speed; this one is the real models and the real run path
 * (the CLI's and the app's), so a method that breaks only on convolutional models or the teacher's
 * 32×32 inputs shows here.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resumeDistillation, RunStore, startDistillation } from '../../../src-main/engine/runs/index.ts';
import { useWasm } from '../backend/helpers.ts';
import { tempDirs } from '../../temp-dirs.ts';

const TEACHER = fileURLToPath(new URL('../../../resources/teachers/lenet5-mnist', import.meta.url));
const tmp = tempDirs('distillery-bundled-');

/** Global steps 1 … n, each once: what a run's metrics hold after n steps, stopped and resumed or not. */
const stepsUpTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

const common = { seed: 3, checkpointEvery: 1, sampleEvery: 0, evalEvery: 0, evalSamples: 8 };
/** Each method's shortest real schedule: a few steps in every phase, small batches. */
const cases = [
  { method: 'rdskd', overrides: { generator: { epochs: 1, itersPerEpoch: 2, batchSize: 8 }, student: { epochs: 1, itersPerEpoch: 2, batchSize: 8 } }, steps: 4 },
  { method: 'mskd', overrides: { generator: { epochs: 1, itersPerEpoch: 2, batchSize: 8 }, student: { epochs: 1, itersPerEpoch: 2, batchSize: 8 } }, steps: 4 },
  { method: 'dafl', overrides: { epochs: 1, itersPerEpoch: 3, batchSize: 8 }, steps: 3 },
  { method: 'zskt', overrides: { iterations: 3, batchSize: 8, student: { steps: 2 } }, steps: 3 },
  { method: 'deepinversion', overrides: { synthesis: { batches: 1, batchSize: 8, iterations: 2 }, student: { epochs: 2, batchSize: 8 } }, steps: 4 },
  { method: 'zskd', overrides: { synthesis: { impressions: 20, batchSize: 10, iterations: 1 }, student: { epochs: 1, batchSize: 10 } }, steps: 4 },
] as const;

beforeAll(async () => {
  await useWasm();
});

describe('every method on the bundled MNIST teacher (LeNet5 → LeNet5-half)', () => {
  it.each(cases)('$method: stopped part-way, resumed to the end: finite losses, checkpoints, no gap in the steps', async ({ method, overrides, steps }) => {
    const runsDir = tmp();
    const options = { teacher: TEACHER, student: 'lenet5-half', method, overrides: { ...common, ...overrides }, runsDir, id: method };
    const first = await startDistillation(options, { maxSteps: steps - 1 });
    expect(first.status).toBe('stopped');
    const runDir = join(runsDir, method);
    expect(existsSync(join(runDir, 'checkpoint.ckpt'))).toBe(true);
    expect(RunStore.open(runDir).readMetrics().map((m) => m.globalStep)).toEqual(stepsUpTo(steps - 1));

    const done = await resumeDistillation(runDir);
    expect(done.status).toBe('done');
    const metrics = RunStore.open(runDir).readMetrics();
    // Resume continues the step count where the stop left it: 1 … steps, each once.
    expect(metrics.map((m) => m.globalStep)).toEqual(stepsUpTo(steps));
    const values = metrics.flatMap((m) => Object.entries(m.values));
    expect(values.length).toBeGreaterThan(steps);
    for (const [key, value] of values) expect(Number.isFinite(value), `${method} ${key} = ${value}`).toBe(true);
    expect(readdirSync(join(runDir, 'student'))).toContain('model.json');
  }, 120_000);
});
