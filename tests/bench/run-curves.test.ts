import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { accuracyCurve, main, referenceCurve, runLabel } from '../../bench/run-curves.ts';
import { RunStore, type MetricRecord } from '../../src-main/engine/runs/store.ts';
import { tempDirs } from '../temp-dirs.ts';

const record = (phase: string, phaseIndex: number, step: number, total: number, values: Record<string, number>): MetricRecord => ({
  globalStep: step,
  phase,
  phaseIndex,
  step,
  total,
  time: 0,
  values,
});

const tmp = tempDirs('run-curves-');

function runWith(records: MetricRecord[]): string {
  const store = RunStore.create(tmp(), { method: 'rdskd', dataset: 'mnist', config: {}, teacher: {}, student: {} }, { id: 'r' });
  for (const r of records) store.appendMetrics(r);
  store.close();
  return store.dir;
}

describe('bench run-curves', () => {
  const metrics = [
    record('generator', 0, 1, 4, { total: 1 }),
    record('generator', 0, 4, 4, { total: 0.5 }),
    record('student', 1, 1, 200, { kd: 2 }),
    record('student', 1, 50, 200, { kd: 1, testAccuracy: 0.5 }),
    record('student', 1, 100, 200, { kd: 0.8 }),
    record('student', 1, 200, 200, { kd: 0.6, testAccuracy: 0.9 }),
  ];

  it('takes the test accuracy of the phase in which the student trains, x in percent of that phase', () => {
    expect(accuracyCurve('rdskd', metrics)).toEqual({ label: 'rdskd (student, 200 steps)', x: [25, 100], steps: [50, 200], y: [0.5, 0.9], lastQuarterGain: 0.9 - 0.5 });
    expect(accuracyCurve('rdskd', metrics.slice(0, 3))).toBeNull();
    // Stopped at step 80 of 200: drawn over the 80 steps it did; its last quarter (60–80) gained 0.1.
    const stopped = [...metrics.slice(0, 4), record('student', 1, 80, 200, { kd: 0.7, testAccuracy: 0.6 })];
    expect(accuracyCurve('dafl', stopped)).toEqual({ label: 'dafl (student, 80 of 200 steps)', x: [62.5, 100], steps: [50, 80], y: [0.5, 0.6], lastQuarterGain: 0.6 - 0.5 });
    expect(accuracyCurve('dafl', [...metrics.slice(0, 3), record('student', 1, 10, 200, { testAccuracy: 0.3 })])!.lastQuarterGain).toBeNull();
    expect([runLabel('dafl', { lrG: 0.2 }), runLabel('rdskd', { generator: { lr: 0.001 } }), runLabel('zskd', { synthesis: {} })]).toEqual(['dafl lr_G 0.2', 'rdskd lr_G 0.001', 'zskd']);
  });

  it('writes a PNG for runs with test accuracy and refuses a run without, naming it', async () => {
    const out = join(tmp(), 'c.png');
    expect(await main([runWith(metrics), '--out', out])).toBe(0);
    expect(readFileSync(out).subarray(1, 4).toString('ascii')).toBe('PNG');
    await expect(main([runWith(metrics.slice(0, 3)), '--out', out])).rejects.toThrow(/run r logged no test accuracy/);
    await expect(main([runWith(metrics)])).rejects.toThrow(/--out is required/);
  });

  it('draws by step with PyTorch reference curves (bench/dafl_torch.py output), which need --x steps', async () => {
    const torchOutput = [
      { iteration: 60, testAccuracy: 0.4889, lossG: -4.86, kd: 0.82, seconds: 247.2 },
      { iteration: 120, testAccuracy: 0.6624, lossG: -4.87, kd: 0.58, seconds: 482.6 },
      { teacherTestAccuracy: 0.9905, iterations: 120, batch: 256, lrG: 0.2, seed: 1 },
    ].map((l) => JSON.stringify(l)).join('\n');
    expect(referenceCurve(torchOutput)).toEqual({ label: 'PyTorch reference (lr_G 0.2, seed 1)', steps: [60, 120], y: [0.4889, 0.6624] });
    expect(() => referenceCurve('{"teacherTestAccuracy": 0.99}')).toThrow(/no \{"iteration", "testAccuracy"\} lines/);
    const dir = tmp();
    const reference = join(dir, 'torch.jsonl');
    writeFileSync(reference, torchOutput);
    const out = join(dir, 'steps.png');
    expect(await main([runWith(metrics), '--out', out, '--x', 'steps', '--reference', reference])).toBe(0);
    expect(readFileSync(out).subarray(1, 4).toString('ascii')).toBe('PNG');
    await expect(main([runWith(metrics), '--out', out, '--reference', reference])).rejects.toThrow(/draw them with --x steps/);
    await expect(main([runWith(metrics), '--out', out, '--x', 'epochs'])).rejects.toThrow(/--x is percent or steps/);
  });
});
