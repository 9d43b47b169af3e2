/**
 * Starting and resuming a distillation run: the wiring the CLI (`distillery distill`,
 * `distillery runs resume`) and the app call. Loads the teacher (folder with model.json +
 * manifest.json), builds the student from the model zoo, resolves the method's config (reference
 * defaults for the teacher's dataset + the user's overrides), records everything that defines the
 * run in config.json, and runs the driver. Resume rebuilds the same context from config.json and
 * refuses a teacher whose weights changed.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { DistilleryError } from '../errors.ts';
import { defaultGeneratorFactory, getMethod } from '../methods/index.ts';
import { runMethod, type RunMethodResult } from '../methods/driver.ts';
import { resolveConfig, type DatasetId, type GeneratorFactory, type Json, type RunControl, type TestSet } from '../methods/method.ts';
import { getClassifier, loadTeacher } from '../models/index.ts';
import type { ProgressListener } from '../progress.ts';
import type { SampleGridDto } from '../../common/contract.ts';
import { loadTestSet } from '../data/test-set.ts';
import { gallerySamples } from '../gallery.ts';
import { RunStore, type RunIdentity } from './store.ts';

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

export interface DistillOptions {
  /** Folder (or model.json) of the teacher, with manifest.json beside it. */
  teacher: string;
  /** Zoo architecture of the student, e.g. 'lenet5-half'. */
  student: string;
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
  buildStudent?: (inputShape: readonly [number, number, number], numClasses: number) => tf.LayersModel;
  buildGenerator?: GeneratorFactory;
}

export interface DistillResult extends RunMethodResult {
  runDir: string;
  id: string;
}

async function drive(store: RunStore, resume: boolean, drive: DriveOptions): Promise<DistillResult> {
  const record = store.record;
  const teacherInfo = record.teacher as { dir: string; weights: string };
  const studentInfo = record.student as { architecture: string };
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
    student = drive.buildStudent ? drive.buildStudent(inputShape, numClasses) : getClassifier(studentInfo.architecture).build({ inputShape, numClasses, name: 'student' });
    const definition = getMethod(record.method);
    const config = resolveConfig(definition, record.dataset as DatasetId, record.config);
    if (!testSet && testData) testSet = await loadTestSet(testData, loaded);
    drive.onStart?.({ id: store.id, dir: store.dir });
    const onSamples = drive.onSamples;
    const result = await runMethod({
      definition,
      config,
      context: { teacher: teacherModel, student, inputShape, numClasses, buildGenerator: drive.buildGenerator ?? defaultGeneratorFactory },
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

/** Creates a run folder and runs the method from the start. */
export async function startDistillation(options: DistillOptions, driveOptions: DriveOptions = {}): Promise<DistillResult> {
  const definition = getMethod(options.method);
  const loaded = await loadTeacher(options.teacher);
  let identity: RunIdentity;
  try {
    if (!driveOptions.buildStudent) getClassifier(options.student); // unknown student: fail before creating the folder
    const { dataset, exact } = datasetDefaults(loaded.manifest.dataset.name);
    const config = resolveConfig(definition, dataset, options.overrides ?? {});
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
      student: { architecture: options.student },
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
 * `overrides`, when given (the user repeated the distill command's options), must resolve to the
 * run's stored config: a changed config is refused with BAD_INPUT naming what differs.
 */
export async function resumeDistillation(runDir: string, driveOptions: DriveOptions = {}, check: { overrides?: unknown; student?: string } = {}): Promise<DistillResult> {
  const store = RunStore.open(runDir);
  if (store.status.status === 'done') {
    throw new DistilleryError('BAD_INPUT', `run ${store.id} is already finished`, 'start a new run to train again');
  }
  if (check.overrides !== undefined || check.student !== undefined) {
    const record = store.record;
    const config = check.overrides !== undefined ? resolveConfig(getMethod(record.method), record.dataset as DatasetId, check.overrides) : record.config;
    store.checkSameIdentity({ ...record, config: config as unknown as Json, student: check.student !== undefined ? { architecture: check.student } : record.student });
  }
  return drive(store, true, driveOptions);
}
