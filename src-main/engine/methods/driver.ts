/**
 * The generic driver: runs any method's phases step by step, and around each step does what is
 * common to all methods — pause / cancel between steps, NaN detection, metrics, progress events,
 * data-free student evaluation and selection, sample grids, checkpoints and resume.
 */
import * as tf from '@tensorflow/tfjs';
import { activeBackend } from '../backend/index.ts';
import { asDistilleryError, DistilleryError } from '../errors.ts';
import { ProgressClock, type ProgressListener } from '../progress.ts';
import type { Position } from '../runs/checkpoint.ts';
import type { MetricRecord, RunStore } from '../runs/store.ts';
import { cancelledError, diffJson, type AnyMethodDefinition, type Json, type MethodContext, type MethodSession, type PhasePlan, type RunControl, type TestSet } from './method.ts';
import { deriveSeed } from './random.ts';

export interface RunMethodOptions {
  definition: AnyMethodDefinition;
  /** The resolved config (resolveConfig). Must equal the store's config when a store is given. */
  config: { seed: number; checkpointEvery: number; sampleEvery: number; evalEvery: number; select: 'last' | 'agreement'; evalSamples?: number };
  context: MethodContext;
  /** Where the run is recorded; without one nothing is written (and nothing can be resumed). */
  store?: RunStore;
  /** Continue from the store's last checkpoint (a run without one starts from the beginning). */
  resume?: boolean;
  control?: RunControl;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Real test data, for logging the student's accuracy only. */
  testSet?: TestSet;
  /** Stop (after a checkpoint) once this many steps ran in this call — for tests and time-boxed runs. */
  maxSteps?: number;
  /** Sees each sample grid (the images; the driver disposes them after) — the app's live gallery. */
  onSamples?: (info: { phase: string; step: number }, images: tf.Tensor4D) => void;
}

export interface RunMethodResult {
  status: 'done' | 'stopped';
  position: Position;
  /** Values of the last step of each phase, and the last evaluation. */
  last: Record<string, Record<string, number>>;
  wallSeconds: number;
}

interface DriverState {
  elapsedSeconds: number;
  bestAgreement: number | null;
  last: Record<string, Record<string, number>>;
}

const EVAL_SEED = 0x5eed;

/** Fraction of held-out generated samples on which teacher and student predict the same class. */
export function agreementOn(x: tf.Tensor4D, teacher: tf.LayersModel, student: tf.LayersModel, batch = 256): number {
  let agree = 0;
  const n = x.shape[0];
  for (let i = 0; i < n; i += batch) {
    const size = Math.min(batch, n - i);
    agree += tf.tidy(() => {
      const xb = tf.slice(x, [i, 0, 0, 0], [size, -1, -1, -1]);
      const t = tf.argMax(teacher.apply(xb, { training: false }) as tf.Tensor, 1);
      const s = tf.argMax(student.apply(xb, { training: false }) as tf.Tensor, 1);
      return tf.sum(tf.cast(tf.equal(t, s), 'float32')).dataSync()[0]!;
    });
  }
  return agree / n;
}

/** Top-1 accuracy of a model on a test set, in batches. */
export function accuracyOn(test: TestSet, model: tf.LayersModel, batch = 500): number {
  let correct = 0;
  const n = test.x.shape[0];
  for (let i = 0; i < n; i += batch) {
    const size = Math.min(batch, n - i);
    correct += tf.tidy(() => {
      const xb = tf.slice(test.x, [i, 0, 0, 0], [size, -1, -1, -1]);
      const yb = tf.slice(test.y, [i], [size]);
      const pred = tf.argMax(model.apply(xb, { training: false }) as tf.Tensor, 1);
      return tf.sum(tf.cast(tf.equal(pred, tf.cast(yb, 'int32')), 'float32')).dataSync()[0]!;
    });
  }
  return correct / n;
}

function nonFinite(values: Record<string, number>): string[] {
  return Object.entries(values)
    .filter(([, v]) => !Number.isFinite(v))
    .map(([k]) => k);
}

