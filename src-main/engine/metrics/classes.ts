/**
 * Class-level sample statistics: teacher–student argmax agreement, per-class coverage of the
 * generated samples (histogram of the teacher's argmax), and the spread of the KD loss across
 * batches (RDSKD paper, Fig. 2). All host-side, float64.
 */
import { DistilleryError } from '../errors.ts';
import { toHostMatrix, type HostMatrix, type MatrixLike } from './linalg.ts';

/** Row-wise argmax of a [N, K] matrix of scores (logits or probabilities: same argmax). Ties → lowest index. */
export function argmaxRows(scores: MatrixLike): Int32Array {
  const m: HostMatrix = toHostMatrix(scores, 'scores');
  const { rows, cols, data } = m;
  if (cols < 1) throw new DistilleryError('BAD_INPUT', 'scores have no columns');
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    let bestV = data[i * cols]!;
    for (let j = 1; j < cols; j++) {
      const v = data[i * cols + j]!;
      if (v > bestV) {
        bestV = v;
        best = j;
      }
    }
    if (Number.isNaN(bestV)) throw new DistilleryError('NUMERIC', `scores row ${i} contains NaN`);
    out[i] = best;
  }
  return out;
}

export interface AgreementResult {
  /** Fraction of samples on which teacher and student pick the same class. */
  rate: number;
  /** Number of agreeing samples. */
  agree: number;
  n: number;
  /** Per teacher-predicted class: agreement rate among samples the teacher assigns to it (null when none). */
  perClass: (number | null)[];
}

/** Teacher–student argmax agreement from two label arrays (length N, classes in [0, numClasses)). */
export function argmaxAgreement(teacherLabels: ArrayLike<number>, studentLabels: ArrayLike<number>, numClasses: number): AgreementResult {
  const n = teacherLabels.length;
  if (studentLabels.length !== n) throw new DistilleryError('BAD_INPUT', `${n} teacher labels but ${studentLabels.length} student labels`);
  if (n === 0) throw new DistilleryError('BAD_INPUT', 'agreement needs at least one sample');
  const hits = new Array<number>(numClasses).fill(0);
  const totals = new Array<number>(numClasses).fill(0);
  let agree = 0;
  for (let i = 0; i < n; i++) {
    const t = teacherLabels[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= numClasses) throw new DistilleryError('BAD_INPUT', `teacher label ${t} at ${i} is outside [0, ${numClasses})`);
    totals[t]!++;
    if (studentLabels[i] === t) {
      agree++;
      hits[t]!++;
    }
  }
  return { rate: agree / n, agree, n, perClass: totals.map((c, k) => (c ? hits[k]! / c : null)) };
}

export interface CoverageResult {
  /** Samples per predicted class. */
  counts: number[];
  /** counts / N. */
  fractions: number[];
  /** Entropy of `fractions` divided by ln K: 1 = perfectly balanced, 0 = every sample in one class. */
  normalisedEntropy: number;
  /** Classes with at least one sample. */
  classesCovered: number;
  /** Smallest and largest class fraction. */
  minFraction: number;
  maxFraction: number;
  n: number;
  classes: number;
}

/** Per-class coverage of a sample set from its predicted labels (the teacher's argmax). */
export function classCoverage(labels: ArrayLike<number>, numClasses: number): CoverageResult {
  const n = labels.length;
  if (n === 0) throw new DistilleryError('BAD_INPUT', 'coverage needs at least one sample');
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new DistilleryError('BAD_INPUT', `coverage needs at least 2 classes, got ${numClasses}`);
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < n; i++) {
    const c = labels[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) throw new DistilleryError('BAD_INPUT', `label ${c} at ${i} is outside [0, ${numClasses})`);
    counts[c]!++;
  }
  const fractions = counts.map((c) => c / n);
  let h = 0;
  for (const f of fractions) if (f > 0) h -= f * Math.log(f);
  return {
    counts,
    fractions,
    normalisedEntropy: h / Math.log(numClasses),
    classesCovered: counts.filter((c) => c > 0).length,
    minFraction: Math.min(...fractions),
    maxFraction: Math.max(...fractions),
    n,
    classes: numClasses,
  };
}

/**
 * KD loss of one batch, in float64: mean over rows of τ²·KL(softmax(T/τ) ‖ softmax(S/τ)) (KL summed
 * over classes) — the same definition as methods/losses.ts `kdLoss` (τ² dropped when `tauSquared`
 * is false).
 */
export function kdLossHost(teacherLogits: MatrixLike, studentLogits: MatrixLike, tau = 1, tauSquared = true): number {
  const t = toHostMatrix(teacherLogits, 'teacher logits');
  const s = toHostMatrix(studentLogits, 'student logits');
  if (t.rows !== s.rows || t.cols !== s.cols) throw new DistilleryError('BAD_INPUT', `logit shapes differ: [${t.rows}, ${t.cols}] vs [${s.rows}, ${s.cols}]`);
  if (!(tau > 0)) throw new DistilleryError('BAD_INPUT', `temperature must be positive, got ${tau}`);
  const k = t.cols;
  const logSoftmax = (data: ArrayLike<number>, off: number, out: Float64Array): void => {
    let mx = -Infinity;
    for (let j = 0; j < k; j++) mx = Math.max(mx, data[off + j]! / tau);
    let z = 0;
    for (let j = 0; j < k; j++) z += Math.exp(data[off + j]! / tau - mx);
    const lz = mx + Math.log(z);
    for (let j = 0; j < k; j++) out[j] = data[off + j]! / tau - lz;
  };
  const lq = new Float64Array(k);
  const lp = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < t.rows; i++) {
    logSoftmax(t.data, i * k, lq);
    logSoftmax(s.data, i * k, lp);
    for (let j = 0; j < k; j++) total += Math.exp(lq[j]!) * (lq[j]! - lp[j]!);
  }
  const kl = total / t.rows;
  return tauSquared ? kl * tau * tau : kl;
}

export interface LossSpread {
  /** Batches summarised. */
  n: number;
  mean: number;
  /** Unbiased variance (N − 1) across batches; 0 for a single batch. */
  variance: number;
  std: number;
  /** std / |mean| (NaN when the mean is 0). */
  coefficientOfVariation: number;
  min: number;
  max: number;
}

/**
 * Spread of a loss across batches (the paper's Fig. 2 plots the KD loss per batch: a generator whose
 * samples vary more gives a noisier student loss). `window` keeps only the last `window` values
 * (e.g. the final epoch), otherwise all are used.
 */
export function lossSpread(values: readonly number[], window?: number): LossSpread {
  const v = window !== undefined ? values.slice(Math.max(values.length - window, 0)) : values;
  const n = v.length;
  if (n === 0) throw new DistilleryError('BAD_INPUT', 'no loss values to summarise');
  if (v.some((x) => !Number.isFinite(x))) throw new DistilleryError('NUMERIC', 'loss values contain NaN or Infinity');
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
  const std = Math.sqrt(variance);
  let min = Infinity;
  let max = -Infinity;
  for (const x of v) {
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return { n, mean, variance, std, coefficientOfVariation: mean !== 0 ? std / Math.abs(mean) : Number.NaN, min, max };
}
