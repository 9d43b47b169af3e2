/**
 * TFLite writer: the export graph (graph.ts) as a .tflite flatbuffer, float32 or post-training int8,
 * serialised with the npm `flatbuffers` runtime and the code flatc generates from TensorFlow's own
 * schema (tflite/schema.fbs, tflite/generated/).
 *
 * Both files take one float32 image [1, h, w, c] (NHWC, the student's input scale) and give float32
 * scores [1, classes], under the graph's input and output names. The int8 file quantizes the input
 * (QUANTIZE) and dequantizes the output (DEQUANTIZE) itself, so it is a drop-in replacement: callers
 * never see int8 tensors. The batch is 1 in the file (the schema version vendored here has no
 * shape_signature); no operator fixes it (RESHAPE asks for [−1, n]), so a runtime may resize the input.
 *
 * Int8 (quantize.ts): weights int8 symmetric with one scale per output channel (or per tensor, on
 * request), biases int32, activations int8 asymmetric per tensor from calibrated min/max ranges.
 *
 * Operators: CONV_2D (fused ReLU; PAD first where the padding is neither 'valid' nor TensorFlow's
 * 'same'), DEPTHWISE_CONV_2D 1×1 for a BatchNorm that could not be folded (a per-channel
 * multiply-add in one op, with per-channel int8 scales where MUL by a per-tensor int8 constant
 * would crush channels of small scale), MAX_POOL_2D, AVERAGE_POOL_2D, MEAN for global average
 * pooling, RESHAPE for flatten, FULLY_CONNECTED, ADD (a chain of them for more than two inputs),
 * RELU, LEAKY_RELU, SOFTMAX. A ReLU that is the only reader of a BatchNorm or an Add becomes that
 * op's fused activation.
 */
import * as flatbuffers from 'flatbuffers';
import { DistilleryError } from '../errors.ts';
import { partialSumName, poolPadding, tensorShapes } from './execute.ts';
import { samePads, type FusedActivation, type GraphNode, type StudentGraph } from './graph.ts';
import { activationQuantization, quantizeBias, quantizeWeightsPerChannel, type AffineQuantization, type Int8Calibration } from './quantize.ts';
import {
  ActivationFunctionType,
  AddOptions,
  Buffer as TfliteBuffer,
  BuiltinOperator,
  BuiltinOptions,
  Conv2DOptions,
  DepthwiseConv2DOptions,
  FullyConnectedOptions,
  LeakyReluOptions,
  Model,
  Operator,
  OperatorCode,
  PadOptions,
  Padding,
  Pool2DOptions,
  QuantizationParameters,
  ReducerOptions,
  ReshapeOptions,
  SoftmaxOptions,
  SubGraph,
  Tensor,
  TensorType,
} from './tflite/generated/schema_generated.ts';

export interface TfliteOptions {
  /** Write an int8 model calibrated with these ranges (quantize.ts); float32 when absent. */
  quantization?: Int8Calibration;
  /**
   * Int8 weight scales: one per output channel (default; what TensorFlow's converter does, and what
   * keeps channels of small weights from rounding to zero), or one per tensor (a few hundred bytes
   * smaller: each channel costs a float32 scale and an int64 zero point, for weight and bias).
   */
  weightScales?: 'per-channel' | 'per-tensor';
  /**
   * Int8 only: the type of the file's input and output. 'float32' (default): the file quantizes its
   * input and dequantizes its output itself, a drop-in replacement for the float32 file. 'int8': the
   * caller feeds int8 and reads int8 (`int8Boundary` gives the scales), as microcontroller runtimes
   * (TFLite Micro) and TensorFlow's converter with inference_input_type=int8 do: no float at all in
   * the file, and two operators and two tensors fewer.
   */
  io?: 'float32' | 'int8';
  /**
   * Leave out the strings no runtime needs — tensor and subgraph names, the description — as
   * TensorFlow Lite's own strip_strings tool does for production builds: a few hundred bytes, which
   * matter on a 16 kB model. Runtimes address inputs and outputs by index; tools such as Netron then
   * show numbers instead of names.
   */
  stripStrings?: boolean;
}

