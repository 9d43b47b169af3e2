/**
 * `npm run bench -- run-curves <run folder>... --out FILE.png [--title TEXT] [--x steps]
 * [--reference FILE.jsonl]...`: one chart of finished
 * (or running) runs' test accuracy against the share of their student-training phase done, a line
 * per run, labelled with the method and the phase's length. Runs of different methods have phases of
 * very different lengths (ZSKT's 600 adversarial iterations, RDSKD's 12,000 student steps), so the x
 * axis is the percentage of the phase, and the legend says how many steps that is. Each run's JSON
 * line gives its last accuracy and what the last quarter of the phase still gained.
 *
 * `--x steps` draws against the step of that phase instead, to compare runs of one method with
 * different lengths, and with reference curves: `--reference` takes the JSON lines that
 * bench/dafl_torch.py, deepinversion_torch.py or zskd_torch.py print (the reference code's loop in
 * PyTorch; "iteration" = step of the student-training phase), drawn dashed.
 *
 * Test accuracy is what the run logged for the user's information (`--test-data`); it never chose a
 * student. A run that logged none is refused, naming the folder.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { encodeFigure, PALETTE, type Figure, type Series } from '../src-main/engine/metrics/plot.ts';
import { RunStore, type MetricRecord } from '../src-main/engine/runs/store.ts';
import { BenchUsageError, parseBenchArgs } from './options.ts';

const USAGE = 'npm run bench -- run-curves <run folder>... --out FILE.png [--title TEXT] [--x percent|steps] [--reference FILE.jsonl]...';
const OPTIONS = { out: { type: 'string' }, title: { type: 'string' }, x: { type: 'string' }, reference: { type: 'string', multiple: true } } as const;

export interface AccuracyCurve {
  label: string;
  /** Percent of the student-training phase done at each evaluation. */
  x: number[];
  /** The step of that phase at each evaluation. */
  steps: number[];
  y: number[];
  /**
   * Test accuracy at the end minus at the last evaluation at or before 75 % of the phase: how much
   * the last quarter still gained (null with no evaluation that early). A flattened curve has this
   * near 0; the results page reads it rather than eyeballing the chart.
   */
  lastQuarterGain: number | null;
}

/**
 * The test-accuracy evaluations of one run's metrics, in the last phase that logged any (the phase
 * in which the student trains: 'student', DAFL's 'joint', ZSKT's 'adversarial'), x in percent of
 * the steps the run did in it: a run stopped before its planned end is drawn to 100 % of what it did,
 * and its label says "N of M steps".
 */
export function accuracyCurve(method: string, records: readonly MetricRecord[]): AccuracyCurve | null {
  const evaluated = records.filter((r) => typeof r.values.testAccuracy === 'number');
  const last = evaluated.at(-1);
  if (!last) return null;
  const done = Math.max(...records.filter((r) => r.phase === last.phase).map((r) => r.step));
  const points = evaluated.filter((r) => r.phase === last.phase);
  const steps = done < last.total ? `${done.toLocaleString('en-US')} of ${last.total.toLocaleString('en-US')}` : done.toLocaleString('en-US');
  const y = points.map((r) => r.values.testAccuracy as number);
  const quarterBack = points.findLast((r) => r.step <= 0.75 * done);
  return {
    label: `${method} (${last.phase}, ${steps} steps)`,
    x: points.map((r) => (100 * r.step) / done),
    steps: points.map((r) => r.step),
    y,
    lastQuarterGain: quarterBack ? y.at(-1)! - (quarterBack.values.testAccuracy as number) : null,
  };
}

/**
 * A reference curve from a bench/*_torch.py output: its {"iteration", "testAccuracy"} lines, and
 * its last line's lrG and seed for the label.
 */
