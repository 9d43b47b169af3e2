import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { rdskdDefaults, resolveConfig, getMethod } from '../../src-main/engine/methods/index.ts';
import { encodeFigure } from '../../src-main/engine/metrics/plot.ts';
import { epochsFor, expandGrid, makeSchedule, phaseOverrides, QUICK_SCHEDULE, QUICK_SWEEP_GENERATORS, runId, runOverrides } from '../../bench/reproduce-grid.ts';
import { chartFigures, downsample, fmtMeanStd, isLossTerm, meanStd, PAPER_MNIST, renderPage, resultsJson, summarize, type Int8ExportRecord, type ResultsFile, type RunResult } from '../../bench/results-page.ts';

describe('reproduce grid', () => {
  it('expands the issue grid: Table 2, the τ sweep on two generators and the generator-epochs sweep, deduplicated', () => {
    const cells = expandGrid();
    const main = cells.filter((c) => c.groups.includes('main'));
    expect(main.map((c) => c.key)).toEqual([
      'rdskd-lr0.001-tau10-gen100',
      'rdskd-lr0.005-tau10-gen100',
      'rdskd-lr0.2-tau10-gen100',
      'dafl-lr0.001-gen100',
      'dafl-lr0.005-gen100',
      'dafl-lr0.2-gen100',
      'mskd-lr0.001-tau10-gen100',
      'mskd-lr0.005-tau10-gen100',
      'mskd-lr0.2-tau10-gen100',
      'deepinversion-tau3-gen100',
      'zskd-tau20-gen100',
    ]);
    expect(cells.filter((c) => c.groups.includes('tau'))).toHaveLength(8);
    expect(cells.filter((c) => c.groups.includes('genEpochs'))).toHaveLength(8);
    // 11 + 8 + 8 − 2 × 2 shared cells (RDSKD and MSKD at lr 0.001, τ 10, full generator phase).
    expect(cells).toHaveLength(23);
    const shared = cells.find((c) => c.key === 'rdskd-lr0.001-tau10-gen100')!;
    expect(shared.groups.sort()).toEqual(['genEpochs', 'main', 'tau']);
    expect(new Set(cells.map((c) => c.key)).size).toBe(cells.length);
    expect(expandGrid(['tau']).every((c) => c.method === 'rdskd' || c.method === 'mskd')).toBe(true);
    // --quick: the sweeps on RDSKD only.
    const quick = expandGrid(undefined, QUICK_SWEEP_GENERATORS);
    expect(quick).toHaveLength(11 + 3 + 3);
    expect(quick.filter((c) => !c.groups.includes('main')).every((c) => c.method === 'rdskd')).toBe(true);
  });

  it('turns step budgets into epochs of 120 iterations or one short epoch', () => {
    expect(epochsFor(2400)).toEqual({ epochs: 20, itersPerEpoch: 120 });
    expect(epochsFor(16)).toEqual({ epochs: 1, itersPerEpoch: 16 });
    expect(epochsFor(0.8)).toEqual({ epochs: 1, itersPerEpoch: 1 });
    expect(epochsFor(300)).toEqual({ epochs: 3, itersPerEpoch: 120 });
  });

  it('leaves the reference schedule untouched and cuts the generator phase by fraction', () => {
    const ref = makeSchedule({});
    expect(ref.name).toBe('reference');
    expect(phaseOverrides('rdskd', ref)).toEqual({});
    expect(phaseOverrides('rdskd', ref, 0.25)).toEqual({ generator: { epochs: 5, itersPerEpoch: 120 } });
    expect(phaseOverrides('rdskd', ref, 0.05)).toEqual({ generator: { epochs: 1, itersPerEpoch: 120 } });
    expect(phaseOverrides('deepinversion', ref)).toEqual({});
    expect(makeSchedule({ studentSteps: 1200 }).name).toBe('custom');
  });

  it('gives every method a valid config under the quick schedule', () => {
    for (const seed of [0, 1]) {
      for (const cell of expandGrid()) {
        const o = runOverrides(cell, QUICK_SCHEDULE, seed);
        const config = resolveConfig(getMethod(cell.method), 'mnist', o) as unknown as Record<string, unknown>;
        expect(config.seed).toBe(seed);
        const phases = getMethod(cell.method).phases(config as never);
        const steps = phases.reduce((a, p) => a + p.total, 0);
        // A few steps per phase: the whole quick grid stays within minutes.
        expect(steps).toBeLessThanOrEqual(QUICK_SCHEDULE.genSteps! + 64);
        expect(steps).toBeGreaterThan(0);
      }
    }
    const rd = expandGrid().find((c) => c.key === 'rdskd-lr0.2-tau10-gen100')!;
    const c = resolveConfig(getMethod('rdskd'), 'mnist', runOverrides(rd, QUICK_SCHEDULE, 0)) as ReturnType<typeof rdskdDefaults>;
    expect(c.generator).toMatchObject({ lr: 0.2, epochs: 1, itersPerEpoch: 8, batchSize: 32 });
    expect(c.student).toMatchObject({ tau: 10, epochs: 1, itersPerEpoch: 16, batchSize: 32 });
    const tau5 = expandGrid().find((c) => c.key === 'mskd-lr0.001-tau5-gen100')!;
    expect((resolveConfig(getMethod('mskd'), 'mnist', runOverrides(tau5, makeSchedule({}), 0)) as ReturnType<typeof rdskdDefaults>).student.tau).toBe(5);
    const dafl = expandGrid().find((c) => c.key === 'dafl-lr0.005-gen100')!;
    expect(resolveConfig(getMethod('dafl'), 'mnist', runOverrides(dafl, makeSchedule({}), 2))).toMatchObject({ lrG: 0.005, epochs: 200, seed: 2 });
  });

  it('names runs stably, and differently when anything that defines them changes', () => {
    const cell = expandGrid()[0]!;
    const o = runOverrides(cell, QUICK_SCHEDULE, 0);
    const a = runId(cell, 0, o, { teacher: 'abc' });
    expect(a).toMatch(/^rdskd-lr0\.001-tau10-gen100-s0-[0-9a-f]{8}$/);
    expect(runId(cell, 0, { ...o }, { teacher: 'abc' })).toBe(a);
    expect(runId(cell, 0, runOverrides(cell, makeSchedule({ quick: true, studentSteps: 40 }), 0), { teacher: 'abc' })).not.toBe(a);
    expect(runId(cell, 0, o, { teacher: 'abd' })).not.toBe(a);
  });
});

