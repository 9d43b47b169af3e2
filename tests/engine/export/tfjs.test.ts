import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Float16Array } from '@petamoriken/float16';
import { exportRun } from '../../../src-main/engine/export/index.ts';
import { toFloat16 } from '../../../src-main/engine/export/tfjs.ts';
import { buildLeNet5Half, loadModel, saveModel } from '../../../src-main/engine/models/index.ts';
import { RUN_FILES } from '../../../src-main/engine/runs/store.ts';
import { tempDirs } from '../../temp-dirs.ts';

const tmp = tempDirs('distillery-run-');

/** A finished run folder as the run store leaves it: config, summary, the student. */
async function fakeRun(): Promise<{ runDir: string; model: tf.LayersModel }> {
  const runDir = tmp();
  const model = buildLeNet5Half({ inputShape: [32, 32, 1], numClasses: 10 });
  await saveModel(model, join(runDir, RUN_FILES.student));
  writeFileSync(join(runDir, RUN_FILES.config), JSON.stringify({ method: 'rdskd' }));
  writeFileSync(join(runDir, RUN_FILES.summary), JSON.stringify({ selection: { rule: 'last', model: 'student' } }));
  return { runDir, model };
}

describe('TensorFlow.js export', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('converts float32 to IEEE half precision with round-to-nearest-even', () => {
    const bits = toFloat16(Float32Array.from([0, 1, -2, 65504, 1e-8, 1 + 2 ** -11, 1 + 3 * 2 ** -11, Infinity]));
    // 0, 1.0 = 0x3c00, -2.0 = 0xc000, max half = 0x7bff, underflow to 0, ties to even: 1+2^-11 → 1.0, 1+3·2^-11 → 1+2^-9
    expect(Array.from(bits)).toEqual([0x0000, 0x3c00, 0xc000, 0x7bff, 0x0000, 0x3c00, 0x3c02, 0x7c00]);
  });

  it('copies the selected student, which loads and predicts exactly as before', async () => {
    const { runDir, model } = await fakeRun();
    const outDir = join(runDir, 'export-f32');
    const result = await exportRun(runDir, outDir, { format: 'tfjs' });
    expect(result.files.map((f) => f.name)).toEqual(expect.arrayContaining(['model.json', 'report.md']));
    const loaded = await loadModel(outDir);
    const x = tf.randomNormal([4, 32, 32, 1], 0, 1, 'float32', 7);
    const diff = tf.max(tf.abs(tf.sub(model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor))).dataSync()[0]!;
    expect(diff).toBe(0);
  });

  it('float16 export halves the weights and predicts within half-precision error', async () => {
    const { runDir, model } = await fakeRun();
    const f32 = await exportRun(runDir, join(runDir, 'a'), { format: 'tfjs' });
    const f16 = await exportRun(runDir, join(runDir, 'b'), { format: 'tfjs', float16: true });
    const weightBytes = (r: typeof f32): number => r.files.filter((f) => f.name.endsWith('.bin')).reduce((s, f) => s + f.bytes, 0);
    expect(weightBytes(f16)).toBe(weightBytes(f32) / 2);
    expect(f16).toMatchObject({ format: 'tfjs', precision: 'float16', float32Bytes: f32.modelBytes });
    expect(f16.modelBytes).toBeLessThan(f32.modelBytes * 0.6);
    expect(f32.float32Bytes).toBeUndefined();
    const manifest = JSON.parse(readFileSync(join(f16.dir, 'model.json'), 'utf8')) as { weightsManifest: { weights: { quantization?: { dtype: string } }[] }[] };
    expect(manifest.weightsManifest[0]!.weights.every((w) => w.quantization?.dtype === 'float16')).toBe(true);
    const loaded = await loadModel(f16.dir);
    // Each weight is the nearest half-precision value of the original.
    const original = model.getWeights()[0]!.dataSync() as Float32Array;
    expect(Array.from(loaded.getWeights()[0]!.dataSync())).toEqual(Array.from(new Float16Array(original)));
    const x = tf.randomNormal([4, 32, 32, 1], 0, 1, 'float32', 8);
    const a = model.predict(x) as tf.Tensor;
    const b = loaded.predict(x) as tf.Tensor;
    const rel = tf.div(tf.max(tf.abs(tf.sub(a, b))), tf.max(tf.abs(a))).dataSync()[0]!;
    expect(rel).toBeGreaterThan(0);
    expect(rel).toBeLessThan(1e-2);
    expect(statSync(join(f16.dir, 'report.md')).size).toBeGreaterThan(0);
  });

  it('refuses a run that has not finished', async () => {
    const runDir = tmp();
    await expect(exportRun(runDir, join(runDir, 'out'), { format: 'tfjs' })).rejects.toThrow(/has not finished/);
  });
});
