import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { STUDENT_WIDTH_MAX, type ErrorDto, type HyperParameterDto, type MethodInfo, type RequestInput, type StudentOption, type TeacherInfo } from '@common/contract.ts';
import { api } from '@renderer/api/index.ts';
import { toNotice } from '@renderer/lib/errors.ts';

export type MethodId = MethodInfo['id'];
export type TestDataChoice = { kind: 'none' } | { kind: 'mnist' } | { kind: 'path'; path: string };

export const DEFAULT_METHOD: MethodId = 'rdskd';

/** Whether the engine can run the method for this teacher and student (as published or as a variant). */
export function canRun(method: MethodInfo): boolean {
  return method.available && method.fit.kind !== 'unusable';
}

/** Why a width cannot be used, or null: the contract's range (0, STUDENT_WIDTH_MAX]. */
export function widthProblem(width: number): string | null {
  if (!Number.isFinite(width)) return 'enter a number';
  if (width <= 0 || width > STUDENT_WIDTH_MAX) return `a width above 0 and at most ${STUDENT_WIDTH_MAX}`;
  return null;
}

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

/**
 * What the next run will use: student (a zoo architecture at a width), method and its
 * hyper-parameters, optional test data. Sizes and method verdicts come from the host; nothing here
 * decides whether a method applies.
 */
export const useSettingsStore = defineStore('settings', () => {
  const teacherId = ref<string | null>(null);
  const students = ref<StudentOption[]>([]);
  const methods = ref<MethodInfo[]>([]);
  const studentId = ref<string | null>(null);
  /** Width multiplier of the student (1 = the zoo's architecture). */
  const studentWidth = ref(1);
  /** The chosen architecture sized at studentWidth by the host (when that is not 1). */
  const customStudent = ref<StudentOption | null>(null);
  const sizing = ref(false);
  const sizeError = ref<ErrorDto | null>(null);
  const methodId = ref<MethodId>(DEFAULT_METHOD);
  const typed = ref<Record<string, FormValue>>({});
  const testData = ref<TestDataChoice>({ kind: 'none' });
  const loading = ref(false);
  const error = ref<ErrorDto | null>(null);
  // Answers can arrive out of order (the width is dragged): only the latest request's counts.
  let sizeRequest = 0;
  let methodsRequest = 0;

  const zooStudent = computed(() => students.value.find((s) => s.id === studentId.value) ?? null);
  const student = computed<StudentOption | null>(() => {
    if (studentWidth.value === 1) return zooStudent.value;
    const custom = customStudent.value;
    return custom && custom.id === studentId.value && custom.width === studentWidth.value ? custom : null;
  });
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
  const methodReady = computed(() => method.value !== null && canRun(method.value) && Object.keys(errors.value).length === 0);
  const testDataReady = computed(() => testData.value.kind !== 'path' || testData.value.path.trim().length > 0);

  function resetValues(): void {
    typed.value = Object.fromEntries(hyperParameters.value.map((p) => [p.key, typeof p.value === 'boolean' ? p.value : String(p.value)]));
  }

  /** The student part of a request: the architecture, and its width when it is not the zoo's. */
  function studentPayload(): { student: string; studentWidth?: number } | null {
    if (!studentId.value) return null;
    return { student: studentId.value, ...(studentWidth.value !== 1 ? { studentWidth: studentWidth.value } : {}) };
  }

  /**
   * The methods with the engine's verdict for this teacher and student. The hyper-parameters do
   * not depend on the student, so what was typed is kept unless the method can no longer run.
   */
  async function loadMethods(): Promise<void> {
    if (!teacherId.value) return;
    const token = ++methodsRequest;
    try {
      const m = await api.invoke('listMethods', { teacherId: teacherId.value, ...(studentPayload() ?? {}) });
      if (token !== methodsRequest) return;
      const sameDefaults = methods.value.length > 0;
      methods.value = m;
      if (!m.some((x) => x.id === methodId.value && canRun(x))) {
        methodId.value = DEFAULT_METHOD;
        resetValues();
      } else if (!sameDefaults) {
        resetValues();
      }
    } catch (e) {
      if (token === methodsRequest) error.value = toNotice(e);
    }
  }

  /** Loads the zoo sized for this teacher, then the methods judged for it and the default student. */
  async function loadFor(teacher: TeacherInfo): Promise<void> {
    if (teacherId.value === teacher.id && students.value.length && methods.value.length) return;
    loading.value = true;
    error.value = null;
    try {
      const s = await api.invoke('listStudents', { teacherId: teacher.id });
      teacherId.value = teacher.id;
      students.value = s;
      methods.value = [];
      studentWidth.value = 1;
      customStudent.value = null;
      sizeError.value = null;
      if (!s.some((x) => x.id === studentId.value && !x.unsuitable)) studentId.value = defaultStudent(s);
      await loadMethods();
      testData.value = teacher.manifest?.dataset.toLowerCase() === 'mnist' ? { kind: 'mnist' } : { kind: 'none' };
    } catch (e) {
      error.value = toNotice(e);
    } finally {
      loading.value = false;
    }
  }

  /** Asks the host for the chosen architecture at the current width (unless it is the zoo's). */
  async function sizeCustomStudent(): Promise<void> {
    const token = ++sizeRequest;
    sizeError.value = null;
    if (studentWidth.value === 1 || !studentId.value || !teacherId.value) {
      customStudent.value = null;
      sizing.value = false;
      return;
    }
    sizing.value = true;
    try {
      const sized = await api.invoke('sizeStudent', { teacherId: teacherId.value, student: studentId.value, width: studentWidth.value });
      if (token === sizeRequest) customStudent.value = sized;
    } catch (e) {
      if (token === sizeRequest) sizeError.value = toNotice(e);
    } finally {
      if (token === sizeRequest) sizing.value = false;
    }
  }

  async function chooseStudent(id: string): Promise<void> {
    const option = students.value.find((s) => s.id === id);
    if (!option || option.unsuitable || id === studentId.value) return;
    studentId.value = id;
    await sizeCustomStudent();
    await loadMethods();
  }

  /** A custom width for the chosen architecture (1: the zoo's); out-of-range widths are refused. */
  async function setStudentWidth(width: number): Promise<boolean> {
    if (widthProblem(width) || width === studentWidth.value) return false;
    studentWidth.value = width;
    await sizeCustomStudent();
    await loadMethods();
    return true;
  }

  function chooseMethod(id: MethodId): void {
    const info = methods.value.find((m) => m.id === id);
    if (!info || !canRun(info) || id === methodId.value) return;
    methodId.value = id;
    resetValues();
  }

  function setValue(key: string, value: FormValue): void {
    typed.value = { ...typed.value, [key]: value };
  }

  /** The startRun request for the current choices; null while something is missing or invalid. */
  const request = computed<RequestInput<'startRun'> | null>(() => {
    const chosen = studentPayload();
    if (!teacherId.value || !chosen || !studentReady.value || !methodReady.value || !testDataReady.value) return null;
    const data = testData.value;
    return {
      teacherId: teacherId.value,
      ...chosen,
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
    studentWidth,
    customStudent,
    sizing,
    sizeError,
    methodId,
    typed,
    testData,
    loading,
    error,
    zooStudent,
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
    loadMethods,
    chooseStudent,
    setStudentWidth,
    chooseMethod,
    setValue,
    resetValues,
  };
});
