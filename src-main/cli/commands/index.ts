import type { CliCommand } from '../command.ts';
import { demoCommand } from './demo.ts';
import { distillCommand, runsCommand } from './distill.ts';
import { doctorCommand } from './doctor.ts';
import { evalCommand } from './eval.ts';
import { exportCommand } from './export.ts';
import { modelsCommand } from './models.ts';
import { probeCommand } from './probe.ts';
import { trainTeacherCommand } from './train-teacher.ts';
import { webCommand } from './web.ts';

/** Every sub-command, in the order `distillery --help` lists them. */
export const commands: CliCommand[] = [demoCommand, distillCommand, runsCommand, exportCommand, trainTeacherCommand, evalCommand, probeCommand, modelsCommand, doctorCommand, webCommand];
