/**
 * Runs for the app: each run executes in its own child process (run-worker.ts), so training never
 * blocks the window and a crashing run cannot take the app down. The manager starts, pauses,
 * resumes, cancels and lists runs, relays their events, and reads finished runs from disk.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ErrorDto, EventName, EventPayloads, ExportResultDto, MetricPointDto, RequestInput, RunDetailDto, RunStatusDto, RunSummaryDto, SampleGridDto } from '../common/contract.ts';
import { DistilleryError, ENGINE_VERSION } from '../engine/index.ts';
import { checkExportOptions, exportRun, exportVariant, type ExportOptions } from '../engine/export/index.ts';
import { configValue, getMethod, plannedSteps } from '../engine/methods/index.ts';
import { listRuns, RUN_FILES, RunStore, type MetricRecord, type RunListing } from '../engine/runs/store.ts';
import { extendRun, recordedStudent, studentLabel } from '../engine/runs/distill.ts';
import type { Handlers } from './host.ts';
import { resolveTeacher } from './teachers.ts';
import type { FromWorker, ToWorker, WorkerJob } from './run-protocol.ts';

/** How a worker process is started. The default runs the TypeScript worker through tsx. */
export interface WorkerCommand {
  execPath: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

export function defaultWorkerCommand(): WorkerCommand {
  return { execPath: process.execPath, args: ['--import', 'tsx', fileURLToPath(new URL('./run-worker.ts', import.meta.url))] };
}

interface LiveRun {
  child: ChildProcess;
  runId: string | null;
  runDir: string | null;
  status: RunStatusDto;
  error?: ErrorDto;
}

const LATEST_SAMPLES_FILE = 'gallery.json';

export class RunManager {
  readonly runsDir: string;
  private readonly live = new Map<string, LiveRun>();
  private readonly worker: WorkerCommand;

  constructor(
    private readonly options: {
      dataDir: string;
      emit: <E extends EventName>(event: E, payload: EventPayloads[E]) => void;
      worker?: WorkerCommand;
      /** Whether the user picked this folder in a system dialog (exports may go there). */
      isChosenFolder?: (folder: string) => boolean;
    },
  ) {
    this.runsDir = join(options.dataDir, 'runs');
    this.worker = options.worker ?? defaultWorkerCommand();
  }

  handlers(): Pick<Handlers, 'startRun' | 'controlRun' | 'resumeRun' | 'extendRun' | 'listRuns' | 'getRun' | 'exportRun'> {
    return {
      startRun: (input) => this.start(input),
      controlRun: async ({ runId, action }) => ({ runId, status: this.control(runId, action) }),
      resumeRun: async ({ runId }) => {
        await this.released(runId, 'pause resumes with controlRun; resumeRun continues a stopped run');
        return this.launch({ kind: 'resume', runDir: this.runDir(runId) });
      },
      extendRun: async ({ runId, set }) => {
        await this.released(runId, 'cancel it, then train it longer');
        const { plannedSteps } = extendRun(this.runDir(runId), set);
        await this.launch({ kind: 'resume', runDir: this.runDir(runId) });
        return { runId, plannedSteps };
      },
      listRuns: async () => listRuns(this.runsDir).map((r) => this.summary(r)),
      getRun: async ({ runId, maxPoints }) => this.detail(runId, maxPoints ?? 400),
      exportRun: async ({ runId, format, float16, int8, weightScales, int8Io, stripStrings, folder }) => {
        if (folder !== undefined && !this.options.isChosenFolder?.(folder)) {
          throw new DistilleryError('BAD_INPUT', `${folder} was not chosen in the folder dialog`, 'choose the export folder with the Choose folder button');
        }
        const options: ExportOptions = {
          format: format ?? 'tfjs',
          float16: float16 ?? false,
          int8: int8 ?? false,
          weightScales: weightScales ?? 'per-channel',
          int8Io: int8Io ?? false,
          stripStrings: stripStrings ?? false,
          producerVersion: ENGINE_VERSION,
        };
        checkExportOptions(options);
        // One folder per format and precision, so exports of one run never mix their files.
        const name = `${runId}-${exportVariant(options)}`;
        const outDir = folder !== undefined ? join(folder, `distillery-${name}`) : join(this.options.dataDir, 'exports', name);
        const runDir = this.runDir(runId);
        // int8 calibration runs the generator and the student on hundreds of images: in a worker
        // process, as training does, not on the app's main thread. The other formats only rewrite weights.
        return options.int8 ? this.exportInWorker(runDir, outDir, options) : exportRun(runDir, outDir, options);
      },
    };
  }

