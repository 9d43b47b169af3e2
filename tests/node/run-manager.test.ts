import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineHost } from '../../src-main/node/host.ts';
import { RunManager, thin } from '../../src-main/node/run-manager.ts';
import type { MetricRecord } from '../../src-main/engine/runs/store.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'distillery-data-'));

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
