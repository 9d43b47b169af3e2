/**
 * A dataset as the engine reads it: labels in memory (small), pixels read on demand as raw uint8,
 * channels-last, one sample after another. Loaders keep pixels either in the file (random reads)
 * or, when the file is compressed, decompressed once into one buffer of exactly the pixel bytes —
 * never a second full copy. Preprocessing (resize, scale, normalise) happens per batch.
 */
export type Shape3 = [height: number, width: number, channels: number];

export type DatasetKind = 'mnist' | 'idx' | 'cifar10' | 'svhn' | 'folder';

export interface ImageSource {
  /** Plain words, e.g. 'MNIST test (t10k-images-idx3-ubyte)'. */
  readonly description: string;
  readonly kind: DatasetKind;
  readonly size: number;
  /** Shape of one raw sample as read by `read`: [height, width, channels]. */
  readonly shape: Shape3;
  /** Class index of every sample, 0-based. */
  readonly labels: Int32Array;
  readonly numClasses: number;
  readonly classNames: string[];
  /** Copies the raw pixels (uint8, HWC) of the samples `indices`, in order, into `out`. */
  read(indices: ArrayLike<number>, out: Uint8Array): void;
  /** Releases open files. */
  close(): void;
}

export function sampleBytes(shape: Shape3): number {
  return shape[0] * shape[1] * shape[2];
}

/** Calls fn(start, length, position) for each run of consecutive indices (to batch file reads). */
export function forEachRun(indices: ArrayLike<number>, fn: (first: number, count: number, position: number) => void): void {
  let i = 0;
  while (i < indices.length) {
    const first = indices[i]!;
    let n = 1;
    while (i + n < indices.length && indices[i + n] === first + n) n++;
    fn(first, n, i);
    i += n;
  }
}
