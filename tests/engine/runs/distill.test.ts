import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getClassifier, loadModel } from '../../../src-main/engine/models/index.ts';
import { saveTestTeacher } from '../test-teacher.ts';
import { datasetDefaults, extendRun, listRuns, resumeDistillation, RunStore, startDistillation } from '../../../src-main/engine/runs/index.ts';
import { deepMerge, expandDottedKeys } from '../../../src-main/engine/methods/index.ts';
import { tempDirs } from '../../temp-dirs.ts';

const SHAPE = [4, 4, 1] as const;
const K = 4;

function classifier(seed: number, name: string, shape: readonly number[] = SHAPE): tf.LayersModel {
  return tf.sequential({
    name,
    layers: [
      tf.layers.flatten({ inputShape: [...shape] }),
      tf.layers.dense({ units: 8, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.dense({ units: K, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

const tinyGenerator = (_kind: 'dafl' | 'zskt', o: { outputShape: readonly number[]; latentDim: number }) =>
  tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [o.latentDim], units: o.outputShape.reduce((a, b) => a * b, 1), kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
      tf.layers.batchNormalization({ epsilon: 0.8 }),
      tf.layers.reshape({ targetShape: [...o.outputShape] }),
    ],
  });

const drive = { buildStudent: () => classifier(7, 'student'), buildGenerator: tinyGenerator };
const overrides = { latentDim: 5, generator: { epochs: 1, itersPerEpoch: 4, batchSize: 8 }, student: { epochs: 1, itersPerEpoch: 4, batchSize: 8 }, checkpointEvery: 2, sampleEvery: 0, evalEvery: 0, evalSamples: 8 };

const tmp = tempDirs('distillery-distill-');

async function writeTeacher(dir: string, seed = 1, shape: readonly [number, number, number] = SHAPE): Promise<void> {
  const model = classifier(seed, 'teacher', shape);
  await saveTestTeacher(model, dir);
  model.dispose();
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('start and resume a distillation', () => {
  it('maps dataset names to reference defaults', () => {
    expect(datasetDefaults('MNIST')).toEqual({ dataset: 'mnist', exact: true });
    expect(datasetDefaults('CIFAR-10')).toEqual({ dataset: 'cifar10', exact: true });
    expect(datasetDefaults('my-xrays')).toEqual({ dataset: 'mnist', exact: false });
  });

  it('starts from a teacher folder, resumes to the end, refuses changes', async () => {
    const root = tmp();
    const teacherDir = join(root, 'teacher');
    await writeTeacher(teacherDir);
    const runs = join(root, 'runs');
    const first = await startDistillation({ teacher: teacherDir, student: 'tiny', method: 'rdskd', overrides, runsDir: runs, id: 'r' }, { ...drive, maxSteps: 3 });
    expect(first.status).toBe('stopped');
    const config = JSON.parse(readFileSync(join(runs, 'r', 'config.json'), 'utf8'));
    expect(config.dataset).toBe('mnist');
    expect(config.config.student.tau).toBe(10); // reference default kept under the overrides
    expect(config.teacher.weights).toMatch(/^[0-9a-f]{32}$/);
    // a changed option is refused, naming it
    await expect(resumeDistillation(join(runs, 'r'), drive, { overrides: { ...overrides, generator: { ...overrides.generator, lr: 0.2 } } })).rejects.toThrow(/differs in: config\.generator\.lr/);
    // the same options are accepted
    const done = await resumeDistillation(join(runs, 'r'), drive, { overrides });
    expect(done.status).toBe('done');
    expect(RunStore.open(join(runs, 'r')).readMetrics().map((m) => m.globalStep)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(listRuns(runs)[0]).toMatchObject({ id: 'r', status: 'done', method: 'rdskd' });
    await expect(resumeDistillation(join(runs, 'r'), drive)).rejects.toThrow(/already finished/);
  });

  it('records a custom-width student and rebuilds it at that width on resume', async () => {
    const root = tmp();
    const teacherDir = join(root, 'teacher');
    const shape = [16, 16, 1] as const; // LeNet needs at least 14×14
    await writeTeacher(teacherDir, 1, shape);
    const runs = join(root, 'runs');
    const zoo = { buildGenerator: tinyGenerator }; // the student comes from the model zoo
    await expect(startDistillation({ teacher: teacherDir, student: 'lenet5-half', studentWidth: 0, method: 'rdskd', overrides, runsDir: runs, id: 'bad' }, zoo)).rejects.toThrow(/width multiplier/);
    expect(listRuns(runs)).toEqual([]); // refused before the run folder was created

    const first = await startDistillation({ teacher: teacherDir, student: 'lenet5-half', studentWidth: 0.5, method: 'rdskd', overrides, runsDir: runs, id: 'w' }, { ...zoo, maxSteps: 5 });
    expect(first.status).toBe('stopped');
    const config = JSON.parse(readFileSync(join(runs, 'w', 'config.json'), 'utf8'));
    expect(config.student).toEqual({ architecture: 'lenet5-half', width: 0.5 });
    await expect(resumeDistillation(join(runs, 'w'), zoo, { studentWidth: 1 })).rejects.toThrow(/different student \(differs in: student\.width/);
    await expect(resumeDistillation(join(runs, 'w'), zoo, { student: 'lenet5' })).rejects.toThrow(/differs in: student\.architecture/);
    // Resumed from the checkpoint: its weights only fit a student of the recorded width.
    const done = await resumeDistillation(join(runs, 'w'), zoo, { student: 'lenet5-half', studentWidth: 0.5, overrides });
    expect(done.status).toBe('done');
    const student = await loadModel(join(runs, 'w', 'student'));
    const expected = getClassifier('lenet5-half').build({ inputShape: shape, numClasses: K, width: 0.5 });
    expect(student.countParams()).toBe(expected.countParams());
    expect((student.getLayer('conv1').getConfig() as { filters: number }).filters).toBe(2); // 3 × 0.5, rounded
    student.dispose();
    expected.dispose();
  });

  it('one config and seed is one run: the seed fixes the initial weights of the zoo student and generator', async () => {
    const root = tmp();
    const teacherDir = join(root, 'teacher');
    await writeTeacher(teacherDir, 1, [16, 16, 1]);
    const runs = join(root, 'runs');
    const lossesOf = async (id: string, seed: number) => {
      // One generator step and one student step, batch 2: the zoo's 128-channel generator is slow on the cpu backend.
      const schedule = { generator: { epochs: 1, itersPerEpoch: 1, batchSize: 2 }, student: { epochs: 1, itersPerEpoch: 1, batchSize: 2 }, evalSamples: 2 };
      const run = await startDistillation({ teacher: teacherDir, student: 'lenet5-half', method: 'rdskd', overrides: { ...overrides, ...schedule, seed }, runsDir: runs, id }, {});
      return RunStore.open(run.runDir).readMetrics().map((r) => r.values.total ?? r.values.kd);
    };
    const a = await lossesOf('a', 3);
    expect(await lossesOf('b', 3)).toEqual(a);
    expect(a).toHaveLength(2);
    expect(await lossesOf('c', 4)).not.toEqual(a);
  }, 240_000);

  it('refuses to resume with a teacher whose weights changed', async () => {
    const root = tmp();
    const teacherDir = join(root, 'teacher');
    await writeTeacher(teacherDir);
    const runs = join(root, 'runs');
    await startDistillation({ teacher: teacherDir, student: 'tiny', method: 'dafl', overrides: { latentDim: 5, epochs: 1, itersPerEpoch: 4, batchSize: 8, evalSamples: 8, sampleEvery: 0 }, runsDir: runs, id: 'd' }, { ...drive, maxSteps: 1 });
    await writeTeacher(teacherDir, 42);
    await expect(resumeDistillation(join(runs, 'd'), drive)).rejects.toThrow(/not the one run d started with/);
  });
});

describe('lengthening a run (extendRun)', () => {
  const B = 4;
  // Each short run ends on an evaluation step, so the extended run's records line up one for one with the planned run's.
  const cases = [
    { method: 'dafl', overrides: { latentDim: 5, epochs: 2, itersPerEpoch: 2, batchSize: 8, checkpointEvery: 3, sampleEvery: 0, evalEvery: 2, evalSamples: 8 }, key: 'epochs', value: 3, steps: [4, 6] },
    { method: 'rdskd', overrides: { ...overrides, evalEvery: 2 }, key: 'student.epochs', value: 2, steps: [8, 12] },
    { method: 'deepinversion', overrides: { synthesis: { batches: 2, batchSize: B, iterations: 3 }, student: { epochs: 2, batchSize: B }, checkpointEvery: 2, sampleEvery: 0, evalEvery: 2, evalSamples: 8 }, key: 'student.epochs', value: 4, steps: [10, 14] },
  ];

  it.each(cases)('$method: a finished run lengthened with $key ends where a run planned that long does', async ({ method, overrides: short, key, value, steps }) => {
    const root = tmp();
    const teacherDir = join(root, 'teacher');
    await writeTeacher(teacherDir);
    const runs = join(root, 'runs');
    await startDistillation({ teacher: teacherDir, student: 'tiny', method, overrides: short, runsDir: runs, id: 'short' }, drive);
    await startDistillation({ teacher: teacherDir, student: 'tiny', method, overrides: deepMerge(short, expandDottedKeys({ [key]: value })), runsDir: runs, id: 'planned' }, drive);

    const change = extendRun(join(runs, 'short'), { [key]: value });
    expect(change).toMatchObject({ atStep: steps[0], plannedSteps: steps[1], set: { [key]: value } });
    expect(listRuns(runs).find((r) => r.id === 'short')).toMatchObject({ status: 'paused', position: { globalStep: steps[0] } });
    const done = await resumeDistillation(join(runs, 'short'), drive);
    expect(done).toMatchObject({ status: 'done', position: { globalStep: steps[1] } });

    const records = (id: string) => RunStore.open(join(runs, id)).readMetrics().map(({ globalStep, phase, step, values }) => ({ globalStep, phase, step, values }));
    expect(records('short')).toEqual(records('planned'));
    const weights = async (dir: string) => {
      const model = await loadModel(dir);
      const values = model.getWeights().map((w) => Array.from(w.dataSync()));
      model.dispose();
      return values;
    };
    expect(await weights(join(runs, 'short', 'student'))).toEqual(await weights(join(runs, 'planned', 'student')));
    // The result it had is kept; config.json says what changed.
    expect(existsSync(join(runs, 'short', `student-${steps[0]}`, 'model.json'))).toBe(true);
    expect(JSON.parse(readFileSync(join(runs, 'short', `summary-${steps[0]}.json`), 'utf8'))).toMatchObject({ steps: steps[0] });
    expect(JSON.parse(readFileSync(join(runs, 'short', 'config.json'), 'utf8')).extensions).toMatchObject([{ atStep: steps[0], set: { [key]: value } }]);
  });

  it('refuses what would make a different run, and runs it cannot lengthen', async () => {
    const root = tmp();
    const teacherDir = join(root, 'teacher');
    await writeTeacher(teacherDir);
    const runs = join(root, 'runs');
    await startDistillation({ teacher: teacherDir, student: 'tiny', method: 'dafl', overrides: cases[0]!.overrides, runsDir: runs, id: 'd' }, drive);
    const d = join(runs, 'd');
    expect(() => extendRun(d, { lrG: 0.1 })).toThrow(/lrG cannot change in a run that has started; DAFL runs are lengthened with epochs/);
    expect(() => extendRun(d, { epochs: 2 })).toThrow(/epochs must become a whole number above its current 2, got 2/);
    expect(() => extendRun(d, {})).toThrow(/--set epochs=N/);
    await expect(resumeDistillation(d, drive)).rejects.toThrow(/already finished/);
    const store = RunStore.open(d);
    store.recordSession(null); // this process, alive: the run counts as running
    store.setStatus('running');
    store.close();
    expect(() => extendRun(d, { epochs: 3 })).toThrow(/is running/);

    await startDistillation({ teacher: teacherDir, student: 'tiny', method: 'zskt', overrides: { latentDim: 5, batchSize: 4, iterations: 2, generator: { steps: 1 }, student: { steps: 1 }, evalSamples: 4, sampleEvery: 0 }, runsDir: runs, id: 'z' }, { ...drive, maxSteps: 1 });
    expect(() => extendRun(join(runs, 'z'), { iterations: 4 })).toThrow(/ZSKT runs cannot be lengthened: its cosine learning-rate schedules/);
  });
});
