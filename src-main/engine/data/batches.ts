/**
 * Batches from an ImageSource: indices in order or shuffled (seeded), pixels read per batch and
 * preprocessed into a fresh Float32Array (tfjs backends may keep the array a tensor is made from,
 * so buffers are not reused).
 */
import * as tf from '@tensorflow/tfjs';
import { Preprocessor } from './preprocess.ts';
import { sampleBytes, type ImageSource } from './types.ts';
import { mulberry32 } from '../random.ts';

export interface Batch {
  /** Normalised inputs, [size, h, w, c] flattened. */
  x: Float32Array;
  /** Class indices. */
  y: Int32Array;
  size: number;
  /** Dataset indices of the samples. */
  indices: Int32Array;
}

export function shuffledIndices(n: number, seed: number): Int32Array {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const rand = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  return idx;
}

export interface BatchOptions {
  batchSize: number;
  /** Shuffle with this seed (a different order per seed); omit for dataset order. */
  shuffleSeed?: number;
  /** Drop a last, smaller batch. */
  dropLast?: boolean;
  /** Use only the first `limit` samples (after shuffling). */
  limit?: number;
  /** Use exactly these dataset indices (overrides shuffling and limit). */
  indices?: Int32Array;
}

export function batchCount(size: number, o: BatchOptions): number {
  const n = o.indices ? o.indices.length : Math.min(size, o.limit ?? size);
  return o.dropLast ? Math.floor(n / o.batchSize) : Math.ceil(n / o.batchSize);
}

export function* iterateBatches(source: ImageSource, pre: Preprocessor, o: BatchOptions): Generator<Batch> {
  let order: Int32Array;
  if (o.indices) order = o.indices;
  else {
    order = o.shuffleSeed === undefined ? Int32Array.from({ length: source.size }, (_, i) => i) : shuffledIndices(source.size, o.shuffleSeed);
    if (o.limit !== undefined && o.limit < order.length) order = order.subarray(0, o.limit);
  }
  const bytes = sampleBytes(source.shape);
  const raw = new Uint8Array(o.batchSize * bytes);
  for (let start = 0; start < order.length; start += o.batchSize) {
    const indices = order.slice(start, Math.min(order.length, start + o.batchSize));
    if (o.dropLast && indices.length < o.batchSize) return;
    source.read(indices, raw);
    const y = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) y[i] = source.labels[indices[i]!]!;
    yield { x: pre.apply(raw, indices.length), y, size: indices.length, indices };
  }
}

/** A batch as tensors: x [n, h, w, c] float32, y [n] int32. The caller disposes them. */
export function batchTensors(batch: Batch, pre: Preprocessor): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const [h, w, c] = pre.inputShape;
  return { x: tf.tensor4d(batch.x, [batch.size, h, w, c]), y: tf.tensor1d(batch.y, 'int32') };
}