interface QuantSpec {
  scales: ArrayLike<number>;
  zeroPoints: ArrayLike<number>;
  quantizedDimension: number;
}

interface TensorSpec {
  name: string;
  shape: number[];
  type: TensorType;
  /** Index into the model's buffers; 0 is the empty buffer of tensors computed at run time. */
  buffer: number;
  quantization?: QuantSpec;
}

interface OperatorSpec {
  code: BuiltinOperator;
  inputs: number[];
  outputs: number[];
  optionsType: BuiltinOptions;
  /** Writes the options table; called while serialising (flatbuffers builds children first). */
  options?: (builder: flatbuffers.Builder) => flatbuffers.Offset;
}

/**
 * Operator versions the file declares, by what it uses: the int8 kernels are the later versions of
 * each builtin (per-channel int8 CONV_2D is version 3, int8 FULLY_CONNECTED 4, …). Runtimes
 * register every version up to their newest, so declaring the lowest that covers the use is safest.
 */
const FLOAT_VERSION = 1;
const INT8_VERSIONS: Partial<Record<BuiltinOperator, number>> = {
  [BuiltinOperator.CONV_2D]: 3,
  [BuiltinOperator.DEPTHWISE_CONV_2D]: 3,
  [BuiltinOperator.FULLY_CONNECTED]: 4,
  [BuiltinOperator.ADD]: 2,
  [BuiltinOperator.MAX_POOL_2D]: 2,
  [BuiltinOperator.AVERAGE_POOL_2D]: 2,
  [BuiltinOperator.MEAN]: 2,
  [BuiltinOperator.PAD]: 2,
  [BuiltinOperator.RELU]: 2,
  [BuiltinOperator.LEAKY_RELU]: 2,
  [BuiltinOperator.SOFTMAX]: 2,
  [BuiltinOperator.QUANTIZE]: 2,
  [BuiltinOperator.DEQUANTIZE]: 2,
};

/** TFLite's int8 SOFTMAX writes probabilities with this fixed scale and zero point. */
const SOFTMAX_OUTPUT: AffineQuantization = { scale: 1 / 256, zeroPoint: -128 };

function bytesOf(values: Float32Array | Int32Array | Int8Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

function fusedActivation(activation: FusedActivation): ActivationFunctionType {
  return activation === 'relu' ? ActivationFunctionType.RELU : ActivationFunctionType.NONE;
}

/** Conv kernel HWIO (tfjs) → OHWI (TFLite). */
function kernelToOhwi(kernel: Float32Array, [kh, kw, cin, cout]: [number, number, number, number]): Float32Array {
  const out = new Float32Array(kernel.length);
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      for (let ci = 0; ci < cin; ci++) {
        for (let co = 0; co < cout; co++) out[((co * kh + ky) * kw + kx) * cin + ci] = kernel[((ky * kw + kx) * cin + ci) * cout + co]!;
      }
    }
  }
  return out;
}

/** Dense weights [in, out] (tfjs) → [out, in] (TFLite FULLY_CONNECTED). */
function transpose([rows, cols]: [number, number], values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}

class TfliteModelBuilder {
  readonly tensors: TensorSpec[] = [];
  readonly operators: OperatorSpec[] = [];
  /** Buffer 0 is the empty buffer every schema-conforming file starts with. */
  readonly buffers: Uint8Array[] = [new Uint8Array(0)];
  private readonly tensorIndex = new Map<string, number>();

  constructor(private readonly int8: boolean) {}

  addTensor(spec: Omit<TensorSpec, 'buffer'>, data?: Uint8Array): number {
    if (this.tensorIndex.has(spec.name)) throw new DistilleryError('INTERNAL', `TFLite writer: tensor '${spec.name}' written twice`);
    let buffer = 0;
    if (data) {
      buffer = this.buffers.length;
      this.buffers.push(data);
    }
    this.tensors.push({ ...spec, buffer });
    this.tensorIndex.set(spec.name, this.tensors.length - 1);
    return this.tensors.length - 1;
  }

  index(name: string): number {
    const i = this.tensorIndex.get(name);
    if (i === undefined) throw new DistilleryError('INTERNAL', `TFLite writer: tensor '${name}' used before it is written`);
    return i;
  }

