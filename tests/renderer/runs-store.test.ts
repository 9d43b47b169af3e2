import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { HostError, requestSchemas, type ExportResultDto, type RunSummaryDto } from '@common/contract.ts';
import { point, runDetail } from './fixtures.ts';

const invoke = vi.fn();
vi.mock('@renderer/api/index.ts', () => ({ api: { invoke, on: vi.fn(() => () => {}) }, hostKind: 'browser' }));

const { EXPORT_CHOICES, useRunsStore } = await import('@renderer/stores/runs.ts');
type ExportChoice = import('@renderer/stores/runs.ts').ExportChoice;

function summary(id: string, createdAt: string, status: RunSummaryDto['status']): RunSummaryDto {
  return { id, method: 'rdskd', dataset: 'mnist', student: 'lenet5-half', teacher: 't', createdAt, status, step: 1, total: 2, values: {} };
}

describe('runs store', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    invoke.mockReset();
  });

  it('lists runs newest first, and the finished ones for export', async () => {
    invoke.mockResolvedValue([summary('a', '2026-11-20T10:00:00Z', 'done'), summary('c', '2026-11-22T10:00:00Z', 'cancelled'), summary('b', '2026-11-21T10:00:00Z', 'done')]);
    const store = useRunsStore();
    await store.refresh();
    expect(invoke).toHaveBeenCalledWith('listRuns', {});
    expect(store.sorted.map((r) => r.id)).toEqual(['c', 'b', 'a']);
    expect(store.finished.map((r) => r.id)).toEqual(['b', 'a']);
  });

  it('compares at most two runs, on a curve both logged', async () => {
    const details: Record<string, ReturnType<typeof runDetail>> = {
      a: runDetail({ id: 'a', metrics: [point('student', 1, 10, 0, { kd: 1, agreement: 0.5 })] }),
      b: runDetail({ id: 'b', metrics: [point('student', 1, 10, 0, { kd: 2, agreement: 0.6, testAccuracy: 0.7 })] }),
      c: runDetail({ id: 'c', metrics: [point('joint', 1, 10, 0, { kd: 3, oh: 1 })] }),
    };
    invoke.mockImplementation(async (_name: string, input: { runId: string }) => details[input.runId]);
    const store = useRunsStore();
    await store.toggleCompare('a');
    await store.toggleCompare('b');
    expect(store.compared.map((d) => d.id)).toEqual(['a', 'b']);
    expect(store.compareKeys).toEqual(['agreement', 'kd']);
    expect(store.compareKey).toBe('agreement');
    await store.toggleCompare('c'); // the oldest choice drops out
    expect(store.compareIds).toEqual(['b', 'c']);
    expect(store.compareKeys).toEqual(['kd']);
    expect(store.compareKey).toBe('kd');
    await store.toggleCompare('b');
    expect(store.compareIds).toEqual(['c']);
  });

  it('drops a run that cannot be read from the comparison', async () => {
    invoke.mockRejectedValue(new HostError({ code: 'NOT_FOUND', message: 'there is no run x' }));
    const store = useRunsStore();
    await store.toggleCompare('x');
    expect(store.compareIds).toEqual([]);
    expect(store.compareError?.message).toBe('there is no run x');
  });

  it('exports a run and keeps the result per run', async () => {
    const result: ExportResultDto = {
      dir: '/data/exports/a-tfjs',
      format: 'tfjs',
      precision: 'float32',
      description: 'TensorFlow.js layers model, float32 weights',
      files: [{ name: 'model.json', bytes: 10, role: 'model' }],
      bytes: 10,
      modelBytes: 10,
      note: 'TensorFlow.js 4.x layers format',
      howToLoad: 'tf.loadLayersModel(...)',
    };
    invoke.mockResolvedValueOnce(result);
    const store = useRunsStore();
    const pending = store.exportRun('a', 'tfjs');
    expect(store.exporting).toBe('a');
    expect(await pending).toEqual(result);
    expect(invoke).toHaveBeenCalledWith('exportRun', { runId: 'a', format: 'tfjs' });
    expect(store.exports.a).toEqual(result);
    expect(store.exporting).toBeNull();
    invoke.mockRejectedValueOnce(new HostError({ code: 'NOT_FOUND', message: 'the run has not finished' }));
    expect(await store.exportRun('b', 'tfjs-float16')).toBeNull();
    expect(store.exportError?.message).toBe('the run has not finished');
  });

  it('sends each format choice as its format and precision, into the chosen folder', async () => {
    const store = useRunsStore();
    invoke.mockResolvedValue({});
    const sent = async (choice: ExportChoice): Promise<unknown> => {
      invoke.mockClear();
      await store.exportRun('a', choice);
      return invoke.mock.calls[0]![1];
    };
    expect(EXPORT_CHOICES.map((c) => c.id)).toEqual(['tfjs', 'tfjs-float16', 'onnx', 'onnx-int8', 'tflite', 'tflite-int8', 'tflite-int8-micro']);
    expect(await sent('tfjs-float16')).toEqual({ runId: 'a', format: 'tfjs', float16: true });
    expect(await sent('onnx')).toEqual({ runId: 'a', format: 'onnx' });
    expect(await sent('onnx-int8')).toEqual({ runId: 'a', format: 'onnx', int8: true });
    expect(await sent('tflite')).toEqual({ runId: 'a', format: 'tflite' });
    expect(await sent('tflite-int8')).toEqual({ runId: 'a', format: 'tflite', int8: true });
    expect(await sent('tflite-int8-micro')).toEqual({ runId: 'a', format: 'tflite', int8: true, weightScales: 'per-tensor', int8Io: true, stripStrings: true });
    // Every choice is a request the host's schema accepts.
    for (const c of EXPORT_CHOICES) expect(requestSchemas.exportRun.safeParse({ runId: 'a', ...c.request }).success).toBe(true);
    invoke.mockResolvedValueOnce({ folder: '/picked' });
    await store.chooseExportFolder();
    expect(await sent('tflite-int8')).toEqual({ runId: 'a', format: 'tflite', int8: true, folder: '/picked' });
  });
});
