/**
 * Pluggable networks for the metrics.
 *
 *  - A FeatureNetwork maps images [B, H, W, C] to features [B, D] (FID, diversity). The default is
 *    the teacher's penultimate layer — the input of its last Dense layer — because the Inception-v3
 *    and AlexNet weights the paper used cannot be downloaded here; reports then say
 *    "FID (teacher features)". Any TensorFlow.js layers model can be used instead (its output, or a
 *    named layer's output), or any function.
 *  - A ProbabilityNetwork maps images to class probabilities [B, K] (Inception Score). The default
 *    is the teacher (softmax of its logits).
 *
 * Both are pure functions of a batch: the caller disposes the returned tensor; everything in between
 * is tidied. Models run in inference mode (BatchNorm uses running statistics).
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryError } from '../errors.ts';

export interface FeatureNetwork {
  /** Names the features in reports, e.g. "teacher features" → "FID (teacher features)". */
  label: string;
  /** Features [B, D] of a batch (outputs of rank > 2 are flattened). The caller disposes the result. */
  apply(images: tf.Tensor4D): tf.Tensor2D;
}

export interface ProbabilityNetwork {
  /** Names the classifier in reports, e.g. "teacher" → "IS (teacher classifier)". */
  label: string;
  /** Class probabilities [B, K] (rows sum to 1). The caller disposes the result. */
  apply(images: tf.Tensor4D): tf.Tensor2D;
}

/** A network as users hand it over: a layers model, or a function of a batch. */
export type NetworkLike = tf.LayersModel | ((images: tf.Tensor4D) => tf.Tensor);

export interface AdaptOptions {
  /**
   * Applied to each batch before the model (e.g. rescaling [−1, 1] images to what a converted
   * Inception-v3 expects). Runs inside tf.tidy.
   */
  preprocess?: (images: tf.Tensor4D) => tf.Tensor4D;
  /**
   * Resize (bilinear) and convert channels (1 → 3 by repetition, 3 → 1 by averaging) when the
   * images do not match the model's input shape. Default true.
   */
  adaptInput?: boolean;
}

function singleOutput(model: tf.LayersModel, what: string): tf.SymbolicTensor {
  if (model.outputs.length !== 1) throw new DistilleryError('BAD_MODEL', `${what} ${model.name} must have exactly one output, it has ${model.outputs.length}`);
  return model.outputs[0]!;
}

function flatten2d(t: tf.Tensor): tf.Tensor2D {
  if (t.rank < 2) throw new DistilleryError('BAD_MODEL', `network output has rank ${t.rank}; expected [batch, ...]`);
  return t.rank === 2 ? (t as tf.Tensor2D) : (t.reshape([t.shape[0]!, -1]) as tf.Tensor2D);
}

/** Resizes / converts channels of `images` to the model's input shape [null, H, W, C] where needed. */
export function adaptToInput(images: tf.Tensor4D, inputShape: readonly (number | null)[]): tf.Tensor4D {
  if (inputShape.length !== 4) return images;
  const [, h, w, c] = inputShape;
  let x = images;
  if (h && w && (x.shape[1] !== h || x.shape[2] !== w)) x = tf.image.resizeBilinear(x, [h, w]);
  if (c && x.shape[3] !== c) {
    if (x.shape[3] === 1) x = tf.tile(x, [1, 1, 1, c]);
    else if (x.shape[3] === 3 && c === 1) x = tf.mean(x, 3, true);
    else throw new DistilleryError('BAD_INPUT', `images have ${x.shape[3]} channels, the model expects ${c}`);
  }
  return x;
}

function runModel(model: tf.LayersModel, images: tf.Tensor4D, options: AdaptOptions): tf.Tensor {
  let x = options.preprocess ? options.preprocess(images) : images;
  if (options.adaptInput ?? true) x = adaptToInput(x, model.inputs[0]!.shape);
  return model.apply(x, { training: false }) as tf.Tensor;
}

/** The model's last Dense layer (the classifier head), or undefined. */
export function lastDenseLayer(model: tf.LayersModel): tf.layers.Layer | undefined {
  const dense = model.layers.filter((l) => l.getClassName() === 'Dense');
  return dense[dense.length - 1];
}

/**
 * A feature extractor sharing the model's layers and weights: its output is the input of the
 * model's last Dense layer (the penultimate activations). Do not dispose the returned model
 * (disposing would release the shared weights); it owns no tensors of its own.
 */
