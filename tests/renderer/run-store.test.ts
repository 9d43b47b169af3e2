import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { HostError, type EventPayloads } from '@common/contract.ts';
import { point, runDetail } from './fixtures.ts';

const invoke = vi.fn();
const listeners = new Map<string, (payload: unknown) => void>();
const on = vi.fn((event: string, listener: (payload: unknown) => void) => {
  listeners.set(event, listener);
  return () => listeners.delete(event);
});
vi.mock('@renderer/api/index.ts', () => ({ api: { invoke, on }, hostKind: 'browser' }));

const { useRunStore } = await import('@renderer/stores/run.ts');

const request = { teacherId: 'lenet5-mnist', student: 'lenet5-half', method: 'rdskd' as const, overrides: { 'generator.epochs': 1 } };

function progress(runId: string, phase: string, step: number, total: number, values: Record<string, number>): EventPayloads['progress'] {
  return { runId, task: 'rdskd', phase, step, total, etaSeconds: 12, samplesPerSecond: 100, values, time: 0 };
}
const emit = <E extends keyof EventPayloads>(event: E, payload: EventPayloads[E]): void => listeners.get(event)!(payload);
const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('run store', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    invoke.mockReset();
    on.mockClear();
    listeners.clear();
  });

  async function started(): Promise<ReturnType<typeof useRunStore>> {
    invoke.mockImplementation(async (name: string) => {
      if (name === 'startRun') return { runId: 'run-1' };
      if (name === 'getRun') return runDetail();
      throw new Error(name);
    });
    const store = useRunStore();
    expect(await store.start(request)).toBe(true);
    return store;
  }

  it('starts a run, reads its record and subscribes to its events', async () => {
    const store = await started();
    expect(invoke).toHaveBeenCalledWith('startRun', request);
    expect(invoke).toHaveBeenCalledWith('getRun', { runId: 'run-1', maxPoints: 2000 });
    expect([...listeners.keys()].sort()).toEqual(['progress', 'runStatus', 'samples']);
    expect(store.runId).toBe('run-1');
    expect(store.status).toBe('running');
    expect(store.points).toHaveLength(2);
    expect(store.canPause).toBe(true);
    expect(store.canResume).toBe(false);
  });

  it('appends live progress of its own run, continuing global steps across phases', async () => {
    const store = await started();
    emit('progress', progress('other-run', 'generator', 3, 30, { oh: 5 }));
    expect(store.points).toHaveLength(2);
    emit('progress', progress('run-1', 'generator', 2, 30, { oh: 9 })); // already in the record
    expect(store.points).toHaveLength(2);
    emit('progress', progress('run-1', 'generator', 30, 30, { oh: 1 }));
    emit('progress', progress('run-1', 'student', 5, 100, { kd: 3, agreement: 0.5 }));
    expect(store.points.map((p) => p.globalStep)).toEqual([1, 2, 30, 35]);
    expect(store.latest?.phase).toBe('student');
    expect(store.globalStep).toBe(35);
    expect(store.overall).toBeCloseTo(35 / 130, 10);
  });

  it('follows status changes and shows a failure, but not a cancellation, as an error', async () => {
    const store = await started();
    emit('runStatus', { runId: 'run-1', status: 'paused' });
    expect(store.status).toBe('paused');
    expect(store.canResume).toBe(true);
    emit('runStatus', { runId: 'run-1', status: 'cancelled', error: { code: 'CANCELLED', message: 'cancelled by the user' } });
    expect(store.error).toBeNull();
    emit('runStatus', { runId: 'run-1', status: 'failed', error: { code: 'NUMERIC', message: 'kd became NaN' } });
    expect(store.error?.message).toBe('kd became NaN');
    emit('runStatus', { runId: 'run-2', status: 'done' });
    expect(store.status).toBe('failed');
  });

  it('keeps the latest sample grid of its run', async () => {
    const store = await started();
    const grid = { runId: 'run-1', phase: 'generator', step: 10, classNames: ['a', 'b'], samples: [{ png: 'data:image/png;base64,AA', probabilities: [0.9, 0.1], teacherClass: 0 }] };
    emit('samples', { ...grid, runId: 'run-9' });
    expect(store.samples).toBeNull();
    emit('samples', grid);
    expect(store.samples).toEqual(grid);
  });

  it('pauses and cancels through controlRun', async () => {
    const store = await started();
    invoke.mockResolvedValue({ runId: 'run-1', status: 'running' });
    await store.pause();
    expect(invoke).toHaveBeenLastCalledWith('controlRun', { runId: 'run-1', action: 'pause' });
    await store.cancel();
    expect(invoke).toHaveBeenLastCalledWith('controlRun', { runId: 'run-1', action: 'cancel' });
    invoke.mockRejectedValueOnce(new HostError({ code: 'NOT_FOUND', message: 'run run-1 is not running' }));
    await store.cancel();
    expect(store.actionError?.message).toBe('run run-1 is not running');
  });

  it('resumes a paused run in place, and a stopped one from its checkpoint', async () => {
    const store = await started();
    invoke.mockImplementation(async (name: string) => (name === 'getRun' ? runDetail({ status: 'paused' }) : { runId: 'run-1', status: 'paused' }));
    emit('runStatus', { runId: 'run-1', status: 'paused' });
    await flush(); // the store re-reads the record on a pause
    expect(store.status).toBe('paused');
    invoke.mockClear();
    await store.resume();
    expect(invoke.mock.calls.map((c) => c[0])).toEqual(['controlRun']);
    expect(invoke).toHaveBeenCalledWith('controlRun', { runId: 'run-1', action: 'resume' });

    // Paused, but its process is gone (stopped after a checkpoint): resumeRun.
    invoke.mockReset();
    invoke.mockImplementation(async (name: string) => {
      if (name === 'controlRun') throw new HostError({ code: 'NOT_FOUND', message: 'not running' });
      if (name === 'resumeRun') return { runId: 'run-1' };
      return runDetail({ status: 'running' });
    });
    await store.resume();
    expect(invoke.mock.calls.map((c) => c[0])).toEqual(['controlRun', 'resumeRun', 'getRun']);
    expect(store.status).toBe('running');

    emit('runStatus', { runId: 'run-1', status: 'cancelled' });
    await flush();
    invoke.mockClear();
    await store.resume();
    expect(invoke.mock.calls[0]).toEqual(['resumeRun', { runId: 'run-1' }]);
    expect(store.actionError).toBeNull();
  });

  it("opens a past run from its record, keeping live points newer than the record", async () => {
    invoke.mockResolvedValue(runDetail({ id: 'old', status: 'done', metrics: [point('generator', 1, 30, 0, { oh: 1 }), point('student', 100, 100, 30, { kd: 0.1, agreement: 0.97 })] }));
    const store = useRunStore();
    store.listen();
    await store.load('old');
    expect(store.runId).toBe('old');
    expect(store.status).toBe('done');
    expect(store.canCancel).toBe(false);
    expect(store.points.map((p) => p.globalStep)).toEqual([1, 130]);
    invoke.mockRejectedValueOnce(new HostError({ code: 'NOT_FOUND', message: 'there is no run gone' }));
    await store.load('gone');
    expect(store.error?.message).toBe('there is no run gone');
    expect(store.points).toEqual([]);
  });
});
