/**
 * ZSKD — zero-shot knowledge distillation with data impressions (vcl-iisc/ZSKD).
 *
 * Class similarity from the teacher's final Dense kernel W [d × K] (losses.classSimilarity).
 * Impression i (0-based) belongs to class c = i mod K and uses β = betas[⌊i / K⌋ mod |betas|]
 * (β ∈ {1.0, 0.1}: equal shares of every class and β); its soft target is y ~ Dir(β·S[c] + 1e-4),
 * drawn from a seed of (run seed, i). The paper's β is applied; `referenceBug: true` re-min-maxes
 * the row as the reference's helper does, which cancels β (off by default).
 *
 * Phase 'synthesis' — impressions optimised in batches; a driver step is ONE Adam iteration on the
 * current batch (lr 1e-3, 1500 iterations per batch):
 *   u ~ U[0, 1] (pixel space), loss = CE(softmax(T(norm(u)) / 20), y), Adam step on u,
 *   then u ← per-image min-max to [0, 1].
 * The reference's teacher takes [0, 1] pixels, so its impressions live in [0, 1] = its input space.
 * Our teachers take normalised inputs ((pixel − mean) / std, e.g. MNIST 0.1307 / 0.3081), so the
 * optimised variable stays in pixel space, renormalised to [0, 1] as the reference, and the teacher
 * sees norm(u) = (u − mean) / std. `pixelNormalization` must match the teacher's preprocessing
 * (defaults: methods.md's per-dataset values; mean 0 / std 1 for a teacher that takes [0, 1]).
 * The pool keeps norm(u): the teacher's input space, which is what the student is trained on.
 * Phase 'student' — KD at τ = 20 (× τ²) on the impressions (pool machinery of deepinversion.ts).
 * The per-batch tensors (u, Adam moments) are checkpointed as a canvas, finished batches are
 * written to <run>/pool/zskd-*.f32 — see deepinversion.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { DistilleryError } from '../errors.ts';
import { classifierLayer, type ModelTraits } from '../models/index.ts';
import { trainableVariables } from './common.ts';
import { canvasAdamStep, ImageCanvas, imageLossAndGrad, poolStudentPhase, poolStudentSchema, poolStudentStep, SynthPool } from './deepinversion.ts';
import { classSimilarity, dirichletConcentration, zskdImpressionLoss } from './losses.ts';
import { commonConfigShape, PAPER_FIT, type DatasetId, type Json, type MethodContext, type MethodDefinition, type MethodFit, type MethodSession, type PhasePlan } from './method.ts';
import { adam } from '../backend/adam.ts';
import { deriveSeed, dirichlet, mulberry32 } from './random.ts';

const positiveInt = z.number().int().positive();

export const zskdConfigSchema = z
  .object({
    ...commonConfigShape,
    synthesis: z
      .object({
        /** Total number of impressions (a multiple of batchSize). */
        impressions: positiveInt,
        batchSize: positiveInt,
        iterations: positiveInt,
        lr: z.number().positive(),
        /** Temperature of the impression loss. */
        tau: z.number().positive(),
        betas: z.array(z.number().positive()).min(1),
        /** The reference helper's re-min-max of the concentration row (cancels β). */
        referenceBug: z.boolean(),
      })
      .strict()
      .refine((s) => s.impressions % s.batchSize === 0, 'impressions must be a multiple of batchSize'),
    /** The teacher's input = (pixel − mean) / std, pixels in [0, 1]; one value or one per channel. */
    pixelNormalization: z.object({ mean: z.array(z.number()).min(1), std: z.array(z.number().positive()).min(1) }).strict(),
    student: poolStudentSchema,
  })
  .strict();

export type ZskdConfig = z.infer<typeof zskdConfigSchema>;

const NORMALIZATION: Record<DatasetId, { mean: number[]; std: number[] }> = {
  mnist: { mean: [0.1307], std: [0.3081] },
  svhn: { mean: [0.4377, 0.4438, 0.4728], std: [0.198, 0.201, 0.197] },
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] },
};