  addOperator(spec: OperatorSpec): void {
    this.operators.push(spec);
  }

  int32Constant(name: string, values: number[], shape = [values.length]): number {
    return this.addTensor({ name, shape, type: TensorType.INT32 }, bytesOf(Int32Array.from(values)));
  }

  /** `description` null: the file has no strings besides what the schema requires (none). */
  serialize(inputs: number[], outputs: number[], description: string | null): Uint8Array {
    const dataBytes = this.buffers.reduce((s, b) => s + b.length + 16, 0);
    const builder = new flatbuffers.Builder(dataBytes + 65_536);

    const buffers = this.buffers.map((data) => {
      if (data.length === 0) return TfliteBuffer.createBuffer(builder, 0);
      // Weights 16-byte aligned, as TensorFlow's converter writes them: kernels read them in place
      // as float/int32 arrays. The bytes are copied in one go rather than byte by byte.
      builder.startVector(1, data.length, 16);
      builder.pad(data.length);
      const bb = builder.dataBuffer();
      bb.bytes().set(data, bb.capacity() - builder.offset());
      return TfliteBuffer.createBuffer(builder, builder.endVector());
    });

    // Identical shape, scale and zero-point vectors are written once and shared (flatbuffers
    // allows it): a weight and its bias share their all-zero zero points, same-shaped activations
    // their shape. Small files (LeNet-5-half is 16 kB as int8) feel every 8-byte zero point.
    const shared = new Map<string, flatbuffers.Offset>();
    const sharedVector = (kind: string, values: ArrayLike<number>, write: () => flatbuffers.Offset): flatbuffers.Offset => {
      const key = `${kind}:${Array.from(values).join(',')}`;
      let offset = shared.get(key);
      if (offset === undefined) shared.set(key, (offset = write()));
      return offset;
    };
    const tensors = this.tensors.map((t) => {
      const name = description === null ? 0 : builder.createString(t.name);
      const shape = sharedVector('shape', t.shape, () => Tensor.createShapeVector(builder, t.shape));
      let quantization = 0;
      if (t.quantization) {
        const q = t.quantization;
        // A whole parameter table is shared too: a pooling or reshape output has its input's.
        quantization = sharedVector(`quantization:${q.quantizedDimension}:${Array.from(q.zeroPoints).join(',')}`, q.scales, () => {
          const scale = sharedVector('scale', q.scales, () => QuantizationParameters.createScaleVector(builder, Array.from(q.scales)));
          const zeroPoint = sharedVector('zero', q.zeroPoints, () => QuantizationParameters.createZeroPointVector(builder, Array.from(q.zeroPoints, (z) => BigInt(z))));
          QuantizationParameters.startQuantizationParameters(builder);
          QuantizationParameters.addScale(builder, scale);
          QuantizationParameters.addZeroPoint(builder, zeroPoint);
          QuantizationParameters.addQuantizedDimension(builder, q.quantizedDimension);
          return QuantizationParameters.endQuantizationParameters(builder);
        });
      }
      Tensor.startTensor(builder);
      Tensor.addShape(builder, shape);
      Tensor.addType(builder, t.type);
      Tensor.addBuffer(builder, t.buffer);
      if (name) Tensor.addName(builder, name);
      if (quantization) Tensor.addQuantization(builder, quantization);
      return Tensor.endTensor(builder);
    });

    const codes: BuiltinOperator[] = [];
    for (const op of this.operators) if (!codes.includes(op.code)) codes.push(op.code);
    const operatorCodes = codes.map((code) => OperatorCode.createOperatorCode(builder, code, 0, this.int8 ? (INT8_VERSIONS[code] ?? FLOAT_VERSION) : FLOAT_VERSION));

    const operators = this.operators.map((op) => {
      const options = op.options?.(builder) ?? 0;
      const opInputs = Operator.createInputsVector(builder, op.inputs);
      const opOutputs = Operator.createOutputsVector(builder, op.outputs);
      Operator.startOperator(builder);
      Operator.addOpcodeIndex(builder, codes.indexOf(op.code));
      Operator.addInputs(builder, opInputs);
      Operator.addOutputs(builder, opOutputs);
      if (options) {
        Operator.addBuiltinOptionsType(builder, op.optionsType);
        Operator.addBuiltinOptions(builder, options);
      }
      return Operator.endOperator(builder);
    });

    const subgraph = SubGraph.createSubGraph(
      builder,
      SubGraph.createTensorsVector(builder, tensors),
      SubGraph.createInputsVector(builder, inputs),
      SubGraph.createOutputsVector(builder, outputs),
      SubGraph.createOperatorsVector(builder, operators),
      description === null ? 0 : builder.createString('main'),
    );
    const model = Model.createModel(
      builder,
      3, // schema version: TFL3
      Model.createOperatorCodesVector(builder, operatorCodes),
      Model.createSubgraphsVector(builder, [subgraph]),
      description === null ? 0 : builder.createString(description),
      Model.createBuffersVector(builder, buffers),
      0,
      0,
    );
    Model.finishModelBuffer(builder, model);
    return builder.asUint8Array().slice();
  }
}

