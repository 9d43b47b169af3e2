/**
 * The host side of the wizard's first three steps: teachers (bundled and imported), the student zoo
 * sized for a teacher, and the distillation methods with their reference hyper-parameters.
 *
 * Files live in two places only: the bundled teachers (`resources/teachers/<id>`, read-only) and the
 * app's data folder (`<dataDir>/teachers/<id>`, where dropped teachers are imported). Every id goes
 * through the contract's idSchema, and every path built from one is checked to stay inside its
 * folder (symbolic links included) before anything is read or written.
 *
 * An import is validated entirely in memory — JSON, weights manifest, every weight file present
 * with the right size, the model loads as a TensorFlow.js layers model with an image input and one
 * score per class, the manifest (if any) valid and matching — before a byte is written; then it is
 * written into a hidden temporary folder and renamed into place, so a teacher folder is either
 * complete or absent. A teacher opened with the system dialog (desktop app) goes through the same
 * validation: the host reads only the model, its weight files and manifest.json, inside the folder
 * the dialog returned.
 */
import * as tf from '@tensorflow/tfjs';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, isAbsolute } from 'node:path';
import {
  idSchema,
  type HyperParameterDto,
  type LayerSummaryDto,
  type MethodInfo,
  type OpenTeacherResultDto,
  type RequestInput,
  type StudentOption,
  type TeacherInfo,
  type TeacherManifestInput,
} from '../common/contract.ts';
import { DistilleryError } from '../engine/errors.ts';
import { bundledTeachersDir } from '../engine/paths.ts';
import { ARCHITECTURES, getClassifier, type ClassifierSpec } from '../engine/models/registry.ts';
import { modelTraits, type ModelTraits } from '../engine/models/taps.ts';
import { MANIFEST_FILE, parseManifest, readManifest, type TeacherManifest } from '../engine/models/manifest.ts';
import { MODEL_FILE, readModelArtifacts, writeFileAtomic } from '../engine/models/io.ts';
import { DATASETS, METHOD_IDS, type DatasetId, type MethodId } from '../engine/methods/method.ts';
import { METHODS, methodFit } from '../engine/methods/index.ts';
import type { Handlers } from './host.ts';

export type TeacherHandlerNames =
  | 'listTeachers'
  | 'importTeacher'
  | 'openTeacher'
  | 'inspectTeacher'
  | 'saveTeacherManifest'
  | 'listStudents'
  | 'sizeStudent'
  | 'listMethods';

export type TeacherDialogSelect = RequestInput<'openTeacher'>['select'];

export interface TeacherHandlerOptions {
  /** The app's own data folder; imported teachers go to `<dataDir>/teachers/<id>`. */
  dataDir: string;
  /** The bundled teachers' folder (default: resources/teachers of the app). */
  bundledDir?: string;
  /**
   * The system's open dialog for a teacher (desktop app): a model.json file or a model folder,
   * null when cancelled. Browser mode has none (openTeacher answers 'unavailable').
   */
  openDialog?: (select: TeacherDialogSelect) => Promise<string | null>;
}

export interface TeacherLocation {
  id: string;
  dir: string;
  source: TeacherInfo['source'];
}

/** What inspection finds beyond TeacherInfo (used for the methods' fit). */
interface Inspection extends TeacherInfo {
  /** What the methods read of the model (BatchNorm layers, residual groups, classifier). */
  traits: ModelTraits;
  /** The full manifest on disk, if any. */
  fullManifest: TeacherManifest | null;
  /** Whether the last layer applies a softmax (the model outputs probabilities). */
  outputsProbabilities: boolean;
}

// ---------------------------------------------------------------------------------------------
// Paths

