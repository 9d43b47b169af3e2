/**
 * `npm run bench -- pool-student <DeepInversion or ZSKD run folder> [--seeds 1,2,3] [--test-data mnist]
 * [--eval-every 25]`: the run's student phase again, on the pool the run synthesised (its
 * pool/*.f32 files), once per seed — the seed fixing the student's initial weights and minibatch
 * order exactly as a run with that seed would (distill.ts, poolStudentStep). The synthesis is the
 * expensive part of these methods and the student phase the cheap one, so this measures how much of
 * a single run's accuracy is the student's draw, on Distillery's own code (bench/deepinversion_torch.py
 * and zskd_torch.py do the same in PyTorch with --pool-from).
 *
 * Prints one JSON line per evaluation ({"seed", "iteration", "testAccuracy"}) and one per seed with its
 * last accuracy and milliseconds per step.
 */
import * as tf from '@tensorflow/tfjs';
import { resolve } from 'node:path';
import { initBackend } from '../src-main/engine/backend/index.ts';
import { loadTestSet } from '../src-main/engine/data/test-set.ts';
import { accuracyOn, getMethod, resolveConfig, type DatasetId } from '../src-main/engine/methods/index.ts';
import { poolStudentPhase, poolStudentStep, SynthPool, type PoolStudentConfig } from '../src-main/engine/methods/deepinversion.ts';
import { trainableVariables } from '../src-main/engine/methods/common.ts';
import { adam } from '../src-main/engine/backend/adam.ts';
import { getClassifier, loadTeacher } from '../src-main/engine/models/index.ts';
import { recordedStudent, studentInitSeed } from '../src-main/engine/runs/distill.ts';
import { RunStore } from '../src-main/engine/runs/store.ts';
import { BenchUsageError, parseBenchArgs } from './options.ts';

const USAGE = 'npm run bench -- pool-student <DeepInversion or ZSKD run folder> [--seeds 1,2,3] [--test-data mnist] [--eval-every EPOCHS]';
const OPTIONS = { seeds: { type: 'string' }, 'test-data': { type: 'string' }, 'eval-every': { type: 'string' } } as const;

interface PoolRunConfig {
  synthesis: { batches?: number; impressions?: number; batchSize: number };
  student: PoolStudentConfig;
}

export async function main(args: string[]): Promise<number> {
  const opts = parseBenchArgs(args, OPTIONS, USAGE, true);
  const [dir, ...extra] = opts.positionals;
  if (!dir || extra.length) throw new BenchUsageError('name one DeepInversion or ZSKD run folder', USAGE);
  const seeds = (opts.string('seeds') ?? '1,2,3').split(',').map(Number);
  if (seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new BenchUsageError(`--seeds takes integers, got '${opts.string('seeds')}'`, USAGE);
  const evalEvery = opts.int('eval-every') ?? 25;
  const store = RunStore.open(resolve(dir));
  const { method, dataset } = store.record;
  const teacherInfo = store.record.teacher as { dir: string };
  const studentInfo = recordedStudent(store.record.student);
  if (method !== 'deepinversion' && method !== 'zskd') throw new BenchUsageError(`run ${store.id} is ${method}: only DeepInversion and ZSKD runs keep a pool`, USAGE);
  const config = resolveConfig(getMethod(method), dataset as DatasetId, store.record.config) as unknown as PoolRunConfig;
  const s = config.synthesis;
  const batches = s.batches ?? s.impressions! / s.batchSize;

  const backend = await initBackend({ prefer: 'wasm' });
  console.log(JSON.stringify({ run: store.id, method, backend: backend.name, threads: backend.threads }));
  const loaded = await loadTeacher(teacherInfo.dir);
  const testSet = await loadTestSet(opts.string('test-data') ?? dataset, loaded);
  const [h, w, c] = loaded.manifest.inputShape;
  const pool = new SynthPool([s.batchSize, h, w, c], store.dir, method);
  pool.load(batches);
  const phase = poolStudentPhase(pool.size, config.student);
  const perEpoch = phase.stepsPerEpoch!;
  for (const seed of seeds) {
    const student = getClassifier(studentInfo.architecture).build({ inputShape: [h, w, c], numClasses: loaded.manifest.numClasses, name: 'student', width: studentInfo.width, seed: studentInitSeed(seed) });
    const optS = adam(config.student.lr, 0.9, 0.999, 1e-8);
    const context = { teacher: loaded.model, student, inputShape: [h, w, c] as const, numClasses: loaded.manifest.numClasses, buildGenerator: () => { throw new Error('no generator'); } };
    const studentVars = trainableVariables(student);
    const started = performance.now();
    let accuracy = 0;
    for (let step = 0; step < phase.total; step++) {
      // Phase index 1: the student phase follows the synthesis, as in the run.
      poolStudentStep(context, pool, optS, studentVars, config.student, seed, 1, step);
      const epoch = (step + 1) / perEpoch;
      if ((step + 1) % perEpoch === 0 && (epoch % evalEvery === 0 || step + 1 === phase.total)) {
        accuracy = accuracyOn(testSet, student);
        console.log(JSON.stringify({ seed, iteration: step + 1, epoch, testAccuracy: accuracy }));
      }
    }
    console.log(JSON.stringify({ seed, poolSize: pool.size, steps: phase.total, testAccuracy: accuracy, msPerStep: Number(((performance.now() - started) / phase.total).toFixed(1)) }));
    optS.dispose();
    student.dispose();
  }
  pool.clear();
  tf.dispose([testSet.x, testSet.y]);
  loaded.model.dispose();
  return 0;
}
