/**
 * LPIPS-style diversity of generated samples, within each predicted class.
 *
 * Definition. Let f_i ∈ ℝ^D be the features of sample i (from the feature network, flattened) and
 * f̂_i = f_i / max(‖f_i‖₂, ε) its unit-normalised version (ε = 1e-10, as LPIPS normalises its
 * channels; an all-zero feature vector stays zero). The distance of a pair is the squared Euclidean
 * distance of the normalised features,
 *
 *   δ(i, j) = ‖f̂_i − f̂_j‖₂²  (= 2 − 2·cos(f_i, f_j) for non-zero features; range [0, 4]),
 *
 * i.e. LPIPS's distance with a single feature layer, unit weights and no spatial axes. For each
 * class c (the classifier's argmax) with n_c ≥ 2 samples, D_c is the mean of δ over all
 * n_c(n_c − 1)/2 unordered pairs of distinct samples of class c. The reported diversity is the
 * unweighted mean of D_c over classes with at least two samples (`mean`); `pairWeightedMean`
 * averages over all within-class pairs instead. Identical images give 0; larger is more diverse.
 *
 * Computed exactly in O(n_c·D) per class with Σ_{i<j} ‖a_i − a_j‖² = n·Σ‖a_i‖² − ‖Σ a_i‖², in
 * float64 — no pair loop, so mode-collapsed classes with thousands of samples cost nothing extra.
 */
import { DistilleryError } from '../errors.ts';
import { assertFinite, toHostMatrix, type MatrixLike } from './linalg.ts';

export const NORMALISE_EPS = 1e-10;

export interface ClassDiversity {
  cls: number;
  /** Samples predicted as this class. */
  count: number;
  /** Unordered pairs used (count·(count − 1)/2). */
  pairs: number;
  /** Mean pair distance D_c, or null when the class has fewer than two samples. */
  meanDistance: number | null;
}

export interface DiversityResult {
  /** Unweighted mean of D_c over classes with ≥ 2 samples; null when there is none. */
  mean: number | null;
  /** Mean over all within-class pairs. */
  pairWeightedMean: number | null;
  perClass: ClassDiversity[];
  /** Samples used. */
  n: number;
  /** Within-class pairs in total. */
  pairs: number;
  /** Classes that contributed (≥ 2 samples). */
  classesUsed: number;
}

/**
 * LPIPS-style within-class diversity of `features` [N, D], classes given by `labels` (length N,
 * integers in [0, numClasses)). See the module comment for the exact definition.
 */
export function withinClassDiversity(features: MatrixLike, labels: ArrayLike<number>, numClasses: number): DiversityResult {
  const m = toHostMatrix(features, 'features');
  const { rows: n, cols: d, data } = m;
  if (labels.length !== n) throw new DistilleryError('BAD_INPUT', `${labels.length} labels for ${n} feature rows`);
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new DistilleryError('BAD_INPUT', `numClasses must be a positive integer, got ${numClasses}`);
  assertFinite(m, 'features');
  const sums = new Float64Array(numClasses * d);
  const sqNorms = new Float64Array(numClasses);
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < n; i++) {
    const c = labels[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) throw new DistilleryError('BAD_INPUT', `label ${c} at ${i} is outside [0, ${numClasses})`);
    let norm = 0;
    for (let j = 0; j < d; j++) norm += data[i * d + j]! ** 2;
    norm = Math.sqrt(norm);
    const scale = 1 / Math.max(norm, NORMALISE_EPS);
    let sq = 0;
    for (let j = 0; j < d; j++) {
      const v = data[i * d + j]! * scale;
      sums[c * d + j]! += v;
      sq += v * v;
    }
    sqNorms[c]! += sq;
    counts[c]!++;
  }
  const perClass: ClassDiversity[] = [];
  let classSum = 0;
  let classesUsed = 0;
  let totalDist = 0;
  let totalPairs = 0;
  for (let c = 0; c < numClasses; c++) {
    const count = counts[c]!;
    const pairs = (count * (count - 1)) / 2;
    if (count < 2) {
      perClass.push({ cls: c, count, pairs: 0, meanDistance: null });
      continue;
    }
    let s2 = 0;
    for (let j = 0; j < d; j++) s2 += sums[c * d + j]! ** 2;
    const sumDist = Math.max(count * sqNorms[c]! - s2, 0);
    const meanDistance = sumDist / pairs;
    perClass.push({ cls: c, count, pairs, meanDistance });
    classSum += meanDistance;
    classesUsed++;
    totalDist += sumDist;
    totalPairs += pairs;
  }
  return {
    mean: classesUsed ? classSum / classesUsed : null,
    pairWeightedMean: totalPairs ? totalDist / totalPairs : null,
    perClass,
    n,
    pairs: totalPairs,
    classesUsed,
  };
}
