/**
 * A small, format-neutral inference graph of a zoo classifier, built from its tfjs `LayersModel`:
 * the common ground of the ONNX and TFLite writers. It holds only what inference needs (BatchNorm
 * reduced to a per-channel scale and offset or folded into the preceding convolution, identities
 * dropped, explicit padding folded into convolutions), with weights copied out of tfjs, so a writer
 * needs no TensorFlow.js and no knowledge of Keras layer configs.
 *
 * Layout: NHWC throughout, as tfjs computes (TFLite is NHWC too; the ONNX writer converts to NCHW).
 * Shapes in the graph leave out the batch dimension, which is free.
 */
import type * as tf from '@tensorflow/tfjs';
import { DistilleryError } from '../errors.ts';

/** An activation applied to a node's result before it is written out. */
export type FusedActivation = 'none' | 'relu';

interface NodeBase {
  /** The tfjs layer this node's operation came from (the conv or dense where BN/ReLU were folded in). */
  name: string;
  /** Names of the tensors this node reads: the graph input or earlier nodes' outputs. */
  inputs: string[];
  /** Name of the tensor this node writes; unique in the graph: the name of the tfjs layer whose output it equals. */
  output: string;
  /** Shape of `output` without the batch dimension: [height, width, channels] or [units]. */
  outputShape: number[];
}

/** 2-D convolution (cross-correlation, as tfjs, ONNX and TFLite compute it), dilation 1. */
export interface Conv2dNode extends NodeBase {
  op: 'conv2d';
  /** Kernel in HWIO order (tfjs's): index ((ky·kw + kx)·inChannels + ci)·outChannels + co. */
  kernel: Float32Array;
  /** [kernelHeight, kernelWidth, inChannels, outChannels]. */
  kernelShape: [number, number, number, number];
  /** One value per output channel; zeros where the layer had no bias. BatchNorm folding fills it. */
  bias: Float32Array;
  /** [strideHeight, strideWidth]. */
  strides: [number, number];
  /** Explicit zero padding in pixels, [top, left, bottom, right]: 'same' and ZeroPadding2D resolved. */
  pads: [number, number, number, number];
  activation: FusedActivation;
}

/**
 * Inference-mode BatchNormalization over the channel (last) axis, reduced to y = x·scale + offset
 * with scale = γ/√(var + ε) and offset = β − mean·scale. Only where it could not be folded into a
 * convolution (e.g. WRN's pre-activation BN → ReLU → conv).
 */
export interface BatchNormNode extends NodeBase {
  op: 'batchNorm';
  /** One value per channel. */
  scale: Float32Array;
  /** One value per channel. */
  offset: Float32Array;
}

export interface ReluNode extends NodeBase {
  op: 'relu';
}

/** max(x, alpha·x). */
export interface LeakyReluNode extends NodeBase {
  op: 'leakyRelu';
  alpha: number;
}

/**
 * Max or average pooling over height and width. Padding never counts: max pooling pads with −∞,
 * average pooling divides by the number of real pixels in the window (tfjs's 'same').
 */
export interface PoolNode extends NodeBase {
  op: 'maxPool' | 'avgPool';
  /** [poolHeight, poolWidth]. */
  size: [number, number];
  /** [strideHeight, strideWidth]. */
  strides: [number, number];
  /** [top, left, bottom, right]. */
  pads: [number, number, number, number];
}

/** Mean over height and width: [h, w, c] → [c]. */
export interface GlobalAvgPoolNode extends NodeBase {
  op: 'globalAvgPool';
}

/** [h, w, c] → [h·w·c] in NHWC order (tfjs's): index (y·w + x)·c + channel. */
export interface FlattenNode extends NodeBase {
  op: 'flatten';
}

/** Fully connected layer on a vector: y = x·W + b. */
export interface DenseNode extends NodeBase {
  op: 'dense';
  /** Weights [inUnits, outUnits] row-major (tfjs's): index i·outUnits + o. */
  weights: Float32Array;
  /** [inUnits, outUnits]. */
  weightsShape: [number, number];
  /** One value per output unit; zeros where the layer had no bias. */
  bias: Float32Array;
  activation: FusedActivation;
}

/** Elementwise sum of two or more tensors of the same shape. */
export interface AddNode extends NodeBase {
  op: 'add';
}

