/**
 * `distillery distill --print-config`: the config a run would get (the reference's defaults for the
 * teacher's dataset with the options applied) without starting anything; the hint of a bad config
 * points to it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseArgs } from 'node:util';
import { distillCommand } from '../../src-main/cli/commands/distill.ts';
import { getMethod, resolveConfig } from '../../src-main/engine/methods/index.ts';

afterEach(() => vi.restoreAllMocks());

async function distillCli(args: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const parsed = parseArgs({ args, options: distillCommand.options, allowPositionals: false, strict: true });
    return { code: await distillCommand.run(parsed), stdout };
  } finally {
    vi.restoreAllMocks();
  }
}

describe('distillery distill --print-config', () => {
  it('prints the method\'s MNIST defaults for the bundled teacher, with --set and shorthand options applied', async () => {
    const { code, stdout } = await distillCli(['--method', 'zskd', '--print-config', '--set', 'synthesis.impressions=6000', '--seed', '3']);
    expect(code).toBe(0);
    const printed = JSON.parse(stdout) as { seed: number; synthesis: { impressions: number; iterations: number } };
    const expected = resolveConfig(getMethod('zskd'), 'mnist', { seed: 3, synthesis: { impressions: 6000 } });
    expect(printed).toEqual(expected);
    expect(printed.synthesis.iterations).toBe(1500); // the reference's, untouched
  });

  it('refuses an unknown key with a hint that names --print-config', async () => {
    await expect(distillCli(['--method', 'zskd', '--print-config', '--set', 'synthesis.batches=3'])).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringContaining('Unrecognized key: "batches"'),
      hint: expect.stringContaining('distillery distill --method zskd --print-config'),
    });
  });
});
