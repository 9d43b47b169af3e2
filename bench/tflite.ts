/**
 * `npm run bench -- tflite <run folder> [--batches 8] [--batch-size 64] [--test-data mnist]
 * [--out DIR] [--record FILE]`: a finished run's student as TFLite files — float32 and the int8
 * variants the exporter writes (per-channel / per-tensor weight scales; float32 or int8 input and
 * output; with or without strings) — the int8 ones calibrated on the run's own generator samples
 * (no real data), every file evaluated on the test split in real TFLite runtimes: LiteRT.js (as in
 * the tests; it has no int8 input tensors) and, when Python can import it, TensorFlow's own
 * tf.lite.Interpreter (bench/tflite_interpreter.py; DISTILLERY_BENCH_TFLITE_PYTHON names the
 * interpreter, default python3). Size ratios compare files with the same strings (a stripped int8
 * file against a stripped float32 one). Prints a table; the last line of stdout is one JSON object,
 * also written to --record FILE (the results page shows it: bench/results-page.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTestSet } from '../src-main/engine/data/test-set.ts';
import { toTflite, type TfliteOptions } from '../src-main/engine/export/tflite.ts';
import { compileTflite } from './litert.ts';
import { openCalibratedRun } from './calibrated-run.ts';
import type { Int8ExportRecord, Int8VariantResult } from './results-page.ts';

const USAGE = 'npm run bench -- tflite <run folder> [--batches 8] [--batch-size 64] [--test-data mnist] [--out DIR] [--record FILE]';
const OPTIONS = {
  batches: { type: 'string' },
  'batch-size': { type: 'string' },
  'test-data': { type: 'string' },
  out: { type: 'string' },
  record: { type: 'string' },
} as const;

/** Top-1 accuracy of a .tflite file over the test set, one image per call. */
async function tfliteAccuracy(file: Uint8Array, x: tf.Tensor4D, labels: Int32Array): Promise<number> {
  const runner = await compileTflite(file);
  try {
    const values = x.dataSync() as Float32Array;
    const size = values.length / x.shape[0];
    let correct = 0;
    for (let i = 0; i < x.shape[0]; i++) {
      const out = await runner.run(values.subarray(i * size, (i + 1) * size));
      let best = 0;
      for (let k = 1; k < out.length; k++) if (out[k]! > out[best]!) best = k;
      if (best === labels[i]) correct++;
    }
    return correct / x.shape[0];
  } finally {
    runner.delete();
  }
}

interface Variant {
  id: string;
  label: string;
  options: TfliteOptions;
}

const VARIANTS: Variant[] = [
  { id: 'float32', label: 'float32', options: {} },
  { id: 'int8', label: 'int8, per-channel weights (the export default)', options: { weightScales: 'per-channel' } },
  { id: 'int8-per-tensor', label: 'int8, per-tensor weights', options: { weightScales: 'per-tensor' } },
  { id: 'float32-stripped', label: 'float32, strings stripped', options: { stripStrings: true } },
  { id: 'int8-io-stripped', label: 'int8, per-channel weights, int8 I/O, strings stripped', options: { weightScales: 'per-channel', io: 'int8', stripStrings: true } },
  { id: 'int8-per-tensor-io-stripped', label: 'int8, per-tensor weights, int8 I/O, strings stripped', options: { weightScales: 'per-tensor', io: 'int8', stripStrings: true } },
];