/** Softmax over the last axis (only where the model itself ends in one; the zoo outputs logits). */
export interface SoftmaxNode extends NodeBase {
  op: 'softmax';
}

export type GraphNode =
  | Conv2dNode
  | BatchNormNode
  | ReluNode
  | LeakyReluNode
  | PoolNode
  | GlobalAvgPoolNode
  | FlattenNode
  | DenseNode
  | AddNode
  | SoftmaxNode;

export type GraphOp = GraphNode['op'];

export interface StudentGraph {
  /** Model name (tf.LayersModel.name). */
  name: string;
  /** [height, width, channels] of one input image (NHWC without the batch dimension). */
  inputShape: [number, number, number];
  /** Length of the output vector (the logits). */
  numClasses: number;
  /** Name of the graph's input tensor (the tfjs input layer's name). */
  inputName: string;
  /** Name of the graph's output tensor: the `output` of one of the nodes. */
  outputName: string;
  /** Topologically ordered: every input of a node is the graph input or an earlier node's output. */
  nodes: GraphNode[];
}

export interface GraphOptions {
  /** Fold a BatchNorm that directly follows a convolution into its kernel and bias (default true). */
  foldBatchNorm?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Building: one raw node per layer (with the layers that vanish as `identity` and `zeroPad`), then
// passes that remove identities, fold padding, fold BatchNorm and fuse ReLUs.

interface IdentityNode extends NodeBase {
  op: 'identity';
}

interface ZeroPadNode extends NodeBase {
  op: 'zeroPad';
  pads: [number, number, number, number];
}

type RawNode = GraphNode | IdentityNode | ZeroPadNode;

/** The layer config keys the converter reads (tfjs's `getConfig()` is an untyped dictionary). */
type LayerConfig = Record<string, unknown>;

function unsupported(layer: tf.layers.Layer, why: string): DistilleryError {
  return new DistilleryError(
    'BAD_MODEL',
    `cannot export layer '${layer.name}' (${layer.getClassName()}): ${why}`,
    'the exporters support the zoo\'s layers: Conv2D, ZeroPadding2D, BatchNormalization, ReLU, LeakyReLU, linear/relu/softmax activations, max/average pooling, global average pooling, Flatten, Dense, Add',
  );
}

function pair(value: unknown, layer: tf.layers.Layer, what: string): [number, number] {
  const v = Array.isArray(value) ? value : [value, value];
  if (v.length !== 2 || !v.every((n) => Number.isInteger(n) && (n as number) >= 0)) throw unsupported(layer, `unexpected ${what} ${JSON.stringify(value)}`);
  return [v[0] as number, v[1] as number];
}

/** tfjs's (and TensorFlow's) 'same' padding, [top, left, bottom, right]: the extra pixel at the bottom/right. */
export function samePads(input: [number, number], size: [number, number], strides: [number, number]): [number, number, number, number] {
  const total = [0, 1].map((i) => Math.max((Math.ceil(input[i]! / strides[i]!) - 1) * strides[i]! + size[i]! - input[i]!, 0));
  const top = Math.floor(total[0]! / 2);
  const left = Math.floor(total[1]! / 2);
  return [top, left, total[0]! - top, total[1]! - left];
}

function checkChannelsLast(config: LayerConfig, layer: tf.layers.Layer): void {
  if (config.dataFormat !== undefined && config.dataFormat !== 'channelsLast') throw unsupported(layer, `data format ${String(config.dataFormat)} (only channelsLast)`);
}

function activationOf(config: LayerConfig, layer: tf.layers.Layer): FusedActivation {
  const a = config.activation ?? 'linear';
  if (a === 'linear') return 'none';
  if (a === 'relu') return 'relu';
  throw unsupported(layer, `fused activation '${String(a)}'`);
}

function weightsOf(layer: tf.layers.Layer): Map<string, { values: Float32Array; shape: number[] }> {
  const out = new Map<string, { values: Float32Array; shape: number[] }>();
  for (const w of layer.weights) {
    // originalName is 'layer/kernel', 'layer/moving_mean', …: the part after the last slash.
    const key = w.originalName.slice(w.originalName.lastIndexOf('/') + 1);
    out.set(key, { values: Float32Array.from(w.read().dataSync()), shape: [...w.shape] as number[] });
  }
  return out;
}

function shapeWithoutBatch(layer: tf.layers.Layer): number[] {
  const shape = layer.outputShape;
  if (!Array.isArray(shape) || Array.isArray(shape[0])) throw unsupported(layer, 'more than one output');
  return (shape as (number | null)[]).slice(1).map((d) => {
    if (d === null) throw unsupported(layer, 'an output dimension of unknown size');
    return d;
  });
}

function rawNode(layer: tf.layers.Layer, inputs: string[], inputShapes: number[][]): RawNode {
  const config = layer.getConfig() as LayerConfig;
  const base = { name: layer.name, inputs, output: layer.name, outputShape: shapeWithoutBatch(layer) };
  const oneInput = (): number[] => {
    if (inputShapes.length !== 1) throw unsupported(layer, `${inputShapes.length} inputs`);
    return inputShapes[0]!;
  };
  switch (layer.getClassName()) {
    case 'Conv2D': {
      checkChannelsLast(config, layer);
      const [dh, dw] = pair(config.dilationRate ?? 1, layer, 'dilation');
      if (dh !== 1 || dw !== 1) throw unsupported(layer, 'dilated convolution');
      const inShape = oneInput();
      const w = weightsOf(layer);
      const kernel = w.get('kernel');
      if (!kernel || kernel.shape.length !== 4) throw unsupported(layer, 'no 4-D kernel');
      const kernelShape = kernel.shape as [number, number, number, number];
      const strides = pair(config.strides, layer, 'strides');
      const pads = config.padding === 'same'
        ? samePads([inShape[0]!, inShape[1]!], [kernelShape[0], kernelShape[1]], strides)
        : config.padding === 'valid' ? [0, 0, 0, 0] as [number, number, number, number] : null;
      if (!pads) throw unsupported(layer, `padding '${String(config.padding)}'`);
      return {
        ...base,
        op: 'conv2d',
        kernel: kernel.values,
        kernelShape,
        bias: w.get('bias')?.values ?? new Float32Array(kernelShape[3]),
        strides,
        pads,
        activation: activationOf(config, layer),
      };
    }
    case 'ZeroPadding2D': {
      checkChannelsLast(config, layer);
      oneInput();
      // Config: a number, [symH, symW] or [[top, bottom], [left, right]].
      const p = config.padding;
      let pads: [number, number, number, number];
      if (typeof p === 'number') pads = [p, p, p, p];
      else if (Array.isArray(p) && p.every((v) => typeof v === 'number')) pads = [p[0] as number, p[1] as number, p[0] as number, p[1] as number];
      else if (Array.isArray(p) && p.every((v) => Array.isArray(v))) {
        const [[top, bottom], [left, right]] = p as [[number, number], [number, number]];
        pads = [top, left, bottom, right];
      } else throw unsupported(layer, `padding ${JSON.stringify(p)}`);
      return { ...base, op: 'zeroPad', pads };
    }
    case 'BatchNormalization': {
      const inShape = oneInput();
      const axis = config.axis;
      if (axis !== -1 && axis !== inShape.length) throw unsupported(layer, `normalisation axis ${String(axis)} (only the channel axis, -1)`);
      const w = weightsOf(layer);
      const mean = w.get('moving_mean')?.values;
      const variance = w.get('moving_variance')?.values;
      if (!mean || !variance) throw unsupported(layer, 'no moving statistics');
      const gamma = w.get('gamma')?.values;
      const beta = w.get('beta')?.values;
      const eps = Number(config.epsilon);
      const scale = new Float32Array(mean.length);
      const offset = new Float32Array(mean.length);
      for (let c = 0; c < mean.length; c++) {
        // In double precision, rounded once: the same per-channel affine map tfjs evaluates.
        const s = (gamma ? gamma[c]! : 1) / Math.sqrt(variance[c]! + eps);
        scale[c] = s;
        offset[c] = (beta ? beta[c]! : 0) - mean[c]! * s;
      }
      return { ...base, op: 'batchNorm', scale, offset };
    }
    case 'ReLU': {
      oneInput();
      if (config.maxValue !== undefined && config.maxValue !== null) throw unsupported(layer, `ReLU with a maximum (${String(config.maxValue)})`);
      return { ...base, op: 'relu' };
    }
    case 'LeakyReLU':
      oneInput();
      return { ...base, op: 'leakyRelu', alpha: Number(config.alpha) };
    case 'Activation': {
      oneInput();
      const a = config.activation;
      if (a === 'linear') return { ...base, op: 'identity' };
      if (a === 'relu') return { ...base, op: 'relu' };
      if (a === 'softmax') return { ...base, op: 'softmax' };
      throw unsupported(layer, `activation '${String(a)}'`);
    }
    case 'Dropout':
    case 'SpatialDropout2D':
      // Inference only: dropout is the identity.
      oneInput();
      return { ...base, op: 'identity' };
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      checkChannelsLast(config, layer);
      const inShape = oneInput();
      const size = pair(config.poolSize, layer, 'pool size');
      const strides = pair(config.strides ?? config.poolSize, layer, 'strides');
      const pads = config.padding === 'same'
        ? samePads([inShape[0]!, inShape[1]!], size, strides)
        : config.padding === 'valid' ? [0, 0, 0, 0] as [number, number, number, number] : null;
      if (!pads) throw unsupported(layer, `padding '${String(config.padding)}'`);
      return { ...base, op: layer.getClassName() === 'MaxPooling2D' ? 'maxPool' : 'avgPool', size, strides, pads };
    }
    case 'GlobalAveragePooling2D':
      checkChannelsLast(config, layer);
      if (oneInput().length !== 3) throw unsupported(layer, 'input is not an image');
      return { ...base, op: 'globalAvgPool' };
    case 'Flatten':
      oneInput();
      return { ...base, op: 'flatten' };
    case 'Dense': {
      if (oneInput().length !== 1) throw unsupported(layer, 'input is not a vector (flatten or pool first)');
      const w = weightsOf(layer);
      const kernel = w.get('kernel');
      if (!kernel || kernel.shape.length !== 2) throw unsupported(layer, 'no 2-D kernel');
      const weightsShape = kernel.shape as [number, number];
      return {
        ...base,
        op: 'dense',
        weights: kernel.values,
        weightsShape,
        bias: w.get('bias')?.values ?? new Float32Array(weightsShape[1]),
        activation: activationOf(config, layer),
      };
    }
    case 'Add':
      if (inputShapes.length < 2) throw unsupported(layer, 'fewer than two inputs');
      if (inputShapes.some((s) => s.join() !== base.outputShape.join())) throw unsupported(layer, 'inputs of different shapes (broadcasting)');
      return { ...base, op: 'add' };
    default:
      throw unsupported(layer, 'this layer type is not supported');
  }
}

