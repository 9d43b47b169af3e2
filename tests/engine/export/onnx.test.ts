import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import protobuf from 'protobufjs';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { graphFromModel } from '../../../src-main/engine/export/graph.ts';
import { exportOnnx, ONNX_IR_VERSION, ONNX_OPSET, toOnnx } from '../../../src-main/engine/export/onnx.ts';
import { calibrationFromSamples } from '../../../src-main/engine/export/quantize.ts';
import { loadTeacher, saveModel } from '../../../src-main/engine/models/index.ts';
import { bundledTeachersDir } from '../../../src-main/engine/paths.ts';
import { RUN_FILES } from '../../../src-main/engine/runs/store.ts';
import { everyLayerModel, mnistImages, ZOO_CLASSIFIERS, zooStudent } from './student-fixtures.ts';
import { tempDirs } from '../../temp-dirs.ts';

const tmp = tempDirs('distillery-onnx-');
const schemaDir = join(dirname(fileURLToPath(import.meta.url)), '../../../src-main/engine/export/onnx');

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/**
 * Runs the ONNX model on NHWC images (transposed to the model's NCHW input); returns its output.
 * `optimizedModelFilePath`: where onnxruntime writes the graph it runs, after its optimisations.
 */
async function runOnnx(bytes: Uint8Array, nhwc: tf.Tensor4D, optimizedModelFilePath?: string): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes, optimizedModelFilePath ? { graphOptimizationLevel: 'extended', optimizedModelFilePath } : {});
  try {
    const nchw = tf.tidy(() => tf.transpose(nhwc, [0, 3, 1, 2]));
    const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', nchw.dataSync() as Float32Array, nchw.shape) };
    nchw.dispose();
    const output = (await session.run(feeds))[session.outputNames[0]!]!;
    return { data: output.data as Float32Array, dims: output.dims };
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe('ONNX schema', () => {
  it('the bundled JSON descriptor is protobufjs\'s reading of the vendored official onnx.proto', () => {
    const fromProto = protobuf.loadSync(join(schemaDir, 'onnx.proto')).toJSON();
    const committed = JSON.parse(readFileSync(join(schemaDir, 'onnx.json'), 'utf8')) as unknown;
    expect(committed).toEqual(JSON.parse(JSON.stringify(fromProto)));
  });
});

describe('ONNX export', () => {
  it('writes a ModelProto with the stated IR version and opset, NCHW input with a free batch, float32 raw initializers', () => {
    const model = everyLayerModel();
    const bytes = toOnnx(graphFromModel(model), { producerVersion: '0.1.0' });
    model.dispose();
    const ModelProto = protobuf.loadSync(join(schemaDir, 'onnx.proto')).lookupType('onnx.ModelProto');
    const decoded = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, enums: String }) as {
      irVersion: number;
      opsetImport: { domain?: string; version: number }[];
      producerName: string;
      producerVersion: string;
      graph: {
        input: { name: string; type: { tensorType: { elemType: number; shape: { dim: { dimValue?: number; dimParam?: string }[] } } } }[];
        output: { name: string; type: { tensorType: { shape: { dim: { dimValue?: number; dimParam?: string }[] } } } }[];
        initializer: { name: string; dims: number[]; dataType: number; rawData: Uint8Array }[];
        node: { opType: string }[];
      };
    };
    expect(decoded.irVersion).toBe(ONNX_IR_VERSION);
    expect(decoded.opsetImport).toEqual([{ domain: '', version: ONNX_OPSET }]);
    expect([ONNX_IR_VERSION, ONNX_OPSET]).toEqual([7, 13]);
    expect(decoded.producerName).toBe('distillery');
    expect(decoded.producerVersion).toBe('0.1.0');
    const [input] = decoded.graph.input;
    expect(input!.name).toBe('image_in');
    expect(input!.type.tensorType.shape.dim).toEqual([{ dimParam: 'batch' }, { dimValue: 2 }, { dimValue: 9 }, { dimValue: 10 }]);
    expect(decoded.graph.output[0]!.type.tensorType.shape.dim).toEqual([{ dimParam: 'batch' }, { dimValue: 5 }]);
    for (const init of decoded.graph.initializer) {
      expect(init.dataType).toBe(1);
      expect(init.rawData.length).toBe(4 * init.dims.reduce((a, b) => a * b, 1));
    }
    // The first conv's kernel [out 4, in 2, 3, 3] (OIHW).
    expect(decoded.graph.initializer.find((i) => i.name === 'conv_padded.weight')!.dims).toEqual([4, 2, 3, 3]);
    expect(new Set(decoded.graph.node.map((n) => n.opType))).toEqual(
      new Set(['Conv', 'Relu', 'Mul', 'Add', 'LeakyRelu', 'MaxPool', 'AveragePool', 'Sum', 'GlobalAveragePool', 'Flatten', 'Transpose', 'Gemm']),
    );
  });

  it('every supported layer kind gives the same outputs in onnxruntime as in TensorFlow.js, BN folded or not', async () => {
    const model = everyLayerModel();
    const x = tf.randomNormal([3, 9, 10, 2], 0, 1, 'float32', 11) as tf.Tensor4D;
    const expected = (model.predict(x) as tf.Tensor).dataSync();
    expect(Math.max(...Array.from(expected, Math.abs))).toBeGreaterThan(0.1);
    for (const foldBatchNorm of [true, false]) {
      const { data, dims } = await runOnnx(toOnnx(graphFromModel(model, { foldBatchNorm })), x);
      expect(dims).toEqual([3, 5]);
      expect(maxAbsDiff(data, expected)).toBeLessThan(1e-5);
    }
    model.dispose();
  });

  it('with softmax: true the model outputs the class probabilities', async () => {
    const model = everyLayerModel();
    const x = tf.randomNormal([2, 9, 10, 2], 0, 1, 'float32', 12) as tf.Tensor4D;
    const expected = tf.softmax(model.predict(x) as tf.Tensor).dataSync();
    const { data } = await runOnnx(toOnnx(graphFromModel(model), { softmax: true }), x);
    expect(maxAbsDiff(data, expected)).toBeLessThan(1e-6);
    model.dispose();
  });

  // Each zoo classifier, random weights and BatchNorm statistics: onnxruntime-node vs model.predict.
  it.each(ZOO_CLASSIFIERS.map((s) => s.name))('%s runs in onnxruntime with TensorFlow.js\'s outputs (max abs diff ≤ 1e-4)', async (name) => {
    const spec = ZOO_CLASSIFIERS.find((s) => s.name === name)!;
    const model = zooStudent(spec);
    const x = tf.randomNormal([2, ...spec.reference.shape], 0, 1, 'float32', 13) as tf.Tensor4D;
    const expected = (model.predict(x) as tf.Tensor).dataSync();
    const bytes = toOnnx(graphFromModel(model));
    model.dispose();
    const { data, dims } = await runOnnx(bytes, x);
    expect(dims).toEqual([2, spec.reference.numClasses ?? 10]);
    const diff = maxAbsDiff(data, expected);
    console.log(`${name}: ONNX vs TensorFlow.js max abs diff ${diff.toExponential(2)} (logits up to ${Math.max(...Array.from(expected, Math.abs)).toFixed(3)}), ${(bytes.length / 1e6).toFixed(2)} MB`);
    expect(diff).toBeLessThanOrEqual(1e-4);
  });

  it('exports a finished run\'s student to a file that onnxruntime loads', async () => {
    const runDir = tmp();
    const model = zooStudent(ZOO_CLASSIFIERS.find((s) => s.name === 'lenet5-half')!);
    await saveModel(model, join(runDir, RUN_FILES.student));
    writeFileSync(join(runDir, RUN_FILES.config), JSON.stringify({ method: 'rdskd' }));
    writeFileSync(join(runDir, RUN_FILES.summary), JSON.stringify({ selection: { rule: 'last', model: 'student' } }));
    const outFile = join(runDir, 'student.onnx');
    const result = await exportOnnx(runDir, outFile);
    expect(result).toMatchObject({ file: outFile, opset: ONNX_OPSET, irVersion: ONNX_IR_VERSION });
    const bytes = readFileSync(outFile);
    expect(result.bytes).toBe(bytes.length);
    const x = tf.randomNormal([2, 32, 32, 1], 0, 1, 'float32', 14) as tf.Tensor4D;
    const { data } = await runOnnx(bytes, x);
    expect(maxAbsDiff(data, (model.predict(x) as tf.Tensor).dataSync())).toBeLessThan(1e-5);
    model.dispose();
  });
});