function fakeRun(over: Partial<RunResult>): RunResult {
  return {
    key: 'x',
    method: 'rdskd',
    groups: ['main'],
    lrG: 0.001,
    tau: 10,
    genFraction: 1,
    seed: 0,
    runId: 'x-s0-00000000',
    status: 'done',
    accuracy: 0.9,
    agreement: 0.95,
    is: 5,
    isStd: 0.1,
    fid: 12.5,
    lpips: 0.3,
    sampleSize: 256,
    wallSeconds: 10,
    backend: 'wasm',
    phases: [
      { name: 'generator', steps: 16, batchSize: 64 },
      { name: 'student', steps: 32, batchSize: 64 },
    ],
    ...over,
  };
}

function fakeResults(runs: RunResult[], schedule = 'quick'): ResultsFile {
  return {
    format: 1,
    dataset: 'mnist',
    command: 'npm run bench -- reproduce --dataset mnist --quick',
    date: '2026-01-01T00:00:00.000Z',
    machine: { cpu: 'Test CPU', cores: 2, memoryGiB: 8, os: 'Linux 6', node: 'v22' },
    backend: { name: 'wasm', threads: 2, tfjs: '4.22.0' },
    schedule: { name: schedule, description: 'quick (not the paper\'s schedule): generator/synthesis 16 steps', evalSamples: 256 },
    seeds: [0, 1],
    teacher: { name: 'lenet5-mnist (lenet5)', accuracy: 0.9905, testSize: 10000 },
    student: 'lenet5-half',
    referenceSize: 10000,
    wallSeconds: 123,
    trainSeconds: 100,
    runs,
  };
}

