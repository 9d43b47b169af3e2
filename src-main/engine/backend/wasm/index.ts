/**
 * Distillery's wasm backend set-up: threads under Node, the training kernels (kernels.ts) and the
 * FusedBatchNorm and LeakyRelu gradients (batchnorm_grad.ts, leaky_relu_grad.ts).
 *
 * Threads: @tensorflow/tfjs-backend-wasm disables threads in Node, and its C++ side uses half the
 * reported logical cores. Our patch (patches/@tensorflow+tfjs-backend-wasm+*.patch, applied by
 * `patch-package` on install) writes the thread worker scripts to files so Node's worker_threads can
 * load them, allows threads in Node, and reports twice the core count so every core is used.
 * DISTILLERY_WASM_THREADS=N chooses N threads (1 = no worker threads at all). Without the patch
 * (e.g. install scripts disabled) the backend runs single-threaded, as stock.
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { registerWasmKernels } from './kernels.ts';
import { registerBatchNormGradient } from './batchnorm_grad.ts';
import { registerLeakyReluGradient } from './leaky_relu_grad.ts';

const FLAG = 'WASM_HAS_MULTITHREAD_SUPPORT';

/** Threads asked for: DISTILLERY_WASM_THREADS, else every core. */
export function wantedWasmThreads(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.DISTILLERY_WASM_THREADS);
  if (Number.isInteger(n) && n > 0) return n;
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

/**
 * Called once the wasm package is loaded and before tf.setBackend('wasm'). In Node, threads are
 * only turned on when the patched package is installed (the stock one cannot start Node workers).
 */
export async function prepareWasm(): Promise<void> {
  const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as unknown as { setThreadsCount(n: number): void };
  const threads = wantedWasmThreads();
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (isNode) {
    if (!(await wasmPatchedForNode()) || threads === 1) tf.env().set(FLAG, false);
    else process.env.TFJS_WASM_NODE_THREADS ??= String(threads);
  }
  wasm.setThreadsCount(threads);
}

/** Is the installed tfjs-backend-wasm patched to run threads in Node? */
export async function wasmPatchedForNode(): Promise<boolean> {
  try {
    const { createRequire } = await import('node:module');
    const { readFileSync } = await import('node:fs');
    const file = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
    return readFileSync(file, 'utf8').includes('function nodeThreadScriptFile(');
  } catch {
    return false;
  }
}

/** The set-up hook backend/index.ts runs after tf.setBackend('wasm'). */
export function setUpWasm(): void {
  registerWasmKernels();
  registerBatchNormGradient();
  registerLeakyReluGradient();
}