  /** The folder of a run id, refusing anything that would leave the runs folder. */
  runDir(runId: string): string {
    const dir = resolve(this.runsDir, runId);
    if (!dir.startsWith(resolve(this.runsDir) + sep)) throw new DistilleryError('BAD_INPUT', `'${runId}' is not a run id`);
    if (!existsSync(join(dir, RUN_FILES.config))) throw new DistilleryError('NOT_FOUND', `there is no run ${runId}`);
    return dir;
  }

  private async start(input: RequestInput<'startRun'>): Promise<{ runId: string }> {
    const testData = input.testData ? (input.testData.kind === 'mnist' ? 'mnist' : input.testData.path) : undefined;
    return this.launch({
      kind: 'start',
      request: {
        teacher: resolveTeacher({ dataDir: this.options.dataDir }, input.teacherId).dir,
        student: input.student,
        ...(input.studentWidth !== undefined ? { studentWidth: input.studentWidth } : {}),
        method: input.method,
        overrides: input.overrides ?? {},
        testData,
        runsDir: this.runsDir,
      },
    });
  }

  private fork(): ChildProcess {
    return fork(this.worker.args.at(-1)!, [], {
      execPath: this.worker.execPath,
      execArgv: this.worker.args.slice(0, -1),
      env: { ...process.env, ...this.worker.env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
  }

  /** Runs one export in a worker process; resolves with its result (or rejects with its error). */
  private exportInWorker(runDir: string, outDir: string, options: ExportOptions): Promise<ExportResultDto> {
    const child = this.fork();
    return new Promise((resolveExport, rejectExport) => {
      let settled = false;
      child.on('message', (message: FromWorker) => {
        if (settled) return;
        if (message.type === 'exported') {
          settled = true;
          resolveExport(message.result);
        } else if (message.type === 'failed') {
          settled = true;
          rejectExport(new DistilleryError(message.error.code as never, message.error.message, message.error.hint));
        }
      });
      child.on('exit', (code, signal) => {
        if (settled) return;
        settled = true;
        rejectExport(new DistilleryError('INTERNAL', `the export's process ended unexpectedly (${signal ?? `exit code ${code}`})`, 'try again; a float32 export needs no separate process'));
      });
      child.send({ type: 'job', job: { kind: 'export', runDir, outDir, options } } satisfies ToWorker);
    });
  }

  /** Forks a worker for the job; resolves once the run folder exists (or rejects with the worker's error). */
  private launch(job: WorkerJob): Promise<{ runId: string }> {
    const child = this.fork();
    const run: LiveRun = { child, runId: null, runDir: null, status: 'running' };
    return new Promise((resolveStart, rejectStart) => {
      let settled = false;
      child.on('message', (message: FromWorker) => {
        switch (message.type) {
          case 'started':
            run.runId = message.runId;
            run.runDir = message.runDir;
            this.live.set(message.runId, run);
            this.setStatus(run, 'running');
            settled = true;
            resolveStart({ runId: message.runId });
            break;
          case 'progress':
            if (run.runId) this.options.emit('progress', { ...message.event, runId: run.runId });
            break;
          case 'samples':
            if (run.runId && run.runDir) {
              const grid: SampleGridDto = { ...message.grid, runId: run.runId };
              writeFileSync(join(run.runDir, LATEST_SAMPLES_FILE), JSON.stringify(grid));
              this.options.emit('samples', grid);
            }
            break;
          case 'paused':
            this.setStatus(run, 'paused');
            break;
          case 'resumed':
            this.setStatus(run, 'running');
            break;
          case 'finished':
            this.setStatus(run, message.status === 'done' ? 'done' : 'paused');
            break;
          case 'failed':
            run.error = message.error;
            if (!settled) {
              settled = true;
              rejectStart(new DistilleryError(message.error.code as never, message.error.message, message.error.hint));
            }
            this.setStatus(run, message.error.code === 'CANCELLED' ? 'cancelled' : 'failed');
            break;
        }
      });
      child.on('exit', (code, signal) => {
        if (run.runId) this.live.delete(run.runId);
        if (run.status === 'running' || run.status === 'paused') {
          // The worker died without saying why (killed, out of memory): the last checkpoint is kept.
          run.error = { code: 'INTERNAL', message: `the run's process ended unexpectedly (${signal ?? `exit code ${code}`})`, hint: 'resume the run to continue from its last checkpoint' };
          this.setStatus(run, 'failed');
        }
        if (!settled) {
          settled = true;
          rejectStart(new DistilleryError('INTERNAL', run.error?.message ?? 'the run could not start'));
        }
      });
      child.send({ type: 'job', job } satisfies ToWorker);
    });
  }

  /**
   * Resolves once no worker holds the run. A worker that has said it stopped (cancelled, failed,
   * done) still closes the run's files before it exits, and the app shows the status before that:
   * a Resume clicked in between waits for the exit instead of being refused.
   */
  private async released(runId: string, hint: string): Promise<void> {
    const run = this.live.get(runId);
    if (!run) return;
    if (run.status === 'running' || run.status === 'paused') throw new DistilleryError('BAD_INPUT', `run ${runId} is still running`, hint);
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(() => fail(new DistilleryError('INTERNAL', `the process of run ${runId} did not exit after it stopped`, 'try again in a moment')), 30_000);
      run.child.once('exit', () => {
        clearTimeout(timer);
        done();
      });
    });
  }

  private setStatus(run: LiveRun, status: RunStatusDto): void {
    run.status = status;
    if (run.runId) this.options.emit('runStatus', { runId: run.runId, status, ...(run.error ? { error: run.error } : {}) });
  }

  private control(runId: string, action: 'pause' | 'resume' | 'cancel'): RunStatusDto {
    const run = this.live.get(runId);
    if (!run) throw new DistilleryError('NOT_FOUND', `run ${runId} is not running`, action === 'resume' ? 'use resumeRun to continue a stopped run' : undefined);
    run.child.send({ type: action } satisfies ToWorker);
    return run.status;
  }

  /** Stops every running worker (app shutdown); each checkpoints before it exits. */
  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.live.values()].map(
        (run) =>
          new Promise<void>((done) => {
            run.child.once('exit', () => done());
            run.child.send({ type: 'cancel' } satisfies ToWorker);
          }),
      ),
    );
  }

  private summary(listing: RunListing): RunSummaryDto {
    const store = RunStore.open(listing.dir);
    try {
      const live = this.live.get(listing.id);
      const metrics = store.readMetrics();
      return summaryOf(store, listing, metrics, live?.status);
    } finally {
      store.close();
    }
  }

  private detail(runId: string, maxPoints: number): RunDetailDto {
    const dir = this.runDir(runId);
    const listing = listRuns(this.runsDir).find((r) => r.id === runId);
    if (!listing) throw new DistilleryError('NOT_FOUND', `there is no run ${runId}`);
    const store = RunStore.open(dir);
    try {
      const metrics = store.readMetrics();
      const live = this.live.get(runId);
      const galleryFile = join(dir, LATEST_SAMPLES_FILE);
      const definition = getMethod(store.record.method);
      return {
        ...summaryOf(store, listing, metrics, live?.status),
        config: store.record.config as Record<string, unknown>,
        extendable: (definition.extendable ?? []).map((key) => ({ key, value: Number(configValue(store.record.config, key)) })),
        ...(definition.fixedLength ? { fixedLength: definition.fixedLength } : {}),
        backend: store.status.sessions.at(-1)?.backend ?? null,
        ...(live?.error ?? store.status.error ? { error: live?.error ?? store.status.error } : {}),
        metrics: thin(metrics, maxPoints),
        samples: existsSync(galleryFile) ? (JSON.parse(readFileSync(galleryFile, 'utf8')) as SampleGridDto) : null,
      };
    } finally {
      store.close();
    }
  }
}

