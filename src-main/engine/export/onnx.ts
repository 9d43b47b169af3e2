/**
 * ONNX export of a student: the inference graph (graph.ts) written as an ONNX ModelProto with
 * protobufjs and the ONNX Project's official schema (onnx/onnx.proto, vendored; onnx/onnx.json is
 * protobufjs's JSON form of it, so the bundled app needs no .proto file at run time).
 *
 * The model takes NCHW input [batch, channels, height, width], as ONNX convolutions expect, with a
 * free batch dimension, and outputs the logits [batch, classes] (or probabilities with
 * `softmax: true`). Weights are float32 initializers (raw little-endian bytes): kernels OIHW, dense
 * weights [in, out] for Gemm. Where tfjs flattens an image it does so in NHWC order; the ONNX graph
 * transposes to NHWC before its Flatten so the class scores are the same as tfjs's.
 *
 * int8 (`quantization`): post-training quantization in ONNX's QDQ form, the one onnxruntime's
 * quantizer writes and its graph optimiser turns into int8 kernels (QLinearConv, QGemm, ...):
 * - weights int8 (symmetric; per output channel, DequantizeLinear axis 0, or one scale), stored as
 *   int8 initializers and dequantized by a DequantizeLinear node in the graph;
 * - biases int32 with scale inputScale·weightScale and zero point 0 (the int32 accumulator's);
 * - every activation (the input and every layer output, the logits included) through a
 *   QuantizeLinear → DequantizeLinear pair with its calibrated per-tensor int8 scale and zero point.
 * The numbers are quantize.ts's, the same as the TFLite int8 export's. The file still takes and
 * returns float32 (the pairs at the ends quantize and dequantize). Dense weights are written
 * [out, in] with Gemm's transB = 1 in this form, so the output channel is axis 0 as for convs.
 *
 * Regenerate onnx/onnx.json after replacing onnx/onnx.proto:
 *   node -e "const p=require('protobufjs');process.stdout.write(JSON.stringify(p.loadSync('src-main/engine/export/onnx/onnx.proto').toJSON(),null,1)+'\n')" > src-main/engine/export/onnx/onnx.json
 * (tests/engine/export/onnx.test.ts checks that the two agree.)
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { DistilleryError } from '../errors.ts';
import { loadModel, MODEL_FILE, writeFileAtomic } from '../models/index.ts';
import { graphFromModel, type FusedActivation, type GraphNode, type StudentGraph } from './graph.ts';
import { activationQuantization, quantizeBias, quantizeWeightsPerChannel, type AffineQuantization, type Int8Calibration } from './quantize.ts';
import onnxSchema from './onnx/onnx.json' with { type: 'json' };
import { selectedStudentDir } from './tfjs.ts';

/**
 * Opset 13 (ONNX 1.8) has every operator the zoo needs with today's semantics (Softmax over one
 * axis) and is read by nearly every runtime and converter still in use; IR version 7 is its pair.
 */
export const ONNX_OPSET = 13;
export const ONNX_IR_VERSION = 7;

export interface OnnxOptions {
  /** Append a Softmax, so the model outputs class probabilities instead of logits (default false). */
  softmax?: boolean;
  /** Stored as the model's producer_version (e.g. the app version). */
  producerVersion?: string;
  /** int8 in QDQ form with these activation ranges (see the top of this file); float32 without. */
  quantization?: Int8Calibration;
  /** int8: weight scales per output channel (default) or one per tensor. */
  weightScales?: 'per-channel' | 'per-tensor';
}

// The message shapes this writer builds, in protobufjs's camelCase field names (a subset of
// onnx.proto; `ModelProto.verify` checks them against the schema before encoding).
interface TensorProto {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array;
}

interface AttributeProto {
  name: string;
  /** AttributeProto.AttributeType. */
  type: number;
  f?: number;
  i?: number;
  ints?: number[];
}

interface NodeProto {
  name: string;
  opType: string;
  input: string[];
  output: string[];
  attribute?: AttributeProto[];
}

interface ValueInfoProto {
  name: string;
  type: { tensorType: { elemType: number; shape: { dim: ({ dimValue: number } | { dimParam: string })[] } } };
}

interface ModelProto {
  irVersion: number;
  opsetImport: { domain: string; version: number }[];
  producerName: string;
  producerVersion?: string;
  docString: string;
  graph: {
    name: string;
    node: NodeProto[];
    initializer: TensorProto[];
    input: ValueInfoProto[];
    output: ValueInfoProto[];
  };
}

