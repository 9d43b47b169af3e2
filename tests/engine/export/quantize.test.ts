import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { graphFromModel } from '../../../src-main/engine/export/graph.ts';
import {
  activationQuantization,
  calibrationFromSamples,
  dequantizeValues,
  quantizeBias,
  quantizeValues,
  quantizeWeightsPerChannel,
  roundHalfAwayFromZero,
} from '../../../src-main/engine/export/quantize.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('int8 quantization math', () => {
  it('rounds half away from zero, as TFLite does', () => {
    expect([2.5, -2.5, 0.5, -0.5, 1.49, -1.51].map(roundHalfAwayFromZero)).toEqual([3, -3, 1, -1, 1, -2]);
  });

  it('gives per-tensor asymmetric parameters for a range that straddles zero', () => {
    // scale = 4/255; zeroPoint = round(−128 − (−1)/(4/255)) = round(−64.25) = −64.
    const q = activationQuantization({ min: -1, max: 3 });
    expect(q.scale).toBeCloseTo(4 / 255, 12);
    expect(q.zeroPoint).toBe(-64);
    // The ends and zero land on the grid: −1 → −128 (−64.25 rounds to −64, so −1 sits at −127.75 → −128), 0 → −64.
    expect(Array.from(quantizeValues([-1, 0, 3], q))).toEqual([-128, -64, 127]);
  });

  it('widens a range to contain zero, so zero (padding, ReLU floor) is exact', () => {
    const positive = activationQuantization({ min: 0.5, max: 2.55 });
    expect(positive.scale).toBeCloseTo(0.01, 12);
    expect(positive.zeroPoint).toBe(-128);
    expect(Array.from(quantizeValues([0, 1, 2.55], positive))).toEqual([-128, -28, 127]);
    const negative = activationQuantization({ min: -2.55, max: -1 });
    expect(negative.scale).toBeCloseTo(0.01, 12);
    expect(negative.zeroPoint).toBe(127);
    expect(Array.from(dequantizeValues(quantizeValues([0], negative), negative))).toEqual([0]);
  });

  it('gives a positive scale to a tensor that was zero throughout, and rejects nonsense ranges', () => {
    expect(activationQuantization({ min: 0, max: 0 })).toEqual({ scale: 1, zeroPoint: 0 });
    expect(() => activationQuantization({ min: 1, max: -1 })).toThrow(/cannot quantize/);
    expect(() => activationQuantization({ min: NaN, max: 1 })).toThrow(/cannot quantize/);
  });

  it('round-trips values in range within half a step, and saturates outside it', () => {
    const q = activationQuantization({ min: -0.7, max: 2.3 });
    const values = Float32Array.from({ length: 1001 }, (_, i) => -0.7 + (3 * i) / 1000);
    const back = dequantizeValues(quantizeValues(values, q), q);
    const worst = Math.max(...values.map((v, i) => Math.abs(v - back[i]!)));
    expect(worst).toBeLessThanOrEqual(q.scale / 2 + 1e-6);
    expect(worst).toBeGreaterThan(q.scale / 4); // the grid is really that coarse: the check can fail
    expect(Array.from(quantizeValues([-5, 50], q))).toEqual([-128, 127]);
  });

  it('quantizes weights symmetrically per output channel (channel = outer axis)', () => {
    const weights = Float32Array.from([0.5, -1.27, 0.1, /* channel 1 */ 2, 0, -0.02, /* channel 2 */ 0, 0, 0]);
    const { values, scales } = quantizeWeightsPerChannel(weights, 3);
    expect(scales[0]).toBeCloseTo(0.01, 7);
    expect(scales[1]).toBeCloseTo(2 / 127, 7);
    expect(scales[2]).toBe(1); // all-zero channel: any positive scale
    // −0.02/(2/127) = −1.27 → −1; the largest magnitude of each channel maps to ±127.
    expect(Array.from(values)).toEqual([50, -127, 10, 127, 0, -1, 0, 0, 0]);
    expect(() => quantizeWeightsPerChannel(weights, 2)).toThrow(/cannot split/);
  });

  it('keeps each channel within half its own step: per-channel scales spare small channels', () => {
    const weights = Float32Array.from([100, -37.3, 0.002, -0.0013]);
    const perChannel = quantizeWeightsPerChannel(weights, 2);
    const perTensor = quantizeWeightsPerChannel(weights, 1);
    for (let i = 0; i < 4; i++) {
      const c = i < 2 ? 0 : 1;
      expect(Math.abs(perChannel.values[i]! * perChannel.scales[c]! - weights[i]!)).toBeLessThanOrEqual(perChannel.scales[c]! / 2 + 1e-9);
    }
    // One scale for both: the small channel rounds to nothing.
    expect(Array.from(perTensor.values.subarray(2))).toEqual([0, 0]);
    expect(Array.from(perChannel.values.subarray(2))).toEqual([127, -83]);
  });

  it('quantizes biases to int32 with scale inputScale·weightScale[c]', () => {
    const { values, scales } = quantizeBias(Float32Array.from([0.3, -1, 5e9]), 0.1, Float32Array.from([0.01, 0.5, 1e-3]));
    // Products in float32, as the file stores them and the kernels read them.
    expect(scales[0]).toBe(Math.fround(Math.fround(0.1) * Math.fround(0.01)));
    expect(scales[1]).toBe(Math.fround(Math.fround(0.1) * Math.fround(0.5)));
    // 0.3/0.001 = 300, −1/0.05 = −20; 5e9/1e-4 saturates at the int32 maximum.
    expect(Array.from(values)).toEqual([300, -20, 2 ** 31 - 1]);
    expect(() => quantizeBias(Float32Array.from([1]), 0.1, Float32Array.from([1, 2]))).toThrow(/biases/);
  });
});

