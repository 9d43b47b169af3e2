/**
 * Model I/O on disk without tfjs-node: our own tf.io handler writing the TensorFlow.js layers
 * format (model.json + a binary weights file), loadable by any TensorFlow.js.
 *
 * Writes are atomic: each file is written to a temporary name, flushed, and renamed. The weights
 * file is named by a hash of its content (`weights.<hash>.bin`) and model.json is renamed into place
 * last, so a reader (or a crash) never sees a model.json pointing at weights of another save; stale
 * weight files are removed afterwards.
 *
 * Checkpoints are not here: runs and teacher training share one format (runs/checkpoint.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { DistilleryError } from '../errors.ts';
import { writeFileAtomic as writeChunksAtomic } from '../runs/fsio.ts';
import { MANIFEST_FILE, readManifest, type TeacherManifest } from './manifest.ts';

export const MODEL_FILE = 'model.json';
const GENERATED_BY = 'Distillery';

/** Writes a file atomically (temp file, fsync, rename, folder fsync): the run store's writer. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  writeChunksAtomic(file, typeof data === 'string' ? data : [data]);
}

function weightBytes(data: tf.io.WeightData | undefined): Uint8Array {
  if (!data) return new Uint8Array(0);
  return new Uint8Array(tf.io.CompositeArrayBuffer.join(data));
}

/** Where model.json is, for a folder or a model.json path. */
export function modelJsonPath(location: string): string {
  const p = resolve(location);
  return existsSync(p) && statSync(p).isDirectory() ? join(p, MODEL_FILE) : p;
}

/** A tf.io handler saving to / loading from a folder on disk (model.json + weights.<hash>.bin). */
export function fileHandler(location: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const jsonPath = location.endsWith('.json') ? resolve(location) : join(resolve(location), MODEL_FILE);
      const dir = dirname(jsonPath);
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new DistilleryError('BAD_MODEL', 'saving binary (graph-model) topologies is not supported');
      }
      const bytes = weightBytes(artifacts.weightData);
      const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
      const weightsName = `weights.${hash}.bin`;
      writeFileAtomic(join(dir, weightsName), bytes);
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as tf.io.ModelJSON['modelTopology'],
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? GENERATED_BY,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [weightsName], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
      };
      writeFileAtomic(jsonPath, JSON.stringify(modelJson));
      // Remove weight files of earlier saves to this folder.
      for (const name of readdirSync(dir)) {
        if (/^weights\.[0-9a-f]+\.bin$/.test(name) && name !== weightsName) rmSync(join(dir, name), { force: true });
      }
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      return readModelArtifacts(modelJsonPath(location));
    },
  };
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8, string: 0 };

function expectedBytes(spec: tf.io.WeightsManifestEntry): number {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  const size = DTYPE_BYTES[dtype];
  if (size === undefined || size === 0) throw new DistilleryError('BAD_MODEL', `weight ${spec.name} has an unsupported dtype ${dtype}`);
  return n * size;
}

