/**
 * Adam whose update is one pass per variable on the wasm backend. tfjs's AdamOptimizer issues about
 * twelve kernels per variable (mul, add, square, div, sqrt, assign…) and a training step of a small
 * network is dominated by them: LeNet5 has ten variables, so ~120 tiny kernels per step, and some of
 * XNNPACK's small element-wise operators stall on the thread pool (Square over 2,400 values took
 * ~0.6 ms with 2 threads, 8 µs with 1). Here the update reads the variable, its gradient and both
 * moments straight from the wasm heap and writes new buffers in one loop.
 *
 * The arithmetic is tfjs's, operation by operation, each rounded to float32 (Math.fround), so the
 * results are bit-identical to tf.train.adam (tests/engine/backend/adam.test.ts): every step of
 * the chain is a correctly rounded IEEE operation in both. State lives in the same fields as
 * AdamOptimizer's (moments, accBeta1/2), so getWeights/setWeights and checkpoints are unchanged.
 * On other backends it is tf.train.adam.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type VariableGradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];
type Slot = { originalName: string; variable: tf.Variable };

/** The fields of tfjs's AdamOptimizer that it keeps protected. */
interface AdamState {
  accumulatedFirstMoment: Slot[];
  accumulatedSecondMoment: Slot[];
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  beta1: number;
  beta2: number;
  epsilon: number;
  learningRate: number;
  incrementIterations(): void;
}

const f32 = Math.fround;

export class FusedAdam extends tf.AdamOptimizer {
  override applyGradients(variableGradients: VariableGradients): void {
    if (tf.getBackend() !== 'wasm') {
      super.applyGradients(variableGradients);
      return;
    }
    const entries = Array.isArray(variableGradients)
      ? variableGradients.map((v) => [v.name, v.tensor] as const)
      : Object.entries(variableGradients);
    const values = entries.map(([name]) => tf.engine().registeredVariables[name]);
    if (entries.some(([, g], i) => (g != null && g.dtype !== 'float32') || values[i]?.dtype !== 'float32')) {
      super.applyGradients(variableGradients);
      return;
    }
    const s = this as unknown as AdamState;
    const backend = tf.backend() as BackendWasm;
    const heap = (t: tf.TensorInfo): Float32Array => backend.typedArrayFromHeap(t) as Float32Array;
    const scalarOf = (v: tf.Variable): number => heap(v)[0]!;
    const oneMinusAccBeta1 = f32(1 - scalarOf(s.accBeta1));
    const oneMinusAccBeta2 = f32(1 - scalarOf(s.accBeta2));
    const b1 = f32(s.beta1);
    const c1 = f32(1 - s.beta1);
    const b2 = f32(s.beta2);
    const c2 = f32(1 - s.beta2);
    const eps = f32(s.epsilon);
    const negLr = f32(-s.learningRate);
    entries.forEach(([name, gradient], i) => {
      const value = values[i]!;
      s.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      s.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      if (gradient == null) return;
      const m = s.accumulatedFirstMoment[i].variable;
      const v = s.accumulatedSecondMoment[i].variable;
      // New buffers, not in-place writes: other tensors may share a variable's data (clone, Identity).
      const outs = [m, v, value].map((t) => backend.makeOutput(t.shape, 'float32'));
      // Views only after every allocation: a heap that grows detaches earlier views.
      const [mOut, vOut, xOut] = outs.map(heap) as [Float32Array, Float32Array, Float32Array];
      const g = heap(gradient);
      const mIn = heap(m);
      const vIn = heap(v);
      const xIn = heap(value);
      for (let k = 0; k < g.length; k++) {
        const gk = g[k]!;
        const mk = f32(f32(mIn[k]! * b1) + f32(gk * c1));
        const vk = f32(f32(vIn[k]! * b2) + f32(f32(gk * gk) * c2));
        mOut[k] = mk;
        vOut[k] = vk;
        const mHat = f32(mk / oneMinusAccBeta1);
        const vHat = f32(vk / oneMinusAccBeta2);
        const step = f32(f32(mHat / f32(f32(Math.sqrt(vHat)) + eps)) * negLr);
        xOut[k] = f32(step + xIn[k]!);
      }
      [m, v, value].forEach((target, j) => {
        const t = tf.engine().makeTensorFromTensorInfo(outs[j]!);
        target.assign(t);
        t.dispose();
      });
    });
    tf.tidy(() => {
      s.accBeta1.assign(tf.mul(s.accBeta1, s.beta1));
      s.accBeta2.assign(tf.mul(s.accBeta2, s.beta2));
    });
    s.incrementIterations();
  }
}

/** tf.train.adam's signature (ε defaults to the backend's), with the fused wasm update. */
export function adam(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon: number | null = null): tf.AdamOptimizer {
  return new FusedAdam(learningRate, beta1, beta2, epsilon as number);
}
