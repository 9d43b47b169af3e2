/**
 * The live sample gallery: generated images as small PNGs with the teacher's probabilities, for the
 * app's Run view. Images are mapped back to pixels by inverting the teacher's preprocessing, so
 * they look as the teacher "sees" them (clipped to the 0–255 pixel range).
 */
import * as tf from '@tensorflow/tfjs';
import type { SampleDto } from '../common/contract.ts';
import type { TeacherManifest } from './models/index.ts';
import { encodeImageGrid } from './runs/png.ts';

/** The normalised values that raw pixels 0 and 255 map to, over all channels. */
export function displayRange(manifest: Pick<TeacherManifest, 'preprocessing'>): [number, number] {
  const { scale, mean, std } = manifest.preprocessing;
  const ends = mean.flatMap((m, i) => {
    const s = std[i] ?? std[0]!;
    return [(0 * scale - m) / s, (255 * scale - m) / s];
  });
  return [Math.min(...ends), Math.max(...ends)];
}

/** One PNG data URL per image plus the teacher's softmax, upscaled to at least `minSide` pixels. */
export function gallerySamples(images: tf.Tensor4D, teacher: tf.LayersModel, manifest: Pick<TeacherManifest, 'preprocessing'>, minSide = 64): SampleDto[] {
  const range = displayRange(manifest);
  const [n, h, w] = images.shape;
  const factor = Math.max(1, Math.ceil(minSide / Math.max(h, w)));
  const probabilities = tf.tidy(() => tf.softmax(teacher.apply(images, { training: false }) as tf.Tensor2D).arraySync() as number[][]);
  const samples: SampleDto[] = [];
  for (let i = 0; i < n; i++) {
    const png = tf.tidy(() => {
      const one = tf.slice(images, [i, 0, 0, 0], [1, -1, -1, -1]);
      const big = factor > 1 ? tf.image.resizeNearestNeighbor(one, [h * factor, w * factor]) : one;
      return encodeImageGrid(big as tf.Tensor4D, { range, padding: 0, columns: 1 });
    });
    const probs = probabilities[i]!;
    samples.push({
      png: `data:image/png;base64,${png.toString('base64')}`,
      probabilities: probs.map((p) => Math.round(p * 1e4) / 1e4),
      teacherClass: probs.indexOf(Math.max(...probs)),
    });
  }
  return samples;
}
