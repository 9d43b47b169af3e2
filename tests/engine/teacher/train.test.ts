import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/index.ts';
import { DistilleryError } from '../../../src-main/engine/errors.ts';
import { loadTeacher, readManifest } from '../../../src-main/engine/models/index.ts';
import { trainTeacher, type TrainTeacherResult } from '../../../src-main/engine/teacher/index.ts';
import type { ProgressEvent } from '../../../src-main/engine/progress.ts';
import { tempDir } from '../../temp-dirs.ts';

const dir = tempDir('distillery-teacher-');
beforeAll(async () => {
  // The wasm backend with Distillery's training kernels (the cpu backend is ~100× slower).
  await initBackend({ prefer: 'wasm' });
});

// Small: LeNet5-half on 2,048 MNIST training images (32 steps per epoch), evaluated on 500 test images.
const small = { arch: 'lenet5-half', data: 'mnist', batchSize: 64, learningRate: 3e-3, trainLimit: 2048, testLimit: 500 } as const;

describe('teacher training', () => {
  let first: TrainTeacherResult;
  const events: ProgressEvent[] = [];

  it('trains with cross-entropy, reports progress, checkpoints each epoch and saves model + manifest', async () => {
    const before = tf.memory().numTensors;
    const out = join(dir, 'teacher');
    first = await trainTeacher({ ...small, outDir: out, epochs: 2, keepCheckpoints: true, onProgress: (e) => events.push(e) });
    expect(tf.memory().numTensors).toBe(before); // no tensors leak from training or evaluation
    expect(first.history).toHaveLength(2);
    expect(first.history[1]!.loss).toBeLessThan(first.history[0]!.loss);
    expect(first.evaluation.samples).toBe(500);
    expect(first.evaluation.accuracy).toBeGreaterThan(0.7); // chance is 0.1
    const steps = events.filter((e) => e.phase === 'train');
    expect(steps).toHaveLength(2 * 32);
    expect(steps.at(-1)).toMatchObject({ task: 'train-teacher', step: 64, total: 64 });
    expect(steps.every((e) => Number.isFinite(e.values.loss))).toBe(true);
    expect(events.filter((e) => e.phase === 'epoch').map((e) => e.values.testAccuracy)).toEqual(first.history.map((h) => h.testAccuracy));
    // Cosine schedule: the learning rate decays towards 0.
    expect(steps.at(-1)!.values.learningRate).toBeLessThan(small.learningRate / 50);

    const manifest = readManifest(join(out, 'manifest.json'));
    expect(manifest).toMatchObject({ architecture: 'lenet5-half', inputShape: [32, 32, 1], numClasses: 10, output: 'logits' });
    expect(manifest.preprocessing).toMatchObject({ mean: [0.1307], std: [0.3081], resize: { height: 32, width: 32, method: 'bilinear' } });
    expect(manifest.accuracy!.value).toBe(first.evaluation.accuracy);
    expect(manifest.training).toMatchObject({ epochs: 2, batchSize: 64, backend: 'wasm' });
    const teacher = await loadTeacher(out);
    expect(teacher.model.countParams()).toBe(15_738);
    teacher.model.dispose();
    expect(readdirSync(join(out, 'checkpoints'))).toEqual(['teacher.ckpt']);
  });

  it('resumes from the last checkpoint and continues the same run', async () => {
    const out = join(dir, 'teacher');
    const resumed = await trainTeacher({ ...small, outDir: out, epochs: 3, resume: true });
    expect(resumed.history).toHaveLength(3);
    expect(resumed.history.slice(0, 2)).toEqual(first.history);
    expect(existsSync(join(out, 'checkpoints'))).toBe(false); // removed after success by default
    await expect(trainTeacher({ ...small, arch: 'lenet5', outDir: join(dir, 'other'), epochs: 1, resume: true, trainLimit: 64 })).resolves.toBeDefined();
  });

  it('stopped after epoch 1 and resumed, ends where the uninterrupted run did (weights and Adam state restored)', async () => {
    const out = join(dir, 'stopped');
    const controller = new AbortController();
    const stopAfterFirstEpoch = (e: ProgressEvent): void => {
      if (e.phase === 'epoch') controller.abort(); // the epoch's checkpoint is still written
    };
    const stopped = await trainTeacher({ ...small, outDir: out, epochs: 2, signal: controller.signal, onProgress: stopAfterFirstEpoch }).catch((e: unknown) => e);
    expect((stopped as DistilleryError).code).toBe('CANCELLED');
    expect(readdirSync(join(out, 'checkpoints'))).toEqual(['teacher.ckpt']);
    await expect(trainTeacher({ ...small, arch: 'lenet5', outDir: out, epochs: 2, resume: true })).rejects.toThrow(/is of lenet5-half on mnist, not lenet5 on mnist/);
    const older = join(dir, 'older-format');
    mkdirSync(join(older, 'checkpoints', 'epoch-001'), { recursive: true });
    writeFileSync(join(older, 'checkpoints', 'latest.json'), '{"folder":"epoch-001"}');
    await expect(trainTeacher({ ...small, outDir: older, epochs: 2, resume: true })).rejects.toThrow(/folder format of an earlier Distillery/);
    expect(existsSync(join(older, 'checkpoints', 'latest.json'))).toBe(true);
    const resumed = await trainTeacher({ ...small, outDir: out, epochs: 2, resume: true });
    const figures = (h: TrainTeacherResult['history']) => h.map(({ loss, trainAccuracy, testAccuracy }) => ({ loss, trainAccuracy, testAccuracy }));
    expect(figures(resumed.history)).toEqual(figures(first.history));
    expect(resumed.evaluation.accuracy).toBe(first.evaluation.accuracy);
  });

  it('stops when cancelled, and rejects bad options', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await trainTeacher({ ...small, outDir: join(dir, 'cancelled'), epochs: 1, signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DistilleryError);
    expect((error as DistilleryError).code).toBe('CANCELLED');
    await expect(trainTeacher({ ...small, outDir: join(dir, 'x'), epochs: 0 })).rejects.toThrow(/epochs/);
    await expect(trainTeacher({ ...small, arch: 'dafl-generator', outDir: join(dir, 'x') })).rejects.toThrow(/generator/);
  });
});

