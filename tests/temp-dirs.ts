/**
 * Temporary folders for one test file: each is made under the OS temp folder and removed when the
 * file's tests (or the describe block it was called in) end — also after a failing test, so no run
 * of the suite leaves folders behind. Call at the top level or in a describe, not inside a test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/** A maker of fresh folders named `<prefix>XXXXXX`, all removed after the enclosing suite. */
export function tempDirs(prefix: string): () => string {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}

/** One fresh folder, removed after the enclosing suite. */
export function tempDir(prefix: string): string {
  return tempDirs(prefix)();
}
