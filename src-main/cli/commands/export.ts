import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { initBackend, isBackendName } from '../../engine/backend/index.ts';
import { DistilleryError } from '../../engine/errors.ts';
import { CALIBRATION_BATCH_SIZE, CALIBRATION_BATCHES, checkExportOptions, exportRun, exportVariant, sizeText, versusFloat32, type ExportFormat, type ExportOptions } from '../../engine/export/index.ts';
import { ENGINE_VERSION } from '../../engine/index.ts';
import { dataHome, defaultRunsDir } from '../../engine/paths.ts';
import { RUN_FILES } from '../../engine/runs/store.ts';
import { numberOption, out, stringOption, type CliCommand, type ParsedValues } from '../command.ts';

const FORMATS: readonly ExportFormat[] = ['tfjs', 'onnx', 'tflite'];

/** --run: a run folder, or a run id in the runs folder (--runs DIR, default ~/.distillery/runs), as `distillery runs` lists them. */
export function resolveRunDir(target: string, runsDir: string): string {
  const asPath = resolve(target);
  if (existsSync(join(asPath, RUN_FILES.config))) return asPath;
  if (!/[\\/]/.test(target)) {
    const inRuns = resolve(runsDir, target);
    if (existsSync(join(inRuns, RUN_FILES.config))) return inRuns;
  }
  throw new DistilleryError('NOT_FOUND', `there is no run '${target}' (neither a run folder nor a run id in ${runsDir})`, '`distillery runs` lists the run ids');
}

function exportOptions(values: ParsedValues): ExportOptions {
  const format = stringOption(values, 'format') ?? 'tfjs';
  if (!(FORMATS as readonly string[]).includes(format)) throw new DistilleryError('BAD_INPUT', `--format must be ${FORMATS.join(', ')} — got '${format}'`);
  const weightScales = stringOption(values, 'weight-scales') ?? 'per-channel';
  if (weightScales !== 'per-channel' && weightScales !== 'per-tensor') throw new DistilleryError('BAD_INPUT', `--weight-scales must be per-channel or per-tensor, got '${weightScales}'`);
  const options: ExportOptions = {
    format: format as ExportFormat,
    float16: values.float16 === true,
    int8: values.int8 === true,
    int8Io: values['int8-io'] === true,
    stripStrings: values['strip-strings'] === true,
    calibrationBatches: Math.floor(numberOption(values, 'calibration-batches', CALIBRATION_BATCHES, 1, 1000)),
    calibrationBatchSize: Math.floor(numberOption(values, 'calibration-batch-size', CALIBRATION_BATCH_SIZE, 1, 4096)),
    weightScales,
    producerVersion: ENGINE_VERSION,
  };
  checkExportOptions(options);
  return options;
}

export const exportCommand: CliCommand = {
  name: 'export',
  summary: "export a finished run's student: TensorFlow.js, ONNX or TFLite (float32, float16 or int8)",
  usage: [
    'Usage: distillery export --run ID|DIR [--format tfjs|onnx|tflite] [--int8] [--float16] [--out DIR]',
    '',
    '  --run ID|DIR       a finished run: its folder, or its id in the runs folder',
    '  --runs DIR         the runs folder a run id is looked up in (default ~/.distillery/runs)',
    '  --format F         tfjs (TensorFlow.js layers model, default), onnx (opset 13) or tflite',
    '  --float16          tfjs: float16 weights, half the size',
    "  --int8             tflite, onnx: post-training int8, calibrated on the run's own generated images",
    '                     (ONNX: QDQ form, run by onnxruntime with int8 kernels)',
    `  --calibration-batches N      int8: batches of generated images for the ranges (default ${CALIBRATION_BATCHES})`,
    `  --calibration-batch-size N   int8: images per batch (default ${CALIBRATION_BATCH_SIZE})`,
    '  --weight-scales S  int8: per-channel (default) or per-tensor weight scales',
    '  --int8-io          tflite int8: int8 input and output too (TFLite Micro style; the note gives the scales)',
    '  --strip-strings    tflite: no tensor names or description (as TFLite\'s strip_strings)',
    '  --out DIR          the folder to write (default ~/.distillery/exports/<run id>-<format>)',
    '  --backend NAME     int8 calibration backend: tensorflow, webgpu, wasm or cpu (default: the fastest)',
    '  --json             print the result as JSON',
    '',
    'Writes the model (model.json + weights, student.onnx or student.tflite), the run\'s last sample',
    'grid (samples.png) and report.md, then prints the files, their sizes and how to load the model.',
    'No real data is used: int8 activation ranges come from the run\'s generator (or the synthesised',
    'pool of DeepInversion and ZSKD). Accuracy is not measured here; `npm run bench -- tflite <run>',
    "--test-data SPEC` measures the TFLite int8 accuracy drop.",
  ].join('\n'),
  options: {
    run: { type: 'string' },
    runs: { type: 'string' },
    format: { type: 'string' },
    float16: { type: 'boolean' },
    int8: { type: 'boolean' },
    'int8-io': { type: 'boolean' },
    'strip-strings': { type: 'boolean' },
    'calibration-batches': { type: 'string' },
    'calibration-batch-size': { type: 'string' },
    'weight-scales': { type: 'string' },
    out: { type: 'string' },
    backend: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run({ values }) {
    const target = stringOption(values, 'run');
    if (!target) throw new DistilleryError('BAD_INPUT', 'export needs --run', 'e.g. distillery export --run <run id> --format onnx (`distillery runs` lists the ids)');
    const options = exportOptions(values);
    const runDir = resolveRunDir(target, resolve(stringOption(values, 'runs') ?? defaultRunsDir()));
    const outDir = resolve(stringOption(values, 'out') ?? join(dataHome(), 'exports', `${basename(runDir)}-${exportVariant(options)}`));
    const backendName = stringOption(values, 'backend');
    if (backendName !== undefined && !isBackendName(backendName)) throw new DistilleryError('BAD_INPUT', `--backend ${backendName} is not a backend (tensorflow, webgpu, wasm, cpu)`);
    if (options.int8) {
      // Calibration runs the generator and the student: worth the fastest backend.
      const backend = await initBackend(backendName ? { prefer: backendName } : {});
      if (!values.json) out.status(`Backend: ${backend.name} — ${backend.reason}`);
    }
    const result = await exportRun(runDir, outDir, options);
    if (values.json) {
      out.print(JSON.stringify(result, null, 2));
      return 0;
    }
    out.print(`Exported ${basename(runDir)}: ${result.description}`);
    out.print(`  folder: ${result.dir}`);
    const width = Math.max(...result.files.map((f) => f.name.length));
    for (const f of result.files) out.print(`  ${f.name.padEnd(width)}  ${sizeText(f.bytes).padStart(10)}${f.role === 'model' ? '' : `  (${f.role})`}`);
    const ratio = result.float32Bytes !== undefined ? `; ${versusFloat32(result.float32Bytes, result.modelBytes)}` : '';
    out.print(`  model size: ${sizeText(result.modelBytes)} (${result.modelBytes} bytes${ratio})`);
    out.print(`  ${result.note}`);
    if (result.calibration) out.print(`  ${result.calibration}`);
    out.print('How to load it:');
    out.print(`  ${result.howToLoad}`);
    return 0;
  },
};
