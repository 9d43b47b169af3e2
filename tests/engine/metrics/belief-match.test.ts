import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { beliefMatch, beliefMatchFigure, matchingImages, teacherPushedNoise } from '../../../src-main/engine/metrics/belief-match.ts';
import { encodeFigure, formatTick, niceTicks, Raster } from '../../../src-main/engine/metrics/plot.ts';
import { tinyClassifier } from './tiny-classifier.ts';
import { tempDir } from '../../temp-dirs.ts';

const K = 4;
const classifier = (name: string, seed: number) => tinyClassifier(name, { numClasses: K, hidden: 16, seed });

let teacher: tf.LayersModel;
let copy: tf.LayersModel;
let other: tf.LayersModel;
let candidates: tf.Tensor4D;
const dir = tempDir('belief-match-');

beforeAll(async () => {
  await tf.setBackend('cpu');
  teacher = classifier('teacher', 1);
  copy = classifier('copy', 99);
  copy.setWeights(teacher.getWeights());
  // A student close to the teacher (so they agree on many images) but not equal to it.
  other = classifier('other', 7);
  other.setWeights(teacher.getWeights().map((w, i) => tf.tidy(() => tf.add(w, tf.mul(tf.randomNormal(w.shape, 0, 1, 'float32', 40 + i), 0.15)))));
  candidates = tf.randomNormal([64, 8, 8, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
});

afterAll(() => {
  tf.dispose([teacher, copy, other, candidates].flatMap((m) => (m instanceof tf.Tensor ? [m] : [])));
  teacher.dispose();
  copy.dispose();
  other.dispose();
});

describe('belief-match probe', () => {
  it('gives a transition error of 0 for an identical copy of the teacher', async () => {
    const r = await beliefMatch({ teacher, student: copy, candidates, samples: 12, steps: 5, lr: 0.5 });
    expect(r.samples).toBe(12);
    expect(r.candidatesMatching).toBe(r.candidatesSeen);
    expect(r.meanTransitionError).toBeLessThan(1e-6);
    expect(r.curves.teacher).toHaveLength(5);
    for (let s = 0; s < 5; s++) expect(r.curves.teacher[s]).toBeCloseTo(r.curves.student[s]!, 6);
    // The adversarial steps raise the target probability along the path.
    expect(r.curves.student[4]!).toBeGreaterThan(r.curves.student[0]!);
    expect(r.perClass.reduce((a, b) => a + b, 0)).toBe(12);
    for (let i = 0; i < K; i++) {
      expect(r.pairError[i]![i]).toBeNull();
      for (let j = 0; j < K; j++) if (i !== j && r.perClass[i]! > 0) expect(r.pairError[i]![j]).toBeLessThan(1e-6);
    }
  });

  it('gives a positive error for a different student, the mean of the per-pair errors weighted by rows', async () => {
    const r = await beliefMatch({ teacher, student: other, candidates, samples: 12, steps: 5, lr: 0.5, batchSize: 7 });
    expect(r.samples).toBeGreaterThan(0);
    expect(r.meanTransitionError).toBeGreaterThan(1e-3);
    expect(r.meanTransitionError).toBeLessThanOrEqual(1);
    let sum = 0;
    let n = 0;
    r.pairError.forEach((row, i) =>
      row.forEach((e) => {
        if (e !== null) {
          sum += e * r.perClass[i]!;
          n += r.perClass[i]!;
        }
      }),
    );
    expect(sum / n).toBeCloseTo(r.meanTransitionError, 6);
    // Chunking does not change the result.
    const whole = await beliefMatch({ teacher, student: other, candidates, samples: 12, steps: 5, lr: 0.5, batchSize: 1000 });
    expect(whole.meanTransitionError).toBeCloseTo(r.meanTransitionError, 6);
  });

  it('uses only starting images on which both networks agree', async () => {
    const m = await matchingImages(teacher, other, candidates, 1000);
    const t = (teacher.predict(m.x) as tf.Tensor).argMax(1).arraySync() as number[];
    const s = (other.predict(m.x) as tf.Tensor).argMax(1).arraySync() as number[];
    expect(t).toEqual(s);
    expect(t).toEqual(m.classes);
    expect(m.matching).toBe(m.classes.length);
    m.x.dispose();
  });

  it('makes data-free starting images from noise pushed towards each class', () => {
    const x = teacherPushedNoise(teacher, 8, { seed: 1, steps: 30, lr: 0.5 });
    expect(x.shape).toEqual([8, 8, 8, 1]);
    const pred = (teacher.predict(x) as tf.Tensor).argMax(1).arraySync() as number[];
    // Most images end up in their assigned class k mod K.
    expect(pred.filter((p, k) => p === k % K).length).toBeGreaterThanOrEqual(6);
    x.dispose();
  });

  it('draws the transition curves as a PNG of the stated size', async () => {
    const r = await beliefMatch({ teacher, student: other, candidates, samples: 8, steps: 4 });
    const file = join(dir, 'curves.png');
    writeFileSync(file, encodeFigure(beliefMatchFigure(r, { width: 640, height: 380, source: 'noise' })));
    const bytes = readFileSync(file);
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const png = PNG.sync.read(bytes);
    expect([png.width, png.height]).toEqual([640, 380]);
    // Not blank: some pixels are drawn.
    let dark = 0;
    for (let i = 0; i < png.data.length; i += 4) if (png.data[i]! < 200) dark++;
    expect(dark).toBeGreaterThan(1000);
  });
});

describe('plot helpers', () => {
  it('picks round ticks and formats them compactly', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.9, 0.98, 4)).toEqual([0.9, 0.92, 0.94, 0.96, 0.98]);
    expect(niceTicks(0.9, 0.98, 4).every((t) => t >= 0.9 && t <= 0.98)).toBe(true);
    expect(formatTick(0.001)).toBe('0.001');
    expect(formatTick(1200)).toBe('1200');
    expect(formatTick(250000)).toBe('2.5e+5');
  });

  it('draws anti-aliased lines and text inside the image only', () => {
    const r = new Raster(40, 20);
    r.line(-10, -10, 50, 30, [0, 0, 0], 2);
    r.text('τ=1', 2, 2);
    r.text('off-image', 100, 100);
    const png = PNG.sync.read(r.toPng());
    expect([png.width, png.height]).toEqual([40, 20]);
    expect(() => new Raster(0, 10)).toThrow(/image size/);
  });
});
