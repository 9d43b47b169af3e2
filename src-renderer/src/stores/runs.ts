import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { ErrorDto, ExportResultDto, RequestInput, RunDetailDto, RunSummaryDto } from '@common/contract.ts';
import { api } from '@renderer/api/index.ts';
import { toNotice } from '@renderer/lib/errors.ts';
import { chartableKeys } from '@renderer/lib/series.ts';

/** The Export step's choices: a format and precision each, as the exportRun request takes them. */
export const EXPORT_CHOICES = [
  { id: 'tfjs', title: 'TensorFlow.js', detail: 'Layers model, float32 weights, for the browser or Node.', request: { format: 'tfjs' } },
  { id: 'tfjs-float16', title: 'TensorFlow.js float16', detail: 'Half the size; decoded to float32 on load.', request: { format: 'tfjs', float16: true } },
  { id: 'onnx', title: 'ONNX', detail: 'float32, opset 13: onnxruntime and most converters.', request: { format: 'onnx' } },
  { id: 'onnx-int8', title: 'ONNX int8', detail: "QDQ form, which onnxruntime runs with int8 kernels; calibrated on the run's generated images.", request: { format: 'onnx', int8: true } },
  { id: 'tflite', title: 'TFLite float32', detail: 'TensorFlow Lite / LiteRT, for phones and devices.', request: { format: 'tflite' } },
  { id: 'tflite-int8', title: 'TFLite int8', detail: "Up to 4× smaller; calibrated on the run's generated images, no real data.", request: { format: 'tflite', int8: true } },
  {
    id: 'tflite-int8-micro',
    title: 'TFLite int8 · microcontroller',
    detail: 'int8 in and out (TFLite Micro), one scale per tensor, no tensor names: the smallest file.',
    request: { format: 'tflite', int8: true, weightScales: 'per-tensor', int8Io: true, stripStrings: true },
  },
] as const satisfies readonly { id: string; title: string; detail: string; request: Omit<RequestInput<'exportRun'>, 'runId' | 'folder'> }[];

export type ExportChoice = (typeof EXPORT_CHOICES)[number]['id'];

/** The history of runs, comparing two of them, and exporting a finished one's student. */
export const useRunsStore = defineStore('runs', () => {
  const runs = ref<RunSummaryDto[]>([]);
  const loading = ref(false);
  const error = ref<ErrorDto | null>(null);

  /** Up to two runs chosen for comparison, oldest choice first. */
  const compareIds = ref<string[]>([]);
  const details = ref<Record<string, RunDetailDto>>({});
  const compareKey = ref<string | null>(null);
  const compareError = ref<ErrorDto | null>(null);

  const exports = ref<Record<string, ExportResultDto>>({});
  const exporting = ref<string | null>(null);
  const exportError = ref<ErrorDto | null>(null);

  /** Newest first. */
  const sorted = computed(() => [...runs.value].sort((a, b) => b.createdAt.localeCompare(a.createdAt)));
  const finished = computed(() => sorted.value.filter((r) => r.status === 'done'));
  const compared = computed(() => compareIds.value.map((id) => details.value[id]).filter((d): d is RunDetailDto => d !== undefined));
  /** Values both compared runs logged (the first run's if only one is chosen). */
  const compareKeys = computed(() => {
    const [a, b] = compared.value;
    if (!a) return [];
    const keysA = chartableKeys(a.metrics);
    return b ? keysA.filter((k) => chartableKeys(b.metrics).includes(k)) : keysA;
  });

  async function refresh(): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      runs.value = await api.invoke('listRuns', {});
      compareIds.value = compareIds.value.filter((id) => runs.value.some((r) => r.id === id));
    } catch (e) {
      error.value = toNotice(e);
    } finally {
      loading.value = false;
    }
  }

  function pickKey(): void {
    const keys = compareKeys.value;
    if (compareKey.value && keys.includes(compareKey.value)) return;
    compareKey.value = keys.find((k) => k === 'agreement') ?? keys.find((k) => k === 'kd') ?? keys[0] ?? null;
  }

  /** Adds a run to the comparison (the older choice drops out beyond two) or removes it. */
  async function toggleCompare(runId: string): Promise<void> {
    if (compareIds.value.includes(runId)) {
      compareIds.value = compareIds.value.filter((id) => id !== runId);
      pickKey();
      return;
    }
    compareIds.value = [...compareIds.value, runId].slice(-2);
    compareError.value = null;
    try {
      details.value = { ...details.value, [runId]: await api.invoke('getRun', { runId, maxPoints: 1000 }) };
    } catch (e) {
      compareError.value = toNotice(e);
      compareIds.value = compareIds.value.filter((id) => id !== runId);
    }
    pickKey();
  }

  /** The folder the user chose in the system dialog (desktop app); null = the app's data folder. */
  const exportFolder = ref<string | null>(null);

  async function chooseExportFolder(): Promise<void> {
    exportError.value = null;
    try {
      const chosen = await api.invoke('chooseFolder', { purpose: 'export' });
      if (chosen) exportFolder.value = chosen.folder;
    } catch (e) {
      exportError.value = toNotice(e);
    }
  }

  async function exportRun(runId: string, choice: ExportChoice): Promise<ExportResultDto | null> {
    const request = EXPORT_CHOICES.find((c) => c.id === choice)?.request;
    if (!request) throw new Error(`unknown export choice '${choice}'`);
    exporting.value = runId;
    exportError.value = null;
    try {
      const result = await api.invoke('exportRun', { runId, ...request, ...(exportFolder.value ? { folder: exportFolder.value } : {}) });
      exports.value = { ...exports.value, [runId]: result };
      return result;
    } catch (e) {
      exportError.value = toNotice(e);
      return null;
    } finally {
      exporting.value = null;
    }
  }

  return { runs, loading, error, compareIds, details, compareKey, compareError, exports, exporting, exportError, sorted, finished, compared, compareKeys, refresh, toggleCompare, exportRun, exportFolder, chooseExportFolder };
});
