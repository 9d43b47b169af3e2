/**
 * The engine host: implements every request of the contract by calling the engine, and validates
 * each payload first. Electron's IPC handlers and the browser bridge both call `dispatch` — one
 * implementation, two transports.
 */
import { EventEmitter } from 'node:events';
import {
  isRequestName,
  requestSchemas,
  type EventName,
  type EventPayloads,
  type InvokeResult,
  type RequestInput,
  type RequestName,
  type RequestOutputs,
} from '../common/contract.ts';
import { resolve } from 'node:path';
import { asDistilleryError, dataHome, DistilleryError, doctor, ENGINE_VERSION } from '../engine/index.ts';
import { teacherHandlers, type TeacherDialogSelect } from './teachers.ts';
import { RunManager, type WorkerCommand } from './run-manager.ts';

export type Handlers = { [K in RequestName]: (input: RequestInput<K>) => Promise<RequestOutputs[K]> };

export interface EngineHostOptions {
  /** The app's own data folder (teachers the user imported, runs, exports). */
  dataDir?: string;
  /** How run workers start (Electron runs the bundled worker with ELECTRON_RUN_AS_NODE). */
  worker?: WorkerCommand;
  /** The system's folder dialog (desktop app); browser mode has none. Resolves null when cancelled. */
  chooseFolder?: (purpose: 'export') => Promise<string | null>;
  /**
   * The system's open dialog for a teacher, a model.json file or a model folder (desktop app);
   * browser mode has none. Resolves null when cancelled. What it returns is the only place outside
   * the app's folders a teacher is read from, and only for that one import.
   */
  openTeacherDialog?: (select: TeacherDialogSelect) => Promise<string | null>;
}

export class EngineHost {
  private readonly events = new EventEmitter();
  readonly dataDir: string;
  readonly runs: RunManager;
  private readonly handlers: Handlers;

  constructor(options: EngineHostOptions = {}) {
    this.dataDir = options.dataDir ?? dataHome();
    // Folders the user picked in a system dialog during this session: the only places outside the
    // data folder the host writes to.
    const chosenFolders = new Set<string>();
    this.runs = new RunManager({
      dataDir: this.dataDir,
      emit: (event, payload) => this.emit(event, payload),
      worker: options.worker,
      isChosenFolder: (folder) => chosenFolders.has(resolve(folder)),
    });
    this.handlers = {
      doctor: () => doctor(ENGINE_VERSION),
      ...teacherHandlers({ dataDir: this.dataDir, ...(options.openTeacherDialog ? { openDialog: options.openTeacherDialog } : {}) }),
      ...this.runs.handlers(),
      chooseFolder: async ({ purpose }) => {
        if (!options.chooseFolder) {
          throw new DistilleryError('BAD_INPUT', 'choosing a folder needs the desktop app', "in browser mode exports go to the app's data folder");
        }
        const folder = await options.chooseFolder(purpose);
        if (!folder) return null;
        chosenFolders.add(resolve(folder));
        return { folder: resolve(folder) };
      },
    };
  }

  /** Validates and runs one request; never throws — errors come back as data for the UI. */
  async dispatch(name: unknown, input: unknown): Promise<InvokeResult<unknown>> {
    if (!isRequestName(name)) {
      return { ok: false, error: { code: 'BAD_INPUT', message: `unknown request '${String(name)}'` } };
    }
    const parsed = requestSchemas[name].safeParse(input ?? {});
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ');
      return { ok: false, error: { code: 'BAD_INPUT', message: `invalid payload for '${name}': ${issues}` } };
    }
    try {
      const handler = this.handlers[name] as (input: unknown) => Promise<unknown>;
      return { ok: true, value: await handler(parsed.data) };
    } catch (error) {
      return { ok: false, error: asDistilleryError(error).toJSON() };
    }
  }

  emit<E extends EventName>(event: E, payload: EventPayloads[E]): void {
    this.events.emit('event', event, payload);
  }

  /** Subscribes to every event; returns the unsubscribe function. */
  onEvent(listener: (event: EventName, payload: unknown) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }
}
