/**
 * A run worker: a child process that runs one distillation job (or one export that computes: int8
 * calibration) and reports over IPC messages.
 * Started by the RunManager (`child_process.fork`); exits when the job ends.
 */
import { asDistilleryError } from '../engine/errors.ts';
import { initBackend } from '../engine/backend/index.ts';
import { exportRun } from '../engine/export/index.ts';
import { expandDottedKeys, RunControl } from '../engine/methods/index.ts';
import { resumeDistillation, startDistillation, type DriveOptions } from '../engine/runs/distill.ts';
import type { FromWorker, ToWorker } from './run-protocol.ts';

const send = (message: FromWorker): void => void process.send?.(message);
const control = new RunControl();

/** Progress goes to the UI at most this often (the run itself logs every step to metrics.jsonl). */
const PROGRESS_INTERVAL_MS = 250;

process.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'job':
      void run(message.job);
      break;
    case 'pause':
      control.pause();
      send({ type: 'paused' });
      break;
    case 'resume':
      control.resume();
      send({ type: 'resumed' });
      break;
    case 'cancel':
      control.cancel('cancelled by the user');
      break;
  }
});

async function run(job: Extract<ToWorker, { type: 'job' }>['job']): Promise<void> {
  if (job.kind === 'export') {
    try {
      await initBackend();
      send({ type: 'exported', result: await exportRun(job.runDir, job.outDir, job.options) });
    } catch (error) {
      send({ type: 'failed', error: asDistilleryError(error).toJSON() });
    } finally {
      process.disconnect?.();
    }
    return;
  }
  let lastSent = 0;
  const hooks: DriveOptions = {
    control,
    onStart: (r) => send({ type: 'started', runId: r.id, runDir: r.dir }),
    onProgress: (event) => {
      const now = Date.now();
      // Throttled, but never a step that carries an evaluation (agreement, test accuracy).
      const evaluated = 'agreement' in event.values || 'testAccuracy' in event.values;
      if (now - lastSent < PROGRESS_INTERVAL_MS && event.step !== event.total && !evaluated) return;
      lastSent = now;
      send({ type: 'progress', event });
    },
    onSamples: (grid) => send({ type: 'samples', grid }),
  };
  try {
    await initBackend();
    const result =
      job.kind === 'start'
        ? await startDistillation({ ...job.request, overrides: expandDottedKeys(job.request.overrides ?? {}) }, hooks)
        : await resumeDistillation(job.runDir, hooks);
    send({ type: 'finished', status: result.status });
  } catch (error) {
    send({ type: 'failed', error: asDistilleryError(error).toJSON() });
  } finally {
    process.disconnect?.();
  }
}
