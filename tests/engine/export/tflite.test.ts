/**
 * The TFLite writer, checked in a real TFLite runtime: LiteRT.js (Google's WebAssembly LiteRT, the
 * renamed TensorFlow Lite, XNNPACK CPU kernels) in Node — see bench/litert.ts.
 *
 * - float32: the file's output vs the tfjs model's `predict`, max abs diff ≤ 1e-4.
 * - int8: calibrated on generator samples, evaluated on other samples of the same generator; the
 *   bound is max |int8 − float32| ≤ 3% of the float32 logits' range (per-tensor activations carry
 *   ≈ 0.2% of their range as rounding error per layer, so a few percent allows for ~10 layers of
 *   it), top-1 agreement ≥ 90% even on random-weight models whose class margins are small.
 * - a trained model (the bundled LeNet-5 MNIST teacher): int8 accuracy within 0.5 points of float32
 *   on MNIST test images, file ≥ 3.5× smaller.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as flatbuffers from 'flatbuffers';
import { join } from 'node:path';
import { executeGraph } from '../../../src-main/engine/export/execute.ts';
import { graphFromModel, type StudentGraph } from '../../../src-main/engine/export/graph.ts';
import { calibrationFromSamples } from '../../../src-main/engine/export/quantize.ts';
import { int8Boundary, toTflite } from '../../../src-main/engine/export/tflite.ts';
import { BuiltinOperator, Model, TensorType } from '../../../src-main/engine/export/tflite/generated/schema_generated.ts';
import { buildDaflGenerator, buildLeNet5Half, loadTeacher } from '../../../src-main/engine/models/index.ts';
import { bundledTeachersDir } from '../../../src-main/engine/paths.ts';
import { useWasm } from '../backend/helpers.ts';
import { compileTflite, type TfliteRunner } from '../../../bench/litert.ts';
import { everyLayerModel, mnistImages, randomiseBatchNorm, zooStudent, ZOO_CLASSIFIERS } from './student-fixtures.ts';

beforeAll(async () => {
  // Distillery's wasm kernels: the tfjs side (predict, calibration, the generator) in reasonable
  // time for ResNet-18 on a shared 2-core machine.
  await useWasm();
});

async function runAll(runner: TfliteRunner, images: tf.Tensor4D): Promise<Float32Array[]> {
  const [n, ...shape] = images.shape;
  const values = images.dataSync() as Float32Array;
  const size = shape.reduce((a, b) => a * b, 1);
  const out: Float32Array[] = [];
  for (let i = 0; i < n; i++) out.push(await runner.run(values.subarray(i * size, (i + 1) * size)));
  return out;
}

/** A .tflite file compiled in LiteRT, run on every image, and released. */
async function runFile(file: Uint8Array, images: tf.Tensor4D): Promise<Float32Array[]> {
  const runner = await compileTflite(file);
  try {
    return await runAll(runner, images);
  } finally {
    runner.delete();
  }
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

function maxAbsDiff(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  let worst = 0;
  a.forEach((row, i) => {
    for (let k = 0; k < row.length; k++) worst = Math.max(worst, Math.abs(row[k]! - b[i]![k]!));
  });
  return worst;
}

function readModel(file: Uint8Array) {
  const bb = new flatbuffers.ByteBuffer(file);
  expect(Model.bufferHasIdentifier(bb)).toBe(true);
  return Model.getRootAsModel(bb);
}

function operatorCodes(file: Uint8Array): BuiltinOperator[] {
  const model = readModel(file);
  const graph = model.subgraphs(0)!;
  return Array.from({ length: graph.operatorsLength() }, (_, i) => model.operatorCodes(graph.operators(i)!.opcodeIndex())!.builtinCode());
}

describe('TFLite file structure', () => {
  it('writes LeNet-5-half as TFL3 flatbuffer ops, float32 and int8 with per-channel weights', () => {
    const model = buildLeNet5Half({ inputShape: [32, 32, 1], numClasses: 10, seed: 1 });
    const graph = graphFromModel(model);
    const float = toTflite(graph);
    expect(operatorCodes(float)).toEqual([
      BuiltinOperator.CONV_2D, BuiltinOperator.MAX_POOL_2D, BuiltinOperator.CONV_2D, BuiltinOperator.MAX_POOL_2D,
      BuiltinOperator.CONV_2D, BuiltinOperator.RESHAPE, BuiltinOperator.FULLY_CONNECTED, BuiltinOperator.FULLY_CONNECTED,
    ]);
    const samples = tf.randomUniform([8, 32, 32, 1], -1, 1, 'float32', 1) as tf.Tensor4D;
    const int8 = toTflite(graph, { quantization: calibrationFromSamples(graph, [samples]) });
    const codes = operatorCodes(int8);
    expect(codes[0]).toBe(BuiltinOperator.QUANTIZE);
    expect(codes.at(-1)).toBe(BuiltinOperator.DEQUANTIZE);

    const file = readModel(int8);
    const sub = file.subgraphs(0)!;
    const tensor = (name: string) => Array.from({ length: sub.tensorsLength() }, (_, i) => sub.tensors(i)!).find((t) => t.name() === name)!;
    // Float32 boundaries under the model's own tensor names.
    const input = sub.tensors(sub.inputs(0)!)!;
    const output = sub.tensors(sub.outputs(0)!)!;
    expect([input.name(), input.type(), Array.from(input.shapeArray()!)]).toEqual([graph.inputName, TensorType.FLOAT32, [1, 32, 32, 1]]);
    expect([output.name(), output.type(), Array.from(output.shapeArray()!)]).toEqual([graph.outputName, TensorType.FLOAT32, [1, 10]]);
    // conv2: OHWI int8 kernel, one scale per output channel on axis 0; int32 bias, scales input·weight.
    const kernel = tensor('conv2/weights');
    expect([kernel.type(), Array.from(kernel.shapeArray()!)]).toEqual([TensorType.INT8, [8, 5, 5, 3]]);
    const kq = kernel.quantization()!;
    expect([kq.scaleLength(), kq.zeroPointLength(), kq.quantizedDimension()]).toEqual([8, 8, 0]);
    const bias = tensor('conv2/bias');
    expect(bias.type()).toBe(TensorType.INT32);
    const inputScale = tensor('pool1').quantization()!.scale(0)!;
    expect(bias.quantization()!.scale(3)).toBeCloseTo(inputScale * kq.scale(3)!, 12);
    // Weights sit 16-byte aligned in the file, as the converter writes them.
    const data = file.buffers(kernel.buffer())!.dataArray()!;
    expect(data.byteOffset % 16).toBe(0);
    expect(data.length).toBe(8 * 5 * 5 * 3);

    // Per-tensor weight scales: one scale for kernel and bias, a smaller file.
    const perTensor = toTflite(graph, { quantization: calibrationFromSamples(graph, [samples]), weightScales: 'per-tensor' });
    const pt = readModel(perTensor).subgraphs(0)!;
    const ptKernel = Array.from({ length: pt.tensorsLength() }, (_, i) => pt.tensors(i)!).find((t) => t.name() === 'conv2/weights')!;
    expect([ptKernel.quantization()!.scaleLength(), ptKernel.quantization()!.zeroPointLength()]).toEqual([1, 1]);
    expect(perTensor.length).toBeLessThan(int8.length);
  });

  it('int8 I/O: int8 boundary tensors with the calibrated scales, no QUANTIZE / DEQUANTIZE, otherwise the same model', () => {
    const model = buildLeNet5Half({ inputShape: [32, 32, 1], numClasses: 10, seed: 1 });
    const graph = graphFromModel(model);
    const calibration = calibrationFromSamples(graph, [tf.randomUniform([8, 32, 32, 1], -1, 1, 'float32', 1) as tf.Tensor4D]);
    const floatIo = toTflite(graph, { quantization: calibration });
    const int8Io = toTflite(graph, { quantization: calibration, io: 'int8' });
    expect(operatorCodes(int8Io)).toEqual(operatorCodes(floatIo).slice(1, -1));
    const sub = readModel(int8Io).subgraphs(0)!;
    const boundary = int8Boundary(graph, calibration);
    for (const [t, name, q] of [
      [sub.tensors(sub.inputs(0)!)!, graph.inputName, boundary.input],
      [sub.tensors(sub.outputs(0)!)!, graph.outputName, boundary.output],
    ] as const) {
      expect([t.name(), t.type()]).toEqual([name, TensorType.INT8]);
      expect(t.quantization()!.scale(0)).toBeCloseTo(q.scale, 7);
      expect(Number(t.quantization()!.zeroPoint(0))).toBe(q.zeroPoint);
    }
    // The inner tensors are those of the float-I/O file, minus its two float boundary tensors.
    const floatSub = readModel(floatIo).subgraphs(0)!;
    const inner = (g: typeof sub) => Array.from({ length: g.tensorsLength() }, (_, i) => g.tensors(i)!).filter((t) => t.type() !== TensorType.FLOAT32).map((t) => `${t.name()!.replace(/\/int8$/, '')}:${t.type()}:${t.shapeArray()}`);
    expect(inner(sub)).toEqual(inner(floatSub));
    expect(int8Io.length).toBeLessThan(floatIo.length);
    expect(() => int8Boundary(graph, { ...calibration, ranges: {} })).toThrow(/no range/);
  });

  it('stripped strings: no tensor names or description, same outputs in LiteRT', async () => {
    const model = buildLeNet5Half({ inputShape: [32, 32, 1], numClasses: 10, seed: 1 });
    const graph = graphFromModel(model);
    const images = tf.randomUniform([4, 32, 32, 1], -1, 1, 'float32', 2) as tf.Tensor4D;
    const calibration = calibrationFromSamples(graph, [tf.randomUniform([8, 32, 32, 1], -1, 1, 'float32', 1) as tf.Tensor4D]);
    for (const options of [{}, { quantization: calibration }]) {
      const named = toTflite(graph, options);
      const stripped = toTflite(graph, { ...options, stripStrings: true });
      const file = readModel(stripped);
      const sub = file.subgraphs(0)!;
      expect(file.description()).toBeNull();
      expect(sub.name()).toBeNull();
      expect(Array.from({ length: sub.tensorsLength() }, (_, i) => sub.tensors(i)!.name()).every((n) => n === null)).toBe(true);
      expect(stripped.length).toBeLessThan(named.length - 200);
      expect(maxAbsDiff(await runFile(stripped, images), await runFile(named, images))).toBe(0);
    }
  });
});

interface ZooCase {
  arch: string;
  shape: [number, number, number];
  calibration: { batches: number; batchSize: number };
  evalSamples: number;
}

const ZOO: ZooCase[] = [
  { arch: 'lenet5-half', shape: [32, 32, 1], calibration: { batches: 4, batchSize: 16 }, evalSamples: 32 },
  { arch: 'wrn-16-1', shape: [32, 32, 3], calibration: { batches: 4, batchSize: 16 }, evalSamples: 32 },
  { arch: 'resnet18', shape: [32, 32, 3], calibration: { batches: 2, batchSize: 8 }, evalSamples: 10 },
];

describe.each(ZOO)('$arch in LiteRT (seeded random weights, randomised BatchNorm statistics)', ({ arch, shape, calibration, evalSamples }) => {
  let model: tf.LayersModel;
  let graph: StudentGraph;
  let images: tf.Tensor4D;
  let reference: number[][];
  let floatOut: Float32Array[];
  let floatSize: number;

  /** Samples of a (random-weight) DAFL generator in inference mode, as a run's generator gives them. */
  const generator = buildDaflGenerator({ outputShape: shape, latentDim: 32, seed: 12 });
  const generated = (n: number, seed: number) => tf.tidy(() => generator.predict(tf.randomNormal([n, 32], 0, 1, 'float32', seed)) as tf.Tensor4D);

  beforeAll(() => {
    model = zooStudent(ZOO_CLASSIFIERS.find((spec) => spec.name === arch)!, 11);
    graph = graphFromModel(model);
    images = generated(evalSamples, 1000);
    reference = (model.predict(images) as tf.Tensor).arraySync() as number[][];
  });

  it('float32: the graph executor and the .tflite file reproduce predict (≤ 1e-4)', async () => {
    const executed = executeGraph(graph, images).arraySync();
    expect(maxAbsDiff(executed, reference)).toBeLessThanOrEqual(1e-5);
    const file = toTflite(graph);
    floatSize = file.length;
    const runner = await compileTflite(file);
    try {
      expect(runner.inputShape).toEqual([1, ...shape]);
      expect(runner.outputShape).toEqual([1, 10]);
      floatOut = await runAll(runner, images);
    } finally {
      runner.delete();
    }
    const diff = maxAbsDiff(floatOut, reference);
    console.log(`${arch} float32 TFLite: ${file.length} bytes, max |TFLite − predict| = ${diff.toExponential(2)}`);
    expect(diff).toBeLessThanOrEqual(1e-4);
  });

  it('int8: calibrated on generator samples, within quantization error of float32', async () => {
    expect(floatOut).toBeDefined();
    const batches = Array.from({ length: calibration.batches }, (_, i) => generated(calibration.batchSize, i));
    const file = toTflite(graph, { quantization: calibrationFromSamples(graph, batches) });
    tf.dispose(batches);
    const int8Out = await runFile(file, images);
    const flat = floatOut.flatMap((row) => Array.from(row));
    const range = Math.max(...flat) - Math.min(...flat);
    const error = maxAbsDiff(int8Out, floatOut);
    const agreement = int8Out.filter((row, i) => argmax(row) === argmax(floatOut[i]!)).length / int8Out.length;
    console.log(`${arch} int8 TFLite: ${file.length} bytes (float32 ÷ ${(floatSize / file.length).toFixed(2)}), max |int8 − float32| = ${error.toExponential(2)} = ${((100 * error) / range).toFixed(2)}% of the logit range, top-1 agreement ${(100 * agreement).toFixed(1)}%`);
    expect(error).toBeGreaterThan(0); // really quantized
    expect(error / range).toBeLessThanOrEqual(0.03);
    expect(agreement).toBeGreaterThanOrEqual(0.9);
    expect(file.length).toBeLessThan(floatSize / 3);
  });
});

describe('operators the zoo students do not use', () => {
  it('standalone BatchNorm, ReLU and LeakyReLU, a three-way Add, average pooling, softmax', async () => {
    const input = tf.input({ shape: [8, 8, 2], name: 'image' });
    const bn = tf.layers.batchNormalization({ name: 'bn' }).apply(input) as tf.SymbolicTensor; // reads the input: cannot fold
    const init = (seed: number) => ({ kernelInitializer: tf.initializers.glorotUniform({ seed }), biasInitializer: tf.initializers.randomNormal({ stddev: 0.1, seed: seed + 1 }) });
    const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', name: 'conv', ...init(1) }).apply(bn) as tf.SymbolicTensor;
    const leaky = tf.layers.leakyReLU({ alpha: 0.2, name: 'leaky' }).apply(conv) as tf.SymbolicTensor;
    const relu = tf.layers.reLU({ name: 'relu' }).apply(conv) as tf.SymbolicTensor; // conv has two readers: a RELU op
    const mix = tf.layers.conv2d({ filters: 4, kernelSize: 1, name: 'mix', ...init(3) }).apply(relu) as tf.SymbolicTensor;
    const sum = tf.layers.add({ name: 'sum' }).apply([leaky, relu, mix]) as tf.SymbolicTensor;
    const pool = tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'pool' }).apply(sum) as tf.SymbolicTensor;
    const flat = tf.layers.flatten({ name: 'flat' }).apply(pool) as tf.SymbolicTensor;
    const fc = tf.layers.dense({ units: 5, name: 'fc', ...init(5) }).apply(flat) as tf.SymbolicTensor;
    const probs = tf.layers.activation({ activation: 'softmax', name: 'probs' }).apply(fc) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: probs });
    randomiseBatchNorm(model, 7);
    const graph = graphFromModel(model);
    expect(graph.nodes.map((n) => n.op)).toEqual(['batchNorm', 'conv2d', 'leakyRelu', 'relu', 'conv2d', 'add', 'avgPool', 'flatten', 'dense', 'softmax']);

    const images = tf.randomNormal([16, 8, 8, 2], 0, 1, 'float32', 3) as tf.Tensor4D;
    const reference = (model.predict(images) as tf.Tensor).arraySync() as number[][];
    const float = toTflite(graph);
    expect(operatorCodes(float)).toEqual([
      BuiltinOperator.DEPTHWISE_CONV_2D, BuiltinOperator.CONV_2D, BuiltinOperator.LEAKY_RELU, BuiltinOperator.RELU, BuiltinOperator.CONV_2D,
      BuiltinOperator.ADD, BuiltinOperator.ADD, BuiltinOperator.AVERAGE_POOL_2D, BuiltinOperator.RESHAPE, BuiltinOperator.FULLY_CONNECTED, BuiltinOperator.SOFTMAX,
    ]);
    const floatOut = await runFile(float, images);
    expect(maxAbsDiff(floatOut, reference)).toBeLessThanOrEqual(1e-4);

    // Calibrated on a set that holds the test images, so that what is measured is rounding, not
    // the clipping of values outside a calibration range (bench/tflite.ts measures that case).
    const calibration = calibrationFromSamples(graph, [images, tf.randomNormal([32, 8, 8, 2], 0, 1, 'float32', 4) as tf.Tensor4D]);
    const int8Out = await runFile(toTflite(graph, { quantization: calibration }), images);
    // Probabilities: the int8 softmax writes them in steps of 1/256; a few steps of error.
    const error = maxAbsDiff(int8Out, floatOut);
    console.log(`other operators: float32 max |TFLite − predict| = ${maxAbsDiff(floatOut, reference).toExponential(2)}, int8 max |Δ probability| = ${error.toFixed(4)}`);
    expect(error).toBeGreaterThan(0);
    expect(error).toBeLessThanOrEqual(0.02);
  });
});

