/**
 * Pieces the method files share: seeded latents, one optimiser step that also reports every loss
 * term, learning-rate schedules, generator sampling, the optional pool of generated samples.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { clipGradNorm } from './losses.ts';
import { mulberry32 } from './random.ts';

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
  // tfjs's optimisers keep their slots (Adam's moments, momentum) by position in this map, and
  // tf.variableGrads leaves out the variables the loss does not reach: without a null in their
  // place, a variable reached at one step and not at another would shift every later variable onto
  // another's moments. A null gradient leaves its variable and slots as they are (torch skips
  // parameters whose grad is None).
  const full: Record<string, tf.Tensor | null> = {};
  for (const v of vars) if (v.trainable) full[v.name] = applied[v.name] ?? null;
  optimizer.applyGradients(full as Parameters<tf.Optimizer['applyGradients']>[0]);
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
    const grads = variableGradients as Record<string, tf.Tensor | null>;
    const decayed = tf.tidy(() => {
      const out: tf.NamedTensorMap = {};
      for (const [name, g] of Object.entries(grads)) {
        if (g == null) continue;
        const v = tf.engine().registeredVariables[name];
        out[name] = v ? tf.add(g, tf.mul(v, this.weightDecay)) : tf.clone(g);
      }
      return out;
    });
    // The same keys in the same order, nulls kept (the slots are positional; see stepWithTerms).
    const ordered = Object.fromEntries(Object.keys(grads).map((name) => [name, decayed[name] ?? null]));
    super.applyGradients(ordered as Parameters<tf.MomentumOptimizer['applyGradients']>[0]);
    tf.dispose(Object.values(decayed));
  }

  override getClassName(): string {
    return 'Momentum';
  }
}

/**
 * Speed-up option for the student phase of generator methods (off by default, and it changes the
 * algorithm: the references draw fresh latents at every step). The student trains on minibatches
 * drawn from a pool of `batches` generated batches with their teacher logits; one batch of the pool
 * is replaced by a freshly generated one every `refreshEvery` steps. Generation and the teacher's
 * forward pass — most of a student step's cost — then happen once per `refreshEvery` steps.
 * Every result a run with this option produces names it (it is part of the run's config).
 */
export const samplePoolSchema = z
  .object({
    batches: z.number().int().positive(),
    refreshEvery: z.number().int().positive(),
  })
  .strict();
export type SamplePoolConfig = z.infer<typeof samplePoolSchema>;

interface PooledBatch {
  /** Refresh index whose seed generated this batch. */
  index: number;
  x: tf.Tensor4D;
  teacherLogits: tf.Tensor2D;
}

/**
 * The pool of `SamplePoolConfig`. Its content at step s is a pure function of s: the batches of
 * refresh indices R − batches + 1 … R with R = floor(s / refreshEvery), batch r generated from
 * `seedOf(r)`. So a resumed run rebuilds exactly the pool the uninterrupted run had, and nothing
 * of it needs checkpointing.
 */
export class GeneratedSamplePool {
  private readonly held: PooledBatch[] = [];
  private joined: { x: tf.Tensor4D; teacherLogits: tf.Tensor2D } | null = null;

  constructor(
    private readonly config: SamplePoolConfig,
    /** Generates one batch (images + teacher logits) from a seed; the pool keeps the tensors. */
    private readonly generateBatch: (seed: number) => { x: tf.Tensor4D; teacherLogits: tf.Tensor2D },
    private readonly seedOf: (refreshIndex: number) => number,
  ) {}

  /** Brings the pool to its content at `step` (generating only the batches it lacks). */
  private advanceTo(step: number): void {
    const newest = Math.floor(step / this.config.refreshEvery);
    const oldest = newest - this.config.batches + 1;
    let changed = false;
    for (let i = this.held.length - 1; i >= 0; i--) {
      const b = this.held[i]!;
      if (b.index < oldest || b.index > newest) {
        tf.dispose([b.x, b.teacherLogits]);
        this.held.splice(i, 1);
        changed = true;
      }
    }
    for (let r = oldest; r <= newest; r++) {
      if (this.held.some((b) => b.index === r)) continue;
      const batch = tf.tidy(() => this.generateBatch(this.seedOf(r)));
      this.held.push({ index: r, x: tf.keep(batch.x), teacherLogits: tf.keep(batch.teacherLogits) });
      changed = true;
    }
    if (changed || !this.joined) {
      if (this.joined) tf.dispose([this.joined.x, this.joined.teacherLogits]);
      this.held.sort((a, b) => a.index - b.index);
      this.joined = tf.tidy(() => ({
        x: tf.keep(tf.concat(this.held.map((b) => b.x), 0) as tf.Tensor4D),
        teacherLogits: tf.keep(tf.concat(this.held.map((b) => b.teacherLogits), 0) as tf.Tensor2D),
      }));
    }
  }

  /** n pooled images and their teacher logits (drawn with replacement by `seed`) for step `step`. */
  minibatch(step: number, n: number, seed: number): { x: tf.Tensor4D; teacherLogits: tf.Tensor2D } {
    this.advanceTo(step);
    const { x, teacherLogits } = this.joined!;
    const rng = mulberry32(seed);
    const size = x.shape[0];
    const idx = tf.tensor1d(Array.from({ length: n }, () => Math.floor(rng() * size)), 'int32');
    const out = { x: tf.gather(x, idx) as tf.Tensor4D, teacherLogits: tf.gather(teacherLogits, idx) as tf.Tensor2D };
    idx.dispose();
    return out;
  }

  dispose(): void {
    if (this.joined) tf.dispose([this.joined.x, this.joined.teacherLogits]);
    this.joined = null;
    for (const b of this.held) tf.dispose([b.x, b.teacherLogits]);
    this.held.length = 0;
  }
}
