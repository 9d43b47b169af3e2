/**
 * DeepInversion (NVlabs/DeepInversion, cifar10/deepinversion_cifar10.py), then KD on the pool.
 *
 * Phase 'synthesis' — the images themselves are optimised, one batch at a time. A driver step is
 * ONE Adam iteration on the current batch; `iterations` steps make a batch:
 *   x ~ N(0, 1) (teacher input space), y = [0..K−1] repeated (class-balanced), fresh Adam per batch
 *   x_j = roll(x, dy, dx), dy, dx ∈ {−2..2}      (seeded per step)
 *   L = CE(T(x_j), y) + r_feat·Σ_BN(‖μ_B − μ_run‖₂ + ‖σ²_B − σ²_run‖₂) + tv·TV(x_j) + l2·‖x_j‖₂
 *       [+ cig·(1 − JS(S(x_j)/3, T(x_j)/3)), Adaptive DeepInversion, off by default]
 *   the batch kept (keep: 'best', the default) is the x with the lowest L seen, evaluated before each
 *   update — the reference's best_cost / best_inputs as intended. NOTE: the CIFAR script stores
 *   `best_inputs = inputs.data`, which shares storage with the inputs that Adam then updates in
 *   place, so what it actually returns is the LAST iterate; keep: 'last' reproduces that.
 * Phase 'student' — KD (τ = 3, × τ²) on the pool of kept batches, in seeded shuffled minibatches.
 *
 * Teachers without BatchNorm (our bundled MNIST LeNet5) have no running statistics to match:
 * `bnStatistics: 'auto'` (default) then runs the reference's variant without the r_feat term
 * (CE + priors only); every synthesis step logs rFeatUsed (1 / 0) and bnLayers, so the metrics and
 * the run summary say which variant ran. 'require' refuses such teachers, 'off' never uses r_feat.
 *
 * Resume and checkpoint size: the batch being optimised, its best copy and its Adam moments live
 * as the weights of a small holder model ('canvas') — they go into the checkpoint (4 × B·H·W·C
 * floats), and the Adam update is written out here (torch.optim.Adam, bias-corrected) so each batch
 * starts from fresh moments without touching tfjs optimiser internals. Each finished batch is
 * written once to <run>/pool/<method>-<batch>.f32 (atomically) and reloaded on resume; the
 * checkpoint state only counts them. A kill loses at most the steps since the last checkpoint.
 *
 * This file also holds the pool machinery ZSKD (zskd.ts) shares.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { DistilleryError } from '../errors.ts';
import { modelTraits, withTaps, type ModelTraits } from '../models/index.ts';
import { ioError, writeFileAtomic } from '../runs/fsio.ts';
import { setLearningRate, stepWithTerms, trainableVariables } from './common.ts';
import { adiCompetitionLoss, bnFeatureLossSum, crossEntropy, kdLoss, l2PriorLoss, roll2d } from './losses.ts';
import { commonConfigShape, PAPER_FIT, type DatasetId, type Json, type MethodContext, type MethodDefinition, type MethodFit, type MethodSession, type PhasePlan } from './method.ts';
import { adam } from '../backend/adam.ts';
import { deriveSeed, mulberry32 } from './random.ts';

// ------------------------------------------------------------------------------------------------
// Shared by DeepInversion and ZSKD: image canvas with hand-written Adam, the pool, the KD phase
// ------------------------------------------------------------------------------------------------

const positiveInt = z.number().int().positive();

/** Tensors of one synthesis batch held as weights of a never-applied model, so the checkpoint saves them. */
export class ImageCanvas {
  readonly model: tf.LayersModel;
  private readonly slots: Map<string, tf.LayerVariable>;
  private readonly size: number;

  constructor(
    readonly shape: readonly [number, number, number, number],
    names: readonly string[],
    modelName: string,
  ) {
    this.size = shape.reduce((a, b) => a * b, 1);
    const input = tf.input({ shape: [1] });
    const layers = names.map((n) => tf.layers.dense({ units: this.size, useBias: false, kernelInitializer: 'zeros', trainable: false, name: `${modelName}_${n}` }));
    this.model = tf.model({ inputs: input, outputs: layers.map((l) => l.apply(input) as tf.SymbolicTensor), name: modelName });
    this.slots = new Map(names.map((n, i) => [n, layers[i]!.weights[0]!]));
  }