/** The files' accuracies in TensorFlow's tf.lite.Interpreter, or why not. */
function interpreterAccuracies(files: Map<string, Uint8Array>, x: tf.Tensor4D, labels: Int32Array): { runtime: string; accuracy: Record<string, number> } | { error: string } {
  const dir = mkdtempSync(join(tmpdir(), 'distillery-tflite-'));
  try {
    const [n, h, w, c] = x.shape;
    writeFileSync(join(dir, 'images.f32'), x.dataSync() as Float32Array);
    writeFileSync(join(dir, 'labels.u8'), Uint8Array.from(labels));
    const paths: string[] = [];
    for (const [id, bytes] of files) {
      paths.push(join(dir, `${id}.tflite`));
      writeFileSync(paths.at(-1)!, bytes);
    }
    const python = process.env.DISTILLERY_BENCH_TFLITE_PYTHON ?? 'python3';
    const script = fileURLToPath(new URL('./tflite_interpreter.py', import.meta.url));
    const r = spawnSync(python, [script, join(dir, 'images.f32'), join(dir, 'labels.u8'), String(n), String(h), String(w), String(c), ...paths], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) return { error: `${python}: ${(r.error?.message ?? r.stderr.trim().split('\n').at(-1) ?? 'failed').slice(0, 200)}` };
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { runtime: string; accuracy: Record<string, number> };
    return { runtime: out.runtime, accuracy: Object.fromEntries([...files.keys()].map((id, i) => [id, out.accuracy[paths[i]!]!])) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(args: string[]): Promise<number> {
  const { opts, run, graph, calibration, description, batches, batchSize } = await openCalibratedRun(args, OPTIONS, USAGE);
  try {
    const testSpec = opts.string('test-data') ?? run.record.dataset;
    const files = new Map(VARIANTS.map((v) => [v.id, toTflite(graph, { ...v.options, ...(v.id.startsWith('int8') ? { quantization: calibration } : {}) })]));
    const out = opts.string('out');
    if (out) {
      mkdirSync(out, { recursive: true });
      for (const [id, bytes] of files) writeFileSync(join(out, `student-${id}.tflite`), bytes);
    }
    const test = await loadTestSet(testSpec, run.teacher);
    const labels = test.y.dataSync() as Int32Array;
    const tfjsAccuracy = tf.tidy(() => {
      const predicted = (run.student.predict(test.x, { batchSize: 256 }) as tf.Tensor).argMax(-1);
      return tf.mean(tf.cast(tf.equal(predicted, test.y), 'float32')).dataSync()[0]!;
    });
    const litert = new Map<string, number | null>();
    for (const v of VARIANTS) litert.set(v.id, v.options.io === 'int8' ? null : await tfliteAccuracy(files.get(v.id)!, test.x as tf.Tensor4D, labels));
    const interpreter = interpreterAccuracies(files, test.x as tf.Tensor4D, labels);
    tf.dispose([test.x, test.y]);
    const tfliteOf = (id: string): number | null => ('accuracy' in interpreter ? (interpreter.accuracy[id] ?? null) : null);
    const variants: Int8VariantResult[] = VARIANTS.map((v) => {
      const floatId = v.options.stripStrings ? 'float32-stripped' : 'float32';
      const bytes = files.get(v.id)!.length;
      const lite = litert.get(v.id) ?? null;
      const drop = lite !== null ? 100 * (litert.get(floatId)! - lite) : tfliteOf(v.id) !== null && tfliteOf(floatId) !== null ? 100 * (tfliteOf(floatId)! - tfliteOf(v.id)!) : null;
      return { id: v.id, label: v.label, bytes, sizeRatio: files.get(floatId)!.length / bytes, accuracy: { litertjs: lite, tflite: tfliteOf(v.id) }, dropPoints: drop };
    });
    const record: Int8ExportRecord = {
      command: `npm run bench -- tflite ${args.join(' ')}`,
      date: new Date().toISOString().slice(0, 10),
      machine: `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.versions.node}`,
      run: run.record.id,
      method: run.record.method,
      student: run.studentSource,
      calibration: { description, batches, batchSize, samples: calibration.samples, statistic: calibration.statistic },
      testSet: test.name,
      testImages: labels.length,
      tfjsAccuracy,
      runtimes: { litertjs: '@litertjs/core (LiteRT.js, wasm CPU)', tflite: 'runtime' in interpreter ? interpreter.runtime : null, ...('error' in interpreter ? { tfliteError: interpreter.error } : {}) },
      variants,
    };
    const pct = (v: number | null) => (v === null ? '—' : `${(100 * v).toFixed(2)}%`);
    console.log(`student ${record.student}; ${description}; test set ${record.testSet}; tfjs accuracy ${pct(tfjsAccuracy)}`);
    console.log(`runtimes: ${record.runtimes.litertjs}; ${record.runtimes.tflite ?? `tf.lite.Interpreter not available (${record.runtimes.tfliteError})`}`);
    for (const v of variants) console.log(`${v.label.padEnd(56)} ${String(v.bytes).padStart(7)} B  ÷${v.sizeRatio.toFixed(2)}  LiteRT.js ${pct(v.accuracy.litertjs)}  tf.lite ${pct(v.accuracy.tflite)}  drop ${v.dropPoints === null ? '—' : v.dropPoints.toFixed(2)} points`);
    const recordFile = opts.string('record');
    if (recordFile) writeFileSync(resolve(recordFile), `${JSON.stringify(record, null, 2)}\n`);
    console.log(JSON.stringify(record));
    return 0;
  } finally {
    run.dispose();
  }
}
