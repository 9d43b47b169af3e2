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

/** Request payload schemas. Strict: unknown keys are rejected, not ignored. */
export const requestSchemas = {
  doctor: z.object({}).strict(),
} satisfies Record<RequestName, z.ZodType>;

export type RequestInput<K extends RequestName> = z.infer<(typeof requestSchemas)[K]>;

export interface RequestOutputs {
  doctor: DoctorReport;
}

export interface EventPayloads {
  progress: ProgressEventDto;
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
