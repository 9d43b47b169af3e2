/**
 * Inception Score (Salimans et al. 2016), computed from a probability matrix p(y|x) [N, K] produced
 * by any classifier (the teacher by default; see networks.ts):
 *
 *   IS = exp( mean_x KL( p(y|x) ‖ p(y) ) ),   p(y) = mean_x p(y|x) over the split,
 *
 * evaluated on `splits` consecutive parts of the samples (part i = rows ⌊i·N/s⌋ … ⌊(i+1)·N/s⌋ − 1,
 * exactly as the reference OpenAI code slices them) and reported as mean ± std (population std,
 * numpy's default) over the parts. Computed in float64 with 0·log 0 = 0, through the identity
 * mean_x KL(p(y|x) ‖ p(y)) = H(p(y)) − mean_x H(p(y|x)).
 * Bounds: 1 (every sample predicted alike) ≤ IS ≤ K (confident, balanced predictions).
 */
import { DistilleryError } from '../errors.ts';
import { toHostMatrix, type HostMatrix, type MatrixLike } from './linalg.ts';

export interface InceptionScoreOptions {
  /** Number of splits (default 10, as in the reference; clamped to N when N is smaller). */
  splits?: number;
  /** How far a row may sum from 1 before it is rejected as "not probabilities" (default 1e-3). */
  sumTolerance?: number;
}

export interface InceptionScoreResult {
  /** Mean IS over the splits. */
  mean: number;
  /** Population standard deviation over the splits (0 for a single split). */
  std: number;
  /** IS of each split. */
  perSplit: number[];
  splits: number;
  /** Number of samples used. */
  n: number;
  /** Number of classes. */
  classes: number;
}

/** Entropy (nats) of one probability row, with 0·log 0 = 0. */
function rowEntropy(data: ArrayLike<number>, offset: number, k: number): number {
  let h = 0;
  for (let j = 0; j < k; j++) {
    const p = data[offset + j]!;
    if (p > 0) h -= p * Math.log(p);
  }
  return h;
}

/** Checks that every row is a probability vector (non-negative, sums to 1 within tolerance). */
export function assertProbabilities(m: HostMatrix, tolerance = 1e-3, what = 'probabilities'): void {
  const { rows, cols, data } = m;
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const p = data[i * cols + j]!;
      if (!(p >= 0) || !Number.isFinite(p)) {
        throw new DistilleryError('BAD_INPUT', `${what}: row ${i} has entry ${p}`, 'pass probabilities (softmax outputs), not logits');
      }
      s += p;
    }
    if (Math.abs(s - 1) > tolerance) {
      throw new DistilleryError('BAD_INPUT', `${what}: row ${i} sums to ${s}, not 1`, 'pass probabilities (softmax outputs), not logits');
    }
  }
}

/** Inception Score of a probability matrix [N, K]; see the module comment. */
export function inceptionScore(probabilities: MatrixLike, options: InceptionScoreOptions = {}): InceptionScoreResult {
  const m = toHostMatrix(probabilities, 'probabilities');
  const { rows: n, cols: k, data } = m;
  if (n < 1) throw new DistilleryError('BAD_INPUT', 'Inception Score needs at least one sample');
  if (k < 2) throw new DistilleryError('BAD_INPUT', `Inception Score needs at least 2 classes, got ${k}`);
  assertProbabilities(m, options.sumTolerance ?? 1e-3);
  const requested = options.splits ?? 10;
  if (!Number.isInteger(requested) || requested < 1) throw new DistilleryError('BAD_INPUT', `splits must be a positive integer, got ${requested}`);
  const splits = Math.min(requested, n);

  const perSplit: number[] = [];
  const marginal = new Float64Array(k);
  for (let s = 0; s < splits; s++) {
    const start = Math.floor((s * n) / splits);
    const end = Math.floor(((s + 1) * n) / splits);
    const count = end - start;
    marginal.fill(0);
    let meanEntropy = 0;
    for (let i = start; i < end; i++) {
      const off = i * k;
      // Renormalise each row in float64 so float32 rounding of the sum does not bias the KL.
      let rowSum = 0;
      for (let j = 0; j < k; j++) rowSum += data[off + j]!;
      let h = 0;
      for (let j = 0; j < k; j++) {
        const p = data[off + j]! / rowSum;
        marginal[j]! += p;
        if (p > 0) h -= p * Math.log(p);
      }
      meanEntropy += h;
    }
    meanEntropy /= count;
    for (let j = 0; j < k; j++) marginal[j]! /= count;
    const klMean = rowEntropy(marginal, 0, k) - meanEntropy;
    // KL is ≥ 0; a tiny negative value is rounding.
    perSplit.push(Math.exp(Math.max(klMean, 0)));
  }
  const mean = perSplit.reduce((a, b) => a + b, 0) / splits;
  const std = Math.sqrt(perSplit.reduce((a, b) => a + (b - mean) ** 2, 0) / splits);
  return { mean, std, perSplit, splits, n, classes: k };
}
