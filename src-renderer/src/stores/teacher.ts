import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { ErrorDto, OpenTeacherResultDto, RequestInput, TeacherInfo, TeacherManifestInput } from '@common/contract.ts';
import { api, hostKind } from '@renderer/api/index.ts';
import { toDroppedFiles } from '@renderer/lib/files.ts';
import { toNotice } from '@renderer/lib/errors.ts';

export type TeacherDialogSelect = RequestInput<'openTeacher'>['select'];

/** The teacher: the ones known (bundled + imported), the one chosen, imports and manifests. */
export const useTeacherStore = defineStore('teacher', () => {
  const teachers = ref<TeacherInfo[]>([]);
  const current = ref<TeacherInfo | null>(null);
  const loading = ref(false);
  const listError = ref<ErrorDto | null>(null);
  const busy = ref<'import' | 'inspect' | 'manifest' | null>(null);
  /** The last import / inspection failed: shown until the next attempt. */
  const error = ref<ErrorDto | null>(null);
  const manifestError = ref<ErrorDto | null>(null);
  /** Dropped files that were not sent (not part of a model). */
  const skipped = ref<string[]>([]);
  /**
   * Whether "Choose…" opens the system dialog (desktop app: the host reads the files itself) rather
   * than the page's file input (browser mode, or a host that turned out to have no dialog).
   */
  const nativeDialog = ref(hostKind === 'electron');

  const needsManifest = computed(() => current.value !== null && current.value.manifest === null);
  /** A teacher is chosen and has everything a run needs. */
  const ready = computed(() => current.value !== null && current.value.manifest !== null);

  function remember(info: TeacherInfo): void {
    const i = teachers.value.findIndex((t) => t.id === info.id);
    if (i >= 0) teachers.value.splice(i, 1, info);
    else teachers.value.push(info);
    current.value = info;
  }

  async function refresh(): Promise<void> {
    loading.value = true;
    listError.value = null;
    try {
      teachers.value = await api.invoke('listTeachers', {});
      if (current.value) current.value = teachers.value.find((t) => t.id === current.value!.id) ?? current.value;
    } catch (e) {
      listError.value = toNotice(e);
    } finally {
      loading.value = false;
    }
  }

  async function select(teacherId: string): Promise<void> {
    busy.value = 'inspect';
    error.value = null;
    try {
      remember(await api.invoke('inspectTeacher', { teacherId }));
    } catch (e) {
      error.value = toNotice(e);
    } finally {
      busy.value = null;
    }
  }

  /** Sends dropped / picked files to the host, which validates them before storing anything. */
  async function importFiles(files: readonly File[]): Promise<boolean> {
    busy.value = 'import';
    error.value = null;
    skipped.value = [];
    try {
      const dropped = await toDroppedFiles(files);
      skipped.value = dropped.skipped;
      if (!dropped.files.length) {
        error.value = {
          code: 'BAD_MODEL',
          message: files.length
            ? `none of the dropped files (${files.map((f) => f.name).join(', ')}) is part of a TensorFlow.js model`
            : 'nothing was dropped',
          hint: 'drop the model\'s folder, or its model.json together with the .bin weight files',
        };
        return false;
      }
      remember(await api.invoke('importTeacher', { files: dropped.files }));
      return true;
    } catch (e) {
      error.value = toNotice(e);
      return false;
    } finally {
      busy.value = null;
    }
  }

  /**
   * Opens a teacher with the system dialog; the host imports what the user picked. 'unavailable'
   * (no dialog on this host) switches to the page's file input for good.
   */
  async function openWithDialog(select: TeacherDialogSelect): Promise<OpenTeacherResultDto['outcome'] | 'failed'> {
    busy.value = 'import';
    error.value = null;
    skipped.value = [];
    try {
      const result = await api.invoke('openTeacher', { select });
      if (result.outcome === 'imported') remember(result.teacher);
      if (result.outcome === 'unavailable') nativeDialog.value = false;
      return result.outcome;
    } catch (e) {
      error.value = toNotice(e);
      return 'failed';
    } finally {
      busy.value = null;
    }
  }

  async function saveManifest(manifest: TeacherManifestInput): Promise<boolean> {
    if (!current.value) return false;
    busy.value = 'manifest';
    manifestError.value = null;
    try {
      remember(await api.invoke('saveTeacherManifest', { teacherId: current.value.id, manifest }));
      return true;
    } catch (e) {
      manifestError.value = toNotice(e);
      return false;
    } finally {
      busy.value = null;
    }
  }

  function clear(): void {
    current.value = null;
    error.value = null;
    manifestError.value = null;
    skipped.value = [];
  }

  return {
    teachers,
    current,
    loading,
    listError,
    busy,
    error,
    manifestError,
    skipped,
    nativeDialog,
    needsManifest,
    ready,
    refresh,
    select,
    importFiles,
    openWithDialog,
    saveManifest,
    clear,
  };
});
