/**
 * Starting and resuming a distillation run: the wiring the CLI (`distillery distill`,
 * `distillery runs resume`) and the app call. Loads the teacher (folder with model.json +
 * manifest.json), builds the student from the model zoo (at a custom width, if asked), resolves
 * the method's config (reference defaults for the teacher's dataset + the user's overrides),
 * records everything that defines the run in config.json, and runs the driver. Resume rebuilds
 * the same context from config.json (the student's architecture and width included) and refuses a
 * teacher whose weights changed.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { cpSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DistilleryError } from '../errors.ts';
import { defaultGeneratorFactory, getMethod, plannedSteps } from '../methods/index.ts';
import { positionAt, runMethod, type RunMethodResult } from '../methods/driver.ts';
import { deriveSeed } from '../methods/random.ts';
import { configValue, deepMerge, diffJson, expandDottedKeys, resolveConfig, type DatasetId, type GeneratorFactory, type Json, type RunControl, type TestSet } from '../methods/method.ts';
import { checkWidth, getClassifier, loadTeacher } from '../models/index.ts';
import type { ProgressListener } from '../progress.ts';
import type { SampleGridDto } from '../../common/contract.ts';
import { loadTestSet } from '../data/test-set.ts';
import { gallerySamples } from '../gallery.ts';
import { RUN_FILES, RunStore, type RunIdentity } from './store.ts';

/** The reference hyper-parameters to use for a teacher trained on `datasetName`. */
export function datasetDefaults(datasetName: string): { dataset: DatasetId; exact: boolean } {
  const key = datasetName.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (key === 'mnist') return { dataset: 'mnist', exact: true };
  if (key === 'svhn') return { dataset: 'svhn', exact: true };
  if (key === 'cifar10') return { dataset: 'cifar10', exact: true };
  return { dataset: 'mnist', exact: false };
}