function summaryOf(store: RunStore, listing: RunListing, metrics: MetricRecord[], liveStatus?: RunStatusDto): RunSummaryDto {
  const values: Record<string, number> = {};
  for (const m of metrics) Object.assign(values, m.values);
  const planned = plannedSteps(store.record.method, store.record.config);
  return {
    id: listing.id,
    method: listing.method,
    dataset: listing.dataset,
    student: studentLabel(recordedStudent(store.record.student)),
    teacher: String((store.record.teacher as { dir?: string }).dir ?? 'unknown').split(/[\\/]/).at(-1) ?? 'unknown',
    createdAt: listing.createdAt,
    status: liveStatus ?? listing.status,
    step: metrics.at(-1)?.globalStep ?? 0,
    total: Math.max(planned, metrics.at(-1)?.globalStep ?? 0),
    values,
  };
}

/** At most maxPoints records per phase, evenly spaced, always keeping each phase's last. */
export function thin(metrics: MetricRecord[], maxPoints: number): MetricPointDto[] {
  const phases = new Map<number, MetricRecord[]>();
  for (const m of metrics) (phases.get(m.phaseIndex) ?? phases.set(m.phaseIndex, []).get(m.phaseIndex)!).push(m);
  const out: MetricPointDto[] = [];
  for (const list of phases.values()) {
    const stride = Math.max(1, Math.ceil(list.length / maxPoints));
    list.forEach((m, i) => {
      if (i % stride === 0 || i === list.length - 1) out.push({ globalStep: m.globalStep, phase: m.phase, step: m.step, total: m.total, time: m.time, values: m.values });
    });
  }
  return out;
}
