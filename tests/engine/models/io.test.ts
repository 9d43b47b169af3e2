import * as tf from '@tensorflow/tfjs';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DistilleryError } from '../../../src-main/engine/errors.ts';
import {
  getClassifier,
  getGenerator,
  loadModel,
  loadTeacher,
  parseManifest,
  saveModel,
  type TeacherManifest,
} from '../../../src-main/engine/models/index.ts';
import { tempDir } from '../../temp-dirs.ts';

const dir = tempDir('distillery-io-');
beforeAll(async () => {
  await tf.setBackend('cpu');
});

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

async function expectCode(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const error = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DistilleryError);
  expect((error as DistilleryError).code).toBe(code);
  expect((error as DistilleryError).message).toMatch(message);
}

const manifest: TeacherManifest = {
  format: 'distillery-teacher',
  version: 1,
  name: 'tiny',
  architecture: 'lenet5-half',
  dataset: { name: 'mnist' },
  inputShape: [28, 28, 1],
  numClasses: 10,
  classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  output: 'logits',
  preprocessing: { scale: 1 / 255, mean: [0.1307], std: [0.3081] },
};

describe('saving and loading models without tfjs-node', () => {
  it('round-trips a classifier: same predictions, content-named weights, stale weights removed', async () => {
    const m = getClassifier('lenet5-half').build({ inputShape: [28, 28, 1], numClasses: 10 });
    const out = join(dir, 'classifier');
    await saveModel(m, out, { manifest });
    const firstWeights = readdirSync(out).filter((f) => f.endsWith('.bin'));
    expect(firstWeights).toHaveLength(1);
    expect(firstWeights[0]).toMatch(/^weights\.[0-9a-f]{16}\.bin$/);
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest[0].paths).toEqual(firstWeights);

    const loaded = await loadModel(out);
    const x = tf.randomNormal([4, 28, 28, 1]);
    const a = m.predict(x) as tf.Tensor;
    const b = loaded.predict(x) as tf.Tensor;
    expect(maxDiff(a, b)).toBe(0);

    // Save again after changing weights: one weights file remains, the new one.
    m.getLayer('logits').setWeights(m.getLayer('logits').getWeights().map((w) => tf.onesLike(w)));
    await saveModel(m, out);
    const second = readdirSync(out).filter((f) => f.endsWith('.bin'));
    expect(second).toHaveLength(1);
    expect(second[0]).not.toBe(firstWeights[0]);
    expect(readdirSync(out).some((f) => f.includes('.tmp-'))).toBe(false);
    const teacher = await loadTeacher(out);
    expect(teacher.manifest.name).toBe('tiny');
    expect(maxDiff(m.predict(x) as tf.Tensor, teacher.model.predict(x) as tf.Tensor)).toBe(0);
    tf.dispose([x, a, b]);
    m.dispose();
    loaded.dispose();
    teacher.model.dispose();
  });

  it('round-trips a generator with its BatchNorm running statistics (inference mode matches)', async () => {
    const g = getGenerator('dafl-generator').build({ outputShape: [12, 12, 1], latentDim: 12 });
    // A training-mode pass updates the running statistics.
    tf.tidy(() => void g.apply(tf.randomNormal([8, 12]), { training: true }));
    const mm = g.getLayer('bn1').getWeights()[2]!;
    expect(tf.abs(mm).sum().dataSync()[0]).toBeGreaterThan(0);
    const out = join(dir, 'generator');
    await saveModel(g, out);
    const loaded = await loadModel(out);
    expect(loaded.getLayer('image').trainable).toBe(false);
    expect((loaded.getLayer('bn1').getConfig() as { epsilon: number }).epsilon).toBe(0.8);
    const z = tf.randomNormal([3, 12]);
    expect(maxDiff(g.predict(z) as tf.Tensor, loaded.predict(z) as tf.Tensor)).toBe(0);
    z.dispose();
    g.dispose();
    loaded.dispose();
  });

  it('reports malformed models as BAD_MODEL / NOT_FOUND with what is wrong', async () => {
    const m = getClassifier('lenet5-half').build({ inputShape: [32, 32, 1], numClasses: 10 });
    const good = join(dir, 'good');
    await saveModel(m, good);
    m.dispose();
    const modelJson = readFileSync(join(good, 'model.json'), 'utf8');
    const weightsName = readdirSync(good).find((f) => f.endsWith('.bin'))!;
    const variant = (name: string, json: string, weights: boolean | Buffer = true): string => {
      const d = join(dir, name);
      rmSync(d, { recursive: true, force: true });
      saveFile(d, 'model.json', json);
      if (weights === true) saveFile(d, weightsName, readFileSync(join(good, weightsName)));
      else if (weights) saveFile(d, weightsName, weights);
      return d;
    };
    await expectCode(loadModel(join(dir, 'nothing-here')), 'NOT_FOUND', /no model/);
    await expectCode(loadModel(variant('not-json', '{"modelTopology": ')), 'BAD_MODEL', /not valid JSON/);
    await expectCode(loadModel(variant('no-topology', '{"weightsManifest": []}')), 'BAD_MODEL', /no modelTopology/);
    await expectCode(loadModel(variant('missing-weights', modelJson, false)), 'BAD_MODEL', /is missing/);
    const full = readFileSync(join(good, weightsName));
    await expectCode(loadModel(variant('truncated', modelJson, full.subarray(0, full.length - 8))), 'BAD_MODEL', /bytes where model\.json describes/);
    // Shapes that do not fit the topology (byte count kept consistent).
    const parsed = JSON.parse(modelJson);
    const specs = parsed.weightsManifest[0].weights as { name: string; shape: number[] }[];
    const k = specs.find((s) => s.name.includes('conv1') && s.shape.length === 4)!;
    k.shape = [k.shape[1]!, k.shape[0]!, k.shape[2]!, k.shape[3]!].reverse();
    await expectCode(loadModel(variant('wrong-shape', JSON.stringify(parsed))), 'BAD_MODEL', /could not be loaded/);
    await expectCode(loadModel(variant('graph', JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }))), 'BAD_MODEL', /graph model/);
  });

  it('a teacher needs a manifest that agrees with its model', async () => {
    const m = getClassifier('lenet5-half').build({ inputShape: [32, 32, 1], numClasses: 10 });
    const d = join(dir, 'teacher-mismatch');
    await saveModel(m, d);
    await expectCode(loadTeacher(d), 'BAD_MODEL', /no manifest\.json/);
    await saveModel(m, d, { manifest }); // manifest says 28×28
    await expectCode(loadTeacher(d), 'BAD_MODEL', /inputs of shape \[32, 32, 1\] but its manifest says \[28, 28, 1\]/);
    m.dispose();
  });
});

