/**
 * One entry for exporting a finished run's student, whatever the format — what the CLI
 * (`distillery export`) and the app's Export step call:
 *
 * - tfjs: TensorFlow.js layers model (model.json + weight shards), float32 or float16 weights;
 * - onnx: student.onnx, opset 13, NCHW input, float32 or post-training int8 in QDQ form (onnx.ts);
 * - tflite: student.tflite, float32 or post-training int8 (tflite.ts, quantize.ts).
 * int8 (either format) is calibrated without real data: activation ranges (min/max, per tensor)
 * come from the student run on images of the run's own generator — or of its synthesised pool for
 * the methods that keep one (DeepInversion, ZSKD) — and weights get one scale per output channel.
 *
 * Every export also writes the run's last sample grid and report.md (report.ts), and says in one
 * line how to load the model. Accuracy is not measured here (an export stays fast and needs no
 * test data): `npm run bench -- tflite <run>` measures the int8 accuracy drop on a test set.
 */
import type * as tf from '@tensorflow/tfjs';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExportedFileDto, ExportFormatDto, ExportResultDto } from '../../common/contract.ts';
import { DistilleryError } from '../errors.ts';
import { openRun, type OpenedRun } from '../metrics/run-samples.ts';
import { loadModel, MODEL_FILE, writeFileAtomic } from '../models/index.ts';
import { RUN_FILES } from '../runs/store.ts';
import { graphFromModel, type StudentGraph } from './graph.ts';
import { ONNX_IR_VERSION, ONNX_OPSET, toOnnx } from './onnx.ts';
import { calibrationFromSamples, type Int8Calibration } from './quantize.ts';
import { writeExportExtras } from './report.ts';
import { selectedStudentDir, tfjsModelBytes, writeTfjsModel } from './tfjs.ts';
import { int8Boundary, toTflite } from './tflite.ts';

export { selectedStudentDir } from './tfjs.ts';

export type ExportFormat = ExportFormatDto;

export const ONNX_FILE = 'student.onnx';
export const TFLITE_FILE = 'student.tflite';

/** Calibration defaults: 8 batches of 64 generated images. */
export const CALIBRATION_BATCHES = 8;
export const CALIBRATION_BATCH_SIZE = 64;
/** Seed of the first calibration batch (batch b: CALIBRATION_SEED + b). */
export const CALIBRATION_SEED = 9_000;

export interface ExportOptions {
  format: ExportFormat;
  /** float16 weights (tfjs only). */
  float16?: boolean;
  /** Post-training int8 quantization (tflite and onnx). */
  int8?: boolean;
  /** int8: number of batches of generated images the activation ranges are taken over (default 8). */
  calibrationBatches?: number;
  /** int8: images per calibration batch (default 64). */
  calibrationBatchSize?: number;
  /** int8: weight scales per output channel (default) or one per tensor. */
  weightScales?: 'per-channel' | 'per-tensor';
  /** int8: the file's input and output are int8 too (no float at all; for TFLite Micro and the like). */
  int8Io?: boolean;
  /** tflite: leave out tensor names and the description (TFLite's strip_strings), a few hundred bytes. */
  stripStrings?: boolean;
  /** Recorded in the ONNX file as the producer's version (the app's). */
  producerVersion?: string;
}

/** Refuses option combinations no exporter has (BAD_INPUT), before anything is read or written. */
export function checkExportOptions(options: ExportOptions): void {
  const formats: readonly string[] = ['tfjs', 'onnx', 'tflite'];
  if (!formats.includes(options.format)) throw new DistilleryError('BAD_INPUT', `unknown export format '${options.format}'`, 'the formats are tfjs, onnx and tflite');
  if (options.int8 && options.format === 'tfjs') {
    throw new DistilleryError('BAD_INPUT', 'int8 is not supported for TensorFlow.js exports', 'use --float16 for smaller TensorFlow.js weights, or --format tflite --int8 / --format onnx --int8');
  }
  if (options.float16 && options.format !== 'tfjs') {
    throw new DistilleryError('BAD_INPUT', `float16 weights are for TensorFlow.js exports only, not ${options.format}`, options.format === 'tflite' ? 'for a smaller TFLite model use --int8' : 'export ONNX in float32, or TensorFlow.js with --float16');
  }
  if (options.int8Io && !options.int8) throw new DistilleryError('BAD_INPUT', 'int8 input and output need an int8 model', 'add --int8 (with --format tflite)');
  if (options.int8Io && options.format !== 'tflite') {
    throw new DistilleryError('BAD_INPUT', `int8 input and output are for TFLite exports only, not ${options.format}`, 'an int8 ONNX file takes and returns float32 (it quantizes its input itself)');
  }
  if (options.stripStrings && options.format !== 'tflite') throw new DistilleryError('BAD_INPUT', `stripping strings is for TFLite exports only, not ${options.format}`);
  for (const [name, value] of [['calibrationBatches', options.calibrationBatches], ['calibrationBatchSize', options.calibrationBatchSize]] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw new DistilleryError('BAD_INPUT', `${name} must be a whole number ≥ 1, got ${value}`);
  }
}

