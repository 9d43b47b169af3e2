/**
 * The model zoo: one list the app and the CLI show, name → builder. Classifiers (teachers and
 * students) take the input shape and class count; generators take the teacher's input shape and a
 * latent size. `reference` is the papers' configuration and `paperParams` its parameter count
 * (RDSKD Table 1, which counts BatchNorm running statistics), which the tests check. Every
 * classifier also builds at a custom width (`width` in its options: channels and units scaled).
 */
import type * as tf from '@tensorflow/tfjs';
import { DistilleryError } from '../errors.ts';
import { buildDaflGenerator, buildZsktGenerator } from './generators.ts';
import { buildLeNet5, buildLeNet5Half } from './lenet.ts';
import { buildResNet18, buildResNet34 } from './resnet.ts';
import { buildWideResNet } from './wrn.ts';
import type { ClassifierOptions, GeneratorOptions } from './types.ts';

interface Common {
  name: string;
  description: string;
  /** The reference configuration (input or output shape; classes or latent size). */
  reference: { shape: [number, number, number]; numClasses?: number; latentDim?: number };
  /** The papers' parameter count for the reference configuration, where they give one. */
  paperParams?: number;
}

export interface ClassifierSpec extends Common {
  kind: 'classifier';
  /** Architectures of one family can do attention transfer with each other (ZSKT). */
  family: 'lenet' | 'wrn' | 'resnet';
  /** Builds the model; `opts.width` scales its channels and units (custom-width students). */
  build(opts: ClassifierOptions): tf.LayersModel;
}

export interface GeneratorSpec extends Common {
  kind: 'generator';
  build(opts: GeneratorOptions): tf.LayersModel;
}

export type ArchitectureSpec = ClassifierSpec | GeneratorSpec;

function wrn(depth: number, widen: number, params?: number): ClassifierSpec {
  return {
    name: `wrn-${depth}-${widen}`,
    kind: 'classifier',
    family: 'wrn',
    description: `Wide ResNet, depth ${depth}, width ×${widen} (ZSKT's reference; pre-activation blocks, group outputs for attention transfer)`,
    reference: { shape: [32, 32, 3], numClasses: 10 },
    ...(params ? { paperParams: params } : {}),
    build: (opts) => buildWideResNet({ ...opts, depth, widen }),
  };
}

export const ARCHITECTURES: readonly ArchitectureSpec[] = [
  {
    name: 'lenet5',
    kind: 'classifier',
    family: 'lenet',
    description: 'LeNet-5 (conv 6-16-120, fc 84), DAFL/RDSKD\'s MNIST teacher',
    reference: { shape: [32, 32, 1], numClasses: 10 },
    paperParams: 61_706,
    build: buildLeNet5,
  },
  {
    name: 'lenet5-half',
    kind: 'classifier',
    family: 'lenet',
    description: 'LeNet-5 at half width (conv 3-8-60, fc 42), DAFL/RDSKD\'s MNIST student',
    reference: { shape: [32, 32, 1], numClasses: 10 },
    paperParams: 15_738,
    build: buildLeNet5Half,
  },
  wrn(16, 1, 175_994),
  wrn(16, 2),
  wrn(40, 1),
  wrn(40, 2, 2_248_954),
  {
    name: 'resnet18',
    kind: 'classifier',
    family: 'resnet',
    description: 'ResNet-18, CIFAR variant (3×3 stem, no max-pool), DAFL/RDSKD\'s CIFAR-10 student',
    reference: { shape: [32, 32, 3], numClasses: 10 },
    paperParams: 11_183_562,
    build: buildResNet18,
  },
  {
    name: 'resnet34',
    kind: 'classifier',
    family: 'resnet',
    description: 'ResNet-34, CIFAR variant (3×3 stem, no max-pool), DAFL/RDSKD\'s CIFAR-10 teacher',
    reference: { shape: [32, 32, 3], numClasses: 10 },
    paperParams: 21_299_146,
    build: buildResNet34,
  },
  {
    name: 'dafl-generator',
    kind: 'generator',
    description: 'DAFL\'s generator (RDSKD, DAFL, MSKD): dense seed, two ×2 upsamplings, BN eps 0.8, tanh, final BN without scale/offset',
    reference: { shape: [32, 32, 1], latentDim: 100 },
    build: buildDaflGenerator,
  },
  {
    name: 'zskt-generator',
    kind: 'generator',
    description: 'ZSKT\'s generator: DAFL\'s trunk with default BN epsilon, no tanh, affine final BN',
    reference: { shape: [32, 32, 3], latentDim: 100 },
    build: buildZsktGenerator,
  },
];

/**
 * Looks an architecture up by name (case-insensitive). Any `wrn-<depth>-<width>` is accepted, not
 * only the four listed ones.
 */
export function getArchitecture(name: string): ArchitectureSpec {
  const key = name.trim().toLowerCase();
  const found = ARCHITECTURES.find((a) => a.name === key);
  if (found) return found;
  const m = /^wrn-(\d+)-(\d+)$/.exec(key);
  if (m) return wrn(Number(m[1]), Number(m[2]));
  throw new DistilleryError('NOT_FOUND', `unknown architecture '${name}'`, `choose one of: ${ARCHITECTURES.map((a) => a.name).join(', ')} (or any wrn-<depth>-<width>)`);
}

export function getClassifier(name: string): ClassifierSpec {
  const spec = getArchitecture(name);
  if (spec.kind !== 'classifier') throw new DistilleryError('BAD_INPUT', `'${name}' is a generator, not a classifier`);
  return spec;
}

export function getGenerator(name: string): GeneratorSpec {
  const spec = getArchitecture(name);
  if (spec.kind !== 'generator') throw new DistilleryError('BAD_INPUT', `'${name}' is a classifier, not a generator`);
  return spec;
}

/** Trainable + non-trainable weights (BatchNorm running statistics included), as the papers count. */
export function countParams(model: tf.LayersModel): number {
  return model.countParams();
}

/** Trainable weights only (what PyTorch's `sum(p.numel() for p in model.parameters())` gives). */
export function countTrainableParams(model: tf.LayersModel): number {
  return model.trainableWeights.reduce((sum, w) => sum + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
}
