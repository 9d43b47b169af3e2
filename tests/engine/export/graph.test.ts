import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DistilleryError } from '../../../src-main/engine/errors.ts';
import { executeGraph, tensorShapes } from '../../../src-main/engine/export/execute.ts';
import { graphFromModel, type StudentGraph } from '../../../src-main/engine/export/graph.ts';
import { getClassifier } from '../../../src-main/engine/models/registry.ts';
import { everyLayerModel, ZOO_CLASSIFIERS, zooStudent } from './student-fixtures.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/**
 * Runs the graph with the reference executor (tfjs ops, node by node, as graph.ts documents each
 * node), checking each tensor's shape against the graph's, so the graph (folding included) is
 * compared with the model independently of any file format.
 */
function evaluate(graph: StudentGraph, input: tf.Tensor4D): tf.Tensor {
  const shapes = tensorShapes(graph);
  return executeGraph(graph, input, (name, value) => expect(value.shape.slice(1), `shape of ${name}`).toEqual(shapes.get(name)));
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

function countOps(graph: StudentGraph): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of graph.nodes) counts[n.op] = (counts[n.op] ?? 0) + 1;
  return counts;
}

const layerCount = (model: tf.LayersModel, className: string): number => model.layers.filter((l) => l.getClassName() === className).length;

describe('inference graph of the zoo classifiers', () => {
  it.each(ZOO_CLASSIFIERS.map((s) => s.name))('%s: topologically ordered, uniquely named, logits out', (name) => {
    const spec = getClassifier(name);
    const model = spec.build({ inputShape: spec.reference.shape, numClasses: 10, seed: 1 });
    try {
      const graph = graphFromModel(model);
      expect(graph.inputShape).toEqual(spec.reference.shape);
      expect(graph.numClasses).toBe(10);
      const defined = new Set([graph.inputName]);
      for (const node of graph.nodes) {
        for (const i of node.inputs) expect(defined.has(i), `${node.output} reads ${i} before it is written`).toBe(true);
        expect(defined.has(node.output), `${node.output} written twice`).toBe(false);
        defined.add(node.output);
      }
      expect(graph.nodes.at(-1)!.output).toBe(graph.outputName);
      expect(graph.outputName).toBe('logits');
    } finally {
      model.dispose();
    }
  });

  it('ResNet: every BN follows a convolution and is folded, ReLUs after convs are fused', () => {
    const model = zooStudent(getClassifier('resnet18'));
    try {
      const graph = graphFromModel(model);
      const ops = countOps(graph);
      expect(ops.batchNorm).toBeUndefined();
      expect(ops.conv2d).toBe(layerCount(model, 'Conv2D'));
      // Stem ReLU and each block's first ReLU are fused; the ReLU after each block's Add is not.
      expect(ops.relu).toBe(8);
      expect(graph.nodes.filter((n) => n.op === 'conv2d' && n.activation === 'relu')).toHaveLength(1 + 8);
      // Strided 3×3 convs keep PyTorch's symmetric padding (ZeroPadding2D folded in).
      const strided = graph.nodes.find((n) => n.name === 'g2b1_conv1');
      expect(strided).toMatchObject({ op: 'conv2d', strides: [2, 2], pads: [1, 1, 1, 1], inputs: ['g1b2_relu2'], output: 'g2b1_relu1' });
      expect(graph.nodes.find((n) => n.name === 'g2b1_shortcut_conv')).toMatchObject({ pads: [0, 0, 0, 0], output: 'g2b1_shortcut_bn' });
    } finally {
      model.dispose();
    }
  });

  it('WRN: pre-activation BNs stay standalone, the BN after a block\'s first conv is folded', () => {
    const model = zooStudent(getClassifier('wrn-16-1'));
    try {
      const ops = countOps(graphFromModel(model));
      const blocks = 6;
      // bn1 of each block reads an Add (or the stem conv, which the identity shortcut also reads);
      // bn_final reads an Add: all standalone. bn2 of each block reads only conv1: folded.
      expect(layerCount(model, 'BatchNormalization')).toBe(2 * blocks + 1);
      expect(ops.batchNorm).toBe(blocks + 1);
      expect(countOps(graphFromModel(model, { foldBatchNorm: false })).batchNorm).toBe(2 * blocks + 1);
    } finally {
      model.dispose();
    }
  });

  it.each(['wrn-16-1', 'lenet5-half'])('%s: the graph computes what the model predicts (BN folded or not)', (name) => {
    const model = zooStudent(getClassifier(name));
    const x = tf.randomNormal([3, ...getClassifier(name).reference.shape], 0, 1, 'float32', 5) as tf.Tensor4D;
    try {
      const expected = model.predict(x) as tf.Tensor;
      for (const foldBatchNorm of [true, false]) {
        const diff = maxAbsDiff(evaluate(graphFromModel(model, { foldBatchNorm }), x), expected);
        expect(diff).toBeLessThan(1e-4);
      }
    } finally {
      model.dispose();
    }
  });

  it('every supported layer kind and padding case computes what the model predicts', () => {
    const model = everyLayerModel();
    try {
      const graph = graphFromModel(model);
      const ops = countOps(graph);
      expect(ops).toEqual({ conv2d: 2, batchNorm: 2, leakyRelu: 1, maxPool: 1, avgPool: 1, add: 2, relu: 1, globalAvgPool: 1, flatten: 1, dense: 2 });
      // ZeroPadding2D [[0, 1], [2, 1]] → [top, left, bottom, right]; BN and ReLU folded into that conv.
      expect(graph.nodes[0]).toMatchObject({ op: 'conv2d', name: 'conv_padded', inputs: ['image_in'], pads: [0, 2, 1, 1], activation: 'relu', output: 'relu_a' });
      // 'same' on 8×11 with a 3×3 kernel, stride 2: TensorFlow puts the odd pixel at the bottom.
      expect(graph.nodes[1]).toMatchObject({ op: 'conv2d', pads: [0, 1, 1, 1], activation: 'relu', outputShape: [4, 6, 6] });
      expect(graph.nodes.find((n) => n.op === 'add' && n.inputs.length === 3)!.inputs).toEqual(['leaky', 'maxpool_same', 'avgpool_same']);
      const x = tf.randomNormal([3, 9, 10, 2], 0, 1, 'float32', 6) as tf.Tensor4D;
      const expected = model.predict(x) as tf.Tensor;
      expect(tf.max(tf.abs(expected)).dataSync()[0]).toBeGreaterThan(0.1);
      expect(maxAbsDiff(evaluate(graph, x), expected)).toBeLessThan(1e-5);
    } finally {
      model.dispose();
    }
  });
});

