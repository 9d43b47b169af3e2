/**
 * `npm run bench -- onnx <run folder> [--batches 8] [--batch-size 64] [--test-data mnist]`: a
 * finished run's student as ONNX files — float32 and int8 in QDQ form with per-channel and
 * per-tensor weight scales, the int8 ones calibrated on the run's own images as the export does (no
 * real data) — each evaluated on the test split in onnxruntime (onnxruntime-node, CPU, default graph
 * optimisations: the int8 files run as QLinearConv / QGemm). Prints a table; the last line of stdout
 * is one JSON object.
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import os from 'node:os';
import { loadTestSet } from '../src-main/engine/data/test-set.ts';
import { toOnnx, type OnnxOptions } from '../src-main/engine/export/onnx.ts';
import { openCalibratedRun } from './calibrated-run.ts';

const USAGE = 'npm run bench -- onnx <run folder> [--batches 8] [--batch-size 64] [--test-data mnist]';
const OPTIONS = { batches: { type: 'string' }, 'batch-size': { type: 'string' }, 'test-data': { type: 'string' } } as const;

/** Top-1 accuracy of an ONNX file over NHWC test images (one batch of all of them). */
async function onnxAccuracy(file: Uint8Array, x: tf.Tensor4D, labels: Int32Array): Promise<number> {
  const session = await ort.InferenceSession.create(file);
  try {
    const nchw = tf.transpose(x, [0, 3, 1, 2]);
    const input = new ort.Tensor('float32', nchw.dataSync() as Float32Array, nchw.shape);
    nchw.dispose();
    const out = (await session.run({ [session.inputNames[0]!]: input }))[session.outputNames[0]!]!;
    const logits = out.data as Float32Array;
    const k = out.dims[1]!;
    let correct = 0;
    for (let i = 0; i < labels.length; i++) {
      const row = logits.subarray(i * k, (i + 1) * k);
      if (row.indexOf(Math.max(...row)) === labels[i]) correct++;
    }
    return correct / labels.length;
  } finally {
    await session.release();
  }
}

export async function main(args: string[]): Promise<number> {
  const { opts, run, graph, calibration, description } = await openCalibratedRun(args, OPTIONS, USAGE);
  try {
    const variants: { id: string; options: OnnxOptions }[] = [
      { id: 'float32', options: {} },
      { id: 'int8', options: { quantization: calibration, weightScales: 'per-channel' } },
      { id: 'int8-per-tensor', options: { quantization: calibration, weightScales: 'per-tensor' } },
    ];
    const test = await loadTestSet(opts.string('test-data') ?? run.record.dataset, run.teacher);
    const labels = test.y.dataSync() as Int32Array;
    const results = [];
    for (const v of variants) {
      const file = toOnnx(graph, v.options);
      results.push({ id: v.id, bytes: file.length, accuracy: await onnxAccuracy(file, test.x as tf.Tensor4D, labels) });
    }
    tf.dispose([test.x, test.y]);
    const float = results[0]!;
    const record = {
      command: `npm run bench -- onnx ${args.join(' ')}`,
      date: new Date().toISOString().slice(0, 10),
      machine: `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.versions.node}`,
      run: run.record.id,
      method: run.record.method,
      calibration: description,
      testSet: test.name,
      testImages: labels.length,
      runtime: `onnxruntime-node ${ort.env.versions.common ?? ''}`.trim(),
      variants: results.map((r) => ({ ...r, sizeRatio: float.bytes / r.bytes, dropPoints: 100 * (float.accuracy - r.accuracy) })),
    };
    console.log(`${description}; test set ${record.testSet}; ${record.runtime}`);
    for (const v of record.variants) console.log(`${v.id.padEnd(16)} ${String(v.bytes).padStart(8)} B  ÷${v.sizeRatio.toFixed(2)}  accuracy ${(100 * v.accuracy).toFixed(2)}%  drop ${v.dropPoints.toFixed(2)} points`);
    console.log(JSON.stringify(record));
    return 0;
  } finally {
    run.dispose();
  }
}