/**
 * A short name of the format and precision, for folder names: tfjs, tfjs-float16, onnx, onnx-int8,
 * tflite, tflite-int8, and the options after it (tflite-int8-per-tensor-int8io-stripped).
 */
export function exportVariant(options: Pick<ExportOptions, 'format' | 'float16' | 'int8' | 'weightScales' | 'int8Io' | 'stripStrings'>): string {
  if (options.format === 'tfjs') return options.float16 ? 'tfjs-float16' : 'tfjs';
  const parts: string[] = [options.format];
  if (options.int8) parts.push('int8', ...(options.weightScales === 'per-tensor' ? ['per-tensor'] : []), ...(options.int8Io ? ['int8io'] : []));
  if (options.stripStrings) parts.push('stripped');
  return parts.join('-');
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}

/** Bytes in words: 61.5 KiB. */
export function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/**
 * A model's size against the same model in float32: "float32: 61.5 KiB, 3.5× smaller" — or "larger"
 * (an int8 model of a few kilobytes, where the scales and names outweigh what int8 saves).
 */
export function versusFloat32(float32Bytes: number, bytes: number): string {
  const ratio = float32Bytes / bytes;
  return `float32: ${sizeText(float32Bytes)}, ${ratio >= 1 ? `${ratio.toFixed(1)}× smaller` : `${(1 / ratio).toFixed(1)}× larger`}`;
}

export interface Calibrated {
  calibration: Int8Calibration;
  /** In words, for the result and the report. */
  description: string;
}

/**
 * Activation ranges over the run's own images: `batches` generator batches of `batchSize`, or, for
 * a method with a synthesised pool, up to as many distinct pool images (a pool smaller than that is
 * used whole). The export and the int8 accuracy bench (bench/tflite.ts) both calibrate here.
 */
export function calibrateOnRun(run: OpenedRun, graph: StudentGraph, batches: number, batchSize: number): Calibrated {
  const drawn: tf.Tensor4D[] = [];
  const none = (): DistilleryError =>
    new DistilleryError('NOT_FOUND', `run ${run.record.id} has no images to calibrate int8 with (${run.sampleSource})`, 'export it in float32 (--format tflite without --int8, or onnx)');
  try {
    if (run.poolSize !== null) {
      const total = Math.min(batches * batchSize, run.poolSize);
      const all = run.samples(total, CALIBRATION_SEED);
      if (!all) throw none();
      drawn.push(all);
      const calibration = calibrationFromSamples(graph, splitBatches(all, batchSize, drawn));
      return { calibration, description: `int8 calibrated on ${plural(calibration.samples, 'image')} of the run's synthesised pool (${run.record.method}, ${plural(run.poolSize, 'image')}) — no real data` };
    }
    for (let b = 0; b < batches; b++) {
      const batch = run.samples(batchSize, CALIBRATION_SEED + b);
      if (!batch) throw none();
      drawn.push(batch);
    }
    const calibration = calibrationFromSamples(graph, drawn);
    return { calibration, description: `int8 calibrated on ${plural(calibration.samples, 'generated image')} from the run's generator (${batches} × ${batchSize}) — no real data` };
  } finally {
    for (const t of drawn) t.dispose();
  }
}

/** `all` in batches of at most `size` images (the slices are added to `keep` for disposal). */
function splitBatches(all: tf.Tensor4D, size: number, keep: tf.Tensor4D[]): tf.Tensor4D[] {
  const n = all.shape[0];
  if (n <= size) return [all];
  const out: tf.Tensor4D[] = [];
  for (let start = 0; start < n; start += size) {
    const part = all.slice([start, 0, 0, 0], [Math.min(size, n - start), -1, -1, -1]);
    keep.push(part);
    out.push(part);
  }
  return out;
}

function testDataOf(runDir: string): string | null {
  try {
    const config = JSON.parse(readFileSync(join(runDir, RUN_FILES.config), 'utf8')) as { options?: { testData?: string } };
    return config.options?.testData ?? null;
  } catch {
    return null;
  }
}

/**
 * Exports the student of the finished run in `runDir` into `outDir` (created if needed) in the
 * chosen format, with the run's sample grid and report.md beside it. See the module comment.
 */
