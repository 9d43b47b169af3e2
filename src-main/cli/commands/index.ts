import type { CliCommand } from '../command.ts';
import { doctorCommand } from './doctor.ts';
import { webCommand } from './web.ts';

/** Every sub-command, in the order `distillery --help` lists them. */
export const commands: CliCommand[] = [doctorCommand, webCommand];
