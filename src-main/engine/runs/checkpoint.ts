/**
 * A run's checkpoint: ONE file holding everything needed to continue exactly where the run was —
 * the weights of every model of the method (generator, student; BatchNorm running statistics
 * included), every optimiser's state (Adam moments and iteration count), the method's JSON state,
 * the position (phase, step) and how many bytes of metrics.jsonl belong to it.
 *
 * Layout: "DSTLCKPT" | uint32 LE format version | uint32 LE header length | header JSON (UTF-8) |
 * tensor data. The header carries a SHA-256 of the data, checked on load. The file is replaced
 * atomically (fsio.writeFileAtomic), so a kill -9 at any moment leaves the last good checkpoint.
 *
 * Weights are matched by position (model.weights order, optimizer.getWeights() order) and checked
 * by shape: tfjs names variables with process-wide counters, so names differ between processes.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { DistilleryError } from '../errors.ts';
import type { Json } from '../methods/method.ts';
import { ioError, nodeFileOps, writeFileAtomic, type FileOps } from './fsio.ts';

const MAGIC = Buffer.from('DSTLCKPT', 'ascii');
const FORMAT_VERSION = 1;

export interface Position {
  /** Index of the phase to run next. */
  phaseIndex: number;
  /** Next step (0-based) to run in that phase. */
  step: number;
  /** Steps done in the whole run (all phases). */
  globalStep: number;
}

interface TensorEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  offset: number;
  bytes: number;
}

interface Header {
  format: number;
  savedAt: string;
  configHash: string;
  position: Position;
  metricsBytes: number;
  state: Json;
  models: Record<string, TensorEntry[]>;
  optimizers: Record<string, { className: string; weights: TensorEntry[]; extra?: TensorEntry[] }>;
  sha256: string;
}

export interface CheckpointInput {
  configHash: string;
  position: Position;
  metricsBytes: number;
  state: Json;
  models: Record<string, tf.LayersModel>;
  optimizers: Record<string, tf.Optimizer>;
}

export interface CheckpointInfo {
  configHash: string;
  position: Position;
  metricsBytes: number;
  state: Json;
  savedAt: string;
}

/**
 * Optimiser state that getWeights() leaves out. tfjs's Adam keeps β1^t and β2^t as running products
 * (accBeta1/2) and setWeights recomputes them with pow(), which differs in the last bits; saving
 * them makes a resumed run bit-identical to an uninterrupted one.
 */
function privateSlots(opt: tf.Optimizer): Record<string, tf.Variable> {
  const o = opt as unknown as Record<string, unknown>;
  const out: Record<string, tf.Variable> = {};
  for (const key of ['accBeta1', 'accBeta2']) {
    const v = o[key];
    if (v instanceof tf.Variable) out[key] = v;
  }
  return out;
}

