/**
 * Our WebAssembly SIMD kernels (train_kernels.wat), instantiated on the tfjs wasm backend's own
 * memory so they read and write tensors in place, with no copies. One instance per backend module;
 * null when the memory cannot be found (a tfjs version that hides it), and callers then use their
 * JavaScript path.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo } from '@tensorflow/tfjs';
import { PLAIN_MEMORY_MODULE, SHARED_MEMORY_MODULE } from './train_kernels.wasm.ts';

export interface TrainKernels {
  /** See train_kernels.wat: pointers are byte offsets in the backend's memory. */
  maxPoolGrad2x2(dx: number, x: number, dy: number, n: number, h: number, w: number, c: number, oh: number, ow: number): void;
  permuteRQP(dst: number, src: number, p: number, q: number, r: number, s: number): void;
  col2imValid(dx: number, cols: number, n: number, h: number, w: number, oh: number, ow: number, kh: number, kw: number, c: number): void;
}

/**
 * A transpose that permuteRQP does: the input's axes split, in order, into four runs P, Q, R, S
 * (each possibly empty) and the output is R, Q, P, S. Returns the runs' sizes, or null.
 * E.g. NHWC → CHWN ([3, 1, 2, 0]) and NHWC → HWNC ([1, 2, 0, 3]).
 */
export function asPermuteRQP(shape: readonly number[], perm: readonly number[]): [number, number, number, number] | null {
  const rank = shape.length;
  const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);
  const size = (axes: number[]): number => axes.reduce((acc, a) => acc * shape[a]!, 1);
  for (let a = 0; a <= rank; a++) {
    for (let b = a; b <= rank; b++) {
      for (let c = b; c <= rank; c++) {
        const [P, Q, R, S] = [range(0, a), range(a, b), range(b, c), range(c, rank)];
        const want = [...R, ...Q, ...P, ...S];
        if (want.every((axis, i) => perm[i] === axis)) return [size(P), size(Q), size(R), size(S)];
      }
    }
  }
  return null;
}

/** The part of the WebAssembly JS API used here (the Node typings, without the DOM lib, lack it). */
export interface WasmMemory { readonly buffer: ArrayBuffer | SharedArrayBuffer }
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
}
export const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The fields of the emscripten module that tfjs keeps untyped. */
interface EmscriptenMemory {
  wasmMemory?: WasmMemory; // the threaded build
  asm?: { memory?: WasmMemory }; // the single-threaded build exports its memory
}

const instances = new WeakMap<object, TrainKernels | null>();

export function trainKernels(backend: BackendWasm): TrainKernels | null {
  const module = backend.wasm as unknown as EmscriptenMemory;
  if (instances.has(module)) return instances.get(module)!;
  const memory = module.wasmMemory ?? module.asm?.memory;
  const kernels = memory ? instantiateTrainKernels(memory) : null;
  instances.set(module, kernels);
  return kernels;
}

/** The kernels on a given memory: the shared-memory build for a shared one, else the plain one. */
export function instantiateTrainKernels(memory: WasmMemory): TrainKernels {
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const bytes = Uint8Array.from(atob(shared ? SHARED_MEMORY_MODULE : PLAIN_MEMORY_MODULE), (ch) => ch.charCodeAt(0));
  // Synchronous: a ~2 KB module, and kernels are called synchronously.
  return new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } }).exports as unknown as TrainKernels;
}

/** The wasm backend's record of a tensor's data (kept private by tfjs): its id for the C++ kernels, its offset. */
export function backendData(backend: BackendWasm, info: TensorInfo): { id: number; memoryOffset: number } {
  return (backend as unknown as { dataIdMap: { get(d: object): { id: number; memoryOffset: number } } }).dataIdMap.get(info.dataId);
}

/** Byte offset of a tensor's data in the backend's memory. */
export function pointer(backend: BackendWasm, info: TensorInfo): number {
  return backendData(backend, info).memoryOffset;
}
