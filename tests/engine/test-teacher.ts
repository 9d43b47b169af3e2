/**
 * Saves a small test model as a teacher folder the app accepts (model.json + manifest.json): the
 * manifest of an MNIST-like teacher with the model's own input shape and class count.
 */
import type * as tf from '@tensorflow/tfjs';
import { saveModel } from '../../src-main/engine/models/index.ts';

export async function saveTestTeacher(model: tf.LayersModel, dir: string): Promise<void> {
  const inputShape = model.inputs[0]!.shape.slice(1) as [number, number, number];
  const numClasses = model.outputs[0]!.shape.at(-1)!;
  await saveModel(model, dir, {
    manifest: {
      format: 'distillery-teacher',
      version: 1,
      name: 'tiny',
      architecture: 'custom',
      dataset: { name: 'MNIST' },
      inputShape,
      numClasses,
      classNames: Array.from({ length: numClasses }, (_, k) => String.fromCharCode(97 + k)),
      output: 'logits',
      preprocessing: { scale: 1 / 255, mean: [0.1307], std: [0.3081] },
    },
  });
}
