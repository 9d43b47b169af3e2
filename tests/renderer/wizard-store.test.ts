import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { methods, students, teacherInfo } from './fixtures.ts';

const invoke = vi.fn();
vi.mock('@renderer/api/index.ts', () => ({ api: { invoke, on: vi.fn(() => () => {}) }, hostKind: 'browser' }));

const { useWizardStore } = await import('@renderer/stores/wizard.ts');
const { useTeacherStore } = await import('@renderer/stores/teacher.ts');
const { useSettingsStore } = await import('@renderer/stores/settings.ts');

describe('wizard store', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    invoke.mockReset();
  });

  const blocked = (): Record<string, string | null> => Object.fromEntries(useWizardStore().steps.map((s) => [s.id, s.blocked]));

  it('opens the steps in order as the choices are made', async () => {
    const wizard = useWizardStore();
    expect(wizard.view).toBe('teacher');
    expect(blocked()).toMatchObject({ teacher: null, student: 'choose a teacher first', run: expect.any(String), runs: null, export: null });
    expect(wizard.go('student')).toBe(false);
    expect(wizard.view).toBe('teacher');

    const teacher = useTeacherStore();
    invoke.mockResolvedValueOnce(teacherInfo({ manifest: null }));
    await teacher.select('t');
    expect(blocked().student).toMatch(/describe the teacher/);

    invoke.mockResolvedValueOnce(teacherInfo());
    await teacher.select('t');
    invoke.mockImplementation(async (name: string) => (name === 'listStudents' ? students() : methods()));
    await useSettingsStore().loadFor(teacher.current!);
    expect(blocked()).toMatchObject({ student: null, method: null, run: null });
    expect(wizard.go('method')).toBe(true);
    expect(wizard.previous?.id).toBe('student');
    expect(wizard.next?.id).toBe('run');
    expect(wizard.go('machine')).toBe(true);
    expect(wizard.next).toBeNull();
  });
});
