/**
 * A reader for MATLAB level-5 MAT-files (the format of the SVHN cropped-digit files), enough for
 * numeric arrays: a 128-byte header (text, subsystem offset, version 0x0100, endian indicator 'IM'),
 * then data elements, each an 8-byte tag (type, byte count) — or a 4-byte "small" tag with up to 4
 * bytes of data — padded to 8 bytes. A variable is a miMATRIX element: array flags (class), the
 * dimensions, the name, the real part. MATLAB may store the real part in a narrower type than its
 * class (a double array of small integers as miUINT8). miCOMPRESSED elements hold one zlib-deflated
 * element; they are inflated once, streaming into a buffer of the payload's final size. Uncompressed
 * variables stay in the file and are read in place.
 */
import { basename } from 'node:path';
import { DistilleryError } from '../errors.ts';
import { FileStore, inflateWithHeader, MemoryStore, readBytes, type ByteStore } from './bytes.ts';

export const MI = {
  INT8: 1,
  UINT8: 2,
  INT16: 3,
  UINT16: 4,
  INT32: 5,
  UINT32: 6,
  SINGLE: 7,
  DOUBLE: 9,
  INT64: 12,
  UINT64: 13,
  MATRIX: 14,
  COMPRESSED: 15,
  UTF8: 16,
} as const;

const MI_BYTES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8, 16: 1 };

/** MATLAB array classes (mxCLASS) of numeric arrays. */
export const MX = { DOUBLE: 6, SINGLE: 7, INT8: 8, UINT8: 9, INT16: 10, UINT16: 11, INT32: 12, UINT32: 13, INT64: 14, UINT64: 15 } as const;

export interface MatVariable {
  name: string;
  /** mxCLASS of the array. */
  mxClass: number;
  /** MATLAB dimensions (column-major). */
  dims: number[];
  /** Storage type (miXXX) of the real part. */
  dataType: number;
  /** The real part's bytes, in place in the file or inflated in memory. */
  store: ByteStore;
  /** Offset of the real part within `store`. */
  offset: number;
  byteLength: number;
}

interface Tag {
  type: number;
  nbytes: number;
  /** Offset of the data from the tag's start. */
  dataOffset: number;
  /** Total element size including the tag and padding. */
  total: number;
}

function readTag(view: DataView, at: number): Tag | null {
  if (at + 8 > view.byteLength) return null;
  const first = view.getUint32(at, true);
  if (first >>> 16 !== 0) {
    // Small data element: bytes in the upper half of the first word, data in the second word.
    return { type: first & 0xffff, nbytes: first >>> 16, dataOffset: 4, total: 8 };
  }
  const nbytes = view.getUint32(at + 4, true);
  return { type: first, nbytes, dataOffset: 8, total: 8 + Math.ceil(nbytes / 8) * 8 };
}

interface MatrixHeader {
  name: string;
  mxClass: number;
  dims: number[];
  complex: boolean;
  dataType: number;
  /** Offset of the real part's data from the start of the miMATRIX payload. */
  dataOffset: number;
  dataBytes: number;
}

/**
 * Parses the sub-elements of a miMATRIX payload up to the real part's tag. `bytes` starts at the
 * payload. Returns null if more bytes are needed.
 */
