/**
 * Fréchet distance between two feature sets modelled as Gaussians (FID when the features are
 * Inception pool3; here the features come from a pluggable network, by default the teacher's
 * penultimate layer — see networks.ts):
 *
 *   d² = ‖μ1 − μ2‖² + tr Σ1 + tr Σ2 − 2 · tr √(Σ1·Σ2)
 *
 * μ, Σ: feature means and unbiased (N − 1) covariances, in float64. The trace of the matrix square
 * root is computed through symmetric eigendecompositions (linalg.ts `traceSqrtProduct`).
 */
import { DistilleryError } from '../errors.ts';
import { featureStats, trace, traceSqrtProduct, type FeatureStats, type MatrixLike } from './linalg.ts';

export interface FrechetResult {
  /** The squared Fréchet distance d² (what FID reports), clamped at 0 against rounding. */
  value: number;
  /** ‖μ1 − μ2‖². */
  meanTerm: number;
  /** tr Σ1 + tr Σ2 − 2 tr √(Σ1Σ2). */
  covTerm: number;
  /** tr √(Σ1Σ2). */
  traceSqrt: number;
  /** Smallest eigenvalue of √Σ1·Σ2·√Σ1 before clamping (diagnostic: large negative values mean Σ was not PSD). */
  minEigenvalue: number;
  /** Sample sizes behind the two statistics. */
  n1: number;
  n2: number;
  dim: number;
}

/** Fréchet distance between two Gaussians given by their statistics. */
export function frechetDistanceFromStats(a: FeatureStats, b: FeatureStats): FrechetResult {
  const d = a.dim;
  if (b.dim !== d) throw new DistilleryError('BAD_INPUT', `feature dimensions differ: ${a.dim} vs ${b.dim}`);
  if (a.mean.length !== d || b.mean.length !== d || a.cov.length !== d * d || b.cov.length !== d * d) {
    throw new DistilleryError('BAD_INPUT', 'feature statistics have inconsistent sizes');
  }
  let meanTerm = 0;
  for (let i = 0; i < d; i++) meanTerm += (a.mean[i]! - b.mean[i]!) ** 2;
  const ts = traceSqrtProduct(a.cov, b.cov, d);
  const covTerm = trace(a.cov, d) + trace(b.cov, d) - 2 * ts.value;
  const value = meanTerm + covTerm;
  if (!Number.isFinite(value)) throw new DistilleryError('NUMERIC', `Fréchet distance is not finite (${value})`);
  return { value: Math.max(value, 0), meanTerm, covTerm, traceSqrt: ts.value, minEigenvalue: ts.minEigenvalue, n1: a.n, n2: b.n, dim: d };
}

/** Fréchet distance between two feature sets [N1, D] and [N2, D] (each N ≥ 2). */
export function frechetDistance(features1: MatrixLike, features2: MatrixLike): FrechetResult {
  return frechetDistanceFromStats(featureStats(features1), featureStats(features2));
}

/** Statistics from explicit mean and covariance (nested arrays), e.g. for closed-form checks or saved reference stats. */
export function gaussianStats(mean: readonly number[], cov: readonly (readonly number[])[], n = Number.NaN): FeatureStats {
  const d = mean.length;
  if (cov.length !== d || cov.some((r) => r.length !== d)) throw new DistilleryError('BAD_INPUT', `covariance must be ${d} × ${d}`);
  const c = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) c[i * d + j] = cov[i]![j]!;
  return { n, dim: d, mean: Float64Array.from(mean), cov: c };
}
