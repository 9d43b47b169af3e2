import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { inceptionScore } from '../../../src-main/engine/metrics/inception.ts';
import { DistilleryError } from '../../../src-main/engine/errors.ts';
import { normalMatrix } from './helpers.ts';

const fixtures = JSON.parse(readFileSync(new URL('../../fixtures/metrics.json', import.meta.url), 'utf8')) as {
  inception: { probs: number[][]; splits: number; mean: number; std: number; perSplit: number[] };
};

function oneHot(n: number, k: number, cls: (i: number) => number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: k }, (_, j) => (j === cls(i) ? 1 : 0)));
}

function softmaxRows(m: number[][]): number[][] {
  return m.map((r) => {
    const mx = Math.max(...r);
    const e = r.map((v) => Math.exp(v - mx));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
}

describe('inceptionScore', () => {
  it('is 1 for uniform predictions', () => {
    const k = 10;
    const probs = Array.from({ length: 40 }, () => new Array<number>(k).fill(1 / k));
    const r = inceptionScore(probs, { splits: 4 });
    expect(r.mean).toBeCloseTo(1, 12);
    expect(r.std).toBeCloseTo(0, 12);
    expect(r.perSplit).toHaveLength(4);
  });

  it('is K for perfectly confident, balanced predictions', () => {
    for (const k of [2, 5, 10]) {
      const probs = oneHot(k * 6, k, (i) => i % k);
      expect(inceptionScore(probs, { splits: 1 }).mean).toBeCloseTo(k, 10);
      // 3 splits of 2k samples each, still balanced within every split.
      const r = inceptionScore(probs, { splits: 3 });
      expect(r.mean).toBeCloseTo(k, 10);
      expect(r.std).toBeCloseTo(0, 10);
    }
  });

  it('is 1 for confident predictions that all name the same class (mode collapse)', () => {
    expect(inceptionScore(oneHot(30, 10, () => 3), { splits: 3 }).mean).toBeCloseTo(1, 12);
  });

  it('lies strictly between 1 and K for mixed predictions', () => {
    const r = inceptionScore(softmaxRows(normalMatrix(7, 200, 10)), { splits: 5 });
    expect(r.mean).toBeGreaterThan(1);
    expect(r.mean).toBeLessThan(10);
  });

  it('matches the OpenAI reference formula (numpy fixture, uneven splits)', () => {
    const f = fixtures.inception;
    const r = inceptionScore(f.probs, { splits: f.splits });
    expect(r.n).toBe(f.probs.length);
    expect(r.splits).toBe(f.splits);
    r.perSplit.forEach((v, i) => expect(v).toBeCloseTo(f.perSplit[i]!, 10));
    expect(r.mean).toBeCloseTo(f.mean, 10);
    expect(r.std).toBeCloseTo(f.std, 10);
  });

  it('accepts a probability tensor and leaves it alive', async () => {
    await tf.setBackend('cpu');
    const f = fixtures.inception;
    const t = tf.tensor2d(f.probs);
    const r = inceptionScore(t, { splits: f.splits });
    expect(r.mean).toBeCloseTo(f.mean, 5);
    expect(t.isDisposed).toBe(false);
    t.dispose();
  });

  it('rejects logits and bad split counts with BAD_INPUT', () => {
    const logits = normalMatrix(3, 10, 4);
    expect(() => inceptionScore(logits)).toThrow(DistilleryError);
    try {
      inceptionScore(logits);
    } catch (e) {
      expect((e as DistilleryError).code).toBe('BAD_INPUT');
    }
    expect(() => inceptionScore(oneHot(4, 2, (i) => i % 2), { splits: 0 })).toThrow(/splits/);
  });

  it('clamps the number of splits to the number of samples', () => {
    expect(inceptionScore(oneHot(3, 3, (i) => i), { splits: 10 }).splits).toBe(3);
  });
});
