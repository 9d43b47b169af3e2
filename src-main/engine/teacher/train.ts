/**
 * Teacher training: supervised cross-entropy on a labelled dataset, the reference recipe or better
 * (default: Adam, lr 1e-3 with cosine decay to 0 over the run, batch 256, 10 epochs — DAFL's MNIST
 * teacher uses Adam 1e-3 at batch 256). Progress events per step and per epoch; a checkpoint
 * (model + optimizer state + history, in the run checkpoint format: one atomically replaced file)
 * after each epoch, so an interrupted run resumes; a final evaluation on the test split; the model
 * saved with its manifest.
 *
 * The model is kept as trained after the last epoch: no selection on the test set. The test split
 * is evaluated after each epoch only for the report.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { activeBackend } from '../backend/index.ts';
import { DistilleryError } from '../errors.ts';
import { ProgressClock, type ProgressListener } from '../progress.ts';
import { batchCount, iterateBatches } from '../data/batches.ts';
import { openDataset, type OpenOptions } from '../data/open.ts';
import { DATASET_PRESETS } from '../data/presets.ts';
import { Preprocessor } from '../data/preprocess.ts';
import { channelStatistics } from '../data/stats.ts';
import type { ImageSource, Shape3 } from '../data/types.ts';
import { getClassifier } from '../models/registry.ts';
import { saveModel } from '../models/io.ts';
import { readCheckpointInfo, restoreCheckpoint, writeCheckpoint } from '../runs/checkpoint.ts';
import type { Preprocessing, TeacherManifest } from '../models/manifest.ts';
import { adam } from '../backend/adam.ts';
import type { Json } from '../methods/method.ts';
import { evaluate, type Evaluation } from './eval.ts';

export interface TrainTeacherOptions {
  /** Zoo architecture name (registry.ts). */
  arch: string;
  /** Dataset spec (data/open.ts), e.g. 'mnist'. */
  data: string;
  outDir: string;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** 'cosine' (default): lr · ½(1 + cos(π·t/T)) per step; 'constant'. */
  schedule?: 'cosine' | 'constant';
  /** Seed of the initial weights and of the data order. */
  seed?: number;
  /** Model input; default: the dataset's reference input (MNIST: 32×32×1) or its own image size. */
  inputShape?: Shape3;
  /** Default: the dataset's reference preprocessing, else per-channel statistics of the training set. */
  preprocessing?: Preprocessing;
  /** Continue from the checkpoint in outDir/checkpoints if there is one. */
  resume?: boolean;
  /** Evaluate on the test split after every epoch (for the report; default true). */
  evalEachEpoch?: boolean;
  /** Keep outDir/checkpoints after a successful run (default false). */
  keepCheckpoints?: boolean;
  /** Train on only the first N (shuffled) training samples / evaluate on the first N test samples (tests, quick looks). */
  trainLimit?: number;
  testLimit?: number;
  name?: string;
  /** The command line, recorded in the manifest. */
  command?: string;
  openOptions?: OpenOptions;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  trainAccuracy: number;
  testAccuracy: number | null;
  seconds: number;
  learningRate: number;
}

/** What a teacher checkpoint holds besides the weights and the Adam state. */
interface TeacherCheckpointState {
  /** Epochs done. */
  epoch: number;
  history: EpochRecord[];
  seconds: number;
  arch: string;
  data: string;
}

export interface TrainTeacherResult {
  outDir: string;
  manifest: TeacherManifest;
  evaluation: Evaluation;
  history: EpochRecord[];
  /** Training wall time (all epochs, including earlier runs when resumed), seconds. */
  seconds: number;
  msPerStep: number;
  backend: string;
}

const TASK = 'train-teacher';
const ENGINE_VERSION = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;

/** The input shape and preprocessing a teacher of this dataset gets. */
export function teacherInputFor(source: ImageSource, o: { inputShape?: Shape3; preprocessing?: Preprocessing }): { inputShape: Shape3; preprocessing: Preprocessing } {
  const preset = DATASET_PRESETS[source.kind];
  const inputShape: Shape3 = o.inputShape ?? preset?.inputShape ?? source.shape;
  let preprocessing = o.preprocessing ?? (preset && preset.inputShape[2] === inputShape[2] ? preset.preprocessing : undefined);
  if (!preprocessing) {
    const { mean, std } = channelStatistics(source, inputShape);
    preprocessing = { scale: 1 / 255, mean, std };
  }
  const needsResize = inputShape[0] !== source.shape[0] || inputShape[1] !== source.shape[1];
  if (needsResize) preprocessing = { ...preprocessing, resize: { height: inputShape[0], width: inputShape[1], method: preprocessing.resize?.method ?? 'bilinear' } };
  else if (preprocessing.resize) {
    const { resize: _unused, ...rest } = preprocessing;
    preprocessing = rest;
  }
  return { inputShape, preprocessing };
}

function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

