/**
 * What a recorded run produced, reopened for measuring: its teacher, its result student and the
 * images its student was trained on — the generator's samples (inference mode) for RDSKD, DAFL,
 * MSKD and ZSKT, the synthesised pool for DeepInversion and ZSKD. The method's session is rebuilt
 * from config.json and its last checkpoint is read (never written: the run folder is left as it
 * is), so every method gives its samples the same way it does during training
 * (MethodSession.samples).
 */
import type * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DistilleryError } from '../errors.ts';
import { defaultGeneratorFactory, getMethod, resolveConfig, type DatasetId, type Json, type MethodSession } from '../methods/index.ts';
import { getClassifier, loadModel, loadTeacher, type LoadedTeacher } from '../models/index.ts';
import { readCheckpointInfo, restoreCheckpoint } from '../runs/checkpoint.ts';
import { recordedStudent, weightsHash } from '../runs/distill.ts';
import { RUN_FILES, RunStore, type RunRecord } from '../runs/store.ts';

export interface OpenedRun {
  dir: string;
  record: RunRecord;
  /** summary.json (null while the run is unfinished). */
  summary: Record<string, unknown> | null;
  teacher: LoadedTeacher;
  /** The run's result: the selected student of a finished run, else the checkpoint's student. */
  student: tf.LayersModel;
  /** Where `student` came from, in words. */
  studentSource: string;
  /** The method's training images: generator samples or the synthesised pool. Null when it has none yet. */
  samples(n: number, seed: number): tf.Tensor4D | null;
  /** Size of the synthesised pool (DeepInversion, ZSKD), null for generator methods. */
  poolSize: number | null;
  /** What `samples` draws from, in words. */
  sampleSource: string;
  dispose(): void;
}

function poolSizeOf(method: string, config: Record<string, unknown>): number | null {
  const s = config.synthesis as { batches?: number; batchSize?: number; impressions?: number } | undefined;
  if (method === 'deepinversion' && s?.batches && s.batchSize) return s.batches * s.batchSize;
  if (method === 'zskd' && s?.impressions) return s.impressions;
  return null;
}

/**
 * Reopens the run in `runDir` (see the module comment). `teacher`: an already loaded teacher to
 * use instead of the one config.json names (its weights must be the run's; it is not disposed).
 */
export async function openRun(runDir: string, options: { teacher?: LoadedTeacher } = {}): Promise<OpenedRun> {
  const store = RunStore.open(runDir);
  store.close();
  const record = store.record;
  const checkpoint = join(store.dir, RUN_FILES.checkpoint);
  const info = readCheckpointInfo(checkpoint);
  if (!info) throw new DistilleryError('NOT_FOUND', `run ${record.id} has no checkpoint yet: nothing to measure`, 'resume the run first');
  const teacherInfo = record.teacher as { dir: string; weights: string };
  const teacher = options.teacher ?? (await loadTeacher(teacherInfo.dir));
  const ownsTeacher = !options.teacher;
  let session: MethodSession | null = null;
  let scratch: tf.LayersModel | null = null;
  let result: tf.LayersModel | null = null;
  try {
    if ((await weightsHash(teacher.model)) !== teacherInfo.weights) {
      throw new DistilleryError('BAD_INPUT', `the teacher ${teacher.dir} is not the one run ${record.id} was trained with (its weights differ)`);
    }
    const { inputShape, numClasses } = teacher.manifest;
    const definition = getMethod(record.method);
    const config = resolveConfig(definition, record.dataset as DatasetId, record.config);
    const st = recordedStudent(record.student);
    scratch = getClassifier(st.architecture).build({ inputShape, numClasses, name: 'student', width: st.width });
    session = definition.create({ teacher: teacher.model, student: scratch, inputShape, numClasses, buildGenerator: defaultGeneratorFactory, runDir: store.dir }, config);
    await restoreCheckpoint(checkpoint, session.models, {});
    session.setState((info.state as { method: Json }).method);
    const summary = store.readSummary() as Record<string, unknown> | null;
    const selected = (summary?.selection as { model?: string } | undefined)?.model;
    let studentSource = `the student in the last checkpoint (${info.position.globalStep} steps; the run is not finished)`;
    if (summary && selected && existsSync(join(store.dir, selected))) {
      result = await loadModel(join(store.dir, selected));
      studentSource = `${selected}/ (${(summary.selection as { rule?: string }).rule ?? 'selected'})`;
    }
    const poolSize = poolSizeOf(record.method, config as unknown as Record<string, unknown>);
    const opened = session;
    const checkpointStudent = scratch;
    return {
      dir: store.dir,
      record,
      summary,
      teacher,
      student: result ?? checkpointStudent,
      studentSource,
      samples: (n, seed) => opened.samples(n, seed),
      poolSize,
      sampleSource: poolSize !== null ? `the synthesised pool (${poolSize} images)` : 'the generator (inference mode)',
      dispose() {
        opened.dispose();
        checkpointStudent.dispose();
        result?.dispose();
        if (ownsTeacher) teacher.model.dispose();
      },
    };
  } catch (error) {
    session?.dispose();
    scratch?.dispose();
    result?.dispose();
    if (ownsTeacher) teacher.model.dispose();
    throw error;
  }
}
