/**
 * File writes for the run store: atomic replacement (temp file in the same folder → write → fsync
 * → rename → fsync the folder), appends, and the mapping of OS errors to DistilleryError('IO') with
 * a hint the user can act on. The file operations are injectable so tests can simulate a full disk.
 */
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { DistilleryError } from '../errors.ts';

/** The subset of node:fs the store writes through. */
export interface FileOps {
  openSync: typeof fs.openSync;
  writeSync: (fd: number, buffer: Uint8Array, offset: number, length: number) => number;
  fsyncSync: typeof fs.fsyncSync;
  closeSync: typeof fs.closeSync;
  renameSync: typeof fs.renameSync;
  rmSync: typeof fs.rmSync;
  mkdirSync: typeof fs.mkdirSync;
  truncateSync: typeof fs.truncateSync;
}

export const nodeFileOps: FileOps = {
  openSync: fs.openSync,
  writeSync: (fd, buffer, offset, length) => fs.writeSync(fd, buffer, offset, length),
  fsyncSync: fs.fsyncSync,
  closeSync: fs.closeSync,
  renameSync: fs.renameSync,
  rmSync: fs.rmSync,
  mkdirSync: fs.mkdirSync,
  truncateSync: fs.truncateSync,
};

const HINTS: Record<string, string> = {
  ENOSPC: 'the disk is full: free some space (or move the runs folder with --out / DISTILLERY_HOME), then resume the run — the last good checkpoint is kept',
  EDQUOT: 'the disk quota is exhausted: free some space, then resume the run — the last good checkpoint is kept',
  EACCES: 'no permission to write there: choose a runs folder you can write to (--out / DISTILLERY_HOME)',
  EPERM: 'no permission to write there: choose a runs folder you can write to (--out / DISTILLERY_HOME)',
  EROFS: 'the file system is read-only: choose another runs folder (--out / DISTILLERY_HOME)',
  ENOENT: 'the run folder disappeared while the run was writing to it',
  EIO: 'the disk reported a hardware I/O error',
};

/** Any error from a file operation as DistilleryError('IO') with a hint by errno code. */
export function ioError(error: unknown, action: string, path: string): DistilleryError {
  if (error instanceof DistilleryError) return error;
  const code = (error as NodeJS.ErrnoException)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return new DistilleryError('IO', `cannot ${action} ${path}: ${message}`, (code && HINTS[code]) ?? 'check that the runs folder exists and is writable, then resume the run', { cause: error });
}

function writeAll(ops: FileOps, fd: number, chunks: readonly Uint8Array[]): void {
  for (const chunk of chunks) {
    let off = 0;
    while (off < chunk.length) {
      const n = ops.writeSync(fd, chunk, off, chunk.length - off);
      if (n <= 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
      off += n;
    }
  }
}

/** fsync a folder so a rename inside it survives a crash (best effort where not supported). */
export function fsyncDir(dir: string, ops: FileOps = nodeFileOps): void {
  let fd: number | null = null;
  try {
    fd = ops.openSync(dir, 'r');
    ops.fsyncSync(fd);
  } catch {
    // Some platforms (Windows) cannot open or fsync folders; the rename is still atomic there.
  } finally {
    if (fd !== null) ops.closeSync(fd);
  }
}

/**
 * Replaces `file` atomically with the concatenation of `chunks`: after a crash at any moment the
 * file holds either its old or its new content, never a mix. A failed write leaves no temp file.
 */
export function writeFileAtomic(file: string, chunks: readonly Uint8Array[] | string, ops: FileOps = nodeFileOps): void {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const data = typeof chunks === 'string' ? [Buffer.from(chunks, 'utf8')] : chunks;
  let fd: number | null = null;
  try {
    ops.mkdirSync(dir, { recursive: true });
    fd = ops.openSync(tmp, 'w');
    writeAll(ops, fd, data);
    ops.fsyncSync(fd);
    ops.closeSync(fd);
    fd = null;
    ops.renameSync(tmp, file);
  } catch (error) {
    if (fd !== null) {
      try {
        ops.closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    try {
      ops.rmSync(tmp, { force: true });
    } catch {
      /* best effort */
    }
    throw ioError(error, 'write', file);
  }
  fsyncDir(dir, ops);
}

/** Appends text to a file and fsyncs it when `sync` (metrics lines before a checkpoint). */
export class AppendFile {
  private fd: number | null = null;

  constructor(
    readonly path: string,
    private readonly ops: FileOps = nodeFileOps,
  ) {}

  append(text: string): void {
    try {
      if (this.fd === null) this.fd = this.ops.openSync(this.path, 'a');
      writeAll(this.ops, this.fd, [Buffer.from(text, 'utf8')]);
    } catch (error) {
      throw ioError(error, 'append to', this.path);
    }
  }

  sync(): void {
    if (this.fd === null) return;
    try {
      this.ops.fsyncSync(this.fd);
    } catch (error) {
      throw ioError(error, 'flush', this.path);
    }
  }

  close(): void {
    if (this.fd !== null) {
      try {
        this.ops.closeSync(this.fd);
      } finally {
        this.fd = null;
      }
    }
  }
}
