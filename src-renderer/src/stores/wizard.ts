import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { useTeacherStore } from './teacher.ts';
import { useSettingsStore } from './settings.ts';
import { useRunStore } from './run.ts';

export type StepId = 'teacher' | 'student' | 'method' | 'run' | 'runs' | 'export';
export type ViewId = StepId | 'machine';

export interface StepInfo {
  id: StepId;
  number: number;
  title: string;
  /** Why the step cannot be entered yet, if it cannot. */
  blocked: string | null;
}

export const STEP_TITLES: Record<StepId, string> = {
  teacher: 'Teacher',
  student: 'Student',
  method: 'Method',
  run: 'Run',
  runs: 'Runs',
  export: 'Export',
};

const ORDER: StepId[] = ['teacher', 'student', 'method', 'run', 'runs', 'export'];

/** Which view is shown, and which wizard steps can be entered given what has been chosen. */
export const useWizardStore = defineStore('wizard', () => {
  const view = ref<ViewId>('teacher');
  const teacher = useTeacherStore();
  const settings = useSettingsStore();
  const run = useRunStore();

  const steps = computed<StepInfo[]>(() =>
    ORDER.map((id, i) => {
      let blocked: string | null = null;
      if (id === 'student' || id === 'method') {
        if (!teacher.current) blocked = 'choose a teacher first';
        else if (!teacher.ready) blocked = 'describe the teacher (preprocessing, class names) first';
        else if (id === 'method' && !settings.studentReady) blocked = 'choose a student first';
      }
      if (id === 'run' && !run.runId && !settings.request) blocked = 'choose a teacher, a student and a method first';
      return { id, number: i + 1, title: STEP_TITLES[id], blocked };
    }),
  );

  function go(target: ViewId): boolean {
    if (target !== 'machine' && steps.value.find((s) => s.id === target)?.blocked) return false;
    view.value = target;
    return true;
  }

  const next = computed<StepInfo | null>(() => {
    const i = ORDER.indexOf(view.value as StepId);
    return i >= 0 && i < ORDER.length - 1 ? steps.value[i + 1]! : null;
  });
  const previous = computed<StepInfo | null>(() => {
    const i = ORDER.indexOf(view.value as StepId);
    return i > 0 ? steps.value[i - 1]! : null;
  });

  return { view, steps, next, previous, go };
});
