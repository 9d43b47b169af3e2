/**
 * Tiny finished runs for the export tests, made the way the app makes them (startDistillation with
 * the zoo's student and generator, so openRun can reopen them): a small convolutional teacher on
 * 16×16×1 images with 4 classes, LeNet-5-half at width 0.5, a few steps. RDSKD stands for the
 * generator methods, DeepInversion for those that keep a synthesised pool.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { saveTestTeacher } from '../test-teacher.ts';
import { startDistillation } from '../../../src-main/engine/runs/distill.ts';

export const TINY_SHAPE = [16, 16, 1] as const;
export const TINY_CLASSES = 4;
/** Values in one image. */
export const TINY_PIXELS = TINY_SHAPE[0] * TINY_SHAPE[1] * TINY_SHAPE[2];

export async function writeTinyTeacher(dir: string): Promise<void> {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const model = tf.sequential({
    name: 'tiny-teacher',
    layers: [
      tf.layers.conv2d({ inputShape: [...TINY_SHAPE], filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: TINY_CLASSES, kernelInitializer: init(2) }),
    ],
  });
  await saveTestTeacher(model, dir);
  model.dispose();
}

const SCHEDULES = {
  rdskd: { latentDim: 8, generator: { epochs: 1, itersPerEpoch: 2, batchSize: 8 }, student: { epochs: 1, itersPerEpoch: 2, batchSize: 8 }, checkpointEvery: 2, sampleEvery: 2, evalEvery: 0, evalSamples: 8 },
  deepinversion: { synthesis: { batches: 2, batchSize: 8, iterations: 2 }, student: { epochs: 1, batchSize: 8 }, checkpointEvery: 2, sampleEvery: 0, evalEvery: 0, evalSamples: 8 },
};

/** A finished run of `method` in `root`/runs/`id` (its teacher in `root`/teacher); returns its folder. */
export async function tinyRun(root: string, method: keyof typeof SCHEDULES, id: string): Promise<string> {
  const teacher = join(root, 'teacher');
  if (!existsSync(join(teacher, 'model.json'))) await writeTinyTeacher(teacher);
  const result = await startDistillation({ teacher, student: 'lenet5-half', studentWidth: 0.5, method, overrides: SCHEDULES[method], runsDir: join(root, 'runs'), id });
  if (result.status !== 'done') throw new Error(`the tiny ${method} run stopped: ${result.status}`);
  return result.runDir;
}
