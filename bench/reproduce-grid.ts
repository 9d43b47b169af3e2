/**
 * The experiment grid of `npm run bench -- reproduce --dataset mnist` (pure: no tf, no I/O), after
 * the RDSKD paper (Table 2 and its sweeps) on MNIST, LeNet5 → LeNet5-half:
 *
 *   main       {RDSKD, DAFL, MSKD} × lr_G ∈ {0.001, 0.005, 0.2}, DeepInversion, ZSKD
 *   tau        the student's KD temperature τ ∈ {1, 5, 10, 20} on two generators: RDSKD and MSKD
 *              (lr_G 0.001). DAFL has no τ to sweep (its student loss is KL at τ = 1, no τ²).
 *   genEpochs  the generator phase cut to {5, 25, 50, 100} % of the schedule's (reference: 1, 5, 10,
 *              20 epochs of 120 iterations) on the same two generators (lr_G 0.001, τ 10)
 *
 * Cells that coincide (e.g. RDSKD lr_G 0.001 τ 10 at 100 % is in all three groups) are one cell,
 * run once per seed. Each cell becomes config overrides for the method (resolveConfig merges them
 * over the method's reference defaults for MNIST); the schedule decides phase lengths:
 *
 *   reference  the methods' defaults('mnist') unchanged (RDSKD: generator 20 × 120 iterations,
 *              student 1000 × 120, batch 512; DAFL 200 × 120; DeepInversion 94 batches × 2000
 *              iterations + 200 student epochs; ZSKD 24,000 impressions × 1500 iterations + 200
 *              epochs) — many hours per run on a CPU;
 *   custom     the reference with --gen-steps / --student-steps / --batch-size replacing phase
 *              lengths (see phaseOverrides);
 *   quick      a few steps per phase, batch 32, for a smoke test (`--quick`, CI), over a reduced
 *              grid: Table 2's cells and the two sweeps on RDSKD only (QUICK_SWEEP_GENERATORS).
 */
import { createHash } from 'node:crypto';

export const MAIN_METHODS = ['rdskd', 'dafl', 'mskd'] as const;
export const LR_G = [0.001, 0.005, 0.2] as const;
export const TAUS = [1, 5, 10, 20] as const;
export const GEN_FRACTIONS = [0.05, 0.25, 0.5, 1] as const;
export const SWEEP_GENERATORS = ['rdskd', 'mskd'] as const;

export type GridMethod = 'rdskd' | 'dafl' | 'mskd' | 'deepinversion' | 'zskd';
export type Group = 'main' | 'tau' | 'genEpochs';

/** Default KD temperature of each method's student phase (null: the method has no τ option). */
export const DEFAULT_TAU: Record<GridMethod, number | null> = { rdskd: 10, mskd: 10, dafl: null, deepinversion: 3, zskd: 20 };
/** Reference iterations per epoch of the generator methods, and their reference phase lengths. */
const ITERS_PER_EPOCH = 120;
export const REFERENCE_STEPS = {
  rdskd: { generator: 20 * 120, student: 1000 * 120 },
  mskd: { generator: 20 * 120, student: 1000 * 120 },
  dafl: { generator: 0, student: 200 * 120 },
  deepinversion: { generator: 94 * 2000, student: null },
  zskd: { generator: 120 * 1500, student: null },
} as const;

export interface Schedule {
  name: 'reference' | 'custom' | 'quick';
  /** Generator / synthesis steps (null: the method's reference length). */
  genSteps: number | null;
  /** Student steps (null: the method's reference length). DAFL's joint phase counts as student steps. */
  studentSteps: number | null;
  /** Batch size of every phase (null: the method's reference batch). */
  batchSize: number | null;
  /** Generated samples per run for IS / FID / LPIPS (DeepInversion / ZSKD: at most their pool). */
  evalSamples: number;
  /** Evaluate (agreement, test accuracy) every this many student steps (0: at the end only). */
  evalEvery: number | null;
}

/**
 * A smoke test that fits in ≤ 10 minutes on a 2-core machine: one DAFL-generator training step at
 * batch 32 costs about 1 s there with the wasm backend (≈ 115 M multiply-adds per 32×32 image
 * forward, three times that with gradients), a student step (generator forward + KD) about 0.3 s.
 */
export const QUICK_SCHEDULE: Schedule = { name: 'quick', genSteps: 8, studentSteps: 16, batchSize: 32, evalSamples: 128, evalEvery: 0 };