/** The layers of a single-input, single-output functional model, each with its input layers. */
function layersInOrder(model: tf.LayersModel): { input: tf.layers.Layer; layers: { layer: tf.layers.Layer; inputs: tf.layers.Layer[] }[] } {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new DistilleryError('BAD_MODEL', `cannot export model '${model.name}': it has ${model.inputs.length} inputs and ${model.outputs.length} outputs (one of each is supported)`);
  }
  const input = model.inputLayers[0]!;
  const byName = new Map<string, { layer: tf.layers.Layer; inputs: tf.layers.Layer[] }>();
  for (const layer of model.layers) {
    if (layer === input) continue;
    if (layer.inboundNodes.length !== 1) throw unsupported(layer, 'a layer applied more than once (shared weights)');
    byName.set(layer.name, { layer, inputs: layer.inboundNodes[0]!.inboundLayers });
  }
  // Depth-first topological order from the output, so a node always comes after its inputs.
  const ordered: { layer: tf.layers.Layer; inputs: tf.layers.Layer[] }[] = [];
  const done = new Set<string>([input.name]);
  const visit = (name: string): void => {
    if (done.has(name)) return;
    const entry = byName.get(name);
    if (!entry) throw new DistilleryError('BAD_MODEL', `cannot export model '${model.name}': layer '${name}' is not part of it`);
    done.add(name);
    for (const i of entry.inputs) visit(i.name);
    ordered.push(entry);
  };
  visit(model.outputLayers[0]!.name);
  return { input, layers: ordered };
}

