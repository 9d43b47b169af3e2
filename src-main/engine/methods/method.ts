/**
 * The one interface every data-free method implements (one file per method, behind the registry in
 * methods/index.ts — the zju-vipa `datafree` layout of one synthesizer per method).
 *
 * A method is
 *   - a typed, zod-validated config whose defaults are the reference hyper-parameters for the
 *     teacher's dataset (`defaults(dataset)`), merged with the user's overrides (`resolveConfig`);
 *   - a list of phases with step counts (`phases(config)`), e.g. RDSKD: 'generator' then 'student';
 *     DAFL: one 'joint' phase; ZSKT: 'adversarial' rounds; DeepInversion / ZSKD: 'synthesis' then
 *     'student';
 *   - a session (`create(context, config)`) that owns its models and optimisers and runs ONE step of
 *     a phase at a time, returning every loss term of that step.
 *
 * The generic driver (methods/driver.ts) runs the phases step by step and does everything that is
 * not the method's business: progress events (phase, step, total, ETA, samples/s, every value),
 * pause / cancel (AbortSignal) between steps, NaN detection, metrics, checkpoints, sample grids and
 * resume — so a method file holds only its algorithm.
 *
 * Determinism and resume: every random draw of step s of phase p comes from
 * deriveSeed(config.seed, p, s) (methods/random.ts), so a resumed run draws what the uninterrupted
 * run would have drawn. Whatever else a method carries across steps (RDSKD's snapshot of L_oh/L_ie,
 * ZSKT's current batch, DeepInversion's best batch, ...) goes through getState / setState.
 */
import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { DistilleryError } from '../errors.ts';
import type { ModelTraits } from '../models/taps.ts';

export const METHOD_IDS = ['rdskd', 'dafl', 'mskd', 'zskt', 'deepinversion', 'zskd'] as const;
export type MethodId = (typeof METHOD_IDS)[number];

/** Datasets the references give hyper-parameters for; anything else uses 'mnist'-sized defaults. */
export const DATASETS = ['mnist', 'svhn', 'cifar10'] as const;
export type DatasetId = (typeof DATASETS)[number];

/** Anything JSON-serialisable (method state in checkpoints). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Options every method shares (run bookkeeping, not algorithm). */
export const commonConfigShape = {
  /** Seeds every random draw (latents, jitter, Dirichlet targets) and the models' initialisation. */
  seed: z.number().int().min(0).default(0),
  /** Checkpoint every this many steps (and at the end of each phase). */
  checkpointEvery: z.number().int().positive().default(120),
  /** Write a PNG grid of generated samples every this many steps of a synthesis phase (0 = never). */
  sampleEvery: z.number().int().min(0).default(600),
  /** Evaluate the student (agreement with the teacher on held-out generated samples; test accuracy when a test set is given) every this many student steps (0 = only at the end). */
  evalEvery: z.number().int().min(0).default(1200),
  /** Held-out generated samples (fixed seed) on which teacher–student agreement is measured. */
  evalSamples: z.number().int().positive().default(512),
  /**
   * Which student is the result. 'last' (the references keep the last checkpoint), or 'agreement':
   * the student agreeing most with the teacher on held-out generated samples. Never test accuracy:
   * a data-free user has no test set.
   */
  select: z.enum(['last', 'agreement']).default('last'),
} as const;

export interface PhasePlan {
  /** e.g. 'generator', 'student', 'joint', 'adversarial', 'synthesis'. */
  name: string;
  /** Number of steps (optimiser iterations) in this phase. */
  total: number;
  /** Samples processed per step (for samples/s). */
  batchSize: number;
  /** Steps per epoch, where the method has epochs (for display and epoch-based schedules). */
  stepsPerEpoch?: number;
  /** Whether this phase trains the student (evaluation and student selection happen in these). */
  trainsStudent: boolean;
}

export interface StepResult {
  /** Every logged value of this step: each loss term, the total, learning rates, ... */
  values: Record<string, number>;
}

/** A batch of real test data, only for logging the student's test accuracy (never for selection). */
export interface TestSet {
  /** Preprocessed images, NHWC, as the teacher expects them. */
  x: tf.Tensor4D;
  /** Integer labels. */
  y: tf.Tensor1D;
  name: string;
}

/** Builds the generator a method needs; the default uses the model zoo (models/index.ts). */
export type GeneratorFactory = (kind: 'dafl' | 'zskt', options: { outputShape: readonly number[]; latentDim: number; seed?: number }) => tf.LayersModel;

/** What a method runs on. The caller builds/loads the models; the method owns its optimisers. */
export interface MethodContext {
  /** The frozen teacher (only ever applied with training: false). */
  teacher: tf.LayersModel;
  /** The student to distil into (freshly built; trained in place). */
  student: tf.LayersModel;
  /** [height, width, channels] of the teacher's input. */
  inputShape: readonly [number, number, number];
  numClasses: number;
  /** Generator builder (tests pass tiny ones; the CLI passes the model zoo's). */
  buildGenerator: GeneratorFactory;
  /**
   * The run folder, when the run is recorded (the driver sets it from its store). Methods that
   * synthesise a pool too big for the checkpoint (DeepInversion, ZSKD) write each finished batch
   * there once, so a resumed run reloads them instead of synthesising them again.
   */
  runDir?: string;
}