describe('teachers of other data', () => {
  it('trains on an image folder with normalisation measured on its training images', async () => {
    // Two classes of 16×16 RGB PNGs: dark and light, with noise.
    const root = join(dir, 'folder');
    let seed = 3;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const split of ['train', 'test']) {
      for (const [label, base] of [['dark', 40], ['light', 200]] as const) {
        mkdirSync(join(root, split, label), { recursive: true });
        for (let i = 0; i < (split === 'train' ? 24 : 8); i++) {
          const img = new PNG({ width: 16, height: 16 });
          for (let p = 0; p < 256; p++) img.data.set([base + rand() * 40 - 20, base + rand() * 40 - 20, base, 255], p * 4);
          writeFileSync(join(root, split, label, `${i}.png`), PNG.sync.write(img));
        }
      }
    }
    const result = await trainTeacher({ arch: 'lenet5-half', data: `folder:${root}`, outDir: join(dir, 'folder-teacher'), epochs: 3, batchSize: 16, learningRate: 3e-3 });
    const m = result.manifest;
    expect(m.inputShape).toEqual([16, 16, 3]);
    expect(m.classNames).toEqual(['dark', 'light']);
    expect(m.preprocessing.resize).toBeUndefined();
    // Measured statistics: the mean of the blue channel is exactly (40 + 200) / 2 / 255.
    expect(m.preprocessing.mean[2]).toBeCloseTo(120 / 255, 6);
    expect(m.preprocessing.std[2]).toBeCloseTo(80 / 255, 6);
    expect(result.evaluation.samples).toBe(16);
    expect(result.evaluation.accuracy).toBeGreaterThanOrEqual(0.9);
  });
});

