/**
 * Sample grids: a batch of images (NHWC, 1 or 3 channels, any value range) tiled into one PNG.
 * Generated images are not in [0, 1] (the DAFL generator ends in a BatchNorm), so each grid is
 * min-max scaled as a whole — relative brightness between samples is kept.
 */
import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { DistilleryError } from '../errors.ts';
import { nodeFileOps, writeFileAtomic, type FileOps } from './fsio.ts';

export interface GridOptions {
  /** Images per row (default ⌈√n⌉). */
  columns?: number;
  /** Pixels between tiles (default 2). */
  padding?: number;
  /** Fixed value range instead of the grid's min/max. */
  range?: [number, number];
}

/** Encodes the grid as PNG bytes (RGBA, 8 bit). */
export function encodeImageGrid(images: tf.Tensor4D, options: GridOptions = {}): Buffer {
  const [n, h, w, c] = images.shape;
  if (c !== 1 && c !== 3) throw new DistilleryError('BAD_INPUT', `sample grids need 1 or 3 channels, got ${c}`);
  if (n < 1) throw new DistilleryError('BAD_INPUT', 'a sample grid needs at least one image');
  const cols = Math.max(1, Math.min(n, options.columns ?? Math.ceil(Math.sqrt(n))));
  const rows = Math.ceil(n / cols);
  const pad = options.padding ?? 2;
  const width = cols * w + (cols + 1) * pad;
  const height = rows * h + (rows + 1) * pad;
  const data = images.dataSync();
  let lo = options.range?.[0] ?? Infinity;
  let hi = options.range?.[1] ?? -Infinity;
  if (!options.range) {
    for (const v of data) {
      if (Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  const png = new PNG({ width, height });
  png.data.fill(0);
  for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;
  for (let k = 0; k < n; k++) {
    const x0 = pad + (k % cols) * (w + pad);
    const y0 = pad + Math.floor(k / cols) * (h + pad);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const src = ((k * h + y) * w + x) * c;
        const dst = ((y0 + y) * width + (x0 + x)) * 4;
        for (let ch = 0; ch < 3; ch++) {
          const v = data[src + (c === 1 ? 0 : ch)]!;
          png.data[dst + ch] = Number.isFinite(v) ? Math.max(0, Math.min(255, Math.round((v - lo) * scale))) : 0;
        }
      }
    }
  }
  return PNG.sync.write(png);
}

/** Writes the grid atomically to `file`. */
export function writeImageGrid(file: string, images: tf.Tensor4D, options: GridOptions = {}, ops: FileOps = nodeFileOps): void {
  writeFileAtomic(file, [encodeImageGrid(images, options)], ops);
}