  /** A new tensor [B, H, W, C] with the slot's values. */
  get(name: string): tf.Tensor4D {
    return tf.reshape(this.slot(name).read(), this.shape as [number, number, number, number]);
  }

  set(name: string, value: tf.Tensor): void {
    tf.tidy(() => {
      this.slot(name).write(tf.reshape(value, [1, this.size]));
    });
  }

  /**
   * A new batch: the images x0 in every slot but the Adam moments 'm' and 'v', which restart at zero
   * (both references build a new optimiser for each batch).
   */
  restart(x0: tf.Tensor): void {
    tf.tidy(() => {
      for (const name of this.slots.keys()) this.set(name, name === 'm' || name === 'v' ? tf.zerosLike(x0) : x0);
    });
  }

  private slot(name: string): tf.LayerVariable {
    const s = this.slots.get(name);
    if (!s) throw new Error(`no canvas slot ${name}`);
    return s;
  }

  dispose(): void {
    this.model.dispose();
  }
}

/**
 * torch.optim.Adam (no weight decay) on the canvas slot 'x' with moments 'm', 'v'; `t` is the
 * 1-based iteration within the batch (the bias correction), `grad` shaped like x.
 */
export function canvasAdamStep(canvas: ImageCanvas, grad: tf.Tensor, t: number, lr: number, beta1 = 0.9, beta2 = 0.999, eps = 1e-8): void {
  tf.tidy(() => {
    const m = tf.add(tf.mul(canvas.get('m'), beta1), tf.mul(grad, 1 - beta1));
    const v = tf.add(tf.mul(canvas.get('v'), beta2), tf.mul(tf.square(grad), 1 - beta2));
    const mHat = tf.div(m, 1 - Math.pow(beta1, t));
    const vHat = tf.div(v, 1 - Math.pow(beta2, t));
    const x = tf.sub(canvas.get('x'), tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), eps)), lr));
    canvas.set('m', m);
    canvas.set('v', v);
    canvas.set('x', x);
  });
}

/** Value and gradient of f's `total` with respect to the images, with every other term f reports. */
export function imageLossAndGrad(x: tf.Tensor4D, f: (x: tf.Tensor4D) => Record<string, tf.Scalar>): { values: Record<string, number>; grad: tf.Tensor4D } {
  const kept: Record<string, tf.Scalar> = {};
  const { value, grad } = tf.valueAndGrad((xx: tf.Tensor) => {
    const terms = f(xx as tf.Tensor4D);
    for (const [k, v] of Object.entries(terms)) if (k !== 'total') kept[k] = tf.keep(v);
    if (!terms.total) throw new Error('a loss function must return a `total` term');
    return terms.total;
  })(x);
  const values: Record<string, number> = { total: value.dataSync()[0]! };
  for (const [k, v] of Object.entries(kept)) values[k] = v.dataSync()[0]!;
  tf.dispose([value, ...Object.values(kept)]);
  return { values, grad: grad as tf.Tensor4D };
}

/**
 * The synthesised pool: finished batches in memory, each also written once to
 * <runDir>/pool/<prefix>-<batch>.f32 (raw float32, NHWC) when the run has a folder.
 */
export class SynthPool {
  private parts: tf.Tensor4D[] = [];
  private all: tf.Tensor4D | null = null;

  constructor(
    private readonly batchShape: readonly [number, number, number, number],
    private readonly runDir: string | undefined,
    private readonly prefix: string,
  ) {}

  get batches(): number {
    return this.parts.length;
  }

  get size(): number {
    return this.parts.length * this.batchShape[0];
  }

  private file(b: number): string {
    return join(this.runDir!, 'pool', `${this.prefix}-${String(b).padStart(6, '0')}.f32`);
  }

  /** Adds the next finished batch (a copy is kept; the caller keeps ownership of `images`). */
  add(images: tf.Tensor4D): void {
    const b = this.parts.length;
    const copy = tf.keep(tf.clone(images));
    if (this.runDir) {
      const data = copy.dataSync() as Float32Array;
      const file = this.file(b);
      try {
        mkdirSync(join(this.runDir, 'pool'), { recursive: true });
      } catch (error) {
        throw ioError(error, 'create the pool folder in', this.runDir);
      }
      writeFileAtomic(file, [new Uint8Array(data.buffer, data.byteOffset, data.byteLength)]);
    }
    this.parts.push(copy);
    this.dropAll();
  }