describe('the teacher manifest', () => {
  it('accepts a complete manifest and rejects inconsistent ones, naming the field', () => {
    expect(parseManifest(manifest).name).toBe('tiny');
    expect(() => parseManifest({ ...manifest, classNames: ['a'] })).toThrow(/classNames: has 1 names for 10 classes/);
    expect(() => parseManifest({ ...manifest, preprocessing: { ...manifest.preprocessing, mean: [0.1, 0.2] } })).toThrow(/preprocessing\.mean/);
    expect(() => parseManifest({ ...manifest, preprocessing: { ...manifest.preprocessing, std: [0] } })).toThrow(/std/);
    expect(() => parseManifest({ ...manifest, inputShape: [28, 28] })).toThrow(/inputShape/);
    expect(() => parseManifest({ ...manifest, preprocessing: { ...manifest.preprocessing, resize: { height: 32, width: 32, method: 'bilinear' } } })).toThrow(/resizes to 32×32/);
    expect(() => parseManifest({ ...manifest, extra: 1 })).toThrow(DistilleryError);
    expect(() => parseManifest({ ...manifest, accuracy: { value: 1.5, dataset: 'x', split: 'test', samples: 10 } })).toThrow(/accuracy\.value/);
  });
});

function saveFile(d: string, name: string, data: string | Uint8Array): void {
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, name), data);
}