export function referenceCurve(text: string): { label: string; steps: number[]; y: number[] } {
  const lines = text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
  const points = lines.filter((l) => typeof l.iteration === 'number' && typeof l.testAccuracy === 'number');
  if (!points.length) throw new Error('no {"iteration", "testAccuracy"} lines (the output of bench/dafl_torch.py, deepinversion_torch.py or zskd_torch.py)');
  const meta = lines.at(-1)!;
  const about = [typeof meta.lrG === 'number' ? `lr_G ${meta.lrG}` : '', typeof meta.seed === 'number' ? `seed ${meta.seed}` : ''].filter(Boolean).join(', ');
  return { label: `PyTorch reference${about ? ` (${about})` : ''}`, steps: points.map((p) => p.iteration as number), y: points.map((p) => p.testAccuracy as number) };
}

/** The method, with its generator learning rate where the config has one (runs that differ only in it). */
export function runLabel(method: string, config: unknown): string {
  const c = config as { lrG?: unknown; generator?: { lr?: unknown } } | null;
  const lrG = c?.lrG ?? c?.generator?.lr;
  return typeof lrG === 'number' ? `${method} lr_G ${lrG}` : method;
}

export async function main(args: string[]): Promise<number> {
  const { string, strings, positionals } = parseBenchArgs(args, OPTIONS, USAGE, true);
  const out = string('out');
  if (!out) throw new BenchUsageError('--out is required', USAGE);
  if (!positionals.length) throw new BenchUsageError('name at least one run folder', USAGE);
  const xMode = string('x') ?? 'percent';
  if (xMode !== 'percent' && xMode !== 'steps') throw new BenchUsageError(`--x is percent or steps, got '${xMode}'`, USAGE);
  const byStep = xMode === 'steps';
  if (!byStep && strings('reference').length) throw new BenchUsageError('--reference curves have no planned length: draw them with --x steps', USAGE);
  const lrOf = (label: string): string | undefined => /lr_G ([\d.e-]+)/.exec(label)?.[1];
  const series: Series[] = positionals.map((dir, k) => {
    const store = RunStore.open(dir);
    const curve = accuracyCurve(runLabel(store.record.method, store.record.config), store.readMetrics());
    if (!curve) throw new BenchUsageError(`run ${basename(dir)} logged no test accuracy (start runs with --test-data)`, USAGE);
    console.log(JSON.stringify({ run: store.id, label: curve.label, points: curve.x.length, last: curve.y.at(-1), lastQuarterGain: curve.lastQuarterGain === null ? null : Number(curve.lastQuarterGain.toFixed(4)) }));
    return { label: curve.label, x: byStep ? curve.steps : curve.x, y: curve.y, markers: true, color: PALETTE[k % PALETTE.length] };
  });
  for (const file of strings('reference')) {
    const reference = referenceCurve(readFileSync(file, 'utf8'));
    console.log(JSON.stringify({ reference: file, label: reference.label, points: reference.steps.length, last: reference.y.at(-1) }));
    // Dashed, in the colour of the run with its learning rate (if any), so each pair reads at a glance.
    const twin = series.find((s) => !s.dashed && lrOf(s.label) !== undefined && lrOf(s.label) === lrOf(reference.label));
    series.push({ label: reference.label, x: reference.steps, y: reference.y, markers: true, dashed: true, color: twin?.color ?? PALETTE[series.length % PALETTE.length] });
  }
  const figure: Figure = {
    width: 900,
    height: 520,
    title: string('title') ?? 'Student test accuracy during training',
    subtitle: `test accuracy logged for information (never used to choose the student); x: ${byStep ? 'step' : 'share'} of the phase in which the student trains`,
    panels: [
      byStep
        ? { xLabel: 'step of the student-training phase', yLabel: 'test accuracy', series, legend: 'bottom-right' }
        : { xLabel: 'student-training phase, %', yLabel: 'test accuracy', xRange: [0, 100], series, legend: 'bottom-right' },
    ],
  };
  writeFileSync(out, encodeFigure(figure));
  console.log(JSON.stringify({ out, runs: series.length }));
  return 0;
}