/** For each ReLU node that can become the fused activation of the BatchNorm or Add it reads, that producer's name. */
function reluFusions(graph: StudentGraph): Map<string, string> {
  const readers = new Map<string, GraphNode[]>();
  for (const node of graph.nodes) for (const input of node.inputs) readers.set(input, [...(readers.get(input) ?? []), node]);
  const fused = new Map<string, string>();
  for (const node of graph.nodes) {
    if (node.op !== 'batchNorm' && node.op !== 'add') continue;
    const r = readers.get(node.output) ?? [];
    if (r.length === 1 && r[0]!.op === 'relu' && node.output !== graph.outputName) fused.set(r[0]!.name, node.name);
  }
  return fused;
}

/**
 * Int8 parameters of every tensor the graph names. Pooling and reshaping keep their input's (TFLite's
 * int8 kernels for them require it: they move values, never rescale), softmax has fixed ones, the
 * rest come from the calibrated ranges.
 */
function activationParams(graph: StudentGraph, calibration: Int8Calibration): Map<string, AffineQuantization> {
  const range = (name: string) => {
    const r = calibration.ranges[name];
    if (!r) throw new DistilleryError('BAD_INPUT', `the int8 calibration has no range for tensor '${name}': it was made for another model`);
    return r;
  };
  const params = new Map<string, AffineQuantization>([[graph.inputName, activationQuantization(range(graph.inputName))]]);
  for (const node of graph.nodes) {
    if (node.op === 'maxPool' || node.op === 'avgPool' || node.op === 'flatten') params.set(node.output, params.get(node.inputs[0]!)!);
    else if (node.op === 'softmax') params.set(node.output, SOFTMAX_OUTPUT);
    else params.set(node.output, activationQuantization(range(node.output)));
    if (node.op === 'add') {
      for (let k = 1; k < node.inputs.length - 1; k++) params.set(partialSumName(node.name, k), activationQuantization(range(partialSumName(node.name, k))));
    }
  }
  return params;
}

