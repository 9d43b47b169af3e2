import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { ErrorDto, EventPayloads, MetricPointDto, ProgressEventDto, RequestInput, RunDetailDto, RunStatusDto, SampleGridDto } from '@common/contract.ts';
import { api } from '@renderer/api/index.ts';
import { toNotice } from '@renderer/lib/errors.ts';
import { capPoints, phaseSpans, pointFromProgress, type PhaseSpan } from '@renderer/lib/series.ts';

/** Live points kept for the charts (older ones are thinned beyond this). */
export const MAX_LIVE_POINTS = 6000;

const ACTIVE: readonly RunStatusDto[] = ['created', 'running', 'paused'];

/** The run being watched: started here or opened from the history; live from the host's events. */
export const useRunStore = defineStore('run', () => {
  const runId = ref<string | null>(null);
  const detail = shallowRef<RunDetailDto | null>(null);
  const status = ref<RunStatusDto | null>(null);
  const error = ref<ErrorDto | null>(null);
  /** A request (start, pause, …) that failed: shown beside the controls. */
  const actionError = ref<ErrorDto | null>(null);
  const latest = shallowRef<ProgressEventDto | null>(null);
  const points = shallowRef<MetricPointDto[]>([]);
  const samples = shallowRef<SampleGridDto | null>(null);
  const busy = ref<'start' | 'pause' | 'resume' | 'cancel' | 'load' | 'extend' | null>(null);
  let spans: PhaseSpan[] = [];
  let unsubscribe: (() => void) | null = null;

  const active = computed(() => status.value !== null && ACTIVE.includes(status.value));
  const canPause = computed(() => status.value === 'running');
  // 'interrupted': the process that ran it was killed; its last checkpoint continues it.
  const canResume = computed(() => status.value === 'paused' || status.value === 'cancelled' || status.value === 'failed' || status.value === 'interrupted');
  const canCancel = computed(() => status.value === 'running' || status.value === 'paused');
  /** A run no process holds, whose method can be lengthened (a paused one is still held: cancel it first). */
  const canExtend = computed(() => !!detail.value?.extendable.length && ['done', 'cancelled', 'failed', 'interrupted'].includes(status.value ?? ''));
  /** Overall progress over all phases, 0–1 (from the run's plan once known, else the current phase). */
  const overall = computed(() => {
    const total = detail.value?.total ?? 0;
    const last = points.value[points.value.length - 1];
    if (total > 0 && last) return Math.min(1, last.globalStep / total);
    if (total > 0 && detail.value) return Math.min(1, detail.value.step / total);
    const ev = latest.value;
    return ev && ev.total > 0 ? ev.step / ev.total : 0;
  });
  const globalStep = computed(() => points.value[points.value.length - 1]?.globalStep ?? detail.value?.step ?? 0);

  function reset(id: string | null): void {
    runId.value = id;
    detail.value = null;
    status.value = null;
    error.value = null;
    actionError.value = null;
    latest.value = null;
    points.value = [];
    samples.value = null;
    spans = [];
  }

  function onProgress(event: EventPayloads['progress']): void {
    if (!runId.value || event.runId !== runId.value) return;
    const { runId: _id, ...progress } = event;
    latest.value = progress;
    const point = pointFromProgress(progress, spans);
    const last = points.value[points.value.length - 1];
    if (last && last.globalStep >= point.globalStep) return; // already known (e.g. from getRun)
    points.value = capPoints([...points.value, point], MAX_LIVE_POINTS);
    if (status.value === null || status.value === 'created') status.value = 'running';
  }

  function onStatus(event: EventPayloads['runStatus']): void {
    if (!runId.value || event.runId !== runId.value) return;
    status.value = event.status;
    error.value = event.error && event.status !== 'cancelled' ? event.error : null;
    // Evaluations between throttled progress events, the final numbers: read the run's record.
    if (!ACTIVE.includes(event.status) || event.status === 'paused') void load(event.runId, { quiet: true });
  }

  function onSamples(grid: EventPayloads['samples']): void {
    if (runId.value && grid.runId === runId.value) samples.value = grid;
  }

  /** Subscribes to the host's run events (once). */
  function listen(): () => void {
    if (!unsubscribe) {
      const offs = [api.on('progress', onProgress), api.on('runStatus', onStatus), api.on('samples', onSamples)];
      unsubscribe = () => {
        offs.forEach((off) => off());
        unsubscribe = null;
      };
    }
    return unsubscribe;
  }

  /** Reads a run's record (config, logged values, latest samples) and watches it from there. */
  async function load(id: string, options: { quiet?: boolean } = {}): Promise<void> {
    if (id !== runId.value) reset(id);
    if (!options.quiet) busy.value = 'load';
    try {
      const run = await api.invoke('getRun', { runId: id, maxPoints: 2000 });
      if (runId.value !== id) return;
      detail.value = run;
      status.value = run.status;
      error.value = run.error && run.status !== 'cancelled' ? run.error : null;
      // Keep live points newer than the record (events that arrived while it was read).
      const newest = run.metrics[run.metrics.length - 1]?.globalStep ?? 0;
      points.value = capPoints([...run.metrics, ...points.value.filter((p) => p.globalStep > newest)], MAX_LIVE_POINTS);
      spans = phaseSpans(points.value);
      if (run.samples && (!samples.value || run.samples.step >= samples.value.step || run.samples.phase !== samples.value.phase)) samples.value = run.samples;
    } catch (e) {
      if (!options.quiet) error.value = toNotice(e);
    } finally {
      if (!options.quiet) busy.value = null;
    }
  }

  async function start(request: RequestInput<'startRun'>): Promise<boolean> {
    listen();
    busy.value = 'start';
    actionError.value = null;
    try {
      const { runId: id } = await api.invoke('startRun', request);
      reset(id);
      status.value = 'running';
      await load(id, { quiet: true });
      return true;
    } catch (e) {
      actionError.value = toNotice(e);
      return false;
    } finally {
      busy.value = null;
    }
  }

  /** One of the dashboard's actions on the current run: `busy` while it runs, its error shown, not thrown. */
  async function act(kind: NonNullable<typeof busy.value>, action: (id: string) => Promise<void>): Promise<void> {
    if (!runId.value) return;
    busy.value = kind;
    actionError.value = null;
    try {
      await action(runId.value);
    } catch (e) {
      actionError.value = toNotice(e);
    } finally {
      busy.value = null;
    }
  }

  const control = (action: 'pause' | 'cancel'): Promise<void> =>
    act(action, async (id) => {
      const answer = await api.invoke('controlRun', { runId: id, action });
      if (answer.runId === runId.value && action === 'pause' && status.value === 'running') status.value = answer.status;
    });

  /** Follows a run that a request has just set going again. */
  async function followAgain(id: string): Promise<void> {
    if (id !== runId.value) reset(id);
    error.value = null;
    status.value = 'running';
    await load(id, { quiet: true });
  }

  /** Continues a paused run in place, or a cancelled / failed / interrupted one from its last checkpoint. */
  const resume = (): Promise<void> =>
    act('resume', async (id) => {
      if (status.value === 'paused') {
        try {
          await api.invoke('controlRun', { runId: id, action: 'resume' });
          return;
        } catch (e) {
          // Not in a live process any more (stopped after a checkpoint): continue from the checkpoint.
          if (toNotice(e).code !== 'NOT_FOUND') throw e;
        }
      }
      await followAgain((await api.invoke('resumeRun', { runId: id })).runId);
    });

  /** Lengthens the run (extendRun: `key` raised to `value`) and follows it as it continues. */
  const extend = (key: string, value: number): Promise<void> =>
    act('extend', async (id) => {
      await api.invoke('extendRun', { runId: id, set: { [key]: value } });
      await followAgain(id);
    });

  return {
    runId,
    detail,
    status,
    error,
    actionError,
    latest,
    points,
    samples,
    busy,
    active,
    canPause,
    canResume,
    canCancel,
    canExtend,
    overall,
    globalStep,
    listen,
    load,
    start,
    pause: () => control('pause'),
    cancel: () => control('cancel'),
    resume,
    extend,
    reset,
  };
});
