import type { ParseArgsConfig } from 'node:util';
import { DistilleryError } from '../engine/errors.ts';

export type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

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
  run(args: { values: ParsedValues; positionals: string[] }): Promise<number>;
}

/** The CLI's output: stdout for results, stderr for progress, so results can be piped. */
export const out = {
  print: (line = ''): void => void process.stdout.write(`${line}\n`),
  status: (line: string): void => void process.stderr.write(`${line}\n`),
};

/** A string option, or undefined; rejects repeated use. */
export function stringOption(values: ParsedValues, name: string): string | undefined {
  const value = values[name];
  if (value === undefined || typeof value === 'string') return value;
  throw new DistilleryError('BAD_INPUT', `--${name} takes one value`);
}

/** A numeric option within [min, max], or the fallback when absent. */
export function numberOption(values: ParsedValues, name: string, fallback: number, min = -Infinity, max = Infinity): number {
  const raw = stringOption(values, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new DistilleryError('BAD_INPUT', `--${name} must be a number in [${min}, ${max}], got '${raw}'`);
  }
  return value;
}