/** The graph as a .tflite file (float32, or int8 with `options.quantization`). */
export function toTflite(graph: StudentGraph, options: TfliteOptions = {}): Uint8Array {
  const calibration = options.quantization;
  const int8 = calibration !== undefined;
  const int8Io = int8 && options.io === 'int8';
  const perTensor = options.weightScales === 'per-tensor';
  const params = calibration ? activationParams(graph, calibration) : new Map<string, AffineQuantization>();
  const shapes = tensorShapes(graph);
  const m = new TfliteModelBuilder(int8);
  const fusions = reluFusions(graph);
  const fusedInto = new Map([...fusions].map(([relu, producer]) => [producer, relu]));
  const nodeByName = new Map(graph.nodes.map((n) => [n.name, n]));

  /** Internal names: in the int8 model with float I/O the float boundary tensors keep the graph's names. */
  const internal = (name: string): string => (int8 && !int8Io && (name === graph.inputName || name === graph.outputName) ? `${name}/int8` : name);
  const activationType = int8 ? TensorType.INT8 : TensorType.FLOAT32;
  const quantSpec = (q: AffineQuantization): QuantSpec => ({ scales: [q.scale], zeroPoints: [q.zeroPoint], quantizedDimension: 0 });
  const activationTensor = (name: string, shape: number[], q?: AffineQuantization): number =>
    m.addTensor({ name: internal(name), shape: [1, ...shape], type: activationType, ...(int8 ? { quantization: quantSpec(q ?? params.get(name)!) } : {}) });

  /**
   * RESHAPE of the tensor at `input` to [batch, ...shape] as a new tensor `name`, which in int8 takes
   * the parameters of tensor `paramsOf` (a reshape moves values, never rescales them). −1 for the
   * batch: nothing in the file then fixes it.
   */
  const reshape = (input: number, name: string, shape: number[], paramsOf: string): number => {
    const newShape = [-1, ...shape];
    const output = activationTensor(name, shape, int8 ? params.get(paramsOf) : undefined);
    m.addOperator({
      code: BuiltinOperator.RESHAPE,
      inputs: [input, m.int32Constant(`${name}/shape`, newShape)],
      outputs: [output],
      optionsType: BuiltinOptions.ReshapeOptions,
      options: (b) => ReshapeOptions.createReshapeOptions(b, ReshapeOptions.createNewShapeVector(b, newShape)),
    });
    return output;
  };

  /** Weights and bias of a conv/depthwise/dense op: float32 as is, or int8 per channel + int32 bias. */
  const weightTensors = (name: string, inputName: string, weights: Float32Array, shape: number[], channelAxis: number, bias: Float32Array): [number, number] => {
    if (!int8) {
      return [
        m.addTensor({ name: `${name}/weights`, shape, type: TensorType.FLOAT32 }, bytesOf(weights)),
        m.addTensor({ name: `${name}/bias`, shape: [bias.length], type: TensorType.FLOAT32 }, bytesOf(bias)),
      ];
    }
    const channels = perTensor ? 1 : shape[channelAxis]!;
    // Per-channel blocks are the outer axis: true of OHWI and [out, in]; the depthwise kernel
    // [1, 1, 1, C] holds one value per channel, so its blocks are in channel order too.
    const q = quantizeWeightsPerChannel(weights, channels);
    const b = quantizeBias(bias, params.get(inputName)!.scale, perTensor ? new Float32Array(bias.length).fill(q.scales[0]!) : q.scales);
    const zeros = new Array<number>(channels).fill(0);
    const biasScales = perTensor ? b.scales.subarray(0, 1) : b.scales;
    return [
      m.addTensor({ name: `${name}/weights`, shape, type: TensorType.INT8, quantization: { scales: q.scales, zeroPoints: zeros, quantizedDimension: perTensor ? 0 : channelAxis } }, bytesOf(q.values)),
      m.addTensor({ name: `${name}/bias`, shape: [bias.length], type: TensorType.INT32, quantization: { scales: biasScales, zeroPoints: zeros, quantizedDimension: 0 } }, bytesOf(b.values)),
    ];
  };

  // The input, quantized first in the int8 model.
  const inputShape = [...graph.inputShape];
  let input: number;
  if (int8Io) {
    input = activationTensor(graph.inputName, inputShape);
  } else {
    input = m.addTensor({ name: graph.inputName, shape: [1, ...inputShape], type: TensorType.FLOAT32 });
    if (int8) {
      const q = activationTensor(graph.inputName, inputShape);
      m.addOperator({ code: BuiltinOperator.QUANTIZE, inputs: [input], outputs: [q], optionsType: BuiltinOptions.NONE });
    }
  }

  for (const node of graph.nodes) {
    if (fusions.has(node.name)) continue; // written as its producer's fused activation
    const relu = fusedInto.get(node.name);
    // A node with a fused ReLU writes the ReLU's output tensor.
    const outName = relu ? nodeByName.get(relu)!.output : node.output;
    const inShape = shapes.get(node.inputs[0]!)!;
    const input = m.index(internal(node.inputs[0]!));
    switch (node.op) {
      case 'conv2d': {
        const [kh, kw, cin, cout] = node.kernelShape;
        let padding = Padding.VALID;
        let convInput = input;
        if (node.pads.some((p) => p !== 0)) {
          const same = samePads([inShape[0]!, inShape[1]!], [kh, kw], node.strides);
          if (same.every((p, i) => p === node.pads[i])) {
            padding = Padding.SAME;
          } else {
            const [top, left, bottom, right] = node.pads;
            const paddings = m.int32Constant(`${node.name}/paddings`, [0, 0, top, bottom, left, right, 0, 0], [4, 2]);
            convInput = activationTensor(`${node.name}/padded`, [inShape[0]! + top + bottom, inShape[1]! + left + right, cin], int8 ? params.get(node.inputs[0]!) : undefined);
            m.addOperator({
              code: BuiltinOperator.PAD,
              inputs: [input, paddings],
              outputs: [convInput],
              optionsType: BuiltinOptions.PadOptions,
              options: (b) => PadOptions.createPadOptions(b),
            });
          }
        }
        const [w, bias] = weightTensors(node.name, node.inputs[0]!, kernelToOhwi(node.kernel, node.kernelShape), [cout, kh, kw, cin], 0, node.bias);
        const out = activationTensor(outName, node.outputShape);
        const [sh, sw] = node.strides;
        m.addOperator({
          code: BuiltinOperator.CONV_2D,
          inputs: [convInput, w, bias],
          outputs: [out],
          optionsType: BuiltinOptions.Conv2DOptions,
          options: (b) => {
            Conv2DOptions.startConv2DOptions(b);
            Conv2DOptions.addPadding(b, padding);
            Conv2DOptions.addStrideW(b, sw);
            Conv2DOptions.addStrideH(b, sh);
            Conv2DOptions.addFusedActivationFunction(b, fusedActivation(node.activation));
            return Conv2DOptions.endConv2DOptions(b);
          },
        });
        break;
      }
      case 'batchNorm': {
        const channels = node.scale.length;
        // DEPTHWISE_CONV_2D takes images: a BatchNorm of a vector runs on it as a 1×1 image.
        const vector = node.outputShape.length === 1;
        const image = [1, 1, channels];
        const dwInput = vector ? reshape(input, `${node.name}/as_image`, image, node.inputs[0]!) : input;
        const [w, bias] = weightTensors(node.name, node.inputs[0]!, node.scale, [1, 1, 1, channels], 3, node.offset);
        const dwOutput = vector ? activationTensor(`${node.name}/image`, image, params.get(outName)) : activationTensor(outName, node.outputShape);
        m.addOperator({
          code: BuiltinOperator.DEPTHWISE_CONV_2D,
          inputs: [dwInput, w, bias],
          outputs: [dwOutput],
          optionsType: BuiltinOptions.DepthwiseConv2DOptions,
          options: (b) => {
            DepthwiseConv2DOptions.startDepthwiseConv2DOptions(b);
            DepthwiseConv2DOptions.addPadding(b, Padding.VALID);
            DepthwiseConv2DOptions.addStrideW(b, 1);
            DepthwiseConv2DOptions.addStrideH(b, 1);
            DepthwiseConv2DOptions.addDepthMultiplier(b, 1);
            DepthwiseConv2DOptions.addFusedActivationFunction(b, relu ? ActivationFunctionType.RELU : ActivationFunctionType.NONE);
            return DepthwiseConv2DOptions.endDepthwiseConv2DOptions(b);
          },
        });
        if (vector) reshape(dwOutput, outName, node.outputShape, outName);
        break;
      }
      case 'relu':
        m.addOperator({ code: BuiltinOperator.RELU, inputs: [input], outputs: [activationTensor(outName, node.outputShape)], optionsType: BuiltinOptions.NONE });
        break;
      case 'leakyRelu': {
        const alpha = node.alpha;
        m.addOperator({
          code: BuiltinOperator.LEAKY_RELU,
          inputs: [input],
          outputs: [activationTensor(outName, node.outputShape)],
          optionsType: BuiltinOptions.LeakyReluOptions,
          options: (b) => LeakyReluOptions.createLeakyReluOptions(b, alpha),
        });
        break;
      }
      case 'maxPool':
      case 'avgPool': {
        const padding = poolPadding(node, inShape) === 'same' ? Padding.SAME : Padding.VALID;
        const [ph, pw] = node.size;
        const [sh, sw] = node.strides;
        m.addOperator({
          code: node.op === 'maxPool' ? BuiltinOperator.MAX_POOL_2D : BuiltinOperator.AVERAGE_POOL_2D,
          inputs: [input],
          outputs: [activationTensor(outName, node.outputShape)],
          optionsType: BuiltinOptions.Pool2DOptions,
          options: (b) => Pool2DOptions.createPool2DOptions(b, padding, sw, sh, pw, ph, ActivationFunctionType.NONE),
        });
        break;
      }
      case 'globalAvgPool': {
        const axes = m.int32Constant(`${node.name}/axes`, [1, 2]);
        m.addOperator({
          code: BuiltinOperator.MEAN,
          inputs: [input, axes],
          outputs: [activationTensor(outName, node.outputShape)],
          optionsType: BuiltinOptions.ReducerOptions,
          options: (b) => ReducerOptions.createReducerOptions(b, false),
        });
        break;
      }
      case 'flatten':
        reshape(input, outName, node.outputShape, node.inputs[0]!);
        break;
      case 'dense': {
        const [units, outUnits] = node.weightsShape;
        const [w, bias] = weightTensors(node.name, node.inputs[0]!, transpose(node.weightsShape, node.weights), [outUnits, units], 0, node.bias);
        const activation = fusedActivation(node.activation);
        m.addOperator({
          code: BuiltinOperator.FULLY_CONNECTED,
          inputs: [input, w, bias],
          outputs: [activationTensor(outName, node.outputShape)],
          optionsType: BuiltinOptions.FullyConnectedOptions,
          options: (b) => {
            FullyConnectedOptions.startFullyConnectedOptions(b);
            FullyConnectedOptions.addFusedActivationFunction(b, activation);
            return FullyConnectedOptions.endFullyConnectedOptions(b);
          },
        });
        break;
      }
      case 'add': {
        // ADD takes two operands: a chain for more, with partial sums calibrated like any tensor.
        const activation = relu ? ActivationFunctionType.RELU : ActivationFunctionType.NONE;
        let sum = input;
        for (let k = 1; k < node.inputs.length; k++) {
          const last = k === node.inputs.length - 1;
          const out = activationTensor(last ? outName : partialSumName(node.name, k), node.outputShape);
          m.addOperator({
            code: BuiltinOperator.ADD,
            inputs: [sum, m.index(internal(node.inputs[k]!))],
            outputs: [out],
            optionsType: BuiltinOptions.AddOptions,
            options: (b) => AddOptions.createAddOptions(b, last ? activation : ActivationFunctionType.NONE),
          });
          sum = out;
        }
        break;
      }
      case 'softmax':
        m.addOperator({
          code: BuiltinOperator.SOFTMAX,
          inputs: [input],
          outputs: [activationTensor(outName, node.outputShape)],
          optionsType: BuiltinOptions.SoftmaxOptions,
          options: (b) => SoftmaxOptions.createSoftmaxOptions(b, 1),
        });
        break;
    }
  }

  let output = m.index(internal(graph.outputName));
  if (int8 && !int8Io) {
    const floatOutput = m.addTensor({ name: graph.outputName, shape: [1, graph.numClasses], type: TensorType.FLOAT32 });
    m.addOperator({ code: BuiltinOperator.DEQUANTIZE, inputs: [output], outputs: [floatOutput], optionsType: BuiltinOptions.NONE });
    output = floatOutput;
  }
  const description = int8
    ? `Distillery student ${graph.name}, int8${int8Io ? ' (int8 I/O)' : ''} (post-training; activation ranges: ${calibration.statistic} over ${calibration.samples} generated samples)`
    : `Distillery student ${graph.name}, float32`;
  return m.serialize([input], [output], options.stripStrings ? null : description);
}

/**
 * Scale and zero point of the int8 input and output of a file written with `io: 'int8'`:
 * q = clamp(round(x / scale) + zeroPoint, −128, 127) on the way in, x = (q − zeroPoint) · scale out.
 */
export function int8Boundary(graph: StudentGraph, calibration: Int8Calibration): { input: AffineQuantization; output: AffineQuantization } {
  const params = activationParams(graph, calibration);
  return { input: params.get(graph.inputName)!, output: params.get(graph.outputName)! };
}
