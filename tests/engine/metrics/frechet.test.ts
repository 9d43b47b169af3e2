import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { frechetDistance, frechetDistanceFromStats, gaussianStats } from '../../../src-main/engine/metrics/frechet.ts';
import { featureStats, matmul, sqrtmPsd } from '../../../src-main/engine/metrics/linalg.ts';
import { normalMatrix, normals, rng } from './helpers.ts';

interface Fixtures {
  frechetStats: { mu1: number[]; cov1: number[][]; mu2: number[]; cov2: number[][]; fd: number };
  frechetSamples: { x1: number[][]; x2: number[][]; mean1: number[]; cov1: number[][]; fd: number };
  frechetSingular: { x1: number[][]; x2: number[][]; fd: number };
}
const fixtures = JSON.parse(readFileSync(new URL('../../fixtures/metrics.json', import.meta.url), 'utf8')) as Fixtures;

/** A random symmetric positive-definite d × d matrix A·Aᵀ + 0.05·I. */
function randomSpd(seed: number, d: number): number[][] {
  const a = normalMatrix(seed, d, d);
  return Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => a[i]!.reduce((s, v, k) => s + v * a[j]![k]!, 0) + (i === j ? 0.05 : 0)));
}

describe('Fréchet distance', () => {
  it('is 0 for identical Gaussians (non-diagonal covariance)', () => {
    const d = 8;
    const s = gaussianStats(normals(1, d), randomSpd(2, d));
    const r = frechetDistanceFromStats(s, s);
    expect(Math.abs(r.value)).toBeLessThan(1e-9);
    expect(Math.abs(r.covTerm)).toBeLessThan(1e-9);
  });

  it('is 0 for the same feature set', () => {
    const x = normalMatrix(3, 50, 6);
    expect(frechetDistance(x, x).value).toBeLessThan(1e-9);
  });

  it('matches the closed form for diagonal covariances', () => {
    const d = 6;
    const u = rng(11);
    const mu1 = normals(12, d);
    const mu2 = normals(13, d);
    const v1 = Array.from({ length: d }, () => 0.1 + 3 * u());
    const v2 = Array.from({ length: d }, () => 0.1 + 3 * u());
    const diag = (v: number[]): number[][] => v.map((x, i) => v.map((_, j) => (i === j ? x : 0)));
    let expected = 0;
    for (let i = 0; i < d; i++) expected += (mu1[i]! - mu2[i]!) ** 2 + v1[i]! + v2[i]! - 2 * Math.sqrt(v1[i]! * v2[i]!);
    const r = frechetDistanceFromStats(gaussianStats(mu1, diag(v1)), gaussianStats(mu2, diag(v2)));
    expect(r.value).toBeCloseTo(expected, 10);
  });

  it('matches the 2 × 2 closed form tr √M = √(tr M + 2√det M) for non-diagonal covariances', () => {
    const s1 = [[2, 0.8], [0.8, 1]];
    const s2 = [[1.5, -0.6], [-0.6, 0.9]];
    const mu1 = [0.3, -1];
    const mu2 = [1, 0.5];
    // M = Σ1·Σ2 by hand.
    const m = [
      [s1[0]![0]! * s2[0]![0]! + s1[0]![1]! * s2[1]![0]!, s1[0]![0]! * s2[0]![1]! + s1[0]![1]! * s2[1]![1]!],
      [s1[1]![0]! * s2[0]![0]! + s1[1]![1]! * s2[1]![0]!, s1[1]![0]! * s2[0]![1]! + s1[1]![1]! * s2[1]![1]!],
    ];
    const trM = m[0]![0]! + m[1]![1]!;
    const detM = m[0]![0]! * m[1]![1]! - m[0]![1]! * m[1]![0]!;
    const trSqrt = Math.sqrt(trM + 2 * Math.sqrt(detM));
    const expected = (mu1[0]! - mu2[0]!) ** 2 + (mu1[1]! - mu2[1]!) ** 2 + (2 + 1) + (1.5 + 0.9) - 2 * trSqrt;
    const r = frechetDistanceFromStats(gaussianStats(mu1, s1), gaussianStats(mu2, s2));
    expect(r.traceSqrt).toBeCloseTo(trSqrt, 12);
    expect(r.value).toBeCloseTo(expected, 12);
  });

  it('matches the closed form (1 − c)²·tr Σ + ‖Δμ‖² when Σ2 = c²·Σ1 (non-diagonal, d = 10)', () => {
    const d = 10;
    const s1 = randomSpd(21, d);
    const c = 1.7;
    const s2 = s1.map((r) => r.map((v) => c * c * v));
    const mu1 = normals(22, d);
    const mu2 = normals(23, d);
    let tr = 0;
    let dm = 0;
    for (let i = 0; i < d; i++) {
      tr += s1[i]![i]!;
      dm += (mu1[i]! - mu2[i]!) ** 2;
    }
    const r = frechetDistanceFromStats(gaussianStats(mu1, s1), gaussianStats(mu2, s2));
    expect(r.value).toBeCloseTo(dm + (1 - c) ** 2 * tr, 8);
  });

  it('matches numpy/scipy (sqrtm by Schur decomposition) for non-diagonal Gaussians', () => {
    const f = fixtures.frechetStats;
    const r = frechetDistanceFromStats(gaussianStats(f.mu1, f.cov1), gaussianStats(f.mu2, f.cov2));
    expect(r.value).toBeCloseTo(f.fd, 8);
  });

  it('matches numpy.cov + scipy on feature samples, in both directions', () => {
    const f = fixtures.frechetSamples;
    const stats = featureStats(f.x1);
    expect(stats.n).toBe(f.x1.length);
    f.mean1.forEach((v, i) => expect(stats.mean[i]).toBeCloseTo(v, 12));
    f.cov1.forEach((row, i) => row.forEach((v, j) => expect(stats.cov[i * stats.dim + j]).toBeCloseTo(v, 12)));
    const r = frechetDistance(f.x1, f.x2);
    expect(r.value).toBeCloseTo(f.fd, 8);
    expect(r.n1).toBe(f.x1.length);
    expect(r.n2).toBe(f.x2.length);
    expect(frechetDistance(f.x2, f.x1).value).toBeCloseTo(f.fd, 8);
  });

  it('handles singular covariances (fewer samples than dimensions) without an ε offset', () => {
    const f = fixtures.frechetSingular;
    const r = frechetDistance(f.x1, f.x2);
    expect(r.value).toBeCloseTo(f.fd, 6);
    expect(frechetDistance(f.x2, f.x1).value).toBeCloseTo(f.fd, 6);
  });

  it('is not fooled by a large common offset in the features', () => {
    const f = fixtures.frechetSamples;
    const shift = (x: number[][]): number[][] => x.map((r) => r.map((v) => v + 1e4));
    expect(frechetDistance(shift(f.x1), shift(f.x2)).value).toBeCloseTo(f.fd, 5);
  });

  it('rejects mismatched dimensions and single samples', () => {
    expect(() => frechetDistance(normalMatrix(1, 5, 3), normalMatrix(2, 5, 4))).toThrow(/dimension/);
    expect(() => frechetDistance(normalMatrix(1, 1, 3), normalMatrix(2, 5, 3))).toThrow(/at least 2/);
  });
});

describe('sqrtmPsd', () => {
  it('gives a symmetric square root that squares back to the matrix', () => {
    const d = 7;
    const a = Float64Array.from(randomSpd(31, d).flat());
    const r = sqrtmPsd(a, d);
    const back = matmul(r, r, d);
    for (let i = 0; i < d * d; i++) expect(back[i]).toBeCloseTo(a[i]!, 9);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) expect(r[i * d + j]).toBeCloseTo(r[j * d + i]!, 12);
  });
});