  /** Reloads batches 0..n−1 from the run folder (resume). */
  load(n: number): void {
    this.clear();
    if (n === 0) return;
    if (!this.runDir) throw new DistilleryError('INTERNAL', `cannot reload ${n} synthesised batches: the run has no folder`);
    const expected = this.batchShape.reduce((a, b) => a * b, 1) * 4;
    for (let b = 0; b < n; b++) {
      const file = this.file(b);
      let buf: Buffer;
      try {
        buf = readFileSync(file);
      } catch (error) {
        throw ioError(error, 'read the synthesised batch', file);
      }
      if (buf.length !== expected) {
        throw new DistilleryError('IO', `the synthesised batch ${file} has ${buf.length} bytes, expected ${expected}`, 'the run cannot resume from it; start a new run');
      }
      const values = new Float32Array(new Uint8Array(buf).buffer);
      this.parts.push(tf.tensor4d(values, this.batchShape as [number, number, number, number]));
    }
  }

  /** The whole pool as one tensor (owned by the pool). */
  tensor(): tf.Tensor4D {
    if (!this.parts.length) throw new Error('the pool is empty');
    if (!this.all) this.all = this.parts.length === 1 ? this.parts[0]! : tf.keep(tf.concat(this.parts, 0) as tf.Tensor4D);
    return this.all;
  }

  /** n pool images chosen by `seed` (with replacement when the pool is smaller), or null when empty. */
  sample(n: number, seed: number): tf.Tensor4D | null {
    if (!this.parts.length) return null;
    const rng = mulberry32(seed);
    const size = this.size;
    const idx = size >= n ? permutation(size, rng).slice(0, n) : Array.from({ length: n }, () => Math.floor(rng() * size));
    return tf.tidy(() => tf.gather(this.tensor(), tf.tensor1d(idx, 'int32')) as tf.Tensor4D);
  }

  private dropAll(): void {
    if (this.all && !this.parts.includes(this.all)) this.all.dispose();
    this.all = null;
  }

  clear(): void {
    this.dropAll();
    tf.dispose(this.parts);
    this.parts = [];
  }
}

/** Fisher–Yates permutation of 0..n−1. */
export function permutation(n: number, rng: () => number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

export const poolStudentSchema = z
  .object({
    epochs: z.number().int().min(0),
    batchSize: positiveInt,
    lr: z.number().positive(),
    tau: z.number().positive(),
  })
  .strict();
export type PoolStudentConfig = z.infer<typeof poolStudentSchema>;

export function poolStudentPhase(poolSize: number, s: PoolStudentConfig): PhasePlan {
  const perEpoch = Math.ceil(poolSize / s.batchSize);
  return { name: 'student', total: s.epochs * perEpoch, batchSize: s.batchSize, stepsPerEpoch: perEpoch, trainsStudent: true };
}

/** One KD step (× τ²) of the student on a seeded, per-epoch shuffled minibatch of the pool. */
export function poolStudentStep(ctx: MethodContext, pool: SynthPool, optS: tf.Optimizer, studentVars: tf.Variable[], s: PoolStudentConfig, seed: number, phase: number, step: number): Record<string, number> {
  const n = pool.size;
  const perEpoch = Math.ceil(n / s.batchSize);
  const epoch = Math.floor(step / perEpoch);
  const i = step % perEpoch;
  const order = permutation(n, mulberry32(deriveSeed(seed, phase, epoch)));
  const idx = order.slice(i * s.batchSize, Math.min(n, (i + 1) * s.batchSize));
  setLearningRate(optS, s.lr);
  const values = tf.tidy(() => {
    const xb = tf.gather(pool.tensor(), tf.tensor1d(idx, 'int32')) as tf.Tensor4D;
    const t = ctx.teacher.apply(xb, { training: false }) as tf.Tensor2D;
    return stepWithTerms(optS, studentVars, () => ({ total: kdLoss(t, ctx.student.apply(xb, { training: true }) as tf.Tensor2D, s.tau, true) }));
  });
  return { kd: values.total!, epoch, lr: s.lr };
}

// ------------------------------------------------------------------------------------------------
// DeepInversion
// ------------------------------------------------------------------------------------------------

/**
 * losses.totalVariationLoss (the PyTorch-checked reference: the four shifted differences' L2
 * norms) computed with 2-tap valid convolutions instead of offset slices — the same values and
 * gradients (tests/engine/methods/synthesis.test.ts). It was ~4× faster on the wasm backend while
 * the stock Slice / PadV2 kernels copied element by element; with ours (backend/wasm/kernels.ts)
 * the two take about the same time (DeepInversion step at batch 256: 58–81 ms either way, 3
 * alternating runs each on the idle 2-core box). Channels are folded into the batch.
 */
export function totalVariationLossFast(x: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const xc = c === 1 ? x : (tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [b * c, h, w, 1]) as tf.Tensor4D);
    const kernel = (rows: number[][]) => tf.tensor4d(rows.flat(), [rows.length, rows[0]!.length, 1, 1]);
    const norm = (k: tf.Tensor4D) => tf.sqrt(tf.sum(tf.square(tf.conv2d(xc, k, 1, 'valid'))));
    // diff1 x[:, :-1] − x[:, 1:] (along W), diff2 along H, diff3 x[1:, :-1] − x[:-1, 1:], diff4 x[:-1, :-1] − x[1:, 1:]
    return tf.addN([norm(kernel([[1, -1]])), norm(kernel([[1], [-1]])), norm(kernel([[0, -1], [1, 0]])), norm(kernel([[1, 0], [0, -1]]))]) as tf.Scalar;
  });
}

