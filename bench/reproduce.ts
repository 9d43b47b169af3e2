/**
 * `npm run bench -- reproduce --dataset mnist [--quick] [--seeds N] [--out DIR] [--runs DIR]
 *  [--gen-steps N] [--student-steps N] [--batch-size N] [--samples N] [--only main,tau,genEpochs]
 *  [--full-grid] [--retry-failed] [--render-only]`
 *
 * Runs the RDSKD paper's MNIST experiments (bench/reproduce-grid.ts: Table 2's grid, the τ sweep
 * and the generator-epochs sweep) with the bundled LeNet5 teacher and a LeNet5-half student, then
 * measures every run and writes <out>/<dataset>.json, <out>/<dataset>.md (bench/results-page.ts)
 * and the charts as PNG (src-main/engine/metrics/plot.ts) beside them.
 *
 * Per run: training through startDistillation (the same code as `distillery distill`), the
 * student's MNIST test accuracy (logged, never used for selection), and IS (teacher classifier) /
 * FID (teacher features, against the 10,000 test images) / LPIPS-style diversity / agreement on
 * --samples generated images (evaluateSamples). Runs go into a throwaway runs folder (--runs,
 * default $DISTILLERY_HOME/bench/reproduce-<dataset>-<schedule>, DISTILLERY_HOME defaulting to
 * ~/.distillery); a restarted bench with the same arguments reuses finished runs (and their cached
 * measurements, <run>/bench-eval.json) and resumes interrupted ones from their checkpoints. Ctrl+C
 * checkpoints the current run and writes the page with what is finished. --render-only rewrites
 * the page and charts from <out>/<dataset>.json without running anything.
 *
 * Defaults: --quick: the quick schedule (reproduce-grid.ts QUICK_SCHEDULE), 1 seed, 128 samples,
 * the sweeps on RDSKD only (--full-grid: on MSKD too); otherwise the methods' reference schedules (overridable with --gen-steps / --student-steps /
 * --batch-size), 3 seeds, 2048 samples.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative, resolve } from 'node:path';
import { activeBackend, initBackend } from '../src-main/engine/backend/index.ts';
import { loadTestSet } from '../src-main/engine/data/test-set.ts';
import { asDistilleryError, DistilleryError } from '../src-main/engine/errors.ts';
import { accuracyOn } from '../src-main/engine/methods/index.ts';
import type { TestSet } from '../src-main/engine/methods/method.ts';
import { evaluateSamples, referenceStats, type ReferenceStats } from '../src-main/engine/metrics/evaluate.ts';
import { teacherFeatureNetwork, type FeatureNetwork } from '../src-main/engine/metrics/networks.ts';
import { encodeFigure } from '../src-main/engine/metrics/plot.ts';
import { openRun } from '../src-main/engine/metrics/run-samples.ts';
import { loadTeacher, type LoadedTeacher } from '../src-main/engine/models/index.ts';
import { bundledTeachersDir, dataHome } from '../src-main/engine/paths.ts';
import { resumeDistillation, startDistillation, weightsHash } from '../src-main/engine/runs/distill.ts';
import { RUN_FILES, RunStore } from '../src-main/engine/runs/store.ts';
import { progressPrinter } from '../src-main/cli/commands/progress-line.ts';
import { parseBenchArgs } from './options.ts';
import { describeSchedule, expandGrid, makeSchedule, QUICK_SWEEP_GENERATORS, runId, runOverrides, type Cell, type Group, type Schedule } from './reproduce-grid.ts';
import { chartFigures, downsample, isLossTerm, renderPage, resultsJson, type Curve, type Int8ExportRecord, type ResultsFile, type RunResult } from './results-page.ts';

const STUDENT = 'lenet5-half';
const EVAL_FILE = 'bench-eval.json';
const EVAL_SEED = 0x5eed + 17;

const USAGE = 'npm run bench -- reproduce --dataset mnist [--quick] [--seeds N] [--out DIR] [--runs DIR] [--gen-steps N] [--student-steps N] [--batch-size N] [--samples N] [--only main,tau,genEpochs] [--full-grid] [--retry-failed] [--render-only]';
const OPTIONS = {
  dataset: { type: 'string' },
  quick: { type: 'boolean' },
  'full-grid': { type: 'boolean' },
  'render-only': { type: 'boolean' },
  'retry-failed': { type: 'boolean' },
  seeds: { type: 'string' },
  out: { type: 'string' },
  runs: { type: 'string' },
  'gen-steps': { type: 'string' },
  'student-steps': { type: 'string' },
  'batch-size': { type: 'string' },
  samples: { type: 'string' },
  only: { type: 'string' },
} as const;

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function seconds(s: number): string {
  return s >= 120 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(1)} s`;
}

interface Context {
  teacher: LoadedTeacher;
  testSet: TestSet;
  features: FeatureNetwork;
  reference: ReferenceStats;
  schedule: Schedule;
  runsDir: string;
  signal: AbortSignal;
  retryFailed: boolean;
}

/** Loss terms of a run's metrics.jsonl, per phase, bucket-averaged for the JSON and the charts. */
function lossCurves(store: RunStore): Curve[] {
  const byPhase = new Map<string, Map<string, { x: number[]; y: number[] }>>();
  for (const rec of store.readMetrics()) {
    let terms = byPhase.get(rec.phase);
    if (!terms) byPhase.set(rec.phase, (terms = new Map()));
    for (const [k, v] of Object.entries(rec.values)) {
      if (!isLossTerm(k) || !Number.isFinite(v)) continue;
      let c = terms.get(k);
      if (!c) terms.set(k, (c = { x: [], y: [] }));
      c.x.push(rec.step);
      c.y.push(v);
    }
  }
  const out: Curve[] = [];
  for (const [phase, terms] of byPhase) for (const [term, c] of terms) out.push({ phase, term, ...downsample(c.x, c.y, 300) });
  return out;
}

