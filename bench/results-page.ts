/**
 * The results of `npm run bench -- reproduce` as data (ResultsFile, written as <dataset>.json), as a
 * Markdown page in the RDSKD paper's Table 2 layout (with the paper's numbers beside ours, mean ±
 * std over seeds), and as chart specifications (drawn with src-main/engine/metrics/plot.ts). Pure:
 * the page and charts can be regenerated from the JSON alone.
 */
import type { Figure, Panel, Rgb, Series } from '../src-main/engine/metrics/plot.ts';
import { DEFAULT_TAU, GEN_FRACTIONS, LR_G, MAIN_METHODS, SWEEP_GENERATORS, TAUS, type Cell, type GridMethod } from './reproduce-grid.ts';

export const METHOD_TITLES: Record<GridMethod, string> = { rdskd: 'RDSKD', dafl: 'DAFL', mskd: 'MSKD', deepinversion: 'DeepInversion', zskd: 'ZSKD' };
const METHOD_COLORS: Record<GridMethod, Rgb> = { rdskd: [31, 119, 180], dafl: [255, 127, 14], mskd: [44, 160, 44], deepinversion: [214, 39, 40], zskd: [148, 103, 189] };

/**
 * The RDSKD paper's Table 2 for MNIST (LeNet5 → LeNet5-half, teacher 0.9794), from
 * ../shared/reference/methods.md. It gives accuracy only; IS, FID and LPIPS cells stay null ("—")
 * rather than invented.
 */
export const PAPER_MNIST = {
  teacherAccuracy: 0.9794,
  accuracy: {
    rdskd: { 0.001: 0.975, 0.005: 0.973, 0.2: 0.976 },
    dafl: { 0.001: 0.939, 0.005: 0.926, 0.2: 0.976 },
    mskd: { 0.001: 0.973, 0.005: 0.967, 0.2: 0.972 },
  } as Record<string, Record<number, number>>,
  deepinversion: 0.832,
  zskd: 0.921,
  is: null,
  fid: null,
  lpips: null,
} as const;

export interface Curve {
  phase: string;
  term: string;
  x: number[];
  y: number[];
}

/** One run of a grid cell (reproduce-grid.ts Cell: key, method, groups, lrG, tau, genFraction). */
export interface RunResult extends Pick<Cell, 'key' | 'method' | 'groups' | 'lrG' | 'tau' | 'genFraction'> {
  seed: number;
  runId: string;
  status: 'done' | 'failed' | 'pending';
  /** Why it failed (e.g. a NUMERIC error: the generator diverged). */
  error?: string;
  phases?: { name: string; steps: number; batchSize: number }[];
  /** Student top-1 on the test set, measured once after the run (never used to select anything). */
  accuracy?: number | null;
  /** Teacher–student argmax agreement on the evaluation samples. */
  agreement?: number | null;
  is?: number | null;
  isStd?: number | null;
  fid?: number | null;
  lpips?: number | null;
  coverage?: number | null;
  sampleSize?: number;
  sampleSource?: string;
  referenceSize?: number | null;
  /** Training wall time (the run's summary: all sessions of the run). */
  wallSeconds?: number | null;
  evalSeconds?: number;
  backend?: string | null;
  /** Method variant notes the run logged (e.g. DeepInversion without r_feat). */
  variant?: string;
  curves?: Curve[];
}

export interface ResultsFile {
  format: 1;
  dataset: string;
  command: string;
  date: string;
  machine: { cpu: string; cores: number; memoryGiB: number; os: string; node: string; load?: number[] };
  backend: { name: string; threads: number | null; tfjs: string };
  schedule: { name: string; description: string; evalSamples: number };
  seeds: number[];
  teacher: { name: string; accuracy: number | null; testSize: number };
  student: string;
  referenceSize: number;
  /** Wall time of the invocation that wrote this file, and the sum of the runs' training times. */
  wallSeconds: number;
  trainSeconds: number;
  runs: RunResult[];
}