export const deepInversionConfigSchema = z
  .object({
    ...commonConfigShape,
    synthesis: z
      .object({
        /** Number of batches synthesised (pool size = batches × batchSize). */
        batches: positiveInt,
        batchSize: positiveInt,
        /** Adam iterations per batch. */
        iterations: positiveInt,
        lr: z.number().positive(),
        /** Random roll of up to ±jitter pixels in each axis. */
        jitter: z.number().int().min(0),
        rFeat: z.number().min(0),
        tv: z.number().min(0),
        l2: z.number().min(0),
        /** Adaptive DeepInversion's competition weight (0 = plain DeepInversion). */
        cig: z.number().min(0),
        /** BatchNorm statistics term: 'auto' (skip it when the teacher has no BN), 'require', 'off'. */
        bnStatistics: z.enum(['auto', 'require', 'off']),
        /**
         * Which iterate of each batch joins the pool: the lowest-loss one (absent = 'best'), or the
         * last (the script's effective behaviour). Optional, so it is not among the listed defaults.
         */
        keep: z.enum(['best', 'last']).optional(),
      })
      .strict(),
    student: poolStudentSchema,
  })
  .strict();

export type DeepInversionConfig = z.infer<typeof deepInversionConfigSchema>;

/**
 * Reference values: batch 256, 2000 iterations, the paper's lr 0.05 and r_feat 10 (the README's
 * "parameters from the paper"; the script's argparse defaults are lr 0.1, r_feat 100), tv 2.5e-5,
 * l2 0, jitter 2. methods.md gives no pool
 * size or student schedule: we synthesise as many images as ZSKD uses (MNIST 24,064 = 94 batches;
 * others 40,192 = 157 batches) and train the student with Adam 2e-3, batch 256, 200 epochs.
 */
export function deepInversionDefaults(dataset: DatasetId): DeepInversionConfig {
  return deepInversionConfigSchema.parse({
    synthesis: { batches: dataset === 'mnist' ? 94 : 157, batchSize: 256, iterations: 2000, lr: 0.05, jitter: 2, rFeat: 10, tv: 2.5e-5, l2: 0, cig: 0, bnStatistics: 'auto' },
    student: { epochs: 200, batchSize: 256, lr: 2e-3, tau: 3 },
    sampleEvery: 2000,
  });
}

function diPhases(c: DeepInversionConfig): PhasePlan[] {
  const s = c.synthesis;
  return [
    { name: 'synthesis', total: s.batches * s.iterations, batchSize: s.batchSize, stepsPerEpoch: s.iterations, trainsStudent: false },
    poolStudentPhase(s.batches * s.batchSize, c.student),
  ];
}

