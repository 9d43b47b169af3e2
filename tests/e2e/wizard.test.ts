/**
 * The wizard end to end, in browser mode against the real engine: drop a teacher with a real drop
 * event, choose LeNet5-half and RDSKD with a short schedule, start, watch charts and the gallery,
 * pause / cancel / resume, compare runs, export the student as TensorFlow.js float16 (loaded back
 * and run in TensorFlow.js) and as TFLite int8 (the file and its size as shown).
 * Screenshots of every step go to test-results/screenshots/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, screenshot, startWebApp, type WebApp } from './browser.ts';
import { buildLeNet5, buildLeNet5Half, loadModel, saveModel } from '../../src-main/engine/models/index.ts';
import { formatBytes } from '../../src-renderer/src/lib/format.ts';

const BUNDLED = join(process.cwd(), 'resources', 'teachers', 'lenet5-mnist');

interface FileBytes {
  name: string;
  base64: string;
}

function filesOf(dir: string, keep: (name: string) => boolean = () => true): FileBytes[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && keep(entry.name))
    .map((entry) => entry.name)
    .map((name) => ({ name, base64: readFileSync(join(dir, name)).toString('base64') }));
}

/** A real drop: File objects built in the page from the bytes, in a DataTransfer, dispatched on the zone. */
async function dropFiles(page: Page, files: FileBytes[]): Promise<void> {
  const dataTransfer = await page.evaluateHandle((list) => {
    // Runs in the page (the DOM's DataTransfer; this file is type-checked against Node's globals).
    const dt = new (globalThis as unknown as { DataTransfer: new () => { items: { add(file: File): void } } }).DataTransfer();
    for (const f of list) {
      const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], f.name, { type: f.name.endsWith('.json') ? 'application/json' : 'application/octet-stream' }));
    }
    return dt;
  }, files);
  const zone = page.getByTestId('teacher-drop-zone');
  await zone.dispatchEvent('dragenter', { dataTransfer });
  await zone.dispatchEvent('dragover', { dataTransfer });
  await zone.dispatchEvent('drop', { dataTransfer });
  await dataTransfer.dispose();
}

const count = (n: number): string => Math.round(n).toLocaleString('en-US');
const ratio = (r: number): string => `${r >= 10 ? r.toFixed(0) : r.toFixed(1)}×`;