const schema = protobuf.Root.fromJSON(onnxSchema as protobuf.INamespace);
const ModelProtoType = schema.lookupType('onnx.ModelProto');
const attributeType = schema.lookupEnum('onnx.AttributeProto.AttributeType').values;
const dataTypes = schema.lookupEnum('onnx.TensorProto.DataType').values;
const FLOAT = dataTypes.FLOAT!;
const INT8 = dataTypes.INT8!;
const INT32 = dataTypes.INT32!;

/** Values as ONNX raw_data: little-endian whatever the host's byte order. */
function rawData(values: Float32Array | Int32Array | Int8Array): Uint8Array {
  if (values instanceof Int8Array) return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  if (values instanceof Float32Array) for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  else for (let i = 0; i < values.length; i++) view.setInt32(i * 4, values[i]!, true);
  return bytes;
}

function dataTypeOf(values: Float32Array | Int32Array | Int8Array): number {
  return values instanceof Float32Array ? FLOAT : values instanceof Int32Array ? INT32 : INT8;
}

/** [in, out] → [out, in]. */
function transpose2d(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}

/** HWIO (tfjs) → OIHW (ONNX). */
function kernelToOihw(kernel: Float32Array, [kh, kw, cin, cout]: [number, number, number, number]): Float32Array {
  const out = new Float32Array(kernel.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let ci = 0; ci < cin; ci++) {
        for (let co = 0; co < cout; co++) out[((co * cin + ci) * kh + y) * kw + x] = kernel[((y * kw + x) * cin + ci) * cout + co]!;
      }
    }
  }
  return out;
}

const ints = (name: string, values: number[]): AttributeProto => ({ name, type: attributeType.INTS!, ints: values });
const int = (name: string, value: number): AttributeProto => ({ name, type: attributeType.INT!, i: value });
const float = (name: string, value: number): AttributeProto => ({ name, type: attributeType.FLOAT!, f: value });

interface QdqSettings {
  calibration: Int8Calibration;
  perChannel: boolean;
}

