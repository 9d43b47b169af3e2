/**
 * The reference preprocessing of the papers' datasets (methods.md, "Preprocessing of real data"):
 * what a teacher trained here on them expects, and what their manifests record.
 */
import type { Preprocessing } from '../models/manifest.ts';
import { CIFAR10_CLASS_NAMES } from './cifar10.ts';
import { MNIST_CLASS_NAMES } from './mnist.ts';
import { SVHN_CLASS_NAMES } from './svhn.ts';
import type { DatasetKind, Shape3 } from './types.ts';

export interface DatasetPreset {
  /** The model input the reference uses. */
  inputShape: Shape3;
  preprocessing: Preprocessing;
  classNames: string[];
}

export const DATASET_PRESETS: Partial<Record<DatasetKind, DatasetPreset>> = {
  mnist: {
    inputShape: [32, 32, 1],
    preprocessing: { resize: { height: 32, width: 32, method: 'bilinear' }, scale: 1 / 255, mean: [0.1307], std: [0.3081] },
    classNames: MNIST_CLASS_NAMES,
  },
  svhn: {
    inputShape: [32, 32, 3],
    preprocessing: { scale: 1 / 255, mean: [0.4377, 0.4438, 0.4728], std: [0.198, 0.201, 0.197] },
    classNames: SVHN_CLASS_NAMES,
  },
  cifar10: {
    inputShape: [32, 32, 3],
    preprocessing: { scale: 1 / 255, mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] },
    classNames: CIFAR10_CLASS_NAMES,
  },
};
