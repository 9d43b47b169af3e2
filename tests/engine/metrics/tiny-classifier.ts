/** A seeded conv → hidden dense → logits classifier on 8×8×1 images, for the metrics tests. */
import * as tf from '@tensorflow/tfjs';

export function tinyClassifier(name: string, o: { numClasses: number; hidden: number; seed: number; softmax?: boolean }): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: o.seed + s });
  return tf.sequential({
    name,
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: init(0), name: `${name}_conv` }),
      tf.layers.flatten({ name: `${name}_flat` }),
      tf.layers.dense({ units: o.hidden, activation: 'relu', kernelInitializer: init(1), name: `${name}_hidden` }),
      tf.layers.dense({ units: o.numClasses, kernelInitializer: init(2), name: `${name}_logits`, ...(o.softmax ? { activation: 'softmax' as const } : {}) }),
    ],
  });
}
