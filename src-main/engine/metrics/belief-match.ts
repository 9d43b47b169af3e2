/**
 * ZSKT's belief-match probe (Micaelli & Storkey 2019, "Zero-shot Knowledge Transfer via
 * Adversarial Belief Matching", §4.4; reference: polo5/ZeroShotKnowledgeTransfer,
 * utils/transition_curves.py): do teacher and student change their minds the same way when an
 * input is pushed from one class towards another?
 *
 * Definition. Take M images x₀ on which teacher T and student S predict the same class i
 * (argmax). For every image and every other class j ≠ i (K − 1 targets), run K_steps steps of plain
 * gradient descent on the image that make the STUDENT predict j:
 *
 *   x_{k+1} = x_k − η · ∇ₓ CE(S(x_k), j)          (S in inference mode; per-image gradient)
 *
 * and record, at every step k = 0 … K_steps − 1 (before its update, as the reference does),
 * p_j^T(x_k) = softmax(T(x_k))_j and p_j^S(x_k) = softmax(S(x_k))_j. The transition curves are these
 * probabilities against k; the mean transition error is
 *
 *   MTE = mean over images, targets j and steps k of |p_j^T(x_k) − p_j^S(x_k)|   ∈ [0, 1].
 *
 * A student that matches the teacher's beliefs along the path gives 0 (a copy of the teacher gives
 * exactly 0). The reference runs 1000 test images, 200 steps, η = 1 (CIFAR-10) and does not balance
 * classes; so neither do we (the images are the first M matching ones in the order given).
 * Where x₀ comes from is the caller's business: test images (what the paper does), a run's
 * generated samples, or — data-free — noise pushed towards each class by the teacher
 * (teacherPushedNoise below).
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryError } from '../errors.ts';
import { collectOutputs, sourceCount, type ImageSource } from './batching.ts';
import { argmaxRows } from './classes.ts';
import type { Figure, Panel } from './plot.ts';

export interface BeliefMatchOptions {
  teacher: tf.LayersModel;
  student: tf.LayersModel;
  /** Candidate starting images (teacher input space); only those both networks put in the same class are used. */
  candidates: ImageSource;
  /** Matching images to use (default 100; fewer when the candidates hold fewer). */
  samples?: number;
  /** Adversarial steps per (image, target) (default 100). */
  steps?: number;
  /** Step size η of the gradient descent on the image (default 1, the reference's CIFAR-10 value). */
  lr?: number;
  /** Rows (image × target pairs) per forward/backward pass (default 256). */
  batchSize?: number;
  signal?: AbortSignal;
  /** Called after each chunk with the rows done and the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface BeliefMatchResult {
  /** Mean |p_j^T − p_j^S| over images, targets and steps. */
  meanTransitionError: number;
  numClasses: number;
  /** Matching images used (M). */
  samples: number;
  /** Candidates looked at, and how many of them both networks put in the same class. */
  candidatesSeen: number;
  candidatesMatching: number;
  /** Images per source class i. */
  perClass: number[];
  steps: number;
  lr: number;
  /** Mean p_j per step over all (image, target) pairs: the aggregated transition curves. */
  curves: { teacher: number[]; student: number[] };
  /** [i][j]: the MTE restricted to images of class i and target j; null where i = j or class i had no image. */
  pairError: (number | null)[][];
  /** [i][j]: mean p_j per step over the images of class i (null as above). */
  pairCurves: { teacher: (number[] | null)[][]; student: (number[] | null)[][] };
}

function checkModels(teacher: tf.LayersModel, student: tf.LayersModel): number {
  const k = teacher.outputs[0]?.shape.at(-1);
  const ks = student.outputs[0]?.shape.at(-1);
  if (!k || k < 2) throw new DistilleryError('BAD_MODEL', `the teacher must output ≥ 2 class logits, it outputs [${teacher.outputs[0]?.shape.join(', ')}]`);
  if (ks !== k) throw new DistilleryError('BAD_MODEL', `the teacher has ${k} classes, the student ${ks}`);
  const ti = teacher.inputs[0]!.shape.slice(1).join('×');
  const si = student.inputs[0]!.shape.slice(1).join('×');
  if (ti !== si) throw new DistilleryError('BAD_MODEL', `the teacher takes ${ti} inputs, the student ${si}`);
  return k;
}

