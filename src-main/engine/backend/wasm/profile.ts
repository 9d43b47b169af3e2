/**
 * A kernel-level profiler for the wasm backend: wraps every registered wasm kernel to time it
 * (wasm kernels run synchronously, so wall time around the call is the kernel's time). For the
 * bench's --profile and for finding what to speed up next.
 */
import * as tf from '@tensorflow/tfjs';

export interface KernelStat {
  kernel: string;
  calls: number;
  ms: number;
}

export interface KernelProfiler {
  /** Totals since the last reset, slowest first. */
  stats(): KernelStat[];
  reset(): void;
  /** Restores the unwrapped kernels. */
  stop(): void;
}

export function profileKernels(backendName = 'wasm'): KernelProfiler {
  const totals = new Map<string, { calls: number; ms: number }>();
  const originals = tf.getKernelsForBackend(backendName).map((k) => ({ ...k }));
  for (const config of originals) {
    const inner = config.kernelFunc;
    const name = config.kernelName;
    tf.unregisterKernel(name, backendName);
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        const t0 = performance.now();
        try {
          return inner(args);
        } finally {
          const e = totals.get(name) ?? { calls: 0, ms: 0 };
          e.calls++;
          e.ms += performance.now() - t0;
          totals.set(name, e);
        }
      },
    });
  }
  return {
    stats: () => [...totals].map(([kernel, v]) => ({ kernel, ...v })).sort((a, b) => b.ms - a.ms),
    reset: () => totals.clear(),
    stop: () => {
      for (const config of originals) {
        tf.unregisterKernel(config.kernelName, backendName);
        tf.registerKernel(config);
      }
    },
  };
}
