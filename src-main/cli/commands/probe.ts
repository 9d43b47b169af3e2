import * as tf from '@tensorflow/tfjs';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initBackend, isBackendName } from '../../engine/backend/index.ts';
import { DATA_SPEC_HELP } from '../../engine/data/open.ts';
import { loadTestSet } from '../../engine/data/test-set.ts';
import { DistilleryError } from '../../engine/errors.ts';
import { beliefMatch, beliefMatchFigure, teacherPushedNoise } from '../../engine/metrics/belief-match.ts';
import type { ImageSource } from '../../engine/metrics/batching.ts';
import { encodeFigure } from '../../engine/metrics/plot.ts';
import { openRun, type OpenedRun } from '../../engine/metrics/run-samples.ts';
import { checkModelMatches, loadModel, loadTeacher } from '../../engine/models/index.ts';
import { mulberry32 } from '../../engine/random.ts';
import type { TestSet } from '../../engine/methods/method.ts';
import { RUN_FILES } from '../../engine/runs/store.ts';
import { numberOption, out, stringOption, type CliCommand } from '../command.ts';

type Source = 'test' | 'run' | 'noise';

/** Images of `x` in a seeded random order (the reference samples test images at random). */
function shuffled(x: tf.Tensor4D, seed: number): ImageSource {
  const n = x.shape[0];
  const order = Array.from({ length: n }, (_, i) => i);
  const rng = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return { count: n, batch: (start, size) => tf.tidy(() => tf.gather(x, tf.tensor1d(order.slice(start, start + size), 'int32')) as tf.Tensor4D) };
}

