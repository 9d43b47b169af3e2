/**
 * Post-training int8 quantization as TFLite's int8 kernels expect it (the scheme of TensorFlow's
 * converter), calibrated without real data: the ranges of the activations come from running the
 * float graph on images the run's generator made.
 *
 * - Activations: per tensor, asymmetric. real = scale·(q − zeroPoint), q ∈ [−128, 127]. The range
 *   is the minimum and maximum seen over all calibration batches (no percentile clipping: students
 *   are small and ReLU ranges are short-tailed), widened to contain 0 so that zero — padding, ReLU's
 *   floor — is exact.
 * - Weights: per output channel, symmetric (zeroPoint 0), q ∈ [−127, 127], scale = max|w|/127.
 * - Biases: int32, per output channel, scale = inputScale·weightScale[c], zeroPoint 0, so the
 *   kernel adds them straight to its int32 accumulator.
 *
 * Rounding is half away from zero, as TFLite's (std::round).
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryError } from '../errors.ts';
import { executeGraph } from './execute.ts';
import type { StudentGraph } from './graph.ts';

export const INT8_MIN = -128;
export const INT8_MAX = 127;

export interface TensorRange {
  min: number;
  max: number;
}

/** What int8 conversion needs from calibration: the float range of every tensor the graph names. */
export interface Int8Calibration {
  /** Keyed by tensor name: the graph input and every node output. */
  ranges: Record<string, TensorRange>;
  /** How the ranges were taken. */
  statistic: 'min-max';
  /** Number of calibration batches and images they held. */
  batches: number;
  samples: number;
}

/** real = scale·(q − zeroPoint). */
export interface AffineQuantization {
  scale: number;
  zeroPoint: number;
}

export function roundHalfAwayFromZero(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** Per-tensor asymmetric int8 parameters for a float range (widened to contain 0). */
export function activationQuantization(range: TensorRange): AffineQuantization {
  if (!Number.isFinite(range.min) || !Number.isFinite(range.max) || range.min > range.max) {
    throw new DistilleryError('BAD_INPUT', `cannot quantize the range [${range.min}, ${range.max}]`);
  }
  const min = Math.min(range.min, 0);
  const max = Math.max(range.max, 0);
  // A tensor that was zero throughout: any positive scale represents it; TFLite rejects scale 0.
  if (max === min) return { scale: 1, zeroPoint: 0 };
  const scale = (max - min) / (INT8_MAX - INT8_MIN);
  // `+ 0`: rounding can give −0, which would print as "-0" in the export's how-to-load line.
  const zeroPoint = clamp(roundHalfAwayFromZero(INT8_MIN - min / scale), INT8_MIN, INT8_MAX) + 0;
  return { scale, zeroPoint };
}

export function quantizeValues(values: ArrayLike<number>, q: AffineQuantization): Int8Array {
  const out = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = clamp(roundHalfAwayFromZero(values[i]! / q.scale) + q.zeroPoint, INT8_MIN, INT8_MAX);
  return out;
}

export function dequantizeValues(values: ArrayLike<number>, q: AffineQuantization): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = q.scale * (values[i]! - q.zeroPoint);
  return out;
}

export interface PerChannelWeights {
  values: Int8Array;
  /** One per channel; zero points are all 0 (symmetric). */
  scales: Float32Array;
}

/**
 * Symmetric per-channel int8 weights. `values` holds `channels` equal blocks, one per channel, in
 * order (the channel is the outermost axis: TFLite's OHWI conv kernels and [out, in] dense weights;
 * a depthwise [1, 1, 1, C] kernel qualifies too, its blocks being single values).
 */
export function quantizeWeightsPerChannel(values: Float32Array, channels: number): PerChannelWeights {
  if (channels <= 0 || values.length % channels !== 0) throw new DistilleryError('BAD_INPUT', `cannot split ${values.length} weights into ${channels} channels`);
  const block = values.length / channels;
  const scales = new Float32Array(channels);
  const out = new Int8Array(values.length);
  for (let c = 0; c < channels; c++) {
    let maxAbs = 0;
    for (let i = c * block; i < (c + 1) * block; i++) maxAbs = Math.max(maxAbs, Math.abs(values[i]!));
    // An all-zero channel quantizes to zeros with any scale; 1 keeps TFLite's scale > 0 check happy.
    const scale = maxAbs > 0 ? maxAbs / INT8_MAX : 1;
    scales[c] = scale;
    for (let i = c * block; i < (c + 1) * block; i++) out[i] = clamp(roundHalfAwayFromZero(values[i]! / scale), -INT8_MAX, INT8_MAX);
  }
  return { values: out, scales };
}

/**
 * int32 biases for an int8 conv/dense: bias[c] / (inputScale·weightScales[c]), saturated. The
 * scales are float32 in the file and the kernels use those, so the product is taken in float32.
 */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: Float32Array): { values: Int32Array; scales: Float32Array } {
  if (bias.length !== weightScales.length) throw new DistilleryError('BAD_INPUT', `${bias.length} biases for ${weightScales.length} weight scales`);
  const scales = new Float32Array(bias.length);
  const values = new Int32Array(bias.length);
  for (let c = 0; c < bias.length; c++) {
    scales[c] = Math.fround(inputScale) * weightScales[c]!;
    values[c] = clamp(roundHalfAwayFromZero(bias[c]! / scales[c]!), -(2 ** 31), 2 ** 31 - 1);
  }
  return { values, scales };
}

/**
 * Ranges of every tensor of the graph over the calibration batches ([n, h, w, c] each, in the
 * student's input scale: generator samples exactly as the student saw them in training), from the
 * float32 reference executor.
 */
export function calibrationFromSamples(graph: StudentGraph, batches: tf.Tensor4D[]): Int8Calibration {
  if (batches.length === 0) throw new DistilleryError('BAD_INPUT', 'int8 calibration needs at least one batch of samples');
  const ranges: Record<string, TensorRange> = {};
  let samples = 0;
  for (const batch of batches) {
    const shape = batch.shape.slice(1);
    if (shape.join() !== graph.inputShape.join()) {
      throw new DistilleryError('BAD_INPUT', `calibration samples are [${shape.join(', ')}] but the model takes [${graph.inputShape.join(', ')}]`);
    }
    samples += batch.shape[0];
    const out = executeGraph(graph, batch, (name, value) => {
      const [min, max] = tf.tidy(() => [tf.min(value).dataSync()[0]!, tf.max(value).dataSync()[0]!]);
      const seen = ranges[name];
      ranges[name] = seen ? { min: Math.min(seen.min, min), max: Math.max(seen.max, max) } : { min, max };
    });
    out.dispose();
  }
  return { ranges, statistic: 'min-max', batches: batches.length, samples };
}