describe('calibration on samples', () => {
  /** input [2, 2, 1] → flatten → dense 2 (weights by hand) → relu. */
  function tinyGraph() {
    const input = tf.input({ shape: [2, 2, 1], name: 'image' });
    const flat = tf.layers.flatten({ name: 'flat' }).apply(input) as tf.SymbolicTensor;
    const dense = tf.layers.dense({ units: 2, name: 'fc', weights: [tf.tensor2d([[1, -1], [1, -1], [1, -1], [1, -1]]), tf.tensor1d([0, 0.5])] }).apply(flat) as tf.SymbolicTensor;
    const out = tf.layers.reLU({ name: 'act' }).apply(dense) as tf.SymbolicTensor;
    return graphFromModel(tf.model({ inputs: input, outputs: out }));
  }

  it('records every named tensor\'s min and max over all batches', () => {
    const graph = tinyGraph();
    // fc = [sum, 0.5 − sum] with sum the sum of the four pixels; relu fused into fc.
    const a = tf.tensor4d([1, 2, 3, 4, /**/ -1, -1, -1, -1], [2, 2, 2, 1]); // sums 10, −4
    const b = tf.tensor4d([0.5, 0.5, 0.5, 0.5], [1, 2, 2, 1]); // sum 2
    const calibration = calibrationFromSamples(graph, [a, b]);
    expect(calibration).toMatchObject({ statistic: 'min-max', batches: 2, samples: 3 });
    expect(calibration.ranges.image).toEqual({ min: -1, max: 4 });
    expect(calibration.ranges.flat).toEqual({ min: -1, max: 4 });
    // relu([10, −9.5]) = [10, 0], relu([−4, 4.5]) = [0, 4.5], relu([2, −1.5]) = [2, 0].
    expect(calibration.ranges.act).toEqual({ min: 0, max: 10 });
    expect(Object.keys(calibration.ranges).sort()).toEqual(['act', 'flat', 'image']);
  });

  it('rejects samples of the wrong shape and an empty set', () => {
    const graph = tinyGraph();
    expect(() => calibrationFromSamples(graph, [])).toThrow(/at least one batch/);
    expect(() => calibrationFromSamples(graph, [tf.zeros([1, 3, 3, 1]) as tf.Tensor4D])).toThrow(/calibration samples are \[3, 3, 1\]/);
  });
});
