/**
 * A real TFLite runtime for the export tests and the int8 bench (a dev dependency, never shipped):
 * LiteRT.js (@litertjs/core, Google's WebAssembly build of LiteRT — TensorFlow Lite's current name —
 * with its XNNPACK CPU kernels), run in Node.
 *
 * LiteRT.js is published for browsers: it loads its Emscripten glue with a <script> tag, or with
 * importScripts in a worker. The glue itself supports Node (it reads the .wasm with fs), so this
 * helper provides `importScripts`, evaluating the glue as the CommonJS script it is; the runtime
 * and its kernels are the package's own, unchanged. Loading logs LiteRT's INFO lines and one
 * warning that there is no WebGPU (there is no `navigator` in Node): the CPU accelerator is used.
 */
import vm from 'node:vm';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as LiteRt from '@litertjs/core';

type LiteRtModule = typeof LiteRt;

let loading: Promise<LiteRtModule> | undefined;

/** The LiteRT.js module, its WebAssembly runtime loaded (once per process). */
export function loadLiteRt(): Promise<LiteRtModule> {
  loading ??= (async () => {
    const scope = globalThis as unknown as Record<string, unknown>;
    scope.self ??= globalThis;
    scope.importScripts = (url: string | URL) => {
      const file = fileURLToPath(url);
      const module = { exports: {} as unknown };
      const wrapper = vm.runInThisContext(`(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'utf8')}\n})`, { filename: file }) as (...args: unknown[]) => void;
      wrapper(module.exports, createRequire(file), module, file, dirname(file));
      scope.ModuleFactory = module.exports;
    };
    const liteRt = await import('@litertjs/core');
    const wasmDir = join(dirname(createRequire(import.meta.url).resolve('@litertjs/core')), '..', 'wasm');
    await liteRt.loadLiteRt(pathToFileURL(wasmDir).href + '/');
    return liteRt;
  })();
  return loading;
}

export interface TfliteRunner {
  /** Runs one float32 input [1, h, w, c] and returns the float32 output. */
  run(input: Float32Array): Promise<Float32Array>;
  inputShape: number[];
  outputShape: number[];
  delete(): void;
}

/** Compiles a .tflite file with LiteRT's CPU (wasm, XNNPACK) accelerator. */
export async function compileTflite(file: Uint8Array): Promise<TfliteRunner> {
  const liteRt = await loadLiteRt();
  const model = await liteRt.loadAndCompile(file, { accelerator: 'wasm' });
  const [inputDetails] = model.getInputDetails();
  const [outputDetails] = model.getOutputDetails();
  const inputShape = Array.from(inputDetails!.shape);
  return {
    inputShape,
    outputShape: Array.from(outputDetails!.shape),
    async run(input) {
      const tensor = new liteRt.Tensor(input, inputShape);
      try {
        const [out] = await model.run([tensor]);
        const values = Float32Array.from(out!.toTypedArray() as Float32Array);
        out!.delete();
        return values;
      } finally {
        tensor.delete();
      }
    },
    delete: () => model.delete(),
  };
}
