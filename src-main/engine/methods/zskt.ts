/**
 * ZSKT — zero-shot knowledge transfer via adversarial belief matching (polo5/ZeroShotKnowledgeTransfer,
 * solver.py).
 *
 * One 'adversarial' phase. A driver step is ONE outer iteration of the reference (one "pseudo
 * batch"), so nothing but the models and optimisers has to survive a checkpoint:
 *   z ~ N(0, 1)^(B × latent)                       (B = 128, latent 100; seeded per step)
 *   generator steps (1):  x = G(z) (training mode), L_G = −KL(T(x) ‖ S(x)), clip grad-norm 5, Adam(lr_G)
 *   x = G(z) again, with the UPDATED generator (training mode), as a constant; T(x) once
 *   student steps (10):   L_S = KL(T(x) ‖ S(x)) + Σ_l β·mean((a_S^l − a_T^l)²), β = 250, clip 5, Adam(lr_S)
 *   both learning rates: cosine annealing over the total number of outer iterations (80,000).
 * The reference's LearnableLoader re-applies the generator to the same z at every student step (in
 * training mode, so the images are the same each time; the teacher is evaluated once); we apply it
 * once. The only difference: the generator's BN running statistics get one momentum update per
 * iteration here instead of ten — they are used only by inference-mode samples (grids, agreement),
 * never in training.
 * The student runs in training mode in both steps (as the reference: student.train()), the teacher
 * in inference mode. KL uses F.kl_div's default reduction (elementwise mean) as the reference does;
 * `klReduction: 'batchmean'` gives the textbook form.
 *
 * Attention transfer needs the outputs of the residual groups (layers group1..N: our WRN builders)
 * in both teacher and student, equally many and with the same spatial sizes. `attention`:
 *   'auto' (default) — use AT when both have matching groups, otherwise run WITHOUT the AT term
 *                      (e.g. LeNet5 → LeNet5-half); every step logs atUsed = 1 / 0, so the
 *                      metrics and the run summary say which variant ran;
 *   'require'        — refuse (BAD_MODEL) models without matching groups;
 *   'off'            — never use AT (plain adversarial belief matching).
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { DistilleryError } from '../errors.ts';
import { modelTraits, withTaps, type ModelTraits, type TappedModel } from '../models/index.ts';
import { generate, latents, setLearningRate, stepWithTerms, trainableVariables } from './common.ts';
import { cosineAnnealing, zsktGeneratorLoss, zsktStudentLoss } from './losses.ts';
import { commonConfigShape, PAPER_FIT, type DatasetId, type MethodContext, type MethodDefinition, type MethodFit, type MethodSession, type PhasePlan } from './method.ts';
import { adam } from '../backend/adam.ts';
import { deriveSeed } from './random.ts';

const positiveInt = z.number().int().positive();

export const zsktConfigSchema = z
  .object({
    ...commonConfigShape,
    latentDim: positiveInt,
    batchSize: positiveInt,
    /** Outer iterations ("pseudo batches"); the cosine schedules run over these. */
    iterations: z.number().int().min(0),
    generator: z.object({ lr: z.number().positive(), steps: positiveInt }).strict(),
    student: z.object({ lr: z.number().positive(), steps: positiveInt }).strict(),
    /** Attention-transfer weight β. */
    beta: z.number().min(0),
    /** Gradient-norm clipping of both updates (torch clip_grad_norm_). */
    clipNorm: z.number().positive(),
    klReduction: z.enum(['elementwise', 'batchmean']),
    attention: z.enum(['auto', 'require', 'off']),
  })
  .strict();

export type ZsktConfig = z.infer<typeof zsktConfigSchema>;

/**
 * The reference hyper-parameters (polo5 main.py: CIFAR-10 and SVHN use the same ones). MNIST is not
 * in the ZSKT paper; the same values are used there (and its LeNet5 teacher has no groups, so
 * 'auto' runs without attention transfer).
 */
export function zsktDefaults(dataset: DatasetId): ZsktConfig {
  void dataset;
  return zsktConfigSchema.parse({
    latentDim: 100,
    batchSize: 128,
    iterations: 80_000,
    generator: { lr: 1e-3, steps: 1 },
    student: { lr: 2e-3, steps: 10 },
    beta: 250,
    clipNorm: 5,
    klReduction: 'elementwise',
    attention: 'auto',
    checkpointEvery: 100,
    sampleEvery: 1000,
    evalEvery: 1000,
  });
}

function phasesOf(c: ZsktConfig): PhasePlan[] {
  return [{ name: 'adversarial', total: c.iterations, batchSize: c.batchSize, trainsStudent: true }];
}

/** Why attention transfer cannot run between models with these traits, or null when it can. */
export function attentionMismatchOf(teacher: ModelTraits, student: ModelTraits): string | null {
  const gt = teacher.groups;
  const gs = student.groups;
  if (!gt.length || !gs.length) {
    return `attention transfer needs residual-group outputs (layers group1, group2, …) in both models; the teacher has ${gt.length}, the student ${gs.length}`;
  }
  if (gt.length !== gs.length) return `the teacher has ${gt.length} residual groups, the student ${gs.length}`;
  for (let i = 0; i < gt.length; i++) {
    const [ht, wt] = gt[i] ?? [null, null];
    const [hs, ws] = gs[i] ?? [null, null];
    if (!gt[i] || !gs[i] || ht !== hs || wt !== ws) {
      return `group ${i + 1} has spatial size ${ht}×${wt} in the teacher and ${hs}×${ws} in the student`;
    }
  }
  return null;
}

