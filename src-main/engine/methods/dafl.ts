/**
 * DAFL — data-free learning of student networks (huawei-noah Efficient-Computing, DAFL_train.py).
 *
 * One 'joint' phase; in every iteration the generator and the student are updated together:
 *   x = G(z)  (training mode), t, f = T(x)  (f: teacher features before the last layer)
 *   L_G = oh·CE(t, argmax t) + ie·Σ p̄ log10 p̄ + a·(−mean|f|)          → Adam(lr_G) on G
 *   L_S = KL(softmax(t) ‖ softmax(S(x)))  (x and t detached, τ = 1, no τ²) → on S
 * MNIST: Adam(lr_S). CIFAR-10/SVHN: SGD 0.1, momentum 0.9, weight decay 5e-4, lr × 0.1 at epochs
 * 800 and 1600. The generator gets no gradient from L_S (the reference detaches x), so the two
 * updates are computed separately — the same gradients as the reference's single backward().
 *
 * The reference picks the student by test accuracy; we do not (config.select: 'last' or
 * 'agreement' with the teacher on held-out generated samples).
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { withTaps, type ModelTraits } from '../models/index.ts';
import { decayedLearningRate, generate, latents, setLearningRate, SgdWithWeightDecay, stepDecaySchema, stepWithTerms, trainableVariables } from './common.ts';
import { daflGeneratorTerms, daflStudentLoss } from './losses.ts';
import { commonConfigShape, PAPER_FIT, type DatasetId, type MethodContext, type MethodDefinition, type MethodFit, type MethodSession, type PhasePlan } from './method.ts';
import { adam } from '../backend/adam.ts';
import { deriveSeed } from './random.ts';

const positiveInt = z.number().int().positive();

export const daflConfigSchema = z
  .object({
    ...commonConfigShape,
    latentDim: positiveInt,
    epochs: z.number().int().min(0),
    itersPerEpoch: positiveInt,
    batchSize: positiveInt,
    lrG: z.number().positive(),
    weights: z.object({ oh: z.number().min(0), ie: z.number().min(0), a: z.number().min(0) }).strict(),
    student: z
      .object({
        optimizer: z.enum(['adam', 'sgd']),
        lr: z.number().positive(),
        momentum: z.number().min(0).max(1).default(0.9),
        weightDecay: z.number().min(0).default(0),
        lrDecay: stepDecaySchema.optional(),
      })
      .strict(),
  })
  .strict();

export type DaflConfig = z.infer<typeof daflConfigSchema>;

export function daflDefaults(dataset: DatasetId): DaflConfig {
  if (dataset === 'mnist') {
    return daflConfigSchema.parse({
      latentDim: 100,
      epochs: 200,
      itersPerEpoch: 120,
      batchSize: 512,
      lrG: 0.2,
      weights: { oh: 1, ie: 5, a: 0.1 },
      student: { optimizer: 'adam', lr: 2e-3 },
    });
  }
  return daflConfigSchema.parse({
    latentDim: 1000,
    epochs: 2000,
    itersPerEpoch: 120,
    batchSize: 1024,
    lrG: 0.02,
    weights: { oh: 0.05, ie: 5, a: 0.01 },
    student: { optimizer: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 5e-4, lrDecay: { milestones: [800, 1600], factor: 0.1 } },
  });
}

function phasesOf(c: DaflConfig): PhasePlan[] {
  return [{ name: 'joint', total: c.epochs * c.itersPerEpoch, batchSize: c.batchSize, stepsPerEpoch: c.itersPerEpoch, trainsStudent: true }];
}

export function createDaflSession(ctx: MethodContext, c: DaflConfig): MethodSession {
  const generator = ctx.buildGenerator('dafl', { outputShape: ctx.inputShape, latentDim: c.latentDim });
  const tapped = withTaps(ctx.teacher, ['features']); // shares the teacher's layers: never dispose it
  const featureIndex = tapped.index.features[0]!;
  const optG = adam(c.lrG, 0.9, 0.999, 1e-8);
  const optS = c.student.optimizer === 'adam' ? adam(c.student.lr, 0.9, 0.999, 1e-8) : new SgdWithWeightDecay(c.student.lr, c.student.momentum, c.student.weightDecay);
  const genVars = trainableVariables(generator);
  const studentVars = trainableVariables(ctx.student);

  return {
    models: { generator, student: ctx.student },
    optimizers: { generator: optG, student: optS },
    async step(phase, s) {
      const epoch = Math.floor(s / c.itersPerEpoch);
      const lrS = decayedLearningRate(c.student.lr, epoch, c.student.lrDecay);
      setLearningRate(optS, lrS);
      const values = tf.tidy(() => {
        const zb = latents(c.batchSize, c.latentDim, deriveSeed(c.seed, phase, s));
        let xDetached: tf.Tensor | null = null;
        let tDetached: tf.Tensor | null = null;
        const g = stepWithTerms(optG, genVars, () => {
          const x = generator.apply(zb, { training: true }) as tf.Tensor4D;
          const outs = tapped.model.apply(x, { training: false }) as tf.Tensor[];
          const t = outs[0] as tf.Tensor2D;
          xDetached = tf.keep(tf.clone(x));
          tDetached = tf.keep(tf.clone(t));
          const { oh, ie, a, total } = daflGeneratorTerms(t, outs[featureIndex]!, c.weights);
          return { oh, ie, a, total };
        });
        // The student's step uses this iteration's images and teacher outputs (before G's update).
        const st = stepWithTerms(optS, studentVars, () => ({
          total: daflStudentLoss(tDetached as unknown as tf.Tensor2D, ctx.student.apply(xDetached!, { training: true }) as tf.Tensor2D),
        }));
        tf.dispose([xDetached!, tDetached!]);
        return { oh: g.oh!, ie: g.ie!, a: g.a!, lossG: g.total!, kd: st.total! };
      });
      return { values: { ...values, total: values.lossG + values.kd, epoch, lrS } };
    },
    getState: () => ({}),
    setState: () => {},
    samples: (n, seed) => generate(generator, n, c.latentDim, seed),
    dispose() {
      generator.dispose();
      optG.dispose();
      optS.dispose();
    },
  };
}

/** DAFL's activation loss needs the teacher's features (the session's withTaps would refuse otherwise). */
function daflFit(models: { teacher: ModelTraits }): MethodFit {
  if (models.teacher.hasFeatures) return PAPER_FIT;
  return { kind: 'unusable', reason: 'DAFL\'s activation loss reads the teacher\'s features before its final Dense layer, and this teacher has no Dense classifier layer (nor a layer named features)' };
}

export const dafl: MethodDefinition<DaflConfig> = {
  id: 'dafl',
  title: 'DAFL',
  summary: 'generator (one-hot, information-entropy and activation losses) and student (KD, τ = 1) trained together',
  schema: daflConfigSchema,
  defaults: daflDefaults,
  phases: phasesOf,
  create: createDaflSession,
  fit: daflFit,
  // The student's learning-rate steps are at fixed epochs (CIFAR-10: 800, 1600), not shares of the run.
  extendable: ['epochs'],
};
