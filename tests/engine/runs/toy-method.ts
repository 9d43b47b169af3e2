/**
 * A tiny two-phase method for the run-store and driver tests: dense layers only (fast on the cpu
 * backend), the same shape of work as RDSKD (a generator phase against a frozen teacher, then a
 * student phase on the frozen generator), deterministic per (seed, phase, step).
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { commonConfigShape, type MethodContext, type MethodDefinition, type MethodSession, type StepResult } from '../../../src-main/engine/methods/method.ts';
import { deriveSeed } from '../../../src-main/engine/methods/random.ts';
import { kdLoss, oneHotLoss } from '../../../src-main/engine/methods/losses.ts';

export const toySchema = z
  .object({
    ...commonConfigShape,
    generatorSteps: z.number().int().positive(),
    studentSteps: z.number().int().positive(),
    batchSize: z.number().int().positive(),
    /** Make the student loss NaN at this global (1-based) step. */
    nanAtGlobalStep: z.number().int().default(-1),
    /** Make the student's weights NaN (with a finite loss) at this global (1-based) step. */
    nanWeightsAtGlobalStep: z.number().int().default(-1),
  })
  .strict();
export type ToyConfig = z.infer<typeof toySchema>;

export const SHAPE = [4, 4, 1] as const;
export const CLASSES = 3;
const LATENT = 5;

export function tinyClassifier(seed: number, name: string): tf.LayersModel {
  return tf.sequential({
    name,
    layers: [
      tf.layers.flatten({ inputShape: [...SHAPE] }),
      tf.layers.dense({ units: 6, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.dense({ units: CLASSES, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

export function tinyGenerator(seed: number): tf.LayersModel {
  return tf.sequential({
    name: 'toy-generator',
    layers: [
      tf.layers.dense({ inputShape: [LATENT], units: 16, kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.batchNormalization({}),
      tf.layers.reshape({ targetShape: [...SHAPE] }),
    ],
  });
}

export function toyContext(seed = 1): MethodContext {
  return {
    teacher: tinyClassifier(100, 'teacher'),
    student: tinyClassifier(seed * 7 + 3, 'student'),
    inputShape: [...SHAPE],
    numClasses: CLASSES,
    buildGenerator: () => tinyGenerator(seed * 11),
  };
}

export const toyMethod: MethodDefinition<ToyConfig> = {
  id: 'rdskd',
  title: 'toy',
  summary: 'a tiny two-phase method for tests',
  schema: toySchema,
  defaults: () => toySchema.parse({ generatorSteps: 7, studentSteps: 9, batchSize: 8, checkpointEvery: 3, sampleEvery: 4, evalEvery: 4, evalSamples: 16 }),
  phases: (c) => [
    { name: 'generator', total: c.generatorSteps, batchSize: c.batchSize, trainsStudent: false },
    { name: 'student', total: c.studentSteps, batchSize: c.batchSize, trainsStudent: true },
  ],
  create(ctx: MethodContext, c: ToyConfig): MethodSession {
    const generator = ctx.buildGenerator('dafl', { outputShape: ctx.inputShape, latentDim: LATENT });
    const optG = tf.train.adam(0.01);
    const optS = tf.train.adam(0.01);
    let counter = 0; // method state carried across steps (checked on resume)
    const z = (seed: number, n = c.batchSize) => tf.randomNormal([n, LATENT], 0, 1, 'float32', seed);
    return {
      models: { generator, student: ctx.student },
      optimizers: { generator: optG, student: optS },
      async step(p, s): Promise<StepResult> {
        // Sleep per step for the kill test (not part of the config: it does not change the result).
        const delay = Number(process.env.TOY_STEP_DELAY_MS ?? 0);
        if (delay) await new Promise((r) => setTimeout(r, delay));
        const seed = deriveSeed(c.seed, p, s);
        counter++;
        if (p === 0) {
          const loss = tf.tidy(() => {
            const latent = z(seed);
            const cost = optG.minimize(
              () => oneHotLoss(ctx.teacher.apply(generator.apply(latent, { training: true }), { training: false }) as tf.Tensor2D),
              true,
              generator.trainableWeights.map((w) => w.read() as tf.Variable),
            )!;
            return cost.dataSync()[0]!;
          });
          return { values: { oh: loss, counter } };
        }
        const loss = tf.tidy(() => {
          const x = generator.apply(z(seed), { training: false }) as tf.Tensor;
          const t = ctx.teacher.apply(x, { training: false }) as tf.Tensor2D;
          const cost = optS.minimize(() => kdLoss(t, ctx.student.apply(x, { training: true }) as tf.Tensor2D, 2), true, ctx.student.trainableWeights.map((w) => w.read() as tf.Variable))!;
          return cost.dataSync()[0]!;
        });
        const global = c.generatorSteps + s + 1;
        if (global === c.nanWeightsAtGlobalStep) {
          const ws = ctx.student.getWeights().map((w) => tf.fill(w.shape, NaN));
          ctx.student.setWeights(ws);
          tf.dispose(ws);
        }
        return { values: { kd: global === c.nanAtGlobalStep ? NaN : loss, counter } };
      },
      getState: () => ({ counter }),
      setState: (st) => {
        counter = (st as { counter: number }).counter;
      },
      samples: (n, seed) => tf.tidy(() => generator.apply(z(seed, n), { training: false }) as tf.Tensor4D),
      dispose() {
        generator.dispose();
        optG.dispose();
        optS.dispose();
      },
    };
  },
};
