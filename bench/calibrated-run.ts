/**
 * The int8 export benches' common start (bench/tflite.ts, bench/onnx.ts): one run folder on the
 * command line, the run opened on the wasm backend, and its student's graph calibrated on the run's
 * own images exactly as `distillery export --int8` calibrates (--batches × --batch-size).
 */
import { resolve } from 'node:path';
import { initBackend } from '../src-main/engine/backend/index.ts';
import { graphFromModel, type StudentGraph } from '../src-main/engine/export/graph.ts';
import { CALIBRATION_BATCH_SIZE, CALIBRATION_BATCHES, calibrateOnRun, type Calibrated } from '../src-main/engine/export/index.ts';
import { openRun, type OpenedRun } from '../src-main/engine/metrics/run-samples.ts';
import { BenchUsageError, parseBenchArgs, type BenchArgs, type OptionSpecs } from './options.ts';

export interface CalibratedRun extends Calibrated {
  opts: BenchArgs;
  /** The opened run: the caller disposes it. */
  run: OpenedRun;
  graph: StudentGraph;
  batches: number;
  batchSize: number;
}

/** `options` must declare `batches` and `batch-size` (strings). */
export async function openCalibratedRun(args: string[], options: OptionSpecs, usage: string): Promise<CalibratedRun> {
  const opts = parseBenchArgs(args, options, usage, true);
  const [runDir, ...extra] = opts.positionals;
  if (!runDir || extra.length > 0) throw new BenchUsageError(runDir ? `one run folder, got ${opts.positionals.length}` : 'no run folder', usage);
  const batches = opts.int('batches') ?? CALIBRATION_BATCHES;
  const batchSize = opts.int('batch-size') ?? CALIBRATION_BATCH_SIZE;
  await initBackend({ prefer: 'wasm' });
  const run = await openRun(resolve(runDir));
  try {
    const graph = graphFromModel(run.student);
    return { opts, run, graph, batches, batchSize, ...calibrateOnRun(run, graph, batches, batchSize) };
  } catch (error) {
    run.dispose();
    throw error;
  }
}
