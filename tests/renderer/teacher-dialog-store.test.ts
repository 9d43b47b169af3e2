/**
 * The teacher store in the desktop app: "Open…" goes through the system dialog the host shows, and
 * falls back to the page's file input where the host has none.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { HostError } from '@common/contract.ts';
import { teacherInfo } from './fixtures.ts';

const invoke = vi.fn();
vi.mock('@renderer/api/index.ts', () => ({ api: { invoke, on: vi.fn(() => () => {}) }, hostKind: 'electron' }));

const { useTeacherStore } = await import('@renderer/stores/teacher.ts');

describe('teacher store with the system dialog (desktop app)', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    invoke.mockReset();
  });

  it('opens a teacher: the host shows the dialog and imports what was picked', async () => {
    const imported = teacherInfo({ id: 'picked-1', source: 'imported' });
    invoke.mockResolvedValue({ outcome: 'imported', teacher: imported });
    const store = useTeacherStore();
    expect(store.nativeDialog).toBe(true);
    const pending = store.openWithDialog('folder');
    expect(store.busy).toBe('import');
    expect(await pending).toBe('imported');
    expect(invoke).toHaveBeenCalledWith('openTeacher', { select: 'folder' });
    expect(store.current).toEqual(imported);
    expect(store.teachers).toContainEqual(imported);
    expect(store.busy).toBeNull();
  });

  it('changes nothing when the dialog is cancelled', async () => {
    const store = useTeacherStore();
    invoke.mockResolvedValueOnce(teacherInfo());
    await store.select('lenet5-mnist');
    invoke.mockResolvedValueOnce({ outcome: 'cancelled' });
    expect(await store.openWithDialog('modelFile')).toBe('cancelled');
    expect(store.current?.id).toBe('lenet5-mnist');
    expect(store.error).toBeNull();
    expect(store.nativeDialog).toBe(true);
  });

  it('falls back to the file input for good when the host has no dialog', async () => {
    invoke.mockResolvedValue({ outcome: 'unavailable' });
    const store = useTeacherStore();
    expect(await store.openWithDialog('modelFile')).toBe('unavailable');
    expect(store.nativeDialog).toBe(false);
    expect(store.error).toBeNull();
  });

  it("shows the host's reason when the picked model cannot be used", async () => {
    invoke.mockRejectedValue(new HostError({ code: 'BAD_MODEL', message: 'model.json names the weights file \'../x.bin\' in another folder' }));
    const store = useTeacherStore();
    expect(await store.openWithDialog('modelFile')).toBe('failed');
    expect(store.error).toMatchObject({ code: 'BAD_MODEL', message: expect.stringContaining('another folder') });
    expect(store.current).toBeNull();
  });
});
