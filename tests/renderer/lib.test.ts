import { describe, expect, it } from 'vitest';
import { capPoints, lossSeriesByPhase, metricKind, phaseSpans, pointFromProgress, qualitySeries, seriesOf, type PhaseSpan } from '@renderer/lib/series.ts';
import { formatBytes, formatDuration, formatParams, formatRatio, formatScale, formatSizeChange, formatValue } from '@renderer/lib/format.ts';
import { isModelFile, toDroppedFiles } from '@renderer/lib/files.ts';
import { point } from './fixtures.ts';

describe('series', () => {
  const points = [
    point('generator', 1, 2, 0, { oh: 2, ie: -1, ds: 0.5, total: 1.5, ohPrev: 0, epoch: 0, lr: 0.001 }),
    point('generator', 2, 2, 0, { oh: 1, ie: -2, ds: 0.4, total: 0.4, ohPrev: 2, epoch: 0, lr: 0.001 }),
    point('student', 1, 3, 2, { kd: 5, epoch: 0, lr: 0.002 }),
    point('student', 3, 3, 2, { kd: 3, agreement: 0.8, testAccuracy: 0.75, epoch: 0, lr: 0.002 }),
  ];

  it('sorts keys into losses, quality and bookkeeping', () => {
    expect(['oh', 'kd', 'total', 'a'].map(metricKind)).toEqual(['loss', 'loss', 'loss', 'loss']);
    expect(['agreement', 'testAccuracy', 'trainAccuracy'].map(metricKind)).toEqual(['quality', 'quality', 'quality']);
    expect(['epoch', 'lr', 'lrG', 'learningRate', 'ohPrev', 'iePrev', 'gradNorm'].map(metricKind)).toEqual(Array(7).fill('bookkeeping'));
  });

  it('charts the loss terms per phase, the total last, and quality over the run', () => {
    const groups = lossSeriesByPhase(points);
    expect(groups.map((g) => [g.phase, g.series.map((s) => s.key)])).toEqual([
      ['generator', ['oh', 'ie', 'ds', 'total']],
      ['student', ['kd']],
    ]);
    expect(groups[1]!.series[0]!.data).toEqual([[1, 5], [3, 3]]);
    expect(qualitySeries(points).map((s) => [s.key, s.data])).toEqual([
      ['agreement', [[5, 0.8]]],
      ['testAccuracy', [[5, 0.75]]],
    ]);
    expect(seriesOf(points, 'kd').data).toEqual([[3, 5], [5, 3]]);
  });

  it('places live events after the phases before them', () => {
    const spans: PhaseSpan[] = phaseSpans(points.slice(0, 2));
    expect(spans).toEqual([{ name: 'generator', offset: 0, total: 2 }]);
    const ev = { task: 'rdskd', phase: 'student', step: 4, total: 10, etaSeconds: null, samplesPerSecond: null, values: { kd: 1 }, time: 0 };
    expect(pointFromProgress(ev, spans).globalStep).toBe(6);
    expect(pointFromProgress({ ...ev, step: 5 }, spans).globalStep).toBe(7);
    expect(spans.map((s) => s.name)).toEqual(['generator', 'student']);
  });

  it('thins old points but keeps evaluations', () => {
    const many = Array.from({ length: 100 }, (_, i) => point('student', i + 1, 100, 0, i % 10 === 3 ? { kd: 1, agreement: 0.5 } : { kd: 1 }));
    const capped = capPoints(many, 60);
    expect(capped.length).toBeLessThan(100);
    expect(capped.filter((p) => p.values.agreement !== undefined)).toHaveLength(10);
    expect(capped.slice(-50)).toEqual(many.slice(-50));
    expect(capPoints(many, 200)).toBe(many);
  });
});

describe('format', () => {
  it('formats sizes, counts, ratios, durations and values', () => {
    expect(formatBytes(62_952)).toBe('61.5 KiB');
    expect(formatBytes(44_729_640)).toBe('42.7 MiB');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatParams(15_738)).toBe('15.7 k');
    expect(formatParams(11_183_562)).toBe('11.2 M');
    expect(formatRatio(61_706 / 15_738)).toBe('3.9×');
    expect(formatRatio(61.7)).toBe('62×');
    expect(formatRatio(61_706 / 2_248_666)).toBe('0.03×');
    expect([formatSizeChange(65_024, 20_992), formatSizeChange(5_982, 8_274)]).toEqual(['3.1× smaller', '1.4× larger']);
    expect(formatDuration(65)).toBe('1 min 05 s');
    expect(formatDuration(7260)).toBe('2 h 01 min');
    expect(formatDuration(null)).toBe('—');
    expect(formatValue(0.002)).toBe('0.002');
    expect(formatValue(1e-8)).toBe('1e-8');
    expect(formatScale(1 / 255)).toBe('1/255');
    expect(formatScale(0.5)).toBe('0.5');
  });
});

describe('files', () => {
  it('keeps the files a TensorFlow.js model consists of', async () => {
    expect(['model.json', 'group1-shard1of2.bin', 'manifest.json', 'README.md', '.DS_Store', 'x.BIN'].map(isModelFile)).toEqual([true, true, true, false, false, true]);
    const { files, skipped } = await toDroppedFiles([new File(['{}'], 'model.json'), new File(['hi'], 'notes.txt')]);
    expect(files).toEqual([{ name: 'model.json', base64: btoa('{}') }]);
    expect(skipped).toEqual(['notes.txt']);
  });
});
