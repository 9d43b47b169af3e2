import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { bundledTeachersDir, DistilleryError } from '../../engine/index.ts';
import { DEFAULT_TEACHER, DISTILL_OPTIONS, printResult, runDistill } from './distill.ts';
import { out, type CliCommand } from '../command.ts';

/**
 * The README's main job: RDSKD from the bundled LeNet5 MNIST teacher into LeNet5-half, with test
 * accuracy on the real MNIST test set logged (never used to pick the student). The schedule is
 * shortened so it ends in minutes on a laptop CPU; the reference schedule is `distillery distill`
 * with no schedule flags (hours on 2 cores).
 */
export const DEMO_SCHEDULE = {
  'generator.epochs': 1,
  'generator.itersPerEpoch': 60,
  'generator.batchSize': 256,
  'student.epochs': 1,
  'student.itersPerEpoch': 300,
  'student.batchSize': 256,
  sampleEvery: 20,
  evalEvery: 100,
  checkpointEvery: 50,
} as const;

export const demoCommand: CliCommand = {
  name: 'demo',
  summary: 'distil the bundled MNIST teacher into LeNet5-half with RDSKD (short schedule)',
  usage: `Usage: distillery demo [distill options]

Runs RDSKD from the bundled ${DEFAULT_TEACHER} teacher into lenet5-half on a short schedule
(${Object.entries(DEMO_SCHEDULE).map(([k, v]) => `${k}=${v}`).join(', ')}),
logging accuracy on the 10,000 MNIST test images. Any \`distillery distill\` option overrides it.`,
  options: DISTILL_OPTIONS,
  async run({ values }) {
    const teacher = join(bundledTeachersDir(), DEFAULT_TEACHER);
    if (!existsSync(join(teacher, 'model.json'))) throw new DistilleryError('NOT_FOUND', `the bundled teacher is missing (${teacher})`, 'reinstall Distillery');
    const set = [...Object.entries(DEMO_SCHEDULE).map(([k, v]) => `${k}=${v}`), ...((values.set as string[] | undefined) ?? [])];
    out.status(`Distilling the bundled ${DEFAULT_TEACHER} teacher into lenet5-half with RDSKD (short demo schedule).`);
    const result = await runDistill({ 'test-data': 'mnist', ...values, set });
    printResult(result);
    const accuracy = result.last.student?.testAccuracy;
    if (accuracy !== undefined) out.print(`Student test accuracy on MNIST: ${(accuracy * 100).toFixed(2)} % (teacher: see resources/teachers/${DEFAULT_TEACHER}/manifest.json)`);
    return 0;
  },
};
