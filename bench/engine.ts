/**
 * `npm run bench -- engine [--quick] [--steps N] [--warmup N] [--backends wasm,cpu] [--no-torch]
 * [--profile] [--only lenet5_b256,...]`: per-step training times of Distillery's workloads on every available TensorFlow.js
 * backend and, in the same run, in PyTorch (bench/engine_torch.py via Debian's /usr/bin/python3).
 *
 * Workloads (batch sizes as in the papers' MNIST/CIFAR runs):
 *   lenet5_b256          LeNet5 train step, Adam, softmax cross-entropy
 *   dafl_generator_b256  DAFL generator (latent 100, 32×32×1) → teacher LeNet5 (frozen, inference)
 *                        → DAFL loss (one-hot + 5·information entropy + 0.1·activation) → Adam on G
 *   student_kd_b256      frozen generator (inference mode) → teacher → LeNet5-half student, KD loss
 *                        τ = 10 with τ², Adam on the student
 *   resnet18_b64         CIFAR ResNet-18 train step, Adam, softmax cross-entropy
 * Each figure is the median over --steps timed steps after --warmup steps. The pure-JS cpu backend
 * runs LeNet5 only (1 warm-up, 2 steps): it takes ~10 s per step. The last line of stdout is one
 * JSON object; see docs/engine.md ("Reading the engine bench").
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { initBackend, probeBackends, type BackendName } from '../src-main/engine/backend/index.ts';
import { profileKernels, type KernelStat } from '../src-main/engine/backend/wasm/profile.ts';
import { adam } from '../src-main/engine/backend/adam.ts';
import { buildDaflGenerator, buildLeNet5, buildLeNet5Half, buildResNet18, withTaps } from '../src-main/engine/models/index.ts';
import { parseBenchArgs } from './options.ts';

const WORKLOADS = ['lenet5_b256', 'dafl_generator_b256', 'student_kd_b256', 'resnet18_b64'] as const;
type Workload = (typeof WORKLOADS)[number];

interface Bench {
  step: () => Promise<void>;
  dispose: () => void;
}

function vars(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

async function minimizeStep(optimizer: tf.Optimizer, f: () => tf.Scalar, varList: tf.Variable[]): Promise<void> {
  const cost = optimizer.minimize(f, true, varList);
  await cost!.data();
  cost!.dispose();
}

function classifierBench(build: () => tf.LayersModel, batch: number, shape: [number, number, number]): Bench {
  const model = build();
  const optimizer = adam(1e-3);
  const x = tf.randomNormal([batch, ...shape]);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32') as tf.Tensor1D, 10);
  const varList = vars(model);
  return {
    step: () => minimizeStep(optimizer, () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, varList),
    dispose: () => {
      tf.dispose([x, y]);
      optimizer.dispose();
      model.dispose();
    },
  };
}

/** KL(softmax(T/τ) ‖ softmax(S/τ))·τ², summed over classes, averaged over the batch. */
function kd(teacher: tf.Tensor, student: tf.Tensor, tau: number): tf.Scalar {
  const lt = tf.logSoftmax(tf.div(teacher, tau));
  const ls = tf.logSoftmax(tf.div(student, tau));
  return tf.mul(tf.mean(tf.sum(tf.mul(tf.exp(lt), tf.sub(lt, ls)), 1)), tau * tau) as tf.Scalar;
}

function daflGeneratorBench(): Bench {
  const generator = buildDaflGenerator({ outputShape: [32, 32, 1], latentDim: 100 });
  const teacherBase = buildLeNet5({ inputShape: [32, 32, 1], numClasses: 10 });
  const teacher = withTaps(teacherBase, ['features']).model;
  teacher.trainable = false;
  const optimizer = adam(1e-3);
  const varList = vars(generator);
  return {
    step: () =>
      minimizeStep(optimizer, () => {
        const z = tf.randomNormal([256, 100]);
        const x = generator.apply(z, { training: true }) as tf.Tensor;
        const [logits, features] = teacher.apply(x, { training: false }) as tf.Tensor[];
        const pseudo = tf.oneHot(tf.argMax(logits!, 1) as tf.Tensor1D, 10);
        const oh = tf.losses.softmaxCrossEntropy(pseudo, logits!);
        const pbar = tf.mean(tf.softmax(logits!), 0);
        const ie = tf.div(tf.sum(tf.mul(pbar, tf.log(pbar))), Math.LN10);
        const act = tf.neg(tf.mean(tf.abs(features!)));
        return tf.addN([oh, tf.mul(ie, 5), tf.mul(act, 0.1)]) as tf.Scalar;
      }, varList),
    dispose: () => {
      optimizer.dispose();
      generator.dispose();
      teacherBase.dispose();
    },
  };
}

