/**
 * `npm run bench -- tflite <run folder> [--batches 8] [--batch-size 64] [--test-data mnist]
 * [--weight-scales per-channel|per-tensor] [--out DIR]`: a finished run's student as float32 and
 * int8 TFLite files, the int8 one calibrated on the run's own generator samples (no real data),
 * both evaluated on the test split in a real TFLite runtime (LiteRT.js, as in the tests). Prints
 * sizes, accuracies and the accuracy drop; the last line of stdout is one JSON object.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initBackend } from '../src-main/engine/backend/index.ts';
import { loadTestSet } from '../src-main/engine/data/test-set.ts';
import { graphFromModel } from '../src-main/engine/export/graph.ts';
import { calibrateOnRun } from '../src-main/engine/export/index.ts';
import { toTflite } from '../src-main/engine/export/tflite.ts';
import { openRun } from '../src-main/engine/metrics/run-samples.ts';
import { compileTflite } from '../tests/engine/export/litert.ts';

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Top-1 accuracy of a .tflite file over the test set, one image per call. */
async function tfliteAccuracy(file: Uint8Array, x: tf.Tensor4D, labels: Int32Array): Promise<number> {
  const runner = await compileTflite(file);
  try {
    const values = x.dataSync() as Float32Array;
    const size = values.length / x.shape[0];
    let correct = 0;
    for (let i = 0; i < x.shape[0]; i++) {
      const out = await runner.run(values.subarray(i * size, (i + 1) * size));
      let best = 0;
      for (let k = 1; k < out.length; k++) if (out[k]! > out[best]!) best = k;
      if (best === labels[i]) correct++;
    }
    return correct / x.shape[0];
  } finally {
    runner.delete();
  }
}

export async function main(args: string[]): Promise<number> {
  const runDir = args.find((a, i) => !a.startsWith('--') && (i === 0 || !args[i - 1]!.startsWith('--')));
  if (!runDir) {
    console.error('usage: npm run bench -- tflite <run folder> [--batches 8] [--batch-size 64] [--test-data mnist] [--weight-scales per-channel|per-tensor] [--out DIR]');
    return 2;
  }
  const batches = Number(option(args, '--batches') ?? 8);
  const batchSize = Number(option(args, '--batch-size') ?? 64);
  const weightScales = (option(args, '--weight-scales') ?? 'per-channel') as 'per-channel' | 'per-tensor';
  await initBackend({ prefer: 'wasm' });
  const run = await openRun(resolve(runDir));
  try {
    const testSpec = option(args, '--test-data') ?? run.record.dataset;
    const graph = graphFromModel(run.student);
    const { calibration, description } = calibrateOnRun(run, graph, batches, batchSize);
    const float = toTflite(graph);
    const int8 = toTflite(graph, { quantization: calibration, weightScales });
    const out = option(args, '--out');
    if (out) {
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, 'student.tflite'), float);
      writeFileSync(join(out, 'student-int8.tflite'), int8);
    }
    const test = await loadTestSet(testSpec, run.teacher);
    const labels = test.y.dataSync() as Int32Array;
    const tfjsAccuracy = tf.tidy(() => {
      const predicted = (run.student.predict(test.x, { batchSize: 256 }) as tf.Tensor).argMax(-1);
      return tf.mean(tf.cast(tf.equal(predicted, test.y), 'float32')).dataSync()[0]!;
    });
    const floatAccuracy = await tfliteAccuracy(float, test.x as tf.Tensor4D, labels);
    const int8Accuracy = await tfliteAccuracy(int8, test.x as tf.Tensor4D, labels);
    tf.dispose([test.x, test.y]);
    const result = {
      run: run.dir,
      student: run.studentSource,
      calibration: { description, batches, batchSize, samples: calibration.samples, statistic: calibration.statistic },
      weightScales,
      testSet: test.name,
      testImages: labels.length,
      tfjsAccuracy,
      float32: { bytes: float.length, accuracy: floatAccuracy },
      int8: { bytes: int8.length, accuracy: int8Accuracy },
      accuracyDropPoints: 100 * (floatAccuracy - int8Accuracy),
      sizeRatio: float.length / int8.length,
    };
    console.log(`student ${result.student}; ${description}`);
    console.log(`tfjs        accuracy ${(100 * tfjsAccuracy).toFixed(2)}%`);
    console.log(`float32     ${float.length} bytes, accuracy ${(100 * floatAccuracy).toFixed(2)}% (LiteRT)`);
    console.log(`int8        ${int8.length} bytes, accuracy ${(100 * int8Accuracy).toFixed(2)}% (LiteRT, ${weightScales} weight scales)`);
    console.log(`drop ${result.accuracyDropPoints.toFixed(2)} points, ${result.sizeRatio.toFixed(2)}× smaller`);
    console.log(JSON.stringify(result));
    return 0;
  } finally {
    run.dispose();
  }
}