function checkId(id: string, what = 'id'): string {
  const parsed = idSchema.safeParse(id);
  if (!parsed.success) {
    throw new DistilleryError('BAD_INPUT', `invalid ${what} '${id}': ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  return parsed.data;
}

/** Throws unless `path` is `root` itself or lies inside it (following symbolic links where they exist). */
export function assertInside(root: string, path: string): void {
  const check = (r: string, p: string): boolean => {
    const rel = relative(r, p);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  };
  const r = resolve(root);
  const p = resolve(path);
  let ok = check(r, p);
  if (ok && existsSync(p) && existsSync(r)) ok = check(realpathSync(r), realpathSync(p));
  if (!ok) throw new DistilleryError('BAD_INPUT', `refusing to touch ${p}: it is outside ${r}`);
}

function importedRoot(o: TeacherHandlerOptions): string {
  return join(resolve(o.dataDir), 'teachers');
}

function bundledRoot(o: TeacherHandlerOptions): string {
  return resolve(o.bundledDir ?? bundledTeachersDir());
}

/**
 * Where the teacher with this id is: a bundled one first, then an imported one. The run manager
 * uses this too, to hand the engine a folder.
 */
export function resolveTeacher(o: TeacherHandlerOptions, teacherId: string): TeacherLocation {
  const id = checkId(teacherId, 'teacher id');
  for (const [root, source] of [
    [bundledRoot(o), 'bundled'],
    [importedRoot(o), 'imported'],
  ] as const) {
    const dir = resolve(root, id);
    assertInside(root, dir);
    if (existsSync(join(dir, MODEL_FILE))) return { id, dir, source };
  }
  throw new DistilleryError('NOT_FOUND', `there is no teacher '${id}'`, 'pick one from the list, or import the model again');
}

function teacherIds(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) => idSchema.safeParse(name).success && existsSync(join(root, name, MODEL_FILE)))
    .sort();
}

// ---------------------------------------------------------------------------------------------
// Inspection

function layerOutputShape(layer: tf.layers.Layer): (number | null)[] {
  try {
    const shape = layer.outputShape as (number | null)[] | (number | null)[][];
    return Array.isArray(shape[0]) ? (shape[0] as (number | null)[]) : (shape as (number | null)[]);
  } catch {
    return [];
  }
}

/** Every layer, nested models included. */
function allLayers(model: tf.LayersModel | tf.layers.Layer): tf.layers.Layer[] {
  const layers = (model as { layers?: tf.layers.Layer[] }).layers;
  if (!layers) return [];
  return layers.flatMap((l) => [l, ...allLayers(l)]);
}

interface ModelFacts {
  inputShape: [number, number, number];
  numClasses: number;
  params: number;
  hasBatchNorm: boolean;
  layers: LayerSummaryDto[];
  traits: ModelTraits;
  outputsProbabilities: boolean;
  name: string;
}

/** What the wizard shows of a model, and the checks that it can be a teacher at all. */
function describeModel(model: tf.LayersModel, what: string): ModelFacts {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new DistilleryError('BAD_MODEL', `${what} has ${model.inputs.length} inputs and ${model.outputs.length} outputs: a teacher takes one image and gives one score per class`);
  }
  const inShape = model.inputs[0]!.shape.slice(1);
  if (inShape.length !== 3 || inShape.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 1)) {
    throw new DistilleryError(
      'BAD_MODEL',
      `${what} takes inputs of shape [${inShape.map(String).join(', ')}], not an image: Distillery needs a model whose input is an image [height, width, channels], e.g. [28, 28, 1] or [32, 32, 3]`,
      'a classifier of flat vectors (e.g. [784]) cannot be distilled from generated images; export the model with an image input layer',
    );
  }
  const outShape = model.outputs[0]!.shape;
  const k = outShape[1];
  if (outShape.length !== 2 || typeof k !== 'number' || k < 2) {
    throw new DistilleryError(
      'BAD_MODEL',
      `${what} gives outputs of shape [${outShape.slice(1).map(String).join(', ')}]: Distillery needs a classifier with one score per class, [classes] (at least 2)`,
    );
  }
  const layers = allLayers(model);
  const last = model.layers[model.layers.length - 1];
  const activation = (last?.getConfig() as { activation?: unknown } | undefined)?.activation;
  return {
    inputShape: inShape as [number, number, number],
    numClasses: k,
    params: model.countParams(),
    hasBatchNorm: layers.some((l) => l.getClassName() === 'BatchNormalization'),
    layers: model.layers.map((l) => ({ name: l.name, className: l.getClassName(), outputShape: layerOutputShape(l), params: l.countParams() })),
    traits: modelTraits(model),
    outputsProbabilities: activation === 'softmax' || last?.getClassName() === 'Softmax',
    name: model.name,
  };
}

let backendReady: Promise<void> | null = null;

/**
 * Inspection needs a TensorFlow.js backend in the host process (it only builds models, never
 * trains: runs have their own processes). The best registered one is used; if it cannot start
 * (e.g. wasm registered by the doctor's probe but not loadable here), plain JavaScript.
 */
export function ensureBackend(): Promise<void> {
  backendReady ??= (async () => {
    try {
      await tf.ready();
    } catch {
      await tf.setBackend('cpu');
      await tf.ready();
    }
  })();
  return backendReady;
}

async function loadLayers(artifacts: tf.io.ModelArtifacts, what: string): Promise<tf.LayersModel> {
  await ensureBackend();
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(artifacts), { strict: true });
  } catch (error) {
    throw new DistilleryError('BAD_MODEL', `${what} could not be loaded as a TensorFlow.js layers model: ${(error as Error).message}`, 'Distillery needs a tf.LayersModel saved by TensorFlow.js (model.save) or converted with tensorflowjs_converter --output_format=tfjs_layers_model', {
      cause: error,
    });
  }
}

async function factsOf(artifacts: tf.io.ModelArtifacts, what: string): Promise<ModelFacts> {
  const model = await loadLayers(artifacts, what);
  try {
    return describeModel(model, what);
  } finally {
    model.dispose();
  }
}

function checkManifestMatches(m: TeacherManifest, facts: ModelFacts, what: string): void {
  if (m.inputShape.some((d, i) => d !== facts.inputShape[i])) {
    throw new DistilleryError('BAD_MODEL', `${what} says the input is [${m.inputShape.join(', ')}] but the model takes [${facts.inputShape.join(', ')}]`);
  }
  if (m.numClasses !== facts.numClasses) {
    throw new DistilleryError('BAD_MODEL', `${what} says ${m.numClasses} classes but the model gives ${facts.numClasses} scores`);
  }
}

function manifestDto(m: TeacherManifest): NonNullable<TeacherInfo['manifest']> {
  return {
    dataset: m.dataset.name,
    preprocessing: { scale: m.preprocessing.scale, mean: [...m.preprocessing.mean], std: [...m.preprocessing.std] },
    classNames: [...m.classNames],
    ...(m.accuracy ? { accuracy: m.accuracy.value } : {}),
  };
}

function weightBytes(artifacts: tf.io.ModelArtifacts): number {
  const data = artifacts.weightData;
  if (!data) return 0;
  return Array.isArray(data) ? data.reduce((s, b) => s + b.byteLength, 0) : data.byteLength;
}

function mtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

// ---------------------------------------------------------------------------------------------
// Import: validation of dropped files, in memory

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(name: string, base64: string): Buffer {
  const clean = base64.replace(/\s+/g, '');
  if (clean.length % 4 !== 0 || !BASE64.test(clean)) {
    throw new DistilleryError('BAD_INPUT', `the bytes of ${name} did not arrive intact (invalid base64)`);
  }
  return Buffer.from(clean, 'base64');
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8 };

interface ValidatedImport {
  modelJson: Buffer;
  weights: Map<string, Buffer>;
  manifest: TeacherManifest | null;
  facts: ModelFacts;
}

function listNames(names: string[]): string {
  const shown = names.slice(0, 8).join(', ');
  return names.length > 8 ? `${shown} and ${names.length - 8} more` : shown;
}

function plainWeightPath(p: unknown, modelName: string): string {
  if (typeof p !== 'string' || !p) throw new DistilleryError('BAD_MODEL', `${modelName}: a weightsManifest path is not a file name`);
  const name = p.replace(/^\.\//, '');
  if (name.includes('/') || name.includes('\\') || name === '.' || name === '..') {
    throw new DistilleryError('BAD_MODEL', `${modelName} names the weights file '${p}' in another folder: Distillery imports a model whose weight files lie beside model.json`);
  }
  return name;
}

/** Checks dropped files and returns what to write; throws BAD_MODEL / BAD_INPUT saying what is wrong. */
export async function validateImport(files: { name: string; base64: string }[]): Promise<ValidatedImport> {
  const bytes = new Map<string, Buffer>();
  for (const f of files) {
    if (bytes.has(f.name)) throw new DistilleryError('BAD_INPUT', `two dropped files are named ${f.name}: drop one model at a time`);
    bytes.set(f.name, decodeBase64(f.name, f.base64));
  }
  return validateModelFiles(bytes, 'the dropped files');
}

/**
 * Checks a model's files (by file name, no folders) and returns what to write. `among` names where
 * they came from in messages ("the dropped files", "the model files in /some/folder").
 */
export async function validateModelFiles(bytes: Map<string, Buffer>, among: string): Promise<ValidatedImport> {
  const names = [...bytes.keys()];
  // The model: model.json, else the one .json file (other than manifest.json) holding a modelTopology.
  let modelName = bytes.has(MODEL_FILE) ? MODEL_FILE : undefined;
  if (!modelName) {
    const candidates = names.filter((n) => n.toLowerCase().endsWith('.json') && n !== MANIFEST_FILE && bytes.get(n)!.includes('"modelTopology"'));
    if (candidates.length > 1) throw new DistilleryError('BAD_MODEL', `several model files were dropped (${listNames(candidates)}): drop one model at a time`);
    modelName = candidates[0];
  }
  if (!modelName) {
    throw new DistilleryError(
      'BAD_MODEL',
      `no model.json among ${among} (${listNames(names)})`,
      'drop the model\'s folder, or its model.json together with the .bin weight files it names (a TensorFlow.js layers model)',
    );
  }
  let json: tf.io.ModelJSON;
  try {
    json = JSON.parse(bytes.get(modelName)!.toString('utf8')) as tf.io.ModelJSON;
  } catch (error) {
    throw new DistilleryError('BAD_MODEL', `${modelName} is not valid JSON: ${(error as Error).message}`, 'it may be truncated or not a model file: export the model again (TensorFlow.js layers format)');
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new DistilleryError('BAD_MODEL', `${modelName} is not a TensorFlow.js model: it holds no JSON object`);
  }
  if (!json.modelTopology || typeof json.modelTopology !== 'object') {
    throw new DistilleryError('BAD_MODEL', `${modelName} has no modelTopology: it is not a TensorFlow.js model`, 'a TensorFlow.js layers model\'s model.json has "modelTopology" and "weightsManifest"');
  }
  if (json.format === 'graph-model' || 'node' in (json.modelTopology as object)) {
    throw new DistilleryError('BAD_MODEL', `${modelName} is a TensorFlow.js graph model, which cannot be trained against`, 'Distillery needs a layers model: convert Keras models with tensorflowjs_converter --output_format=tfjs_layers_model');
  }
  if (!Array.isArray(json.weightsManifest)) {
    throw new DistilleryError('BAD_MODEL', `${modelName} has no weightsManifest: the model's weights are not described`);
  }
  const weights = new Map<string, Buffer>();
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  let rewritePaths = false;
  for (const group of json.weightsManifest) {
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new DistilleryError('BAD_MODEL', `${modelName}: a weightsManifest entry lacks "paths" or "weights"`);
    }
    let groupBytes = 0;
    const paths: string[] = [];
    for (const p of group.paths) {
      const name = plainWeightPath(p, modelName);
      if (name !== p) rewritePaths = true;
      const buf = bytes.get(name);
      if (!buf) {
        throw new DistilleryError(
          'BAD_MODEL',
          `the weights file ${name} named in ${modelName} is missing: it was not among ${among} (${listNames(names)})`,
          'drop the whole model folder, or model.json together with every .bin file it names',
        );
      }
      weights.set(name, buf);
      buffers.push(buf);
      groupBytes += buf.byteLength;
      paths.push(name);
    }
    let expected = 0;
    for (const spec of group.weights) {
      if (!spec || typeof spec.name !== 'string' || !Array.isArray(spec.shape)) {
        throw new DistilleryError('BAD_MODEL', `${modelName}: a weight entry lacks "name" or "shape"`);
      }
      const dtype = spec.quantization?.dtype ?? spec.dtype;
      const size = DTYPE_BYTES[dtype];
      if (!size) throw new DistilleryError('BAD_MODEL', `${modelName}: weight ${spec.name} has an unsupported dtype '${dtype}'`);
      expected += spec.shape.reduce((a, b) => a * b, 1) * size;
    }
    if (groupBytes !== expected) {
      throw new DistilleryError(
        'BAD_MODEL',
        `the weights file${paths.length > 1 ? 's' : ''} ${paths.join(', ')} hold${paths.length > 1 ? '' : 's'} ${groupBytes} bytes where ${modelName} describes ${expected}: truncated, or from another model`,
        'export the model again and drop model.json with the .bin files of the same export',
      );
    }
    group.paths = paths;
    specs.push(...group.weights);
  }
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    weightSpecs: specs,
    weightData: tf.io.CompositeArrayBuffer.join(buffers.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer)),
  };
  const facts = await factsOf(artifacts, modelName);
  let manifest: TeacherManifest | null = null;
  const manifestBytes = bytes.get(MANIFEST_FILE);
  if (manifestBytes) {
    let value: unknown;
    try {
      value = JSON.parse(manifestBytes.toString('utf8'));
    } catch (error) {
      throw new DistilleryError('BAD_MODEL', `${MANIFEST_FILE} is not valid JSON: ${(error as Error).message}`, 'drop the model without manifest.json and enter its preprocessing and class names in the wizard');
    }
    manifest = parseManifest(value, MANIFEST_FILE);
    checkManifestMatches(manifest, facts, MANIFEST_FILE);
  }
  const modelJson = modelName === MODEL_FILE && !rewritePaths ? bytes.get(modelName)! : Buffer.from(JSON.stringify(json));
  return { modelJson, weights, manifest, facts };
}

