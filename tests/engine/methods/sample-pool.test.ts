import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { GeneratedSamplePool } from '../../../src-main/engine/methods/common.ts';

/** A fake generator: batch r is filled with the value of its seed, so pool content is readable. */
function fakeGenerator(calls: number[]) {
  return (seed: number) => {
    calls.push(seed);
    return { x: tf.fill([2, 1, 1, 1], seed) as tf.Tensor4D, teacherLogits: tf.fill([2, 3], seed) as tf.Tensor2D };
  };
}

describe('GeneratedSamplePool', () => {
  const config = { batches: 3, refreshEvery: 4 };
  const seedOf = (r: number) => 100 + r;

  it('fills the pool once, then generates one batch every refreshEvery steps, dropping the oldest', () => {
    const calls: number[] = [];
    const pool = new GeneratedSamplePool(config, fakeGenerator(calls), seedOf);
    for (let step = 0; step < 12; step++) tf.dispose(Object.values(pool.minibatch(step, 4, step)));
    // Step 0 holds refresh indices −2, −1, 0; steps 4 and 8 bring in indices 1 and 2.
    expect(calls).toEqual([98, 99, 100, 101, 102]);
    const { x, teacherLogits } = pool.minibatch(11, 64, 7);
    const values = new Set(x.dataSync());
    expect([...values].every((v) => v === 100 || v === 101 || v === 102)).toBe(true);
    expect(values.size).toBe(3);
    // The teacher logits travel with their images.
    expect(Array.from(teacherLogits.dataSync()).filter((_, i) => i % 3 === 0)).toEqual(Array.from(x.dataSync()));
    tf.dispose([x, teacherLogits]);
    pool.dispose();
  });

  it('has the same content at a step whether it got there step by step or was rebuilt (resume)', () => {
    const walked = new GeneratedSamplePool(config, fakeGenerator([]), seedOf);
    for (let step = 0; step < 9; step++) tf.dispose(Object.values(walked.minibatch(step, 4, step)));
    const resumed = new GeneratedSamplePool(config, fakeGenerator([]), seedOf);
    const a = walked.minibatch(9, 16, 5);
    const b = resumed.minibatch(9, 16, 5);
    expect(Array.from(b.x.dataSync())).toEqual(Array.from(a.x.dataSync()));
    tf.dispose([a.x, a.teacherLogits, b.x, b.teacherLogits]);
    walked.dispose();
    resumed.dispose();
  });

  it('leaks no tensors across refreshes, and releases everything on dispose', () => {
    const before = tf.memory().numTensors;
    const pool = new GeneratedSamplePool(config, fakeGenerator([]), seedOf);
    tf.dispose(Object.values(pool.minibatch(0, 4, 0)));
    const held = tf.memory().numTensors;
    for (let step = 1; step < 40; step++) {
      tf.tidy(() => {
        pool.minibatch(step, 4, step); // as a student step does: inside its tidy, result not returned
      });
    }
    expect(tf.memory().numTensors).toBe(held);
    pool.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
