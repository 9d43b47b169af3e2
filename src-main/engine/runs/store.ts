/**
 * The run store: one folder per distillation run.
 *
 *   <runs>/<id>/config.json      what the run IS: method, dataset, resolved config, teacher, student,
 *                                 options (resume refuses a different one)
 *   <runs>/<id>/run.json         what is happening to it: status, position, backend(s) used, error
 *   <runs>/<id>/metrics.jsonl    one line per step: every logged value (appended; on resume cut back
 *                                 to the checkpoint's length, so steps are neither missing nor doubled)
 *   <runs>/<id>/checkpoint.ckpt  the last good checkpoint (generator + student + optimisers + state),
 *                                 replaced atomically
 *   <runs>/<id>/samples/*.png    grids of generated samples at intervals
 *   <runs>/<id>/student/         the final student (TensorFlow.js layers format)
 *   <runs>/<id>/student-best/    with select = 'agreement': the most teacher-agreeing student
 *   <runs>/<id>/summary.json     the result: final values, selection, wall time, backend
 */
import type * as tf from '@tensorflow/tfjs';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BackendChoice } from '../backend/index.ts';
import { DistilleryError } from '../errors.ts';
import { canonicalJson, diffJson, type Json } from '../methods/method.ts';
import { saveModel } from '../models/index.ts';
import { readCheckpointInfo, restoreCheckpoint, writeCheckpoint, type CheckpointInfo, type Position } from './checkpoint.ts';
import { AppendFile, ioError, nodeFileOps, writeFileAtomic, type FileOps } from './fsio.ts';
import { writeImageGrid } from './png.ts';

export const RUN_FILES = {
  config: 'config.json',
  status: 'run.json',
  metrics: 'metrics.jsonl',
  checkpoint: 'checkpoint.ckpt',
  samples: 'samples',
  student: 'student',
  bestStudent: 'student-best',
  summary: 'summary.json',
} as const;

/** What a run is. Two runs with the same identity compute the same thing. */
export interface RunIdentity {
  method: string;
  dataset: string;
  /** The fully resolved, validated method config. */
  config: Json;
  /** How to find and recognise the teacher (path, architecture, a hash of its weights, ...). */
  teacher: Json;
  /** The student architecture (and anything else that defines it). */
  student: Json;
  /** Anything else that changes the result (e.g. a named speed-up option). */
  options?: Json;
}

export interface RunRecord extends RunIdentity {
  format: 1;
  id: string;
  createdAt: string;
  /** Each time the run was lengthened after it had started (distill.ts extendRun), oldest first. */
  extensions?: RunExtension[];
}

export interface RunExtension {
  at: string;
  /** Steps done when it was lengthened. */
  atStep: number;
  /** The config values changed (dotted keys), before and after. */
  was: Record<string, number>;
  set: Record<string, number>;
  /** The identity hash before: checkpoints written until then carry it. */
  fromHash: string;
}

export type RunStatus = 'created' | 'running' | 'paused' | 'cancelled' | 'failed' | 'done';

export interface RunState {
  status: RunStatus;
  updatedAt: string;
  position: Position | null;
  /** One entry per process that worked on the run (a resumed run can run on another backend). */
  sessions: { startedAt: string; backend: string | null; reason?: string; threads?: number | null; tfjsVersion?: string; pid: number }[];
  error?: { code: string; message: string; hint?: string };
}

export interface MetricRecord {
  /** 1-based step count over the whole run: consecutive, never repeated. */
  globalStep: number;
  phase: string;
  phaseIndex: number;
  /** 1-based step within the phase, and the phase's total. */
  step: number;
  total: number;
  time: number;
  values: Record<string, number>;
}

function newRunId(method: string): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  return `${stamp}-${method}-${randomBytes(3).toString('hex')}`;
}

function readJson<T>(file: string): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw ioError(error, 'read', file);
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new DistilleryError('IO', `${file} is not valid JSON`, 'the run folder is damaged', { cause: error });
  }
}

export function identityOf(record: RunRecord | RunIdentity): RunIdentity {
  const { method, dataset, config, teacher, student, options } = record;
  return { method, dataset, config, teacher, student, ...(options === undefined ? {} : { options }) };
}

export function identityHash(identity: RunIdentity): string {
  return createHash('sha256').update(canonicalJson(identityOf(identity))).digest('hex').slice(0, 16);
}

export class RunStore {
  private readonly metrics: AppendFile;
  private metricsLength: number;
  private state: RunState;

  private constructor(
    readonly dir: string,
    readonly record: RunRecord,
    private readonly ops: FileOps,
  ) {
    const metricsPath = join(dir, RUN_FILES.metrics);
    this.metrics = new AppendFile(metricsPath, ops);
    this.metricsLength = existsSync(metricsPath) ? statSync(metricsPath).size : 0;
    const statusPath = join(dir, RUN_FILES.status);
    this.state = existsSync(statusPath) ? readJson<RunState>(statusPath) : { status: 'created', updatedAt: new Date().toISOString(), position: null, sessions: [] };
  }