export const probeCommand: CliCommand = {
  name: 'probe',
  summary: "ZSKT's belief-match probe: teacher vs student transition curves i → j and the mean transition error",
  usage: [
    'Usage: distillery probe --teacher DIR --student DIR [options]',
    '',
    '  --teacher DIR      the teacher folder (model.json + manifest.json)',
    '  --student DIR      a run folder (its result student) or a model folder (model.json)',
    '  --samples N        starting images on which both networks agree (default 100)',
    '  --steps K          adversarial steps per image and target class (default 100)',
    '  --lr η             step size of the gradient descent on the image (default 1)',
    `  --test-data SPEC   start from test images (${DATA_SPEC_HELP}), as the ZSKT paper does`,
    "  --source S         test | run | noise (default: test with --test-data, else run for a run",
    '                     folder, else noise)',
    '  --seed N           order of the test images, the generated samples or the noise (default 0)',
    '  --out FILE.png     the transition-curve chart (default belief-match.png)',
    '  --width W, --height H   chart size in pixels (default 1200 × 700)',
    '  --backend NAME     tensorflow, webgpu, wasm or cpu (default: the fastest available)',
    '',
    'For every starting image x (class i for both networks) and every class j ≠ i, takes K steps',
    'x ← x − η ∇ CE(student(x), j) and records p_j under teacher and student before each step.',
    'Mean transition error = mean |p_j(teacher) − p_j(student)| over images, targets and steps',
    '(Micaelli & Storkey 2019, §4.4). Starting images: test images (--test-data); data-free, the',
    "run's generated samples (or its synthesised pool); or, without either, Gaussian noise pushed",
    "20 steps towards each class by the teacher's cross-entropy. Only images on which teacher and",
    'student predict the same class are used. Prints one JSON object.',
  ].join('\n'),
  options: {
    teacher: { type: 'string' },
    student: { type: 'string' },
    samples: { type: 'string' },
    steps: { type: 'string' },
    lr: { type: 'string' },
    'test-data': { type: 'string' },
    source: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    width: { type: 'string' },
    height: { type: 'string' },
    backend: { type: 'string' },
  },
  async run({ values }) {
    const teacherDir = stringOption(values, 'teacher');
    const studentDir = stringOption(values, 'student');
    if (!teacherDir || !studentDir) {
      throw new DistilleryError('BAD_INPUT', 'probe needs --teacher and --student', 'e.g. distillery probe --teacher resources/teachers/lenet5-mnist --student ~/.distillery/runs/<run> --test-data mnist');
    }
    const samples = Math.floor(numberOption(values, 'samples', 100, 1, 100_000));
    const steps = Math.floor(numberOption(values, 'steps', 100, 1, 100_000));
    const lr = numberOption(values, 'lr', 1, 0);
    if (!(lr > 0)) throw new DistilleryError('BAD_INPUT', '--lr must be positive');
    const seed = Math.floor(numberOption(values, 'seed', 0, 0));
    const width = Math.floor(numberOption(values, 'width', 1200, 200, 8000));
    const height = Math.floor(numberOption(values, 'height', 700, 150, 8000));
    const testData = stringOption(values, 'test-data');
    const isRun = existsSync(join(studentDir, RUN_FILES.config));
    const source = (stringOption(values, 'source') ?? (testData ? 'test' : isRun ? 'run' : 'noise')) as Source;
    if (!['test', 'run', 'noise'].includes(source)) throw new DistilleryError('BAD_INPUT', `--source must be test, run or noise, got ${source}`);
    if (source === 'test' && !testData) throw new DistilleryError('BAD_INPUT', '--source test needs --test-data SPEC');
    if (source === 'run' && !isRun) throw new DistilleryError('BAD_INPUT', `--source run needs a run folder as --student; ${studentDir} has no ${RUN_FILES.config}`);
    const outFile = resolve(stringOption(values, 'out') ?? 'belief-match.png');
    const backendName = stringOption(values, 'backend');
    if (backendName !== undefined && !isBackendName(backendName)) throw new DistilleryError('BAD_INPUT', `--backend ${backendName} is not a backend`);
    const backend = await initBackend(backendName ? { prefer: backendName } : {});
    out.status(`Backend: ${backend.name} (${backend.reason})`);

    const started = performance.now();
    const teacher = await loadTeacher(teacherDir);
    let run: OpenedRun | null = null;
    let plainStudent: tf.LayersModel | null = null;
    let candidates: tf.Tensor4D | null = null;
    let testX: TestSet | null = null;
    try {
      let student: tf.LayersModel;
      let studentSource: string;
      if (isRun) {
        run = await openRun(studentDir, { teacher });
        student = run.student;
        studentSource = `run ${run.record.id}: ${run.studentSource}`;
      } else {
        plainStudent = await loadModel(studentDir);
        checkModelMatches(plainStudent, teacher.manifest.inputShape, teacher.manifest.numClasses, studentDir);
        student = plainStudent;
        studentSource = resolve(studentDir);
      }
      let images: ImageSource;
      let described: string;
      if (source === 'test') {
        const test = await loadTestSet(testData!, teacher);
        testX = test;
        images = shuffled(test.x, seed);
        described = `${test.name}, in a random order (seed ${seed})`;
      } else if (source === 'run') {
        const want = Math.max(4 * samples, 512);
        const n = run!.poolSize !== null ? Math.min(want, run!.poolSize) : want;
        candidates = run!.samples(n, seed);
        if (!candidates) throw new DistilleryError('BAD_INPUT', `run ${run!.record.id} has no samples yet`, 'use --test-data or --source noise');
        images = candidates;
        described = `${n} samples of ${run!.sampleSource} of run ${run!.record.id} (seed ${seed})`;
      } else {
        candidates = teacherPushedNoise(teacher.model, Math.max(4 * samples, 512), { seed, steps: 20, lr: 0.1 });
        images = candidates;
        described = `Gaussian noise N(0, 1) in the teacher's input space, pushed 20 steps (η 0.1) towards class k mod ${teacher.manifest.numClasses} by the teacher's cross-entropy (seed ${seed})`;
      }
      let lastPrint = 0;
      const result = await beliefMatch({
        teacher: teacher.model,
        student,
        candidates: images,
        samples,
        steps,
        lr,
        onProgress: (done, total) => {
          const now = performance.now();
          if (now - lastPrint > 10_000 || done === total) {
            lastPrint = now;
            out.status(`probe: ${done}/${total} image × target rows`);
          }
        },
      });
      writeFileSync(
        outFile,
        encodeFigure(beliefMatchFigure(result, { width, height, source: described, classNames: teacher.manifest.classNames })),
      );
      out.print(
        JSON.stringify(
          {
            meanTransitionError: result.meanTransitionError,
            samples: result.samples,
            targetsPerSample: result.numClasses - 1,
            steps: result.steps,
            lr: result.lr,
            source,
            startingImages: described,
            candidatesSeen: result.candidatesSeen,
            candidatesMatching: result.candidatesMatching,
            perClass: result.perClass,
            teacher: resolve(teacherDir),
            student: studentSource,
            curves: result.curves,
            pairError: result.pairError,
            png: { file: outFile, width, height },
            backend: backend.name,
            seconds: Math.round((performance.now() - started) / 100) / 10,
          },
          null,
          2,
        ),
      );
      return 0;
    } finally {
      candidates?.dispose();
      if (testX) tf.dispose([testX.x, testX.y]);
      run?.dispose();
      plainStudent?.dispose();
      teacher.model.dispose();
    }
  },
};