/** Reads and checks model.json and its weight files. */
export function readModelArtifacts(jsonPath: string): tf.io.ModelArtifacts {
  if (!existsSync(jsonPath)) {
    throw new DistilleryError('NOT_FOUND', `no model at ${jsonPath}`, 'give a folder holding model.json (a TensorFlow.js layers model) or the model.json itself');
  }
  let json: tf.io.ModelJSON;
  try {
    json = JSON.parse(readFileSync(jsonPath, 'utf8')) as tf.io.ModelJSON;
  } catch (error) {
    throw new DistilleryError('BAD_MODEL', `${jsonPath} is not valid JSON: ${(error as Error).message}`, undefined, { cause: error });
  }
  if (!json || typeof json !== 'object' || !json.modelTopology || typeof json.modelTopology !== 'object') {
    throw new DistilleryError('BAD_MODEL', `${jsonPath} has no modelTopology: it is not a TensorFlow.js model`);
  }
  if (json.format === 'graph-model' || 'node' in (json.modelTopology as object)) {
    throw new DistilleryError('BAD_MODEL', `${jsonPath} is a TensorFlow.js graph model`, 'Distillery needs a layers model (tf.LayersModel; convert Keras models with tensorflowjs_converter --output_format=tfjs_layers_model)');
  }
  if (!Array.isArray(json.weightsManifest)) {
    throw new DistilleryError('BAD_MODEL', `${jsonPath} has no weightsManifest: the model's weights are missing`);
  }
  const dir = dirname(jsonPath);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of json.weightsManifest) {
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new DistilleryError('BAD_MODEL', `${jsonPath}: a weightsManifest entry lacks paths or weights`);
    }
    let groupBytes = 0;
    for (const p of group.paths) {
      const file = join(dir, p);
      if (resolve(file) !== file && !resolve(file).startsWith(resolve(dir))) {
        throw new DistilleryError('BAD_MODEL', `${jsonPath} names a weights file outside its folder: ${p}`);
      }
      if (!existsSync(file)) {
        throw new DistilleryError('BAD_MODEL', `the weights file ${p} named in ${basename(jsonPath)} is missing from ${dir}`, 'copy the whole model folder (model.json and its .bin files)');
      }
      const buf = readFileSync(file);
      buffers.push(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
      groupBytes += buf.byteLength;
    }
    const expected = group.weights.reduce((sum, s) => sum + expectedBytes(s), 0);
    if (groupBytes !== expected) {
      throw new DistilleryError('BAD_MODEL', `the weights files ${group.paths.join(', ')} hold ${groupBytes} bytes where model.json describes ${expected}: truncated or from another model`);
    }
    specs.push(...group.weights);
  }
  return {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    trainingConfig: json.trainingConfig,
    userDefinedMetadata: json.userDefinedMetadata,
    weightSpecs: specs,
    weightData: tf.io.CompositeArrayBuffer.join(buffers),
  };
}

/** Saves a layers model (teacher, student or generator) to a folder. */
export async function saveModel(model: tf.LayersModel, dir: string, options: { manifest?: TeacherManifest } = {}): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await model.save(fileHandler(dir));
  if (options.manifest) writeFileAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify(options.manifest, null, 2)}\n`);
}

/** Loads a layers model from a folder (or a model.json path); errors are DistilleryError BAD_MODEL / NOT_FOUND. */
export async function loadModel(location: string): Promise<tf.LayersModel> {
  const jsonPath = modelJsonPath(location);
  const artifacts = readModelArtifacts(jsonPath);
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(artifacts), { strict: true });
  } catch (error) {
    throw new DistilleryError('BAD_MODEL', `${jsonPath} could not be loaded: ${(error as Error).message}`, undefined, { cause: error });
  }
}

export interface LoadedTeacher {
  model: tf.LayersModel;
  manifest: TeacherManifest;
  dir: string;
}

/** Loads a model and its manifest, and checks that they agree (input shape, class count). */
export async function loadTeacher(location: string): Promise<LoadedTeacher> {
  const jsonPath = modelJsonPath(location);
  const dir = dirname(jsonPath);
  const manifestPath = join(dir, MANIFEST_FILE);
  if (!existsSync(manifestPath)) {
    throw new DistilleryError('BAD_MODEL', `${dir} has no ${MANIFEST_FILE}`, 'a teacher needs a manifest.json beside model.json: its dataset, input shape, preprocessing and class names');
  }
  const manifest = readManifest(manifestPath);
  const model = await loadModel(jsonPath);
  try {
    checkModelMatches(model, manifest.inputShape, manifest.numClasses, dir);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return { model, manifest, dir };
}

/** Throws BAD_MODEL unless the model takes [h, w, c] inputs and gives `numClasses` outputs. */
export function checkModelMatches(model: tf.LayersModel, inputShape: readonly number[], numClasses: number, what: string): void {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new DistilleryError('BAD_MODEL', `${what}: the model must have one input and one output, it has ${model.inputs.length} and ${model.outputs.length}`);
  }
  const inShape = model.inputs[0]!.shape.slice(1);
  if (inShape.length !== 3 || inShape.some((d, i) => d !== inputShape[i])) {
    throw new DistilleryError('BAD_MODEL', `${what}: the model takes inputs of shape [${inShape.join(', ')}] but its manifest says [${inputShape.join(', ')}]`);
  }
  const outShape = model.outputs[0]!.shape;
  if (outShape.length !== 2 || outShape[1] !== numClasses) {
    throw new DistilleryError('BAD_MODEL', `${what}: the model's output has shape [${outShape.join(', ')}] but its manifest says ${numClasses} classes`);
  }
}
