/**
 * The one typed contract between the renderer and the engine host. Electron's preload exposes it
 * over IPC; the browser bridge (`npm run web`) exposes the same over HTTP + WebSocket. Every
 * request's payload is validated against its zod schema by the host before anything runs.
 *
 * This file is "common": no Node, no Electron, no DOM — it is imported by main, preload and the
 * renderer alike.
 */
import { z } from 'zod';
import { EVENT_NAMES, REQUEST_NAMES, isEventName, isRequestName, type EventName, type RequestName } from './names.ts';

export { EVENT_NAMES, REQUEST_NAMES, isEventName, isRequestName, type EventName, type RequestName };

export type BackendNameDto = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

export interface BackendProbeDto {
  name: BackendNameDto;
  available: boolean;
  detail: string;
}

export interface DoctorReport {
  engineVersion: string;
  node: string;
  platform: string;
  cpus: number;
  backend: { chosen: BackendNameDto; reason: string; probes: BackendProbeDto[] };
  data: { mnist: { found: boolean; detail: string } };
  teachers: { bundled: string[] };
  electron: { binaryPresent: boolean; detail: string };
}

export interface ProgressEventDto {
  task: string;
  phase: string;
  step: number;
  total: number;
  etaSeconds: number | null;
  samplesPerSecond: number | null;
  values: Record<string, number>;
  time: number;
}

export interface ErrorDto {
  code: string;
  message: string;
  hint?: string;
}

/**
 * Ids name things inside the app's own data folder (teachers, runs): a single path segment of safe
 * characters, so no id can point outside it.
 */
export const idSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be letters, digits, ".", "_" or "-" (no path separators)')
  .refine((v) => !v.includes('..'), 'must not contain ".."');

/** A file the user dropped or picked, sent as bytes (the host never reads a path it was handed). */
export const droppedFileSchema = z.object({
  /** The file's name (no folders), e.g. model.json, group1-shard1of1.bin, manifest.json. */
  name: z.string().min(1).max(255).regex(/^[^/\\]+$/, 'a file name, not a path').refine((v) => v !== '.' && v !== '..', 'not a file name'),
  /** Base64 of the file's bytes. */
  base64: z.string().max(400 * 1024 * 1024),
}).strict();

export const preprocessingSchema = z.object({
  /** Raw pixel values (0–255) are multiplied by this first: 1/255 maps them to [0, 1] (as in the engine's manifest.json). */
  scale: z.number().positive(),
  /** Per-channel mean and std applied after scaling. */
  mean: z.array(z.number()).min(1).max(4),
  std: z.array(z.number().positive()).min(1).max(4),
}).strict();

export const teacherManifestInputSchema = z.object({
  dataset: z.string().min(1).max(64),
  preprocessing: preprocessingSchema,
  classNames: z.array(z.string().min(1).max(64)).min(2).max(1000),
}).strict();

/** Test data for logging accuracy: MNIST from the package, or a file/folder the user picked. */
export const testDataSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('mnist') }).strict(),
  z.object({ kind: z.literal('path'), path: z.string().min(1).max(4096) }).strict(),
]);

/** Largest width multiplier of a custom-width student (the CLI's --student-width too). */
export const STUDENT_WIDTH_MAX = 4;

/** A custom-width student's multiplier of every channel and unit count (1 = the zoo's). */
export const studentWidthSchema = z.number().positive().max(STUDENT_WIDTH_MAX);

/** A student architecture of the zoo, by name (e.g. lenet5-half, wrn-16-1). */
const studentNameSchema = z.string().min(1).max(64);

const hyperParameterValue = z.union([z.number().finite(), z.string().max(64), z.boolean()]);

/** What a student can be exported as. */
export const EXPORT_FORMATS = ['tfjs', 'onnx', 'tflite'] as const;
export type ExportFormatDto = (typeof EXPORT_FORMATS)[number];