/** How many nodes read each tensor (the graph output counts as one more reader). */
function readers(nodes: RawNode[], outputName: string): Map<string, number> {
  const count = new Map<string, number>([[outputName, 1]]);
  for (const n of nodes) for (const i of n.inputs) count.set(i, (count.get(i) ?? 0) + 1);
  return count;
}

function renameInputs(nodes: RawNode[], from: string, to: string): void {
  for (const n of nodes) n.inputs = n.inputs.map((i) => (i === from ? to : i));
}

/**
 * The inference graph of a classifier. Throws DistilleryError('BAD_MODEL') naming the first layer
 * that cannot be exported.
 */
export function graphFromModel(model: tf.LayersModel, options: GraphOptions = {}): StudentGraph {
  const foldBatchNorm = options.foldBatchNorm ?? true;
  const { input, layers } = layersInOrder(model);
  const inputShape = shapeWithoutBatch(input);
  if (inputShape.length !== 3) throw new DistilleryError('BAD_MODEL', `cannot export model '${model.name}': its input is not an image (shape [${inputShape.join(', ')}])`);

  const shapes = new Map<string, number[]>([[input.name, inputShape]]);
  let nodes: RawNode[] = layers.map(({ layer, inputs }) => {
    const node = rawNode(layer, inputs.map((l) => l.name), inputs.map((l) => shapes.get(l.name)!));
    shapes.set(node.output, node.outputShape);
    return node;
  });
  let outputName = model.outputLayers[0]!.name;

  // Identities: readers read the identity's input instead.
  for (const node of nodes.filter((n) => n.op === 'identity')) {
    renameInputs(nodes, node.output, node.inputs[0]!);
    if (outputName === node.output) outputName = node.inputs[0]!;
  }
  nodes = nodes.filter((n) => n.op !== 'identity');

  // Explicit zero padding goes into the convolutions that read it.
  for (const pad of nodes.filter((n): n is ZeroPadNode => n.op === 'zeroPad')) {
    const consumers = nodes.filter((n) => n.inputs.includes(pad.output));
    const notConv = consumers.find((n) => n.op !== 'conv2d');
    if (notConv || pad.output === outputName) {
      throw new DistilleryError('BAD_MODEL', `cannot export layer '${pad.name}' (ZeroPadding2D): only padding read by convolutions is supported${notConv ? `, but '${notConv.name}' reads it` : ''}`);
    }
    for (const conv of consumers as Conv2dNode[]) {
      conv.pads = [conv.pads[0] + pad.pads[0], conv.pads[1] + pad.pads[1], conv.pads[2] + pad.pads[2], conv.pads[3] + pad.pads[3]];
      conv.inputs = [pad.inputs[0]!];
    }
  }
  nodes = nodes.filter((n) => n.op !== 'zeroPad');

  const producer = (name: string): RawNode | undefined => nodes.find((n) => n.output === name);

  // conv → BN, the conv read by nothing else: w'[…, co] = w[…, co]·scale[co], b' = b·scale + offset.
  if (foldBatchNorm) {
    const count = readers(nodes, outputName);
    for (const bn of nodes.filter((n): n is BatchNormNode => n.op === 'batchNorm')) {
      const conv = producer(bn.inputs[0]!);
      if (conv?.op !== 'conv2d' || conv.activation !== 'none' || count.get(conv.output) !== 1) continue;
      const outChannels = conv.kernelShape[3];
      for (let i = 0; i < conv.kernel.length; i++) conv.kernel[i]! *= bn.scale[i % outChannels]!;
      for (let co = 0; co < outChannels; co++) conv.bias[co] = conv.bias[co]! * bn.scale[co]! + bn.offset[co]!;
      conv.output = bn.output;
      nodes = nodes.filter((n) => n !== bn);
    }
  }

  // conv/dense → ReLU, the conv/dense read by nothing else: the ReLU becomes the fused activation.
  {
    const count = readers(nodes, outputName);
    for (const relu of nodes.filter((n): n is ReluNode => n.op === 'relu')) {
      const from = producer(relu.inputs[0]!);
      if ((from?.op !== 'conv2d' && from?.op !== 'dense') || from.activation !== 'none' || count.get(from.output) !== 1) continue;
      from.activation = 'relu';
      from.output = relu.output;
      nodes = nodes.filter((n) => n !== relu);
    }
  }

  const graphNodes = nodes as GraphNode[];
  const last = graphNodes.find((n) => n.output === outputName);
  if (!last || last.outputShape.length !== 1) {
    throw new DistilleryError('BAD_MODEL', `cannot export model '${model.name}': its output is not a vector of class scores`);
  }
  return {
    name: model.name,
    inputShape: inputShape as [number, number, number],
    numClasses: last.outputShape[0]!,
    inputName: input.name,
    outputName,
    nodes: graphNodes,
  };
}