/** Names of the models holding a NaN or infinite weight. */
export function nonFiniteWeights(models: Record<string, tf.LayersModel>): string[] {
  return Object.entries(models)
    .filter(([, m]) =>
      tf.tidy(() => {
        const ws = m.weights.map((w) => w.read());
        if (!ws.length) return false;
        const bad = tf.addN(ws.map((w) => tf.sum(tf.cast(tf.logicalNot(tf.isFinite(w)), 'float32'))));
        return bad.dataSync()[0]! > 0;
      }),
    )
    .map(([name]) => name);
}

/**
 * Where step `globalStep` falls in the phases: a checkpoint's position recomputed from its step
 * count, so that a run whose last phase was lengthened after it ended (extendRun) continues that
 * phase instead of finding itself past the end. The same position as the checkpoint's otherwise.
 */
export function positionAt(phases: readonly PhasePlan[], globalStep: number): Position {
  let rest = globalStep;
  let p = 0;
  while (p < phases.length && rest >= phases[p]!.total) rest -= phases[p++]!.total;
  return { phaseIndex: p, step: p < phases.length ? rest : 0, globalStep };
}

function nextPosition(phases: PhasePlan[], p: number, s: number, globalStep: number): Position {
  return s + 1 >= phases[p]!.total ? { phaseIndex: p + 1, step: 0, globalStep } : { phaseIndex: p, step: s + 1, globalStep };
}

/**
 * Runs (or resumes) a method to the end, or until cancelled / maxSteps. Throws DistilleryError:
 * CANCELLED (a checkpoint of the position reached is written first), NUMERIC (a loss became NaN or
 * infinite; nothing is written, so the last good checkpoint stays), IO (from the store).
 */
