import { afterEach, describe, expect, it, vi } from 'vitest';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../bench/pool-student.ts';
import { startDistillation } from '../../src-main/engine/runs/distill.ts';
import { RunStore } from '../../src-main/engine/runs/store.ts';
import { tempDirs } from '../temp-dirs.ts';

const tmp = tempDirs('pool-student-');
const TEACHER = fileURLToPath(new URL('../../resources/teachers/lenet5-mnist', import.meta.url));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('bench pool-student', () => {
  it("retrains a DeepInversion run's student on its pool: the run's own seed gives the run's accuracy, to the last digit", async () => {
    // The bundled MNIST teacher, a pool of 2 × 16 images, 2 student epochs, test accuracy at the end.
    const overrides = { seed: 7, synthesis: { batches: 2, batchSize: 16, iterations: 3 }, student: { epochs: 2, batchSize: 16 }, checkpointEvery: 4, sampleEvery: 0, evalEvery: 4, evalSamples: 8 };
    const result = await startDistillation({ teacher: TEACHER, student: 'lenet5-half', method: 'deepinversion', overrides, runsDir: tmp(), id: 'di', testData: 'mnist' });
    expect(result.status).toBe('done');
    const last = RunStore.open(result.runDir).readMetrics().findLast((r) => typeof r.values.testAccuracy === 'number')!;
    expect(last.phase).toBe('student');

    const lines: Record<string, unknown>[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>));
    expect(await main([result.runDir, '--seeds', '7,8', '--eval-every', '1'])).toBe(0);
    const finals = lines.filter((l) => 'msPerStep' in l);
    expect(finals.map((l) => [l.seed, l.poolSize, l.steps])).toEqual([[7, 32, 4], [8, 32, 4]]);
    expect(finals[0]!.testAccuracy).toBe(last.values.testAccuracy);
    // Another seed is another student (initial weights and minibatch order).
    expect(finals[1]!.testAccuracy).not.toBe(last.values.testAccuracy);
    expect(lines.filter((l) => l.seed === 7 && 'epoch' in l).map((l) => l.iteration)).toEqual([2, 4]);
  });

  it('refuses a run of a method that keeps no pool, naming it', async () => {
    const store = RunStore.create(tmp(), { method: 'rdskd', dataset: 'mnist', config: {}, teacher: {}, student: {} }, { id: 'r' });
    store.close();
    await expect(main([join(store.dir)])).rejects.toThrow(/run r is rdskd: only DeepInversion and ZSKD runs keep a pool/);
    await expect(main([])).rejects.toThrow(/name one DeepInversion or ZSKD run folder/);
  });
});