  get id(): string {
    return this.record.id;
  }

  get configHash(): string {
    return identityHash(this.record);
  }

  get status(): RunState {
    return this.state;
  }

  /** Whether a process holds this run now: run.json says running or paused, and that process lives. */
  get live(): boolean {
    return (this.state.status === 'running' || this.state.status === 'paused') && processAlive(this.state.sessions.at(-1)?.pid ?? -1);
  }

  /** Creates a new run folder under `root` and writes config.json. */
  static create(root: string, identity: RunIdentity, options: { id?: string; ops?: FileOps } = {}): RunStore {
    const ops = options.ops ?? nodeFileOps;
    const id = options.id ?? newRunId(identity.method);
    if (!/^[\w.-]+$/.test(id)) throw new DistilleryError('BAD_INPUT', `run id '${id}' may only hold letters, digits, '.', '_' and '-'`);
    const dir = join(resolve(root), id);
    if (existsSync(join(dir, RUN_FILES.config))) {
      throw new DistilleryError('BAD_INPUT', `a run ${id} already exists in ${resolve(root)}`, 'resume it, or choose another id');
    }
    try {
      ops.mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw ioError(error, 'create the run folder', dir);
    }
    const record: RunRecord = { format: 1, id, createdAt: new Date().toISOString(), ...identityOf(identity) };
    writeFileAtomic(join(dir, RUN_FILES.config), `${JSON.stringify(record, null, 2)}\n`, ops);
    const store = new RunStore(dir, record, ops);
    store.writeState();
    return store;
  }

  /** Opens an existing run folder. */
  static open(dir: string, options: { ops?: FileOps } = {}): RunStore {
    const configPath = join(resolve(dir), RUN_FILES.config);
    if (!existsSync(configPath)) throw new DistilleryError('NOT_FOUND', `${dir} is not a run folder (no ${RUN_FILES.config})`, 'list runs with `distillery runs`');
    const record = readJson<RunRecord>(configPath);
    return new RunStore(resolve(dir), record, options.ops ?? nodeFileOps);
  }

  /**
   * Refuses (BAD_INPUT) to continue this run with a different identity, naming what differs.
   * Resume must continue the same computation; a changed config is a new run.
   */
  checkSameIdentity(identity: RunIdentity): void {
    const diffs = diffJson(identityOf(this.record), identityOf(identity));
    if (diffs.length) {
      throw new DistilleryError(
        'BAD_INPUT',
        `run ${this.id} was started with a different configuration (differs in: ${diffs.join(', ')})`,
        'resume it without changing options, or start a new run with the new ones',
      );
    }
  }

  /**
   * Rewrites config.json with a lengthened config, the change recorded in `extensions` (extendRun
   * checks that only the last phase grows). The store keeps the record it was opened with: reopen.
   */
  writeExtension(config: Json, change: Omit<RunExtension, 'at' | 'fromHash'>): void {
    const extension: RunExtension = { at: new Date().toISOString(), ...change, fromHash: this.configHash };
    const record: RunRecord = { ...this.record, config, extensions: [...(this.record.extensions ?? []), extension] };
    writeFileAtomic(join(this.dir, RUN_FILES.config), `${JSON.stringify(record, null, 2)}\n`, this.ops);
  }

  // ---------------------------------------------------------------- status ----------------------

  private writeState(): void {
    this.state.updatedAt = new Date().toISOString();
    writeFileAtomic(join(this.dir, RUN_FILES.status), `${JSON.stringify(this.state, null, 2)}\n`, this.ops);
  }

  setStatus(status: RunStatus, extra: { position?: Position; error?: DistilleryError } = {}): void {
    this.state.status = status;
    if (extra.position) this.state.position = extra.position;
    if (extra.error) this.state.error = extra.error.toJSON();
    else if (status === 'running' || status === 'done') delete this.state.error;
    this.writeState();
  }

  /** Records the backend this process computes with (called at the start of every session). */
  recordSession(backend: BackendChoice | null): void {
    this.state.sessions.push({
      startedAt: new Date().toISOString(),
      backend: backend?.name ?? null,
      ...(backend ? { reason: backend.reason, threads: backend.threads, tfjsVersion: backend.tfjsVersion } : {}),
      pid: process.pid,
    });
    this.writeState();
  }

  // ---------------------------------------------------------------- metrics ---------------------

  appendMetrics(record: MetricRecord): void {
    const line = `${JSON.stringify(record)}\n`;
    this.metrics.append(line);
    this.metricsLength += Buffer.byteLength(line);
  }

  /** Bytes of metrics.jsonl written so far (what a checkpoint records). */
  get metricsBytes(): number {
    return this.metricsLength;
  }