describe('every layer kind the exporters support (student-fixtures.ts)', () => {
  it('float32 reproduces predict; int8 within quantization error', async () => {
    const model = everyLayerModel();
    const graph = graphFromModel(model);
    const images = tf.randomNormal([16, 9, 10, 2], 0, 1, 'float32', 5) as tf.Tensor4D;
    const reference = (model.predict(images) as tf.Tensor).arraySync() as number[][];
    const floatOut = await runFile(toTflite(graph), images);
    expect(maxAbsDiff(floatOut, reference)).toBeLessThanOrEqual(1e-4);
    // As above: calibration covers the test images, so the error is rounding alone.
    const calibration = calibrationFromSamples(graph, [images, tf.randomNormal([32, 9, 10, 2], 0, 1, 'float32', 6) as tf.Tensor4D]);
    const int8Out = await runFile(toTflite(graph, { quantization: calibration }), images);
    const flat = floatOut.flatMap((row) => Array.from(row));
    const error = maxAbsDiff(int8Out, floatOut) / (Math.max(...flat) - Math.min(...flat));
    console.log(`every layer: float32 max |TFLite − predict| = ${maxAbsDiff(floatOut, reference).toExponential(2)}, int8 max error ${(100 * error).toFixed(2)}% of the logit range`);
    expect(error).toBeGreaterThan(0);
    expect(error).toBeLessThanOrEqual(0.03);
  });
});

