import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import type { DoctorReport } from '@common/contract.ts';
import { HostError } from '@common/contract.ts';

const invoke = vi.fn();
vi.mock('@renderer/api/index.ts', () => ({ api: { invoke, on: vi.fn() }, hostKind: 'browser' }));

const { useMachineStore } = await import('@renderer/stores/machine.ts');

const report: DoctorReport = {
  engineVersion: '0.0.0',
  node: 'v20',
  platform: 'linux x64',
  cpus: 2,
  backend: { chosen: 'wasm', reason: 'test', probes: [] },
  data: { mnist: { found: true, detail: 'here' } },
  teachers: { bundled: [] },
  electron: { binaryPresent: false, detail: 'absent' },
};

describe('machine store', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    invoke.mockReset();
  });

  it('asks the host for the doctor report and keeps it', async () => {
    invoke.mockResolvedValue(report);
    const store = useMachineStore();
    const pending = store.refresh();
    expect(store.loading).toBe(true);
    await pending;
    expect(invoke).toHaveBeenCalledWith('doctor', {});
    expect(store.report).toEqual(report);
    expect(store.loading).toBe(false);
    expect(store.error).toBeNull();
  });

  it("shows the host's error message and keeps no stale state", async () => {
    invoke.mockRejectedValue(new HostError({ code: 'INTERNAL', message: 'engine crashed' }));
    const store = useMachineStore();
    await store.refresh();
    expect(store.error).toBe('engine crashed');
    expect(store.loading).toBe(false);
  });
});
