/** Small deterministic helpers shared by the metrics tests. */

/** mulberry32: a seeded uniform [0, 1) generator. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
