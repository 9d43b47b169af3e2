import { describe, expect, it } from 'vitest';
import { withinClassDiversity } from '../../../src-main/engine/metrics/diversity.ts';
import { normalMatrix, rng } from './helpers.ts';

/** The definition, written out as an explicit pair loop. */
function bruteForce(features: number[][], labels: number[], k: number): { perClass: (number | null)[]; mean: number | null } {
  const unit = features.map((f) => {
    const n = Math.sqrt(f.reduce((s, v) => s + v * v, 0));
    return f.map((v) => v / n);
  });
  const perClass: (number | null)[] = [];
  for (let c = 0; c < k; c++) {
    const idx = labels.map((l, i) => (l === c ? i : -1)).filter((i) => i >= 0);
    if (idx.length < 2) {
      perClass.push(null);
      continue;
    }
    let sum = 0;
    let pairs = 0;
    for (let a = 0; a < idx.length; a++) {
      for (let b = a + 1; b < idx.length; b++) {
        sum += unit[idx[a]!]!.reduce((s, v, j) => s + (v - unit[idx[b]!]![j]!) ** 2, 0);
        pairs++;
      }
    }
    perClass.push(sum / pairs);
  }
  const used = perClass.filter((v): v is number => v !== null);
  return { perClass, mean: used.length ? used.reduce((a, b) => a + b, 0) / used.length : null };
}

describe('withinClassDiversity (LPIPS-style)', () => {
  it('is 0 for identical samples', () => {
    const f = normalMatrix(1, 1, 12)[0]!;
    const features = Array.from({ length: 25 }, () => [...f]);
    const r = withinClassDiversity(features, new Array<number>(25).fill(2), 4);
    expect(r.mean).not.toBeNull();
    expect(Math.abs(r.mean!)).toBeLessThan(1e-12);
    expect(r.pairs).toBe((25 * 24) / 2);
    expect(r.classesUsed).toBe(1);
  });

  it('matches the explicit pair loop of its definition', () => {
    const k = 4;
    const u = rng(5);
    const features = normalMatrix(6, 60, 9);
    const labels = features.map(() => Math.floor(u() * (k - 1))); // class k − 1 stays empty
    labels[0] = k - 2;
    const r = withinClassDiversity(features, labels, k);
    const b = bruteForce(features, labels, k);
    r.perClass.forEach((c, i) => {
      if (b.perClass[i] === null) expect(c.meanDistance).toBeNull();
      else expect(c.meanDistance).toBeCloseTo(b.perClass[i]!, 12);
    });
    expect(r.mean).toBeCloseTo(b.mean!, 12);
    expect(r.perClass[k - 1]!.count).toBe(0);
    expect(r.classesUsed).toBe(k - 1);
  });

  it('ignores per-sample feature scale (features are L2-normalised)', () => {
    const features = normalMatrix(8, 20, 5);
    const labels = features.map((_, i) => i % 2);
    const scaled = features.map((f, i) => f.map((v) => v * (0.1 + i)));
    expect(withinClassDiversity(scaled, labels, 2).mean).toBeCloseTo(withinClassDiversity(features, labels, 2).mean!, 12);
  });

  it('is 2 for mutually orthogonal samples and 4 for opposite ones', () => {
    const eye = [[1, 0, 0], [0, 3, 0], [0, 0, 0.5]];
    expect(withinClassDiversity(eye, [0, 0, 0], 1).mean).toBeCloseTo(2, 12);
    expect(withinClassDiversity([[1, 2], [-1, -2]], [0, 0], 1).mean).toBeCloseTo(4, 12);
  });

  it('averages classes without weighting by size; pairWeightedMean weights by pairs', () => {
    // class 0: 2 identical samples (D = 0, 1 pair); class 1: 3 orthogonal samples (D = 2, 3 pairs).
    const features = [[1, 0, 0], [1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]];
    const r = withinClassDiversity(features, [0, 0, 1, 1, 1], 3);
    expect(r.mean).toBeCloseTo(1, 12);
    expect(r.pairWeightedMean).toBeCloseTo((0 + 3 * 2) / 4, 12);
    expect(r.perClass[2]!.meanDistance).toBeNull();
  });

  it('returns null when no class has two samples, and rejects bad labels', () => {
    expect(withinClassDiversity([[1, 0], [0, 1]], [0, 1], 2).mean).toBeNull();
    expect(() => withinClassDiversity([[1, 0]], [2], 2)).toThrow(/outside/);
    expect(() => withinClassDiversity([[1, 0]], [0, 1], 2)).toThrow(/labels/);
  });
});