/** Running mean and variance of a tfjs BatchNormalization layer. */
function runningStats(layer: tf.layers.Layer): { runningMean: tf.Tensor1D; runningVar: tf.Tensor1D } {
  const find = (key: string) => {
    const w = layer.weights.find((v) => v.name.includes(key)) ?? (layer as unknown as Record<string, tf.LayerVariable | undefined>)[key === 'moving_mean' ? 'movingMean' : 'movingVariance'];
    if (!w) throw new DistilleryError('BAD_MODEL', `BatchNorm layer ${layer.name} has no ${key}`);
    return w.read() as tf.Tensor1D;
  };
  return { runningMean: find('moving_mean'), runningVar: find('moving_variance') };
}

interface DiState {
  /** Finished batches (in the pool files). */
  finished: number;
  /** Lowest loss seen on the current batch (null before its first iteration). */
  bestCost: number | null;
}

/**
 * Why this run goes without the BatchNorm-statistics term r_feat, or null when it uses it: the one
 * rule the session follows and the wizard shows. `bnLayers` counts the teacher's BatchNorm layers
 * on image-shaped inputs (the reference hooks nn.BatchNorm2d only).
 */
export function bnTermOffReason(s: Pick<DeepInversionConfig['synthesis'], 'bnStatistics' | 'rFeat'>, bnLayers: number): string | null {
  if (s.bnStatistics === 'off') return 'the BatchNorm-statistics term is off (synthesis.bnStatistics)';
  if (bnLayers === 0) return 'the teacher has no BatchNorm layer, so there are no stored feature statistics to match';
  if (s.rFeat <= 0) return 'the weight of the BatchNorm-statistics term (synthesis.rFeat) is 0';
  return null;
}

function deepInversionFit(models: { teacher: ModelTraits }, c: DeepInversionConfig): MethodFit {
  const why = bnTermOffReason(c.synthesis, models.teacher.imageBatchNormLayers);
  if (why === null) return PAPER_FIT;
  if (c.synthesis.bnStatistics === 'require' && models.teacher.imageBatchNormLayers === 0) {
    return { kind: 'unusable', reason: `DeepInversion with synthesis.bnStatistics 'require': ${why}` };
  }
  return { kind: 'variant', variant: 'without the BatchNorm-statistics term (r_feat)', reason: `${why}; the images are optimised for the teacher's class with the total-variation and L2 priors only` };
}

