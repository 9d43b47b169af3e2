import type { ParseArgsConfig } from 'node:util';

/** One `distillery <name>` sub-command. Options are parsed with node:util parseArgs. */
export interface CliCommand {
  name: string;
  /** One line for `distillery --help`. */
  summary: string;
  /** Usage text for `distillery <name> --help`. */
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Allow positional arguments. */
  positionals?: boolean;
  run(args: { values: Record<string, string | boolean | string[] | boolean[] | undefined>; positionals: string[] }): Promise<number>;
}

/** The CLI's output: stdout for results, stderr for progress, so results can be piped. */
export const out = {
  print: (line = ''): void => void process.stdout.write(`${line}\n`),
  status: (line: string): void => void process.stderr.write(`${line}\n`),
};
