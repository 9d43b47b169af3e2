/**
 * Messages between the engine host and a run worker (one child process per run, so training never
 * blocks the app's main thread and a crash of a run cannot take the app down).
 */
import type { DistillOptions } from '../engine/runs/distill.ts';
import type { ExportOptions } from '../engine/export/index.ts';
import type { ErrorDto, ExportResultDto, ProgressEventDto, SampleGridDto } from '../common/contract.ts';

export type WorkerJob =
  | { kind: 'start'; request: Omit<DistillOptions, 'overrides'> & { overrides?: Record<string, unknown> } }
  | { kind: 'resume'; runDir: string }
  /** An export that computes (int8 calibration runs the generator and the student), off the app's main thread. */
  | { kind: 'export'; runDir: string; outDir: string; options: ExportOptions };

/** Parent → worker. */
export type ToWorker = { type: 'job'; job: WorkerJob } | { type: 'pause' } | { type: 'resume' } | { type: 'cancel' };

/** Worker → parent. */
export type FromWorker =
  | { type: 'started'; runId: string; runDir: string }
  | { type: 'progress'; event: ProgressEventDto }
  | { type: 'samples'; grid: Omit<SampleGridDto, 'runId'> }
  | { type: 'paused' }
  | { type: 'resumed' }
  | { type: 'finished'; status: 'done' | 'stopped' }
  | { type: 'exported'; result: ExportResultDto }
  | { type: 'failed'; error: ErrorDto };