/** Builds the ModelProto's graph: initializers and nodes, one or a few ONNX nodes per IR node. */
class OnnxGraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];

  /** IR tensors the ONNX nodes read under another name (the int8 form's dequantized input). */
  private readonly aliases = new Map<string, string>();

  /** `qdq`: write the int8 QDQ form (weights, biases and activations); null: float32. */
  constructor(private readonly qdq: QdqSettings | null = null) {}

  /** From here on, nodes that read IR tensor `tensor` read `name` instead; returns `name`. */
  readAs(tensor: string, name: string): string {
    this.aliases.set(tensor, name);
    return name;
  }

  constant(name: string, dims: number[], values: Float32Array | Int32Array | Int8Array): string {
    this.initializers.push({ name, dims, dataType: dataTypeOf(values), rawData: rawData(values) });
    return name;
  }

  /** The calibrated int8 parameters of an activation tensor. */
  private activation(tensor: string): AffineQuantization {
    const range = this.qdq!.calibration.ranges[tensor];
    if (!range) throw new DistilleryError('INTERNAL', `int8 ONNX export: no calibrated range for tensor '${tensor}'`);
    return activationQuantization(range);
  }

  /** Float `from` → QuantizeLinear → DequantizeLinear → float `to`, with `tensor`'s calibrated parameters (int8 only). */
  quantizeActivation(tensor: string, from: string, to: string): void {
    const q = this.activation(tensor);
    const scale = this.constant(`${tensor}.quant_scale`, [], Float32Array.of(q.scale));
    const zeroPoint = this.constant(`${tensor}.quant_zero_point`, [], Int8Array.of(q.zeroPoint));
    this.node('QuantizeLinear', `${tensor}_quantize`, [from, scale, zeroPoint], `${tensor}_quantized`);
    this.node('DequantizeLinear', `${tensor}_dequantize`, [`${tensor}_quantized`, scale, zeroPoint], to);
  }

  /**
   * A conv / dense layer's weights and bias as graph inputs: float32 initializers, or (int8) int8
   * weights and int32 biases each behind a DequantizeLinear — then `dims` must put the output
   * channel first (the per-channel scales' axis 0).
   * `input` is the tensor the layer reads (its scale is the bias's input scale).
   */
  weightsAndBias(name: string, dims: number[], weights: Float32Array, bias: Float32Array, input: string): [string, string] {
    if (!this.qdq) return [this.constant(`${name}.weight`, dims, weights), this.constant(`${name}.bias`, [bias.length], bias)];
    const channels = dims[0]!;
    const perChannel = this.qdq.perChannel;
    const w = quantizeWeightsPerChannel(weights, perChannel ? channels : 1);
    const b = quantizeBias(bias, this.activation(input).scale, perChannel ? w.scales : new Float32Array(channels).fill(w.scales[0]!));
    const scaleDims = perChannel ? [channels] : [];
    const dequantize = (kind: 'weight' | 'bias', values: Int8Array | Int32Array, valueDims: number[], scales: Float32Array, zeros: Int8Array | Int32Array): string => {
      const inputs = [
        this.constant(`${name}.${kind}_quantized`, valueDims, values),
        this.constant(`${name}.${kind}_scale`, scaleDims, perChannel ? scales : scales.subarray(0, 1)),
        this.constant(`${name}.${kind}_zero_point`, scaleDims, zeros),
      ];
      this.node('DequantizeLinear', `${name}_${kind}_dequantize`, inputs, `${name}.${kind}`, perChannel ? [int('axis', 0)] : undefined);
      return `${name}.${kind}`;
    };
    const zeros = perChannel ? channels : 1;
    return [dequantize('weight', w.values, dims, w.scales, new Int8Array(zeros)), dequantize('bias', b.values, [channels], b.scales, new Int32Array(zeros))];
  }

  node(opType: string, name: string, input: string[], output: string, attribute?: AttributeProto[]): void {
    this.nodes.push({ name, opType, input, output: [output], ...(attribute ? { attribute } : {}) });
  }

  /** `write` the op straight into `output`, or into an intermediate tensor followed by a Relu. */
  withActivation(activation: FusedActivation, output: string, write: (into: string) => void, name: string): void {
    if (activation === 'none') return write(output);
    write(`${output}_preact`);
    this.node('Relu', `${name}_relu`, [`${output}_preact`], output);
  }

  /** One IR node; in the int8 form its output goes through a Q/DQ pair under the IR's tensor name. */
  add(node: GraphNode, shapes: Map<string, number[]>): void {
    if (!this.qdq) return this.write(node, node.output, shapes);
    this.write(node, `${node.output}_float`, shapes);
    this.quantizeActivation(node.output, `${node.output}_float`, node.output);
  }

  private write(node: GraphNode, output: string, shapes: Map<string, number[]>): void {
    const name = node.name;
    const inputs = node.inputs.map((i) => this.aliases.get(i) ?? i);
    switch (node.op) {
      case 'conv2d': {
        const [kh, kw, cin, cout] = node.kernelShape;
        const [weight, bias] = this.weightsAndBias(name, [cout, cin, kh, kw], kernelToOihw(node.kernel, node.kernelShape), node.bias, node.inputs[0]!);
        this.withActivation(node.activation, output, (into) =>
          this.node('Conv', name, [inputs[0]!, weight, bias], into, [
            ints('kernel_shape', [kh, kw]),
            ints('strides', node.strides),
            // ONNX: [y_begin, x_begin, y_end, x_end], the IR's [top, left, bottom, right].
            ints('pads', node.pads),
            ints('dilations', [1, 1]),
            int('group', 1),
          ]), name);
        return;
      }
      case 'batchNorm': {
        // y = x·scale + offset per channel: [C, 1, 1] broadcasts over NCHW's height and width,
        // [C] over a batch of vectors.
        const c = node.scale.length;
        const dims = node.outputShape.length === 3 ? [c, 1, 1] : [c];
        const scale = this.constant(`${name}.scale`, dims, node.scale);
        const offset = this.constant(`${name}.offset`, dims, node.offset);
        this.node('Mul', `${name}_scale`, [inputs[0]!, scale], `${output}_scaled`);
        this.node('Add', `${name}_offset`, [`${output}_scaled`, offset], output);
        return;
      }
      case 'relu':
        this.node('Relu', name, inputs, output);
        return;
      case 'leakyRelu':
        this.node('LeakyRelu', name, inputs, output, [float('alpha', node.alpha)]);
        return;
      case 'maxPool':
      case 'avgPool':
        this.node(node.op === 'maxPool' ? 'MaxPool' : 'AveragePool', name, inputs, output, [
          ints('kernel_shape', node.size),
          ints('strides', node.strides),
          ints('pads', node.pads),
          // AveragePool: padding never counts (tfjs's 'same'); ONNX's default, stated.
          ...(node.op === 'avgPool' ? [int('count_include_pad', 0)] : []),
        ]);
        return;
      case 'globalAvgPool':
        this.node('GlobalAveragePool', name, inputs, `${output}_nc11`);
        this.node('Flatten', `${name}_flatten`, [`${output}_nc11`], output, [int('axis', 1)]);
        return;
      case 'flatten': {
        const shape = shapes.get(node.inputs[0]!)!;
        // tfjs flattens NHWC; NCHW and NHWC orders agree only when there is one pixel or one channel.
        if (shape.length !== 3 || shape[0]! * shape[1]! === 1 || shape[2] === 1) {
          this.node('Flatten', name, inputs, output, [int('axis', 1)]);
        } else {
          this.node('Transpose', `${name}_nhwc`, inputs, `${output}_nhwc`, [ints('perm', [0, 2, 3, 1])]);
          this.node('Flatten', name, [`${output}_nhwc`], output, [int('axis', 1)]);
        }
        return;
      }
      case 'dense': {
        const [inUnits, outUnits] = node.weightsShape;
        // int8: [out, in] (Gemm's transB) so that the output channel is the weights' axis 0, as for convs.
        const outFirst = this.qdq !== null;
        const [weight, bias] = outFirst
          ? this.weightsAndBias(name, [outUnits, inUnits], transpose2d(node.weights, inUnits, outUnits), node.bias, node.inputs[0]!)
          : this.weightsAndBias(name, [inUnits, outUnits], node.weights, node.bias, node.inputs[0]!);
        this.withActivation(node.activation, output, (into) => this.node('Gemm', name, [inputs[0]!, weight, bias], into, outFirst ? [int('transB', 1)] : undefined), name);
        return;
      }
      case 'add':
        this.node(inputs.length === 2 ? 'Add' : 'Sum', name, inputs, output);
        return;
      case 'softmax':
        // Over the channels: the last axis in the IR's NHWC, axis 1 of an NCHW image.
        this.node('Softmax', name, inputs, output, [int('axis', node.outputShape.length === 3 ? 1 : -1)]);
        return;
    }
  }
}