describe('unsupported models', () => {
  const built: tf.LayersModel[] = [];
  afterAll(() => built.forEach((m) => m.dispose()));

  function expectBadModel(model: tf.LayersModel, message: RegExp): void {
    built.push(model);
    let error: unknown;
    try {
      graphFromModel(model);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DistilleryError);
    expect((error as DistilleryError).code).toBe('BAD_MODEL');
    expect((error as DistilleryError).message).toMatch(message);
  }

  it('names the layer it cannot export', () => {
    const input = tf.input({ shape: [8, 8, 3] });
    let x = tf.layers.separableConv2d({ filters: 4, kernelSize: 3, name: 'my_separable' }).apply(input) as tf.SymbolicTensor;
    x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
    expectBadModel(tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(x) as tf.SymbolicTensor }), /'my_separable' \(SeparableConv2D\)/);
  });

  it('rejects settings of a supported layer it cannot express', () => {
    const input = tf.input({ shape: [8, 8, 3] });
    let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, dilationRate: 2, name: 'dilated' }).apply(input) as tf.SymbolicTensor;
    x = tf.layers.flatten({}).apply(x) as tf.SymbolicTensor;
    expectBadModel(tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(x) as tf.SymbolicTensor }), /'dilated'.*dilated convolution/);
    const input2 = tf.input({ shape: [8, 8, 3] });
    const y = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'tanh', name: 'tanh_conv' }).apply(input2) as tf.SymbolicTensor;
    expectBadModel(tf.model({ inputs: input2, outputs: tf.layers.globalAveragePooling2d({}).apply(y) as tf.SymbolicTensor }), /'tanh_conv'.*activation 'tanh'/);
  });

  it('rejects a model whose output is not a vector of class scores', () => {
    const input = tf.input({ shape: [8, 8, 3] });
    expectBadModel(tf.model({ inputs: input, outputs: tf.layers.conv2d({ filters: 2, kernelSize: 1 }).apply(input) as tf.SymbolicTensor }), /not a vector of class scores/);
  });
});