export function createDeepInversionSession(ctx: MethodContext, c: DeepInversionConfig): MethodSession {
  const s = c.synthesis;
  const [h, w, ch] = ctx.inputShape;
  const shape = [s.batchSize, h, w, ch] as const;
  const bnCount = modelTraits(ctx.teacher).imageBatchNormLayers;
  if (s.bnStatistics === 'require' && bnCount === 0) {
    throw new DistilleryError('BAD_MODEL', `DeepInversion: the teacher ${ctx.teacher.name} has no BatchNorm layers, so there are no feature statistics to match`, "set synthesis.bnStatistics to 'auto' to run the variant without r_feat");
  }
  const useBn = bnTermOffReason(s, bnCount) === null;
  const tapped = useBn ? withTaps(ctx.teacher, ['bnInputs']) : null; // shares the teacher's layers
  const bnStats = tapped ? tapped.bnLayers.map(runningStats) : [];
  const canvas = new ImageCanvas(shape, ['x', 'best', 'm', 'v'], 'deepinversion_canvas');
  const pool = new SynthPool(shape, ctx.runDir, 'deepinversion');
  const optS = adam(c.student.lr, 0.9, 0.999, 1e-8);
  const studentVars = trainableVariables(ctx.student);
  const labels = tf.keep(tf.tensor1d(Array.from({ length: s.batchSize }, (_, i) => i % ctx.numClasses), 'int32'));
  let state: DiState = { finished: 0, bestCost: null };
  let inSynthesis = true;

  const synthesisStep = (phase: number, step: number): Record<string, number> => {
    const batch = Math.floor(step / s.iterations);
    const it = step % s.iterations;
    if (it === 0) {
      // A new batch: fresh images N(0, 1), also the best so far.
      tf.tidy(() => canvas.restart(tf.randomNormal(shape as unknown as number[], 0, 1, 'float32', deriveSeed(c.seed, phase, batch, 0x1a17))));
      state.bestCost = null;
    }
    const rng = mulberry32(deriveSeed(c.seed, phase, step));
    const dy = Math.floor(rng() * (2 * s.jitter + 1)) - s.jitter;
    const dx = Math.floor(rng() * (2 * s.jitter + 1)) - s.jitter;
    const values = tf.tidy(() => {
      const x = canvas.get('x');
      const { values: v, grad } = imageLossAndGrad(x, (xx) => {
        const xj = roll2d(xx, dy, dx);
        let logits: tf.Tensor2D;
        let rFeat: tf.Scalar = tf.scalar(0);
        if (tapped) {
          const outs = tapped.model.apply(xj, { training: false }) as tf.Tensor[];
          logits = outs[0] as tf.Tensor2D;
          const layers = tapped.index.bnInputs.map((oi, li) => ({ input: outs[oi]!, ...bnStats[li]! })).filter((l) => l.input.rank === 4);
          rFeat = bnFeatureLossSum(layers);
        } else {
          logits = ctx.teacher.apply(xj, { training: false }) as tf.Tensor2D;
        }
        const ce = crossEntropy(logits, labels);
        const tv = totalVariationLossFast(xj);
        const l2 = l2PriorLoss(xj);
        const terms: tf.Scalar[] = [ce, tf.mul(rFeat, useBn ? s.rFeat : 0), tf.mul(tv, s.tv), tf.mul(l2, s.l2)];
        const out: Record<string, tf.Scalar> = { ce, rFeat, tv, l2 };
        if (s.cig > 0) {
          const adi = adiCompetitionLoss(logits, ctx.student.apply(xj, { training: false }) as tf.Tensor2D, 3);
          terms.push(tf.mul(adi, s.cig));
          out.adi = adi;
        }
        out.total = tf.addN(terms) as tf.Scalar;
        return out;
      });
      if (state.bestCost === null || v.total! < state.bestCost) {
        state.bestCost = v.total!;
        canvas.set('best', x);
      }
      canvasAdamStep(canvas, grad, it + 1, s.lr);
      return v;
    });
    if (it + 1 === s.iterations) {
      tf.tidy(() => pool.add(canvas.get(s.keep === 'last' ? 'x' : 'best')));
      state.finished = batch + 1;
    }
    return { ...values, bestCost: state.bestCost!, batch, iteration: it + 1, pool: pool.size, rFeatUsed: useBn ? 1 : 0, bnLayers: bnCount, lr: s.lr };
  };

  return {
    models: { canvas: canvas.model, student: ctx.student },
    optimizers: { student: optS },
    async step(phase, step) {
      inSynthesis = phase === 0;
      return { values: phase === 0 ? synthesisStep(phase, step) : poolStudentStep(ctx, pool, optS, studentVars, c.student, c.seed, phase, step) };
    },
    getState: (): Json => ({ finished: state.finished, bestCost: state.bestCost, rFeatUsed: useBn }),
    setState(saved) {
      const st = saved as unknown as DiState;
      state = { finished: st.finished, bestCost: st.bestCost };
      pool.load(st.finished);
      inSynthesis = st.finished < s.batches;
    },
    samples(n, seed) {
      if (!inSynthesis) return pool.sample(n, seed);
      return tf.tidy(() => tf.slice(canvas.get('x'), [0, 0, 0, 0], [Math.min(n, s.batchSize), -1, -1, -1]));
    },
    dispose() {
      canvas.dispose();
      pool.clear();
      labels.dispose();
      optS.dispose();
    },
  };
}

export const deepInversion: MethodDefinition<DeepInversionConfig> = {
  id: 'deepinversion',
  title: 'DeepInversion',
  summary: 'images optimised directly against the teacher (class CE, BatchNorm statistics, total variation), then the student distilled on the pool (KD, τ = 3)',
  schema: deepInversionConfigSchema,
  defaults: deepInversionDefaults,
  phases: diPhases,
  create: createDeepInversionSession,
  fit: deepInversionFit,
  extendable: ['student.epochs'],
};