// ------------------------------------------------------------------------------------------------
// Numbers
// ------------------------------------------------------------------------------------------------

/** Mean and sample standard deviation (n − 1; null for fewer than two values). */
export function meanStd(values: readonly number[]): { mean: number | null; std: number | null; n: number } {
  const v = values.filter((x) => Number.isFinite(x));
  const n = v.length;
  if (!n) return { mean: null, std: null, n: 0 };
  const mean = v.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, std: null, n };
  const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { mean, std: Math.sqrt(variance), n };
}

export function fmtNumber(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(2);
  return v.toFixed(digits);
}

/** "0.9750 ± 0.0012" (n ≥ 2), "0.9750" (n = 1), "—" (none). */
export function fmtMeanStd(values: readonly number[], digits = 4): string {
  const { mean, std } = meanStd(values);
  if (mean === null) return '—';
  return std === null ? fmtNumber(mean, digits) : `${fmtNumber(mean, digits)} ± ${fmtNumber(std, digits)}`;
}

function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

// ------------------------------------------------------------------------------------------------
// Aggregation
// ------------------------------------------------------------------------------------------------

type MetricKey = 'accuracy' | 'is' | 'fid' | 'lpips' | 'agreement';

export interface CellSummary {
  runs: RunResult[];
  done: RunResult[];
  values: Record<MetricKey, number[]>;
  /** What to print instead of numbers when no seed finished: 'diverged', 'failed', 'pending'. */
  state: 'ok' | 'failed' | 'pending' | 'missing';
  error?: string;
}