export interface MethodSession {
  /** Models whose weights are checkpointed, by name. Must include 'student'. */
  readonly models: Record<string, tf.LayersModel>;
  /** Optimisers whose state is checkpointed, by name. Created eagerly so state can be restored. */
  readonly optimizers: Record<string, tf.Optimizer>;
  /** Runs step `step` (0-based within the phase) of phase number `phaseIndex`. */
  step(phaseIndex: number, step: number): Promise<StepResult>;
  /** Method state carried across steps (JSON), for checkpoints. */
  getState(): Json;
  setState(state: Json): void;
  /**
   * A batch of what the student is trained on (generated or synthesised images), for sample grids
   * and data-free evaluation; `seed` fixes it. Null when the method has nothing to show yet.
   */
  samples(n: number, seed: number): tf.Tensor4D | null;
  dispose(): void;
}

/**
 * How a method applies to a teacher and student: as in its paper; as a named variant that the run
 * then really executes (and logs, e.g. DeepInversion's rFeatUsed = 0, ZSKT's atUsed = 0); or not at
 * all. The wizard shows exactly this — it decides nothing itself.
 */
export type MethodFit =
  | { kind: 'paper' }
  /** `variant`: what differs from the paper, e.g. "without attention transfer"; `reason`: why. */
  | { kind: 'variant'; variant: string; reason: string }
  | { kind: 'unusable'; reason: string };

export const PAPER_FIT: MethodFit = { kind: 'paper' };

export interface MethodDefinition<C extends { seed: number } = { seed: number }> {
  id: MethodId;
  title: string;
  /** One line: what the method does. */
  summary: string;
  /** Validates a full config (with defaults filled). */
  schema: z.ZodType<C>;
  /** The reference hyper-parameters for a teacher trained on `dataset`. */
  defaults(dataset: DatasetId): C;
  phases(config: C): PhasePlan[];
  create(context: MethodContext, config: C): MethodSession;
  /**
   * How the method applies to these models under `config` — the same rules `create` follows, so
   * the verdict cannot disagree with the run. `student` is null when only the teacher is known
   * (then only the teacher's side is judged). Absent: runs as published on any classifier.
   */
  fit?(models: { teacher: ModelTraits; student: ModelTraits | null }, config: C): MethodFit;
  /**
   * Config keys (dotted) that lengthen only the last phase, on which no earlier step depends (no
   * schedule over the run's length): raising one lets a finished or stopped run go on (extendRun)
   * and end where a run planned that long from the start would. Absent: `fixedLength` says why not.
   */
  extendable?: readonly string[];
  fixedLength?: string;
}

/** A definition with its config type erased, for the registry. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMethodDefinition = MethodDefinition<any>;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge of plain objects (arrays and scalars in `over` replace those in `base`). */
export function deepMerge<T>(base: T, over: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(over)) return (over === undefined ? base : over) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = isPlainObject(out[k]) && isPlainObject(v) ? deepMerge(out[k], v) : v;
  }
  return out as T;
}

/**
 * The reference defaults for the dataset, overridden by the user's values, validated. Invalid or
 * unknown keys are a BAD_INPUT error naming the key.
 */
export function resolveConfig<C extends { seed: number }>(def: MethodDefinition<C>, dataset: DatasetId, overrides: unknown = {}): C {
  const merged = deepMerge(def.defaults(dataset), overrides);
  const parsed = def.schema.safeParse(merged);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`).join('; ');
    throw new DistilleryError('BAD_INPUT', `invalid ${def.id} config: ${issues}`, `see the defaults with \`distillery distill --method ${def.id} --print-config\``);
  }
  return parsed.data;
}

/** Canonical JSON (sorted keys) of a config, for comparing a resumed run's config with the stored one. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => value[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Paths (a.b.c) where two JSON values differ. */
export function diffJson(a: unknown, b: unknown, path = ''): string[] {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].sort().flatMap((k) => diffJson(a[k], b[k], path ? `${path}.${k}` : k));
  }
  return canonicalJson(a) === canonicalJson(b) ? [] : [path || '(root)'];
}

/**
 * Pause / resume / cancel between steps. `signal` is the AbortSignal the driver watches; pausing
 * holds the driver before its next step (the models stay in memory).
 */
export class RunControl {
  private readonly abort = new AbortController();
  private pausedPromise: Promise<void> | null = null;
  private release: (() => void) | null = null;

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get paused(): boolean {
    return this.pausedPromise !== null;
  }

  pause(): void {
    if (this.pausedPromise) return;
    this.pausedPromise = new Promise((resolve) => (this.release = resolve));
  }

  resume(): void {
    this.release?.();
    this.pausedPromise = null;
    this.release = null;
  }

  cancel(reason = 'cancelled by the user'): void {
    this.abort.abort(reason);
    this.resume();
  }

  /** Resolves at once unless paused; a cancel while paused resolves it too. */
  async waitIfPaused(): Promise<void> {
    while (this.pausedPromise && !this.abort.signal.aborted) await this.pausedPromise;
  }
}

/** The CANCELLED error the driver throws when its signal is aborted. */
export function cancelledError(signal: AbortSignal, where: string): DistilleryError {
  const reason = typeof signal.reason === 'string' ? signal.reason : 'cancelled';
  return new DistilleryError('CANCELLED', `${where}: ${reason}`, 'resume the run to continue from its last checkpoint');
}

/** {'a.b': 1, c: 2} → {a: {b: 1}, c: 2}: config overrides by dotted key (CLI --set, the app's form). */
/** The value at a dotted key of a config ('student.epochs'), or undefined. */
export function configValue(config: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((node, part) => (isPlainObject(node) ? node[part] : undefined), config);
}

export function expandDottedKeys(values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    const parts = key.split('.');
    let node = out;
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      node = (node[part] = isPlainObject(next) ? next : {}) as Record<string, unknown>;
    }
    node[parts.at(-1)!] = value;
  }
  return out;
}