/** Generators a quick run sweeps τ and the generator epochs on (the other's sweep cells say "not run"). */
export const QUICK_SWEEP_GENERATORS = ['rdskd'] as const;

export function makeSchedule(options: { quick?: boolean; genSteps?: number; studentSteps?: number; batchSize?: number; evalSamples?: number }): Schedule {
  if (options.quick) {
    return {
      ...QUICK_SCHEDULE,
      ...(options.genSteps !== undefined ? { genSteps: options.genSteps } : {}),
      ...(options.studentSteps !== undefined ? { studentSteps: options.studentSteps } : {}),
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
      ...(options.evalSamples !== undefined ? { evalSamples: options.evalSamples } : {}),
    };
  }
  const custom = options.genSteps !== undefined || options.studentSteps !== undefined || options.batchSize !== undefined;
  return {
    name: custom ? 'custom' : 'reference',
    genSteps: options.genSteps ?? null,
    studentSteps: options.studentSteps ?? null,
    batchSize: options.batchSize ?? null,
    evalSamples: options.evalSamples ?? 2048,
    evalEvery: null,
  };
}

export interface Cell {
  /** Stable name, e.g. rdskd-lr0.001-tau10-gen100. */
  key: string;
  method: GridMethod;
  groups: Group[];
  lrG: number | null;
  tau: number | null;
  /** Fraction of the schedule's generator phase (1 = all of it). */
  genFraction: number;
}

function cellKey(method: GridMethod, lrG: number | null, tau: number | null, genFraction: number): string {
  return [method, lrG !== null ? `lr${lrG}` : '', tau !== null ? `tau${tau}` : '', `gen${Math.round(genFraction * 100)}`].filter(Boolean).join('-');
}

/** The grid of the issue, deduplicated (a cell in several groups lists them all), in a stable order. */
export function expandGrid(groups: readonly Group[] = ['main', 'tau', 'genEpochs'], sweepGenerators: readonly GridMethod[] = SWEEP_GENERATORS): Cell[] {
  const cells = new Map<string, Cell>();
  const add = (group: Group, method: GridMethod, lrG: number | null, tau: number | null, genFraction: number) => {
    const key = cellKey(method, lrG, tau, genFraction);
    const cell = cells.get(key);
    if (cell) {
      if (!cell.groups.includes(group)) cell.groups.push(group);
    } else {
      cells.set(key, { key, method, groups: [group], lrG, tau, genFraction });
    }
  };
  if (groups.includes('main')) {
    for (const m of MAIN_METHODS) for (const lr of LR_G) add('main', m, lr, DEFAULT_TAU[m], 1);
    add('main', 'deepinversion', null, DEFAULT_TAU.deepinversion, 1);
    add('main', 'zskd', null, DEFAULT_TAU.zskd, 1);
  }
  const sweep = SWEEP_GENERATORS.filter((m) => sweepGenerators.includes(m));
  if (groups.includes('tau')) for (const m of sweep) for (const tau of TAUS) add('tau', m, 0.001, tau, 1);
  if (groups.includes('genEpochs')) for (const m of sweep) for (const f of GEN_FRACTIONS) add('genEpochs', m, 0.001, DEFAULT_TAU[m], f);
  return [...cells.values()];
}

/** {epochs, itersPerEpoch} for `steps` steps: whole reference epochs of 120 where possible, else one short epoch. */
export function epochsFor(steps: number, itersPerEpoch = ITERS_PER_EPOCH): { epochs: number; itersPerEpoch: number } {
  const s = Math.max(1, Math.round(steps));
  if (s < itersPerEpoch) return { epochs: 1, itersPerEpoch: s };
  return { epochs: Math.max(1, Math.round(s / itersPerEpoch)), itersPerEpoch };
}

type Overrides = Record<string, unknown>;

/** Pool student phase: epochs so that epochs × ⌈pool / batch⌉ ≈ steps. */
function poolEpochs(steps: number, pool: number, batch: number): number {
  return Math.max(1, Math.round(steps / Math.ceil(pool / batch)));
}

/**
 * The config overrides (over the method's MNIST reference defaults) that give `schedule`'s phase
 * lengths, with the generator phase cut to `genFraction`. An empty object = the reference exactly.
 */