function variantOf(method: string, last: Record<string, Record<string, number>> | undefined): string | undefined {
  if (method === 'deepinversion' && last?.synthesis?.rFeatUsed === 0) {
    return 'DeepInversion ran without its BatchNorm-statistics term r_feat: the bundled LeNet5 teacher has no BatchNorm layer (the reference\'s variant for such teachers: cross-entropy + image priors only).';
  }
  if (method === 'zskd' && last?.synthesis?.betaApplied === 1) return "ZSKD applies the paper's β to the Dirichlet concentration (the reference code's re-min-max, which cancels β = 0.1, is not reproduced).";
  return undefined;
}

/** Trains (or reuses / resumes) one run and measures it. */
async function ensureRun(ctx: Context, cell: Cell, seed: number, id: string, overrides: Record<string, unknown>): Promise<RunResult> {
  const base: RunResult = { key: cell.key, method: cell.method, groups: cell.groups, lrG: cell.lrG, tau: cell.tau, genFraction: cell.genFraction, seed, runId: id, status: 'pending' };
  const dir = join(ctx.runsDir, id);
  const evalPath = join(dir, EVAL_FILE);
  if (existsSync(evalPath)) {
    const cached = JSON.parse(readFileSync(evalPath, 'utf8')) as RunResult & { evalSamplesAsked?: number };
    if (cached.evalSamplesAsked === ctx.schedule.evalSamples) return { ...cached, groups: cell.groups };
  }
  const hasRun = existsSync(join(dir, RUN_FILES.config));
  const status = hasRun ? RunStore.open(dir).status : null;
  if (status?.status === 'failed' && !ctx.retryFailed) {
    return { ...base, status: 'failed', error: status.error?.message ?? 'failed (see run.json)' };
  }
  // Quick runs skip the driver's test-accuracy logging (a pass over 10,000 test images per run);
  // the accuracy in the tables is measured below either way.
  const quick = ctx.schedule.name === 'quick';
  const drive = { ...(quick ? {} : { testSet: ctx.testSet }), signal: ctx.signal, onProgress: progressPrinter({ everySeconds: 30 }) };
  if (status?.status !== 'done') {
    try {
      if (!hasRun) {
        await startDistillation({ teacher: ctx.teacher.dir, student: STUDENT, method: cell.method, overrides, runsDir: ctx.runsDir, id, ...(quick ? {} : { testData: 'mnist' }), options: { bench: 'reproduce' } }, drive);
      } else {
        log(`  resuming ${id} from its checkpoint`);
        await resumeDistillation(dir, drive, { overrides });
      }
    } catch (error) {
      const e = asDistilleryError(error);
      if (e.code === 'CANCELLED') throw e;
      log(`  ${id} failed: ${e.message}`);
      return { ...base, status: 'failed', error: `${e.code}: ${e.message}` };
    }
  }

  // Measure.
  const t0 = performance.now();
  const store = RunStore.open(dir);
  store.close();
  const run = await openRun(dir, { teacher: ctx.teacher });
  try {
    const summary = run.summary as { wallSeconds?: number; backends?: (string | null)[]; phases?: { name: string; steps: number; batchSize: number }[]; last?: Record<string, Record<string, number>> } | null;
    const n = run.poolSize !== null ? Math.min(ctx.schedule.evalSamples, run.poolSize) : ctx.schedule.evalSamples;
    const samples = run.samples(n, EVAL_SEED);
    if (!samples) throw new DistilleryError('INTERNAL', `run ${id} has no samples`);
    let report;
    try {
      report = await evaluateSamples({ samples, teacher: ctx.teacher.model, student: run.student, reference: ctx.reference, featureNetwork: ctx.features, tau: cell.tau ?? 10 });
    } finally {
      samples.dispose();
    }
    const accuracy = accuracyOn(ctx.testSet, run.student);
    const result: RunResult & { evalSamplesAsked: number } = {
      ...base,
      status: 'done',
      phases: summary?.phases,
      accuracy,
      agreement: report.agreement?.rate ?? null,
      is: report.inceptionScore.mean,
      isStd: report.inceptionScore.std,
      fid: report.frechet?.value ?? null,
      lpips: report.diversity.mean,
      coverage: report.coverage.normalisedEntropy,
      sampleSize: report.sampleSize,
      sampleSource: run.sampleSource,
      referenceSize: report.referenceSize,
      wallSeconds: summary?.wallSeconds ?? null,
      evalSeconds: Math.round((performance.now() - t0) / 100) / 10,
      backend: summary?.backends?.filter(Boolean).join(', ') || null,
      ...(variantOf(cell.method, summary?.last) ? { variant: variantOf(cell.method, summary?.last) } : {}),
      curves: lossCurves(store),
      evalSamplesAsked: ctx.schedule.evalSamples,
    };
    writeFileSync(evalPath, `${JSON.stringify(result)}\n`);
    return result;
  } finally {
    run.dispose();
  }
}