/**
 * Reference values: β ∈ {1.0, 0.1}, Adam 1e-3, 1500 iterations, τ = 20; 24,000 impressions for
 * MNIST (the RDSKD paper's), 40,000 otherwise (ZSKD's). methods.md gives no student schedule: Adam
 * 2e-3, batch 256, 200 epochs (our choice), KD at τ = 20.
 */
export function zskdDefaults(dataset: DatasetId): ZskdConfig {
  return zskdConfigSchema.parse({
    synthesis: { impressions: dataset === 'mnist' ? 24_000 : 40_000, batchSize: 200, iterations: 1500, lr: 1e-3, tau: 20, betas: [1.0, 0.1], referenceBug: false },
    pixelNormalization: NORMALIZATION[dataset],
    student: { epochs: 200, batchSize: 256, lr: 2e-3, tau: 20 },
    sampleEvery: 1500,
  });
}

function zskdPhases(c: ZskdConfig): PhasePlan[] {
  const s = c.synthesis;
  const batches = s.impressions / s.batchSize;
  return [
    { name: 'synthesis', total: batches * s.iterations, batchSize: s.batchSize, stepsPerEpoch: s.iterations, trainsStudent: false },
    poolStudentPhase(s.impressions, c.student),
  ];
}

/** Soft targets [n, K] of impressions first..first+n−1 (deterministic in the run seed). */
export function impressionTargets(similarity: number[][], c: ZskdConfig, first: number, n: number): { targets: number[][]; classes: number[] } {
  const k = similarity.length;
  const betas = c.synthesis.betas;
  const alphas = similarity.map((row) => betas.map((b) => dirichletConcentration(row, b, c.synthesis.referenceBug)));
  const targets: number[][] = [];
  const classes: number[] = [];
  for (let j = 0; j < n; j++) {
    const i = first + j;
    const cls = i % k;
    const bi = Math.floor(i / k) % betas.length;
    targets.push(dirichlet(mulberry32(deriveSeed(c.seed, 0x25d, i)), alphas[cls]![bi]!));
    classes.push(cls);
  }
  return { targets, classes };
}

function channelValues(values: number[], channels: number, what: string): number[] {
  if (values.length === 1) return Array.from({ length: channels }, () => values[0]!);
  if (values.length !== channels) throw new DistilleryError('BAD_INPUT', `ZSKD: pixelNormalization.${what} has ${values.length} values, the teacher ${channels} channels`);
  return values;
}

interface ZskdState {
  finished: number;
}

