/**
 * stepWithTerms with a variable the loss reaches at one step and not at another: tfjs's optimisers
 * keep their slots by position in the gradient map and tf.variableGrads leaves unreached variables
 * out, so without stepWithTerms's nulls the later variables would move onto another variable's
 * moments. Checked on both backends (wasm: our fused Adam; cpu: tfjs's Adam) and for the SGD with
 * weight decay.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SgdWithWeightDecay, stepWithTerms } from '../../../src-main/engine/methods/common.ts';
import { adam } from '../../../src-main/engine/backend/adam.ts';
import { useWasm } from '../backend/helpers.ts';

beforeAll(async () => {
  await useWasm();
});
afterAll(async () => {
  await tf.setBackend('wasm');
});

/**
 * b's values after three steps of `makeOptimizer` on a loss in b, plus (with `withA`, at the last
 * two steps only) a term in a alone. b's gradients are the same either way, so b's path must be
 * too: a variable unreached at step 0 must not move b onto other moments.
 */
function bAfterSteps(makeOptimizer: () => tf.Optimizer, withA: boolean): number[] {
  return tf.tidy(() => {
    const a = tf.variable(tf.tensor1d([0.5, -0.25, 2]), true, `a_${withA}_${Math.random()}`);
    const b = tf.variable(tf.tensor1d([1, 2, -3]), true, `b_${withA}_${Math.random()}`);
    const opt = makeOptimizer();
    for (let step = 0; step < 3; step++) {
      stepWithTerms(opt, withA ? [a, b] : [b], () => {
        const lossB = tf.sum(tf.square(tf.sub(b, tf.tensor1d([0.3, 0.1, -0.2]))));
        return { total: (withA && step > 0 ? tf.add(lossB, tf.sum(tf.square(a))) : lossB) as tf.Scalar };
      });
    }
    const values = Array.from(b.dataSync());
    opt.dispose();
    a.dispose();
    b.dispose();
    return values;
  });
}

describe('optimiser slots follow the variables, not their position among the reached ones', () => {
  for (const backend of ['wasm', 'cpu']) {
    it(`Adam on ${backend}: a variable unreached at the first step leaves the others' moments alone`, async () => {
      await tf.setBackend(backend);
      const withA = bAfterSteps(() => adam(0.1), true);
      const reference = bAfterSteps(() => adam(0.1), false);
      expect(withA).toEqual(reference);
    });
  }

  it('SGD with weight decay keeps the positions too', async () => {
    await tf.setBackend('cpu');
    const sgd = () => new SgdWithWeightDecay(0.1, 0.9, 0.01);
    expect(bAfterSteps(sgd, true)).toEqual(bAfterSteps(sgd, false));
  });
});