function writeOutputs(outDir: string, results: ResultsFile, withCharts: boolean): string[] {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${results.dataset}.json`), resultsJson(results));
  const charts: { file: string; title: string }[] = [];
  if (withCharts) {
    for (const c of chartFigures(results)) {
      writeFileSync(join(outDir, c.file), encodeFigure(c.figure));
      charts.push({ file: c.file, title: c.title });
    }
  }
  // The int8 export figures, when `npm run bench -- tflite <run> --record <out>/<dataset>-int8.json` wrote them.
  const int8File = join(outDir, `${results.dataset}-int8.json`);
  const int8 = existsSync(int8File) ? (JSON.parse(readFileSync(int8File, 'utf8')) as Int8ExportRecord) : null;
  writeFileSync(join(outDir, `${results.dataset}.md`), renderPage(results, charts, int8));
  return charts.map((c) => c.file);
}

export async function main(args: string[]): Promise<number> {
  const started = performance.now();
  const opts = parseBenchArgs(args, OPTIONS, USAGE);
  const dataset = (opts.string('dataset') ?? 'mnist').toLowerCase();
  if (dataset !== 'mnist') {
    log(`reproduce: only --dataset mnist is implemented (the paper's SVHN / CIFAR-10 grids need WRN / ResNet teachers that are not bundled)`);
    return 2;
  }
  const quick = opts.flag('quick');
  const schedule = makeSchedule({
    quick,
    genSteps: opts.int('gen-steps'),
    studentSteps: opts.int('student-steps'),
    batchSize: opts.int('batch-size', 2),
    evalSamples: opts.int('samples', 16),
  });
  const nSeeds = opts.int('seeds') ?? (quick ? 1 : 3);
  const seeds = Array.from({ length: nSeeds }, (_, i) => i);
  const onlyRaw = opts.string('only');
  const groups = (onlyRaw ? onlyRaw.split(',') : ['main', 'tau', 'genEpochs']) as Group[];
  if (groups.some((g) => !['main', 'tau', 'genEpochs'].includes(g))) {
    log(`reproduce: --only takes main, tau, genEpochs; got ${onlyRaw}`);
    return 2;
  }
  const outDir = resolve(opts.string('out') ?? 'docs/results');
  if (opts.flag('render-only')) {
    // Page and charts again from <out>/<dataset>.json (after a change to the page or the charts).
    const file = join(outDir, `${dataset}.json`);
    if (!existsSync(file)) {
      log(`reproduce: ${file} does not exist: run the bench first`);
      return 2;
    }
    const charts = writeOutputs(outDir, JSON.parse(readFileSync(file, 'utf8')) as ResultsFile, true);
    log(`rewrote ${dataset}.md and ${charts.length} charts in ${outDir} from ${dataset}.json`);
    return 0;
  }
  const runsDir = resolve(opts.string('runs') ?? join(dataHome(), 'bench', `reproduce-${dataset}-${schedule.name}`));
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    log('\ninterrupted: checkpointing the current run (Ctrl+C again to quit at once)');
    controller.abort('interrupted');
  };
  process.on('SIGINT', onSigint);

  const backend = await initBackend();
  log(`reproduce ${dataset}: ${describeSchedule(schedule)}; seeds ${seeds.join(', ')}; runs in ${runsDir}; backend ${backend.name} (${backend.threads ?? '?'} threads)`);
  const teacher = await loadTeacher(join(bundledTeachersDir(), 'lenet5-mnist'));
  const testSet = await loadTestSet('mnist', teacher);
  try {
    const features = teacherFeatureNetwork(teacher.model);
    const reference = await referenceStats(testSet.x, features);
    const teacherAccuracy = accuracyOn(testSet, teacher.model);
    const identity = { teacher: await weightsHash(teacher.model), student: STUDENT, dataset };
    const ctx: Context = { teacher, testSet, features, reference, schedule, runsDir, signal: controller.signal, retryFailed: opts.flag('retry-failed') };

    const cells = expandGrid(groups, quick && !opts.flag('full-grid') ? QUICK_SWEEP_GENERATORS : undefined);
    const plan = seeds.flatMap((seed) => cells.map((cell) => ({ cell, seed, overrides: runOverrides(cell, schedule, seed) })));
    const results: ResultsFile = {
      format: 1,
      dataset,
      command: `npm run bench -- reproduce ${args.join(' ')}`.trim(),
      date: new Date().toISOString(),
      machine: {
        cpu: os.cpus()[0]?.model ?? 'unknown CPU',
        cores: os.cpus().length,
        memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        os: `${os.type()} ${os.release()}`,
        node: process.version,
        load: os.loadavg().map((v) => Math.round(v * 100) / 100),
      },
      backend: { name: backend.name, threads: activeBackend()?.threads ?? null, tfjs: tf.version.tfjs },
      schedule: { name: schedule.name, description: describeSchedule(schedule), evalSamples: schedule.evalSamples },
      seeds,
      teacher: { name: `${teacher.manifest.name} (${teacher.manifest.architecture})`, accuracy: teacherAccuracy, testSize: testSet.x.shape[0] },
      student: STUDENT,
      referenceSize: reference.stats.n,
      wallSeconds: 0,
      trainSeconds: 0,
      runs: plan.map(({ cell, seed, overrides }) => ({
        key: cell.key,
        method: cell.method,
        groups: cell.groups,
        lrG: cell.lrG,
        tau: cell.tau,
        genFraction: cell.genFraction,
        seed,
        runId: runId(cell, seed, overrides, identity),
        status: 'pending' as const,
      })),
    };
    log(`${plan.length} runs (${cells.length} grid cells × ${seeds.length} seed${seeds.length > 1 ? 's' : ''}); teacher test accuracy ${teacherAccuracy.toFixed(4)}`);
    let interrupted = false;
    for (let i = 0; i < plan.length; i++) {
      const { cell, seed, overrides } = plan[i]!;
      const id = results.runs[i]!.runId;
      const t0 = performance.now();
      log(`[${i + 1}/${plan.length}] ${cell.key} seed ${seed} (${cell.groups.join(', ')})`);
      try {
        results.runs[i] = await ensureRun(ctx, cell, seed, id, overrides);
      } catch (error) {
        const e = asDistilleryError(error);
        if (e.code !== 'CANCELLED') throw e;
        interrupted = true;
        break;
      }
      const r = results.runs[i]!;
      log(
        r.status === 'done'
          ? `  ${seconds((performance.now() - t0) / 1000)}: accuracy ${r.accuracy?.toFixed(4)}, IS ${r.is?.toFixed(3)}, FID (teacher features) ${r.fid?.toFixed(3)}, LPIPS-style ${r.lpips?.toFixed(4)}, agreement ${r.agreement?.toFixed(4)} (n = ${r.sampleSize}; training ${seconds(r.wallSeconds ?? 0)})`
          : `  ${r.status}${r.error ? `: ${r.error}` : ''}`,
      );
      results.wallSeconds = (performance.now() - started) / 1000;
      results.trainSeconds = results.runs.reduce((a, x) => a + (x.wallSeconds ?? 0), 0);
      writeOutputs(outDir, results, false);
    }
    results.wallSeconds = (performance.now() - started) / 1000;
    results.trainSeconds = results.runs.reduce((a, x) => a + (x.wallSeconds ?? 0), 0);
    const charts = writeOutputs(outDir, results, true);
    const page = readFileSync(join(outDir, `${dataset}.md`), 'utf8');
    // The three tables (Table 2 layout, τ sweep, generator-epochs sweep) on stdout.
    const start = page.indexOf('\n## ');
    const end = page.search(/\n## (Charts|Runs)/);
    console.log(`${page.slice(start + 1, end > start ? end : undefined).trim()}\n`);
    log(`wrote ${relative(process.cwd(), join(outDir, `${dataset}.md`))}, ${dataset}.json and ${charts.length} charts in ${seconds(results.wallSeconds)} (training summed over runs: ${seconds(results.trainSeconds)})`);
    if (interrupted) {
      log('interrupted: run the same command again to continue');
      return 130;
    }
    // A run that diverged (e.g. lr_G 0.2) is a result, not a failure of the bench.
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    tf.dispose([testSet.x, testSet.y]);
    teacher.model.dispose();
  }
}
