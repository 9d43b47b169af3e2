/**
 * Export of a run's student as a TensorFlow.js layers model (model.json + weights), optionally with
 * float16 weights (half the size; TensorFlow.js decodes them on load), plus the last sample grid and
 * a short report — into a folder of the user's choosing.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Float16Array } from '@petamoriken/float16';
import type { ExportResultDto } from '../../common/contract.ts';
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

function selectedStudentDir(runDir: string): string {
  const summaryFile = join(runDir, RUN_FILES.summary);
  if (!existsSync(summaryFile)) throw new DistilleryError('NOT_FOUND', `the run in ${runDir} has not finished: there is no student to export yet`, 'resume it until it is done');
  const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as { selection?: { model?: string } };
  const dir = join(runDir, summary.selection?.model ?? RUN_FILES.student);
  if (!existsSync(join(dir, MODEL_FILE))) throw new DistilleryError('NOT_FOUND', `the run's student is missing (${dir})`);
  return dir;
}

/** Re-encodes a model's float32 weights as float16 with the quantization marker TF.js reads. */
function writeFloat16Model(srcDir: string, outDir: string): void {
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
}

export async function exportStudent(runDir: string, outDir: string, options: { float16?: boolean } = {}): Promise<ExportResultDto> {
  const studentDir = selectedStudentDir(runDir);
  mkdirSync(outDir, { recursive: true });
  if (options.float16) {
    writeFloat16Model(studentDir, outDir);
  } else {
    for (const name of readdirSync(studentDir)) copyFileSync(join(studentDir, name), join(outDir, name));
  }
  const samplesDir = join(runDir, RUN_FILES.samples);
  const grids = existsSync(samplesDir) ? readdirSync(samplesDir).filter((f) => f.endsWith('.png')).sort() : [];
  if (grids.length) copyFileSync(join(samplesDir, grids.at(-1)!), join(outDir, 'samples.png'));
  const summaryFile = join(runDir, RUN_FILES.summary);
  const config = readFileSync(join(runDir, RUN_FILES.config), 'utf8');
  writeFileSync(
    join(outDir, 'report.md'),
    [
      '# Distillery export',
      '',
      `Format: TensorFlow.js layers model${options.float16 ? ' (float16 weights)' : ''}. Load it with \`tf.loadLayersModel('…/model.json')\`.`,
      '',
      '## Run summary',
      '```json',
      readFileSync(summaryFile, 'utf8').trim(),
      '```',
      '## Run configuration',
      '```json',
      config.trim(),
      '```',
      '',
    ].join('\n'),
  );
  const files = readdirSync(outDir).map((name) => ({ name, bytes: statSync(join(outDir, name)).size }));
  return {
    dir: outDir,
    files,
    bytes: files.reduce((sum, f) => sum + f.bytes, 0),
    format: options.float16 ? 'tfjs-layers (float16 weights)' : 'tfjs-layers (float32)',
    howToLoad: `const model = await tf.loadLayersModel('file://${join(outDir, MODEL_FILE)}')  // or an http(s) URL where you host the folder`,
  };
}
