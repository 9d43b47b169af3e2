import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { HostError, type RunStatusDto } from '@common/contract.ts';
import { runDetail } from './fixtures.ts';

const invoke = vi.fn();
vi.mock('@renderer/api/index.ts', () => ({ api: { invoke, on: vi.fn(() => () => {}) }, hostKind: 'browser' }));

const { useRunStore } = await import('@renderer/stores/run.ts');

/** A store showing run-1 as the host reports it with this status. */
async function storeWith(status: RunStatusDto) {
  invoke.mockResolvedValueOnce(runDetail({ status }));
  const store = useRunStore();
  await store.load('run-1');
  invoke.mockReset();
  return store;
}

describe('run store: the actions a run offers', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    invoke.mockReset();
  });

  it.each([
    ['running', { canPause: true, canResume: false, canCancel: true, canExtend: false }],
    ['paused', { canPause: false, canResume: true, canCancel: true, canExtend: false }],
    ['interrupted', { canPause: false, canResume: true, canCancel: false, canExtend: true }],
    ['cancelled', { canPause: false, canResume: true, canCancel: false, canExtend: true }],
    ['done', { canPause: false, canResume: false, canCancel: false, canExtend: true }],
  ] as const)('a %s run', async (status, offers) => {
    const store = await storeWith(status);
    expect({ canPause: store.canPause, canResume: store.canResume, canCancel: store.canCancel, canExtend: store.canExtend }).toEqual(offers);
  });

  it('a run whose method cannot be lengthened offers no Train longer', async () => {
    invoke.mockResolvedValueOnce(runDetail({ status: 'done', method: 'zskt', extendable: [], fixedLength: 'cosine schedules' }));
    const store = useRunStore();
    await store.load('run-1');
    expect(store.canExtend).toBe(false);
  });

  it('resumes an interrupted run from its checkpoint (resumeRun), then follows it', async () => {
    const store = await storeWith('interrupted');
    invoke.mockResolvedValueOnce({ runId: 'run-1' }).mockResolvedValueOnce(runDetail({ status: 'running' }));
    await store.resume();
    expect(invoke.mock.calls.map((c) => c[0])).toEqual(['resumeRun', 'getRun']);
    expect(store.status).toBe('running');
  });

  it('trains a finished run longer: extendRun with the new value, then follows it; an error is shown, not thrown', async () => {
    const store = await storeWith('done');
    invoke.mockResolvedValueOnce({ runId: 'run-1', plannedSteps: 330 }).mockResolvedValueOnce(runDetail({ status: 'running', total: 330 }));
    await store.extend('student.epochs', 2);
    expect(invoke.mock.calls[0]).toEqual(['extendRun', { runId: 'run-1', set: { 'student.epochs': 2 } }]);
    expect(store.status).toBe('running');
    expect(store.detail?.total).toBe(330);

    invoke.mockReset();
    invoke.mockRejectedValueOnce(new HostError({ code: 'BAD_INPUT', message: 'student.epochs must become a whole number above its current 2, got 2' }));
    await store.extend('student.epochs', 2);
    expect(store.actionError?.message).toContain('above its current 2');
    expect(store.busy).toBeNull();
  });
});
