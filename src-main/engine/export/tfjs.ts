/**
 * A run's student as a TensorFlow.js layers model (model.json + weights), optionally with float16
 * weights (half the size; TensorFlow.js decodes them on load). index.ts (exportRun) writes it with
 * the report and sample grid every export has.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Float16Array } from '@petamoriken/float16';
import type { ExportedFileDto } from '../../common/contract.ts';
import { DistilleryError } from '../errors.ts';
import { MODEL_FILE, writeFileAtomic } from '../models/index.ts';
import { RUN_FILES } from '../runs/store.ts';

interface WeightEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string };
}

interface ModelJson {
  modelTopology: unknown;
  weightsManifest: { paths: string[]; weights: WeightEntry[] }[];
  [key: string]: unknown;
}

/** IEEE 754 half precision, round-to-nearest-even, as the bits TF.js reads for float16 weights. */
export function toFloat16(values: Float32Array): Uint16Array {
  return new Uint16Array(new Float16Array(values).buffer);
}

/** The folder of the student a finished run selected (its summary names it). */
export function selectedStudentDir(runDir: string): string {
  const summaryFile = join(runDir, RUN_FILES.summary);
  if (!existsSync(summaryFile)) throw new DistilleryError('NOT_FOUND', `the run in ${runDir} has not finished: there is no student to export yet`, 'resume it until it is done');
  const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as { selection?: { model?: string } };
  const dir = join(runDir, summary.selection?.model ?? RUN_FILES.student);
  if (!existsSync(join(dir, MODEL_FILE))) throw new DistilleryError('NOT_FOUND', `the run's student is missing (${dir})`);
  return dir;
}

/** Re-encodes a model's float32 weights as float16 with the quantization marker TF.js reads; returns the file names. */
function writeFloat16Model(srcDir: string, outDir: string): string[] {
  const model = JSON.parse(readFileSync(join(srcDir, MODEL_FILE), 'utf8')) as ModelJson;
  const groups = model.weightsManifest.map((group, g) => {
    const bytes = Buffer.concat(group.paths.map((p) => readFileSync(join(srcDir, p))));
    let offset = 0;
    const parts: Buffer[] = [];
    const weights = group.weights.map((w) => {
      const count = w.shape.reduce((a, b) => a * b, 1);
      if (w.dtype !== 'float32' || w.quantization) {
        const size = count * 4;
        parts.push(bytes.subarray(offset, offset + size));
        offset += size;
        return w;
      }
      const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + count * 4));
      offset += count * 4;
      parts.push(Buffer.from(toFloat16(values).buffer));
      return { ...w, quantization: { dtype: 'float16' } };
    });
    const file = `group${g + 1}-shard1of1.bin`;
    writeFileAtomic(join(outDir, file), Buffer.concat(parts));
    return { paths: [file], weights };
  });
  writeFileAtomic(join(outDir, MODEL_FILE), JSON.stringify({ ...model, weightsManifest: groups }));
  return [MODEL_FILE, ...groups.flatMap((g) => g.paths)];
}

/**
 * Writes the student in `studentDir` into `outDir` as a TensorFlow.js layers model: copied as it is
 * (float32), or with float16 weights. Returns the files written (model.json first).
 */
export function writeTfjsModel(studentDir: string, outDir: string, options: { float16?: boolean } = {}): ExportedFileDto[] {
  mkdirSync(outDir, { recursive: true });
  let names: string[];
  if (options.float16) {
    names = writeFloat16Model(studentDir, outDir);
  } else {
    names = modelFiles(studentDir);
    for (const name of names) copyFileSync(join(studentDir, name), join(outDir, name));
  }
  names.sort((a, b) => (a === MODEL_FILE ? -1 : b === MODEL_FILE ? 1 : a.localeCompare(b)));
  return names.map((name) => ({ name, bytes: statSync(join(outDir, name)).size, role: 'model' as const }));
}

/** The files TensorFlow.js loads from a layers model folder: model.json and the shards it names. */
function modelFiles(modelDir: string): string[] {
  const model = JSON.parse(readFileSync(join(modelDir, MODEL_FILE), 'utf8')) as ModelJson;
  return [MODEL_FILE, ...new Set(model.weightsManifest.flatMap((group) => group.paths))];
}

/** Bytes of a layers model folder as TensorFlow.js loads it: model.json and its weight shards. */
export function tfjsModelBytes(modelDir: string): number {
  return modelFiles(modelDir).reduce((sum, name) => sum + statSync(join(modelDir, name)).size, 0);
}