/** Request payload schemas. Strict: unknown keys are rejected, not ignored. */
export const requestSchemas = {
  doctor: z.object({}).strict(),
  listTeachers: z.object({}).strict(),
  importTeacher: z.object({ files: z.array(droppedFileSchema).min(1).max(64) }).strict(),
  inspectTeacher: z.object({ teacherId: idSchema }).strict(),
  saveTeacherManifest: z.object({ teacherId: idSchema, manifest: teacherManifestInputSchema }).strict(),
  listStudents: z.object({ teacherId: idSchema }).strict(),
  /** One zoo architecture at a custom width, sized for the teacher (the wizard's width control). */
  sizeStudent: z.object({ teacherId: idSchema, student: studentNameSchema, width: studentWidthSchema }).strict(),
  /**
   * The methods, each with how it applies to this teacher and student (as published, a named
   * variant, or not at all). Without a student only the teacher's side is judged.
   */
  listMethods: z.object({ teacherId: idSchema.optional(), student: studentNameSchema.optional(), studentWidth: studentWidthSchema.optional() }).strict(),
  startRun: z.object({
    teacherId: idSchema,
    student: studentNameSchema,
    /** Width multiplier for a custom-width student (1 = the zoo's). */
    studentWidth: studentWidthSchema.optional(),
    method: z.enum(['rdskd', 'dafl', 'mskd', 'zskt', 'deepinversion', 'zskd']),
    /** Hyper-parameter overrides by dotted key, e.g. {"lrG": 0.005, "student.epochs": 5}. */
    overrides: z.record(z.string().max(64), hyperParameterValue).default({}),
    testData: testDataSchema.optional(),
  }).strict(),
  controlRun: z.object({ runId: idSchema, action: z.enum(['pause', 'resume', 'cancel']) }).strict(),
  resumeRun: z.object({ runId: idSchema }).strict(),
  /**
   * Lengthens a finished or stopped run and continues it: `set` raises keys the run's detail lists
   * as `extendable` (e.g. {"epochs": 30} for DAFL); the engine refuses anything else.
   */
  extendRun: z
    .object({
      runId: idSchema,
      set: z
        .record(z.string().regex(/^[A-Za-z][\w.]{0,63}$/), z.number().int().positive().max(10_000_000))
        .refine((set) => Object.keys(set).length > 0, 'name at least one key to lengthen'),
    })
    .strict(),
  listRuns: z.object({}).strict(),
  getRun: z.object({ runId: idSchema, maxPoints: z.number().int().min(10).max(100_000).optional() }).strict(),
  /**
   * Exports a finished run's student: TensorFlow.js layers (optionally float16 weights), ONNX
   * (opset 13) or TFLite, each of the last two float32 or int8 calibrated on the run's own
   * generated images.
   */
  exportRun: z
    .object({
      runId: idSchema,
      format: z.enum(EXPORT_FORMATS).default('tfjs'),
      /** float16 weights (TensorFlow.js only). */
      float16: z.boolean().default(false),
      /** Post-training int8 quantization (TFLite and ONNX). */
      int8: z.boolean().default(false),
      /** int8: weight scales per output channel (default) or per tensor. */
      weightScales: z.enum(['per-channel', 'per-tensor']).default('per-channel'),
      /** int8: int8 input and output too, for microcontroller runtimes (TFLite Micro). */
      int8Io: z.boolean().default(false),
      /** TFLite: no tensor names or description (TFLite's strip_strings). */
      stripStrings: z.boolean().default(false),
      /** A folder the user chose with chooseFolder (desktop app); default: the app's data folder. */
      folder: z.string().min(1).max(4096).optional(),
    })
    .strict()
    .refine((r) => !r.int8 || r.format !== 'tfjs', { path: ['int8'], message: 'int8 quantization is for TFLite and ONNX exports (format tflite or onnx); TensorFlow.js exports are float' })
    .refine((r) => !r.float16 || r.format === 'tfjs', { path: ['float16'], message: 'float16 weights are for TensorFlow.js exports only (format tfjs)' })
    .refine((r) => (!r.int8Io && r.weightScales === 'per-channel') || r.int8, { path: ['int8Io'], message: 'int8 input/output and per-tensor weight scales need int8 quantization (int8: true)' })
    .refine((r) => !r.int8Io || r.format === 'tflite', { path: ['int8Io'], message: 'int8 input/output is for TFLite exports only (format tflite)' })
    .refine((r) => !r.stripStrings || r.format === 'tflite', { path: ['stripStrings'], message: 'stripping strings is for TFLite exports only (format tflite)' }),
  /** Asks the user for a folder with the system dialog (desktop app only); null when cancelled. */
  chooseFolder: z.object({ purpose: z.enum(['export']) }).strict(),
  /**
   * Opens a teacher with the system dialog (desktop app): a model.json file or a model folder. The
   * host reads only what the dialog returned (model, its weight files, manifest.json, all inside
   * that folder) and imports it as a dropped model; no path ever comes from the page.
   */
  openTeacher: z.object({ select: z.enum(['modelFile', 'folder']) }).strict(),
} satisfies Record<RequestName, z.ZodType>;

