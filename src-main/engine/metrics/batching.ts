/**
 * Batched evaluation of large sample sets: images go through the networks `batchSize` at a time and
 * only the small per-sample outputs (features, probabilities, logits) are kept, on the host, as
 * float32 rows. Nothing of a batch outlives it on the tf side, so thousands of images cost no more
 * tf memory than one batch.
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryError } from '../errors.ts';
import type { HostMatrix } from './linalg.ts';

/**
 * Images produced on demand: `batch(start, size)` returns images start … start + size − 1 as
 * [size, H, W, C]. Ownership of the returned tensor passes to the caller (it is disposed after use).
 */
export interface ImageBatches {
  count: number;
  batch(start: number, size: number): tf.Tensor4D | Promise<tf.Tensor4D>;
}

/** A set of images: one tensor (sliced, never disposed here) or a batch producer. */
export type ImageSource = tf.Tensor4D | ImageBatches;

export function sourceCount(source: ImageSource): number {
  return source instanceof tf.Tensor ? source.shape[0] : source.count;
}

/** Images start … start + size − 1 of a source, as a tensor the caller disposes. */
function batchOf(source: ImageSource, start: number, size: number): tf.Tensor4D | Promise<tf.Tensor4D> {
  if (source instanceof tf.Tensor) return tf.slice(source, [start, 0, 0, 0], [size, -1, -1, -1]);
  return source.batch(start, size);
}

export interface GeneratorSourceOptions {
  /** Number of images to generate. */
  count: number;
  /** Seed of the latent draws (batch b uses seed + b, so results do not depend on batching order). */
  seed?: number;
}

/**
 * Images from a generator model G: z ~ N(0, 1)^latent, x = G(z) in inference mode (BatchNorm on
 * running statistics, as RDSKD's phase 2 uses it). Latent size is read from G's input shape.
 * Each request draws its latents from `seed + start`, so a given `start` always yields the same images.
 */
export function generatorSource(generator: tf.LayersModel, options: GeneratorSourceOptions): ImageBatches {
  const shape = generator.inputs[0]!.shape;
  const latent = shape[shape.length - 1];
  if (shape.length !== 2 || !latent) throw new DistilleryError('BAD_MODEL', `generator ${generator.name} must take a latent vector [batch, d], takes [${shape.join(', ')}]`);
  const seed = options.seed ?? 0;
  return {
    count: options.count,
    batch: (start, size) =>
      tf.tidy(() => {
        const z = tf.randomNormal([size, latent], 0, 1, 'float32', seed + start);
        const x = generator.apply(z, { training: false }) as tf.Tensor;
        if (x.rank !== 4) throw new DistilleryError('BAD_MODEL', `generator ${generator.name} must output images [batch, H, W, C]`);
        return x as tf.Tensor4D;
      }),
  };
}

/** Appends float32 rows of unknown width, growing as needed. */
class RowCollector {
  private data = new Float32Array(0);
  private rows = 0;
  cols = -1;
  constructor(private readonly expectedRows: number) {}

  append(values: Float32Array | Int32Array | Uint8Array, batchRows: number): void {
    const cols = batchRows ? values.length / batchRows : 0;
    if (this.cols < 0) {
      this.cols = cols;
      this.data = new Float32Array(this.expectedRows * cols);
    } else if (cols !== this.cols) {
      throw new DistilleryError('BAD_MODEL', `network output width changed between batches (${this.cols} → ${cols})`);
    }
    this.data.set(values, this.rows * cols);
    this.rows += batchRows;
  }

  result(): HostMatrix {
    return { rows: this.rows, cols: Math.max(this.cols, 0), data: this.data.subarray(0, this.rows * Math.max(this.cols, 0)) };
  }
}

export interface BatchRunOptions {
  /** Images per forward pass (default 256). */
  batchSize?: number;
  /** Use only the first `limit` images of the source. */
  limit?: number;
  /** Called after each batch with the number of images done so far. */
  onProgress?: (done: number, total: number) => void;
  /** Checked between batches; a true value stops with DistilleryError CANCELLED. */
  signal?: AbortSignal;
}

/**
 * Runs every function in `outputs` on each batch of `source` and returns their results for all
 * images as host matrices [N, D_i], in the order of `outputs`. Each function must return a 2-D
 * tensor per batch (it is disposed here).
 */
export async function collectOutputs(
  source: ImageSource,
  outputs: readonly ((images: tf.Tensor4D) => tf.Tensor2D)[],
  options: BatchRunOptions = {},
): Promise<HostMatrix[]> {
  const available = sourceCount(source);
  const total = Math.min(options.limit ?? available, available);
  const batchSize = options.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new DistilleryError('BAD_INPUT', `batch size must be a positive integer, got ${batchSize}`);
  if (source instanceof tf.Tensor && source.rank !== 4) throw new DistilleryError('BAD_INPUT', `images must be [N, H, W, C], got [${source.shape.join(', ')}]`);
  const collectors = outputs.map(() => new RowCollector(total));
  for (let start = 0; start < total; start += batchSize) {
    if (options.signal?.aborted) throw new DistilleryError('CANCELLED', 'metrics evaluation cancelled');
    const size = Math.min(batchSize, total - start);
    const images = await batchOf(source, start, size);
    try {
      if (images.rank !== 4 || images.shape[0] !== size) {
        throw new DistilleryError('BAD_INPUT', `image batch at ${start} has shape [${images.shape.join(', ')}], expected [${size}, H, W, C]`);
      }
      for (let i = 0; i < outputs.length; i++) {
        const out = outputs[i]!(images);
        try {
          if (out.rank !== 2 || out.shape[0] !== size) throw new DistilleryError('BAD_MODEL', `network output has shape [${out.shape.join(', ')}], expected [${size}, D]`);
          collectors[i]!.append(await out.data(), size);
        } finally {
          out.dispose();
        }
      }
    } finally {
      images.dispose();
    }
    options.onProgress?.(Math.min(start + size, total), total);
  }
  return collectors.map((c) => c.result());
}
