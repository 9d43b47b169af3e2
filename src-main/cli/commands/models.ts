import { ARCHITECTURES, countTrainableParams } from '../../engine/models/registry.ts';
import { out, type CliCommand } from '../command.ts';

export const modelsCommand: CliCommand = {
  name: 'models',
  summary: 'the model zoo: architectures for teachers, students and generators',
  usage: 'Usage: distillery models [--json]\n\nLists every architecture with its reference configuration and parameter count\n(counting BatchNorm running statistics, as the papers do).',
  options: { json: { type: 'boolean' } },
  async run({ values }) {
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    const rows = ARCHITECTURES.map((a) => {
      const model = a.kind === 'classifier'
        ? a.build({ inputShape: a.reference.shape, numClasses: a.reference.numClasses ?? 10 })
        : a.build({ outputShape: a.reference.shape, latentDim: a.reference.latentDim ?? 100 });
      const row = { name: a.name, kind: a.kind, description: a.description, reference: a.reference, params: model.countParams(), trainableParams: countTrainableParams(model), paperParams: a.paperParams ?? null };
      model.dispose();
      return row;
    });
    if (values.json) {
      out.print(JSON.stringify(rows, null, 2));
      return 0;
    }
    const width = Math.max(...rows.map((r) => r.name.length));
    for (const r of rows) {
      const shape = r.reference.shape.join('×');
      out.print(`${r.name.padEnd(width)}  ${r.kind.padEnd(10)} ${r.params.toLocaleString('en-US').padStart(11)} params at ${shape}${r.kind === 'generator' ? ` (latent ${r.reference.latentDim})` : ''}`);
      out.print(`${''.padEnd(width)}  ${r.description}`);
    }
    return 0;
  },
};