function valueInfo(name: string, dims: (number | string)[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

/** The inference graph as an ONNX model file (ModelProto bytes). */
export function toOnnx(graph: StudentGraph, options: OnnxOptions = {}): Uint8Array {
  const quantization = options.quantization;
  const builder = new OnnxGraphBuilder(quantization ? { calibration: quantization, perChannel: options.weightScales !== 'per-tensor' } : null);
  const shapes = new Map<string, number[]>([[graph.inputName, graph.inputShape]]);
  // int8: the graph input keeps its name, so the layers read it through a Q/DQ pair under another.
  if (quantization) builder.quantizeActivation(graph.inputName, graph.inputName, builder.readAs(graph.inputName, `${graph.inputName}_int8`));
  for (const node of graph.nodes) {
    builder.add(node, shapes);
    shapes.set(node.output, node.outputShape);
  }
  let outputName = graph.outputName;
  if (options.softmax) {
    builder.node('Softmax', 'softmax', [outputName], 'probabilities', [int('axis', -1)]);
    outputName = 'probabilities';
  }
  // The writer's own names (`…_preact`, `…_nhwc`, `probabilities`) must not collide with the layers'.
  const names = new Set<string>();
  for (const name of [graph.inputName, ...builder.initializers.map((i) => i.name), ...builder.nodes.flatMap((n) => n.output)]) {
    if (names.has(name)) throw new DistilleryError('BAD_MODEL', `cannot export model '${graph.name}' to ONNX: the tensor name '${name}' would be used twice`, 'rename the layer');
    names.add(name);
  }
  const [h, w, c] = graph.inputShape;
  const model: ModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'distillery',
    ...(options.producerVersion ? { producerVersion: options.producerVersion } : {}),
    docString: `${graph.name}: input NCHW [batch, ${c}, ${h}, ${w}] float32, output ${options.softmax ? 'class probabilities' : 'logits'} [batch, ${graph.numClasses}]${quantization ? `; int8 QDQ (${options.weightScales === 'per-tensor' ? 'per-tensor' : 'per-channel'} weights, per-tensor activations), calibrated on ${quantization.samples} images` : ''}`,
    graph: {
      name: graph.name,
      node: builder.nodes,
      initializer: builder.initializers,
      input: [valueInfo(graph.inputName, ['batch', c, h, w])],
      output: [valueInfo(outputName, ['batch', graph.numClasses])],
    },
  };
  const problem = ModelProtoType.verify(model);
  if (problem) throw new DistilleryError('INTERNAL', `the ONNX model does not match onnx.proto: ${problem}`);
  return ModelProtoType.encode(ModelProtoType.fromObject(model)).finish();
}

export interface OnnxExportResult {
  file: string;
  bytes: number;
  opset: number;
  irVersion: number;
}

/**
 * Writes a student as an ONNX file: `source` is a finished run folder (its selected student) or a
 * model folder (model.json).
 */
export async function exportOnnx(source: string, outFile: string, options: OnnxOptions = {}): Promise<OnnxExportResult> {
  const modelDir = existsSync(join(source, MODEL_FILE)) ? source : selectedStudentDir(source);
  const model = await loadModel(modelDir);
  try {
    writeFileAtomic(outFile, toOnnx(graphFromModel(model), options));
  } finally {
    model.dispose();
  }
  return { file: outFile, bytes: statSync(outFile).size, opset: ONNX_OPSET, irVersion: ONNX_IR_VERSION };
}
