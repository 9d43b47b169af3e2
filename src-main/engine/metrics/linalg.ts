/**
 * Float64 host-side linear algebra for the metrics: row-major matrices in plain typed arrays,
 * feature statistics (mean, unbiased covariance) and the trace of the principal square root of a
 * product of two covariance matrices. Eigendecompositions use ml-matrix's symmetric solver
 * (Householder tridiagonalisation + QL, the JAMA/EISPACK tred2/tql2 pair), in float64 — never
 * float32 tf ops, whose rounding swamps the small differences FID is made of. Cost is O(N·D²) for the
 * statistics and O(D³) for the root: D = 84 (LeNet5) takes ~0.2 s, D = 512 (ResNet18) a few seconds.
 */
import * as tf from '@tensorflow/tfjs';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { DistilleryError } from '../errors.ts';

/** A dense row-major matrix on the host. `data.length === rows * cols`. */
export interface HostMatrix {
  rows: number;
  cols: number;
  data: Float64Array | Float32Array;
}

/** What the metric functions accept as a matrix: a host matrix, nested arrays, or a 2-D tensor (read, not disposed). */
export type MatrixLike = HostMatrix | readonly (readonly number[])[] | tf.Tensor2D;

function isHostMatrix(m: unknown): m is HostMatrix {
  return typeof m === 'object' && m !== null && 'rows' in m && 'cols' in m && 'data' in m;
}

/** Any MatrixLike as a HostMatrix (copies nested arrays and tensors; a HostMatrix is returned as is). */
export function toHostMatrix(m: MatrixLike, what = 'matrix'): HostMatrix {
  if (m instanceof tf.Tensor) {
    if (m.rank !== 2) throw new DistilleryError('BAD_INPUT', `${what} must be a 2-D tensor, got shape [${m.shape.join(', ')}]`);
    const data = m.dataSync();
    if (!(data instanceof Float32Array)) throw new DistilleryError('BAD_INPUT', `${what} must be a float32 tensor, got ${m.dtype}`);
    return { rows: m.shape[0], cols: m.shape[1], data: Float32Array.from(data) };
  }
  if (isHostMatrix(m)) {
    if (m.data.length !== m.rows * m.cols) {
      throw new DistilleryError('BAD_INPUT', `${what}: data length ${m.data.length} ≠ ${m.rows} × ${m.cols}`);
    }
    return m;
  }
  const rows = m.length;
  const cols = rows > 0 ? m[0]!.length : 0;
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const row = m[i]!;
    if (row.length !== cols) throw new DistilleryError('BAD_INPUT', `${what}: row ${i} has ${row.length} entries, row 0 has ${cols}`);
    for (let j = 0; j < cols; j++) data[i * cols + j] = row[j]!;
  }
  return { rows, cols, data };
}

/** Throws NUMERIC if any entry is NaN or infinite. */
export function assertFinite(m: HostMatrix, what: string): void {
  for (let i = 0; i < m.data.length; i++) {
    if (!Number.isFinite(m.data[i]!)) {
      throw new DistilleryError('NUMERIC', `${what} has a non-finite entry (${m.data[i]}) at row ${Math.floor(i / m.cols)}`, 'the network produced NaN or Infinity on these samples');
    }
  }
}

/** Mean vector and unbiased (N − 1) covariance of a feature set, in float64. */
export interface FeatureStats {
  /** Number of samples the statistics were computed from. */
  n: number;
  /** Feature dimension. */
  dim: number;
  mean: Float64Array;
  /** dim × dim, row-major, symmetric. */
  cov: Float64Array;
}

/**
 * Mean and unbiased covariance (divisor N − 1, as numpy.cov) of the rows of `features` [N, D].
 * Two passes in float64 (mean first, then centred cross-products), so offsets in the features do
 * not cost precision. N ≥ 2.
 */