/** SHA-256 of a model's weights (order, shapes and values): recognises the teacher on resume. */
export async function weightsHash(model: tf.LayersModel): Promise<string> {
  const h = createHash('sha256');
  for (const w of model.weights) {
    const t = w.read();
    h.update(`${w.shape.join('x')};`);
    const data = await t.data();
    h.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return h.digest('hex').slice(0, 32);
}

/** The student as a run records it: a zoo architecture at a width multiplier (1 = the zoo's). */
export interface StudentRecord {
  architecture: string;
  width: number;
}

/** The student of a run's record (runs recorded before custom widths have no width: 1). */
export function recordedStudent(student: unknown): StudentRecord {
  const s = (student ?? {}) as { architecture?: unknown; width?: unknown };
  return { architecture: String(s.architecture ?? 'unknown'), width: typeof s.width === 'number' ? s.width : 1 };
}

/** 'lenet5-half', or 'lenet5-half ×0.75' for a custom width: how runs name their student. */
export function studentLabel(student: StudentRecord): string {
  return student.width === 1 ? student.architecture : `${student.architecture} ×${Number(student.width.toPrecision(4))}`;
}

export interface DistillOptions {
  /** Folder (or model.json) of the teacher, with manifest.json beside it. */
  teacher: string;
  /** Zoo architecture of the student, e.g. 'lenet5-half'. */
  student: string;
  /** Width multiplier of the student's channels and units (default 1: the zoo's architecture). */
  studentWidth?: number;
  method: string;
  /** Config overrides (deep-merged over the reference defaults), e.g. { generator: { lr: 0.2 } }. */
  overrides?: unknown;
  /** The runs folder (default: defaultRunsDir(), chosen by the caller). */
  runsDir: string;
  /** Run id (default: time-method-random). */
  id?: string;
  /** Anything else that changes the result and must be recorded (e.g. a named speed-up option). */
  options?: Json;
  /** Test data spec (e.g. 'mnist') for logging the student's accuracy; recorded, so resume logs it too. */
  testData?: string;
}

/** Samples sent to the live gallery each time (the grid written to disk holds more). */
const GALLERY_SIZE = 40;

export interface DriveOptions {
  control?: RunControl;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  testSet?: TestSet;
  maxSteps?: number;
  /** Called once the run folder exists, before the first step. */
  onStart?: (run: { id: string; dir: string }) => void;
  /** Generated samples with the teacher's probabilities, whenever the method writes a sample grid. */
  onSamples?: (grid: Omit<SampleGridDto, 'runId'>) => void;
  /** For tests: build the student or generator differently. */
  buildStudent?: (inputShape: readonly [number, number, number], numClasses: number, student: StudentRecord) => tf.LayersModel;
  buildGenerator?: GeneratorFactory;
}

export interface DistillResult extends RunMethodResult {
  runDir: string;
  id: string;
}

/** Streams of deriveSeed(config.seed, …) for the initial weights (distinct from phase indices). */
const STUDENT_INIT_SEED = 0x5eed01;

/** The seed of a run's student initial weights, from the run's seed (benches rebuild the same student). */
export function studentInitSeed(seed: number): number {
  return deriveSeed(seed, STUDENT_INIT_SEED);
}

const GENERATOR_INIT_SEED = 0x5eed02;

async function drive(store: RunStore, resume: boolean, drive: DriveOptions): Promise<DistillResult> {
  const record = store.record;
  const teacherInfo = record.teacher as { dir: string; weights: string };
  const studentInfo = recordedStudent(record.student);
  const loaded = await loadTeacher(teacherInfo.dir);
  const teacherModel = loaded.model;
  let student: tf.LayersModel | null = null;
  let testSet = drive.testSet;
  const testData = (record.options as { testData?: string } | null | undefined)?.testData;
  try {
    const hash = await weightsHash(teacherModel);
    if (hash !== teacherInfo.weights) {
      throw new DistilleryError('BAD_INPUT', `the teacher in ${teacherInfo.dir} is not the one run ${store.id} started with (its weights changed)`, 'restore that teacher, or start a new run');
    }
    const inputShape = loaded.manifest.inputShape;
    const numClasses = loaded.manifest.numClasses;
    const definition = getMethod(record.method);
    const config = resolveConfig(definition, record.dataset as DatasetId, record.config);
    // The run's seed also fixes the initial weights, so one config + seed is one run (a resumed
    // run then loads its checkpoint over them).
    const seed = (config as { seed: number }).seed;
    student = drive.buildStudent
      ? drive.buildStudent(inputShape, numClasses, studentInfo)
      : getClassifier(studentInfo.architecture).build({ inputShape, numClasses, name: 'student', width: studentInfo.width, seed: studentInitSeed(seed) });
    const buildGenerator: GeneratorFactory = drive.buildGenerator ?? ((kind, o) => defaultGeneratorFactory(kind, { ...o, seed: deriveSeed(seed, GENERATOR_INIT_SEED) }));
    if (!testSet && testData) testSet = await loadTestSet(testData, loaded);
    drive.onStart?.({ id: store.id, dir: store.dir });
    const onSamples = drive.onSamples;
    const result = await runMethod({
      definition,
      config,
      context: { teacher: teacherModel, student, inputShape, numClasses, buildGenerator },
      store,
      resume,
      ...(drive.control ? { control: drive.control } : {}),
      ...(drive.signal ? { signal: drive.signal } : {}),
      ...(drive.onProgress ? { onProgress: drive.onProgress } : {}),
      ...(testSet ? { testSet } : {}),
      ...(drive.maxSteps !== undefined ? { maxSteps: drive.maxSteps } : {}),
      ...(onSamples
        ? {
            onSamples: (info: { phase: string; step: number }, images: tf.Tensor4D) => {
              const shown = tf.slice(images, [0, 0, 0, 0], [Math.min(GALLERY_SIZE, images.shape[0]), -1, -1, -1]);
              try {
                onSamples({ ...info, classNames: loaded.manifest.classNames, samples: gallerySamples(shown, teacherModel, loaded.manifest) });
              } finally {
                shown.dispose();
              }
            },
          }
        : {}),
    });
    return { ...result, runDir: store.dir, id: store.id };
  } finally {
    teacherModel.dispose();
    student?.dispose();
    if (testSet && testSet !== drive.testSet) {
      testSet.x.dispose();
      testSet.y.dispose();
    }
  }
}

/**
 * The config a run of `method` gets for a teacher trained on `datasetName`: the reference's
 * hyper-parameters for that dataset (MNIST's when there are none: exact = false) and the overrides.
 */
export function runConfig(method: string, datasetName: string, overrides: unknown = {}): { dataset: DatasetId; exact: boolean; config: unknown } {
  const { dataset, exact } = datasetDefaults(datasetName);
  return { dataset, exact, config: resolveConfig(getMethod(method), dataset, overrides) };
}

/** Creates a run folder and runs the method from the start. */
export async function startDistillation(options: DistillOptions, driveOptions: DriveOptions = {}): Promise<DistillResult> {
  const definition = getMethod(options.method);
  const loaded = await loadTeacher(options.teacher);
  let identity: RunIdentity;
  try {
    // An unknown student or an impossible width fails here, before the run folder is created.
    const student: StudentRecord = { architecture: options.student, width: checkWidth(options.studentWidth) };
    if (!driveOptions.buildStudent) getClassifier(options.student);
    const { dataset, exact, config } = runConfig(definition.id, loaded.manifest.dataset.name, options.overrides ?? {});
    identity = {
      method: definition.id,
      dataset,
      config: config as unknown as Json,
      teacher: {
        dir: resolve(loaded.dir),
        name: loaded.manifest.name,
        architecture: loaded.manifest.architecture,
        dataset: loaded.manifest.dataset.name,
        weights: await weightsHash(loaded.model),
      },
      student: { ...student },
      options: {
        ...(options.options && typeof options.options === 'object' && !Array.isArray(options.options) ? options.options : {}),
        ...(exact ? {} : { defaultsFrom: `mnist (no reference hyper-parameters for ${loaded.manifest.dataset.name})` }),
        ...(options.testData ? { testData: options.testData } : {}),
      },
    };
  } finally {
    loaded.model.dispose();
  }
  const store = RunStore.create(options.runsDir, identity, options.id ? { id: options.id } : {});
  return drive(store, false, driveOptions);
}

/**
 * Continues a run from its last checkpoint (a run without one starts over in the same folder).
 * `overrides`, `student` and `studentWidth`, when given (the user repeated the distill command's
 * options), must match the run's record: a change is refused with BAD_INPUT naming what differs.
 */
export async function resumeDistillation(
  runDir: string,
  driveOptions: DriveOptions = {},
  check: { overrides?: unknown; student?: string; studentWidth?: number } = {},
): Promise<DistillResult> {
  const store = RunStore.open(runDir);
  // 'done' with steps left to plan: lengthened (extendRun) and stopped before run.json said so.
  if (store.status.status === 'done' && plannedSteps(store.record.method, store.record.config) <= (store.status.position?.globalStep ?? 0)) {
    store.close();
    const lengthen = getMethod(store.record.method).extendable?.map((k) => `--set ${k}=N`).join(' or ');
    throw new DistilleryError('BAD_INPUT', `run ${store.id} is already finished`, lengthen ? `lengthen it (distillery runs --extend ${store.id} ${lengthen}), or start a new run` : 'start a new run to train again');
  }
  const record = store.record;
  if (check.student !== undefined || check.studentWidth !== undefined) {
    // Compared apart from the record: runs recorded before custom widths have no width (= 1).
    const recorded = recordedStudent(record.student);
    const asked: StudentRecord = { architecture: check.student ?? recorded.architecture, width: check.studentWidth ?? recorded.width };
    const diffs = diffJson(recorded, asked);
    if (diffs.length) {
      throw new DistilleryError(
        'BAD_INPUT',
        `run ${store.id} was started with a different student (differs in: ${diffs.map((d) => `student.${d}`).join(', ')}: recorded ${studentLabel(recorded)})`,
        'resume it without changing options, or start a new run with the new ones',
      );
    }
  }
  if (check.overrides !== undefined) {
    const config = resolveConfig(getMethod(record.method), record.dataset as DatasetId, check.overrides);
    store.checkSameIdentity({ ...record, config: config as unknown as Json });
  }
  return drive(store, true, driveOptions);
}

/** What extendRun changed. */
export interface RunExtensionResult {
  id: string;
  /** Steps done when lengthened, and the steps the run now plans. */
  atStep: number;
  plannedSteps: number;
  was: Record<string, number>;
  set: Record<string, number>;
}

/**
 * Lengthens a run so that resuming it goes on training: raises config keys that the method marks
 * `extendable` (DAFL's `epochs`, RDSKD's and MSKD's `student.epochs`, …). They grow only the last
 * phase and no earlier step depends on them, so the run ends where one planned that long from the
 * start would (tests/engine/runs/distill.test.ts): a curve that had not flattened can be continued
 * instead of recomputed. For a finished or stopped run, not one that is running. The result so far
 * is kept as student-<steps>/ and summary-<steps>.json; config.json records the change.
 */
export function extendRun(runDir: string, set: Record<string, unknown>): RunExtensionResult {
  const store = RunStore.open(runDir);
  try {
    const { record } = store;
    const definition = getMethod(record.method);
    const keys = definition.extendable ?? [];
    if (!keys.length) {
      throw new DistilleryError('BAD_INPUT', `${definition.title} runs cannot be lengthened: ${definition.fixedLength ?? 'its schedule depends on the length of the run'}`, 'start a new run with the longer schedule');
    }
    if (store.live) throw new DistilleryError('BAD_INPUT', `run ${store.id} is running`, 'stop it (Ctrl+C in the CLI, Cancel in the app) and lengthen it then');
    if (!Object.keys(set).length) throw new DistilleryError('BAD_INPUT', `name what to lengthen: ${keys.map((k) => `--set ${k}=N`).join(' or ')}`);
    const was: Record<string, number> = {};
    const next: Record<string, number> = {};
    for (const [key, value] of Object.entries(set)) {
      if (!keys.includes(key)) {
        throw new DistilleryError('BAD_INPUT', `${key} cannot change in a run that has started; ${definition.title} runs are lengthened with ${keys.join(', ')}`, 'start a new run to change anything else');
      }
      const current = configValue(record.config, key);
      if (typeof current !== 'number' || typeof value !== 'number' || !Number.isInteger(value) || value <= current) {
        const hint = value === current && store.status.status !== 'done' ? 'the run is planned that long already: resume it to go on' : undefined;
        throw new DistilleryError('BAD_INPUT', `${key} must become a whole number above its current ${String(current)}, got ${String(value)}`, hint);
      }
      was[key] = current;
      next[key] = value;
    }
    const parsed = definition.schema.safeParse(deepMerge(record.config, expandDottedKeys(next)));
    if (!parsed.success) throw new DistilleryError('BAD_INPUT', `invalid ${definition.id} config: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const config = parsed.data as Json;
    const atStep = store.checkpointInfo()?.position.globalStep ?? 0;
    // The result so far stays, under its step count (the run's end rewrites student/ and summary.json).
    for (const name of [RUN_FILES.student, RUN_FILES.summary]) {
      const from = join(store.dir, name);
      const to = join(store.dir, name.replace(/(\.json)?$/, `-${atStep}$1`));
      if (existsSync(from) && !existsSync(to)) cpSync(from, to, { recursive: true });
    }
    store.writeExtension(config, { atStep, was, set: next });
    store.setStatus('paused', { position: positionAt(definition.phases(config), atStep) });
    return { id: store.id, atStep, plannedSteps: plannedSteps(record.method, config), was, set: next };
  } finally {
    store.close();
  }
}
