/**
 * exportRun, the one export entry, on tiny real runs: every format writes its model, the sample
 * grid and report.md and says how to load it; ONNX loads in onnxruntime and TFLite in LiteRT and
 * both predict what the run's student predicts (int8 within 3% of the logits' range on generator
 * images it was not calibrated on); int8 is calibrated on the run's own images —
 * generator samples, or the synthesised pool for DeepInversion — and TFLite int8 is smaller than
 * float32 (an int8 ONNX file of a model this tiny is not: its QDQ scales and names weigh more).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as flatbuffers from 'flatbuffers';
import { Model, TensorType } from '../../../src-main/engine/export/tflite/generated/schema_generated.ts';
import { checkExportOptions, exportRun, exportVariant } from '../../../src-main/engine/export/index.ts';
import { openRun } from '../../../src-main/engine/metrics/run-samples.ts';
import { loadModel } from '../../../src-main/engine/models/index.ts';
import { useWasm } from '../backend/helpers.ts';
import { compileTflite } from '../../../bench/litert.ts';
import { TINY_CLASSES, TINY_PIXELS, TINY_SHAPE, tinyRun } from './tiny-run.ts';
import { tempDir } from '../../temp-dirs.ts';

const root = tempDir('distillery-export-run-');
let rdskdRun: string;
let student: tf.LayersModel;
let images: tf.Tensor4D;
let expected: Float32Array;

beforeAll(async () => {
  await useWasm();
  rdskdRun = await tinyRun(root, 'rdskd', 'r');
  student = await loadModel(join(rdskdRun, 'student'));
  images = tf.randomNormal([4, ...TINY_SHAPE], 0, 1, 'float32', 11) as tf.Tensor4D;
  expected = (student.predict(images) as tf.Tensor).dataSync() as Float32Array;
}, 300_000);

afterAll(() => {
  student?.dispose();
  images?.dispose();
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

async function tfliteOutputs(file: string): Promise<Float32Array> {
  const runner = await compileTflite(readFileSync(file));
  try {
    const size = TINY_PIXELS;
    const values = images.dataSync() as Float32Array;
    const out = new Float32Array(4 * TINY_CLASSES);
    for (let i = 0; i < 4; i++) out.set(await runner.run(values.subarray(i * size, (i + 1) * size)), i * TINY_CLASSES);
    return out;
  } finally {
    runner.delete();
  }
}

describe('export options', () => {
  it('refuses int8 TensorFlow.js, int8 I/O outside TFLite and float16 outside TensorFlow.js, clearly', () => {
    expect(() => checkExportOptions({ format: 'onnx', int8: true })).not.toThrow();
    expect(() => checkExportOptions({ format: 'onnx', int8: true, int8Io: true })).toThrow(expect.objectContaining({ code: 'BAD_INPUT', message: expect.stringMatching(/int8 input and output are for TFLite exports only/) }));
    expect(() => checkExportOptions({ format: 'tfjs', int8: true })).toThrow(expect.objectContaining({ code: 'BAD_INPUT', message: expect.stringMatching(/int8 is not supported for TensorFlow\.js/) }));
    expect(() => checkExportOptions({ format: 'tflite', float16: true })).toThrow(expect.objectContaining({ code: 'BAD_INPUT', message: expect.stringMatching(/float16 weights are for TensorFlow\.js/) }));
    expect(() => checkExportOptions({ format: 'tflite', int8: true, calibrationBatches: 0 })).toThrow(/calibrationBatches/);
    expect(() => checkExportOptions({ format: 'tflite', int8: true })).not.toThrow();
    expect(() => checkExportOptions({ format: 'tflite', int8Io: true })).toThrow(expect.objectContaining({ code: 'BAD_INPUT', message: expect.stringMatching(/int8 input and output need an int8 model/) }));
    expect(() => checkExportOptions({ format: 'onnx', stripStrings: true })).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
    expect([exportVariant({ format: 'tfjs', float16: true }), exportVariant({ format: 'tflite', int8: true }), exportVariant({ format: 'onnx' })]).toEqual(['tfjs-float16', 'tflite-int8', 'onnx']);
    expect(exportVariant({ format: 'tflite', int8: true, weightScales: 'per-tensor', int8Io: true, stripStrings: true })).toBe('tflite-int8-per-tensor-int8io-stripped');
    expect(exportVariant({ format: 'tflite', stripStrings: true })).toBe('tflite-stripped');
    expect([exportVariant({ format: 'onnx', int8: true }), exportVariant({ format: 'onnx', int8: true, weightScales: 'per-tensor' })]).toEqual(['onnx-int8', 'onnx-int8-per-tensor']);
  });

  it('refuses before writing anything', async () => {
    const outDir = join(root, 'refused');
    await expect(exportRun(rdskdRun, outDir, { format: 'tfjs', int8: true })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    expect(existsSync(outDir)).toBe(false);
  });
});

describe('exportRun', () => {
  it('ONNX: student.onnx with opset 13, NCHW input, loads in onnxruntime and predicts as the student', async () => {
    const result = await exportRun(rdskdRun, join(root, 'onnx'), { format: 'onnx' });
    expect(result).toMatchObject({ format: 'onnx', precision: 'float32', note: expect.stringContaining('opset 13') });
    expect(result.files.map((f) => [f.name, f.role])).toEqual([['student.onnx', 'model'], ['samples.png', 'samples'], ['report.md', 'report']]);
    expect(result.modelBytes).toBe(result.files[0]!.bytes);
    expect(result.bytes).toBe(result.files.reduce((s, f) => s + f.bytes, 0));
    expect(result.howToLoad).toContain(`ort.InferenceSession.create('${join(root, 'onnx', 'student.onnx')}')`);
    expect(result.howToLoad).toContain('NCHW float32 [N, 1, 16, 16]');
    const session = await ort.InferenceSession.create(join(result.dir, 'student.onnx'));
    try {
      const nchw = tf.transpose(images, [0, 3, 1, 2]);
      const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', nchw.dataSync() as Float32Array, nchw.shape) });
      nchw.dispose();
      const logits = out[session.outputNames[0]!]!;
      expect(logits.dims).toEqual([4, TINY_CLASSES]);
      expect(maxAbsDiff(logits.data as Float32Array, expected)).toBeLessThan(1e-4);
    } finally {
      await session.release();
    }
    const report = readFileSync(join(result.dir, 'report.md'), 'utf8');
    expect(report).toContain('ONNX model, float32');
    expect(report).toContain('## Run configuration');
    expect(report).toContain('"preprocessing"');
  });

  it("ONNX int8: QDQ calibrated on the run's generator, close to the student in onnxruntime", async () => {
    const result = await exportRun(rdskdRun, join(root, 'onnx-int8'), { format: 'onnx', int8: true, calibrationBatches: 2, calibrationBatchSize: 16 });
    expect(result).toMatchObject({ format: 'onnx', precision: 'int8', description: 'ONNX model, int8 in QDQ form (per-channel weights, per-tensor activations), float32 input and output' });
    expect(result.calibration).toBe("int8 calibrated on 32 generated images from the run's generator (2 × 16) — no real data");
    const float = await exportRun(rdskdRun, join(root, 'onnx'), { format: 'onnx' });
    expect(result.float32Bytes).toBe(float.modelBytes);
    // No size check here: in a model this tiny (6 KB) the QDQ scales and names outweigh the 4× on
    // the weights; onnx.test.ts checks the sizes of LeNet-5-half and LeNet-5.
    expect(result.note).toContain('QLinearConv');
    // Other images of the same generator than the calibration's.
    const run = await openRun(rdskdRun);
    const held = run.samples(16, 4242)!;
    const reference = (run.student.predict(held) as tf.Tensor).dataSync() as Float32Array;
    run.dispose();
    const session = await ort.InferenceSession.create(join(result.dir, 'student.onnx'));
    try {
      const nchw = tf.transpose(held, [0, 3, 1, 2]);
      const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', nchw.dataSync() as Float32Array, nchw.shape) });
      tf.dispose([nchw, held]);
      const range = Math.max(...reference) - Math.min(...reference);
      const error = maxAbsDiff(out[session.outputNames[0]!]!.data as Float32Array, reference);
      expect(error).toBeGreaterThan(0);
      expect(error).toBeLessThan(0.03 * range);
    } finally {
      await session.release();
    }
    const report = readFileSync(join(result.dir, 'report.md'), 'utf8');
    expect(report).toContain('no real data');
    expect(report).toContain('compare this file with a float32 export');
  });

  it('TFLite float32: loads in LiteRT and predicts as the student', async () => {
    const result = await exportRun(rdskdRun, join(root, 'tflite'), { format: 'tflite' });
    expect(result).toMatchObject({ format: 'tflite', precision: 'float32' });
    expect(result.float32Bytes).toBeUndefined();
    expect(result.howToLoad).toContain("tf.lite.Interpreter(model_path=");
    expect(result.howToLoad).toContain('NHWC float32 [1, 16, 16, 1]');
    expect(maxAbsDiff(await tfliteOutputs(join(result.dir, 'student.tflite')), expected)).toBeLessThan(1e-4);
  });

  it("TFLite int8: calibrated on the run's generator, smaller than float32, close to the student on the generator's images", async () => {
    const result = await exportRun(rdskdRun, join(root, 'int8'), { format: 'tflite', int8: true, calibrationBatches: 2, calibrationBatchSize: 16 });
    expect(result).toMatchObject({ format: 'tflite', precision: 'int8' });
    expect(result.calibration).toBe("int8 calibrated on 32 generated images from the run's generator (2 × 16) — no real data");
    expect(result.float32Bytes).toBeGreaterThan(result.modelBytes);
    const float = await exportRun(rdskdRun, join(root, 'tflite'), { format: 'tflite' });
    expect(result.float32Bytes).toBe(float.modelBytes);
    // Other images of the same generator than the calibration's (as tflite.test.ts checks int8).
    const run = await openRun(rdskdRun);
    const held = run.samples(16, 4242)!;
    const reference = (run.student.predict(held) as tf.Tensor).dataSync() as Float32Array;
    run.dispose();
    const runner = await compileTflite(readFileSync(join(result.dir, 'student.tflite')));
    const values = held.dataSync() as Float32Array;
    held.dispose();
    const out = new Float32Array(reference.length);
    for (let i = 0; i < 16; i++) out.set(await runner.run(values.subarray(i * TINY_PIXELS, (i + 1) * TINY_PIXELS)), i * TINY_CLASSES);
    runner.delete();
    const range = Math.max(...reference) - Math.min(...reference);
    expect(maxAbsDiff(out, reference)).toBeLessThan(0.03 * range); // tflite.test.ts bound
    const report = readFileSync(join(result.dir, 'report.md'), 'utf8');
    expect(report).toContain('no real data');
    expect(report).toContain(`npm run bench -- tflite ${rdskdRun}`);
  });

  it('TFLite int8 with int8 I/O and stripped strings: says how to quantize the input, compares with a stripped float32 file', async () => {
    const result = await exportRun(rdskdRun, join(root, 'int8-io'), { format: 'tflite', int8: true, int8Io: true, stripStrings: true, calibrationBatches: 2, calibrationBatchSize: 16 });
    expect(result.description).toBe('TFLite flatbuffer, int8 (per-channel weights, per-tensor activations), int8 input and output, strings stripped');
    const stripped = await exportRun(rdskdRun, join(root, 'tflite-stripped'), { format: 'tflite', stripStrings: true });
    expect(result.float32Bytes).toBe(stripped.modelBytes);
    expect(result.note).toContain(`input 0 (names stripped): NHWC int8 [1, ${TINY_SHAPE.join(', ')}], output 0: logits [1, ${TINY_CLASSES}]`);
    expect(result.note).toMatch(/feed q = round\(x \/ [0-9.e-]+\) \+ -?\d+, read logits as \(q − -?\d+\) × [0-9.e-]+$/);
    const file = Model.getRootAsModel(new flatbuffers.ByteBuffer(readFileSync(join(result.dir, 'student.tflite'))));
    expect(file.subgraphs(0)!.tensors(file.subgraphs(0)!.inputs(0)!)!.type()).toBe(TensorType.INT8);
    expect(readFileSync(join(result.dir, 'report.md'), 'utf8')).toContain('the caller quantizes the input and dequantizes the output');
  });

  it('TFLite int8 of a DeepInversion run: calibrated on its synthesised pool', async () => {
    const runDir = await tinyRun(root, 'deepinversion', 'di');
    const result = await exportRun(runDir, join(root, 'di-int8'), { format: 'tflite', int8: true });
    expect(result.calibration).toBe("int8 calibrated on 16 images of the run's synthesised pool (deepinversion, 16 images) — no real data");
    const runner = await compileTflite(readFileSync(join(result.dir, 'student.tflite')));
    try {
      const out = await runner.run(new Float32Array(TINY_PIXELS).fill(0.5));
      expect(out).toHaveLength(TINY_CLASSES);
      expect(Array.from(out).every(Number.isFinite)).toBe(true);
    } finally {
      runner.delete();
    }
  });
});