function studentKdBench(): Bench {
  const generator = buildDaflGenerator({ outputShape: [32, 32, 1], latentDim: 100 });
  const teacher = buildLeNet5({ inputShape: [32, 32, 1], numClasses: 10 });
  const student = buildLeNet5Half({ inputShape: [32, 32, 1], numClasses: 10 });
  const optimizer = adam(2e-3);
  const varList = vars(student);
  return {
    step: async () => {
      const [x, t] = tf.tidy(() => {
        const img = generator.apply(tf.randomNormal([256, 100]), { training: false }) as tf.Tensor;
        return [img, teacher.apply(img, { training: false }) as tf.Tensor];
      });
      await minimizeStep(optimizer, () => kd(t!, student.apply(x!, { training: true }) as tf.Tensor, 10), varList);
      tf.dispose([x!, t!]);
    },
    dispose: () => {
      optimizer.dispose();
      generator.dispose();
      teacher.dispose();
      student.dispose();
    },
  };
}

function makeBench(w: Workload): Bench {
  switch (w) {
    case 'lenet5_b256':
      return classifierBench(() => buildLeNet5({ inputShape: [32, 32, 1], numClasses: 10 }), 256, [32, 32, 1]);
    case 'dafl_generator_b256':
      return daflGeneratorBench();
    case 'student_kd_b256':
      return studentKdBench();
    case 'resnet18_b64':
      return classifierBench(() => buildResNet18({ inputShape: [32, 32, 3], numClasses: 10 }), 64, [32, 32, 3]);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function load(): number[] {
  return os.loadavg().map((v) => Math.round(v * 100) / 100);
}

interface Measured { ms: number; steps: number[]; load: number[]; profile?: KernelStat[] }

async function measure(w: Workload, warmup: number, steps: number, profile: boolean): Promise<Measured> {
  const bench = makeBench(w);
  const loadBefore = load();
  try {
    for (let i = 0; i < warmup; i++) await bench.step();
    const times: number[] = [];
    const tensors = tf.memory().numTensors;
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      await bench.step();
      times.push(performance.now() - t0);
    }
    if (tf.memory().numTensors !== tensors) {
      console.error(`  warning: ${w} leaked ${tf.memory().numTensors - tensors} tensors over ${steps} steps`);
    }
    let stats: KernelStat[] | undefined;
    if (profile && tf.getBackend() === 'wasm') {
      const prof = profileKernels('wasm');
      try {
        await bench.step();
        stats = prof.stats().slice(0, 15).map((s) => ({ ...s, ms: Math.round(s.ms * 10) / 10 }));
      } finally {
        prof.stop();
      }
    }
    return { ms: Math.round(median(times) * 10) / 10, steps: times.map((t) => Math.round(t)), load: [...loadBefore, ...load()], profile: stats };
  } finally {
    bench.dispose();
  }
}

interface TorchResult { values: Partial<Record<Workload, number>>; meta: unknown; error?: string }

function runTorch(workloads: Workload[], warmup: number, steps: number): TorchResult {
  const python = process.env.DISTILLERY_BENCH_PYTHON ?? '/usr/bin/python3';
  const script = fileURLToPath(new URL('./engine_torch.py', import.meta.url));
  if (!existsSync(python)) return { values: {}, meta: null, error: `${python} not found` };
  const r = spawnSync(python, [script, '--steps', String(steps), '--warmup', String(warmup), '--only', workloads.join(',')], {
    encoding: 'utf8',
    timeout: 30 * 60_000,
  });
  if (r.status !== 0) {
    const why = (r.stderr || r.error?.message || '').trim().split('\n').slice(-1)[0] ?? '';
    return { values: {}, meta: null, error: /No module named .?torch/.test(r.stderr ?? '') ? 'PyTorch is not installed for ' + python + ' (apt-get install python3-torch)' : `the PyTorch bench failed: ${why}` };
  }
  for (const line of r.stderr.split('\n')) if (line.trim()) console.error(`  ${line}`);
  const last = r.stdout.trim().split('\n').slice(-1)[0] ?? '{}';
  const parsed = JSON.parse(last) as Record<string, unknown>;
  const { meta, ...values } = parsed;
  return { values: values as Partial<Record<Workload, number>>, meta };
}

const USAGE = 'npm run bench -- engine [--quick] [--steps N] [--warmup N] [--backends wasm,cpu] [--no-torch] [--profile] [--only lenet5_b256,...]';
const OPTIONS = {
  quick: { type: 'boolean' },
  profile: { type: 'boolean' },
  'no-torch': { type: 'boolean' },
  warmup: { type: 'string' },
  steps: { type: 'string' },
  only: { type: 'string' },
  backends: { type: 'string' },
} as const;

export async function main(args: string[]): Promise<number> {
  const opts = parseBenchArgs(args, OPTIONS, USAGE);
  const quick = opts.flag('quick');
  const profile = opts.flag('profile');
  const warmup = opts.int('warmup', 0) ?? (quick ? 1 : 2);
  const steps = opts.int('steps') ?? (quick ? 2 : 5);
  const only = opts.string('only')?.split(',');
  const unknown = only?.filter((w) => !(WORKLOADS as readonly string[]).includes(w)) ?? [];
  if (unknown.length > 0) throw new Error(`--only: unknown workload ${unknown.join(', ')} (known: ${WORKLOADS.join(', ')})`);
  const workloads: Workload[] = only
    ? WORKLOADS.filter((w) => only.includes(w))
    : quick ? ['lenet5_b256', 'dafl_generator_b256', 'student_kd_b256'] : [...WORKLOADS];
  const probes = await probeBackends();
  const asked = opts.string('backends')?.split(',');
  const backends = probes
    .filter((p) => p.available && (!asked || asked.includes(p.name)))
    .map((p) => p.name)
    .filter((n) => !(quick && n === 'cpu'));
  const notes: string[] = [];
  if (quick) notes.push(`--quick: ${steps} steps after ${warmup} warm-up (a smoke test, not the figures to report), no ResNet-18, no cpu backend`);
  for (const p of probes) if (!p.available) notes.push(`${p.name}: ${p.detail}`);

  const results: Record<string, Record<string, number | null>> = {};
  for (const w of workloads) results[w] = {};
  const loads: Record<string, Record<string, number[]>> = {};
  const profiles: Record<string, KernelStat[]> = {};
  const threads: Record<string, number | null> = {};
  for (const name of backends as BackendName[]) {
    const choice = await initBackend({ prefer: name });
    threads[name] = choice.threads;
    for (const w of workloads) {
      const cpu = name === 'cpu';
      if (cpu && w !== 'lenet5_b256') continue;
      console.error(`${name} ${w}: ${cpu ? 2 : steps} steps after ${cpu ? 1 : warmup} warm-up (load ${load().join(' ')})`);
      const m = await measure(w, cpu ? 1 : warmup, cpu ? 2 : steps, profile);
      console.error(`  median ${m.ms} ms  steps ${m.steps.join(' ')}  load ${m.load.join(' ')}`);
      results[w]![name] = m.ms;
      (loads[w] ??= {})[name] = m.load;
      if (m.profile) {
        profiles[w] = m.profile;
        for (const s of m.profile) console.error(`    ${s.kernel.padEnd(26)} ${String(s.calls).padStart(4)} calls ${s.ms.toFixed(1).padStart(8)} ms`);
      }
    }
  }

  let torch: TorchResult = { values: {}, meta: null, error: 'skipped (--no-torch)' };
  if (!opts.flag('no-torch')) {
    console.error(`torch: ${steps} steps after ${warmup} warm-up (load ${load().join(' ')})`);
    const before = load();
    torch = runTorch(workloads, warmup, steps);
    (loads.torch ??= {}).all = [...before, ...load()];
    if (torch.error) notes.push(`torch: ${torch.error}; its figures are null`);
  }
  const fastest = backends.find((b) => b !== 'cpu');
  for (const w of workloads) {
    const r = results[w]!;
    r.torch = torch.values[w] ?? null;
    const ours = fastest ? r[fastest] : null;
    r.ratio = ours != null && r.torch != null ? Math.round((ours / r.torch) * 100) / 100 : null;
  }
  const out = {
    ...results,
    meta: {
      ratio: fastest ? `${fastest} ms / torch ms` : null,
      threads,
      cpus: os.cpus().length,
      load_1_5_15_before_after: loads,
      torch: torch.meta,
      tfjs: tf.version.tfjs,
      node: process.version,
      quick,
      notes,
      ...(profile ? { profile_wasm_ms_per_step: profiles } : {}),
    },
  };
  console.log(JSON.stringify(out));
  return 0;
}
