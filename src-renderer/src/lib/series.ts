/**
 * From logged values to chart series. A run logs, per step, every loss term of its phase plus
 * bookkeeping (epoch, learning rate) and, at evaluation steps, agreement with the teacher and test
 * accuracy. Loss terms are charted per phase (their scales differ); agreement and accuracy on one
 * chart over the whole run.
 */
import type { MetricPointDto, ProgressEventDto } from '@common/contract.ts';

export type MetricKind = 'loss' | 'quality' | 'bookkeeping';

const QUALITY = /(accuracy|agreement)$/i;
const BOOKKEEPING = /^(epoch|step|iteration|lr|lr[A-Z_].*|learningRate.*|.*Prev|gradNorm.*|seconds|time)$/;

export function metricKind(key: string): MetricKind {
  if (QUALITY.test(key)) return 'quality';
  if (BOOKKEEPING.test(key)) return 'bookkeeping';
  return 'loss';
}

const LABELS: Record<string, string> = {
  total: 'total',
  oh: 'one-hot L_oh',
  ie: 'information entropy L_ie',
  ds: 'diversity L_ds',
  ms: 'mode seeking L_ms',
  a: 'activation L_a',
  kd: 'KD loss',
  kl: 'KL divergence',
  adv: 'adversarial',
  at: 'attention transfer',
  bn: 'BatchNorm statistics',
  tv: 'total variation',
  l2: 'image L2',
  ce: 'cross-entropy',
  agreement: 'agreement with the teacher',
  testAccuracy: 'test accuracy',
  trainAccuracy: 'train accuracy',
};

export function metricLabel(key: string): string {
  return LABELS[key] ?? key;
}

export interface ChartSeries {
  key: string;
  name: string;
  /** [x, y] pairs, x ascending. */
  data: [number, number][];
}

export interface PhaseSpan {
  name: string;
  /** Global steps before this phase's first step. */
  offset: number;
  total: number;
}

/** Phases as they appear in logged points (offset = globalStep − step of any point of the phase). */
export function phaseSpans(points: readonly MetricPointDto[]): PhaseSpan[] {
  const spans: PhaseSpan[] = [];
  for (const p of points) {
    if (!spans.some((s) => s.name === p.phase)) spans.push({ name: p.phase, offset: p.globalStep - p.step, total: p.total });
  }
  return spans.sort((a, b) => a.offset - b.offset);
}

/**
 * A live progress event as a logged point: its global step is the phase's offset plus its step, a
 * phase seen for the first time starting where the last one ends. `spans` is updated in place.
 */
export function pointFromProgress(event: ProgressEventDto, spans: PhaseSpan[]): MetricPointDto {
  let span = spans.find((s) => s.name === event.phase);
  if (!span) {
    const last = spans[spans.length - 1];
    span = { name: event.phase, offset: last ? last.offset + last.total : 0, total: event.total };
    spans.push(span);
  }
  return { globalStep: span.offset + event.step, phase: event.phase, step: event.step, total: event.total, time: event.time, values: { ...event.values } };
}

function keysOf(points: readonly MetricPointDto[], kind: MetricKind): string[] {
  const keys: string[] = [];
  for (const p of points) for (const k of Object.keys(p.values)) if (!keys.includes(k) && metricKind(k) === kind) keys.push(k);
  return keys;
}

function orderLosses(keys: string[]): string[] {
  // The total last, so the terms keep their colours whether or not a method logs one.
  return [...keys.filter((k) => k !== 'total'), ...keys.filter((k) => k === 'total')];
}

/** Loss terms per phase, x = step within the phase. */
export function lossSeriesByPhase(points: readonly MetricPointDto[]): { phase: string; total: number; series: ChartSeries[] }[] {
  return phaseSpans(points)
    .map((span) => {
      const inPhase = points.filter((p) => p.phase === span.name);
      const series = orderLosses(keysOf(inPhase, 'loss')).map((key) => ({
        key,
        name: metricLabel(key),
        data: inPhase.filter((p) => Number.isFinite(p.values[key])).map((p): [number, number] => [p.step, p.values[key]!]),
      }));
      return { phase: span.name, total: span.total, series };
    })
    .filter((group) => group.series.length > 0);
}

/** Agreement / accuracy over the whole run, x = global step. */
export function qualitySeries(points: readonly MetricPointDto[]): ChartSeries[] {
  return keysOf(points, 'quality').map((key) => ({
    key,
    name: metricLabel(key),
    data: points.filter((p) => Number.isFinite(p.values[key])).map((p): [number, number] => [p.globalStep, p.values[key]!]),
  }));
}

/** One value over the whole run (x = global step), e.g. for comparing two runs. */
export function seriesOf(points: readonly MetricPointDto[], key: string, name = metricLabel(key)): ChartSeries {
  return { key, name, data: points.filter((p) => Number.isFinite(p.values[key])).map((p): [number, number] => [p.globalStep, p.values[key]!]) };
}

/** Every charted key (loss and quality) that appears in the points. */
export function chartableKeys(points: readonly MetricPointDto[]): string[] {
  return [...keysOf(points, 'quality'), ...orderLosses(keysOf(points, 'loss'))];
}

/**
 * Keeps a live series bounded: above `max` points, every other point is dropped from the older
 * half, but points carrying an evaluation (agreement, accuracy) are always kept.
 */
export function capPoints(points: MetricPointDto[], max: number): MetricPointDto[] {
  if (points.length <= max) return points;
  const half = Math.floor(points.length / 2);
  const older = points.slice(0, half).filter((p, i) => i % 2 === 0 || Object.keys(p.values).some((k) => metricKind(k) === 'quality'));
  return [...older, ...points.slice(half)];
}