describe('a trained model: the bundled LeNet-5 MNIST teacher', () => {
  it('int8 loses at most 0.5 accuracy points on MNIST test images and is ≥ 3.5× smaller', async () => {
    const teacher = await loadTeacher(join(bundledTeachersDir(), 'lenet5-mnist'));
    const graph = graphFromModel(teacher.model);
    const load = (split: 'train' | 'test', count: number, stride: number) => mnistImages(teacher.manifest, split, count, stride);
    // Calibration here on 128 training images stands in for a trained generator's samples (the
    // teacher has none); the test images are the first 1000 of the test split.
    const calibrationImages = await load('train', 128, 409);
    const test = await load('test', 1000, 1);
    const float = toTflite(graph);
    const int8 = toTflite(graph, { quantization: calibrationFromSamples(graph, [calibrationImages.x]) });
    const accuracy = async (file: Uint8Array) => {
      const out = await runFile(file, test.x);
      return out.filter((row, i) => argmax(row) === test.labels[i]).length / out.length;
    };
    const perTensor = toTflite(graph, { quantization: calibrationFromSamples(graph, [calibrationImages.x]), weightScales: 'per-tensor' });
    const floatAccuracy = await accuracy(float);
    const int8Accuracy = await accuracy(int8);
    const perTensorAccuracy = await accuracy(perTensor);
    console.log(`lenet5 MNIST teacher: float32 ${float.length} bytes ${(100 * floatAccuracy).toFixed(1)}%, int8 ${int8.length} bytes ${(100 * int8Accuracy).toFixed(1)}% (÷ ${(float.length / int8.length).toFixed(2)}), int8 per-tensor weights ${perTensor.length} bytes ${(100 * perTensorAccuracy).toFixed(1)}%`);
    expect(floatAccuracy).toBeGreaterThan(0.95); // the float file is the trained model
    expect(floatAccuracy - int8Accuracy).toBeLessThanOrEqual(0.005);
    expect(floatAccuracy - perTensorAccuracy).toBeLessThanOrEqual(0.01);
    expect(float.length / int8.length).toBeGreaterThanOrEqual(3.5);
    teacher.model.dispose();
  });
});
