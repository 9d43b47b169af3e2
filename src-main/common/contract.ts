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

const hyperParameterValue = z.union([z.number().finite(), z.string().max(64), z.boolean()]);

/** Request payload schemas. Strict: unknown keys are rejected, not ignored. */
export const requestSchemas = {
  doctor: z.object({}).strict(),
  listTeachers: z.object({}).strict(),
  importTeacher: z.object({ files: z.array(droppedFileSchema).min(1).max(64) }).strict(),
  inspectTeacher: z.object({ teacherId: idSchema }).strict(),
  saveTeacherManifest: z.object({ teacherId: idSchema, manifest: teacherManifestInputSchema }).strict(),
  listStudents: z.object({ teacherId: idSchema }).strict(),
  listMethods: z.object({ teacherId: idSchema.optional() }).strict(),
  startRun: z.object({
    teacherId: idSchema,
    student: z.string().min(1).max(64),
    /** Width multiplier for a custom-width student (1 = the zoo's). */
    studentWidth: z.number().positive().max(4).optional(),
    method: z.enum(['rdskd', 'dafl', 'mskd', 'zskt', 'deepinversion', 'zskd']),
    /** Hyper-parameter overrides by dotted key, e.g. {"lrG": 0.005, "student.epochs": 5}. */
    overrides: z.record(z.string().max(64), hyperParameterValue).default({}),
    testData: testDataSchema.optional(),
  }).strict(),
  controlRun: z.object({ runId: idSchema, action: z.enum(['pause', 'resume', 'cancel']) }).strict(),
  resumeRun: z.object({ runId: idSchema }).strict(),
  listRuns: z.object({}).strict(),
  getRun: z.object({ runId: idSchema, maxPoints: z.number().int().min(10).max(100_000).optional() }).strict(),
  exportRun: z.object({
    runId: idSchema,
    format: z.enum(['tfjs', 'tfjs-float16']),
    /** A folder the user chose with chooseFolder (desktop app); default: the app's data folder. */
    folder: z.string().min(1).max(4096).optional(),
  }).strict(),
  /** Asks the user for a folder with the system dialog (desktop app only); null when cancelled. */
  chooseFolder: z.object({ purpose: z.enum(['export']) }).strict(),
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
  params: number;
  bytes: number;
  /** Teacher parameters / student parameters. */
  compression: number;
  /** Why it cannot be used with this teacher, if it cannot. */
  unsuitable?: string;
}

export interface HyperParameterDto {
  key: string;
  value: number | string | boolean;
  help: string;
}

export interface MethodInfo {
  id: 'rdskd' | 'dafl' | 'mskd' | 'zskt' | 'deepinversion' | 'zskd';
  title: string;
  summary: string;
  available: boolean;
  /** The reference defaults for the teacher's dataset, one line of help each. */
  hyperParameters: HyperParameterDto[];
  /** Why it cannot run with this teacher (e.g. DeepInversion without BatchNorm), if so. */
  unsuitable?: string;
}

/** 'interrupted': the run's process ended without a clean stop (killed); resumable from its checkpoint. */
export type RunStatusDto = 'created' | 'running' | 'paused' | 'cancelled' | 'failed' | 'done' | 'interrupted';

export interface RunSummaryDto {
  id: string;
  method: string;
  dataset: string;
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

export interface ExportResultDto {
  dir: string;
  files: { name: string; bytes: number }[];
  bytes: number;
  format: string;
  howToLoad: string;
}

export interface RequestOutputs {
  doctor: DoctorReport;
  listTeachers: TeacherInfo[];
  importTeacher: TeacherInfo;
  inspectTeacher: TeacherInfo;
  saveTeacherManifest: TeacherInfo;
  listStudents: StudentOption[];
  listMethods: MethodInfo[];
  startRun: { runId: string };
  controlRun: { runId: string; status: RunStatusDto };
  resumeRun: { runId: string };
  listRuns: RunSummaryDto[];
  getRun: RunDetailDto;
  exportRun: ExportResultDto;
  chooseFolder: { folder: string } | null;
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
