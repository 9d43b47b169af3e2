import { describe, expect, it } from 'vitest';
import { BenchUsageError, parseBenchArgs } from '../../bench/options.ts';

const OPTIONS = { quick: { type: 'boolean' }, steps: { type: 'string' } } as const;
const USAGE = 'npm run bench -- x [--quick] [--steps N]';

describe('bench options', () => {
  it('reads flags, values and integers', () => {
    const a = parseBenchArgs(['--quick', '--steps', '30'], OPTIONS, USAGE);
    expect(a.flag('quick')).toBe(true);
    expect(a.string('steps')).toBe('30');
    expect(a.int('steps')).toBe(30);
    const b = parseBenchArgs([], OPTIONS, USAGE);
    expect([b.flag('quick'), b.string('steps'), b.int('steps')]).toEqual([false, undefined, undefined]);
  });

  it('refuses a mistyped option, a missing value, a bad integer and stray words, with the usage', () => {
    const refused = (args: string[], min?: number) => {
      try {
        parseBenchArgs(args, OPTIONS, USAGE).int('steps', min);
      } catch (error) {
        expect(error).toBeInstanceOf(BenchUsageError);
        expect((error as BenchUsageError).usage).toBe(USAGE);
        return (error as Error).message;
      }
      return null;
    };
    expect(refused(['--step', '30'])).toMatch(/--step/);
    expect(refused(['--steps'])).toMatch(/--steps/);
    expect(refused(['--steps', '2.5'])).toMatch(/integer ≥ 1, got '2.5'/);
    expect(refused(['--steps', '0'])).toMatch(/integer ≥ 1/);
    expect(refused(['--steps', '0'], 0)).toBeNull();
    expect(refused(['runs/x'])).toMatch(/runs\/x/);
    expect(parseBenchArgs(['runs/x', '--quick'], OPTIONS, USAGE, true).positionals).toEqual(['runs/x']);
  });
});
