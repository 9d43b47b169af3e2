/**
 * Backend selection. TensorFlow.js can run on several backends; which ones exist depends on the
 * user's machine. We try them in order of speed for training, use the first that works, and say
 * why — in `distillery doctor` and in every run's record:
 *
 *   tensorflow (tfjs-node-gpu, then tfjs-node; optional dependencies, never required)
 *   → webgpu (a WebGPU adapter through the `webgpu` package in Node)
 *   → wasm (XNNPACK, plus the training kernels Distillery registers itself)
 *   → cpu (pure JavaScript; correct everywhere, very slow)
 *
 * DISTILLERY_BACKEND (or the CLI's --backend) forces one.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { DistilleryError } from '../errors.ts';
import { prepareWasm, setUpWasm } from './wasm/index.ts';

export const BACKEND_ORDER = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_ORDER)[number];

export interface BackendProbe {
  name: BackendName;
  available: boolean;
  /** Plain words: what was found, or why it cannot be used here. */
  detail: string;
}

export interface BackendChoice {
  name: BackendName;
  /** Why this one: the first available in order, or forced by the user. */
  reason: string;
  probes: BackendProbe[];
  /** Threads the backend computes with, where known. */
  threads: number | null;
  tfjsVersion: string;
}

const require = createRequire(import.meta.url);

function moduleError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

/** Can a native TensorFlow binding be loaded? Loading it registers the 'tensorflow' backend. */
async function probeTensorflow(): Promise<BackendProbe> {
  const failures: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require.resolve(pkg);
    } catch {
      failures.push(`${pkg} is not installed`);
      continue;
    }
    try {
      await import(pkg);
      return { name: 'tensorflow', available: true, detail: `${pkg} loaded (native libtensorflow)` };
    } catch (error) {
      failures.push(`${pkg} is installed but does not load: ${moduleError(error)}`);
    }
  }
  return {
    name: 'tensorflow',
    available: false,
    detail: `${failures.join('; ')} (their install script downloads libtensorflow, which needs internet access)`,
  };
}

/** Is there a WebGPU adapter? In Node that needs the `webgpu` package (Dawn) and a GPU driver. */
async function probeWebgpu(): Promise<BackendProbe> {
  const globalGpu = (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu;
  if (!globalGpu) {
    try {
      require.resolve('webgpu');
      require.resolve('@tensorflow/tfjs-backend-webgpu');
    } catch {
      return {
        name: 'webgpu',
        available: false,
        detail: 'no WebGPU in this process (the optional `webgpu` and `@tensorflow/tfjs-backend-webgpu` packages are not installed)',
      };
    }
  }
  try {
    const webgpu = (await import('webgpu' as string)) as {
      create: (options: string[]) => { requestAdapter: () => Promise<unknown> };
      globals: object;
    };
    const gpu = webgpu.create([]);
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { name: 'webgpu', available: false, detail: 'the webgpu package loaded but found no GPU adapter' };
    Object.assign(globalThis, webgpu.globals);
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
    await import('@tensorflow/tfjs-backend-webgpu' as string);
    return { name: 'webgpu', available: true, detail: 'a WebGPU adapter was found (Dawn)' };
  } catch (error) {
    return { name: 'webgpu', available: false, detail: `WebGPU could not start: ${moduleError(error)}` };
  }
}

async function probeWasm(): Promise<BackendProbe> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    await prepareWasm();
    return { name: 'wasm', available: true, detail: 'WebAssembly with XNNPACK and SIMD' };
  } catch (error) {
    return { name: 'wasm', available: false, detail: `the wasm backend does not load: ${moduleError(error)}` };
  }
}

const probeByName: Record<BackendName, () => Promise<BackendProbe>> = {
  tensorflow: probeTensorflow,
  webgpu: probeWebgpu,
  wasm: probeWasm,
  cpu: async () => ({ name: 'cpu', available: true, detail: 'pure JavaScript: works everywhere, slow for training' }),
};

export function isBackendName(value: string): value is BackendName {
  return (BACKEND_ORDER as readonly string[]).includes(value);
}

/** Reads the user's override from DISTILLERY_BACKEND; throws on an unknown name. */
export function backendOverrideFromEnv(env: NodeJS.ProcessEnv = process.env): BackendName | undefined {
  const value = env.DISTILLERY_BACKEND?.trim();
  if (!value) return undefined;
  if (!isBackendName(value)) {
    throw new DistilleryError('BAD_INPUT', `DISTILLERY_BACKEND=${value} is not a backend`, `use one of: ${BACKEND_ORDER.join(', ')}`);
  }
  return value;
}

/** Probes every backend in order (without switching to any). */
export async function probeBackends(): Promise<BackendProbe[]> {
  const probes: BackendProbe[] = [];
  for (const name of BACKEND_ORDER) probes.push(await probeByName[name]());
  return probes;
}

let active: BackendChoice | null = null;

/** Per-backend set-up after tf.setBackend (e.g. wasm training kernels). Filled by backend modules. */
const setUpHooks: Partial<Record<BackendName, () => Promise<void> | void>> = {};

export function registerBackendSetUp(name: BackendName, hook: () => Promise<void> | void): void {
  setUpHooks[name] = hook;
}

// Distillery's training kernels for wasm (and its threads; see ./wasm/index.ts).
registerBackendSetUp('wasm', setUpWasm);

/**
 * Chooses and activates a backend, once per process. `prefer` (or DISTILLERY_BACKEND) forces one;
 * forcing one that is not available is an error rather than a silent fallback.
 */
export async function initBackend(options: { prefer?: BackendName } = {}): Promise<BackendChoice> {
  const prefer = options.prefer ?? backendOverrideFromEnv();
  if (active && (!prefer || prefer === active.name)) return active;
  const probes = await probeBackends();
  let chosen: BackendProbe | undefined;
  let reason: string;
  if (prefer) {
    chosen = probes.find((p) => p.name === prefer);
    if (!chosen?.available) {
      throw new DistilleryError('BACKEND_UNAVAILABLE', `the ${prefer} backend was asked for but is not available: ${chosen?.detail}`, `leave DISTILLERY_BACKEND/--backend unset to choose automatically`);
    }
    reason = `forced by ${options.prefer ? '--backend' : 'DISTILLERY_BACKEND'}`;
  } else {
    chosen = probes.find((p) => p.available);
    if (!chosen) throw new DistilleryError('BACKEND_UNAVAILABLE', 'no TensorFlow.js backend is available');
    const skipped = probes.slice(0, probes.indexOf(chosen)).map((p) => p.name);
    reason = skipped.length ? `first available (not available: ${skipped.join(', ')})` : 'first in order';
  }
  const ok = await tf.setBackend(chosen.name);
  if (!ok) throw new DistilleryError('BACKEND_UNAVAILABLE', `the ${chosen.name} backend failed to initialise`);
  await tf.ready();
  await setUpHooks[chosen.name]?.();
  active = { name: chosen.name, reason, probes, threads: backendThreads(chosen.name), tfjsVersion: tf.version.tfjs };
  return active;
}

function backendThreads(name: BackendName): number | null {
  if (name === 'cpu') return 1;
  if (name === 'wasm') {
    // The compiled module's threads (the tfjs namespace on the emscripten module).
    const backend = tf.backend() as unknown as { wasm?: { tfjs?: { getThreadsCount?: () => number } } };
    return backend.wasm?.tfjs?.getThreadsCount?.() ?? 1;
  }
  return null;
}

export function activeBackend(): BackendChoice | null {
  return active;
}
