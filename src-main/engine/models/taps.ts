/**
 * Intermediate outputs the methods read, for builders' models and for loaded user models alike:
 *   - `features`: DAFL's feature vector (the layer named `features`; for models that have none,
 *     the input of the final Dense layer),
 *   - `groups`: residual-group outputs for attention transfer (layers `group1..N`),
 *   - `bnInputs`: the input of every BatchNormalization layer, for DeepInversion's statistics loss
 *     (paired with the layers, whose moving mean/variance are the targets).
 *
 * `withTaps` returns a multi-output tf.LayersModel sharing the original's layers and weights:
 * outputs are [logits, ...taps] in the order asked for. Apply it with `{ training }` as usual.
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryError } from '../errors.ts';
import { LAYER_NAMES } from './types.ts';

type Sym = tf.SymbolicTensor;

function layerOutput(layer: tf.layers.Layer): Sym {
  const out = layer.output;
  if (Array.isArray(out)) throw new DistilleryError('BAD_MODEL', `layer ${layer.name} has several outputs`);
  return out as Sym;
}

function layerInput(layer: tf.layers.Layer): Sym {
  const inp = layer.input;
  if (Array.isArray(inp)) throw new DistilleryError('BAD_MODEL', `layer ${layer.name} has several inputs`);
  return inp as Sym;
}

function findLayer(model: tf.LayersModel, name: string): tf.layers.Layer | undefined {
  return model.layers.find((l) => l.name === name);
}

/** The model's final Dense layer (the classifier), or undefined. */
export function classifierLayer(model: tf.LayersModel): tf.layers.Layer | undefined {
  const named = findLayer(model, LAYER_NAMES.logits);
  if (named) return named;
  const dense = model.layers.filter((l) => l.getClassName() === 'Dense');
  return dense[dense.length - 1];
}

/** The features DAFL reads (see the module comment). */
export function featuresTensor(model: tf.LayersModel): Sym {
  const named = findLayer(model, LAYER_NAMES.features);
  if (named) return layerOutput(named);
  const last = classifierLayer(model);
  if (!last) throw new DistilleryError('BAD_MODEL', `model ${model.name} has no Dense classifier layer to take features from`);
  return layerInput(last);
}

/** The input of the final classifier layer (the penultimate activations). */
export function penultimateTensor(model: tf.LayersModel): Sym {
  const last = classifierLayer(model);
  if (!last) throw new DistilleryError('BAD_MODEL', `model ${model.name} has no Dense classifier layer`);
  return layerInput(last);
}

/** Outputs of the layers named group1, group2, … in order (empty for models without groups). */
export function groupTensors(model: tf.LayersModel): Sym[] {
  const groups: Sym[] = [];
  for (let i = 1; ; i++) {
    const layer = findLayer(model, LAYER_NAMES.group(i));
    if (!layer) return groups;
    groups.push(layerOutput(layer));
  }
}

/** Every BatchNormalization layer, in graph order. */
export function batchNormLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.filter((l) => l.getClassName() === 'BatchNormalization');
}

/**
 * What the methods need to know about a model to say whether they run as published, as a recorded
 * variant, or not at all (MethodDefinition.fit in methods/method.ts) — read from the same layers the taps above use, so the
 * wizard's verdict and what a run does cannot disagree.
 */
export interface ModelTraits {
  /**
   * BatchNormalization layers on image-shaped (rank-4) inputs: the nn.BatchNorm2d layers whose
   * running statistics DeepInversion's reference matches.
   */
  imageBatchNormLayers: number;
  /** Spatial size [height, width] of each residual-group output group1…N; null where it is not a feature map. */
  groups: ([number | null, number | null] | null)[];
  /** Units of the final Dense classifier layer (ZSKD reads its kernel), or null without one. */
  classifierUnits: number | null;
  /** Whether DAFL's feature vector can be tapped: a layer named `features`, or a Dense classifier's input. */
  hasFeatures: boolean;
  /** Scores the model gives (classes). */
  numClasses: number;
}

export function modelTraits(model: tf.LayersModel): ModelTraits {
  const classifier = classifierLayer(model);
  const units = (classifier?.getConfig() as { units?: unknown } | undefined)?.units;
  const outShape = model.outputs[0]?.shape ?? [];
  return {
    imageBatchNormLayers: batchNormLayers(model).filter((l) => (l.input as Sym).shape.length === 4).length,
    groups: groupTensors(model).map((t) => (t.shape.length === 4 ? [t.shape[1] ?? null, t.shape[2] ?? null] : null)),
    classifierUnits: classifier && typeof units === 'number' ? units : null,
    hasFeatures: Boolean(findLayer(model, LAYER_NAMES.features)) || classifier !== undefined,
    numClasses: typeof outShape[1] === 'number' ? outShape[1] : 0,
  };
}

export type TapName = 'features' | 'penultimate' | 'groups' | 'bnInputs';

export interface TappedModel {
  /** Outputs: [logits, ...the taps, flattened in the order asked for; a tensor tapped twice appears once]. */
  model: tf.LayersModel;
  /** For each tap asked for, the indices of its tensors in the model's outputs. */
  index: Record<TapName, number[]>;
  /** The BatchNormalization layers whose inputs are tapped (same order as index.bnInputs). */
  bnLayers: tf.layers.Layer[];
}

export function withTaps(model: tf.LayersModel, taps: readonly TapName[]): TappedModel {
  if (model.outputs.length !== 1) throw new DistilleryError('BAD_MODEL', `model ${model.name} must have exactly one output (its logits)`);
  const outputs: Sym[] = [model.outputs[0]!];
  const index: Record<TapName, number[]> = { features: [], penultimate: [], groups: [], bnInputs: [] };
  const bnLayers = taps.includes('bnInputs') ? batchNormLayers(model) : [];
  for (const tap of taps) {
    const tensors =
      tap === 'features'
        ? [featuresTensor(model)]
        : tap === 'penultimate'
          ? [penultimateTensor(model)]
          : tap === 'groups'
            ? groupTensors(model)
            : bnLayers.map(layerInput);
    if (tap === 'groups' && tensors.length === 0) {
      throw new DistilleryError('BAD_MODEL', `model ${model.name} has no residual-group outputs (layers named group1, group2, …)`);
    }
    for (const t of tensors) {
      // A tensor can be tapped twice (a WRN group output is also the next BN's input): output it once.
      const existing = outputs.indexOf(t);
      index[tap].push(existing >= 0 ? existing : outputs.length);
      if (existing < 0) outputs.push(t);
    }
  }
  return { model: tf.model({ inputs: model.inputs, outputs, name: `${model.name}_tapped` }), index, bnLayers };
}