export type RequestInput<K extends RequestName> = z.input<(typeof requestSchemas)[K]>;
export type TeacherManifestInput = z.infer<typeof teacherManifestInputSchema>;
export type TestDataDto = z.infer<typeof testDataSchema>;

export interface LayerSummaryDto {
  name: string;
  className: string;
  outputShape: (number | null)[];
  params: number;
}

export interface TeacherInfo {
  id: string;
  /** 'bundled' (shipped in resources/) or 'imported' (dropped by the user, kept in the data folder). */
  source: 'bundled' | 'imported';
  name: string;
  inputShape: [number, number, number];
  numClasses: number;
  params: number;
  bytes: number;
  hasBatchNorm: boolean;
  layers: LayerSummaryDto[];
  /** Null when the model came without a manifest: the wizard asks for it. */
  manifest: (TeacherManifestInput & { accuracy?: number }) | null;
}

export interface StudentOption {
  id: string;
  title: string;
  /** Width multiplier of the architecture's channels and units (1 = the zoo's). */
  width: number;
  params: number;
  bytes: number;
  /** Teacher parameters / student parameters. */
  compression: number;
  /** The parameter count is estimated (width² × the zoo's), not counted: too large to build just to count it. */
  approximate?: boolean;
  /** Why it cannot be used with this teacher, if it cannot. */
  unsuitable?: string;
}

export interface HyperParameterDto {
  key: string;
  value: number | string | boolean;
  help: string;
}

/**
 * How a method applies to the teacher and student, as the engine decides it (the method's own
 * rules, the ones its run follows): as in its paper; as a named variant the run executes and logs
 * (e.g. DeepInversion without the BatchNorm-statistics term for a teacher without BatchNorm); or
 * not at all, and why.
 */
export type MethodFitDto =
  | { kind: 'paper' }
  | { kind: 'variant'; variant: string; reason: string }
  | { kind: 'unusable'; reason: string };

export interface MethodInfo {
  id: 'rdskd' | 'dafl' | 'mskd' | 'zskt' | 'deepinversion' | 'zskd';
  title: string;
  summary: string;
  available: boolean;
  /** The reference defaults for the teacher's dataset, one line of help each. */
  hyperParameters: HyperParameterDto[];
  /** How it applies with the reference defaults (paper when no teacher was given). */
  fit: MethodFitDto;
}

/** What opening a teacher with the system dialog came to. */
export type OpenTeacherResultDto =
  | { outcome: 'imported'; teacher: TeacherInfo }
  | { outcome: 'cancelled' }
  /** No system dialog here (browser mode): the page uses its file input instead. */
  | { outcome: 'unavailable' };

/** 'interrupted': the run's process ended without a clean stop (killed); resumable from its checkpoint. */
export type RunStatusDto = 'created' | 'running' | 'paused' | 'cancelled' | 'failed' | 'done' | 'interrupted';

export interface RunSummaryDto {
  id: string;
  method: string;
  dataset: string;
  /** The student's architecture, with its width when it is a custom one: "lenet5-half ×0.5". */
  student: string;
  teacher: string;
  createdAt: string;
  status: RunStatusDto;
  /** Steps done over all phases, and the total. */
  step: number;
  total: number;
  /** Final or latest values (e.g. test accuracy, agreement). */
  values: Record<string, number>;
}

