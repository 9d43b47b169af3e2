import { iterateBatches } from './batches.ts';
import { Preprocessor } from './preprocess.ts';
import type { ImageSource, Shape3 } from './types.ts';

/**
 * Per-channel mean and standard deviation of pixels/255 (after resizing to `shape`), over the first
 * `limit` samples: the normalisation for datasets without a reference one (image folders, other
 * MNIST-format sets). One streaming pass.
 */
export function channelStatistics(source: ImageSource, shape: Shape3, limit = 10_000): { mean: number[]; std: number[] } {
  const c = shape[2];
  const pre = new Preprocessor(source.shape, shape, { scale: 1 / 255, mean: [0], std: [1] });
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  let count = 0;
  for (const b of iterateBatches(source, pre, { batchSize: 256, limit })) {
    for (let i = 0; i < b.x.length; i += c) {
      for (let k = 0; k < c; k++) {
        const v = b.x[i + k]!;
        sum[k] += v;
        sq[k] += v * v;
      }
    }
    count += b.x.length / c;
  }
  const mean = Array.from(sum, (s) => s / count);
  const std = Array.from(sq, (s, k) => Math.sqrt(Math.max(s / count - mean[k]! ** 2, 1e-12)));
  return { mean, std };
}
