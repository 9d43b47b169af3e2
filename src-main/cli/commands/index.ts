import type { CliCommand } from '../command.ts';
import { doctorCommand } from './doctor.ts';

/** Every sub-command, in the order `distillery --help` lists them. */
export const commands: CliCommand[] = [doctorCommand];
