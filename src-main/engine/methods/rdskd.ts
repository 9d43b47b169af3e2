/**
 * RDSKD — robust and diverse data-free KD (PengchaoHan/RDSKD: generator-train.py, student-train.py).
 *
 * Phase 1 'generator' (teacher frozen, generator in training mode so its BN sees all B samples):
 *   x = G([z1; z2]), t = T(x), p = softmax(t)
 *   L = exp(L_oh − oh_prev) + exp(L_ie − ie_prev) + L_ds     (losses.rdskdGeneratorTerms)
 *   Adam(lr_G); after the step of iteration i == 1 of every epoch: (oh_prev, ie_prev) ← (L_oh, L_ie)
 *   (both start at 0, set once before the first epoch).
 * Phase 2 'student' (generator frozen in INFERENCE mode: BN running statistics):
 *   x = G(z), L = KL(softmax(T(x)/τ) ‖ softmax(S(x)/τ)) · τ², Adam(lr_S), lr × 0.1 at epochs 800
 *   and 1600 for CIFAR-10 (the reference's adjust_learning_rate). With the optional
 *   `student.samplePool` (off by default; not the reference), x and T(x) come from a pool of
 *   generated batches refreshed one batch every `refreshEvery` steps instead.
 * MSKD (mskd.ts) reuses this file with the diversity term replaced by mode seeking.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { decayedLearningRate, generate, GeneratedSamplePool, latents, samplePoolSchema, setLearningRate, stepDecaySchema, stepWithTerms, trainableVariables } from './common.ts';
import { INITIAL_SNAPSHOT, informationEntropyLoss, kdLoss, modeSeekingLoss, oneHotLoss, refreshSnapshot, rdskdGeneratorTerms, exponentialIncrementLoss, type IncrementSnapshot } from './losses.ts';
import { commonConfigShape, type DatasetId, type Json, type MethodContext, type MethodDefinition, type MethodSession, type PhasePlan } from './method.ts';
import { adam } from '../backend/adam.ts';
import { deriveSeed } from './random.ts';

const positiveInt = z.number().int().positive();

export const rdskdConfigSchema = z
  .object({
    ...commonConfigShape,
    latentDim: positiveInt,
    generator: z
      .object({
        epochs: z.number().int().min(0),
        itersPerEpoch: positiveInt,
        batchSize: positiveInt.refine((b) => b % 2 === 0, 'RDSKD splits the batch in two halves: use an even batch size'),
        lr: z.number().positive(),
      })
      .strict(),
    student: z
      .object({
        epochs: z.number().int().min(0),
        itersPerEpoch: positiveInt,
        batchSize: positiveInt,
        lr: z.number().positive(),
        tau: z.number().positive(),
        lrDecay: stepDecaySchema.optional(),
        /** Off by default (the reference generates every step); see GeneratedSamplePool. */
        samplePool: samplePoolSchema.optional(),
      })
      .strict(),
  })
  .strict();

export type RdskdConfig = z.infer<typeof rdskdConfigSchema>;

/** The reference hyper-parameters (RDSKD paper + code) for a teacher trained on `dataset`. */
export function rdskdDefaults(dataset: DatasetId): RdskdConfig {
  const big = dataset !== 'mnist';
  return rdskdConfigSchema.parse({
    latentDim: big ? 1000 : 100,
    generator: { epochs: 20, itersPerEpoch: 120, batchSize: 512, lr: 1e-3 },
    student: {
      epochs: 1000,
      itersPerEpoch: 120,
      batchSize: 512,
      lr: 2e-3,
      tau: 10,
      ...(dataset === 'cifar10' ? { lrDecay: { milestones: [800, 1600], factor: 0.1 } } : {}),
    },
  });
}

function phasesOf(c: RdskdConfig): PhasePlan[] {
  return [
    { name: 'generator', total: c.generator.epochs * c.generator.itersPerEpoch, batchSize: c.generator.batchSize, stepsPerEpoch: c.generator.itersPerEpoch, trainsStudent: false },
    { name: 'student', total: c.student.epochs * c.student.itersPerEpoch, batchSize: c.student.batchSize, stepsPerEpoch: c.student.itersPerEpoch, trainsStudent: true },
  ];
}

/** Which diversity term the generator phase uses: RDSKD's, or MSKD's mode seeking. */
export type DiversityKind = 'rdskd' | 'mode-seeking';

