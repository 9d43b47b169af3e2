import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import type { MethodInfo, StudentOption } from '@common/contract.ts';
import { methods, students, teacherInfo } from './fixtures.ts';

const invoke = vi.fn();
vi.mock('@renderer/api/index.ts', () => ({ api: { invoke, on: vi.fn(() => () => {}) }, hostKind: 'browser' }));

const { useSettingsStore, defaultStudent, parseValue, widthProblem } = await import('@renderer/stores/settings.ts');

/** The host's size of an architecture at a width: parameters as width² × the fixture's. */
function sized(student: string, width: number): StudentOption {
  const zoo = students().find((s) => s.id === student)!;
  const params = Math.round(zoo.params * width * width);
  return { ...zoo, width, params, bytes: params * 4, compression: 61_706 / params, ...(params > 61_706 ? { unsuitable: 'larger than the teacher' } : {}) };
}

function answer(methodsFor: (payload: Record<string, unknown>) => MethodInfo[] = () => methods()): void {
  invoke.mockImplementation(async (name: string, payload: Record<string, unknown>) => {
    if (name === 'listStudents') return students();
    if (name === 'listMethods') return methodsFor(payload);
    if (name === 'sizeStudent') return sized(payload.student as string, payload.width as number);
    throw new Error(`unexpected ${name}`);
  });
}

const calls = (name: string): unknown[] => invoke.mock.calls.filter(([n]) => n === name).map(([, payload]) => payload);

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
    // The methods are judged for the teacher and the default student.
    expect(invoke).toHaveBeenCalledWith('listMethods', { teacherId: 'lenet5-mnist', student: 'lenet5-half' });
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
    store.chooseMethod('deepinversion'); // the engine says it cannot run
    store.chooseMethod('zskd'); // not available
    expect(store.methodId).toBe('rdskd');
    store.setValue('seed', '3');
    store.chooseMethod('dafl');
    expect(store.methodId).toBe('dafl');
    expect(store.typed).toEqual({ lrG: '0.2' });
    expect(store.request?.method).toBe('dafl');
  });

  it("shows the engine's verdict: a variant can be chosen, a method that cannot run cannot", async () => {
    const store = useSettingsStore();
    await store.loadFor(teacherInfo());
    store.chooseMethod('zskt');
    expect(store.methodId).toBe('zskt');
    expect(store.method?.fit).toEqual({ kind: 'variant', variant: 'without attention transfer', reason: 'the teacher has 0, the student 0' });
    expect(store.methodReady).toBe(true);
    expect(store.request?.method).toBe('zskt');
    store.chooseMethod('deepinversion');
    expect(store.methodId).toBe('zskt');
  });

  it('asks again for the verdicts when the student changes, keeping what was typed while the method can run', async () => {
    // ZSKT cannot run for the "tiny" student (as with attention 'require' and no matching groups).
    answer((payload) => methods().map((m) => (m.id === 'zskt' && payload.student === 'tiny' ? { ...m, fit: { kind: 'unusable' as const, reason: 'no groups' } } : m)));
    const store = useSettingsStore();
    await store.loadFor(teacherInfo());
    store.setValue('generator.lr', '0.01');
    await store.chooseStudent('lenet5');
    expect(calls('listMethods').at(-1)).toEqual({ teacherId: 'lenet5-mnist', student: 'lenet5' });
    expect(store.overrides).toEqual({ 'generator.lr': 0.01 });
    store.chooseMethod('zskt');
    store.setValue('beta', '100');
    await store.chooseStudent('tiny');
    expect(store.method?.id).toBe('rdskd'); // ZSKT can no longer run: back to the default, its reference values
    expect(store.overrides).toEqual({});
  });

  it('sizes a custom width of the chosen student with the host and sends it with the run', async () => {
    const store = useSettingsStore();
    await store.loadFor(teacherInfo());
    expect(store.studentWidth).toBe(1);
    const pending = store.setStudentWidth(0.5);
    expect(store.sizing).toBe(true);
    expect(store.student).toBeNull(); // not yet sized: no run can start with stale numbers
    expect(store.request).toBeNull();
    await pending;
    expect(calls('sizeStudent')).toEqual([{ teacherId: 'lenet5-mnist', student: 'lenet5-half', width: 0.5 }]);
    expect(store.student).toMatchObject({ id: 'lenet5-half', width: 0.5, params: Math.round(15_738 / 4) });
    expect(store.student!.compression).toBeCloseTo(61_706 / Math.round(15_738 / 4), 10);
    expect(calls('listMethods').at(-1)).toEqual({ teacherId: 'lenet5-mnist', student: 'lenet5-half', studentWidth: 0.5 });
    expect(store.request).toMatchObject({ student: 'lenet5-half', studentWidth: 0.5, method: 'rdskd' });

    // Another architecture keeps the width and is sized again.
    await store.chooseStudent('tiny');
    expect(calls('sizeStudent').at(-1)).toEqual({ teacherId: 'lenet5-mnist', student: 'tiny', width: 0.5 });
    expect(store.student).toMatchObject({ id: 'tiny', width: 0.5 });

    // Larger than the teacher: shown, but no run.
    await store.chooseStudent('lenet5');
    await store.setStudentWidth(2);
    expect(store.student?.unsuitable).toMatch(/larger than the teacher/);
    expect(store.studentReady).toBe(false);
    expect(store.request).toBeNull();

    // Out of range: refused without asking the host.
    const asked = invoke.mock.calls.length;
    for (const width of [0, -1, 4.5, Number.NaN]) expect(await store.setStudentWidth(width)).toBe(false);
    expect(invoke.mock.calls.length).toBe(asked);
    expect(store.studentWidth).toBe(2);

    // Back to the zoo's width: the zoo's numbers, no width in the request.
    await store.setStudentWidth(1);
    expect(store.student).toEqual(students().find((s) => s.id === 'lenet5'));
    expect(store.request).toMatchObject({ student: 'lenet5' });
    expect(store.request && 'studentWidth' in store.request).toBe(false);
  });

  it('keeps only the latest size when answers arrive out of order', async () => {
    const store = useSettingsStore();
    await store.loadFor(teacherInfo());
    const answers: ((value: StudentOption) => void)[] = [];
    invoke.mockImplementation(async (name: string) => {
      if (name === 'sizeStudent') return new Promise<StudentOption>((resolve) => answers.push(resolve));
      return methods();
    });
    const first = store.setStudentWidth(0.25);
    const second = store.setStudentWidth(0.75);
    answers[1]!(sized('lenet5-half', 0.75));
    answers[0]!(sized('lenet5-half', 0.25));
    await Promise.all([first, second]);
    expect(store.studentWidth).toBe(0.75);
    expect(store.student).toMatchObject({ width: 0.75 });
    expect(store.sizing).toBe(false);
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
  it('accepts widths above 0 and at most 4', () => {
    expect(widthProblem(0.05)).toBeNull();
    expect(widthProblem(4)).toBeNull();
    for (const w of [0, -0.5, 4.01, Number.NaN, Number.POSITIVE_INFINITY]) expect(widthProblem(w)).not.toBeNull();
  });

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
