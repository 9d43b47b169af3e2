/**
 * IDX files (MNIST and every MNIST-format set: Fashion-MNIST, KMNIST, EMNIST, …), gzipped or not.
 * Format: 2 zero bytes, a type byte (0x08 = uint8), the number of dimensions, then each dimension
 * as a big-endian uint32, then the data. Images are [N, rows, cols] (or [N, rows, cols, channels]);
 * labels [N]. Uncompressed files are read in place; gzipped ones are inflated once into memory.
 */
import { basename } from 'node:path';
import { DistilleryError } from '../errors.ts';
import { FileStore, inflateWithHeader, isGzip, MemoryStore, readBytes, type ByteStore } from './bytes.ts';
import { forEachRun, sampleBytes, type DatasetKind, type ImageSource, type Shape3 } from './types.ts';

const IDX_TYPES: Record<number, { name: string; bytes: number }> = {
  0x08: { name: 'uint8', bytes: 1 },
  0x09: { name: 'int8', bytes: 1 },
  0x0b: { name: 'int16', bytes: 2 },
  0x0c: { name: 'int32', bytes: 4 },
  0x0d: { name: 'float32', bytes: 4 },
  0x0e: { name: 'float64', bytes: 8 },
};

export interface IdxHeader {
  type: number;
  dims: number[];
  headerBytes: number;
  dataBytes: number;
}

/** Parses an IDX header; null if `bytes` is too short to hold it. Throws BAD_DATA if it is not IDX. */
export function parseIdxHeader(bytes: Uint8Array, source: string): IdxHeader | null {
  if (bytes.length < 4) return null;
  const type = bytes[2]!;
  const ndims = bytes[3]!;
  if (bytes[0] !== 0 || bytes[1] !== 0 || !IDX_TYPES[type] || ndims < 1) {
    throw new DistilleryError('BAD_DATA', `${source} is not an IDX file (magic bytes ${[...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`);
  }
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const dataBytes = dims.reduce((a, b) => a * b, 1) * IDX_TYPES[type]!.bytes;
  return { type, dims, headerBytes, dataBytes };
}

interface IdxData {
  header: IdxHeader;
  store: ByteStore;
}

/** Opens an IDX file: in place if uncompressed, inflated once if gzipped. */
export async function openIdxFile(path: string): Promise<IdxData> {
  const name = basename(path);
  if (isGzip(path)) {
    let header: IdxHeader | null = null;
    const { payload } = await inflateWithHeader(path, 'gzip', (head) => {
      header = parseIdxHeader(head, name);
      return header ? { skip: header.headerBytes, size: header.dataBytes } : null;
    });
    return { header: header!, store: new MemoryStore(payload) };
  }
  const header = parseIdxHeader(readBytes(path, 0, 4 + 4 * 255), name);
  if (!header) throw new DistilleryError('BAD_DATA', `${name} is too short to be an IDX file`);
  const store = new FileStore(path);
  if (store.length < header.headerBytes + header.dataBytes) {
    store.close();
    throw new DistilleryError('BAD_DATA', `${name} is truncated: its header describes ${header.dataBytes} data bytes, the file has ${store.length - header.headerBytes}`);
  }
  return { header, store };
}

/** Reads a whole IDX label file as class indices. */
export async function readIdxLabels(path: string): Promise<Int32Array> {
  const { header, store } = await openIdxFile(path);
  try {
    if (header.dims.length !== 1) throw new DistilleryError('BAD_DATA', `${basename(path)} is not a label file: it has ${header.dims.length} dimensions`);
    const n = header.dims[0]!;
    const raw = new Uint8Array(header.dataBytes);
    store.read(store instanceof MemoryStore ? 0 : header.headerBytes, header.dataBytes, raw, 0);
    const labels = new Int32Array(n);
    const view = new DataView(raw.buffer);
    const size = IDX_TYPES[header.type]!.bytes;
    for (let i = 0; i < n; i++) {
      const v =
        header.type === 0x08 ? raw[i]!
        : header.type === 0x09 ? view.getInt8(i)
        : header.type === 0x0b ? view.getInt16(i * size, false)
        : header.type === 0x0c ? view.getInt32(i * size, false)
        : header.type === 0x0d ? view.getFloat32(i * size, false)
        : view.getFloat64(i * size, false);
      if (!Number.isInteger(v) || v < 0) throw new DistilleryError('BAD_DATA', `${basename(path)}: label ${i} is ${v}, not a class index`);
      labels[i] = v;
    }
    return labels;
  } finally {
    store.close();
  }
}

export interface IdxOptions {
  description?: string;
  kind?: DatasetKind;
  classNames?: string[];
}

/** An IDX image file and its label file as an ImageSource. */
export async function openIdxDataset(imagesPath: string, labelsPath: string, options: IdxOptions = {}): Promise<ImageSource> {
  const labels = await readIdxLabels(labelsPath);
  const { header, store } = await openIdxFile(imagesPath);
  const name = basename(imagesPath);
  const fail = (message: string): never => {
    store.close();
    throw new DistilleryError('BAD_DATA', `${name}: ${message}`);
  };
  if (header.type !== 0x08) fail(`images must be uint8, this file holds ${IDX_TYPES[header.type]!.name}`);
  if (header.dims.length !== 3 && header.dims.length !== 4) fail(`images must be [N, rows, cols] or [N, rows, cols, channels], got [${header.dims.join(', ')}]`);
  const [n, h, w, c = 1] = header.dims as [number, number, number, number?];
  if (n !== labels.length) fail(`${n} images but ${labels.length} labels in ${basename(labelsPath)}`);
  const shape: Shape3 = [h, w, c];
  const bytes = sampleBytes(shape);
  const base = store instanceof MemoryStore ? 0 : header.headerBytes;
  const maxLabel = labels.reduce((m, v) => Math.max(m, v), 0);
  const numClasses = Math.max(options.classNames?.length ?? 0, maxLabel + 1);
  return {
    description: options.description ?? `IDX ${name} (${n} images ${h}×${w}×${c})`,
    kind: options.kind ?? 'idx',
    size: n,
    shape,
    labels,
    numClasses,
    classNames: options.classNames ?? Array.from({ length: numClasses }, (_, i) => String(i)),
    read(indices, out) {
      forEachRun(indices, (first, count, position) => {
        if (first < 0 || first + count > n) throw new DistilleryError('BAD_INPUT', `sample index out of range 0..${n - 1}`);
        store.read(base + first * bytes, count * bytes, out, position * bytes);
      });
    },
    close: () => store.close(),
  };
}
