/**
 * CIFAR-10 binary version (cifar-10-batches-bin/): data_batch_1..5.bin (training) and
 * test_batch.bin, each 10,000 records of 1 label byte + 3,072 pixel bytes (the red 32×32 plane, then
 * green, then blue, rows first). batches.meta.txt names the classes. Pixels stay in the files and
 * are read per batch; labels are read once.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DistilleryError } from '../errors.ts';
import { FileStore } from './bytes.ts';
import { forEachRun, type ImageSource } from './types.ts';
import type { Split } from './mnist.ts';

export const CIFAR10_CLASS_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const SIDE = 32;
const PLANE = SIDE * SIDE;
const RECORD = 1 + 3 * PLANE;

export function cifar10Files(dir: string, split: Split): string[] {
  return split === 'train' ? [1, 2, 3, 4, 5].map((i) => join(dir, `data_batch_${i}.bin`)) : [join(dir, 'test_batch.bin')];
}

/** Is `dir` a CIFAR-10 binary folder (or does it contain cifar-10-batches-bin/)? Returns the folder. */
export function findCifar10Dir(dir: string): string | null {
  for (const d of [dir, join(dir, 'cifar-10-batches-bin')]) {
    if (existsSync(join(d, 'test_batch.bin')) || existsSync(join(d, 'data_batch_1.bin'))) return d;
  }
  return null;
}

export function openCifar10(dirArg: string, split: Split): ImageSource {
  const dir = findCifar10Dir(dirArg);
  if (!dir) {
    throw new DistilleryError('NOT_FOUND', `${dirArg} holds no CIFAR-10 binary batches (data_batch_1.bin … test_batch.bin)`, 'download the "CIFAR-10 binary version" and extract it (tar xzf cifar-10-binary.tar.gz)');
  }
  const paths = cifar10Files(dir, split);
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length) throw new DistilleryError('NOT_FOUND', `CIFAR-10 ${split} files missing: ${missing.join(', ')}`);
  const stores = paths.map((p) => new FileStore(p));
  const counts: number[] = [];
  for (const s of stores) {
    if (s.length % RECORD !== 0) {
      stores.forEach((x) => x.close());
      throw new DistilleryError('BAD_DATA', `${s.path} is ${s.length} bytes, not a whole number of ${RECORD}-byte CIFAR-10 records`, 'is this the CIFAR-100 binary version (2 label bytes)? Only CIFAR-10 is supported here');
    }
    counts.push(s.length / RECORD);
  }
  const starts = counts.map((_, i) => counts.slice(0, i).reduce((a, b) => a + b, 0));
  const size = counts.reduce((a, b) => a + b, 0);
  // Labels: read the files in chunks of records and keep the first byte of each.
  const labels = new Int32Array(size);
  const chunkRecords = 1000;
  const chunk = new Uint8Array(chunkRecords * RECORD);
  stores.forEach((s, f) => {
    for (let r = 0; r < counts[f]!; r += chunkRecords) {
      const n = Math.min(chunkRecords, counts[f]! - r);
      s.read(r * RECORD, n * RECORD, chunk, 0);
      for (let i = 0; i < n; i++) {
        const label = chunk[i * RECORD]!;
        if (label > 9) {
          stores.forEach((x) => x.close());
          throw new DistilleryError('BAD_DATA', `${s.path}: record ${r + i} has label ${label}; CIFAR-10 labels are 0–9`);
        }
        labels[starts[f]! + r + i] = label;
      }
    }
  });
  let metaNames: string[] | null = null;
  const metaPath = join(dir, 'batches.meta.txt');
  if (existsSync(metaPath)) {
    const names = readFileSync(metaPath, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    if (names.length === 10) metaNames = names;
  }
  let scratch = new Uint8Array(0);
  return {
    description: `CIFAR-10 ${split} (${size} images, ${dir})`,
    kind: 'cifar10',
    size,
    shape: [SIDE, SIDE, 3],
    labels,
    numClasses: 10,
    classNames: metaNames ?? CIFAR10_CLASS_NAMES,
    read(indices, out) {
      forEachRun(indices, (first, count, position) => {
        let done = 0;
        while (done < count) {
          const global = first + done;
          if (global < 0 || global >= size) throw new DistilleryError('BAD_INPUT', `sample index ${global} out of range 0..${size - 1}`);
          let f = stores.length - 1;
          while (starts[f]! > global) f--;
          const local = global - starts[f]!;
          const n = Math.min(count - done, counts[f]! - local);
          if (scratch.length < n * RECORD) scratch = new Uint8Array(n * RECORD);
          stores[f]!.read(local * RECORD, n * RECORD, scratch, 0);
          for (let i = 0; i < n; i++) {
            const rec = i * RECORD + 1;
            const dst = (position + done + i) * 3 * PLANE;
            for (let p = 0; p < PLANE; p++) {
              out[dst + 3 * p] = scratch[rec + p]!;
              out[dst + 3 * p + 1] = scratch[rec + PLANE + p]!;
              out[dst + 3 * p + 2] = scratch[rec + 2 * PLANE + p]!;
            }
          }
          done += n;
        }
      });
    },
    close: () => stores.forEach((s) => s.close()),
  };
}