function slug(text: string): string {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[^a-z0-9]+/, '')
    .replace(/[-.]+$/, '')
    .slice(0, 40);
  return s || 'teacher';
}

// ---------------------------------------------------------------------------------------------
// Open: the model the system dialog returned

/** Largest single file read from an opened model's folder (model.json or one weight shard). */
const MAX_OPENED_FILE_BYTES = 1024 * 1024 * 1024;

/** Where the model the dialog returned lies: the folder itself, or the chosen file's folder. */
function openedFolder(chosen: string): { dir: string; modelFile: string | null } {
  const target = resolve(chosen);
  let isFolder: boolean;
  try {
    isFolder = statSync(target).isDirectory();
  } catch (error) {
    throw new DistilleryError('NOT_FOUND', `${target} cannot be read: ${(error as Error).message}`, 'choose the model folder, or its model.json');
  }
  return isFolder ? { dir: target, modelFile: null } : { dir: dirname(target), modelFile: basename(target) };
}

/**
 * The files of the model the system dialog returned (a model .json file, or a folder), by file
 * name, ready for validateModelFiles. Only that folder is read, and in it only the model file
 * (model.json, else its .json files), manifest.json and the weight files the model names by plain
 * file name; every path is checked to stay inside the folder, symbolic links followed, so a model
 * cannot pull in a file from anywhere else.
 */
