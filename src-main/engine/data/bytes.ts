/**
 * Byte access for loaders: a file read at positions (kept on disk), or a buffer decompressed once.
 * Gzip and zlib streams are inflated chunk by chunk into a buffer allocated once at its final size,
 * so a compressed file never exists twice in memory.
 */
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { createGunzip, createInflate } from 'node:zlib';
import { DistilleryError } from '../errors.ts';

export interface ByteStore {
  readonly length: number;
  /** Copies `length` bytes at `offset` into `out` at `outOffset`. */
  read(offset: number, length: number, out: Uint8Array, outOffset: number): void;
  close(): void;
}

export class FileStore implements ByteStore {
  readonly length: number;
  private fd: number | null;

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'r');
    } catch (error) {
      throw new DistilleryError('NOT_FOUND', `cannot open ${path}: ${(error as Error).message}`, undefined, { cause: error });
    }
    this.length = fstatSync(this.fd).size;
  }

  read(offset: number, length: number, out: Uint8Array, outOffset: number): void {
    if (this.fd === null) throw new DistilleryError('IO', `${this.path} is closed`);
    if (offset < 0 || offset + length > this.length) {
      throw new DistilleryError('BAD_DATA', `${this.path}: read of ${length} bytes at ${offset} runs past the end of the file (${this.length} bytes)`);
    }
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, out, outOffset + done, length - done, offset + done);
      if (n === 0) throw new DistilleryError('BAD_DATA', `${this.path}: unexpected end of file`);
      done += n;
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

export class MemoryStore implements ByteStore {
  readonly length: number;
  constructor(private readonly bytes: Uint8Array) {
    this.length = bytes.length;
  }
  read(offset: number, length: number, out: Uint8Array, outOffset: number): void {
    out.set(this.bytes.subarray(offset, offset + length), outOffset);
  }
  close(): void {}
}

/** Reads `length` bytes at `offset` of a file (for headers). */
export function readBytes(path: string, offset: number, length: number): Uint8Array {
  const store = new FileStore(path);
  try {
    const n = Math.max(0, Math.min(length, store.length - offset));
    const out = new Uint8Array(n);
    store.read(offset, n, out, 0);
    return out;
  } finally {
    store.close();
  }
}

export function isGzip(path: string): boolean {
  const head = readBytes(path, 0, 2);
  return head.length === 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/**
 * Inflates (part of) a file chunk by chunk, handing each decompressed chunk to `consume`. Returning
 * false from `consume` stops early (the rest is not decompressed).
 */
export async function inflateFile(
  path: string,
  format: 'gzip' | 'zlib',
  consume: (chunk: Buffer) => boolean | void,
  range?: { start: number; end: number },
): Promise<void> {
  const input = createReadStream(path, range ? { start: range.start, end: range.end - 1 } : {});
  const inflater = format === 'gzip' ? createGunzip() : createInflate();
  await new Promise<void>((resolvePromise, reject) => {
    let finished = false;
    const finish = (error?: unknown): void => {
      if (finished) return;
      finished = true;
      input.destroy();
      inflater.destroy();
      if (error) {
        reject(new DistilleryError('BAD_DATA', `${path}: the compressed data is corrupt: ${(error as Error).message}`, undefined, { cause: error }));
      } else resolvePromise();
    };
    input.on('error', finish);
    inflater.on('error', finish);
    inflater.on('data', (chunk: Buffer) => {
      try {
        if (consume(chunk) === false) finish();
      } catch (error) {
        finished = true;
        input.destroy();
        inflater.destroy();
        reject(error);
      }
    });
    inflater.on('end', () => finish());
    input.pipe(inflater);
  });
}

/**
 * Decompresses into a buffer whose size is known only after a header: `header(bytesSoFar)` returns
 * null until it has seen enough, then { skip, size }: the bytes before the payload and the payload
 * size. Returns the header bytes and the payload, read in one pass.
 */
export async function inflateWithHeader(
  path: string,
  format: 'gzip' | 'zlib',
  header: (head: Uint8Array) => { skip: number; size: number } | null,
  range?: { start: number; end: number },
): Promise<{ head: Uint8Array; payload: Uint8Array }> {
  let head = new Uint8Array(0);
  let parsed: { skip: number; size: number } | null = null;
  let payload: Uint8Array | null = null;
  let filled = 0;
  const take = (bytes: Uint8Array): boolean => {
    const n = Math.min(bytes.length, payload!.length - filled);
    payload!.set(bytes.subarray(0, n), filled);
    filled += n;
    return filled < payload!.length;
  };
  await inflateFile(
    path,
    format,
    (chunk) => {
      if (!parsed) {
        const joined = new Uint8Array(head.length + chunk.length);
        joined.set(head);
        joined.set(chunk, head.length);
        head = joined;
        parsed = header(head);
        if (!parsed) return true;
        payload = new Uint8Array(parsed.size);
        const rest = head.subarray(parsed.skip);
        head = head.slice(0, parsed.skip);
        return take(rest);
      }
      return take(chunk);
    },
    range,
  );
  if (!parsed || !payload) throw new DistilleryError('BAD_DATA', `${path}: the compressed data ends inside its header`);
  if (filled < (payload as Uint8Array).length) {
    throw new DistilleryError('BAD_DATA', `${path}: the data is truncated (${filled} of ${(payload as Uint8Array).length} bytes)`);
  }
  return { head, payload };
}
