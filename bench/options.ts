/**
 * Command-line options of the benches, parsed the way the `distillery` CLI parses its own
 * (node:util parseArgs, strict). Why strict: a bench that silently ignored a mistyped option
 * (`--step 30` for `--steps 30`) printed figures measured under the defaults.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { stringOption, type ParsedValues } from '../src-main/cli/command.ts';

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** A bench's command line that does not parse: bin/bench.js prints the message and the usage, exit 2. */
export class BenchUsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
    this.name = 'BenchUsageError';
  }
}

export interface BenchArgs {
  /** The value of a string option, or undefined when absent. */
  string(name: string): string | undefined;
  /** Every value of a repeatable string option (`multiple: true`), in order; [] when absent. */
  strings(name: string): string[];
  /** Whether a boolean option was given. */
  flag(name: string): boolean;
  /** An integer option ≥ min, or undefined when absent. */
  int(name: string, min?: number): number | undefined;
  positionals: string[];
}

/**
 * Parses `args` against `options` (long names without the dashes; `type: 'boolean'` for flags,
 * 'string' for options with a value). Unknown options, missing values and stray positionals
 * (unless `positionals` is set) throw BenchUsageError with `usage`.
 */
export function parseBenchArgs(args: string[], options: OptionSpecs, usage: string, positionals = false): BenchArgs {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: positionals, strict: true });
  } catch (error) {
    throw new BenchUsageError(error instanceof Error ? error.message : String(error), usage);
  }
  const values = parsed.values as ParsedValues;
  const string = (name: string): string | undefined => stringOption(values, name);
  return {
    string,
    strings: (name) => {
      const raw = values[name];
      return Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? [raw] : [];
    },
    flag: (name) => values[name] === true,
    int(name, min = 1) {
      const raw = string(name);
      if (raw === undefined) return undefined;
      const v = Number(raw);
      if (!Number.isInteger(v) || v < min) throw new BenchUsageError(`--${name} must be an integer ≥ ${min}, got '${raw}'`, usage);
      return v;
    },
    positionals: parsed.positionals,
  };
}