/** A session of RDSKD (or of MSKD with `diversity = 'mode-seeking'`). */
export function createRdskdSession(ctx: MethodContext, c: RdskdConfig, diversity: DiversityKind): MethodSession {
  const generator = ctx.buildGenerator('dafl', { outputShape: ctx.inputShape, latentDim: c.latentDim });
  const optG = adam(c.generator.lr, 0.9, 0.999, 1e-8);
  const optS = adam(c.student.lr, 0.9, 0.999, 1e-8);
  const genVars = trainableVariables(generator);
  const studentVars = trainableVariables(ctx.student);
  let snapshot: IncrementSnapshot = { ...INITIAL_SNAPSHOT };
  /** A student batch: the frozen generator in inference mode, and the teacher's logits on it. */
  const generateWithTeacher = (seed: number): { x: tf.Tensor4D; teacherLogits: tf.Tensor2D } => {
    const x = generator.apply(latents(c.student.batchSize, c.latentDim, seed), { training: false }) as tf.Tensor4D;
    return { x, teacherLogits: ctx.teacher.apply(x, { training: false }) as tf.Tensor2D };
  };
  const POOL_SEED = 0x9001;
  const pool = c.student.samplePool ? new GeneratedSamplePool(c.student.samplePool, generateWithTeacher, (r) => deriveSeed(c.seed, POOL_SEED, r + c.student.samplePool!.batches)) : null;

  const generatorStep = (phase: number, s: number): Record<string, number> => {
    const i = s % c.generator.itersPerEpoch;
    const values = tf.tidy(() => {
      const zAll = latents(c.generator.batchSize, c.latentDim, deriveSeed(c.seed, phase, s));
      return stepWithTerms(optG, genVars, (): Record<string, tf.Scalar> => {
        const x = generator.apply(zAll, { training: true }) as tf.Tensor4D;
        const t = ctx.teacher.apply(x, { training: false }) as tf.Tensor2D;
        if (diversity === 'rdskd') {
          const { oh, ie, ds, total } = rdskdGeneratorTerms(x, t, snapshot);
          return { oh, ie, ds, total };
        }
        const oh = oneHotLoss(t);
        const ie = informationEntropyLoss(t, 'e');
        const [x1, x2] = tf.split(x, 2, 0);
        const [z1, z2] = tf.split(zAll, 2, 0);
        const ms = modeSeekingLoss(x1!, x2!, z1!, z2!);
        return { oh, ie, ms, total: exponentialIncrementLoss(oh, ie, ms, snapshot) };
      });
    });
    snapshot = refreshSnapshot(i, snapshot, values.oh!, values.ie!);
    return { ...values, ohPrev: snapshot.oh, iePrev: snapshot.ie, epoch: Math.floor(s / c.generator.itersPerEpoch), lr: c.generator.lr };
  };

  const studentStep = (phase: number, s: number): Record<string, number> => {
    const epoch = Math.floor(s / c.student.itersPerEpoch);
    const lr = decayedLearningRate(c.student.lr, epoch, c.student.lrDecay);
    setLearningRate(optS, lr);
    const values = tf.tidy(() => {
      const { x, teacherLogits: t } = pool
        ? pool.minibatch(s, c.student.batchSize, deriveSeed(c.seed, phase, s))
        : generateWithTeacher(deriveSeed(c.seed, phase, s));
      return stepWithTerms(optS, studentVars, () => ({ total: kdLoss(t, ctx.student.apply(x, { training: true }) as tf.Tensor2D, c.student.tau, true) }));
    });
    return { kd: values.total!, epoch, lr };
  };

  return {
    models: { generator, student: ctx.student },
    optimizers: { generator: optG, student: optS },
    async step(phase, s) {
      return { values: phase === 0 ? generatorStep(phase, s) : studentStep(phase, s) };
    },
    getState: (): Json => ({ snapshot: { oh: snapshot.oh, ie: snapshot.ie } }),
    setState(state) {
      const st = state as unknown as { snapshot: IncrementSnapshot };
      snapshot = { oh: st.snapshot.oh, ie: st.snapshot.ie };
    },
    samples: (n, seed) => generate(generator, n, c.latentDim, seed),
    dispose() {
      pool?.dispose();
      generator.dispose();
      optG.dispose();
      optS.dispose();
    },
  };
}

export const rdskd: MethodDefinition<RdskdConfig> = {
  id: 'rdskd',
  title: 'RDSKD',
  summary: 'a generator trained with exponentially-incremented one-hot and entropy losses plus a diversity term, then the student distilled on its frozen samples (KD, τ = 10)',
  schema: rdskdConfigSchema,
  defaults: rdskdDefaults,
  phases: phasesOf,
  create: (ctx, c) => createRdskdSession(ctx, c, 'rdskd'),
  extendable: ['student.epochs'],
};