/**
 * int8 in QDQ form, run by onnxruntime: the error against float32 is rounding alone where the
 * calibration set holds the test images (as tflite.test.ts checks the TFLite int8 file), at most 3%
 * of the logits' range; onnxruntime's optimiser must turn the pairs into int8 kernels; and a trained
 * model loses at most half an accuracy point on MNIST test images.
 */
describe('ONNX int8 (QDQ)', () => {
  const ModelProto = protobuf.loadSync(join(schemaDir, 'onnx.proto')).lookupType('onnx.ModelProto');
  const opTypes = (file: string): string[] => (ModelProto.toObject(ModelProto.decode(readFileSync(file))) as { graph: { node: { opType: string }[] } }).graph.node.map((n) => n.opType);
  const relativeError = (a: Float32Array, b: Float32Array): number => maxAbsDiff(a, b) / (Math.max(...b) - Math.min(...b));

  it.each(['per-channel', 'per-tensor'] as const)('LeNet-5-half, %s weights: onnxruntime runs QLinearConv / QGemm, error ≤ 0.03 of the logit range', async (weightScales) => {
    const spec = ZOO_CLASSIFIERS.find((s) => s.name === 'lenet5-half')!;
    const model = zooStudent(spec);
    const graph = graphFromModel(model);
    const x = tf.randomNormal([32, ...spec.reference.shape], 0, 1, 'float32', 21) as tf.Tensor4D;
    const more = tf.randomNormal([64, ...spec.reference.shape], 0, 1, 'float32', 22) as tf.Tensor4D;
    const float = toOnnx(graph);
    const int8 = toOnnx(graph, { quantization: calibrationFromSamples(graph, [x, more]), weightScales });
    const optimized = join(tmp(), 'optimized.onnx');
    const expected = (await runOnnx(float, x)).data;
    const { data } = await runOnnx(int8, x, optimized);
    const error = relativeError(data, expected);
    const ops = opTypes(optimized);
    console.log(`lenet5-half int8 ONNX (${weightScales}): ${int8.length} bytes (float32 ÷ ${(float.length / int8.length).toFixed(2)}), max error ${(100 * error).toFixed(2)}% of the logit range; onnxruntime runs ${ops.join(', ')}`);
    expect(error).toBeGreaterThan(0); // really quantized
    expect(error).toBeLessThanOrEqual(0.03);
    expect(ops.filter((op) => op === 'QLinearConv')).toHaveLength(3);
    expect(ops.filter((op) => op === 'QGemm')).toHaveLength(2);
    expect(ops).not.toContain('Conv');
    expect(ops).not.toContain('Gemm');
    // Names, scales and zero points weigh more in a model this small (64 KB in float32).
    expect(int8.length).toBeLessThan(float.length / 2.5);
    tf.dispose([x, more]);
    model.dispose();
  });

  it('every supported layer kind: within 3% of float32', async () => {
    const model = everyLayerModel();
    const graph = graphFromModel(model);
    const x = tf.randomNormal([16, 9, 10, 2], 0, 1, 'float32', 23) as tf.Tensor4D;
    const calibration = calibrationFromSamples(graph, [x, tf.randomNormal([32, 9, 10, 2], 0, 1, 'float32', 24) as tf.Tensor4D]);
    const expected = (await runOnnx(toOnnx(graph), x)).data;
    const error = relativeError((await runOnnx(toOnnx(graph, { quantization: calibration }), x)).data, expected);
    console.log(`every layer: int8 ONNX max error ${(100 * error).toFixed(2)}% of the logit range`);
    expect(error).toBeGreaterThan(0);
    expect(error).toBeLessThanOrEqual(0.03);
    model.dispose();
  });

  it('the bundled LeNet-5 MNIST teacher: int8 loses at most 0.5 accuracy points on 1,000 test images', async () => {
    const teacher = await loadTeacher(join(bundledTeachersDir(), 'lenet5-mnist'));
    const graph = graphFromModel(teacher.model);
    teacher.model.dispose();
    const load = (split: 'train' | 'test', count: number, stride: number) => mnistImages(teacher.manifest, split, count, stride);
    // 128 training images stand in for a trained generator's samples (as in tflite.test.ts).
    const calibrationImages = await load('train', 128, 409);
    const test = await load('test', 1000, 1);
    const accuracy = async (bytes: Uint8Array) => {
      const { data } = await runOnnx(bytes, test.x);
      const k = graph.numClasses;
      return test.labels.filter((label, i) => {
        const row = data.subarray(i * k, (i + 1) * k);
        return row.indexOf(Math.max(...row)) === label;
      }).length / test.labels.length;
    };
    const float = toOnnx(graph);
    const int8 = toOnnx(graph, { quantization: calibrationFromSamples(graph, [calibrationImages.x]) });
    const [floatAccuracy, int8Accuracy] = [await accuracy(float), await accuracy(int8)];
    console.log(`lenet5 MNIST teacher in onnxruntime: float32 ${float.length} bytes ${(100 * floatAccuracy).toFixed(1)}%, int8 ${int8.length} bytes ${(100 * int8Accuracy).toFixed(1)}% (÷ ${(float.length / int8.length).toFixed(2)})`);
    expect(floatAccuracy).toBeGreaterThan(0.95);
    expect(floatAccuracy - int8Accuracy).toBeLessThanOrEqual(0.005);
    expect(float.length / int8.length).toBeGreaterThanOrEqual(3.4);
    tf.dispose([calibrationImages.x, test.x]);
  });
});
