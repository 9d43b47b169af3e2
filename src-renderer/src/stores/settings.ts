import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { ErrorDto, HyperParameterDto, MethodInfo, RequestInput, StudentOption, TeacherInfo } from '@common/contract.ts';
import { api } from '@renderer/api/index.ts';
import { toNotice } from '@renderer/lib/errors.ts';

export type MethodId = MethodInfo['id'];
export type TestDataChoice = { kind: 'none' } | { kind: 'mnist' } | { kind: 'path'; path: string };

export const DEFAULT_METHOD: MethodId = 'rdskd';

/** A hyper-parameter as typed in the form (numbers as text, so a half-typed value is not lost). */
export type FormValue = string | boolean;

/** Parses what was typed for a hyper-parameter against the type of its default. */
export function parseValue(param: HyperParameterDto, typed: FormValue): { value?: number | string | boolean; error?: string } {
  if (typeof param.value === 'boolean') return typeof typed === 'boolean' ? { value: typed } : { value: typed === 'true' };
  const text = String(typed).trim();
  if (typeof param.value === 'number') {
    if (text === '') return { error: 'enter a number' };
    const n = Number(text);
    if (!Number.isFinite(n)) return { error: `'${text}' is not a number` };
    if (Number.isInteger(param.value) && !Number.isInteger(n) && /(epochs|iters|batch|every|samples|seed|dim)/i.test(param.key)) {
      return { error: 'a whole number' };
    }
    return { value: n };
  }
  if (text === '') return { error: 'enter a value' };
  return { value: text };
}

/**
 * The student is the suitable one that compresses the teacher by a factor closest to 4 (the
 * references' LeNet-5 → LeNet-5-half is 3.9×), if any.
 */
export function defaultStudent(students: readonly StudentOption[]): string | null {
  const usable = students.filter((s) => !s.unsuitable && s.compression > 1);
  if (!usable.length) return null;
  return usable.reduce((best, s) => (Math.abs(Math.log(s.compression / 4)) < Math.abs(Math.log(best.compression / 4)) ? s : best)).id;
}

/** What the next run will use: student, method and its hyper-parameters, optional test data. */
export const useSettingsStore = defineStore('settings', () => {
  const teacherId = ref<string | null>(null);
  const students = ref<StudentOption[]>([]);
  const methods = ref<MethodInfo[]>([]);
  const studentId = ref<string | null>(null);
  const methodId = ref<MethodId>(DEFAULT_METHOD);
  const typed = ref<Record<string, FormValue>>({});
  const testData = ref<TestDataChoice>({ kind: 'none' });
  const loading = ref(false);
  const error = ref<ErrorDto | null>(null);

  const student = computed(() => students.value.find((s) => s.id === studentId.value) ?? null);
  const method = computed(() => methods.value.find((m) => m.id === methodId.value) ?? null);
  const hyperParameters = computed<HyperParameterDto[]>(() => method.value?.hyperParameters ?? []);

  /** Per key: the parsed value or why it cannot be used. */
  const parsed = computed(() => {
    const overrides: Record<string, number | string | boolean> = {};
    const errors: Record<string, string> = {};
    for (const param of hyperParameters.value) {
      const raw = typed.value[param.key];
      if (raw === undefined) continue;
      const result = parseValue(param, raw);
      if (result.error) errors[param.key] = result.error;
      else if (result.value !== param.value) overrides[param.key] = result.value!;
    }
    return { overrides, errors };
  });
  const overrides = computed(() => parsed.value.overrides);
  const errors = computed(() => parsed.value.errors);

  const studentReady = computed(() => student.value !== null && !student.value.unsuitable);
  const methodReady = computed(() => method.value !== null && method.value.available && !method.value.unsuitable && Object.keys(errors.value).length === 0);
  const testDataReady = computed(() => testData.value.kind !== 'path' || testData.value.path.trim().length > 0);

  function resetValues(): void {
    typed.value = Object.fromEntries(hyperParameters.value.map((p) => [p.key, typeof p.value === 'boolean' ? p.value : String(p.value)]));
  }

  /** Loads the zoo and the methods sized / defaulted for this teacher. */
  async function loadFor(teacher: TeacherInfo): Promise<void> {
    if (teacherId.value === teacher.id && students.value.length && methods.value.length) return;
    loading.value = true;
    error.value = null;
    try {
      const [s, m] = await Promise.all([api.invoke('listStudents', { teacherId: teacher.id }), api.invoke('listMethods', { teacherId: teacher.id })]);
      teacherId.value = teacher.id;
      students.value = s;
      methods.value = m;
      if (!s.some((x) => x.id === studentId.value && !x.unsuitable)) studentId.value = defaultStudent(s);
      if (!m.some((x) => x.id === methodId.value && x.available && !x.unsuitable)) methodId.value = DEFAULT_METHOD;
      resetValues();
      testData.value = teacher.manifest?.dataset.toLowerCase() === 'mnist' ? { kind: 'mnist' } : { kind: 'none' };
    } catch (e) {
      error.value = toNotice(e);
    } finally {
      loading.value = false;
    }
  }

  function chooseStudent(id: string): void {
    const option = students.value.find((s) => s.id === id);
    if (option && !option.unsuitable) studentId.value = id;
  }

  function chooseMethod(id: MethodId): void {
    const info = methods.value.find((m) => m.id === id);
    if (!info || !info.available || info.unsuitable || id === methodId.value) return;
    methodId.value = id;
    resetValues();
  }

  function setValue(key: string, value: FormValue): void {
    typed.value = { ...typed.value, [key]: value };
  }

  /** The startRun request for the current choices; null while something is missing or invalid. */
  const request = computed<RequestInput<'startRun'> | null>(() => {
    if (!teacherId.value || !studentReady.value || !methodReady.value || !testDataReady.value) return null;
    const data = testData.value;
    return {
      teacherId: teacherId.value,
      student: studentId.value!,
      method: methodId.value,
      overrides: { ...overrides.value },
      ...(data.kind === 'mnist' ? { testData: { kind: 'mnist' as const } } : data.kind === 'path' ? { testData: { kind: 'path' as const, path: data.path.trim() } } : {}),
    };
  });

  return {
    teacherId,
    students,
    methods,
    studentId,
    methodId,
    typed,
    testData,
    loading,
    error,
    student,
    method,
    hyperParameters,
    overrides,
    errors,
    studentReady,
    methodReady,
    testDataReady,
    request,
    loadFor,
    chooseStudent,
    chooseMethod,
    setValue,
    resetValues,
  };
});
