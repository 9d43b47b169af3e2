import { join } from 'node:path';
import { dataHome } from '../../engine/paths.ts';
import { initBackend, isBackendName } from '../../engine/backend/index.ts';
import { DistilleryError } from '../../engine/errors.ts';
import { DATA_SPEC_HELP } from '../../engine/data/open.ts';
import { ARCHITECTURES, getClassifier } from '../../engine/models/registry.ts';
import { formatEvaluation } from '../../engine/teacher/eval.ts';
import { trainTeacher } from '../../engine/teacher/train.ts';
import { numberOption, out, stringOption, type CliCommand } from '../command.ts';
import { progressPrinter } from './progress-line.ts';

export const trainTeacherCommand: CliCommand = {
  name: 'train-teacher',
  summary: 'train a teacher (cross-entropy) on a labelled dataset and save it with its manifest',
  usage: [
    'Usage: distillery train-teacher --arch NAME --data SPEC [options]',
    '',
    `  --arch NAME        ${ARCHITECTURES.filter((a) => a.kind === 'classifier').map((a) => a.name).join(', ')} (or any wrn-D-K)`,
    `  --data SPEC        ${DATA_SPEC_HELP}`,
    '  --out DIR          where to save model.json, weights and manifest.json',
    '                     (default: $DISTILLERY_HOME/teachers/<arch>-<data>, DISTILLERY_HOME defaults to ~/.distillery)',
    '  --epochs N         default 10',
    '  --batch-size N     default 256',
    '  --lr X             Adam learning rate, default 0.001',
    '  --schedule S       cosine (default: decays to 0 over the run) or constant',
    '  --seed N           seed of the initial weights and the data order, default 1',
    '  --resume           continue from the checkpoint in DIR/checkpoints (written after every epoch)',
    '  --keep-checkpoints keep DIR/checkpoints after a successful run',
    '  --train-limit N    train on the first N shuffled training images only (quick looks)',
    '  --test-limit N     evaluate on the first N test images only',
    '  --backend NAME     tensorflow, webgpu, wasm or cpu (default: the fastest available)',
    '  --json             print the result (manifest, evaluation, history) as JSON',
  ].join('\n'),
  options: {
    arch: { type: 'string' },
    data: { type: 'string' },
    out: { type: 'string' },
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    lr: { type: 'string' },
    schedule: { type: 'string' },
    seed: { type: 'string' },
    resume: { type: 'boolean' },
    'keep-checkpoints': { type: 'boolean' },
    'train-limit': { type: 'string' },
    'test-limit': { type: 'string' },
    backend: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run({ values }) {
    const arch = stringOption(values, 'arch');
    const data = stringOption(values, 'data');
    if (!arch || !data) throw new DistilleryError('BAD_INPUT', 'train-teacher needs --arch and --data', 'e.g. distillery train-teacher --arch lenet5 --data mnist');
    const spec = getClassifier(arch);
    const schedule = stringOption(values, 'schedule') ?? 'cosine';
    if (schedule !== 'cosine' && schedule !== 'constant') throw new DistilleryError('BAD_INPUT', `--schedule must be cosine or constant, got ${schedule}`);
    const backendName = stringOption(values, 'backend');
    if (backendName !== undefined && !isBackendName(backendName)) throw new DistilleryError('BAD_INPUT', `--backend ${backendName} is not a backend`);
    const trainLimit = values['train-limit'] !== undefined ? numberOption(values, 'train-limit', 0, 1) : undefined;
    const testLimit = values['test-limit'] !== undefined ? numberOption(values, 'test-limit', 0, 1) : undefined;
    const dataTag = data.replace(/^.*[:/\\]/, '').replace(/[^\w.-]+/g, '_') || 'data';
    const outDir = stringOption(values, 'out') ?? join(dataHome(), 'teachers', `${spec.name}-${dataTag}`);
    const backend = await initBackend(backendName ? { prefer: backendName } : {});
    out.status(`Backend: ${backend.name} (${backend.reason}${backend.threads ? `, ${backend.threads} thread${backend.threads > 1 ? 's' : ''}` : ''})`);
    out.status(`Training ${spec.name} on ${data} → ${outDir}`);
    const result = await trainTeacher({
      arch: spec.name,
      data,
      outDir,
      epochs: numberOption(values, 'epochs', 10, 1),
      batchSize: numberOption(values, 'batch-size', 256, 1),
      learningRate: numberOption(values, 'lr', 1e-3, 0),
      schedule,
      seed: numberOption(values, 'seed', 1),
      resume: values.resume === true,
      keepCheckpoints: values['keep-checkpoints'] === true,
      ...(trainLimit !== undefined ? { trainLimit: Math.floor(trainLimit) } : {}),
      ...(testLimit !== undefined ? { testLimit: Math.floor(testLimit) } : {}),
      command: `distillery train-teacher ${process.argv.slice(3).join(' ')}`.trim(),
      onProgress: progressPrinter(),
    });
    if (values.json) {
      out.print(JSON.stringify({ outDir: result.outDir, seconds: result.seconds, msPerStep: result.msPerStep, backend: result.backend, history: result.history, evaluation: result.evaluation, manifest: result.manifest }, null, 2));
    } else {
      out.print(`Saved ${result.manifest.name} to ${result.outDir}`);
      out.print(`Training: ${result.seconds.toFixed(0)} s on ${result.backend}, ${result.history.length} epochs, ${result.msPerStep.toFixed(0)} ms per step`);
      out.print('');
      out.print(formatEvaluation(result.evaluation));
    }
    return 0;
  },
};