export function featureStats(features: MatrixLike): FeatureStats {
  const m = toHostMatrix(features, 'features');
  const { rows: n, cols: d, data } = m;
  if (n < 2) throw new DistilleryError('BAD_INPUT', `a covariance needs at least 2 samples, got ${n}`);
  if (d < 1) throw new DistilleryError('BAD_INPUT', 'features have no columns');
  assertFinite(m, 'features');
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += data[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  const cov = new Float64Array(d * d);
  const c = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) c[j] = data[i * d + j]! - mean[j]!;
    for (let a = 0; a < d; a++) {
      const ca = c[a]!;
      if (ca === 0) continue;
      const base = a * d;
      for (let b = a; b < d; b++) cov[base + b]! += ca * c[b]!;
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = cov[a * d + b]! / (n - 1);
      cov[a * d + b] = v;
      cov[b * d + a] = v;
    }
  }
  return { n, dim: d, mean, cov };
}

function toMlMatrix(data: Float64Array, d: number): Matrix {
  const m = new Matrix(d, d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) m.set(i, j, data[i * d + j]!);
  return m;
}

/** (A + Aᵀ)/2, in place on an ml-matrix. */
function symmetrise(m: Matrix): Matrix {
  const d = m.rows;
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      const v = (m.get(i, j) + m.get(j, i)) / 2;
      m.set(i, j, v);
      m.set(j, i, v);
    }
  }
  return m;
}

/** Eigenvalues of a symmetric matrix (row-major d × d), ascending. */
export function symmetricEigenvalues(a: Float64Array, d: number): number[] {
  const evd = new EigenvalueDecomposition(symmetrise(toMlMatrix(a, d)), { assumeSymmetric: true });
  return [...evd.realEigenvalues].sort((x, y) => x - y);
}

/**
 * Principal square root of a symmetric positive semi-definite matrix: V·diag(√max(λ, 0))·Vᵀ from
 * its symmetric eigendecomposition. Eigenvalues that rounding pushed slightly below zero are
 * clamped to zero. Returns row-major d × d.
 */
export function sqrtmPsd(a: Float64Array, d: number): Float64Array {
  const evd = new EigenvalueDecomposition(symmetrise(toMlMatrix(a, d)), { assumeSymmetric: true });
  const v = evd.eigenvectorMatrix;
  const lambda = evd.realEigenvalues;
  // W = V·diag(λ^¼), row-major; then √A = W·Wᵀ (row dot products, cache-friendly).
  const w = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const q = Math.sqrt(Math.sqrt(Math.max(lambda[k]!, 0)));
    for (let i = 0; i < d; i++) w[i * d + k] = v.get(i, k) * q;
  }
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      let acc = 0;
      for (let k = 0; k < d; k++) acc += w[i * d + k]! * w[j * d + k]!;
      out[i * d + j] = acc;
      out[j * d + i] = acc;
    }
  }
  return out;
}

/** Row-major product of two d × d matrices. */
export function matmul(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j]! += aik * b[k * d + j]!;
    }
  }
  return out;
}

export function trace(a: Float64Array, d: number): number {
  let t = 0;
  for (let i = 0; i < d; i++) t += a[i * d + i]!;
  return t;
}

/** What `traceSqrtProduct` found, for diagnostics. */
export interface TraceSqrtResult {
  /** tr √(Σ1·Σ2). */
  value: number;
  /** Smallest eigenvalue of √Σ1·Σ2·√Σ1 before clamping (slightly negative values are rounding). */
  minEigenvalue: number;
}

/**
 * tr √(Σ1·Σ2) for symmetric PSD Σ1, Σ2, done properly: Σ1·Σ2 is similar to the symmetric PSD
 * matrix M = √Σ1·Σ2·√Σ1 (same eigenvalues), so the principal square root of Σ1·Σ2 has trace
 * Σ_i √λ_i(M). √Σ1 and the eigenvalues of M come from symmetric eigendecompositions; no
 * non-symmetric eigensolver, no complex parts to discard, no ε·I offset needed for singular Σ.
 */
export function traceSqrtProduct(sigma1: Float64Array, sigma2: Float64Array, d: number): TraceSqrtResult {
  const r1 = sqrtmPsd(sigma1, d);
  const m = matmul(matmul(r1, sigma2, d), r1, d);
  const eig = symmetricEigenvalues(m, d);
  let value = 0;
  for (const l of eig) value += Math.sqrt(Math.max(l, 0));
  return { value, minEigenvalue: eig.length ? eig[0]! : 0 };
}