export function readOpenedModel(chosen: string): { dir: string; files: Map<string, Buffer> } {
  const { dir, modelFile } = openedFolder(chosen);
  const files = new Map<string, Buffer>();
  const read = (name: string): Buffer | null => {
    const file = join(dir, name);
    assertInside(dir, file);
    if (!existsSync(file) || !statSync(file).isFile()) return null;
    if (statSync(file).size > MAX_OPENED_FILE_BYTES) {
      throw new DistilleryError('BAD_MODEL', `${file} is larger than ${MAX_OPENED_FILE_BYTES / 2 ** 30} GiB: not a model file Distillery can import`);
    }
    const bytes = readFileSync(file);
    files.set(name, bytes);
    return bytes;
  };
  const modelNames = modelFile
    ? [modelFile]
    : existsSync(join(dir, MODEL_FILE))
      ? [MODEL_FILE]
      : readdirSync(dir).filter((n) => n.toLowerCase().endsWith('.json') && n !== MANIFEST_FILE && !n.startsWith('.'));
  const weightNames = new Set<string>();
  for (const name of modelNames) {
    const bytes = read(name);
    if (!bytes?.includes('"modelTopology"')) continue;
    let json: { weightsManifest?: { paths?: unknown }[] };
    try {
      json = JSON.parse(bytes.toString('utf8')) as typeof json;
    } catch {
      continue; // validateModelFiles says what is wrong with it
    }
    for (const group of Array.isArray(json.weightsManifest) ? json.weightsManifest : []) {
      for (const path of Array.isArray(group?.paths) ? group.paths : []) {
        // Weight files in other folders are not read: validateModelFiles refuses such a model.
        const plain = typeof path === 'string' ? path.replace(/^\.\//, '') : '';
        if (plain && !/[/\\]/.test(plain) && plain !== '.' && plain !== '..') weightNames.add(plain);
      }
    }
  }
  read(MANIFEST_FILE);
  for (const name of weightNames) read(name);
  return { dir, files };
}

// ---------------------------------------------------------------------------------------------
// Students and methods

/** What a student architecture comes to for a teacher's input and classes, at a width. */
type StudentFacts = { params: number; approximate: boolean; traits: ModelTraits } | { error: string };

const studentCache = new Map<string, StudentFacts>();

/**
 * Custom widths whose estimated size is above this are not built just to count them (the host runs
 * in the app's main process): about the zoo's largest architecture, ResNet-34.
 */
const MAX_COUNTED_PARAMS = 25_000_000;

/** Parameters and method-relevant traits of a zoo architecture built for the teacher, cached. */
function studentFacts(spec: ClassifierSpec, inputShape: readonly number[], numClasses: number, width = 1): StudentFacts {
  const key = `${spec.name}|${inputShape.join('x')}|${numClasses}|${width}`;
  let entry = studentCache.get(key);
  if (!entry) {
    const base = width > 1 ? studentFacts(spec, inputShape, numClasses) : null;
    if (base && 'error' in base) return base;
    if (base && base.params * width * width > MAX_COUNTED_PARAMS) {
      // Channels scale by width, so weights by about width²; the traits do not depend on width.
      entry = { params: Math.round(base.params * width * width), approximate: true, traits: base.traits };
    } else {
      try {
        const model = spec.build({ inputShape, numClasses, width });
        entry = { params: model.countParams(), approximate: false, traits: modelTraits(model) };
        model.dispose();
      } catch (error) {
        entry = { error: (error as Error).message };
      }
    }
    studentCache.set(key, entry);
  }
  return entry;
}

/** A zoo architecture at a width as the wizard lists it: size, compression, and why not, if not. */
function studentOption(spec: ClassifierSpec, teacher: Inspection, width: number): StudentOption {
  const facts = studentFacts(spec, teacher.inputShape, teacher.numClasses, width);
  const title = studentTitle(spec);
  if ('error' in facts) {
    return { id: spec.name, title, width, params: 0, bytes: 0, compression: 0, unsuitable: `cannot be built for a ${teacher.inputShape.join('×')} input: ${facts.error}` };
  }
  const option: StudentOption = {
    id: spec.name,
    title,
    width,
    params: facts.params,
    bytes: facts.params * 4,
    compression: teacher.params / facts.params,
    ...(facts.approximate ? { approximate: true } : {}),
  };
  if (facts.params > teacher.params) {
    option.unsuitable = `larger than the teacher (${facts.approximate ? 'about ' : ''}${facts.params.toLocaleString('en-US')} vs ${teacher.params.toLocaleString('en-US')} parameters): nothing to compress`;
  }
  return option;
}

function studentTitle(spec: ClassifierSpec): string {
  const head = spec.description.split(' (')[0]!.trim();
  return head || spec.name;
}

/** Titles and summaries of methods whose implementation has not landed yet. */
const METHOD_FALLBACK: Record<MethodId, { title: string; summary: string }> = {
  rdskd: { title: 'RDSKD', summary: 'robust and diverse data-free KD: a generator, then the student distilled on its samples' },
  dafl: { title: 'DAFL', summary: 'data-free learning: generator and student trained together against the teacher' },
  mskd: { title: 'MSKD', summary: 'RDSKD with a mode-seeking diversity term' },
  zskt: { title: 'ZSKT', summary: 'zero-shot knowledge transfer: adversarial generator plus attention transfer between residual groups' },
  deepinversion: { title: 'DeepInversion', summary: 'images optimised to match the teacher\'s BatchNorm statistics, then distilled' },
  zskd: { title: 'ZSKD', summary: 'zero-shot KD: data impressions sampled from class similarities in the teacher\'s last layer' },
};

/**
 * One line of help per hyper-parameter. Method-specific lines first, then the shared ones. Every key
 * a method's defaults have must be explained here (the unit test checks it).
 */
const COMMON_HELP: Record<string, string> = {
  seed: 'Seeds every random draw (latents, initialisation), so a run can be repeated exactly.',
  checkpointEvery: 'Save a checkpoint every this many steps (a cancelled run resumes from the last one).',
  sampleEvery: 'Refresh the sample gallery every this many generator steps (0 = never).',
  evalEvery: 'Measure agreement with the teacher (and test accuracy) every this many student steps (0 = only at the end).',
  evalSamples: 'Held-out generated images on which teacher–student agreement is measured.',
  select: 'Which student is kept: the last one, or the one agreeing most with the teacher (never test accuracy).',
  latentDim: 'Size of the random noise vector the generator turns into an image.',
};

const METHOD_HELP: Partial<Record<MethodId, Record<string, string>>> = {
  rdskd: {
    'generator.epochs': 'Epochs of generator training (phase 1), before the student sees anything.',
    'generator.itersPerEpoch': 'Generator steps per epoch.',
    'generator.batchSize': 'Generated images per generator step (even: the diversity term compares two halves).',
    'generator.lr': 'Adam learning rate of the generator.',
    'student.epochs': 'Epochs of distillation into the student on the frozen generator\'s images (phase 2).',
    'student.itersPerEpoch': 'Student steps per epoch.',
    'student.batchSize': 'Generated images per student step.',
    'student.lr': 'Adam learning rate of the student.',
    'student.tau': 'Distillation temperature τ: higher softens the teacher\'s probabilities (the loss is scaled by τ²).',
    'student.lrDecay.factor': 'Multiplies the student\'s learning rate at each decay milestone (epoch).',
  },
  dafl: {
    epochs: 'Epochs of joint training: generator and student are updated at every step.',
    itersPerEpoch: 'Steps per epoch.',
    batchSize: 'Generated images per step.',
    lrG: 'Adam learning rate of the generator.',
    'weights.oh': 'Weight of the one-hot loss: makes the teacher confident on generated images.',
    'weights.ie': 'Weight of the information-entropy loss: balances the classes the generator produces.',
    'weights.a': 'Weight of the activation loss: rewards strong teacher features.',
    'student.optimizer': 'Student optimiser: Adam (MNIST reference) or SGD with momentum (CIFAR/SVHN reference).',
    'student.lr': 'Learning rate of the student.',
    'student.momentum': 'SGD momentum of the student (ignored by Adam).',
    'student.weightDecay': 'L2 weight decay of the student\'s SGD (ignored by Adam).',
    'student.lrDecay.factor': 'Multiplies the student\'s learning rate at each decay milestone (epoch).',
  },
};
const POOL_STUDENT_HELP: Record<string, string> = {
  'student.epochs': 'Epochs of distillation over the pool of synthesised images (phase 2).',
  'student.batchSize': 'Synthesised images per student step.',
  'student.lr': 'Adam learning rate of the student.',
  'student.tau': 'Distillation temperature τ: higher softens the teacher\'s probabilities.',
};
METHOD_HELP.zskt = {
  batchSize: 'Generated images per step, for both the generator and the student.',
  iterations: 'Outer iterations (pseudo-batches); the cosine learning-rate schedules run over these.',
  'generator.lr': 'Adam learning rate of the generator (cosine-annealed).',
  'generator.steps': 'Generator updates per iteration: it seeks images where student and teacher disagree.',
  'student.lr': 'Adam learning rate of the student (cosine-annealed).',
  'student.steps': 'Student updates per iteration: it matches the teacher on the generator\'s images.',
  beta: 'Weight β of the attention-transfer term between matching residual groups.',
  clipNorm: 'Clips the gradient norm of both updates to this value (stability).',
  klReduction: 'How the KL divergence is averaged: per element (the reference) or per sample (batchmean).',
  attention: 'Attention transfer: auto (when teacher and student have matching groups), require, or off.',
};
METHOD_HELP.deepinversion = {
  'synthesis.batches': 'Batches of images synthesised; the pool holds batches × batch size images.',
  'synthesis.batchSize': 'Images optimised together in one batch.',
  'synthesis.iterations': 'Adam iterations spent on each batch of images.',
  'synthesis.lr': 'Adam learning rate of the image pixels.',
  'synthesis.jitter': 'Random shift of up to this many pixels each iteration (a prior against noise).',
  'synthesis.rFeat': 'Weight of the BatchNorm statistics term: match the teacher\'s stored feature means and variances.',
  'synthesis.tv': 'Weight of the total-variation prior (smooth images).',
  'synthesis.l2': 'Weight of the L2 prior on pixel values.',
  'synthesis.cig': 'Adaptive DeepInversion\'s competition weight: seek images where the student disagrees (0 = off).',
  'synthesis.bnStatistics': 'BatchNorm statistics term: auto (if the teacher has BatchNorm), require, or off.',
  'synthesis.keep': 'Which images of each batch go to the pool: the best (lowest loss) seen, or the last iterate (the reference).',
  ...POOL_STUDENT_HELP,
};
METHOD_HELP.zskd = {
  'synthesis.impressions': 'Data impressions synthesised in total (a multiple of the batch size).',
  'synthesis.batchSize': 'Impressions optimised together in one batch.',
  'synthesis.iterations': 'Adam iterations spent on each batch of impressions.',
  'synthesis.lr': 'Adam learning rate of the impression pixels.',
  'synthesis.tau': 'Temperature of the impression loss against the sampled soft targets.',
  'synthesis.referenceBug': 'Reproduce the reference code\'s re-normalisation of the class-similarity row (cancels β).',
  ...POOL_STUDENT_HELP,
};
METHOD_HELP.mskd = {
  ...METHOD_HELP.rdskd,
  'generator.batchSize': 'Generated images per generator step (even: mode seeking compares two halves).',
};

function helpFor(method: MethodId, key: string): string | undefined {
  return METHOD_HELP[method]?.[key] ?? COMMON_HELP[key];
}

/** Nested config → dotted keys; arrays (e.g. decay milestones) are not editable one by one and are left out. */
export function flattenConfig(value: unknown, prefix = ''): [string, number | string | boolean][] {
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return [[prefix, value]];
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => flattenConfig(v, prefix ? `${prefix}.${k}` : k));
}