export async function exportRun(runDir: string, outDir: string, options: ExportOptions): Promise<ExportResultDto> {
  checkExportOptions(options);
  const studentDir = selectedStudentDir(runDir);
  mkdirSync(outDir, { recursive: true });
  const model = await writeModel(runDir, studentDir, outDir, options);
  const modelBytes = model.files.reduce((sum, f) => sum + f.bytes, 0);
  const smaller = model.float32Bytes !== undefined ? ` (${versusFloat32(model.float32Bytes, modelBytes)})` : '';
  const lines = [
    `Format: ${model.description}.`,
    '',
    `Model: ${model.files.map((f) => `${f.name} (${sizeText(f.bytes)})`).join(', ')} — ${sizeText(modelBytes)}${smaller}.`,
    '',
    `${model.note}.`,
    '',
    'Load it:',
    '',
    '```',
    model.howToLoad,
    '```',
  ];
  if (model.calibration) {
    const testData = testDataOf(runDir);
    lines.push(
      '',
      `Quantization: ${model.calibration}. Weights int8 with ${options.weightScales === 'per-tensor' ? 'one scale per tensor' : 'one scale per output channel'} (symmetric), biases int32, activations int8 per tensor (asymmetric, min/max ranges). ${options.int8Io ? 'The file takes and returns int8 (see the scales above): the caller quantizes the input and dequantizes the output.' : 'The file takes and returns float32: it quantizes its input and dequantizes its output itself.'}`,
      '',
      options.format === 'tflite'
        ? `Accuracy is not measured at export (that needs labelled test data and time). To measure the int8 accuracy drop against the float32 file in a TFLite runtime, run in the Distillery source tree: \`npm run bench -- tflite ${runDir}${testData ? ` --test-data ${testData}` : ''}\`${testData ? ` (the run logged test accuracy on ${testData})` : ' with --test-data SPEC'}.`
        : 'Accuracy is not measured at export (that needs labelled test data and time): compare this file with a float32 export of the same run on your own test set.',
    );
  }
  const extras = writeExportExtras(runDir, outDir, lines);
  const files = [...model.files, ...extras];
  return {
    dir: outDir,
    format: options.format,
    precision: options.int8 ? 'int8' : options.float16 ? 'float16' : 'float32',
    description: model.description,
    files,
    bytes: files.reduce((sum, f) => sum + f.bytes, 0),
    modelBytes,
    ...(model.float32Bytes !== undefined ? { float32Bytes: model.float32Bytes } : {}),
    note: model.note,
    ...(model.calibration ? { calibration: model.calibration } : {}),
    howToLoad: model.howToLoad,
  };
}

interface WrittenModel {
  files: ExportedFileDto[];
  description: string;
  float32Bytes?: number;
  note: string;
  calibration?: string;
  howToLoad: string;
}

interface GraphBytes {
  graph: StudentGraph;
  bytes: Uint8Array;
  /** int8: the size of the same model in float32. */
  float32Bytes?: number;
  /** int8: how it was calibrated, in words. */
  calibration?: string;
}

/** `write` on the graph of the selected student (float32 exports). */
async function withStudentGraph<T>(studentDir: string, write: (graph: StudentGraph) => T): Promise<T> {
  const model = await loadModel(studentDir);
  try {
    return write(graphFromModel(model));
  } finally {
    model.dispose();
  }
}

/** `write` on the run's student graph with int8 ranges calibrated on the run's own images. */
async function withCalibration<T>(runDir: string, options: ExportOptions, write: (graph: StudentGraph, calibrated: Calibrated) => T): Promise<T> {
  const run = await openRun(runDir);
  try {
    const graph = graphFromModel(run.student);
    return write(graph, calibrateOnRun(run, graph, options.calibrationBatches ?? CALIBRATION_BATCHES, options.calibrationBatchSize ?? CALIBRATION_BATCH_SIZE));
  } finally {
    run.dispose();
  }
}

