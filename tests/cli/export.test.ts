/**
 * `distillery export` on a tiny finished run: ONNX and TFLite int8 (default calibration, 8 × 64
 * generated images), found by run id in the runs folder or by folder; the printed files, sizes and
 * how-to-load line; the outputs load in onnxruntime and LiteRT; bad option combinations are
 * BAD_INPUT (exit code 2 in main).
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as ort from 'onnxruntime-node';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { exportCommand, resolveRunDir } from '../../src-main/cli/commands/export.ts';
import { useWasm } from '../engine/backend/helpers.ts';
import { compileTflite } from '../../bench/litert.ts';
import { TINY_CLASSES, TINY_PIXELS, tinyRun } from '../engine/export/tiny-run.ts';
import { tempDir } from '../temp-dirs.ts';

const root = tempDir('distillery-cli-export-');
let runDir: string;

beforeAll(async () => {
  await useWasm();
  runDir = await tinyRun(root, 'rdskd', 'tiny-run');
}, 300_000);

afterEach(() => vi.restoreAllMocks());

/** Runs the command as main() would (parseArgs with its options); returns its exit code and stdout. */
async function exportCli(args: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const parsed = parseArgs({ args, options: exportCommand.options, allowPositionals: false, strict: true });
  const code = await exportCommand.run(parsed);
  vi.restoreAllMocks();
  return { code, stdout };
}

describe('distillery export', () => {
  it('resolves a run id in the runs folder, or a run folder', () => {
    expect(resolveRunDir('tiny-run', join(root, 'runs'))).toBe(runDir);
    expect(resolveRunDir(runDir, '/nowhere')).toBe(runDir);
    expect(() => resolveRunDir('no-such-run', join(root, 'runs'))).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('--format onnx: writes student.onnx, prints its size and how to load it; it runs in onnxruntime', async () => {
    const out = join(root, 'onnx');
    const { code, stdout } = await exportCli(['--run', 'tiny-run', '--runs', join(root, 'runs'), '--format', 'onnx', '--out', out]);
    expect(code).toBe(0);
    const file = join(out, 'student.onnx');
    expect(existsSync(file)).toBe(true);
    expect(stdout).toContain('ONNX model, float32');
    expect(stdout).toMatch(new RegExp(`student\\.onnx +[\\d.]+ KiB`));
    expect(stdout).toContain(`model size: `);
    expect(stdout).toContain(`(${statSync(file).size} bytes)`);
    expect(stdout).toContain('opset 13');
    expect(stdout).toContain(`ort.InferenceSession.create('${file}')`);
    expect(existsSync(join(out, 'report.md'))).toBe(true);
    const session = await ort.InferenceSession.create(file);
    try {
      const x = new ort.Tensor('float32', new Float32Array(2 * 16 * 16).fill(0.25), [2, 1, 16, 16]);
      const y = (await session.run({ [session.inputNames[0]!]: x }))[session.outputNames[0]!]!;
      expect(y.dims).toEqual([2, TINY_CLASSES]);
    } finally {
      await session.release();
    }
  });

  it("--format tflite --int8: calibrated on the run's generator, smaller than float32; it runs in LiteRT", async () => {
    const out = join(root, 'int8');
    const { code, stdout } = await exportCli(['--run', runDir, '--format', 'tflite', '--int8', '--out', out]);
    expect(code).toBe(0);
    const file = join(out, 'student.tflite');
    expect(stdout).toContain("int8 calibrated on 512 generated images from the run's generator (8 × 64) — no real data");
    expect(stdout).toMatch(/float32: [\d.]+ KiB, [\d.]+× smaller/);
    expect(stdout).toContain(`tf.lite.Interpreter(model_path='${file}')`);
    const runner = await compileTflite(readFileSync(file));
    try {
      const y = await runner.run(new Float32Array(TINY_PIXELS).fill(0.25));
      expect(y).toHaveLength(TINY_CLASSES);
      expect(Array.from(y).every(Number.isFinite)).toBe(true);
    } finally {
      runner.delete();
    }
  });

  it('refuses --int8 with TensorFlow.js, --int8-io with ONNX and --float16 with TFLite as bad input, and needs --run', async () => {
    await expect(exportCli(['--run', runDir, '--format', 'tfjs', '--int8'])).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/int8 is not supported for TensorFlow\.js/) });
    await expect(exportCli(['--run', runDir, '--format', 'onnx', '--int8', '--int8-io'])).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/int8 input and output are for TFLite exports only/) });
    await expect(exportCli(['--run', runDir, '--format', 'tflite', '--float16'])).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(exportCli(['--run', runDir, '--format', 'coreml'])).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(exportCli(['--format', 'onnx'])).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(exportCli(['--run', join(root, 'nothing-here'), '--format', 'onnx'])).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
