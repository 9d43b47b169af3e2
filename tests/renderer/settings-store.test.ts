import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { methods, students, teacherInfo } from './fixtures.ts';

const invoke = vi.fn();
vi.mock('@renderer/api/index.ts', () => ({ api: { invoke, on: vi.fn(() => () => {}) }, hostKind: 'browser' }));

const { useSettingsStore, defaultStudent, parseValue } = await import('@renderer/stores/settings.ts');

function answer(): void {
  invoke.mockImplementation(async (name: string) => {
    if (name === 'listStudents') return students();
    if (name === 'listMethods') return methods();
    throw new Error(`unexpected ${name}`);
  });
}

describe('settings store', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    invoke.mockReset();
    answer();
  });

  it('loads the zoo and the methods for the teacher, with RDSKD and its reference values', async () => {
    const store = useSettingsStore();
    await store.loadFor(teacherInfo());
    expect(invoke).toHaveBeenCalledWith('listStudents', { teacherId: 'lenet5-mnist' });
    expect(invoke).toHaveBeenCalledWith('listMethods', { teacherId: 'lenet5-mnist' });
    expect(store.studentId).toBe('lenet5-half'); // 3.9×: closest to 4× among the suitable ones
    expect(store.methodId).toBe('rdskd');
    expect(store.typed).toEqual({ seed: '0', 'generator.lr': '0.001', 'generator.batchSize': '512', 'student.tau': '10', select: 'last' });
    expect(store.overrides).toEqual({});
    expect(store.testData).toEqual({ kind: 'mnist' });
    expect(store.request).toEqual({ teacherId: 'lenet5-mnist', student: 'lenet5-half', method: 'rdskd', overrides: {}, testData: { kind: 'mnist' } });
  });

  it('sends only the changed hyper-parameters, parsed, and blocks on invalid ones', async () => {
    const store = useSettingsStore();
    await store.loadFor(teacherInfo());
    store.setValue('generator.lr', '5e-3');
    store.setValue('student.tau', '10'); // unchanged
    store.setValue('select', 'agreement');
    expect(store.overrides).toEqual({ 'generator.lr': 0.005, select: 'agreement' });
    expect(store.request?.overrides).toEqual({ 'generator.lr': 0.005, select: 'agreement' });
    store.setValue('generator.batchSize', '12x');
    expect(store.errors['generator.batchSize']).toMatch(/not a number/);
    expect(store.methodReady).toBe(false);
    expect(store.request).toBeNull();
    store.setValue('generator.batchSize', '64.5');
    expect(store.errors['generator.batchSize']).toMatch(/whole number/);
    store.resetValues();
    expect(store.overrides).toEqual({});
    expect(store.request).not.toBeNull();
  });

  it('ignores choices that cannot be used, and resets the values when the method changes', async () => {
    const store = useSettingsStore();
    await store.loadFor(teacherInfo());
    store.chooseStudent('resnet18');
    expect(store.studentId).toBe('lenet5-half');
    store.chooseStudent('tiny');
    expect(store.studentId).toBe('tiny');
    store.chooseMethod('deepinversion'); // unsuitable
    store.chooseMethod('zskd'); // not available
    expect(store.methodId).toBe('rdskd');
    store.setValue('seed', '3');
    store.chooseMethod('dafl');
    expect(store.methodId).toBe('dafl');
    expect(store.typed).toEqual({ lrG: '0.2' });
    expect(store.request?.method).toBe('dafl');
  });

  it('passes a test data path, and none for a teacher of other data', async () => {
    const store = useSettingsStore();
    await store.loadFor(teacherInfo({ id: 'cifar', manifest: { dataset: 'cifar10', preprocessing: { scale: 1 / 255, mean: [0.5], std: [0.5] }, classNames: Array.from({ length: 10 }, (_, i) => `c${i}`) } }));
    expect(store.testData).toEqual({ kind: 'none' });
    expect(store.request && 'testData' in store.request).toBe(false);
    store.testData = { kind: 'path', path: '  ' };
    expect(store.request).toBeNull();
    store.testData = { kind: 'path', path: ' /data/cifar-10-batches-bin ' };
    expect(store.request?.testData).toEqual({ kind: 'path', path: '/data/cifar-10-batches-bin' });
  });

  it('shows an error when the host cannot list the options', async () => {
    invoke.mockRejectedValue(new Error('the engine bridge answered 500 boom'));
    const store = useSettingsStore();
    await store.loadFor(teacherInfo());
    expect(store.error?.message).toContain('500');
    expect(store.request).toBeNull();
  });
});

describe('settings helpers', () => {
  it('picks no default student when none is smaller and suitable', () => {
    expect(defaultStudent(students().filter((s) => s.compression <= 1 || s.unsuitable))).toBeNull();
  });

  it('parses values by the type of their default', () => {
    expect(parseValue({ key: 'lr', value: 0.1, help: '' }, ' 2e-3 ')).toEqual({ value: 0.002 });
    expect(parseValue({ key: 'lr', value: 0.1, help: '' }, '')).toEqual({ error: 'enter a number' });
    expect(parseValue({ key: 'flag', value: true, help: '' }, false)).toEqual({ value: false });
    expect(parseValue({ key: 'name', value: 'last', help: '' }, ' agreement ')).toEqual({ value: 'agreement' });
    expect(parseValue({ key: 'student.epochs', value: 10, help: '' }, '2.5')).toEqual({ error: 'a whole number' });
    expect(parseValue({ key: 'student.tau', value: 10, help: '' }, '2.5')).toEqual({ value: 2.5 });
  });
});
