/**
 * Seeded randomness for the methods. Every random draw of a run is a pure function of
 * (run seed, phase, step), so a resumed run draws exactly what the uninterrupted run would have
 * drawn without saving any generator state.
 */

import { mulberry32 } from '../random.ts';

export { mulberry32 };

/** A 31-bit seed derived from a run seed and any number of integers (phase index, step, ...). */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h & 0x7fffffff;
}

/** Standard normal draws (Box–Muller). */
export function normal(rng: () => number): number {
  let u = 0;
  while (u === 0) u = rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * log of a Gamma(alpha, 1) draw (Marsaglia–Tsang; for alpha < 1 the boost
 * Gamma(α) = Gamma(α + 1) · U^(1/α), kept in log space so tiny α — ZSKD uses 1e-4 — never underflows).
 */
export function logGamma(rng: () => number, alpha: number): number {
  if (!(alpha > 0)) throw new Error(`Gamma shape must be > 0, got ${alpha}`);
  if (alpha < 1) {
    let u = 0;
    while (u === 0) u = rng();
    return logGamma(rng, alpha + 1) + Math.log(u) / alpha;
  }
  const d = alpha - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng();
    if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return Math.log(d * v);
  }
}

/** One Dirichlet(alpha) draw, computed from log-gammas (a softmax), so rows always sum to 1. */
export function dirichlet(rng: () => number, alpha: readonly number[]): number[] {
  const logs = alpha.map((a) => logGamma(rng, a));
  const m = Math.max(...logs);
  const e = logs.map((l) => Math.exp(l - m));
  const s = e.reduce((acc, v) => acc + v, 0);
  return e.map((v) => v / s);
}