export function phaseOverrides(method: GridMethod, schedule: Schedule, genFraction = 1): Overrides {
  const b = schedule.batchSize;
  const even = (n: number) => Math.max(2, n - (n % 2));
  switch (method) {
    case 'rdskd':
    case 'mskd': {
      const out: Overrides = {};
      const gen = schedule.genSteps ?? REFERENCE_STEPS[method].generator;
      if (schedule.genSteps !== null || genFraction !== 1 || b !== null) {
        out.generator = { ...epochsFor(gen * genFraction), ...(b !== null ? { batchSize: even(b) } : {}) };
      }
      if (schedule.studentSteps !== null || b !== null) {
        out.student = { ...(schedule.studentSteps !== null ? epochsFor(schedule.studentSteps) : {}), ...(b !== null ? { batchSize: b } : {}) };
      }
      return out;
    }
    case 'dafl':
      return { ...(schedule.studentSteps !== null ? epochsFor(schedule.studentSteps) : {}), ...(b !== null ? { batchSize: b } : {}) };
    case 'deepinversion':
    case 'zskd': {
      const refIters = method === 'deepinversion' ? 2000 : 1500;
      const refBatch = method === 'deepinversion' ? 256 : 200;
      const refBatches = method === 'deepinversion' ? 94 : 120;
      const batch = b ?? refBatch;
      const synthesis: Overrides = {};
      let batches = refBatches;
      if (schedule.genSteps !== null || genFraction !== 1) {
        const steps = Math.max(1, Math.round((schedule.genSteps ?? REFERENCE_STEPS[method].generator) * genFraction));
        const iterations = Math.min(refIters, steps);
        batches = Math.max(1, Math.round(steps / iterations));
        synthesis.iterations = iterations;
        if (method === 'deepinversion') synthesis.batches = batches;
      }
      if (b !== null) synthesis.batchSize = batch;
      if (method === 'zskd' && (synthesis.iterations !== undefined || b !== null)) synthesis.impressions = batches * batch;
      const out: Overrides = {};
      if (Object.keys(synthesis).length) out.synthesis = synthesis;
      if (schedule.studentSteps !== null || b !== null) {
        out.student = { ...(schedule.studentSteps !== null ? { epochs: poolEpochs(schedule.studentSteps, batches * batch, batch) } : {}), ...(b !== null ? { batchSize: batch } : {}) };
      }
      return out;
    }
  }
}

function merge(a: Overrides, b: Overrides): Overrides {
  const out: Overrides = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = cur && typeof cur === 'object' && !Array.isArray(cur) && v && typeof v === 'object' && !Array.isArray(v) ? merge(cur as Overrides, v as Overrides) : v;
  }
  return out;
}

/** All overrides of one run: the cell's settings, the schedule's phase lengths, the seed. */
export function runOverrides(cell: Cell, schedule: Schedule, seed: number): Overrides {
  let out: Overrides = { seed };
  if (cell.lrG !== null) out = merge(out, cell.method === 'dafl' ? { lrG: cell.lrG } : { generator: { lr: cell.lrG } });
  if (cell.tau !== null && cell.tau !== DEFAULT_TAU[cell.method]) out = merge(out, { student: { tau: cell.tau } });
  out = merge(out, phaseOverrides(cell.method, schedule, cell.genFraction));
  if (schedule.evalEvery !== null) out.evalEvery = schedule.evalEvery;
  if (schedule.name === 'quick') out = merge(out, { evalSamples: 64, checkpointEvery: 1000, sampleEvery: 0 });
  return out;
}

/** Canonical JSON (sorted keys). */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The run folder name of one (cell, seed): the cell key, the seed and a hash of everything that
 * defines the run, so a restarted bench finds its finished runs and a changed schedule makes new ones.
 */
export function runId(cell: Cell, seed: number, overrides: Overrides, identity: unknown): string {
  const h = createHash('sha256').update(canonical({ method: cell.method, overrides, identity })).digest('hex').slice(0, 8);
  return `${cell.key}-s${seed}-${h}`;
}

/** The schedule in words, for the page and the log. */
export function describeSchedule(s: Schedule): string {
  if (s.name === 'reference') return "reference (each method's MNIST defaults)";
  const parts = [
    s.genSteps !== null ? `generator/synthesis ${s.genSteps} steps` : 'generator/synthesis: reference length',
    s.studentSteps !== null ? `student ${s.studentSteps} steps` : 'student: reference length',
    s.batchSize !== null ? `batch ${s.batchSize}` : 'reference batch sizes',
  ];
  return `${s.name === 'quick' ? 'quick (not the paper\'s schedule)' : 'custom'}: ${parts.join(', ')}`;
}