export function createZskdSession(ctx: MethodContext, c: ZskdConfig): MethodSession {
  const s = c.synthesis;
  const [h, w, ch] = ctx.inputShape;
  const shape = [s.batchSize, h, w, ch] as const;
  const batches = s.impressions / s.batchSize;
  const last = classifierLayer(ctx.teacher);
  const kernel = last?.getWeights()[0];
  if (!last || !kernel || kernel.rank !== 2 || kernel.shape[1] !== ctx.numClasses) {
    throw new DistilleryError('BAD_MODEL', `ZSKD needs the teacher's final Dense layer (kernel [d × ${ctx.numClasses}]) for its class similarity`);
  }
  const similarity = tf.tidy(() => classSimilarity(kernel as tf.Tensor2D).arraySync());
  const mean = channelValues(c.pixelNormalization.mean, ch, 'mean');
  const std = channelValues(c.pixelNormalization.std, ch, 'std');
  const meanT = tf.keep(tf.tensor1d(mean));
  const stdT = tf.keep(tf.tensor1d(std));
  const normalize = (u: tf.Tensor4D): tf.Tensor4D => tf.div(tf.sub(u, meanT), stdT) as tf.Tensor4D;
  const canvas = new ImageCanvas(shape, ['x', 'm', 'v'], 'zskd_canvas');
  const pool = new SynthPool(shape, ctx.runDir, 'zskd');
  const optS = adam(c.student.lr, 0.9, 0.999, 1e-8);
  const studentVars = trainableVariables(ctx.student);
  let state: ZskdState = { finished: 0 };
  let inSynthesis = true;
  let targets: { batch: number; y: tf.Tensor2D } | null = null;

  const targetsOf = (batch: number): tf.Tensor2D => {
    if (targets?.batch !== batch) {
      targets?.y.dispose();
      const t = impressionTargets(similarity, c, batch * s.batchSize, s.batchSize);
      targets = { batch, y: tf.keep(tf.tensor2d(t.targets)) };
    }
    return targets.y;
  };

  const synthesisStep = (phase: number, step: number): Record<string, number> => {
    const batch = Math.floor(step / s.iterations);
    const it = step % s.iterations;
    if (it === 0) {
      tf.tidy(() => canvas.restart(tf.randomUniform(shape as unknown as number[], 0, 1, 'float32', deriveSeed(c.seed, phase, batch, 0x1a17))));
    }
    const y = targetsOf(batch);
    const values = tf.tidy(() => {
      const { values: v, grad } = imageLossAndGrad(canvas.get('x'), (u) => ({ total: zskdImpressionLoss(ctx.teacher.apply(normalize(u), { training: false }) as tf.Tensor2D, y, s.tau) }));
      canvasAdamStep(canvas, grad, it + 1, s.lr);
      // Renormalise every impression to [0, 1] (per-image min-max).
      const u = canvas.get('x');
      const lo = tf.min(u, [1, 2, 3], true);
      const hi = tf.max(u, [1, 2, 3], true);
      canvas.set('x', tf.div(tf.sub(u, lo), tf.maximum(tf.sub(hi, lo), 1e-12)));
      return v;
    });
    if (it + 1 === s.iterations) {
      tf.tidy(() => pool.add(normalize(canvas.get('x'))));
      state.finished = batch + 1;
    }
    return { impression: values.total!, batch, iteration: it + 1, pool: pool.size, lr: s.lr, betaApplied: s.referenceBug ? 0 : 1 };
  };

  return {
    models: { canvas: canvas.model, student: ctx.student },
    optimizers: { student: optS },
    async step(phase, step) {
      inSynthesis = phase === 0;
      return { values: phase === 0 ? synthesisStep(phase, step) : poolStudentStep(ctx, pool, optS, studentVars, c.student, c.seed, phase, step) };
    },
    getState: (): Json => ({ finished: state.finished }),
    setState(saved) {
      state = { finished: (saved as unknown as ZskdState).finished };
      pool.load(state.finished);
      inSynthesis = state.finished < batches;
    },
    samples(n, seed) {
      if (!inSynthesis) return pool.sample(n, seed);
      return tf.tidy(() => normalize(tf.slice(canvas.get('x'), [0, 0, 0, 0], [Math.min(n, s.batchSize), -1, -1, -1])));
    },
    dispose() {
      canvas.dispose();
      pool.clear();
      targets?.y.dispose();
      tf.dispose([meanT, stdT]);
      optS.dispose();
    },
  };
}

/** ZSKD cannot run without a final Dense layer with one unit per class (the session's own check). */
function zskdFit(models: { teacher: ModelTraits }): MethodFit {
  const t = models.teacher;
  if (t.classifierUnits === t.numClasses) return PAPER_FIT;
  return { kind: 'unusable', reason: `ZSKD needs the teacher's final Dense layer (kernel [d × ${t.numClasses}]) for its class similarity, and this teacher has ${t.classifierUnits === null ? 'none' : `one with ${t.classifierUnits} units`}` };
}

export const zskd: MethodDefinition<ZskdConfig> = {
  id: 'zskd',
  title: 'ZSKD',
  summary: 'data impressions optimised towards Dirichlet soft targets built from the teacher\'s class similarity, then the student distilled on them (KD, τ = 20)',
  schema: zskdConfigSchema,
  defaults: zskdDefaults,
  phases: zskdPhases,
  create: createZskdSession,
  fit: zskdFit,
  extendable: ['student.epochs'],
};
