import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { HostError } from '@common/contract.ts';
import { teacherInfo } from './fixtures.ts';

const invoke = vi.fn();
vi.mock('@renderer/api/index.ts', () => ({ api: { invoke, on: vi.fn(() => () => {}) }, hostKind: 'browser' }));

const { useTeacherStore } = await import('@renderer/stores/teacher.ts');

const file = (name: string, bytes: number[]): File => new File([new Uint8Array(bytes)], name);
const decode = (base64: string): number[] => Array.from(atob(base64), (c) => c.charCodeAt(0));

describe('teacher store', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    invoke.mockReset();
  });

  it('uses the page\'s file input in browser mode, never the system dialog', () => {
    expect(useTeacherStore().nativeDialog).toBe(false);
  });

  it('lists the teachers', async () => {
    const list = [teacherInfo(), teacherInfo({ id: 'mine', source: 'imported' })];
    invoke.mockResolvedValue(list);
    const store = useTeacherStore();
    const pending = store.refresh();
    expect(store.loading).toBe(true);
    await pending;
    expect(invoke).toHaveBeenCalledWith('listTeachers', {});
    expect(store.teachers).toEqual(list);
    expect(store.loading).toBe(false);
  });

  it('sends the model files of a drop as base64 and leaves the others out', async () => {
    const imported = teacherInfo({ id: 'imported-1', source: 'imported', manifest: null });
    invoke.mockResolvedValue(imported);
    const store = useTeacherStore();
    const bin = Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256); // more than one base64 chunk
    const ok = await store.importFiles([file('model.json', [123, 125]), file('weights.bin', bin), file('notes.txt', [1]), file('.DS_Store', [0])]);
    expect(ok).toBe(true);
    expect(invoke).toHaveBeenCalledTimes(1);
    const [name, payload] = invoke.mock.calls[0]! as [string, { files: { name: string; base64: string }[] }];
    expect(name).toBe('importTeacher');
    expect(payload.files.map((f) => f.name)).toEqual(['model.json', 'weights.bin']);
    expect(decode(payload.files[0]!.base64)).toEqual([123, 125]);
    expect(decode(payload.files[1]!.base64)).toEqual(bin);
    expect(store.skipped).toEqual(['notes.txt', '.DS_Store']);
    expect(store.current).toEqual(imported);
    expect(store.teachers).toContainEqual(imported);
    expect(store.needsManifest).toBe(true);
    expect(store.ready).toBe(false);
  });

  it('says what is wrong when nothing dropped is part of a model, without asking the host', async () => {
    const store = useTeacherStore();
    expect(await store.importFiles([file('photo.png', [1, 2])])).toBe(false);
    expect(invoke).not.toHaveBeenCalled();
    expect(store.error?.code).toBe('BAD_MODEL');
    expect(store.error?.message).toContain('photo.png');
  });

  it("shows the host's reason for refusing a model and keeps the teacher chosen before", async () => {
    const store = useTeacherStore();
    invoke.mockResolvedValueOnce(teacherInfo());
    await store.select('lenet5-mnist');
    invoke.mockRejectedValueOnce(new HostError({ code: 'BAD_MODEL', message: 'model.json is not valid JSON: Unexpected end', hint: 'export it again' }));
    expect(await store.importFiles([file('model.json', [123])])).toBe(false);
    expect(store.error).toEqual({ code: 'BAD_MODEL', message: 'model.json is not valid JSON: Unexpected end', hint: 'export it again' });
    expect(store.current?.id).toBe('lenet5-mnist');
    expect(store.busy).toBeNull();
    // The next attempt starts clean.
    invoke.mockResolvedValueOnce(teacherInfo({ id: 'other' }));
    await store.importFiles([file('model.json', [123])]);
    expect(store.error).toBeNull();
  });

  it('saves a manifest for the current teacher', async () => {
    const store = useTeacherStore();
    invoke.mockResolvedValueOnce(teacherInfo({ id: 'bare', source: 'imported', manifest: null }));
    await store.select('bare');
    expect(store.needsManifest).toBe(true);
    const manifest = { dataset: 'mnist', preprocessing: { scale: 1 / 255, mean: [0], std: [1] }, classNames: Array.from({ length: 10 }, (_, i) => `c${i}`) };
    invoke.mockResolvedValueOnce(teacherInfo({ id: 'bare', source: 'imported', manifest }));
    expect(await store.saveManifest(manifest)).toBe(true);
    expect(invoke).toHaveBeenLastCalledWith('saveTeacherManifest', { teacherId: 'bare', manifest });
    expect(store.ready).toBe(true);
    expect(store.teachers.filter((t) => t.id === 'bare')).toHaveLength(1);

    invoke.mockRejectedValueOnce(new HostError({ code: 'BAD_INPUT', message: '3 class names were given for a model with 10 classes' }));
    expect(await store.saveManifest({ ...manifest, classNames: ['a', 'b', 'c'] })).toBe(false);
    expect(store.manifestError?.message).toContain('3 class names');
    expect(store.current?.manifest).toEqual(manifest);
  });
});