/** Why attention transfer cannot run between these two models, or null when it can. */
export function attentionMismatch(teacher: tf.LayersModel, student: tf.LayersModel): string | null {
  return attentionMismatchOf(modelTraits(teacher), modelTraits(student));
}

/**
 * Why this run goes without attention transfer, or null when it uses it: the one rule the session
 * follows and the wizard shows (`student` null: only the teacher is known yet).
 */
export function attentionOffReason(c: Pick<ZsktConfig, 'attention'>, teacher: ModelTraits, student: ModelTraits | null): string | null {
  if (c.attention === 'off') return 'attention transfer is off';
  if (!student) return teacher.groups.length ? null : 'attention transfer needs residual-group outputs (layers group1, group2, …) in both models; the teacher has none';
  return attentionMismatchOf(teacher, student);
}

function zsktFit(models: { teacher: ModelTraits; student: ModelTraits | null }, c: ZsktConfig): MethodFit {
  const why = attentionOffReason(c, models.teacher, models.student);
  if (why === null) return PAPER_FIT;
  if (c.attention === 'require') return { kind: 'unusable', reason: `ZSKT with attention set to 'require': ${why}` };
  return { kind: 'variant', variant: 'without attention transfer', reason: `${why}; the adversarial belief matching runs as published` };
}

export function createZsktSession(ctx: MethodContext, c: ZsktConfig): MethodSession {
  const mismatch = attentionOffReason(c, modelTraits(ctx.teacher), modelTraits(ctx.student));
  if (c.attention === 'require' && mismatch) {
    throw new DistilleryError('BAD_MODEL', `ZSKT: ${mismatch}`, "use WRN teacher and student, or set attention to 'auto' or 'off' to run without attention transfer");
  }
  const useAt = mismatch === null;
  // Tapped views share the models' layers and weights: never dispose them.
  const teacherT: TappedModel | null = useAt ? withTaps(ctx.teacher, ['groups']) : null;
  const studentT: TappedModel | null = useAt ? withTaps(ctx.student, ['groups']) : null;
  const generator = ctx.buildGenerator('zskt', { outputShape: ctx.inputShape, latentDim: c.latentDim });
  const optG = adam(c.generator.lr, 0.9, 0.999, 1e-8);
  const optS = adam(c.student.lr, 0.9, 0.999, 1e-8);
  const genVars = trainableVariables(generator);
  const studentVars = trainableVariables(ctx.student);

  /** Logits and group activations (empty without AT). */
  const run = (which: 'teacher' | 'student', x: tf.Tensor): { logits: tf.Tensor2D; acts: tf.Tensor4D[] } => {
    const training = which === 'student';
    const tapped = which === 'teacher' ? teacherT : studentT;
    if (!tapped) return { logits: (which === 'teacher' ? ctx.teacher : ctx.student).apply(x, { training }) as tf.Tensor2D, acts: [] };
    const outs = tapped.model.apply(x, { training }) as tf.Tensor[];
    return { logits: outs[0] as tf.Tensor2D, acts: tapped.index.groups.map((i) => outs[i] as tf.Tensor4D) };
  };

  return {
    models: { generator, student: ctx.student },
    optimizers: { generator: optG, student: optS },
    async step(phase, s) {
      const lrG = cosineAnnealing(c.generator.lr, s, c.iterations);
      const lrS = cosineAnnealing(c.student.lr, s, c.iterations);
      setLearningRate(optG, lrG);
      setLearningRate(optS, lrS);
      const values = tf.tidy(() => {
        const zb = latents(c.batchSize, c.latentDim, deriveSeed(c.seed, phase, s));
        let g: Record<string, number> = {};
        for (let i = 0; i < c.generator.steps; i++) {
          g = stepWithTerms(
            optG,
            genVars,
            () => {
              const x = generator.apply(zb, { training: true }) as tf.Tensor4D;
              return { total: zsktGeneratorLoss(run('teacher', x).logits, run('student', x).logits, 1, c.klReduction) };
            },
            { clipNorm: c.clipNorm },
          );
        }
        // The student's pseudo batch: the updated generator on the same z, a constant from here on.
        const x = generator.apply(zb, { training: true }) as tf.Tensor4D;
        const t = run('teacher', x);
        let st: Record<string, number> = {};
        for (let i = 0; i < c.student.steps; i++) {
          st = stepWithTerms(
            optS,
            studentVars,
            () => {
              const sr = run('student', x);
              const { kl, at, total } = zsktStudentLoss(t.logits, sr.logits, t.acts, sr.acts, c.beta, 1, c.klReduction);
              return { kl, at, total };
            },
            { clipNorm: c.clipNorm },
          );
        }
        return { lossG: g.total!, gradNormG: g.gradNorm!, kl: st.kl!, at: st.at!, lossS: st.total!, gradNormS: st.gradNorm! };
      });
      return { values: { ...values, lrG, lrS, atUsed: useAt ? 1 : 0 } };
    },
    getState: () => ({ atUsed: useAt }),
    setState: () => {},
    samples: (n, seed) => generate(generator, n, c.latentDim, seed),
    dispose() {
      generator.dispose();
      optG.dispose();
      optS.dispose();
    },
  };
}

export const zskt: MethodDefinition<ZsktConfig> = {
  id: 'zskt',
  title: 'ZSKT',
  summary: 'adversarial belief matching: a generator maximises the teacher–student KL, the student minimises it plus attention transfer on the residual groups (when both are WRNs)',
  schema: zsktConfigSchema,
  defaults: zsktDefaults,
  phases: phasesOf,
  create: createZsktSession,
  fit: zsktFit,
  fixedLength: 'its cosine learning-rate schedules run over all of its iterations, so a longer run differs from the first step on',
};