export function summarize(runs: readonly RunResult[]): CellSummary {
  const done = runs.filter((r) => r.status === 'done');
  const pick = (k: MetricKey) => done.map((r) => r[k]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const failed = runs.find((r) => r.status === 'failed');
  return {
    runs: [...runs],
    done,
    values: { accuracy: pick('accuracy'), is: pick('is'), fid: pick('fid'), lpips: pick('lpips'), agreement: pick('agreement') },
    state: done.length ? 'ok' : failed ? 'failed' : runs.length ? 'pending' : 'missing',
    ...(failed?.error ? { error: failed.error } : {}),
  };
}

function runsWhere(results: ResultsFile, f: (r: RunResult) => boolean): RunResult[] {
  return results.runs.filter(f);
}

function mainRuns(results: ResultsFile, method: GridMethod, lrG: number | null): RunResult[] {
  return runsWhere(results, (r) => r.method === method && r.lrG === lrG && r.genFraction === 1 && r.tau === DEFAULT_TAU[method]);
}

function cellText(s: CellSummary, key: MetricKey, digits: number): string {
  if (s.state === 'ok') return fmtMeanStd(s.values[key], digits);
  if (s.state === 'failed') return /NUMERIC|NaN|infinite/i.test(s.error ?? '') ? 'diverged' : 'failed';
  if (s.state === 'pending') return 'pending';
  return 'not run';
}

function seedsText(s: CellSummary): string {
  const failed = s.runs.filter((r) => r.status === 'failed').length;
  return `${s.done.length}/${s.runs.length}${failed ? ` (${failed} failed)` : ''}`;
}

function paperText(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : v.toFixed(3);
}

// ------------------------------------------------------------------------------------------------
// Page
// ------------------------------------------------------------------------------------------------

export interface ChartRef {
  file: string;
  title: string;
}

export function chartFiles(dataset: string): { lrG: string; tau: string; genEpochs: string; loss: (m: GridMethod) => string } {
  return {
    lrG: `${dataset}-accuracy-vs-lrg.png`,
    tau: `${dataset}-accuracy-vs-tau.png`,
    genEpochs: `${dataset}-accuracy-vs-generator-epochs.png`,
    loss: (m) => `${dataset}-loss-${m}.png`,
  };
}

function genEpochsLabel(results: ResultsFile, fraction: number): string {
  if (results.schedule.name === 'reference') return `${Math.round(fraction * 20)} epochs (${Math.round(fraction * 100)} %)`;
  return `${Math.round(fraction * 100)} % of the generator phase`;
}

function phaseText(r: RunResult | undefined): string {
  if (!r?.phases?.length) return '—';
  return r.phases.map((p) => `${p.name} ${p.steps}×${p.batchSize}`).join(', ');
}

/** One TFLite file of the int8 export bench. */
export interface Int8VariantResult {
  id: string;
  label: string;
  bytes: number;
  /** Float32 file with the same strings ÷ this file. */
  sizeRatio: number;
  /** Top-1 per runtime; null where that runtime cannot run the file (LiteRT.js: int8 I/O). */
  accuracy: { litertjs: number | null; tflite: number | null };
  /** Float32 accuracy − this one, in points (same runtime; LiteRT.js where it ran). */
  dropPoints: number | null;
}

/** Int8 export figures, written by `npm run bench -- tflite <run> --record FILE` (bench/tflite.ts). */
export interface Int8ExportRecord {
  command: string;
  date: string;
  machine: string;
  run: string;
  method: string;
  student: string;
  calibration: { description: string; batches: number; batchSize: number; samples: number; statistic: string };
  testSet: string;
  testImages: number;
  tfjsAccuracy: number;
  runtimes: { litertjs: string; tflite: string | null; tfliteError?: string };
  variants: Int8VariantResult[];
}

function int8Section(record: Int8ExportRecord): string[] {
  const pct = (v: number | null) => (v === null ? '—' : `${(100 * v).toFixed(2)} %`);
  const lines = [
    '## Int8 export (TFLite)',
    '',
    `The student of ${METHOD_TITLES[record.method as GridMethod] ?? record.method} run \`${record.run}\` exported as TFLite files and run on the test set: ${record.testSet}. ` +
      `Int8 is ${record.calibration.description}. Ratio: the float32 file with the same strings ÷ this file. ` +
      `Runtimes: ${record.runtimes.litertjs}${record.runtimes.tflite ? `; ${record.runtimes.tflite}` : ` (TensorFlow's tf.lite.Interpreter was not available: ${record.runtimes.tfliteError ?? 'not installed'})`}. ` +
      'LiteRT.js has no int8 input tensors, hence "—" for the int8-I/O files there.',
    '',
    `- Command: \`${record.command}\` (${record.date}, ${record.machine})`,
    '',
    '| file | bytes | smaller by | accuracy (LiteRT.js) | accuracy (tf.lite) | drop vs float32 (points) |',
    '|---|---|---|---|---|---|',
  ];
  for (const v of record.variants) {
    lines.push(`| ${v.label} | ${v.bytes.toLocaleString('en')} | ${v.id.startsWith('float32') ? '—' : `${v.sizeRatio.toFixed(2)}×`} | ${pct(v.accuracy.litertjs)} | ${pct(v.accuracy.tflite)} | ${v.dropPoints === null || v.id.startsWith('float32') ? '—' : v.dropPoints.toFixed(2)} |`);
  }
  lines.push('');
  return lines;
}

/**
 * The Markdown page. `charts`: the PNGs written beside it (only those are linked); `int8`: the int8
 * export figures, when recorded.
 */
export function renderPage(results: ResultsFile, charts: readonly ChartRef[] = [], int8: Int8ExportRecord | null = null): string {
  const quick = results.schedule.name === 'quick';
  const n = results.schedule.evalSamples;
  const lines: string[] = [];
  const title = results.dataset.toUpperCase();
  lines.push(`# ${title}: the RDSKD paper's experiments, reproduced with Distillery`, '');
  if (quick) {
    lines.push(
      `> **Quick run, not the paper's schedule.** Every run below trained for a few steps only (${results.schedule.description.replace(/^quick \(not the paper's schedule\): /, '')}). The numbers show that the pipeline works end to end; they say nothing about the methods. Run without \`--quick\` for the real comparison.`,
      '',
    );
  }
  lines.push(
    `- Command: \`${results.command}\``,
    `- Date: ${results.date}`,
    `- Machine: ${results.machine.cpu}, ${results.machine.cores} cores, ${results.machine.memoryGiB} GiB, ${results.machine.os}, Node ${results.machine.node}${results.machine.load ? ` (load average at the start: ${results.machine.load.join(' / ')})` : ''}`,
    `- Backend: TensorFlow.js ${results.backend.tfjs}, ${results.backend.name}${results.backend.threads ? ` (${results.backend.threads} threads)` : ''}`,
    `- Schedule: ${results.schedule.description}`,
    `- Seeds: ${results.seeds.join(', ')} — tables show mean ± sample std over the seeds that finished (no ± with one seed)`,
    `- Teacher: ${results.teacher.name}, test accuracy ${fmtNumber(results.teacher.accuracy)} on ${results.teacher.testSize.toLocaleString('en')} images (the paper's teacher: ${PAPER_MNIST.teacherAccuracy}); student ${results.student}`,
    `- Wall time: ${duration(results.wallSeconds)} for this invocation (runs reused from an earlier invocation cost nothing here); ${duration(results.trainSeconds)} of training summed over all runs`,
    '',
    '**Metrics.** Accuracy: the final student\'s top-1 on the MNIST test set (' +
      `${results.referenceSize.toLocaleString('en')} images), logged only — never used to select a model or a hyper-parameter. ` +
      `IS (teacher classifier, 10 splits), FID (teacher features: the teacher's penultimate layer, against the ${results.referenceSize.toLocaleString('en')} test images) and ` +
      `LPIPS-style diversity (teacher features, mean within-class pair distance, classes by the teacher's argmax) on n = ${n.toLocaleString('en')} generated samples per run ` +
      '(DeepInversion / ZSKD: their synthesised pool, at most n images). The paper computes IS and LPIPS on 512 images and FID on about 50, with Inception / AlexNet features: ' +
      'our IS / FID / LPIPS are not on the paper\'s scale, and our reference notes of the paper give its accuracies only, so its IS / FID / LPIPS columns stay "—". Agreement: teacher–student argmax agreement on the same samples.',
    '',
  );

  // Table 2 layout
  lines.push('## Table 2 layout', '');
  lines.push(
    '| method | lr_G | accuracy | paper | IS (teacher classifier) | paper | FID (teacher features) | paper | LPIPS-style diversity | paper | agreement | seeds | phases (steps × batch) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  lines.push(`| teacher (LeNet5) | — | ${fmtNumber(results.teacher.accuracy)} | ${PAPER_MNIST.teacherAccuracy} | — | — | — | — | — | — | — | — | — |`);
  const row = (label: string, lr: string, s: CellSummary, paper: number | null | undefined) =>
    `| ${label} | ${lr} | ${cellText(s, 'accuracy', 4)} | ${paperText(paper)} | ${cellText(s, 'is', 3)} | — | ${cellText(s, 'fid', 3)} | — | ${cellText(s, 'lpips', 4)} | — | ${cellText(s, 'agreement', 4)} | ${seedsText(s)} | ${phaseText(s.runs[0])} |`;
  for (const m of MAIN_METHODS) {
    for (const lr of LR_G) lines.push(row(METHOD_TITLES[m], String(lr), summarize(mainRuns(results, m, lr)), PAPER_MNIST.accuracy[m]?.[lr]));
  }
  lines.push(row('DeepInversion', '—', summarize(mainRuns(results, 'deepinversion', null)), PAPER_MNIST.deepinversion));
  lines.push(row('ZSKD', '—', summarize(mainRuns(results, 'zskd', null)), PAPER_MNIST.zskd));
  lines.push('');

  // τ sweep
  lines.push('## Temperature sweep (student KD τ)', '');
  lines.push('Generator lr_G 0.001, full generator phase. DAFL has no τ (its student loss is KL at τ = 1).', '');
  lines.push('| generator | τ | accuracy | IS (teacher classifier) | FID (teacher features) | LPIPS-style diversity | agreement | seeds |', '|---|---|---|---|---|---|---|---|');
  for (const m of SWEEP_GENERATORS) {
    for (const tau of TAUS) {
      const s = summarize(runsWhere(results, (r) => r.method === m && r.lrG === 0.001 && r.tau === tau && r.genFraction === 1));
      lines.push(`| ${METHOD_TITLES[m]} | ${tau} | ${cellText(s, 'accuracy', 4)} | ${cellText(s, 'is', 3)} | ${cellText(s, 'fid', 3)} | ${cellText(s, 'lpips', 4)} | ${cellText(s, 'agreement', 4)} | ${seedsText(s)} |`);
    }
  }
  lines.push('');

  // generator epochs sweep
  lines.push('## Generator-epochs sweep', '');
  lines.push('Generator lr_G 0.001, τ 10; the generator phase cut short, the student phase unchanged.', '');
  lines.push('| generator | generator phase | accuracy | IS (teacher classifier) | FID (teacher features) | LPIPS-style diversity | agreement | seeds | phases (steps × batch) |', '|---|---|---|---|---|---|---|---|---|');
  for (const m of SWEEP_GENERATORS) {
    for (const f of GEN_FRACTIONS) {
      const s = summarize(runsWhere(results, (r) => r.method === m && r.lrG === 0.001 && r.tau === DEFAULT_TAU[m] && r.genFraction === f));
      lines.push(`| ${METHOD_TITLES[m]} | ${genEpochsLabel(results, f)} | ${cellText(s, 'accuracy', 4)} | ${cellText(s, 'is', 3)} | ${cellText(s, 'fid', 3)} | ${cellText(s, 'lpips', 4)} | ${cellText(s, 'agreement', 4)} | ${seedsText(s)} | ${phaseText(s.runs[0])} |`);
    }
  }
  lines.push('');

  if (int8) lines.push(...int8Section(int8));

  if (charts.length) {
    lines.push('## Charts', '');
    for (const c of charts) lines.push(`![${c.title}](${c.file})`, '');
  }

  // per run
  lines.push('## Runs', '');
  lines.push('| run | seed | status | accuracy | IS | FID | LPIPS | agreement | samples | training | backend |', '|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results.runs) {
    const status = r.status === 'failed' ? `failed: ${(r.error ?? '').replace(/\|/g, '/').slice(0, 120)}` : r.status;
    lines.push(
      `| \`${r.runId}\` | ${r.seed} | ${status} | ${fmtNumber(r.accuracy)} | ${fmtNumber(r.is, 3)} | ${fmtNumber(r.fid, 3)} | ${fmtNumber(r.lpips)} | ${fmtNumber(r.agreement)} | ${r.sampleSize ?? '—'} | ${duration(r.wallSeconds)} | ${r.backend ?? '—'} |`,
    );
  }
  const variants = [...new Set(results.runs.map((r) => r.variant).filter((v): v is string => !!v))];
  lines.push('', '## Notes', '');
  for (const v of variants) lines.push(`- ${v}`);
  lines.push(
    '- "not run": the cell was not part of this invocation (`--only`, or `--quick`, which sweeps τ and the generator epochs on RDSKD only); "diverged": the run stopped on NaN / infinite values; "pending": interrupted before it finished.',
    "- No student is picked by test accuracy: each is the last one of its run (`select: last`, as RDSKD's reference keeps the last checkpoint; DAFL's reference picks its best by test accuracy, which we do not).",
    '- Runs live in a throwaway runs folder (`--runs`); restarting the bench with the same arguments reuses finished runs and resumes interrupted ones from their checkpoints.',
    `- Results as JSON: \`${results.dataset}.json\` (this page and the charts are regenerated from it).`,
    '',
  );
  return lines.join('\n');
}

// ------------------------------------------------------------------------------------------------
// Charts
// ------------------------------------------------------------------------------------------------

function meanStdSeries(values: number[][]): { y: (number | null)[]; err: (number | null)[] } {
  const s = values.map((v) => meanStd(v));
  return { y: s.map((x) => x.mean), err: s.map((x) => x.std) };
}

function sweepFigure(title: string, subtitle: string, xLabel: string, xs: readonly number[], series: { label: string; color: Rgb; values: number[][]; dashed?: boolean }[], xLog = false): Figure {
  const panel: Panel = {
    xLabel,
    yLabel: 'student test accuracy',
    xLog,
    xTicks: xs,
    legend: 'bottom-right',
    series: series.map((s): Series => {
      const { y, err } = meanStdSeries(s.values);
      return { label: s.label, x: [...xs], y, yErr: err, color: s.color, markers: true, dashed: s.dashed };
    }),
  };
  return { width: 720, height: 440, title, subtitle, panels: [panel] };
}

const LOSS_SKIP = /^(epoch|lr|lrS|lrG|batch|iteration|pool|agreement|testAccuracy|ohPrev|iePrev|betaApplied|rFeatUsed|bnLayers|atUsed|gradNorm.*)$/;

/** Whether a logged value is a loss term (plotted) rather than bookkeeping. */
export function isLossTerm(name: string): boolean {
  return !LOSS_SKIP.test(name);
}

/** Mean of each of ≤ `points` consecutive buckets of (x, y): curves small enough for the JSON. */
export function downsample(x: readonly number[], y: readonly number[], points = 300): { x: number[]; y: number[] } {
  const n = Math.min(x.length, y.length);
  if (n <= points) return { x: x.slice(0, n), y: y.slice(0, n) };
  const ox: number[] = [];
  const oy: number[] = [];
  for (let b = 0; b < points; b++) {
    const s = Math.floor((b * n) / points);
    const e = Math.floor(((b + 1) * n) / points);
    let sx = 0;
    let sy = 0;
    let c = 0;
    for (let i = s; i < e; i++) {
      if (Number.isFinite(y[i]!)) {
        sx += x[i]!;
        sy += y[i]!;
        c++;
      }
    }
    if (c) {
      ox.push(Math.round((sx / c) * 10) / 10);
      oy.push(Number((sy / c).toPrecision(5)));
    }
  }
  return { x: ox, y: oy };
}

/** The results as JSON: indented, with arrays of numbers and strings kept on one line. */
export function resultsJson(results: ResultsFile): string {
  return `${JSON.stringify(results, null, 1).replace(/\[\n\s*([^[\]{}]*?)\n\s*\]/g, (_, inner: string) => `[${inner.split(/,\n\s*/).join(', ')}]`)}\n`;
}

/** Every chart of the page: file name → figure. */
export function chartFigures(results: ResultsFile): { file: string; title: string; figure: Figure }[] {
  const files = chartFiles(results.dataset);
  const sched = `${results.schedule.name} schedule; mean ± std over seeds ${results.seeds.join(', ')}`;
  const out: { file: string; title: string; figure: Figure }[] = [];
  const acc = (runs: RunResult[]) => runs.filter((r) => r.status === 'done' && typeof r.accuracy === 'number').map((r) => r.accuracy as number);

  const lrSeries = MAIN_METHODS.flatMap((m) => [
    { label: `${METHOD_TITLES[m]} (ours)`, color: METHOD_COLORS[m], values: LR_G.map((lr) => acc(mainRuns(results, m, lr))) },
    { label: `${METHOD_TITLES[m]} (paper)`, color: METHOD_COLORS[m], values: LR_G.map((lr) => [PAPER_MNIST.accuracy[m]![lr]!]), dashed: true },
  ]);
  out.push({ file: files.lrG, title: 'Accuracy vs lr_G', figure: sweepFigure(`${results.dataset.toUpperCase()}: student accuracy vs generator learning rate lr_G`, sched, 'lr_G (log scale)', LR_G, lrSeries, true) });

  const tauSeries = SWEEP_GENERATORS.map((m) => ({
    label: `${METHOD_TITLES[m]} (ours)`,
    color: METHOD_COLORS[m],
    values: TAUS.map((tau) => acc(runsWhere(results, (r) => r.method === m && r.lrG === 0.001 && r.tau === tau && r.genFraction === 1))),
  }));
  out.push({ file: files.tau, title: 'Accuracy vs τ', figure: sweepFigure(`${results.dataset.toUpperCase()}: student accuracy vs KD temperature τ (lr_G 0.001)`, sched, 'τ', TAUS, tauSeries) });

  const genSeries = SWEEP_GENERATORS.map((m) => ({
    label: `${METHOD_TITLES[m]} (ours)`,
    color: METHOD_COLORS[m],
    values: GEN_FRACTIONS.map((f) => acc(runsWhere(results, (r) => r.method === m && r.lrG === 0.001 && r.tau === DEFAULT_TAU[m] && r.genFraction === f))),
  }));
  out.push({
    file: files.genEpochs,
    title: 'Accuracy vs generator epochs',
    figure: sweepFigure(
      `${results.dataset.toUpperCase()}: student accuracy vs length of the generator phase (lr_G 0.001, τ 10)`,
      sched,
      'generator phase, % of the schedule',
      GEN_FRACTIONS.map((f) => f * 100),
      genSeries,
    ),
  });

  // Loss curves: one figure per method, a row per main-grid run (lowest seed), a panel per phase.
  const methods: GridMethod[] = [...MAIN_METHODS, 'deepinversion', 'zskd'];
  for (const m of methods) {
    const lrs: (number | null)[] = m === 'deepinversion' || m === 'zskd' ? [null] : [...LR_G];
    const panels: Panel[] = [];
    let columns = 1;
    for (const lr of lrs) {
      const run = mainRuns(results, m, lr)
        .filter((r) => r.curves?.length)
        .sort((a, b) => a.seed - b.seed)[0];
      if (!run) continue;
      const phases = [...new Set(run.curves!.map((c) => c.phase))];
      columns = Math.max(columns, phases.length);
      for (const phase of phases) {
        const curves = run.curves!.filter((c) => c.phase === phase);
        // Terms of very different sizes (DeepInversion's unweighted priors next to its CE): log scale.
        const ys = curves.flatMap((c) => c.y).filter((v) => Number.isFinite(v));
        const positive = ys.filter((v) => v > 0);
        const yLog = ys.every((v) => v >= 0) && positive.length > 0 && Math.max(...positive) / Math.min(...positive) > 100;
        panels.push({
          yLog,
          title: `${lr !== null ? `lr_G ${lr}, ` : ''}${phase} phase (seed ${run.seed})`,
          xLabel: 'step',
          yLabel: yLog ? 'loss (log scale)' : 'loss',
          series: curves.map((c) => ({ label: c.term, x: c.x, y: c.y })),
        });
      }
    }
    if (!panels.length) continue;
    const rows = Math.ceil(panels.length / columns);
    out.push({
      file: files.loss(m),
      title: `${METHOD_TITLES[m]} loss curves`,
      figure: {
        width: 480 * columns,
        height: 60 + 300 * rows,
        title: `${METHOD_TITLES[m]}: logged loss terms per step (bucket means)`,
        subtitle: `${results.dataset.toUpperCase()}, ${sched.split(';')[0]}`,
        panels,
        columns,
      },
    });
  }
  return out;
}