async function invoke<T>(app: WebApp, name: string, input: unknown): Promise<T> {
  const response = await fetch(`${app.url}api/invoke/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) });
  const result = (await response.json()) as { ok: true; value: T } | { ok: false; error: { message: string } };
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

describe('the wizard in browser mode', () => {
  const home = mkdtempSync(join(tmpdir(), 'distillery-e2e-home-'));
  const scratch = mkdtempSync(join(tmpdir(), 'distillery-e2e-teacher-'));
  let teacherDir: string;
  let teacherParams: number;
  let app: WebApp;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (existsSync(join(BUNDLED, 'model.json'))) {
      teacherDir = BUNDLED;
    } else {
      // Until the trained bundled teacher lands: an (untrained) LeNet5 with an MNIST manifest.
      teacherDir = join(scratch, 'lenet5');
      const model = buildLeNet5({ inputShape: [32, 32, 1], numClasses: 10, name: 'lenet5-e2e' });
      await saveModel(model, teacherDir, {
        manifest: {
          format: 'distillery-teacher',
          version: 1,
          name: 'lenet5-e2e',
          architecture: 'lenet5',
          dataset: { name: 'mnist' },
          inputShape: [32, 32, 1],
          numClasses: 10,
          classNames: Array.from({ length: 10 }, (_, i) => String(i)),
          output: 'logits',
          preprocessing: { resize: { height: 32, width: 32, method: 'bilinear' }, scale: 1 / 255, mean: [0.1307], std: [0.3081] },
        },
      });
      model.dispose();
    }
    const loaded = await loadModel(teacherDir);
    teacherParams = loaded.countParams();
    loaded.dispose();
    app = await startWebApp({ DISTILLERY_HOME: home });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
    await page.goto(app.url);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(home, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  it('shows a clear message for a malformed model.json, writes nothing, and keeps working', async () => {
    await expect.poll(() => page.getByTestId('view-title').textContent()).toBe('Choose the teacher');
    const weights = filesOf(teacherDir, (n) => n.endsWith('.bin'));
    await dropFiles(page, [{ name: 'model.json', base64: Buffer.from('{"modelTopology": {"class_name": "Model", ').toString('base64') }, ...weights]);
    const notice = page.getByTestId('error-notice');
    await notice.waitFor({ timeout: 30_000 });
    expect(await notice.textContent()).toContain('This model cannot be used');
    expect(await page.getByTestId('error-message').textContent()).toMatch(/^Model\.json is not valid JSON/);
    expect(await page.getByTestId('teacher-summary').count()).toBe(0);
    await screenshot(page, '02-teacher-malformed');
    expect(existsSync(join(home, 'teachers')) ? readdirSync(join(home, 'teachers')) : []).toEqual([]);

    // Missing weights: named, and still nothing stored.
    await dropFiles(page, filesOf(teacherDir, (n) => n === 'model.json'));
    await expect.poll(() => page.getByTestId('error-message').textContent(), { timeout: 30_000 }).toMatch(/weights file .*\.bin named in model\.json is missing/);
    expect(existsSync(join(home, 'teachers')) ? readdirSync(join(home, 'teachers')) : []).toEqual([]);

    // The app goes on: the other steps stay locked, and a good model is accepted after the bad ones.
    expect(await page.getByTestId('step-next').isDisabled()).toBe(true);
    await dropFiles(page, filesOf(teacherDir));
    await page.getByTestId('teacher-summary').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('error-notice').count()).toBe(0);
    expect(pageErrors.filter((e) => !/status of 4\d\d/.test(e))).toEqual([]);
  });

  it('asks for the preprocessing and class names of a model without a manifest, and saves them', async () => {
    const bare = join(scratch, 'bare');
    const model = buildLeNet5({ inputShape: [28, 28, 1], numClasses: 10, name: 'no-manifest' });
    await saveModel(model, bare);
    model.dispose();
    await dropFiles(page, filesOf(bare));
    await page.getByTestId('manifest-form').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('teacher-input-shape').textContent()).toBe('28 × 28 × 1');
    await page.getByTestId('manifest-dataset').fill('mnist');
    await page.getByTestId('manifest-preset').selectOption('mnist');
    await page.getByText(/Number them 0…9/).click();
    await screenshot(page, '03-teacher-manifest');
    await page.getByTestId('manifest-save').click();
    await page.getByTestId('manifest-form').waitFor({ state: 'detached', timeout: 30_000 });
    const stored = readdirSync(join(home, 'teachers')).filter((id) => existsSync(join(home, 'teachers', id, 'manifest.json')));
    const manifests = stored.map((id) => JSON.parse(readFileSync(join(home, 'teachers', id, 'manifest.json'), 'utf8')) as { inputShape: number[]; preprocessing: { mean: number[] } });
    expect(manifests.some((m) => m.inputShape.join() === '28,28,1' && m.preprocessing.mean[0] === 0.1307)).toBe(true);
  });

  it('imports the dropped teacher, sizes the zoo, and starts RDSKD into LeNet5-half', async () => {
    await dropFiles(page, filesOf(teacherDir));
    await page.getByTestId('teacher-summary').waitFor({ timeout: 30_000 });
    await expect.poll(() => page.getByTestId('teacher-params').textContent(), { timeout: 30_000 }).toBe(count(teacherParams));
    expect(await page.getByTestId('teacher-input-shape').textContent()).toBe('32 × 32 × 1');
    expect(await page.getByTestId('teacher-classes').textContent()).toBe('10');
    expect(await page.getByTestId('teacher-batchnorm').textContent()).toBe('no');
    await screenshot(page, '04-teacher');

    await page.getByTestId('step-next').click();
    await page.getByTestId('student-table').waitFor({ timeout: 60_000 });
    const half = buildLeNet5Half({ inputShape: [32, 32, 1], numClasses: 10 });
    const halfParams = half.countParams();
    half.dispose();
    await page.getByTestId('student-lenet5-half').click();
    expect(await page.getByTestId('compression-lenet5-half').textContent()).toBe(ratio(teacherParams / halfParams));
    expect(await page.getByTestId('student-lenet5-half').getAttribute('class')).toContain('selected');
    expect(await page.getByTestId('student-resnet34').getAttribute('class')).toContain('disabled');
    // A custom width, sized live by the engine; then back to the zoo's.
    const narrow = buildLeNet5Half({ inputShape: [32, 32, 1], numClasses: 10, width: 0.5 });
    const narrowParams = narrow.countParams();
    narrow.dispose();
    await page.getByTestId('student-width').fill('0.5');
    await expect.poll(() => page.getByTestId('student-width-params').textContent(), { timeout: 30_000 }).toBe(count(narrowParams));
    expect(await page.getByTestId('student-width-compression').textContent()).toBe(ratio(teacherParams / narrowParams));
    await expect.poll(() => page.getByTestId('student-choice').textContent()).toContain('lenet5-half ×0.5');
    await screenshot(page, '05-student-width');
    await page.getByTestId('student-width-reset').click();
    await expect.poll(() => page.getByTestId('student-width-params').textContent(), { timeout: 30_000 }).toBe(count(halfParams));
    expect(await page.getByTestId('student-choice').textContent()).toMatch(/^\s*lenet5-half · /);
    await screenshot(page, '05-student');

    await page.getByTestId('step-next').click();
    await page.getByTestId('hyper-parameters').waitFor();
    expect(await page.locator('[data-testid="method-rdskd"] input').isChecked()).toBe(true);
    // LeNet5 has no BatchNorm: the engine runs DeepInversion's recorded variant, and says so.
    expect(await page.locator('[data-testid="method-deepinversion"] input').isDisabled()).toBe(false);
    expect(await page.getByTestId('method-variant-deepinversion').textContent()).toContain('without the BatchNorm-statistics term');
    expect(await page.getByTestId('method-why-deepinversion').textContent()).toContain('no BatchNorm layer');
    // A short schedule: long enough in the student phase to pause, cancel and resume it.
    const schedule: Record<string, string> = {
      'generator.epochs': '1',
      'generator.itersPerEpoch': '12',
      'generator.batchSize': '32',
      'student.epochs': '1',
      'student.itersPerEpoch': '200',
      'student.batchSize': '32',
      sampleEvery: '4',
      evalEvery: '50',
      checkpointEvery: '10',
      evalSamples: '64',
    };
    for (const [key, value] of Object.entries(schedule)) await page.getByTestId(`hp-${key}`).fill(value);
    await page.getByTestId('hp-generator.batchSize').fill('31');
    await expect.poll(() => page.getByTestId('step-next').isDisabled()).toBe(false); // an odd batch is for the engine to refuse
    await page.getByTestId('hp-generator.batchSize').fill('6x');
    await expect.poll(() => page.getByTestId('step-next').isDisabled()).toBe(true);
    await page.getByTestId('hp-generator.batchSize').fill('32');
    await screenshot(page, '06-method');

    await page.getByTestId('step-next').click();
    await page.getByTestId('start-run').waitFor();
    await screenshot(page, '07-run-ready');
    await page.getByTestId('start-run').click();
    await page.getByTestId('run-dashboard').waitFor({ timeout: 120_000 });
  });

  it('shows the run live: charts, gallery, progress; pause, cancel and resume', async () => {
    const dashboard = page.getByTestId('run-dashboard');
    const runId = await dashboard.getAttribute('data-run-id');
    expect(runId).toBeTruthy();
    const generatorChart = page.getByTestId('chart-generator');
    await generatorChart.waitFor({ timeout: 180_000 });
    const points = async (testId: string): Promise<number> => Number((await page.getByTestId(testId).getAttribute('data-points')) ?? 0);
    await expect.poll(() => points('chart-generator'), { timeout: 180_000 }).toBeGreaterThan(2);
    expect((await generatorChart.getAttribute('data-series'))!.split(',')).toEqual(expect.arrayContaining(['oh', 'ie', 'ds', 'total']));

    // The gallery fills, then refreshes with a later grid.
    await expect.poll(() => page.getByTestId('sample').count(), { timeout: 180_000 }).toBeGreaterThan(0);
    const firstStep = Number(await page.getByTestId('sample-gallery').getAttribute('data-step'));
    await expect.poll(async () => Number(await page.getByTestId('sample-gallery').getAttribute('data-step')), { timeout: 180_000 }).toBeGreaterThan(firstStep);
    await screenshot(page, '08-run-dashboard');
    await page.getByTestId('sample').first().click();
    const dialog = page.getByTestId('sample-dialog');
    await dialog.waitFor();
    expect(await page.locator('[data-testid="sample-probabilities"] tr').count()).toBe(10);
    await screenshot(page, '09-run-sample');
    await dialog.getByText('Close').click();

    // Student phase: KD loss, agreement.
    await page.getByTestId('chart-student').waitFor({ timeout: 180_000 });
    await expect.poll(() => points('chart-student'), { timeout: 180_000 }).toBeGreaterThan(2);
    expect(await page.getByTestId('chart-student').getAttribute('data-series')).toContain('kd');
    const progress = async (): Promise<number> => Number(await page.getByTestId('run-progress').getAttribute('data-value'));
    const before = await progress();
    expect(before).toBeGreaterThan(0);

    await page.getByTestId('run-pause').click();
    await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 60_000 }).toContain('paused');
    const paused = await progress();
    await new Promise((r) => setTimeout(r, 1500));
    expect(await progress()).toBe(paused);
    await page.getByTestId('run-resume').click();
    await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 60_000 }).toContain('running');
    await expect.poll(progress, { timeout: 120_000 }).toBeGreaterThan(paused);
    await screenshot(page, '10-run-resumed');

    await page.getByTestId('run-cancel').click();
    await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 120_000 }).toContain('cancelled');
    const cancelledAt = await progress();
    expect(cancelledAt).toBeLessThan(1);
    await screenshot(page, '10-run-cancelled');
    await page.getByTestId('run-resume').click();
    await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 120_000 }).toMatch(/running|done/);
    await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 300_000 }).toContain('done');
    expect(await progress()).toBe(1);
    await expect.poll(() => page.getByTestId('run-agreement').textContent(), { timeout: 30_000 }).toMatch(/^\d+(\.\d)? %$/);
    await expect.poll(() => page.getByTestId('run-accuracy').textContent(), { timeout: 30_000 }).toMatch(/^\d+(\.\d)? %$/);
    await expect.poll(() => points('chart-quality'), { timeout: 30_000 }).toBeGreaterThan(1);
    await screenshot(page, '11-run-done');

    // Train longer: student.epochs 1 → 2 continues the finished run from step 212 to 412.
    await page.getByTestId('run-lengthen').waitFor();
    expect(await page.getByTestId('run-lengthen').textContent()).toContain('student-212');
    await page.getByTestId('run-lengthen-value').fill('2');
    await screenshot(page, '11-run-lengthen');
    await page.getByTestId('run-lengthen-go').click();
    // 200 more student steps take a minute or more here: the run is seen running before it is done again.
    await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 60_000 }).toContain('running');
    await expect.poll(() => page.locator('.run-progress').textContent(), { timeout: 60_000 }).toContain('of 412');
    await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 300_000 }).toContain('done');
    await expect.poll(() => page.locator('.run-progress').textContent(), { timeout: 30_000 }).toContain('step 412 of 412');
    expect(await progress()).toBe(1);
    await screenshot(page, '11-run-lengthened');
  }, 1_200_000);

  it('lists the runs and compares two', async () => {
    const runId = (await page.getByTestId('run-dashboard').getAttribute('data-run-id'))!;
    const teacherId = (await invoke<{ id: string; source: string }[]>(app, 'listTeachers', {})).find((t) => t.source === 'imported' && t.id.startsWith('lenet5'))!.id;
    const second = await invoke<{ runId: string }>(app, 'startRun', {
      teacherId,
      student: 'lenet5-half',
      method: 'rdskd',
      overrides: { 'generator.epochs': 1, 'generator.itersPerEpoch': 10, 'generator.batchSize': 32, 'student.epochs': 1, 'student.itersPerEpoch': 40, 'student.batchSize': 32, evalEvery: 20, evalSamples: 64, sampleEvery: 0 },
    });
    await page.getByTestId('nav-runs').click();
    await page.getByTestId(`run-row-${runId}`).waitFor({ timeout: 30_000 });
    await expect
      .poll(
        async () => {
          await page.getByTestId('runs-refresh').click();
          return page.getByTestId(`run-row-${second.runId}`).textContent();
        },
        { timeout: 300_000, interval: 3000 },
      )
      .toContain('done');
    await page.getByTestId(`compare-${runId}`).check();
    await page.getByTestId(`compare-${second.runId}`).check();
    const chart = page.getByTestId('compare-chart');
    await chart.waitFor({ timeout: 30_000 });
    await page.getByTestId('compare-metric').selectOption('kd');
    await expect.poll(async () => Number(await chart.getAttribute('data-points'))).toBeGreaterThan(10);
    // The two runs' series load one after the other: wait for both (the points check can pass on the first alone).
    await expect.poll(() => chart.getAttribute('data-series'), { timeout: 30_000 }).toBe('kd,kd');
    await screenshot(page, '12-runs-compare');
  }, 600_000);

  it('exports the student, which loads and predicts in TensorFlow.js, and as TFLite int8', async () => {
    // The wizard's run (done after its resume), else the one started beside it (if the run test failed).
    const finished = (await invoke<{ id: string; status: string; createdAt: string }[]>(app, 'listRuns', {})).filter((r) => r.status === 'done');
    expect(finished.length).toBeGreaterThan(0);
    const runId = finished.sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0]!.id;
    await page.getByTestId('nav-export').click();
    await page.getByTestId('export-run').selectOption(runId);
    await page.getByTestId('export-format-tfjs-float16').click();
    await page.getByTestId('export-button').click();
    await page.getByTestId('export-result').waitFor({ timeout: 60_000 });
    const dir = (await page.getByTestId('export-dir').textContent())!.trim();
    expect(dir.startsWith(home)).toBe(true);
    expect(await page.getByTestId('export-how').textContent()).toContain('loadLayersModel');
    expect(await page.getByTestId('export-format-done').textContent()).toContain('float16');
    expect(await page.getByTestId('export-ratio').textContent()).toMatch(/^[12]\.\d× smaller$/);

    const student = await loadModel(dir);
    const half = buildLeNet5Half({ inputShape: [32, 32, 1], numClasses: 10 });
    expect(student.countParams()).toBe(half.countParams());
    half.dispose();
    const x = tf.randomNormal([4, 32, 32, 1], 0, 1, 'float32', 7);
    const y = student.predict(x) as tf.Tensor;
    expect(y.shape).toEqual([4, 10]);
    expect(Array.from(await y.data()).every(Number.isFinite)).toBe(true);
    // The exported (float16) student predicts what the run's own student predicts.
    const original = await loadModel(join(home, 'runs', runId, 'student'));
    const y0 = original.predict(x) as tf.Tensor;
    expect(Array.from(await tf.argMax(y, 1).data())).toEqual(Array.from(await tf.argMax(y0, 1).data()));
    tf.dispose([x, y, y0]);
    student.dispose();
    original.dispose();

    // The same run as TFLite int8, calibrated on its generator's images: the file, its size and the ratio are shown.
    await page.getByTestId('export-format-tflite-int8').click();
    await page.getByTestId('export-button').click();
    await expect.poll(() => page.getByTestId('export-result').getAttribute('data-precision'), { timeout: 120_000 }).toBe('int8');
    const int8Dir = (await page.getByTestId('export-dir').textContent())!.trim();
    expect(int8Dir).toBe(join(home, 'exports', `${runId}-tflite-int8`));
    const tflite = join(int8Dir, 'student.tflite');
    expect(existsSync(tflite)).toBe(true);
    const bytes = statSync(tflite).size;
    expect(Number(await page.getByTestId('export-size').getAttribute('data-bytes'))).toBe(bytes);
    expect(await page.getByTestId('export-size').textContent()).toBe(formatBytes(bytes));
    expect(await page.getByTestId('export-file-student.tflite').textContent()).toContain(formatBytes(bytes));
    expect(await page.getByTestId('export-ratio').textContent()).toMatch(/^\d+(\.\d)?× smaller$/);
    expect(await page.getByTestId('export-calibration').textContent()).toContain("512 generated images from the run's generator");
    expect(await page.getByTestId('export-how').textContent()).toContain("tf.lite.Interpreter(model_path='");
    expect(readFileSync(tflite).subarray(4, 8).toString('latin1')).toBe('TFL3');
    await screenshot(page, '13-export');

    // The microcontroller variant: int8 in and out, per-tensor scales, no names — a smaller file in its own folder.
    await page.getByTestId('export-format-tflite-int8-micro').click();
    await page.getByTestId('export-button').click();
    await expect.poll(() => page.getByTestId('export-dir').textContent(), { timeout: 120_000 }).toContain('-tflite-int8-per-tensor-int8io-stripped');
    expect(await page.getByTestId('export-description').textContent()).toMatch(/int8 input and output, strings stripped.*feed q = round\(x \/ /);
    expect(Number(await page.getByTestId('export-size').getAttribute('data-bytes'))).toBeLessThan(bytes);
    expect(pageErrors.filter((e) => !/status of 4\d\d/.test(e))).toEqual([]);
  });
});
