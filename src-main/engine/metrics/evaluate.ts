/**
 * One call that measures a set of generated samples the way the RDSKD paper's Table 2 and Fig. 2
 * do, with our substitutes named in every label: IS (teacher classifier unless another is given),
 * FID against reference images (teacher features by default: "FID (teacher features)"),
 * LPIPS-style within-class diversity, per-class coverage, teacher–student agreement, and the spread
 * of the KD loss across batches. Every line carries the sample sizes behind it.
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryError } from '../errors.ts';
import { collectOutputs, sourceCount, type BatchRunOptions, type ImageSource } from './batching.ts';
import { argmaxAgreement, argmaxRows, classCoverage, kdLossHost, lossSpread, type AgreementResult, type CoverageResult, type LossSpread } from './classes.ts';
import { withinClassDiversity, type DiversityResult } from './diversity.ts';
import { frechetDistanceFromStats, type FrechetResult } from './frechet.ts';
import { inceptionScore, type InceptionScoreResult } from './inception.ts';
import { featureStats, type FeatureStats, type HostMatrix } from './linalg.ts';
import { logitsOf, probabilityNetwork, teacherFeatureNetwork, type FeatureNetwork, type ProbabilityNetwork } from './networks.ts';

/** Precomputed reference statistics; `featureLabel` must match the feature network's label. */
export interface ReferenceStats {
  stats: FeatureStats;
  featureLabel: string;
}

export interface EvaluateSamplesOptions extends Omit<BatchRunOptions, 'limit'> {
  /** The generated samples (e.g. generatorSource(G, { count: 2048 })). */
  samples: ImageSource;
  /** The teacher: predicted classes (diversity, coverage, agreement) and, by default, IS and features. */
  teacher: tf.LayersModel;
  /** The student, for agreement and the KD loss across evaluation batches (teacher and student must output logits). */
  student?: tf.LayersModel;
  /** Reference images for the Fréchet distance (e.g. the real test set) or their precomputed statistics. */
  reference?: ImageSource | ReferenceStats;
  /** Use only this many reference images (default: all). */
  referenceLimit?: number;
  /** Feature network for FID and diversity (default: the teacher's penultimate layer). */
  featureNetwork?: FeatureNetwork;
  /** Classifier for IS (default: the teacher). */
  classifier?: ProbabilityNetwork;
  /** IS splits (default 10). */
  splits?: number;
  /** KD temperature for the KD loss across evaluation batches (default 10, RDSKD's). */
  tau?: number;
  /** KD loss per training batch (from the run's history), summarised as the paper's Fig. 2 spread. */
  kdLossHistory?: readonly number[];
  /** Summarise only the last `kdLossWindow` training batches. */
  kdLossWindow?: number;
}

export type MetricKey = 'is' | 'fid' | 'diversity' | 'coverage' | 'agreement' | 'kdLossVarianceEval' | 'kdLossVarianceTrain';

/** One row of a results table. */
export interface MetricLine {
  key: MetricKey;
  /** E.g. "FID (teacher features)". */
  label: string;
  value: number | null;
  /** Spread where the metric has one (IS: std over splits). */
  std?: number;
  /** Generated samples (or batches, for the KD loss lines) behind the value. */
  sampleSize: number;
  /** Reference images behind the value (FID). */
  referenceSize?: number;
  /** What the numbers mean, in a few words. */
  note: string;
}

export interface SampleMetricsReport {
  sampleSize: number;
  referenceSize: number | null;
  featureNetwork: string;
  classifier: string;
  numClasses: number;
  inceptionScore: InceptionScoreResult;
  frechet: FrechetResult | null;
  diversity: DiversityResult;
  coverage: CoverageResult;
  agreement: AgreementResult | null;
  /** KD loss per evaluation batch (τ as given), summarised; null without a student. */
  kdLossEval: (LossSpread & { tau: number; batchSize: number }) | null;
  /** The training history's KD loss, summarised; null when none was given. */
  kdLossTrain: LossSpread | null;
  lines: MetricLine[];
}

/** Feature statistics of a set of images under a feature network, for reuse as ReferenceStats. */
export async function referenceStats(images: ImageSource, featureNetwork: FeatureNetwork, options: BatchRunOptions = {}): Promise<ReferenceStats> {
  const [features] = await collectOutputs(images, [featureNetwork.apply], options);
  return { stats: featureStats(features!), featureLabel: featureNetwork.label };
}

function isReferenceStats(r: ImageSource | ReferenceStats): r is ReferenceStats {
  return !(r instanceof tf.Tensor) && 'stats' in r && 'featureLabel' in r;
}

function rowsSlice(m: HostMatrix, start: number, end: number): HostMatrix {
  return { rows: end - start, cols: m.cols, data: m.data.subarray(start * m.cols, end * m.cols) };
}