async function writeModel(runDir: string, studentDir: string, outDir: string, options: ExportOptions): Promise<WrittenModel> {
  if (options.format === 'tfjs') {
    const files = writeTfjsModel(studentDir, outDir, { float16: options.float16 });
    return {
      files,
      description: `TensorFlow.js layers model, ${options.float16 ? 'float16 weights (decoded to float32 on load)' : 'float32 weights'}`,
      ...(options.float16 ? { float32Bytes: tfjsModelBytes(studentDir) } : {}),
      note: 'TensorFlow.js 4.x layers format (model.json + binary weight shards); input NHWC float32 [N, H, W, C], output logits [N, classes]',
      howToLoad: `const model = await tf.loadLayersModel('file://${join(outDir, MODEL_FILE)}')  // or an http(s) URL where you host the folder; input NHWC float32 [N, H, W, C]`,
    };
  }
  if (options.format === 'onnx') {
    const version = options.producerVersion ? { producerVersion: options.producerVersion } : {};
    const written: GraphBytes = options.int8
      ? await withCalibration(runDir, options, (graph, calibrated) => ({
          graph,
          bytes: toOnnx(graph, { ...version, quantization: calibrated.calibration, weightScales: options.weightScales ?? 'per-channel' }),
          float32Bytes: toOnnx(graph, version).length,
          calibration: calibrated.description,
        }))
      : await withStudentGraph(studentDir, (graph) => ({ graph, bytes: toOnnx(graph, version) }));
    const { graph, bytes } = written;
    writeFileAtomic(join(outDir, ONNX_FILE), bytes);
    const [h, w, c] = graph.inputShape;
    return {
      files: [{ name: ONNX_FILE, bytes: bytes.length, role: 'model' }],
      description: options.int8 ? `ONNX model, int8 in QDQ form (${options.weightScales === 'per-tensor' ? 'per-tensor' : 'per-channel'} weights, per-tensor activations), float32 input and output` : 'ONNX model, float32',
      ...(written.float32Bytes !== undefined ? { float32Bytes: written.float32Bytes } : {}),
      ...(written.calibration ? { calibration: written.calibration } : {}),
      note: `ONNX opset ${ONNX_OPSET} (IR version ${ONNX_IR_VERSION}); input '${graph.inputName}': NCHW float32 [N, ${c}, ${h}, ${w}] (batch free), output '${graph.outputName}': logits [N, ${graph.numClasses}]${options.int8 ? "; int8 as QuantizeLinear / DequantizeLinear pairs, which onnxruntime's graph optimiser (level 'extended' or above, its default) turns into int8 kernels (QLinearConv, QGemm)" : ''}`,
      howToLoad: `const session = await ort.InferenceSession.create('${join(outDir, ONNX_FILE)}')  // onnxruntime; feed '${graph.inputName}' NCHW float32 [N, ${c}, ${h}, ${w}], get logits [N, ${graph.numClasses}]`,
    };
  }
  // TFLite.
  const written: GraphBytes & { boundary?: ReturnType<typeof int8Boundary> } = options.int8
    ? await withCalibration(runDir, options, (graph, calibrated) => ({
        graph,
        bytes: toTflite(graph, { quantization: calibrated.calibration, weightScales: options.weightScales ?? 'per-channel', io: options.int8Io ? 'int8' : 'float32', stripStrings: options.stripStrings }),
        float32Bytes: toTflite(graph, { stripStrings: options.stripStrings }).length,
        calibration: calibrated.description,
        ...(options.int8Io ? { boundary: int8Boundary(graph, calibrated.calibration) } : {}),
      }))
    : await withStudentGraph(studentDir, (graph) => ({ graph, bytes: toTflite(graph, { stripStrings: options.stripStrings }) }));
  const { graph, bytes, float32Bytes, calibration, boundary } = written;
  writeFileAtomic(join(outDir, TFLITE_FILE), bytes);
  const [h, w, c] = graph.inputShape;
  const io = boundary ? 'int8' : 'float32';
  const names = options.stripStrings ? ' 0 (names stripped)' : '';
  const boundaryText = boundary
    ? `; int8 I/O: feed q = round(x / ${boundary.input.scale.toPrecision(6)}) + ${boundary.input.zeroPoint}, read logits as (q − ${boundary.output.zeroPoint}) × ${boundary.output.scale.toPrecision(6)}`
    : '';
  return {
    files: [{ name: TFLITE_FILE, bytes: bytes.length, role: 'model' }],
    description: options.int8
      ? `TFLite flatbuffer, int8 (${options.weightScales === 'per-tensor' ? 'per-tensor' : 'per-channel'} weights, per-tensor activations), ${io} input and output${options.stripStrings ? ', strings stripped' : ''}`
      : `TFLite flatbuffer, float32${options.stripStrings ? ', strings stripped' : ''}`,
    ...(float32Bytes !== undefined ? { float32Bytes } : {}),
    ...(calibration ? { calibration } : {}),
    note: `TFLite schema (TFL3) with builtin operators only, for TensorFlow Lite / LiteRT; input${names || ` '${graph.inputName}'`}: NHWC ${io} [1, ${h}, ${w}, ${c}], output${names ? ' 0' : ` '${graph.outputName}'`}: logits [1, ${graph.numClasses}]${boundaryText}`,
    howToLoad: `interpreter = tf.lite.Interpreter(model_path='${join(outDir, TFLITE_FILE)}')  # Python (or ai_edge_litert's Interpreter, LiteRT.js); input NHWC ${io} [1, ${h}, ${w}, ${c}], output logits [1, ${graph.numClasses}]${boundary ? ' (int8: scales in get_input_details()[0]["quantization"])' : ''}`,
  };
}