export interface MetricPointDto {
  globalStep: number;
  phase: string;
  step: number;
  total: number;
  time: number;
  values: Record<string, number>;
}

export interface RunDetailDto extends RunSummaryDto {
  config: Record<string, unknown>;
  /** The config keys that lengthen this run (extendRun), with their values now; empty when none. */
  extendable: { key: string; value: number }[];
  /** Why the run cannot be lengthened, when its method cannot be. */
  fixedLength?: string;
  backend: string | null;
  error?: ErrorDto;
  /** Logged values, thinned to at most maxPoints per phase. */
  metrics: MetricPointDto[];
  /** The latest sample grid, if any. */
  samples: SampleGridDto | null;
}

export interface SampleDto {
  /** A PNG data URL of one generated image (upscaled for display). */
  png: string;
  /** The teacher's probabilities for it. */
  probabilities: number[];
  teacherClass: number;
}

export interface SampleGridDto {
  runId: string;
  phase: string;
  step: number;
  classNames: string[];
  samples: SampleDto[];
}

export interface ExportedFileDto {
  name: string;
  bytes: number;
  /** The model itself (model.json, weight shards, student.onnx, student.tflite), or what goes with it. */
  role: 'model' | 'report' | 'samples';
}

export interface ExportResultDto {
  /** The folder the files were written to. */
  dir: string;
  format: ExportFormatDto;
  precision: 'float32' | 'float16' | 'int8';
  /** The format in words, e.g. "TFLite flatbuffer, int8 (per-channel weights, per-tensor activations)". */
  description: string;
  /** Every file written, the model's first. */
  files: ExportedFileDto[];
  /** Everything written (model, report, sample grid). */
  bytes: number;
  /** The model's files only. */
  modelBytes: number;
  /** The same model in float32, for comparison (float16 and int8 exports only). */
  float32Bytes?: number;
  /** Opset, schema or runtime note, e.g. "ONNX opset 13 (IR version 7)". */
  note: string;
  /** How int8 was calibrated, in words (int8 only). */
  calibration?: string;
  /** One line that loads the model, with its input layout. */
  howToLoad: string;
}

export interface RequestOutputs {
  doctor: DoctorReport;
  listTeachers: TeacherInfo[];
  importTeacher: TeacherInfo;
  inspectTeacher: TeacherInfo;
  saveTeacherManifest: TeacherInfo;
  listStudents: StudentOption[];
  sizeStudent: StudentOption;
  listMethods: MethodInfo[];
  startRun: { runId: string };
  controlRun: { runId: string; status: RunStatusDto };
  resumeRun: { runId: string };
  extendRun: { runId: string; plannedSteps: number };
  listRuns: RunSummaryDto[];
  getRun: RunDetailDto;
  exportRun: ExportResultDto;
  chooseFolder: { folder: string } | null;
  openTeacher: OpenTeacherResultDto;
}

export interface EventPayloads {
  progress: ProgressEventDto & { runId: string };
  runStatus: { runId: string; status: RunStatusDto; error?: ErrorDto };
  samples: SampleGridDto;
}

/** What a host answers: a value, or an error the UI can show as is. */
export type InvokeResult<T> = { ok: true; value: T } | { ok: false; error: ErrorDto };

/** The API the renderer programs against, whichever host it runs in. */
export interface DistilleryApi {
  invoke<K extends RequestName>(name: K, input: RequestInput<K>): Promise<RequestOutputs[K]>;
  on<E extends EventName>(event: E, listener: (payload: EventPayloads[E]) => void): () => void;
}

/** The raw surface the preload puts on `window.distillery` (results not yet unwrapped). */
export interface PreloadBridge {
  invoke(name: RequestName, input: unknown): Promise<InvokeResult<unknown>>;
  on(event: EventName, listener: (payload: unknown) => void): () => void;
}

/** Thrown in the renderer when the host answers with an error. */
export class HostError extends Error {
  constructor(readonly dto: ErrorDto) {
    super(dto.message);
    this.name = 'HostError';
  }
}

export function unwrap<T>(result: InvokeResult<T>): T {
  if (result.ok) return result.value;
  throw new HostError(result.error);
}