export async function trainTeacher(o: TrainTeacherOptions): Promise<TrainTeacherResult> {
  const epochs = o.epochs ?? 10;
  const batchSize = o.batchSize ?? 256;
  const baseLr = o.learningRate ?? 1e-3;
  const schedule = o.schedule ?? 'cosine';
  const seed = o.seed ?? 1;
  if (!Number.isInteger(epochs) || epochs < 1) throw new DistilleryError('BAD_INPUT', `epochs must be a positive integer, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new DistilleryError('BAD_INPUT', `the batch size must be a positive integer, got ${batchSize}`);
  if (!(baseLr > 0)) throw new DistilleryError('BAD_INPUT', `the learning rate must be positive, got ${baseLr}`);
  const spec = getClassifier(o.arch);
  const outDir = resolve(o.outDir);
  const ckptDir = join(outDir, 'checkpoints');
  const ckptFile = join(ckptDir, 'teacher.ckpt');

  const train = await openDataset(o.data, 'train', o.openOptions);
  const test = await openDataset(o.data, 'test', o.openOptions);
  try {
    if (train.numClasses !== test.numClasses) {
      throw new DistilleryError('BAD_DATA', `the training split has ${train.numClasses} classes, the test split ${test.numClasses}`);
    }
    const numClasses = train.numClasses;
    const { inputShape, preprocessing } = teacherInputFor(train, o);
    const preTrain = new Preprocessor(train.shape, inputShape, preprocessing);
    const preTest = new Preprocessor(test.shape, inputShape, preprocessing);

    const model = spec.build({ inputShape, numClasses, name: o.name ?? `${spec.name}-${train.kind}`, seed });
    const optimizer = adam(baseLr);
    let history: EpochRecord[] = [];
    let startEpoch = 0;
    let previousSeconds = 0;
    if (o.resume && !existsSync(ckptFile) && existsSync(join(ckptDir, 'latest.json'))) {
      // Distillery before 2026-11-24 wrote a folder per epoch and latest.json; refuse rather than start over and delete it.
      throw new DistilleryError('BAD_INPUT', `the checkpoint in ${ckptDir} is in the folder format of an earlier Distillery, which this version does not read`, 'leave out --resume to train from the start, or use another --out folder to keep it');
    }
    if (o.resume && existsSync(ckptFile)) {
      // The header first: a checkpoint of another architecture is named as such, not as a shape mismatch.
      const state = readCheckpointInfo(ckptFile)!.state as unknown as TeacherCheckpointState;
      if (state.arch !== spec.name || state.data !== o.data) {
        throw new DistilleryError('BAD_INPUT', `the checkpoint in ${ckptDir} is of ${state.arch} on ${state.data}, not ${spec.name} on ${o.data}`, 'use another --out folder, or leave out --resume');
      }
      await restoreCheckpoint(ckptFile, { model }, { optimizer });
      startEpoch = state.epoch;
      history = state.history;
      previousSeconds = state.seconds;
    }

    const stepsPerEpoch = batchCount(train.size, { batchSize, limit: o.trainLimit, dropLast: false });
    const totalSteps = stepsPerEpoch * epochs;
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const clock = new ProgressClock();
    const started = performance.now();
    let stepTimeSum = 0;
    let timedSteps = 0;
    const [h, w, c] = inputShape;

    for (let epoch = startEpoch; epoch < epochs; epoch++) {
      const epochStart = performance.now();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let step = 0;
      let lr = baseLr;
      for (const batch of iterateBatches(train, preTrain, { batchSize, shuffleSeed: seed * 1000 + epoch, limit: o.trainLimit })) {
        if (o.signal?.aborted) throw new DistilleryError('CANCELLED', 'teacher training was cancelled', `resume with --resume (checkpoint after epoch ${epoch})`);
        const globalStep = epoch * stepsPerEpoch + step;
        lr = schedule === 'cosine' ? baseLr * 0.5 * (1 + Math.cos((Math.PI * globalStep) / totalSteps)) : baseLr;
        setLearningRate(optimizer, lr);
        const t0 = performance.now();
        const [lossValue, batchCorrect] = tf.tidy(() => {
          const x = tf.tensor4d(batch.x, [batch.size, h, w, c]);
          const y = tf.tensor1d(batch.y, 'int32');
          let logitsKept: tf.Tensor | null = null;
          const loss = optimizer.minimize(
            () => {
              const logits = model.apply(x, { training: true }) as tf.Tensor2D;
              logitsKept = tf.keep(logits);
              return tf.losses.softmaxCrossEntropy(tf.oneHot(y, numClasses), logits) as tf.Scalar;
            },
            true,
            vars,
          )!;
          const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logitsKept!, -1), y), 'int32'));
          const result: [number, number] = [loss.dataSync()[0]!, hits.dataSync()[0]!];
          (logitsKept as tf.Tensor | null)?.dispose();
          return result;
        });
        if (!Number.isFinite(lossValue)) {
          throw new DistilleryError('NUMERIC', `the loss became ${lossValue} at epoch ${epoch + 1}, step ${step + 1}`, 'lower the learning rate (--lr)');
        }
        const ms = performance.now() - t0;
        if (step > 0 || epoch > startEpoch) {
          stepTimeSum += ms;
          timedSteps++;
        }
        lossSum += lossValue * batch.size;
        correct += batchCorrect;
        seen += batch.size;
        step++;
        const done = globalStep + 1;
        const { etaSeconds, samplesPerSecond } = clock.tick(batch.size, totalSteps - done);
        o.onProgress?.({
          task: TASK,
          phase: 'train',
          step: done,
          total: totalSteps,
          etaSeconds,
          samplesPerSecond,
          values: { epoch: epoch + 1, loss: lossValue, trainAccuracy: batchCorrect / batch.size, learningRate: lr },
          time: Date.now(),
        });
        await new Promise((r) => setImmediate(r));
      }
      let testAccuracy: number | null = null;
      if (o.evalEachEpoch ?? true) {
        testAccuracy = (await evaluate(model, test, preTest, { limit: o.testLimit, task: TASK })).accuracy;
      }
      const record: EpochRecord = {
        epoch: epoch + 1,
        loss: lossSum / seen,
        trainAccuracy: correct / seen,
        testAccuracy,
        seconds: (performance.now() - epochStart) / 1000,
        learningRate: lr,
      };
      history.push(record);
      o.onProgress?.({
        task: TASK,
        phase: 'epoch',
        step: epoch + 1,
        total: epochs,
        etaSeconds: null,
        samplesPerSecond: null,
        values: { epoch: record.epoch, loss: record.loss, trainAccuracy: record.trainAccuracy, ...(testAccuracy !== null ? { testAccuracy } : {}), seconds: record.seconds },
        time: Date.now(),
      });
      const state: TeacherCheckpointState = { epoch: epoch + 1, history, seconds: previousSeconds + (performance.now() - started) / 1000, arch: spec.name, data: o.data };
      await writeCheckpoint(ckptFile, {
        configHash: `${spec.name} ${o.data}`,
        position: { phaseIndex: 0, step: epoch + 1, globalStep: (epoch + 1) * stepsPerEpoch },
        metricsBytes: 0,
        state: state as unknown as Json,
        models: { model },
        optimizers: { optimizer },
      });
    }
    const seconds = previousSeconds + (performance.now() - started) / 1000;

    const evaluation = await evaluate(model, test, preTest, { limit: o.testLimit, task: TASK, classNames: train.classNames, onProgress: o.onProgress });
    const backend = activeBackend();
    const manifest: TeacherManifest = {
      format: 'distillery-teacher',
      version: 1,
      name: o.name ?? `${spec.name}-${train.kind}`,
      architecture: spec.name,
      dataset: { name: train.kind === 'mnist' ? 'mnist' : o.data, description: train.description },
      inputShape,
      numClasses,
      classNames: train.classNames,
      output: 'logits',
      preprocessing,
      accuracy: {
        value: evaluation.accuracy,
        dataset: test.description,
        split: 'test',
        samples: evaluation.samples,
        perClass: evaluation.perClass.map((p) => p.accuracy ?? 0),
      },
      training: {
        by: `Distillery train-teacher ${ENGINE_VERSION}`,
        ...(o.command ? { command: o.command } : {}),
        architecture: spec.name,
        dataset: train.description,
        epochs,
        batchSize,
        optimizer: 'Adam (β1 0.9, β2 0.999, ε 1e-8)',
        learningRate: baseLr,
        schedule: schedule === 'cosine' ? 'cosine decay to 0 over all steps, per step' : 'constant',
        seed,
        backend: backend?.name ?? tf.getBackend(),
        threads: backend?.threads ?? null,
        seconds: Math.round(seconds * 10) / 10,
        finishedAt: new Date().toISOString(),
        engineVersion: ENGINE_VERSION,
        tfjsVersion: tf.version.tfjs,
        notes: `cross-entropy on ${o.trainLimit ? `the first ${o.trainLimit} shuffled` : `all ${train.size}`} training images; initial weights and data order from the seed; model after the last epoch (no selection on test data); ${timedSteps ? (stepTimeSum / timedSteps).toFixed(0) : '?'} ms per training step`,
      },
    };
    await saveModel(model, outDir, { manifest });
    if (!o.keepCheckpoints) rmSync(ckptDir, { recursive: true, force: true });
    const result: TrainTeacherResult = {
      outDir,
      manifest,
      evaluation,
      history,
      seconds,
      msPerStep: timedSteps ? stepTimeSum / timedSteps : NaN,
      backend: backend?.name ?? tf.getBackend(),
    };
    model.dispose();
    optimizer.dispose();
    return result;
  } finally {
    train.close();
    test.close();
  }
}
