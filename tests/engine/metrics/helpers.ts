/** Small deterministic helpers shared by the metrics tests. */
import { mulberry32 } from '../../../src-main/engine/random.ts';

/** A seeded uniform [0, 1) generator. */
export const rng = mulberry32;

/** Standard normal draws (Box–Muller) from a seeded generator. */
export function normals(seed: number, count: number): number[] {
  const u = rng(seed);
  const out: number[] = [];
  while (out.length < count) {
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const th = 2 * Math.PI * u();
    out.push(r * Math.cos(th), r * Math.sin(th));
  }
  return out.slice(0, count);
}

/** A [rows][cols] nested array of normal draws. */
export function normalMatrix(seed: number, rows: number, cols: number): number[][] {
  const v = normals(seed, rows * cols);
  return Array.from({ length: rows }, (_, i) => v.slice(i * cols, (i + 1) * cols));
}
