import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { initBackend, isBackendName } from '../../engine/backend/index.ts';
import { DistilleryError } from '../../engine/errors.ts';
import { DATA_SPEC_HELP, openDataset } from '../../engine/data/open.ts';
import { DATASET_PRESETS } from '../../engine/data/presets.ts';
import { Preprocessor } from '../../engine/data/preprocess.ts';
import { checkModelMatches, loadModel, loadTeacher, modelJsonPath } from '../../engine/models/io.ts';
import { MANIFEST_FILE, type Preprocessing } from '../../engine/models/manifest.ts';
import { evaluate, formatEvaluation } from '../../engine/teacher/eval.ts';
import { numberOption, out, stringOption, type CliCommand } from '../command.ts';
import { progressPrinter } from './progress-line.ts';

export const evalCommand: CliCommand = {
  name: 'eval',
  summary: 'accuracy, per-class accuracy and confusion matrix of a model on a labelled dataset',
  usage: [
    'Usage: distillery eval --model DIR --data SPEC [options]',
    '',
    '  --model DIR        a folder with model.json (TensorFlow.js layers model) and manifest.json',
    `  --data SPEC        ${DATA_SPEC_HELP}`,
    '  --split S          test (default) or train',
    '  --batch-size N     default 500',
    '  --limit N          evaluate the first N images only',
    '  --backend NAME     tensorflow, webgpu, wasm or cpu (default: the fastest available)',
    '  --json             print the evaluation as JSON',
    '',
    'The manifest says how to preprocess the images. A model without one is evaluated with the',
    "dataset's reference preprocessing when its input shape matches it.",
  ].join('\n'),
  options: {
    model: { type: 'string' },
    data: { type: 'string' },
    split: { type: 'string' },
    'batch-size': { type: 'string' },
    limit: { type: 'string' },
    backend: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run({ values }) {
    const location = stringOption(values, 'model');
    const data = stringOption(values, 'data');
    if (!location || !data) throw new DistilleryError('BAD_INPUT', 'eval needs --model and --data', 'e.g. distillery eval --model resources/teachers/lenet5-mnist --data mnist');
    const split = stringOption(values, 'split') ?? 'test';
    if (split !== 'test' && split !== 'train') throw new DistilleryError('BAD_INPUT', `--split must be test or train, got ${split}`);
    const backendName = stringOption(values, 'backend');
    if (backendName !== undefined && !isBackendName(backendName)) throw new DistilleryError('BAD_INPUT', `--backend ${backendName} is not a backend`);
    const limit = values.limit !== undefined ? Math.floor(numberOption(values, 'limit', 0, 1)) : undefined;
    const backend = await initBackend(backendName ? { prefer: backendName } : {});
    if (!values.json) out.status(`Backend: ${backend.name} (${backend.reason})`);
    const source = await openDataset(data, split);
    try {
      const hasManifest = existsSync(join(dirname(modelJsonPath(location)), MANIFEST_FILE));
      let model;
      let inputShape: number[];
      let preprocessing: Preprocessing;
      let classNames: string[] | undefined;
      if (hasManifest) {
        const teacher = await loadTeacher(location);
        model = teacher.model;
        inputShape = teacher.manifest.inputShape;
        preprocessing = teacher.manifest.preprocessing;
        classNames = teacher.manifest.classNames;
        if (teacher.manifest.numClasses !== source.numClasses) {
          model.dispose();
          throw new DistilleryError('BAD_INPUT', `the model has ${teacher.manifest.numClasses} classes, ${source.description} has ${source.numClasses}`);
        }
      } else {
        const preset = DATASET_PRESETS[source.kind];
        model = await loadModel(location);
        inputShape = model.inputs[0]!.shape.slice(1) as number[];
        if (!preset || preset.inputShape.some((d, i) => d !== inputShape[i])) {
          model.dispose();
          throw new DistilleryError('BAD_MODEL', `${location} has no ${MANIFEST_FILE}, and its input [${inputShape.join(', ')}] is not the reference input of this dataset`, 'write a manifest.json beside model.json (input shape, preprocessing, class names)');
        }
        checkModelMatches(model, inputShape, source.numClasses, location);
        preprocessing = preset.preprocessing;
        if (!values.json) out.status(`No ${MANIFEST_FILE}: using the reference preprocessing of ${source.kind}.`);
      }
      const pre = new Preprocessor(source.shape, inputShape, preprocessing);
      const evaluation = await evaluate(model, source, pre, {
        batchSize: numberOption(values, 'batch-size', 500, 1),
        ...(limit !== undefined ? { limit } : {}),
        ...(classNames ? { classNames } : {}),
        onProgress: values.json ? undefined : progressPrinter({ everySeconds: 10 }),
      });
      model.dispose();
      out.print(values.json ? JSON.stringify({ model: location, backend: backend.name, ...evaluation }, null, 2) : formatEvaluation(evaluation));
      return 0;
    } finally {
      source.close();
    }
  },
};
