import { describe, expect, it } from 'vitest';
import { argmaxAgreement, argmaxRows, classCoverage, kdLossHost, lossSpread } from '../../../src-main/engine/metrics/classes.ts';

describe('argmax agreement', () => {
  it('counts matching argmaxes, overall and per teacher class', () => {
    const teacher = argmaxRows([[3, 1, 0], [0, 2, 1], [0, 0, 5], [1, 4, 0]]);
    expect([...teacher]).toEqual([0, 1, 2, 1]);
    const student = argmaxRows([[0.9, 0.05, 0.05], [0.1, 0.2, 0.7], [0, 0, 1], [0.2, 0.7, 0.1]]);
    const r = argmaxAgreement(teacher, student, 3);
    expect(r.rate).toBe(0.75);
    expect(r.agree).toBe(3);
    expect(r.perClass).toEqual([1, 0.5, 1]);
    expect(argmaxAgreement([0, 0], [0, 0], 3).perClass).toEqual([1, null, null]);
  });

  it('rejects length mismatches', () => {
    expect(() => argmaxAgreement([0, 1], [0], 2)).toThrow(/labels/);
  });
});

describe('class coverage', () => {
  it('is 1 (normalised entropy) for balanced samples and 0 for a single class', () => {
    const balanced = classCoverage([0, 1, 2, 3, 0, 1, 2, 3], 4);
    expect(balanced.normalisedEntropy).toBeCloseTo(1, 12);
    expect(balanced.counts).toEqual([2, 2, 2, 2]);
    expect(balanced.classesCovered).toBe(4);
    const collapsed = classCoverage([2, 2, 2], 4);
    expect(collapsed.normalisedEntropy).toBe(0);
    expect(collapsed.classesCovered).toBe(1);
    expect(collapsed.maxFraction).toBe(1);
    expect(collapsed.minFraction).toBe(0);
  });

  it('gives the histogram and entropy of an uneven split', () => {
    const r = classCoverage([0, 0, 0, 1], 2);
    expect(r.fractions).toEqual([0.75, 0.25]);
    const h = -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25));
    expect(r.normalisedEntropy).toBeCloseTo(h / Math.log(2), 12);
  });
});

describe('KD loss', () => {
  it('is 0 for equal logits', () => {
    expect(kdLossHost([[1, 2, 3], [0, -1, 4]], [[1, 2, 3], [0, -1, 4]], 10)).toBeCloseTo(0, 12);
  });

  it('matches a hand-computed KL, with τ² scaling', () => {
    // τ = 1: q = (½, ½), p = (¾, ¼) → KL(q‖p) = ½ ln(½/¾) + ½ ln(½/¼) = ½ ln(4/3).
    const kl = 0.5 * Math.log(4 / 3);
    expect(kdLossHost([[0, 0]], [[Math.log(3), 0]], 1)).toBeCloseTo(kl, 12);
    // τ = 2 with doubled logits gives the same distributions, times τ² = 4 (or not, without τ²).
    expect(kdLossHost([[0, 0]], [[2 * Math.log(3), 0]], 2)).toBeCloseTo(4 * kl, 12);
    expect(kdLossHost([[0, 0]], [[2 * Math.log(3), 0]], 2, false)).toBeCloseTo(kl, 12);
  });
});

describe('lossSpread', () => {
  it('gives mean and unbiased variance across batches, optionally over the last window', () => {
    const r = lossSpread([1, 2, 3, 4]);
    expect(r.mean).toBe(2.5);
    expect(r.variance).toBeCloseTo(5 / 3, 12);
    expect(r.std).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(r.min).toBe(1);
    expect(r.max).toBe(4);
    const w = lossSpread([100, 1, 3], 2);
    expect(w.n).toBe(2);
    expect(w.mean).toBe(2);
    expect(w.variance).toBe(2);
    expect(lossSpread([5]).variance).toBe(0);
    expect(() => lossSpread([1, Number.NaN])).toThrow(/NaN/);
  });
});