/** Measures a set of generated samples; see the module comment. */
export async function evaluateSamples(options: EvaluateSamplesOptions): Promise<SampleMetricsReport> {
  const { samples, teacher, student } = options;
  const n = sourceCount(samples);
  if (n < 2) throw new DistilleryError('BAD_INPUT', `need at least 2 generated samples, got ${n}`);
  const batchSize = options.batchSize ?? 256;
  const featureNet = options.featureNetwork ?? teacherFeatureNetwork(teacher);
  const classifier = options.classifier ?? probabilityNetwork(teacher, { label: 'teacher' });
  const run = { batchSize, signal: options.signal, onProgress: options.onProgress };

  const fns: ((x: tf.Tensor4D) => tf.Tensor2D)[] = [(x) => logitsOf(teacher, x), featureNet.apply, classifier.apply];
  if (student) fns.push((x) => logitsOf(student, x));
  const [teacherLogits, features, probs, studentLogits] = await collectOutputs(samples, fns, run);
  const numClasses = teacherLogits!.cols;

  const teacherLabels = argmaxRows(teacherLogits!);
  const is = inceptionScore(probs!, { splits: options.splits ?? 10 });
  const diversity = withinClassDiversity(features!, teacherLabels, numClasses);
  const coverage = classCoverage(teacherLabels, numClasses);

  let frechet: FrechetResult | null = null;
  let referenceSize: number | null = null;
  if (options.reference) {
    let ref: ReferenceStats;
    if (isReferenceStats(options.reference)) {
      ref = options.reference;
      if (ref.featureLabel !== featureNet.label) {
        throw new DistilleryError('BAD_INPUT', `reference statistics were computed with "${ref.featureLabel}", the samples with "${featureNet.label}"`);
      }
    } else {
      ref = await referenceStats(options.reference, featureNet, { ...run, limit: options.referenceLimit, onProgress: undefined });
    }
    referenceSize = ref.stats.n;
    frechet = frechetDistanceFromStats(featureStats(features!), ref.stats);
  }

  let agreement: AgreementResult | null = null;
  let kdLossEval: SampleMetricsReport['kdLossEval'] = null;
  const tau = options.tau ?? 10;
  if (student && studentLogits) {
    if (studentLogits.cols !== numClasses) throw new DistilleryError('BAD_MODEL', `student has ${studentLogits.cols} classes, teacher ${numClasses}`);
    agreement = argmaxAgreement(teacherLabels, argmaxRows(studentLogits), numClasses);
    const perBatch: number[] = [];
    for (let s = 0; s < n; s += batchSize) {
      const e = Math.min(s + batchSize, n);
      perBatch.push(kdLossHost(rowsSlice(teacherLogits!, s, e), rowsSlice(studentLogits, s, e), tau));
    }
    kdLossEval = { ...lossSpread(perBatch), tau, batchSize };
  }
  const kdLossTrain = options.kdLossHistory?.length ? lossSpread(options.kdLossHistory, options.kdLossWindow) : null;

  const f = featureNet.label;
  const lines: MetricLine[] = [
    { key: 'is', label: `IS (${classifier.label} classifier)`, value: is.mean, std: is.std, sampleSize: n, note: `exp E KL(p(y|x) ‖ p(y)), mean ± std over ${is.splits} splits; 1 … ${numClasses}` },
    {
      key: 'fid',
      label: `FID (${f})`,
      value: frechet?.value ?? null,
      sampleSize: n,
      ...(referenceSize !== null ? { referenceSize } : {}),
      note: frechet ? `Fréchet distance of ${frechet.dim}-d features, generated vs reference; lower is closer` : 'no reference images given',
    },
    {
      key: 'diversity',
      label: `LPIPS-style diversity (${f})`,
      value: diversity.mean,
      sampleSize: n,
      note: `mean ‖f̂_i − f̂_j‖² over ${diversity.pairs} within-class pairs, ${diversity.classesUsed} classes; 0 … 4, higher is more diverse`,
    },
    {
      key: 'coverage',
      label: 'Class coverage (teacher argmax, normalised entropy)',
      value: coverage.normalisedEntropy,
      sampleSize: n,
      note: `${coverage.classesCovered}/${numClasses} classes present; class share ${(coverage.minFraction * 100).toFixed(1)}–${(coverage.maxFraction * 100).toFixed(1)} %`,
    },
  ];
  if (agreement) lines.push({ key: 'agreement', label: 'Teacher–student agreement (argmax)', value: agreement.rate, sampleSize: n, note: `${agreement.agree}/${agreement.n} samples` });
  if (kdLossEval) {
    lines.push({
      key: 'kdLossVarianceEval',
      label: `KD loss variance across evaluation batches (τ = ${tau})`,
      value: kdLossEval.variance,
      sampleSize: n,
      note: `${kdLossEval.n} batches of ≤ ${batchSize}; KD loss ${kdLossEval.mean.toPrecision(4)} ± ${kdLossEval.std.toPrecision(3)}`,
    });
  }
  if (kdLossTrain) {
    lines.push({
      key: 'kdLossVarianceTrain',
      label: 'KD loss variance across training batches',
      value: kdLossTrain.variance,
      sampleSize: kdLossTrain.n,
      note: `${kdLossTrain.n} batches; KD loss ${kdLossTrain.mean.toPrecision(4)} ± ${kdLossTrain.std.toPrecision(3)}`,
    });
  }
  return {
    sampleSize: n,
    referenceSize,
    featureNetwork: f,
    classifier: classifier.label,
    numClasses,
    inceptionScore: is,
    frechet,
    diversity,
    coverage,
    agreement,
    kdLossEval,
    kdLossTrain,
    lines,
  };
}

function fmt(v: number | null, digits = 4): string {
  if (v === null) return '—';
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(digits - 1);
  return v.toFixed(digits);
}

/** The report as a Markdown table (metric, value, samples, note). */
export function formatReport(report: SampleMetricsReport): string {
  const rows = report.lines.map((l) => {
    const value = l.std !== undefined && l.value !== null ? `${fmt(l.value)} ± ${fmt(l.std)}` : fmt(l.value);
    const size = l.key === 'kdLossVarianceTrain' ? `${l.sampleSize} batches` : `n = ${l.sampleSize}${l.referenceSize !== undefined ? `, ref = ${l.referenceSize}` : ''}`;
    return `| ${l.label} | ${value} | ${size} | ${l.note} |`;
  });
  return ['| metric | value | samples | note |', '|---|---|---|---|', ...rows].join('\n');
}
