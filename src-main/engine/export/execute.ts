/**
 * A float32 reference executor of the export graph (graph.ts) in TensorFlow.js: node by node, with
 * every tensor the graph names visible on the way. Int8 calibration reads each tensor's range from
 * it, and the tests compare it with the tfjs model it came from, so a writer's output can be traced
 * back through the graph to the original model.
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryError } from '../errors.ts';
import { samePads, type GraphNode, type PoolNode, type StudentGraph } from './graph.ts';

/**
 * The padding mode TFLite and tfjs pooling understand for a pool's explicit pads: 'valid' (none) or
 * 'same' (TensorFlow's split, extra pixel bottom/right). Pooling ignores padded pixels (−∞ for max,
 * not counted for average), which an explicit zero PAD before it could not reproduce; the zoo's
 * pools are all one of these two.
 */
export function poolPadding(node: PoolNode, inputShape: readonly number[]): 'same' | 'valid' {
  if (node.pads.every((p) => p === 0)) return 'valid';
  const same = samePads([inputShape[0]!, inputShape[1]!], node.size, node.strides);
  if (same.every((p, i) => p === node.pads[i])) return 'same';
  throw new DistilleryError('BAD_MODEL', `cannot export pooling layer '${node.name}': padding [${node.pads.join(', ')}] is neither 'valid' nor 'same'`);
}

/** The name of the k-th partial sum (k ≥ 1: inputs 0..k) of an Add of more than two inputs. */
export function partialSumName(addNode: string, k: number): string {
  return `${addNode}/sum${k}`;
}

/** Shapes (without batch) of every tensor the graph names: its input, each node's output, and the partial sums of Adds of more than two inputs. */
export function tensorShapes(graph: StudentGraph): Map<string, number[]> {
  const shapes = new Map<string, number[]>([[graph.inputName, [...graph.inputShape]]]);
  for (const node of graph.nodes) {
    shapes.set(node.output, node.outputShape);
    if (node.op === 'add') for (let k = 1; k < node.inputs.length - 1; k++) shapes.set(partialSumName(node.name, k), node.outputShape);
  }
  return shapes;
}

function runNode(node: GraphNode, inputs: tf.Tensor[], inputShape: number[]): tf.Tensor {
  const x = inputs[0]!;
  switch (node.op) {
    case 'conv2d': {
      const [top, left, bottom, right] = node.pads;
      const kernel = tf.tensor4d(node.kernel, node.kernelShape);
      const y = tf.add(tf.conv2d(x as tf.Tensor4D, kernel, node.strides, [[0, 0], [top, bottom], [left, right], [0, 0]]), tf.tensor1d(node.bias));
      return node.activation === 'relu' ? tf.relu(y) : y;
    }
    case 'batchNorm':
      return tf.add(tf.mul(x, tf.tensor1d(node.scale)), tf.tensor1d(node.offset));
    case 'relu':
      return tf.relu(x);
    case 'leakyRelu':
      return tf.leakyRelu(x, node.alpha);
    case 'maxPool':
      return tf.maxPool(x as tf.Tensor4D, node.size, node.strides, poolPadding(node, inputShape));
    case 'avgPool':
      return tf.avgPool(x as tf.Tensor4D, node.size, node.strides, poolPadding(node, inputShape));
    case 'globalAvgPool':
      return tf.mean(x, [1, 2]);
    case 'flatten':
      return tf.reshape(x, [x.shape[0]!, -1]);
    case 'dense': {
      const y = tf.add(tf.matMul(x as tf.Tensor2D, tf.tensor2d(node.weights, node.weightsShape)), tf.tensor1d(node.bias));
      return node.activation === 'relu' ? tf.relu(y) : y;
    }
    case 'add':
      return tf.addN(inputs);
    case 'softmax':
      return tf.softmax(x);
  }
}

/**
 * Runs the graph on a batch [n, h, w, c] and returns its output [n, classes]. `onTensor` sees the
 * input, every node's output and the partial sums of many-input Adds (partialSumName) as they are
 * computed (inside a tidy scope: read them synchronously).
 */
export function executeGraph(graph: StudentGraph, input: tf.Tensor4D, onTensor?: (name: string, value: tf.Tensor) => void): tf.Tensor2D {
  return tf.tidy(() => {
    const shapes = tensorShapes(graph);
    const values = new Map<string, tf.Tensor>([[graph.inputName, input]]);
    onTensor?.(graph.inputName, input);
    for (const node of graph.nodes) {
      const inputs = node.inputs.map((name) => {
        const value = values.get(name);
        if (!value) throw new DistilleryError('BAD_MODEL', `graph node '${node.name}' reads '${name}' before it is computed`);
        return value;
      });
      let output: tf.Tensor;
      if (node.op === 'add' && inputs.length > 2) {
        // Summed left to right as a chain of two-operand adds (TFLite's ADD): each partial sum is a
        // tensor of its own, which int8 needs a range for.
        output = inputs[0]!;
        for (let k = 1; k < inputs.length; k++) {
          output = tf.add(output, inputs[k]!);
          if (k < inputs.length - 1) onTensor?.(partialSumName(node.name, k), output);
        }
      } else {
        output = runNode(node, inputs, shapes.get(node.inputs[0]!)!);
      }
      values.set(node.output, output);
      onTensor?.(node.output, output);
    }
    return values.get(graph.outputName) as tf.Tensor2D;
  });
}