/** The first `n` candidates on which teacher and student predict the same class, with that class. */
export async function matchingImages(
  teacher: tf.LayersModel,
  student: tf.LayersModel,
  candidates: ImageSource,
  n: number,
  options: { batchSize?: number; signal?: AbortSignal } = {},
): Promise<{ x: tf.Tensor4D; classes: number[]; seen: number; matching: number }> {
  const total = sourceCount(candidates);
  const batchSize = options.batchSize ?? 256;
  const kept: tf.Tensor4D[] = [];
  const classes: number[] = [];
  let seen = 0;
  let matching = 0;
  try {
    for (let start = 0; start < total && classes.length < n; start += batchSize) {
      const size = Math.min(batchSize, total - start);
      const images = candidates instanceof tf.Tensor ? tf.slice(candidates, [start, 0, 0, 0], [size, -1, -1, -1]) : await candidates.batch(start, size);
      try {
        const [t, s] = await collectOutputs(images, [(x) => teacher.apply(x, { training: false }) as tf.Tensor2D, (x) => student.apply(x, { training: false }) as tf.Tensor2D], {
          batchSize: size,
          signal: options.signal,
        });
        const lt = argmaxRows(t!);
        const ls = argmaxRows(s!);
        const idx: number[] = [];
        for (let r = 0; r < size; r++) {
          if (lt[r] === ls[r]) {
            matching++;
            if (classes.length + idx.length < n) idx.push(r);
          }
        }
        seen += size;
        if (idx.length) {
          kept.push(tf.gather(images, tf.tensor1d(idx, 'int32')) as tf.Tensor4D);
          for (const r of idx) classes.push(lt[r]!);
        }
      } finally {
        images.dispose();
      }
    }
    if (!classes.length) {
      throw new DistilleryError('BAD_INPUT', `teacher and student agree on none of the ${seen} starting images`, 'use more samples (--samples), or test images (--test-data)');
    }
    const x = kept.length === 1 ? kept[0]! : (tf.concat(kept, 0) as tf.Tensor4D);
    if (kept.length > 1) tf.dispose(kept);
    return { x, classes, seen, matching };
  } catch (error) {
    tf.dispose(kept);
    throw error;
  }
}

/**
 * Data-free starting images: x ~ N(0, 1) in the teacher's input space, image k assigned class
 * k mod K and pushed towards it by `steps` gradient steps on the teacher's cross-entropy (step
 * size `lr`). Filter the result with matchingImages as any other candidates.
 */
export function teacherPushedNoise(teacher: tf.LayersModel, n: number, options: { seed?: number; steps?: number; lr?: number; batchSize?: number } = {}): tf.Tensor4D {
  const shape = teacher.inputs[0]!.shape.slice(1) as number[];
  const k = teacher.outputs[0]!.shape.at(-1)!;
  const steps = options.steps ?? 20;
  const lr = options.lr ?? 0.1;
  const batchSize = options.batchSize ?? 256;
  const parts: tf.Tensor[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    parts.push(
      tf.tidy(() => {
        let x: tf.Tensor4D = tf.randomNormal([size, ...shape] as [number, number, number, number], 0, 1, 'float32', (options.seed ?? 0) + start) as tf.Tensor4D;
        const y = tf.oneHot(tf.tensor1d(Array.from({ length: size }, (_, r) => (start + r) % k), 'int32'), k);
        const grad = tf.grad((xx: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, teacher.apply(xx, { training: false }) as tf.Tensor, undefined, undefined, tf.Reduction.SUM));
        for (let s = 0; s < steps; s++) {
          const next = tf.sub(x, tf.mul(grad(x), lr)) as tf.Tensor4D;
          x.dispose();
          x = next;
        }
        return x;
      }),
    );
  }
  const out = (parts.length === 1 ? parts[0]! : tf.concat(parts, 0)) as tf.Tensor4D;
  if (parts.length > 1) tf.dispose(parts);
  return out;
}