function parseMatrixHeader(bytes: Uint8Array, source: string): MatrixHeader | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const flagsTag = readTag(view, at);
  if (!flagsTag || at + flagsTag.total > bytes.length) return null;
  if (flagsTag.type !== MI.UINT32 || flagsTag.nbytes !== 8) throw new DistilleryError('BAD_DATA', `${source}: malformed array flags in a MAT variable`);
  const flags = view.getUint32(at + flagsTag.dataOffset, true);
  const mxClass = flags & 0xff;
  const complex = (flags & 0x0800) !== 0;
  at += flagsTag.total;
  const dimsTag = readTag(view, at);
  if (!dimsTag || at + dimsTag.total > bytes.length) return null;
  if (dimsTag.type !== MI.INT32 || dimsTag.nbytes % 4 !== 0) throw new DistilleryError('BAD_DATA', `${source}: malformed dimensions in a MAT variable`);
  const dims: number[] = [];
  for (let i = 0; i < dimsTag.nbytes / 4; i++) dims.push(view.getInt32(at + dimsTag.dataOffset + 4 * i, true));
  at += dimsTag.total;
  const nameTag = readTag(view, at);
  if (!nameTag || at + nameTag.total > bytes.length) return null;
  const name = new TextDecoder().decode(bytes.subarray(at + nameTag.dataOffset, at + nameTag.dataOffset + nameTag.nbytes));
  at += nameTag.total;
  const realTag = readTag(view, at);
  if (!realTag) return null;
  return { name, mxClass, dims, complex, dataType: realTag.type, dataOffset: at + realTag.dataOffset, dataBytes: realTag.nbytes };
}

function checkMatrix(h: MatrixHeader, source: string): void {
  if (h.mxClass < MX.DOUBLE || h.mxClass > MX.UINT64) {
    throw new DistilleryError('BAD_DATA', `${source}: variable '${h.name}' is not a numeric array (MATLAB class ${h.mxClass})`);
  }
  const size = MI_BYTES[h.dataType];
  if (!size) throw new DistilleryError('BAD_DATA', `${source}: variable '${h.name}' has an unsupported storage type ${h.dataType}`);
  const count = h.dims.reduce((a, b) => a * b, 1);
  if (h.dataBytes !== count * size) {
    throw new DistilleryError('BAD_DATA', `${source}: variable '${h.name}' holds ${h.dataBytes} bytes for ${count} values of ${size} bytes`);
  }
}

/** Checks the 128-byte header; throws BAD_DATA for v7.3 (HDF5) files, big-endian files and non-MAT files. */
export function checkMatHeader(path: string): void {
  const head = readBytes(path, 0, 128);
  const text = new TextDecoder('latin1').decode(head.subarray(0, 116));
  if (head.length < 128 || !text.startsWith('MATLAB')) throw new DistilleryError('BAD_DATA', `${basename(path)} is not a MATLAB MAT-file`);
  if (text.startsWith('MATLAB 7.3')) {
    throw new DistilleryError('BAD_DATA', `${basename(path)} is a MATLAB 7.3 (HDF5) file`, 'save it as a level-5 MAT-file (MATLAB: save(..., "-v7"); SciPy: savemat)');
  }
  const endian = String.fromCharCode(head[126]!, head[127]!);
  if (endian === 'MI') throw new DistilleryError('BAD_DATA', `${basename(path)} is a big-endian MAT-file, which is not supported`);
  if (endian !== 'IM') throw new DistilleryError('BAD_DATA', `${basename(path)} has no MAT-file endian indicator`);
}

/**
 * Finds the named variables in a level-5 MAT-file. Other variables are skipped without being
 * read or decompressed. Throws NOT_FOUND naming what is missing.
 */