export async function runMethod(options: RunMethodOptions): Promise<RunMethodResult> {
  const { definition, config, context, store, control, onProgress, testSet } = options;
  const signal = options.signal ?? control?.signal;
  const phases = definition.phases(config);
  const session: MethodSession = definition.create(store && !context.runDir ? { ...context, runDir: store.dir } : context, config);
  const started = performance.now();
  let driver: DriverState = { elapsedSeconds: 0, bestAgreement: null, last: {} };
  let position: Position = { phaseIndex: 0, step: 0, globalStep: 0 };
  const evalSamples = config.evalSamples ?? 512;

  const wall = () => driver.elapsedSeconds + (performance.now() - started) / 1000;
  const stateJson = (): Json => ({ method: session.getState(), driver: { ...driver, elapsedSeconds: wall() } as unknown as Json });
  const checkpoint = async (pos: Position) => {
    if (!store) return;
    // A finite loss can still come with non-finite gradients: never let NaN weights replace the
    // last good checkpoint.
    const bad = nonFiniteWeights(session.models);
    if (bad.length) {
      throw new DistilleryError(
        'NUMERIC',
        `${definition.id}: the ${bad.join(', ')} weights became NaN or infinite before step ${pos.globalStep + 1}`,
        `the last good checkpoint (${store.checkpointInfo()?.position.globalStep ?? 0} steps) is kept; lower the learning rate and start a new run, or resume to retry`,
      );
    }
    await store.saveCheckpoint({ position: pos, state: stateJson(), models: session.models, optimizers: session.optimizers });
  };

  try {
    if (store) {
      const diffs = diffJson(store.record.config, config);
      if (diffs.length) {
        throw new DistilleryError(
          'BAD_INPUT',
          `run ${store.id} was started with a different ${definition.id} configuration (differs in: ${diffs.join(', ')})`,
          'resume it without changing options, or start a new run with the new ones',
        );
      }
    }
    if (store && options.resume) {
      const info = await store.restoreCheckpoint(session.models, session.optimizers);
      if (info) {
        const saved = info.state as unknown as { method: Json; driver: DriverState };
        session.setState(saved.method);
        driver = saved.driver;
        position = positionAt(phases, info.position.globalStep);
      }
    }
    store?.recordSession(activeBackend());
    store?.setStatus('running', { position });

    let stepsThisCall = 0;
    for (let p = position.phaseIndex; p < phases.length; p++) {
      const phase = phases[p]!;
      const clock = new ProgressClock();
      for (let s = p === position.phaseIndex ? position.step : 0; s < phase.total; s++) {
        // Let the event loop run between steps: a steps loop of synchronous kernels would otherwise
        // keep pause/cancel messages and signals (Ctrl+C, the app's buttons) waiting until the end.
        await new Promise<void>((resolveTurn) => setImmediate(resolveTurn));
        if (control?.paused) {
          store?.setStatus('paused');
          await control.waitIfPaused();
          if (!signal?.aborted) store?.setStatus('running');
        }
        if (signal?.aborted) {
          await checkpoint({ phaseIndex: p, step: s, globalStep: position.globalStep });
          store?.setStatus('cancelled');
          throw cancelledError(signal, `${definition.id} ${phase.name} step ${s + 1}/${phase.total}`);
        }
        const { values } = await session.step(p, s);
        const bad = nonFinite(values);
        if (bad.length) {
          throw new DistilleryError(
            'NUMERIC',
            `${definition.id}: ${bad.join(', ')} became ${values[bad[0]!]} at ${phase.name} step ${s + 1}`,
            store?.hasCheckpoint()
              ? `the last good checkpoint (${store.checkpointInfo()?.position.globalStep ?? 0} steps) is kept; lower the learning rate and start a new run, or resume to retry`
              : 'lower the learning rate and start again',
          );
        }
        const globalStep = position.globalStep + 1;
        const isLast = s + 1 === phase.total;
        if (phase.trainsStudent && ((config.evalEvery > 0 && (s + 1) % config.evalEvery === 0) || isLast)) {
          const held = session.samples(evalSamples, deriveSeed(config.seed, EVAL_SEED));
          if (held) {
            values.agreement = agreementOn(held, context.teacher, context.student);
            held.dispose();
            if (config.select === 'agreement' && store && (driver.bestAgreement === null || values.agreement > driver.bestAgreement)) {
              driver.bestAgreement = values.agreement;
              await store.saveModel('student-best', context.student);
            }
          }
          if (testSet) values.testAccuracy = accuracyOn(testSet, context.student);
        }
        const now = Date.now();
        const timing = clock.tick(phase.batchSize, phase.total - s - 1);
        const record: MetricRecord = { globalStep, phase: phase.name, phaseIndex: p, step: s + 1, total: phase.total, time: now, values };
        store?.appendMetrics(record);
        driver.last[phase.name] = values;
        onProgress?.({ task: definition.id, phase: phase.name, step: s + 1, total: phase.total, ...timing, values, time: now });

        if ((store || options.onSamples) && config.sampleEvery > 0 && ((s + 1) % config.sampleEvery === 0 || isLast) && !phase.trainsStudent) {
          const grid = session.samples(64, deriveSeed(config.seed, EVAL_SEED, 1));
          if (grid) {
            try {
              store?.writeSamples(`${phase.name}-${String(s + 1).padStart(6, '0')}`, grid);
              options.onSamples?.({ phase: phase.name, step: s + 1 }, grid);
            } finally {
              grid.dispose();
            }
          }
        }
        position = nextPosition(phases, p, s, globalStep);
        stepsThisCall++;
        const stopNow = options.maxSteps !== undefined && stepsThisCall >= options.maxSteps && !(isLast && p === phases.length - 1);
        if ((s + 1) % config.checkpointEvery === 0 || isLast || stopNow) await checkpoint(position);
        if (stopNow) {
          store?.setStatus('paused', { position });
          return { status: 'stopped', position, last: driver.last, wallSeconds: wall() };
        }
      }
    }

    if (store) {
      const studentDir = await store.saveModel('student', context.student);
      store.writeSummary({
        method: definition.id,
        dataset: store.record.dataset,
        phases: phases.map((ph) => ({ name: ph.name, steps: ph.total, batchSize: ph.batchSize })),
        steps: position.globalStep,
        last: driver.last,
        selection:
          config.select === 'agreement'
            ? { rule: 'highest agreement with the teacher on held-out generated samples', agreement: driver.bestAgreement, model: 'student-best' }
            : { rule: 'last', model: 'student' },
        student: studentDir,
        wallSeconds: wall(),
        backends: store.status.sessions.map((x) => x.backend),
        finishedAt: new Date().toISOString(),
      });
      store.setStatus('done', { position });
    }
    return { status: 'done', position, last: driver.last, wallSeconds: wall() };
  } catch (error) {
    const e = asDistilleryError(error);
    if (store && e.code !== 'CANCELLED') {
      try {
        store.setStatus('failed', { error: e });
      } catch {
        // the original error matters more
      }
    }
    throw e;
  } finally {
    session.dispose();
    store?.close();
  }
}