/** Runs the probe; see the module comment. */
export async function beliefMatch(options: BeliefMatchOptions): Promise<BeliefMatchResult> {
  const { teacher, student } = options;
  const k = checkModels(teacher, student);
  const steps = options.steps ?? 100;
  const lr = options.lr ?? 1;
  const chunk = options.batchSize ?? 256;
  if (!Number.isInteger(steps) || steps < 1) throw new DistilleryError('BAD_INPUT', `steps must be a positive integer, got ${steps}`);
  if (!(lr > 0)) throw new DistilleryError('BAD_INPUT', `lr must be positive, got ${lr}`);
  const wanted = options.samples ?? 100;
  const { x: x0, classes, seen, matching } = await matchingImages(teacher, student, options.candidates, wanted, { signal: options.signal });
  try {
    const m = classes.length;
    // One row per (image, target j ≠ i).
    const rowImage: number[] = [];
    const rowTarget: number[] = [];
    for (let a = 0; a < m; a++) {
      for (let c = 1; c < k; c++) {
        rowImage.push(a);
        rowTarget.push((classes[a]! + c) % k);
      }
    }
    const rows = rowImage.length;
    const curveT = new Float64Array(steps);
    const curveS = new Float64Array(steps);
    const pairT = new Float64Array(k * k * steps);
    const pairS = new Float64Array(k * k * steps);
    const pairRows = new Float64Array(k * k);
    const pairErr = new Float64Array(k * k);
    let errSum = 0;
    const studentLoss = (y: tf.Tensor) => (xx: tf.Tensor) =>
      tf.losses.softmaxCrossEntropy(y, student.apply(xx, { training: false }) as tf.Tensor, undefined, undefined, tf.Reduction.SUM) as tf.Scalar;

    for (let start = 0; start < rows; start += chunk) {
      if (options.signal?.aborted) throw new DistilleryError('CANCELLED', 'belief-match probe cancelled');
      const size = Math.min(chunk, rows - start);
      const imgIdx = rowImage.slice(start, start + size);
      const tgt = rowTarget.slice(start, start + size);
      const src = imgIdx.map((a) => classes[a]!);
      for (let r = 0; r < size; r++) pairRows[src[r]! * k + tgt[r]!]!++;
      const y = tf.oneHot(tf.tensor1d(tgt, 'int32'), k);
      const pick = tf.tensor2d(tgt.map((t) => Array.from({ length: k }, (_, c) => (c === t ? 1 : 0))));
      let x = tf.gather(x0, tf.tensor1d(imgIdx, 'int32')) as tf.Tensor4D;
      const grad = tf.grad(studentLoss(y));
      try {
        for (let s = 0; s < steps; s++) {
          const [pt, ps] = tf.tidy(() => [
            tf.sum(tf.mul(tf.softmax(teacher.apply(x, { training: false }) as tf.Tensor2D), pick), 1),
            tf.sum(tf.mul(tf.softmax(student.apply(x, { training: false }) as tf.Tensor2D), pick), 1),
          ]);
          const vt = (await pt!.data()) as Float32Array;
          const vs = (await ps!.data()) as Float32Array;
          tf.dispose([pt!, ps!]);
          for (let r = 0; r < size; r++) {
            const a = vt[r]!;
            const b = vs[r]!;
            errSum += Math.abs(a - b);
            pairErr[src[r]! * k + tgt[r]!]! += Math.abs(a - b);
            curveT[s]! += a;
            curveS[s]! += b;
            const p = (src[r]! * k + tgt[r]!) * steps + s;
            pairT[p]! += a;
            pairS[p]! += b;
          }
          if (s + 1 < steps) {
            const next = tf.tidy(() => tf.sub(x, tf.mul(grad(x), lr)) as tf.Tensor4D);
            x.dispose();
            x = next;
          }
        }
      } finally {
        tf.dispose([x, y, pick]);
      }
      options.onProgress?.(start + size, rows);
    }

    const perClass = new Array<number>(k).fill(0);
    for (const c of classes) perClass[c]!++;
    const pairError: (number | null)[][] = [];
    const pct: (number[] | null)[][] = [];
    const pcs: (number[] | null)[][] = [];
    for (let i = 0; i < k; i++) {
      pairError.push([]);
      pct.push([]);
      pcs.push([]);
      for (let j = 0; j < k; j++) {
        const n = pairRows[i * k + j]!;
        if (i === j || n === 0) {
          pairError[i]!.push(null);
          pct[i]!.push(null);
          pcs[i]!.push(null);
          continue;
        }
        const t = Array.from({ length: steps }, (_, s) => pairT[(i * k + j) * steps + s]! / n);
        const u = Array.from({ length: steps }, (_, s) => pairS[(i * k + j) * steps + s]! / n);
        pairError[i]!.push(pairErr[i * k + j]! / (n * steps));
        pct[i]!.push(t);
        pcs[i]!.push(u);
      }
    }
    return {
      meanTransitionError: errSum / (rows * steps),
      numClasses: k,
      samples: m,
      candidatesSeen: seen,
      candidatesMatching: matching,
      perClass,
      steps,
      lr,
      curves: { teacher: Array.from(curveT, (v) => v / rows), student: Array.from(curveS, (v) => v / rows) },
      pairError,
      pairCurves: { teacher: pct, student: pcs },
    };
  } finally {
    x0.dispose();
  }
}