  /** Cuts metrics.jsonl back to `bytes` (the lines written after the last checkpoint are redone). */
  truncateMetrics(bytes: number): void {
    const path = join(this.dir, RUN_FILES.metrics);
    this.metrics.close();
    const size = existsSync(path) ? statSync(path).size : 0;
    if (size < bytes) {
      throw new DistilleryError('IO', `${path} is shorter (${size} bytes) than its checkpoint says (${bytes})`, 'the metrics file was cut or replaced; the run cannot resume without a gap');
    }
    if (size > bytes) {
      try {
        this.ops.truncateSync(path, bytes);
      } catch (error) {
        throw ioError(error, 'truncate', path);
      }
    }
    this.metricsLength = bytes;
  }

  readMetrics(): MetricRecord[] {
    const path = join(this.dir, RUN_FILES.metrics);
    if (!existsSync(path)) return [];
    const lines = readFileSync(path, 'utf8').split('\n');
    const out: MetricRecord[] = [];
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line));
      } catch {
        // A torn last line from a crash: ignored here, cut away on resume.
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- checkpoints -----------------

  get checkpointPath(): string {
    return join(this.dir, RUN_FILES.checkpoint);
  }

  hasCheckpoint(): boolean {
    return existsSync(this.checkpointPath);
  }

  checkpointInfo(): CheckpointInfo | null {
    return readCheckpointInfo(this.checkpointPath);
  }

  /** Flushes the metrics and atomically replaces the checkpoint. */
  async saveCheckpoint(input: { position: Position; state: Json; models: Record<string, tf.LayersModel>; optimizers: Record<string, tf.Optimizer> }): Promise<void> {
    this.metrics.sync();
    await writeCheckpoint(this.checkpointPath, { ...input, configHash: this.configHash, metricsBytes: this.metricsLength }, this.ops);
    this.state.position = input.position;
    this.writeState();
  }

  /**
   * Restores the last checkpoint into the models and optimisers and cuts the metrics back to it.
   * Returns null when the run has no checkpoint yet (the metrics are then cleared: it starts over).
   */
  async restoreCheckpoint(models: Record<string, tf.LayersModel>, optimizers: Record<string, tf.Optimizer>): Promise<CheckpointInfo | null> {
    if (!this.hasCheckpoint()) {
      this.truncateMetrics(0);
      return null;
    }
    const info = await restoreCheckpoint(this.checkpointPath, models, optimizers);
    const earlier = (this.record.extensions ?? []).map((e) => e.fromHash);
    if (info.configHash !== this.configHash && !earlier.includes(info.configHash)) {
      throw new DistilleryError('BAD_INPUT', `the checkpoint of run ${this.id} belongs to a different configuration`, 'the run folder was edited; start a new run');
    }
    this.truncateMetrics(info.metricsBytes);
    return info;
  }

  // ---------------------------------------------------------------- outputs ---------------------

  /** Writes samples/<label>.png; returns its path. */
  writeSamples(label: string, images: tf.Tensor4D): string {
    const file = join(this.dir, RUN_FILES.samples, `${label.replace(/[^\w.-]/g, '_')}.png`);
    writeImageGrid(file, images, {}, this.ops);
    return file;
  }

  /** Saves a model (the final or best student) into the run folder. */
  async saveModel(name: string, model: tf.LayersModel): Promise<string> {
    const dir = join(this.dir, name);
    try {
      await saveModel(model, dir);
    } catch (error) {
      throw ioError(error, 'save the model to', dir);
    }
    return dir;
  }

  writeSummary(summary: Json): void {
    writeFileAtomic(join(this.dir, RUN_FILES.summary), `${JSON.stringify(summary, null, 2)}\n`, this.ops);
  }

  readSummary(): Json | null {
    const path = join(this.dir, RUN_FILES.summary);
    return existsSync(path) ? readJson<Json>(path) : null;
  }

  close(): void {
    this.metrics.close();
  }
}

export interface RunListing {
  id: string;
  dir: string;
  method: string;
  dataset: string;
  /** The method's config (lengthened, if the run was: see RunRecord.extensions). */
  config: Json;
  createdAt: string;
  /** 'interrupted': run.json says running but the process that ran it is gone (killed, crashed). */
  status: RunStatus | 'interrupted';
  updatedAt: string;
  position: Position | null;
  summary: Json | null;
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Every run under `root`, newest first (folders that are not runs are skipped). */
export function listRuns(root: string): RunListing[] {
  const base = resolve(root);
  if (!existsSync(base)) return [];
  const out: RunListing[] = [];
  for (const name of readdirSync(base)) {
    const dir = join(base, name);
    if (!existsSync(join(dir, RUN_FILES.config))) continue;
    try {
      const store = RunStore.open(dir);
      const st = store.status;
      out.push({
        id: store.id,
        dir,
        method: store.record.method,
        dataset: store.record.dataset,
        config: store.record.config,
        createdAt: store.record.createdAt,
        status: st.status === 'running' && !store.live ? 'interrupted' : st.status,
        updatedAt: st.updatedAt,
        position: st.position,
        summary: store.readSummary(),
      });
      store.close();
    } catch {
      // a damaged run folder is not listed
    }
  }
  return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}
