/**
 * Evaluating a classifier on a labelled dataset: accuracy, per-class accuracy and the confusion
 * matrix (rows = true class, columns = predicted class), streaming batches in inference mode.
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryError } from '../errors.ts';
import { ProgressClock, type ProgressListener } from '../progress.ts';
import { batchCount, iterateBatches } from '../data/batches.ts';
import { Preprocessor } from '../data/preprocess.ts';
import type { ImageSource } from '../data/types.ts';
import { openDataset } from '../data/open.ts';
import type { TeacherManifest } from '../models/manifest.ts';

export interface ClassResult {
  index: number;
  name: string;
  /** Test samples of this class. */
  count: number;
  correct: number;
  /** correct / count (null when the class has no samples). */
  accuracy: number | null;
}

export interface Evaluation {
  dataset: string;
  samples: number;
  correct: number;
  accuracy: number;
  perClass: ClassResult[];
  /** confusion[true][predicted] = count. */
  confusion: number[][];
  seconds: number;
  samplesPerSecond: number;
}

export interface EvaluateOptions {
  batchSize?: number;
  /** Evaluate only the first `limit` samples. */
  limit?: number;
  classNames?: string[];
  onProgress?: ProgressListener;
  task?: string;
}

/** Class indices predicted for a normalised batch (inference mode). */
export function predictClasses(model: tf.LayersModel, x: tf.Tensor4D): Int32Array {
  return tf.tidy(() => {
    const out = model.predict(x) as tf.Tensor;
    return out.argMax(-1).dataSync() as Int32Array;
  }) as unknown as Int32Array;
}

export async function evaluate(model: tf.LayersModel, source: ImageSource, pre: Preprocessor, o: EvaluateOptions = {}): Promise<Evaluation> {
  const batchSize = o.batchSize ?? 500;
  const outShape = model.outputs[0]!.shape;
  const k = outShape[outShape.length - 1] as number;
  if (source.numClasses > k) {
    throw new DistilleryError('BAD_INPUT', `the data has ${source.numClasses} classes but the model tells apart only ${k}`);
  }
  const names = o.classNames ?? source.classNames;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const total = batchCount(source.size, { batchSize, limit: o.limit });
  const clock = new ProgressClock();
  const started = performance.now();
  let step = 0;
  let samples = 0;
  let correct = 0;
  const [h, w, c] = pre.inputShape;
  for (const batch of iterateBatches(source, pre, { batchSize, limit: o.limit })) {
    const x = tf.tensor4d(batch.x, [batch.size, h, w, c]);
    let predicted: Int32Array;
    try {
      predicted = predictClasses(model, x);
    } finally {
      x.dispose();
    }
    for (let i = 0; i < batch.size; i++) {
      const t = batch.y[i]!;
      const p = predicted[i]!;
      confusion[t]![p]!++;
      if (t === p) correct++;
    }
    samples += batch.size;
    step++;
    const { etaSeconds, samplesPerSecond } = clock.tick(batch.size, total - step);
    o.onProgress?.({ task: o.task ?? 'eval', phase: 'eval', step, total, etaSeconds, samplesPerSecond, values: { accuracy: correct / samples }, time: Date.now() });
    // Let other work (IPC, cancellation) run between batches.
    await new Promise((r) => setImmediate(r));
  }
  const seconds = (performance.now() - started) / 1000;
  const perClass: ClassResult[] = confusion.map((row, i) => {
    const count = row.reduce((a, b) => a + b, 0);
    return { index: i, name: names[i] ?? String(i), count, correct: row[i]!, accuracy: count ? row[i]! / count : null };
  });
  return {
    dataset: source.description,
    samples,
    correct,
    accuracy: samples ? correct / samples : 0,
    perClass,
    confusion,
    seconds,
    samplesPerSecond: seconds > 0 ? samples / seconds : 0,
  };
}

/** Plain-text report: accuracy, per-class accuracy, confusion matrix. */
export function formatEvaluation(e: Evaluation): string {
  const pct = (v: number | null): string => (v === null ? '   —  ' : `${(100 * v).toFixed(2).padStart(6)}%`);
  const nameWidth = Math.max(5, ...e.perClass.map((c) => c.name.length));
  const lines = [
    `Accuracy: ${e.accuracy.toFixed(4)} (${e.correct} of ${e.samples}) on ${e.dataset}`,
    `Time: ${e.seconds.toFixed(1)} s (${Math.round(e.samplesPerSecond)} images/s)`,
    '',
    'Per-class accuracy:',
    ...e.perClass.map((c) => `  ${c.name.padEnd(nameWidth)}  ${pct(c.accuracy)}  (${c.correct}/${c.count})`),
    '',
    'Confusion matrix (rows: true class, columns: predicted class):',
  ];
  const cell = Math.max(4, ...e.confusion.flat().map((v) => String(v).length)) + 1;
  lines.push(`  ${''.padEnd(nameWidth)} ${e.perClass.map((c) => c.name.slice(0, cell - 1).padStart(cell)).join('')}`);
  e.confusion.forEach((row, i) => lines.push(`  ${e.perClass[i]!.name.padEnd(nameWidth)} ${row.map((v) => String(v).padStart(cell)).join('')}`));
  return lines.join('\n');
}

/**
 * Evaluates a model (a teacher, or a student distilled from it) on the real test data its teacher's
 * manifest names, with the manifest's preprocessing. `data` overrides the dataset spec (e.g. when
 * the files have moved).
 */
export async function evaluateWithManifest(
  model: tf.LayersModel,
  manifest: TeacherManifest,
  o: EvaluateOptions & { data?: string; split?: 'test' | 'train' } = {},
): Promise<Evaluation> {
  const source = await openDataset(o.data ?? manifest.dataset.name, o.split ?? 'test');
  try {
    const pre = new Preprocessor(source.shape, manifest.inputShape, manifest.preprocessing);
    return await evaluate(model, source, pre, { classNames: manifest.classNames, ...o });
  } finally {
    source.close();
  }
}