/**
 * The transition curves as a figure: the aggregated mean p_j (teacher vs student) against the step,
 * then one small panel per (i → j) pair (rows: source class i, columns: target class j).
 */
export function beliefMatchFigure(result: BeliefMatchResult, options: { width?: number; height?: number; title?: string; source?: string; classNames?: string[] } = {}): Figure {
  const width = options.width ?? 1200;
  const height = options.height ?? 700;
  const k = result.numClasses;
  const steps = Array.from({ length: result.steps }, (_, s) => s);
  const teacherColor = [31, 119, 180] as const;
  const studentColor = [214, 39, 40] as const;
  const name = (c: number) => options.classNames?.[c] ?? String(c);
  const gridLeft = 0.44;
  const panels: Panel[] = [
    {
      rect: [0, 0, gridLeft - 0.02, 1],
      title: `all pairs (MTE ${result.meanTransitionError.toFixed(4)})`,
      xLabel: 'adversarial step on the student',
      yLabel: 'mean p_j',
      yRange: [0, 1],
      legend: 'bottom-right',
      series: [
        { label: 'teacher', x: steps, y: result.curves.teacher, color: teacherColor },
        { label: 'student', x: steps, y: result.curves.student, color: studentColor, dashed: true },
      ],
    },
  ];
  const cw = (1 - gridLeft) / k;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const t = result.pairCurves.teacher[i]![j];
      const s = result.pairCurves.student[i]![j];
      panels.push({
        rect: [gridLeft + j * cw, i / k, cw, 1 / k],
        axes: false,
        yRange: [0, 1],
        xRange: [0, Math.max(1, result.steps - 1)],
        series: t && s ? [
          { label: 'teacher', x: steps, y: t, color: teacherColor, width: 1 },
          { label: 'student', x: steps, y: s, color: studentColor, width: 1 },
        ] : [],
        ...(k <= 12 ? { title: `${name(i)}→${name(j)}` } : {}),
      });
    }
  }
  const sub = [
    `${result.samples} images × ${k - 1} targets, ${result.steps} steps of η = ${result.lr} on CE(student, j); p_j before each step`,
    options.source ? `starting images: ${options.source}` : '',
  ].filter(Boolean).join('\n');
  return {
    width,
    height,
    title: options.title ?? 'Belief-match transition curves: teacher (blue) and student (red) p_j; right: source class i → target j',
    subtitle: sub,
    panels,
  };
}