describe('results page', () => {
  it('formats mean ± sample std over seeds', () => {
    expect(meanStd([1, 2, 3])).toEqual({ mean: 2, std: 1, n: 3 });
    expect(meanStd([0.5])).toEqual({ mean: 0.5, std: null, n: 1 });
    expect(meanStd([])).toEqual({ mean: null, std: null, n: 0 });
    expect(fmtMeanStd([0.97, 0.98])).toBe('0.9750 ± 0.0071');
    expect(fmtMeanStd([0.97])).toBe('0.9700');
    expect(fmtMeanStd([])).toBe('—');
    expect(fmtMeanStd([12.3456, 13.3456], 2)).toBe('12.85 ± 0.71');
  });

  it('summarises a cell: finished seeds, or why none finished', () => {
    expect(summarize([fakeRun({ accuracy: 0.9 }), fakeRun({ seed: 1, accuracy: 0.8 })]).values.accuracy).toEqual([0.9, 0.8]);
    expect(summarize([fakeRun({ status: 'failed', error: 'NUMERIC: total became NaN' })]).state).toBe('failed');
    expect(summarize([fakeRun({ status: 'pending' })]).state).toBe('pending');
    expect(summarize([]).state).toBe('missing');
  });

  it('renders the paper-layout table with the paper beside ours, the sweeps and sample sizes', () => {
    const runs = [
      fakeRun({ accuracy: 0.97, seed: 0 }),
      fakeRun({ accuracy: 0.98, seed: 1 }),
      fakeRun({ method: 'dafl', tau: null, lrG: 0.2, status: 'failed', error: 'NUMERIC: the generator weights became NaN' }),
      fakeRun({ method: 'mskd', tau: 5, groups: ['tau'], accuracy: 0.5 }),
      fakeRun({ method: 'rdskd', genFraction: 0.25, groups: ['genEpochs'], accuracy: 0.6 }),
      fakeRun({ method: 'deepinversion', lrG: null, tau: 3, accuracy: 0.4, variant: 'DeepInversion ran without r_feat.' }),
    ];
    const page = renderPage(fakeResults(runs), [{ file: 'mnist-accuracy-vs-lrg.png', title: 'Accuracy vs lr_G' }]);
    expect(page).toContain("**Quick run, not the paper's schedule.**");
    expect(page).toContain('FID (teacher features)');
    expect(page).toContain('n = 256 generated samples');
    expect(page).toContain('Test CPU, 2 cores');
    expect(page).toMatch(/\| RDSKD \| 0\.001 \| 0\.9750 ± 0\.0071 \| 0\.975 \| 5\.000 ± 0\.000 \| — \| 12\.500 ± 0\.000 \| — \| 0\.3000 ± 0\.0000 \| — \| 0\.9500 ± 0\.0000 \| 2\/2 \| generator 16×64, student 32×64 \|/);
    expect(page).toMatch(/\| DAFL \| 0\.2 \| diverged \| 0\.976 \|/);
    expect(page).toMatch(/\| MSKD \| 0\.001 \| not run \| 0\.973 \|/);
    expect(page).toMatch(/\| DeepInversion \| — \| 0\.4000 \| 0\.832 \|/);
    expect(page).toMatch(/\| ZSKD \| — \| not run \| 0\.921 \|/);
    expect(page).toMatch(/\| teacher \(LeNet5\) \| — \| 0\.9905 \| 0\.9794 \|/);
    expect(page).toMatch(/\| MSKD \| 5 \| 0\.5000 \|/);
    expect(page).toMatch(/\| RDSKD \| 25 % of the generator phase \| 0\.6000 \|/);
    expect(page).toContain('![Accuracy vs lr_G](mnist-accuracy-vs-lrg.png)');
    expect(page).toContain('- DeepInversion ran without r_feat.');
    // No invented paper numbers: IS / FID / LPIPS paper cells are "—".
    expect(PAPER_MNIST.is).toBeNull();
    const ref = renderPage(fakeResults(runs, 'reference'));
    expect(ref).not.toContain('Quick run');
    expect(ref).toMatch(/\| RDSKD \| 5 epochs \(25 %\) \|/);
    expect(ref).not.toContain('## Int8 export');
  });

  it('adds the int8 export table when the tflite bench recorded one', () => {
    const variant = (id: string, label: string, bytes: number, sizeRatio: number, litertjs: number | null, tflite: number | null, dropPoints: number | null) => ({ id, label, bytes, sizeRatio, accuracy: { litertjs, tflite }, dropPoints });
    const record: Int8ExportRecord = {
      command: 'npm run bench -- tflite run --record x.json',
      date: '2026-11-23',
      machine: 'Test CPU, 2 cores, Node 20',
      run: 'run-1',
      method: 'rdskd',
      student: 'student/ (last)',
      calibration: { description: 'int8 calibrated on 512 generated images', batches: 8, batchSize: 64, samples: 512, statistic: 'min-max' },
      testSet: 'MNIST test',
      testImages: 10_000,
      tfjsAccuracy: 0.9,
      runtimes: { litertjs: 'LiteRT.js', tflite: null, tfliteError: 'python3: No module named tensorflow' },
      variants: [variant('float32', 'float32', 65_056, 1, 0.9, null, 0), variant('int8-io-stripped', 'int8, int8 I/O', 18_368, 3.52, null, null, null), variant('int8', 'int8', 21_008, 3.1, 0.905, null, -0.5)],
    };
    const page = renderPage(fakeResults([fakeRun({ accuracy: 0.97 })]), [], record);
    expect(page).toContain('## Int8 export (TFLite)');
    expect(page).toContain('The student of RDSKD run `run-1`');
    expect(page).toContain('(TensorFlow\'s tf.lite.Interpreter was not available: python3: No module named tensorflow)');
    expect(page).toContain('| float32 | 65,056 | — | 90.00 % | — | — |');
    expect(page).toContain('| int8, int8 I/O | 18,368 | 3.52× | — | — | — |');
    expect(page).toContain('| int8 | 21,008 | 3.10× | 90.50 % | — | -0.50 |');
  });

  it('draws every chart from the results alone', () => {
    const runs = [
      fakeRun({ curves: [{ phase: 'generator', term: 'total', x: [1, 2, 3], y: [3, 2, 1] }, { phase: 'student', term: 'kd', x: [1, 2], y: [1, 0.5] }] }),
      fakeRun({ seed: 1, accuracy: 0.95 }),
      fakeRun({ method: 'mskd', tau: 1, groups: ['tau'], accuracy: 0.7 }),
    ];
    const charts = chartFigures(fakeResults(runs));
    expect(charts.map((c) => c.file)).toEqual(['mnist-accuracy-vs-lrg.png', 'mnist-accuracy-vs-tau.png', 'mnist-accuracy-vs-generator-epochs.png', 'mnist-loss-rdskd.png']);
    for (const c of charts) {
      const png = PNG.sync.read(encodeFigure(c.figure));
      expect([png.width, png.height]).toEqual([c.figure.width, c.figure.height]);
    }
    const lr = charts[0]!.figure.panels[0]!;
    expect(lr.series.find((s) => s.label === 'RDSKD (ours)')!.y[0]).toBeCloseTo(0.925, 6);
    expect(lr.series.find((s) => s.label === 'DAFL (paper)')!.y).toEqual([0.939, 0.926, 0.976]);
  });

  it('keeps loss terms, drops bookkeeping, and bucket-averages long curves', () => {
    expect(['total', 'oh', 'ie', 'ds', 'kd', 'impression', 'lossG'].every(isLossTerm)).toBe(true);
    expect(['epoch', 'lr', 'lrG', 'agreement', 'testAccuracy', 'gradNormS', 'ohPrev', 'pool'].some(isLossTerm)).toBe(false);
    const x = Array.from({ length: 1000 }, (_, i) => i);
    const d = downsample(x, x, 10);
    expect(d.x).toHaveLength(10);
    expect(d.y[0]).toBeCloseTo(49.5, 9);
    expect(downsample([1, 2], [3, 4], 10)).toEqual({ x: [1, 2], y: [3, 4] });
  });

  it('writes the results as JSON that reads back the same, number arrays on one line', () => {
    const results = fakeResults([fakeRun({ curves: [{ phase: 'student', term: 'kd', x: [1, 2, 3], y: [0.5, 0.25, -1e-7] }] })]);
    const text = resultsJson(results);
    expect(JSON.parse(text)).toEqual(results);
    expect(text).toContain('"x": [1, 2, 3]');
    expect(text).toContain('"seeds": [0, 1]');
  });
});