export async function readMatVariables(path: string, names: readonly string[]): Promise<Map<string, MatVariable>> {
  const source = basename(path);
  checkMatHeader(path);
  const file = new FileStore(path);
  const found = new Map<string, MatVariable>();
  let keepFileOpen = false;
  try {
    let at = 128;
    const tagBytes = new Uint8Array(8);
    const headBytes = new Uint8Array(512);
    while (at + 8 <= file.length && found.size < names.length) {
      file.read(at, 8, tagBytes, 0);
      const tag = readTag(new DataView(tagBytes.buffer), 0)!;
      // Top-level elements are not padded inside miCOMPRESSED; miMATRIX ones are padded to 8.
      const elementEnd = at + tag.dataOffset + tag.nbytes;
      if (elementEnd > file.length) throw new DistilleryError('BAD_DATA', `${source} is truncated (an element runs past the end of the file)`);
      if (tag.type === MI.MATRIX) {
        const n = Math.min(headBytes.length, tag.nbytes);
        file.read(at + tag.dataOffset, n, headBytes, 0);
        const h = parseMatrixHeader(headBytes.subarray(0, n), source);
        if (!h) throw new DistilleryError('BAD_DATA', `${source}: a variable header is malformed`);
        if (names.includes(h.name)) {
          checkMatrix(h, source);
          if (h.complex) throw new DistilleryError('BAD_DATA', `${source}: variable '${h.name}' is complex`);
          found.set(h.name, { name: h.name, mxClass: h.mxClass, dims: h.dims, dataType: h.dataType, store: file, offset: at + tag.dataOffset + h.dataOffset, byteLength: h.dataBytes });
          keepFileOpen = true;
        }
      } else if (tag.type === MI.COMPRESSED) {
        let header: MatrixHeader | null = null;
        let wanted = true;
        const range = { start: at + tag.dataOffset, end: elementEnd };
        try {
          const { payload } = await inflateWithHeader(
            path,
            'zlib',
            (head) => {
              const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
              const inner = readTag(view, 0);
              if (!inner) return null;
              if (inner.type !== MI.MATRIX) {
                wanted = false;
                return { skip: head.length, size: 0 };
              }
              header = parseMatrixHeader(head.subarray(inner.dataOffset), source);
              if (!header) return null;
              if (!names.includes(header.name)) {
                wanted = false;
                return { skip: head.length, size: 0 };
              }
              checkMatrix(header, source);
              return { skip: inner.dataOffset + header.dataOffset, size: header.dataBytes };
            },
            range,
          );
          if (wanted && header) {
            const h = header as MatrixHeader;
            if (h.complex) throw new DistilleryError('BAD_DATA', `${source}: variable '${h.name}' is complex`);
            found.set(h.name, { name: h.name, mxClass: h.mxClass, dims: h.dims, dataType: h.dataType, store: new MemoryStore(payload), offset: 0, byteLength: h.dataBytes });
          }
        } catch (error) {
          // A skipped variable stops inflating early; only real errors reach here for wanted ones.
          if (wanted) throw error;
        }
      }
      at = tag.type === MI.COMPRESSED ? elementEnd : at + tag.total;
    }
  } finally {
    if (!keepFileOpen) file.close();
  }
  const missing = names.filter((n) => !found.has(n));
  if (missing.length) {
    for (const v of found.values()) if (v.store === file) file.close();
    throw new DistilleryError('NOT_FOUND', `${source} has no variable ${missing.map((m) => `'${m}'`).join(', ')}`);
  }
  return found;
}

/** Reads a (small) numeric variable's values as numbers, whatever its storage type. */
export function matValues(v: MatVariable): Float64Array {
  const bytes = new Uint8Array(v.byteLength);
  v.store.read(v.offset, v.byteLength, bytes, 0);
  const view = new DataView(bytes.buffer);
  const size = MI_BYTES[v.dataType]!;
  const n = v.byteLength / size;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * size;
    switch (v.dataType) {
      case MI.INT8: out[i] = view.getInt8(o); break;
      case MI.UINT8: out[i] = bytes[o]!; break;
      case MI.INT16: out[i] = view.getInt16(o, true); break;
      case MI.UINT16: out[i] = view.getUint16(o, true); break;
      case MI.INT32: out[i] = view.getInt32(o, true); break;
      case MI.UINT32: out[i] = view.getUint32(o, true); break;
      case MI.SINGLE: out[i] = view.getFloat32(o, true); break;
      case MI.DOUBLE: out[i] = view.getFloat64(o, true); break;
      case MI.INT64: out[i] = Number(view.getBigInt64(o, true)); break;
      case MI.UINT64: out[i] = Number(view.getBigUint64(o, true)); break;
      default: throw new DistilleryError('BAD_DATA', `variable '${v.name}' has an unsupported storage type ${v.dataType}`);
    }
  }
  return out;
}