function toBytes(values: tf.TypedArray | Uint8Array, dtype: string): Uint8Array {
  if (dtype !== 'float32' && dtype !== 'int32') throw new DistilleryError('INTERNAL', `cannot checkpoint a ${dtype} tensor`);
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** Writes the checkpoint file atomically. */
export async function writeCheckpoint(file: string, input: CheckpointInput, ops: FileOps = nodeFileOps): Promise<void> {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const add = async (name: string, t: tf.Tensor): Promise<TensorEntry> => {
    const dtype = t.dtype === 'int32' ? 'int32' : 'float32';
    const data = await (t.dtype === dtype ? t : tf.cast(t, dtype)).data();
    const bytes = Buffer.from(toBytes(data as tf.TypedArray, dtype)); // copy: the tensor may be disposed
    chunks.push(bytes);
    const entry: TensorEntry = { name, shape: t.shape.slice(), dtype, offset, bytes: bytes.length };
    offset += bytes.length;
    return entry;
  };
  const models: Header['models'] = {};
  for (const [name, model] of Object.entries(input.models)) {
    models[name] = [];
    for (const w of model.weights) models[name].push(await add(w.originalName ?? w.name, w.read()));
  }
  const optimizers: Header['optimizers'] = {};
  for (const [name, opt] of Object.entries(input.optimizers)) {
    const named = await opt.getWeights();
    const weights: TensorEntry[] = [];
    for (const nt of named) weights.push(await add(nt.name, nt.tensor));
    tf.dispose(named.filter((n) => n.name === 'iter').map((n) => n.tensor)); // saveIterations() makes a new scalar
    const extra: TensorEntry[] = [];
    for (const [key, v] of Object.entries(privateSlots(opt))) extra.push(await add(key, v));
    optimizers[name] = { className: opt.getClassName(), weights, extra };
  }
  const hash = createHash('sha256');
  for (const c of chunks) hash.update(c);
  const header: Header = {
    format: FORMAT_VERSION,
    savedAt: new Date().toISOString(),
    configHash: input.configHash,
    position: input.position,
    metricsBytes: input.metricsBytes,
    state: input.state,
    models,
    optimizers,
    sha256: hash.digest('hex'),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(16);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(FORMAT_VERSION, 8);
  prefix.writeUInt32LE(headerBytes.length, 12);
  writeFileAtomic(file, [prefix, headerBytes, ...chunks], ops);
}

interface Parsed {
  header: Header;
  data: Buffer;
}

function parse(file: string): Parsed {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (error) {
    throw ioError(error, 'read', file);
  }
  const bad = (why: string) => new DistilleryError('IO', `the checkpoint ${file} is damaged: ${why}`, 'the run cannot resume from it; start a new run');
  if (buf.length < 16 || !buf.subarray(0, 8).equals(MAGIC)) throw bad('not a Distillery checkpoint');
  const version = buf.readUInt32LE(8);
  if (version !== FORMAT_VERSION) throw bad(`format ${version}, this version reads ${FORMAT_VERSION}`);
  const headerLength = buf.readUInt32LE(12);
  if (16 + headerLength > buf.length) throw bad('truncated header');
  let header: Header;
  try {
    header = JSON.parse(buf.subarray(16, 16 + headerLength).toString('utf8'));
  } catch {
    throw bad('unreadable header');
  }
  const data = buf.subarray(16 + headerLength);
  if (createHash('sha256').update(data).digest('hex') !== header.sha256) throw bad('checksum mismatch');
  return { header, data };
}

/** Reads only the header (position, state, config hash) of a checkpoint; null when there is none. */
export function readCheckpointInfo(file: string): CheckpointInfo | null {
  if (!existsSync(file)) return null;
  const { header } = parse(file);
  return { configHash: header.configHash, position: header.position, metricsBytes: header.metricsBytes, state: header.state, savedAt: header.savedAt };
}

function tensorOf(data: Buffer, e: TensorEntry): tf.Tensor {
  const slice = data.subarray(e.offset, e.offset + e.bytes);
  const copy = new Uint8Array(slice).buffer; // aligned copy
  const values = e.dtype === 'int32' ? new Int32Array(copy) : new Float32Array(copy);
  return tf.tensor(values, e.shape, e.dtype);
}

/**
 * Loads a checkpoint into the given (already built) models and optimisers, in place. Throws
 * BAD_MODEL when the architectures do not match the checkpoint.
 */
export async function restoreCheckpoint(
  file: string,
  models: Record<string, tf.LayersModel>,
  optimizers: Record<string, tf.Optimizer>,
): Promise<CheckpointInfo> {
  const { header, data } = parse(file);
  for (const [name, model] of Object.entries(models)) {
    const entries = header.models[name];
    if (!entries) throw new DistilleryError('BAD_MODEL', `the checkpoint has no weights for the ${name}`);
    const weights = model.weights;
    if (entries.length !== weights.length) {
      throw new DistilleryError('BAD_MODEL', `the checkpoint's ${name} has ${entries.length} weight tensors, the model ${weights.length}`);
    }
    entries.forEach((e, i) => {
      const shape = weights[i]!.shape;
      if (shape.length !== e.shape.length || shape.some((d, j) => d !== e.shape[j])) {
        throw new DistilleryError('BAD_MODEL', `the checkpoint's ${name} weight ${e.name} has shape [${e.shape}], the model's [${shape}]`);
      }
    });
    const tensors = entries.map((e) => tensorOf(data, e));
    model.setWeights(tensors);
    tf.dispose(tensors);
  }
  for (const [name, opt] of Object.entries(optimizers)) {
    const saved = header.optimizers[name];
    if (!saved) throw new DistilleryError('BAD_MODEL', `the checkpoint has no state for the ${name} optimiser`);
    if (saved.className !== opt.getClassName()) {
      throw new DistilleryError('BAD_MODEL', `the checkpoint's ${name} optimiser is ${saved.className}, not ${opt.getClassName()}`);
    }
    const named = saved.weights.map((e) => ({ name: e.name, tensor: tensorOf(data, e) }));
    // Optimisers dispose their old slots and adopt these (as variables); 'iter' is read and kept by us.
    await opt.setWeights(named);
    tf.dispose(named.map((n) => n.tensor));
    const slots = privateSlots(opt);
    for (const e of saved.extra ?? []) {
      const slot = slots[e.name];
      if (!slot) continue;
      const t = tensorOf(data, e);
      slot.assign(t);
      t.dispose();
    }
  }
  return { configHash: header.configHash, position: header.position, metricsBytes: header.metricsBytes, state: header.state, savedAt: header.savedAt };
}
