import * as tf from '@tensorflow/tfjs';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { Preprocessor, type ImageSource } from '../../../src-main/engine/data/index.ts';
import { evaluate, evaluateWithManifest, formatEvaluation } from '../../../src-main/engine/teacher/index.ts';
import { loadTeacher } from '../../../src-main/engine/models/index.ts';
import { bundledTeachersDir } from '../../../src-main/engine/paths.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function source(n: number): ImageSource {
  return {
    description: 'three flat classes',
    kind: 'idx',
    size: n,
    shape: [1, 1, 1],
    labels: Int32Array.from({ length: n }, (_, i) => i % 3),
    numClasses: 3,
    classNames: ['zero', 'one', 'two'],
    read(indices, out) {
      for (let s = 0; s < indices.length; s++) out[s] = (indices[s]! % 3) * 100;
    },
    close() {},
  };
}

describe('evaluation', () => {
  it('counts accuracy, per-class accuracy and the confusion matrix (rows true, columns predicted)', async () => {
    // logits = x·[0, 10, 10] + [0, −2, −3]: class 0 → 0, class 1 → 1, class 2 → 1.
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [1, 1, 1] }), tf.layers.dense({ units: 3, weights: [tf.tensor2d([[0, 10, 10]]), tf.tensor1d([0, -2, -3])] })] });
    const src = source(10);
    const pre = new Preprocessor(src.shape, [1, 1, 1], { scale: 1 / 255, mean: [0], std: [1] });
    const e = await evaluate(model, src, pre, { batchSize: 3 });
    expect(e.samples).toBe(10);
    expect(e.correct).toBe(7);
    expect(e.accuracy).toBeCloseTo(0.7);
    expect(e.confusion).toEqual([
      [4, 0, 0],
      [0, 3, 0],
      [0, 3, 0],
    ]);
    expect(e.perClass.map((c) => [c.name, c.count, c.accuracy])).toEqual([
      ['zero', 4, 1],
      ['one', 3, 1],
      ['two', 3, 0],
    ]);
    const text = formatEvaluation(e);
    expect(text).toMatch(/^Accuracy: 0\.7000 \(7 of 10\)/);
    expect(text).toMatch(/two\s+0\.00%\s+\(0\/3\)/);
    const limited = await evaluate(model, src, pre, { limit: 4 });
    expect(limited.samples).toBe(4);
    model.dispose();
  });
});

const bundled = join(bundledTeachersDir(), 'lenet5-mnist');

describe.runIf(existsSync(join(bundled, 'model.json')))('the bundled LeNet5 MNIST teacher', () => {
  it('`distillery eval --json` reports its accuracy on MNIST test images (first 2,000 here)', async () => {
    const root = join(bundledTeachersDir(), '..', '..');
    const { stdout } = await promisify(execFile)(process.execPath, [join(root, 'bin', 'distillery.js'), 'eval', '--model', bundled, '--data', 'mnist', '--limit', '2000', '--json'], {
      cwd: root,
      env: { ...process.env, DISTILLERY_BACKEND: 'wasm' },
      maxBuffer: 1 << 24,
    });
    const result = JSON.parse(stdout) as { accuracy: number; samples: number; confusion: number[][]; perClass: { accuracy: number }[] };
    expect(result.samples).toBe(2000);
    expect(result.confusion.flat().reduce((a, b) => a + b, 0)).toBe(2000);
    expect(result.accuracy).toBeGreaterThanOrEqual(0.97);
    expect(Math.min(...result.perClass.map((c) => c.accuracy))).toBeGreaterThan(0.9);
  });

  it('evaluateWithManifest finds the test data and preprocessing from the manifest', async () => {
    const teacher = await loadTeacher(bundled);
    expect(teacher.manifest.accuracy!.value).toBeGreaterThanOrEqual(0.985);
    const e = await evaluateWithManifest(teacher.model, teacher.manifest, { limit: 500 });
    expect(e.samples).toBe(500);
    expect(e.accuracy).toBeGreaterThanOrEqual(0.97);
    expect(e.perClass[9]!.name).toBe('9');
    teacher.model.dispose();
  });
});
