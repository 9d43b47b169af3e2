/**
 * Writers for the real file formats, used by the loader tests to make small files byte-for-byte
 * in the published layouts (not through the loaders' own code).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';

export function writeFile(path: string, data: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

/** IDX: 0 0 type ndims, big-endian uint32 dims, data (big-endian for multi-byte types). */
export function idxBytes(type: number, dims: number[], data: Uint8Array): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = type;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

export function writeIdx(path: string, type: number, dims: number[], data: Uint8Array, gzip = false): void {
  const bytes = idxBytes(type, dims, data);
  writeFile(path, gzip ? gzipSync(bytes) : bytes);
}

/** A CIFAR-10 binary batch: per record, the label byte then R, G, B planes of 32×32. */
export function cifarBatch(labels: number[], pixel: (n: number, channel: number, p: number) => number): Uint8Array {
  const out = new Uint8Array(labels.length * 3073);
  labels.forEach((label, n) => {
    out[n * 3073] = label;
    for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) out[n * 3073 + 1 + c * 1024 + p] = pixel(n, c, p);
  });
  return out;
}

// ---- MATLAB level-5 MAT-file writer ------------------------------------------------------------

const miINT8 = 1;
const miUINT32 = 6;
const miINT32 = 5;
const miMATRIX = 14;
const miCOMPRESSED = 15;

function pad8(b: Buffer): Buffer {
  const extra = (8 - (b.length % 8)) % 8;
  return extra ? Buffer.concat([b, Buffer.alloc(extra)]) : b;
}

function element(type: number, data: Buffer, allowSmall = true): Buffer {
  if (allowSmall && data.length <= 4) {
    const b = Buffer.alloc(8);
    b.writeUInt32LE((data.length << 16) | type, 0);
    data.copy(b, 4);
    return b;
  }
  const tag = Buffer.alloc(8);
  tag.writeUInt32LE(type, 0);
  tag.writeUInt32LE(data.length, 4);
  return Buffer.concat([tag, pad8(data)]);
}

export interface MatVar {
  name: string;
  /** mxCLASS: 6 double, 9 uint8. */
  mxClass: number;
  dims: number[];
  /** Storage type of the real part (miUINT8 = 2, miDOUBLE = 9, …) and its raw little-endian bytes. */
  dataType: number;
  data: Buffer;
  compressed?: boolean;
}

export function matFile(vars: MatVar[]): Uint8Array {
  const text = Buffer.alloc(116, 0x20);
  text.write('MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Mon Nov 23 12:00:00 2026');
  const header = Buffer.concat([text, Buffer.alloc(8), Buffer.from([0x00, 0x01]), Buffer.from('IM', 'latin1')]);
  const parts: Buffer[] = [header];
  for (const v of vars) {
    const flags = Buffer.alloc(8);
    flags.writeUInt32LE(v.mxClass, 0);
    const dims = Buffer.alloc(4 * v.dims.length);
    v.dims.forEach((d, i) => dims.writeInt32LE(d, 4 * i));
    const body = Buffer.concat([
      element(miUINT32, flags, false),
      element(miINT32, dims, false),
      element(miINT8, Buffer.from(v.name, 'latin1')),
      element(v.dataType, v.data),
    ]);
    const matrix = element(miMATRIX, body, false);
    if (v.compressed) {
      const z = deflateSync(matrix);
      const tag = Buffer.alloc(8);
      tag.writeUInt32LE(miCOMPRESSED, 0);
      tag.writeUInt32LE(z.length, 4);
      parts.push(tag, z); // compressed elements are not padded
    } else parts.push(matrix);
  }
  return Buffer.concat(parts);
}

export function doubles(values: number[]): Buffer {
  const b = Buffer.alloc(8 * values.length);
  values.forEach((v, i) => b.writeDoubleLE(v, 8 * i));
  return b;
}
