/**
 * Pieces the method files share: seeded latents, one optimiser step that also reports every loss
 * term, learning-rate schedules, generator sampling.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { clipGradNorm } from './losses.ts';

/** The trainable variables of a layers model, for optimizer var lists. */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** N(0, 1) latents [n, dim] drawn from a seed (deriveSeed(config.seed, phase, step)). */
export function latents(n: number, dim: number, seed: number): tf.Tensor2D {
  return tf.randomNormal([n, dim], 0, 1, 'float32', seed) as tf.Tensor2D;
}

/**
 * One optimiser step on `f`'s `total` that also returns every other term f reports, as numbers.
 * Gradients flow only into `vars` (everything else is treated as a constant). With `clipNorm`, the
 * gradients are clipped by their global norm first (torch.nn.utils.clip_grad_norm_).
 */
export function stepWithTerms(
  optimizer: tf.Optimizer,
  vars: tf.Variable[],
  f: () => Record<string, tf.Scalar>,
  options: { clipNorm?: number } = {},
): Record<string, number> {
  const kept: Record<string, tf.Scalar> = {};
  const { value, grads } = tf.variableGrads(() => {
    const terms = f();
    for (const [k, v] of Object.entries(terms)) if (k !== 'total') kept[k] = tf.keep(v);
    const total = terms.total;
    if (!total) throw new Error('a loss function must return a `total` term');
    return total;
  }, vars);
  let applied: Record<string, tf.Tensor> = grads;
  let gradNorm: number | undefined;
  if (options.clipNorm !== undefined) {
    const clipped = clipGradNorm(grads, options.clipNorm);
    applied = clipped.grads;
    gradNorm = clipped.norm;
  }
  optimizer.applyGradients(applied as Parameters<tf.Optimizer['applyGradients']>[0]);
  const out: Record<string, number> = { total: value.dataSync()[0]! };
  for (const [k, v] of Object.entries(kept)) out[k] = v.dataSync()[0]!;
  if (gradNorm !== undefined) out.gradNorm = gradNorm;
  tf.dispose([value, ...Object.values(grads), ...Object.values(kept)]);
  if (applied !== grads) tf.dispose(Object.values(applied));
  return out;
}

/** Sets an optimiser's learning rate (tfjs optimisers read it at every step). */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

export const stepDecaySchema = z
  .object({
    /** Epochs (0-based) at which the learning rate is multiplied by `factor` (cumulatively). */
    milestones: z.array(z.number().int().positive()),
    factor: z.number().positive(),
  })
  .strict();
export type StepDecay = z.infer<typeof stepDecaySchema>;

/** lr · factor^(number of milestones ≤ epoch): the references' adjust_learning_rate. */
export function decayedLearningRate(lr: number, epoch: number, decay: StepDecay | undefined): number {
  if (!decay) return lr;
  const passed = decay.milestones.filter((m) => epoch >= m).length;
  return lr * Math.pow(decay.factor, passed);
}

/** Generator samples in inference mode (BN running statistics), in batches. */
export function generate(generator: tf.LayersModel, n: number, latentDim: number, seed: number, batch = 256): tf.Tensor4D {
  return tf.tidy(() => {
    const z = latents(n, latentDim, seed);
    const parts: tf.Tensor[] = [];
    for (let i = 0; i < n; i += batch) {
      const zb = tf.slice(z, [i, 0], [Math.min(batch, n - i), -1]);
      parts.push(generator.apply(zb, { training: false }) as tf.Tensor);
    }
    return (parts.length === 1 ? parts[0]! : tf.concat(parts, 0)) as tf.Tensor4D;
  });
}

/** SGD with momentum and PyTorch-style weight decay (added to the gradient before momentum). */
export class SgdWithWeightDecay extends tf.MomentumOptimizer {
  constructor(
    learningRate: number,
    momentum: number,
    private readonly weightDecay: number,
  ) {
    super(learningRate, momentum);
  }

  override applyGradients(variableGradients: Parameters<tf.MomentumOptimizer['applyGradients']>[0]): void {
    if (this.weightDecay === 0 || Array.isArray(variableGradients)) {
      super.applyGradients(variableGradients);
      return;
    }
    const decayed = tf.tidy(() => {
      const out: tf.NamedTensorMap = {};
      for (const [name, g] of Object.entries(variableGradients as tf.NamedTensorMap)) {
        const v = tf.engine().registeredVariables[name];
        out[name] = v ? tf.add(g, tf.mul(v, this.weightDecay)) : tf.clone(g);
      }
      return out;
    });
    super.applyGradients(decayed as Parameters<tf.MomentumOptimizer['applyGradients']>[0]);
    tf.dispose(Object.values(decayed));
  }

  override getClassName(): string {
    return 'Momentum';
  }
}