/** The method registry's dataset for a teacher: its manifest's dataset when the references have defaults for it. */
export function datasetOf(manifest: TeacherInfo['manifest'] | null | undefined): DatasetId {
  const name = (manifest?.dataset ?? '').toLowerCase().replace(/[^a-z0-9]/g, '');
  return (DATASETS as readonly string[]).includes(name) ? (name as DatasetId) : 'mnist';
}

/** The hyper-parameters of a method with their help lines (exported for tests). */
export function methodHyperParameters(method: MethodId, dataset: DatasetId): HyperParameterDto[] {
  const def = METHODS[method];
  if (!def) return [];
  return flattenConfig(def.defaults(dataset)).map(([key, value]) => ({ key, value, help: helpFor(method, key) ?? `${key} (no description yet)` }));
}

/** Whether a help line was written for this key (for the unit test). */
export function hasHelp(method: MethodId, key: string): boolean {
  return helpFor(method, key) !== undefined;
}

// ---------------------------------------------------------------------------------------------
// Handlers

export function teacherHandlers(options: TeacherHandlerOptions): Pick<Handlers, TeacherHandlerNames> {
  const cache = new Map<string, { key: string; value: Inspection }>();

  async function inspect(location: TeacherLocation): Promise<Inspection> {
    const jsonPath = join(location.dir, MODEL_FILE);
    const manifestPath = join(location.dir, MANIFEST_FILE);
    const key = `${mtime(jsonPath)}|${mtime(manifestPath)}`;
    const hit = cache.get(location.dir);
    if (hit && hit.key === key) return hit.value;
    const what = location.source === 'bundled' ? `the bundled teacher ${location.id}` : `teacher ${location.id}`;
    const artifacts = readModelArtifacts(jsonPath);
    const facts = await factsOf(artifacts, what);
    let fullManifest: TeacherManifest | null = null;
    if (existsSync(manifestPath)) {
      fullManifest = readManifest(manifestPath);
      checkManifestMatches(fullManifest, facts, `the manifest of ${what}`);
    }
    const value: Inspection = {
      id: location.id,
      source: location.source,
      name: fullManifest?.name ?? facts.name ?? location.id,
      inputShape: facts.inputShape,
      numClasses: facts.numClasses,
      params: facts.params,
      bytes: weightBytes(artifacts),
      hasBatchNorm: facts.hasBatchNorm,
      layers: facts.layers,
      manifest: fullManifest ? manifestDto(fullManifest) : null,
      traits: facts.traits,
      fullManifest,
      outputsProbabilities: facts.outputsProbabilities,
    };
    cache.set(location.dir, { key, value });
    return value;
  }

  const publicInfo = (i: Inspection): TeacherInfo => {
    const { traits: _t, fullManifest: _m, outputsProbabilities: _p, ...info } = i;
    return info;
  };

  const inspectId = async (teacherId: string): Promise<Inspection> => inspect(resolveTeacher(options, teacherId));

  /** Writes a validated model into a new folder of the data folder, atomically, and inspects it. */
  async function store(validated: ValidatedImport): Promise<TeacherInfo> {
    const root = importedRoot(options);
    const bundled = new Set(teacherIds(bundledRoot(options)));
    const base = slug(validated.manifest?.name ?? validated.facts.name ?? 'teacher');
    let id = '';
    for (let attempt = 0; attempt < 20 && !id; attempt++) {
      const candidate = checkId(`${base}-${randomBytes(3).toString('hex')}`, 'teacher id');
      if (!bundled.has(candidate) && !existsSync(join(root, candidate))) id = candidate;
    }
    if (!id) throw new DistilleryError('IO', 'could not find a free name for the imported teacher');
    const finalDir = resolve(root, id);
    assertInside(root, finalDir);
    mkdirSync(root, { recursive: true });
    const tmpDir = join(root, `.import-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      mkdirSync(tmpDir);
      for (const [name, buf] of validated.weights) writeFileSync(join(tmpDir, name), buf);
      if (validated.manifest) writeFileSync(join(tmpDir, MANIFEST_FILE), `${JSON.stringify(validated.manifest, null, 2)}\n`);
      writeFileSync(join(tmpDir, MODEL_FILE), validated.modelJson);
      renameSync(tmpDir, finalDir);
    } catch (error) {
      rmSync(tmpDir, { recursive: true, force: true });
      throw new DistilleryError('IO', `could not store the imported teacher in ${root}: ${(error as Error).message}`, undefined, { cause: error });
    }
    return publicInfo(await inspect({ id, dir: finalDir, source: 'imported' }));
  }

  return {
    async listTeachers() {
      const out: TeacherInfo[] = [];
      const roots = [
        [bundledRoot(options), 'bundled'],
        [importedRoot(options), 'imported'],
      ] as const;
      const seen = new Set<string>();
      for (const [root, source] of roots) {
        for (const id of teacherIds(root)) {
          if (seen.has(id)) continue; // a bundled id shadows an imported one (resolveTeacher's order)
          seen.add(id);
          try {
            out.push(publicInfo(await inspect({ id, dir: join(root, id), source })));
          } catch (error) {
            // One broken teacher folder must not hide the others.
            console.warn(`distillery: skipping teacher ${id}: ${(error as Error).message}`);
          }
        }
      }
      return out;
    },

    async importTeacher({ files }) {
      return store(await validateImport(files));
    },

    async openTeacher({ select }): Promise<OpenTeacherResultDto> {
      if (!options.openDialog) return { outcome: 'unavailable' };
      const chosen = await options.openDialog(select);
      if (!chosen) return { outcome: 'cancelled' };
      // Read only under what the dialog returned, then the same checks as a dropped model.
      const { dir, files } = readOpenedModel(chosen);
      const validated = await validateModelFiles(files, `the model files in ${dir}`);
      return { outcome: 'imported', teacher: await store(validated) };
    },

    async inspectTeacher({ teacherId }) {
      return publicInfo(await inspectId(teacherId));
    },

    async saveTeacherManifest({ teacherId, manifest }) {
      const location = resolveTeacher(options, teacherId);
      if (location.source !== 'imported') {
        throw new DistilleryError('BAD_INPUT', `${location.id} is a bundled teacher: its manifest ships with the app and cannot be changed`, 'drop a copy of the model to import it, then edit that one');
      }
      assertInside(importedRoot(options), location.dir);
      const info = await inspect(location);
      const input: TeacherManifestInput = manifest;
      const [, , channels] = info.inputShape;
      if (input.classNames.length !== info.numClasses) {
        throw new DistilleryError('BAD_INPUT', `${input.classNames.length} class names were given for a model with ${info.numClasses} classes`, 'give one name per class, in the order of the model\'s outputs');
      }
      for (const key of ['mean', 'std'] as const) {
        const n = input.preprocessing[key].length;
        if (n !== 1 && n !== channels) {
          throw new DistilleryError('BAD_INPUT', `the preprocessing ${key} has ${n} values for a ${channels}-channel input`, 'give one value per channel, or one for all');
        }
      }
      const previous = info.fullManifest;
      const full = parseManifest(
        {
          format: 'distillery-teacher',
          version: 1,
          name: previous?.name ?? info.name,
          architecture: previous?.architecture ?? 'custom',
          dataset: { name: input.dataset, ...(previous?.dataset.name === input.dataset && previous.dataset.description ? { description: previous.dataset.description } : {}) },
          inputShape: info.inputShape,
          numClasses: info.numClasses,
          classNames: input.classNames,
          output: previous?.output ?? (info.outputsProbabilities ? 'probabilities' : 'logits'),
          preprocessing: { ...input.preprocessing },
          ...(previous?.accuracy && previous.dataset.name === input.dataset ? { accuracy: previous.accuracy } : {}),
          ...(previous?.training ? { training: previous.training } : {}),
        },
        'the manifest entered',
      );
      writeFileAtomic(join(location.dir, MANIFEST_FILE), `${JSON.stringify(full, null, 2)}\n`);
      cache.delete(location.dir);
      return publicInfo(await inspect(location));
    },

    async listStudents({ teacherId }) {
      const teacher = await inspectId(teacherId);
      await ensureBackend();
      return ARCHITECTURES.filter((spec): spec is ClassifierSpec => spec.kind === 'classifier').map((spec) => studentOption(spec, teacher, 1));
    },

    async sizeStudent({ teacherId, student, width }) {
      const teacher = await inspectId(teacherId);
      await ensureBackend();
      return studentOption(getClassifier(student), teacher, width);
    },

    async listMethods({ teacherId, student, studentWidth }) {
      const teacher = teacherId ? await inspectId(teacherId) : null;
      let studentTraits: ModelTraits | null = null;
      if (teacher && student) {
        await ensureBackend();
        const facts = studentFacts(getClassifier(student), teacher.inputShape, teacher.numClasses, studentWidth ?? 1);
        if (!('error' in facts)) studentTraits = facts.traits;
      }
      const dataset = datasetOf(teacher?.manifest);
      return METHOD_IDS.map((id): MethodInfo => {
        const def = METHODS[id];
        return {
          id,
          title: def?.title ?? METHOD_FALLBACK[id].title,
          summary: def?.summary ?? METHOD_FALLBACK[id].summary,
          available: Boolean(def),
          hyperParameters: methodHyperParameters(id, dataset),
          // The engine's verdict, from the same rules the method's run follows.
          fit: def && teacher ? methodFit(def, dataset, teacher.traits, studentTraits) : { kind: 'paper' },
        };
      });
    },
  };
}