export function penultimateModel(model: tf.LayersModel): tf.LayersModel {
  const last = lastDenseLayer(model);
  if (!last) throw new DistilleryError('BAD_MODEL', `model ${model.name} has no Dense layer to take penultimate features from`);
  let input: tf.SymbolicTensor | tf.SymbolicTensor[];
  try {
    input = last.input;
  } catch (e) {
    throw new DistilleryError('BAD_MODEL', `the last Dense layer ${last.name} of ${model.name} is applied more than once`, undefined, { cause: e });
  }
  if (Array.isArray(input)) throw new DistilleryError('BAD_MODEL', `layer ${last.name} has several inputs`);
  return tf.model({ inputs: model.inputs, outputs: input, name: `${model.name}_penultimate` });
}

/** Default feature network: the teacher's penultimate layer, labelled "teacher features". */
export function teacherFeatureNetwork(teacher: tf.LayersModel, options: AdaptOptions = {}): FeatureNetwork {
  const extractor = penultimateModel(teacher);
  return { label: 'teacher features', apply: (images) => tf.tidy(() => flatten2d(runModel(extractor, images, options))) };
}

export interface ModelFeatureOptions extends AdaptOptions {
  /** Take the features from this layer's output instead of the model's output. */
  layer?: string;
  /** Report label (default "<model name> features" or "<model name>/<layer> features"). */
  label?: string;
}

/**
 * Features from any TensorFlow.js layers model (e.g. a converted Inception-v3 feature model): the
 * model's single output, or the output of the layer named in `options.layer`, flattened to [B, D].
 */
export function modelFeatureNetwork(model: tf.LayersModel, options: ModelFeatureOptions = {}): FeatureNetwork {
  let net = model;
  if (options.layer !== undefined) {
    const layer = model.layers.find((l) => l.name === options.layer);
    if (!layer) throw new DistilleryError('BAD_MODEL', `model ${model.name} has no layer named ${options.layer}`, `layers: ${model.layers.map((l) => l.name).join(', ')}`);
    const out = layer.output;
    if (Array.isArray(out)) throw new DistilleryError('BAD_MODEL', `layer ${layer.name} has several outputs`);
    net = tf.model({ inputs: model.inputs, outputs: out, name: `${model.name}_${layer.name}` });
  } else {
    singleOutput(model, 'feature model');
  }
  const label = options.label ?? (options.layer !== undefined ? `${model.name}/${options.layer} features` : `${model.name} features`);
  return { label, apply: (images) => tf.tidy(() => flatten2d(runModel(net, images, options))) };
}

/** Features from a function of a batch (e.g. wrapping a tf.GraphModel). */
export function functionFeatureNetwork(fn: (images: tf.Tensor4D) => tf.Tensor, label: string): FeatureNetwork {
  return { label, apply: (images) => tf.tidy(() => flatten2d(fn(images))) };
}

/** Whether a layers model's output is already a softmax (last layer Softmax, or softmax activation). */
export function outputsProbabilities(model: tf.LayersModel): boolean {
  const outName = singleOutput(model, 'classifier').sourceLayer.name;
  const layer = model.layers.find((l) => l.name === outName);
  if (!layer) return false;
  if (layer.getClassName() === 'Softmax') return true;
  const act = (layer.getConfig() as { activation?: unknown }).activation;
  return act === 'softmax';
}

export interface ProbabilityOptions extends AdaptOptions {
  /**
   * What the network outputs: 'logits' (softmax applied here), 'probabilities' (used as is), or
   * 'auto' (default: a layers model whose output layer is a softmax gives probabilities; anything
   * else, including functions, is treated as logits).
   */
  outputs?: 'logits' | 'probabilities' | 'auto';
  /** Report label (default: the model's name, or "custom" for a function). */
  label?: string;
}

/** A ProbabilityNetwork from a layers model or a function (see ProbabilityOptions.outputs). */
export function probabilityNetwork(source: NetworkLike, options: ProbabilityOptions = {}): ProbabilityNetwork {
  const mode = options.outputs ?? 'auto';
  if (source instanceof tf.LayersModel) {
    const probs = mode === 'probabilities' || (mode === 'auto' && outputsProbabilities(source));
    singleOutput(source, 'classifier');
    return {
      label: options.label ?? source.name,
      apply: (images) =>
        tf.tidy(() => {
          const out = flatten2d(runModel(source, images, options));
          return probs ? out : tf.softmax(out);
        }),
    };
  }
  const probs = mode === 'probabilities';
  return {
    label: options.label ?? 'custom',
    apply: (images) =>
      tf.tidy(() => {
        const out = flatten2d(source(images));
        return probs ? out : tf.softmax(out);
      }),
  };
}

/** Logits [B, K] of a layers model in inference mode (for argmax, agreement and KD loss). */
export function logitsOf(model: tf.LayersModel, images: tf.Tensor4D, options: AdaptOptions = {}): tf.Tensor2D {
  return tf.tidy(() => flatten2d(runModel(model, images, options)));
}
