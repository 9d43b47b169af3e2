/**
 * `distillery distill --print-config`: the config a run would get (the reference's defaults for the
 * teacher's dataset with the options applied) without starting anything; the hint of a bad config
 * points to it. `distillery runs`: the list with each finished student's agreement and test accuracy;
 * `--extend`, lengthening a finished run and resuming it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseArgs } from 'node:util';
import { distillCommand, runsCommand, studentResult } from '../../src-main/cli/commands/distill.ts';
import type { CliCommand } from '../../src-main/cli/command.ts';
import { daflDefaults, getMethod, resolveConfig } from '../../src-main/engine/methods/index.ts';
import { listRuns, RunStore } from '../../src-main/engine/runs/store.ts';
import { useWasm } from '../engine/backend/helpers.ts';
import { tempDirs } from '../temp-dirs.ts';

afterEach(() => vi.restoreAllMocks());

async function distillCli(args: string[], command: CliCommand = distillCommand): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const parsed = parseArgs({ args, options: command.options, allowPositionals: false, strict: true });
    return { code: await command.run(parsed), stdout };
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

describe('distillery runs', () => {
  const tmp = tempDirs('distillery-runs-list-');
  it("lists each finished run with its student's last agreement and test accuracy", async () => {
    const root = tmp();
    const identity = { method: 'rdskd', dataset: 'mnist', config: {}, teacher: {}, student: {} };
    const done = RunStore.create(root, identity, { id: 'done-run' });
    const last = { generator: { total: 1.5 }, student: { kd: 0.25, agreement: 0.9277, testAccuracy: 0.97634 } };
    done.writeSummary({ last });
    done.setStatus('done', { position: { phaseIndex: 2, step: 0, globalStep: 12800 } });
    done.close();
    RunStore.create(root, { ...identity, method: 'zskt' }, { id: 'new-run' }).close();
    const stopped = RunStore.create(root, { ...identity, method: 'dafl', config: { ...daflDefaults('mnist'), epochs: 100, itersPerEpoch: 30 } }, { id: 'stopped-run' });
    stopped.setStatus('paused', { position: { phaseIndex: 0, step: 330, globalStep: 330 } });
    stopped.close();
    RunStore.create(root, { ...identity, method: 'deepinversion' }, { id: 'a-run-with-a-longer-id' }).close();
    const { code, stdout } = await distillCli(['--out', root], runsCommand);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines.find((l) => l.startsWith('done-run'))).toMatch(/rdskd +mnist +done +12800 steps +agreement 0\.928, test accuracy 0\.9763$/);
    expect(lines.find((l) => l.startsWith('new-run'))).toMatch(/zskt +mnist +created +not started$/);
    // A run not yet done shows its plan (from its config); the columns stay aligned past a longer id and method.
    expect(lines.find((l) => l.startsWith('stopped-run'))).toMatch(/dafl +mnist +paused +330 of 3000 steps$/);
    expect(new Set(lines.map((l) => l.indexOf('mnist'))).size).toBe(1);
    expect(studentResult({ last: { joint: { kd: 0.4, agreement: 0.5 } } })).toBe('agreement 0.500');
    expect(studentResult({ last: { generator: { total: 1 } } })).toBe('');
    expect(studentResult(null)).toBe('');
  });
});

describe('distillery runs --extend', () => {
  const tmp = tempDirs('distillery-runs-extend-');

  it('lengthens a finished DAFL run (bundled teacher) and resumes it to the new end; refuses misuse', async () => {
    await useWasm();
    const root = tmp();
    const schedule = ['--set', 'epochs=1', '--set', 'itersPerEpoch=2', '--set', 'batchSize=8', '--set', 'evalSamples=8', '--set', 'sampleEvery=0', '--set', 'checkpointEvery=1'];
    expect((await distillCli(['--method', 'dafl', '--out', root, ...schedule])).code).toBe(0);
    const [run] = listRuns(root);
    expect(run).toMatchObject({ status: 'done', position: { globalStep: 2 } });
    await expect(distillCli(['--out', root, '--set', 'epochs=2'], runsCommand)).rejects.toThrow(/goes with --extend/);
    await expect(distillCli(['--out', root, '--extend', run!.id, '--resume', run!.id, '--set', 'epochs=2'], runsCommand)).rejects.toThrow(/leave out --resume/);
    await expect(distillCli(['--out', root, '--extend', run!.id, '--set', 'lrG=0.1'], runsCommand)).rejects.toThrow(/lrG cannot change/);

    expect((await distillCli(['--out', root, '--extend', run!.id, '--set', 'epochs=2'], runsCommand)).code).toBe(0);
    expect(listRuns(root)[0]).toMatchObject({ status: 'done', position: { globalStep: 4 } });
    expect(RunStore.open(run!.dir).readMetrics().map((m) => m.globalStep)).toEqual([1, 2, 3, 4]);
  }, 120_000);
});

