import { join, resolve } from 'node:path';
import { bundledTeachersDir, defaultRunsDir, DistilleryError, initBackend, isBackendName, type BackendName } from '../../engine/index.ts';
import { expandDottedKeys, METHOD_IDS, METHODS, plannedSteps, RunControl } from '../../engine/methods/index.ts';
import { MANIFEST_FILE, readManifest } from '../../engine/models/index.ts';
import { listRuns, type RunListing } from '../../engine/runs/store.ts';
import { extendRun, resumeDistillation, runConfig, startDistillation, type DistillResult } from '../../engine/runs/distill.ts';
import { STUDENT_WIDTH_MAX, studentWidthSchema } from '../../common/contract.ts';
import { progressPrinter } from './progress-line.ts';
import { numberOption, out, stringOption, type CliCommand, type ParsedValues } from '../command.ts';

export const DEFAULT_TEACHER = 'lenet5-mnist';

/** Shorthand flags → the method config's dotted keys. */
const SHORTHANDS: Record<string, string> = {
  'lr-g': 'generator.lr',
  'lr-s': 'student.lr',
  'epochs-g': 'generator.epochs',
  'epochs-s': 'student.epochs',
  iters: 'generator.itersPerEpoch,student.itersPerEpoch',
  batch: 'generator.batchSize,student.batchSize',
  tau: 'student.tau',
  seed: 'seed',
};

function parseValue(raw: string): number | boolean | string {
  if (raw === 'true' || raw === 'false') return raw === 'true';
  const n = Number(raw);
  return raw.trim() !== '' && Number.isFinite(n) ? n : raw;
}

export function overridesFrom(values: ParsedValues): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  for (const [flag, keys] of Object.entries(SHORTHANDS)) {
    const raw = stringOption(values, flag);
    if (raw === undefined) continue;
    for (const key of keys.split(',')) overrides[key] = parseValue(raw);
  }
  const sets = values.set;
  for (const item of Array.isArray(sets) ? sets : sets === undefined ? [] : [sets]) {
    const match = /^([\w.]+)=(.*)$/.exec(String(item));
    if (!match) throw new DistilleryError('BAD_INPUT', `--set takes key=value, got '${String(item)}'`);
    overrides[match[1]!] = parseValue(match[2]!);
  }
  return overrides;
}

/** --student-width: the app's limits (contract), so the CLI and the wizard accept the same widths. */
export function studentWidthOption(values: ParsedValues): number | undefined {
  const raw = stringOption(values, 'student-width');
  if (raw === undefined) return undefined;
  const parsed = studentWidthSchema.safeParse(raw.trim() === '' ? Number.NaN : Number(raw));
  if (!parsed.success) {
    throw new DistilleryError('BAD_INPUT', `--student-width must be a number above 0 and at most ${STUDENT_WIDTH_MAX}, got '${raw}'`, 'e.g. --student-width 0.5 halves every layer of the student');
  }
  return parsed.data;
}

function backendOption(values: ParsedValues): BackendName | undefined {
  const raw = stringOption(values, 'backend');
  if (raw === undefined) return undefined;
  if (!isBackendName(raw)) throw new DistilleryError('BAD_INPUT', `--backend ${raw} is not a backend (tensorflow, webgpu, wasm, cpu)`);
  return raw;
}

/** Starts the backend and says which one, and why, before a long job. */
async function announceBackend(values: ParsedValues): Promise<void> {
  const backend = await initBackend({ prefer: backendOption(values) });
  out.status(`Backend: ${backend.name}${backend.threads ? ` (${backend.threads} thread${backend.threads > 1 ? 's' : ''})` : ''} — ${backend.reason}`);
}

/** Ctrl+C stops after the current step and a checkpoint, so the run can be resumed. */
function interruptible(): { control: RunControl; dispose: () => void } {
  const control = new RunControl();
  const onSignal = (): void => {
    out.status('\nStopping after this step (checkpoint kept; `distillery runs --resume <id>` continues)…');
    control.cancel('interrupted');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return { control, dispose: () => (process.off('SIGINT', onSignal), void process.off('SIGTERM', onSignal)) };
}

export function printResult(result: DistillResult): void {
  out.print(`Run ${result.id}: ${result.status} after ${result.position.globalStep} steps in ${result.wallSeconds.toFixed(0)} s`);
  for (const [phase, values] of Object.entries(result.last)) {
    out.print(`  ${phase}: ${Object.entries(values).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(4)}`).join(' ')}`);
  }
  out.print(`  folder: ${result.runDir}`);
}

/** The teacher, method and config overrides the options choose (shared by a run and --print-config). */
function runChoices(values: ParsedValues): { teacher: string; method: string; overrides: Record<string, unknown> } {
  return {
    teacher: stringOption(values, 'teacher') ?? resolve(bundledTeachersDir(), DEFAULT_TEACHER),
    method: stringOption(values, 'method') ?? 'rdskd',
    overrides: expandDottedKeys(overridesFrom(values)),
  };
}

/** --print-config: the config the run would get (reference defaults for the teacher's dataset + the options), as JSON. */
function printConfig(values: ParsedValues): void {
  const { teacher, method, overrides } = runChoices(values);
  const manifest = readManifest(join(teacher, MANIFEST_FILE));
  const { dataset, exact, config } = runConfig(method, manifest.dataset.name, overrides);
  out.status(`${method} for ${manifest.name} (${manifest.dataset.name}): the reference's defaults for ${dataset}${exact ? '' : ` (none for ${manifest.dataset.name})`} with the options given`);
  out.print(JSON.stringify(config, null, 2));
}

export async function runDistill(values: ParsedValues, defaults: { maxSteps?: number } = {}): Promise<DistillResult> {
  const { control, dispose } = interruptible();
  try {
    const { teacher, method, overrides } = runChoices(values);
    const maxSteps = values['max-steps'] === undefined ? defaults.maxSteps : numberOption(values, 'max-steps', 0, 1);
    const studentWidth = studentWidthOption(values);
    await announceBackend(values);
    return await startDistillation(
      {
        teacher,
        student: stringOption(values, 'student') ?? 'lenet5-half',
        ...(studentWidth !== undefined ? { studentWidth } : {}),
        method,
        overrides,
        testData: stringOption(values, 'test-data'),
        runsDir: stringOption(values, 'out') ?? defaultRunsDir(),
      },
      { onProgress: progressPrinter(), control, maxSteps, onStart: (run) => out.status(`Run ${run.id} in ${run.dir}`) },
    );
  } finally {
    dispose();
  }
}

export const DISTILL_OPTIONS = {
  teacher: { type: 'string' },
  student: { type: 'string' },
  'student-width': { type: 'string' },
  method: { type: 'string' },
  'lr-g': { type: 'string' },
  'lr-s': { type: 'string' },
  'epochs-g': { type: 'string' },
  'epochs-s': { type: 'string' },
  iters: { type: 'string' },
  batch: { type: 'string' },
  tau: { type: 'string' },
  seed: { type: 'string' },
  set: { type: 'string', multiple: true },
  'test-data': { type: 'string' },
  out: { type: 'string' },
  'max-steps': { type: 'string' },
  backend: { type: 'string' },
} as const;

export const distillCommand: CliCommand = {
  name: 'distill',
  summary: 'distil a teacher into a student without its training data',
  usage: `Usage: distillery distill [--teacher DIR] [--student ARCH] [--method ID] [options]

  --teacher DIR      teacher folder (model.json, weights, manifest.json); default: the bundled ${DEFAULT_TEACHER}
  --student ARCH     student architecture from the zoo (default lenet5-half)
  --student-width X  scale the student's channels and units by X (0 < X ≤ ${STUDENT_WIDTH_MAX}; default 1, the zoo's)
  --method ID        ${METHOD_IDS.join(' | ')} (default rdskd)
  --lr-g, --lr-s     generator / student learning rate
  --epochs-g, --epochs-s, --iters, --batch, --tau, --seed
                     schedule and KD temperature (defaults: the reference's for the teacher's dataset)
  --set key=value    any config value by dotted key, e.g. --set student.lrDecay.factor=0.1 (repeatable)
  --test-data SPEC   log test accuracy on real data (e.g. mnist); never used to choose the student
  --out DIR          parent folder for the run (default ~/.distillery/runs)
  --max-steps N      stop after N steps (resumable)
  --backend NAME     tensorflow | webgpu | wasm | cpu
  --print-config     print the config the run would get (defaults + the options above) and stop

Ctrl+C stops after the current step; \`distillery runs --resume <id>\` continues the run.`,
  options: { ...DISTILL_OPTIONS, 'print-config': { type: 'boolean' } },
  async run({ values }) {
    if (values['print-config']) {
      printConfig(values);
      return 0;
    }
    const result = await runDistill(values);
    printResult(result);
    return 0;
  },
};

/** "--set epochs=N for DAFL; --set student.epochs=N for RDSKD, …; not ZSKT": from the methods' own lists. */
function lengthenedWith(): string {
  const byKey = new Map<string, string[]>();
  const fixed: string[] = [];
  for (const def of Object.values(METHODS)) {
    if (!def.extendable?.length) fixed.push(def.title);
    for (const key of def.extendable ?? []) byKey.set(key, [...(byKey.get(key) ?? []), def.title]);
  }
  return [...[...byKey].map(([key, titles]) => `--set ${key}=N for ${titles.join(', ')}`), ...(fixed.length ? [`not ${fixed.join(', ')}`] : [])].join('\n  ');
}

export const runsCommand: CliCommand = {
  name: 'runs',
  summary: 'list runs, resume one from its last checkpoint, or lengthen one and go on',
  usage: `Usage: distillery runs [--out DIR] [--json]
       distillery runs --resume ID|DIR [--out DIR] [--max-steps N] [--backend NAME]
       distillery runs --extend ID|DIR --set KEY=N [--out DIR] [--max-steps N] [--backend NAME]

Lists the runs in DIR (default ~/.distillery/runs), newest first, or resumes one.
--extend lengthens a finished or stopped run's last phase and resumes it:
  ${lengthenedWith()}.
The run then ends where one planned that long from the start would; the student and summary it had
are kept as student-<steps>/ and summary-<steps>.json.`,
  options: { out: { type: 'string' }, json: { type: 'boolean' }, resume: { type: 'string' }, extend: { type: 'string' }, set: { type: 'string', multiple: true }, 'max-steps': { type: 'string' }, backend: { type: 'string' } },
  async run({ values }) {
    const root = stringOption(values, 'out') ?? defaultRunsDir();
    const extend = stringOption(values, 'extend');
    if (extend && values.resume !== undefined) throw new DistilleryError('BAD_INPUT', '--extend resumes the run itself: leave out --resume');
    if (!extend && values.set !== undefined) throw new DistilleryError('BAD_INPUT', '--set on an existing run goes with --extend (only the length can change)');
    const target = extend ?? stringOption(values, 'resume');
    if (target) {
      const dir = target.includes('/') ? resolve(target) : resolve(root, target);
      if (extend) {
        const change = extendRun(dir, overridesFrom(values));
        const keys = Object.keys(change.set);
        out.status(`Run ${change.id} lengthened at step ${change.atStep}: ${keys.map((k) => `${k} ${change.was[k]} → ${change.set[k]}`).join(', ')}; ${change.plannedSteps} steps planned`);
      }
      const { control, dispose } = interruptible();
      try {
        const maxSteps = values['max-steps'] === undefined ? undefined : numberOption(values, 'max-steps', 0, 1);
        await announceBackend(values);
        printResult(await resumeDistillation(dir, { onProgress: progressPrinter(), control, maxSteps }));
      } finally {
        dispose();
      }
      return 0;
    }
    const runs = listRuns(root);
    if (values.json) {
      out.print(JSON.stringify(runs, null, 2));
      return 0;
    }
    if (!runs.length) {
      out.print(`No runs in ${root}.`);
      return 0;
    }
    for (const line of runsTable(runs)) out.print(line);
    return 0;
  },
};

/** The runs in aligned columns: id, method, dataset, status, steps, the student's figures. */
export function runsTable(runs: readonly RunListing[]): string[] {
  const rows = runs.map((run) => [run.id, run.method, run.dataset, run.status, stepsDone(run), studentResult(run.summary)]);
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]!.length))) ?? [];
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
}

/** "330 of 3000 steps" for a run not yet done (its plan from its config), "12800 steps" once done. */
function stepsDone(run: RunListing): string {
  if (!run.position) return 'not started';
  const done = run.position.globalStep;
  if (run.status === 'done') return `${done} steps`;
  let planned = NaN;
  try {
    planned = plannedSteps(run.method, run.config);
  } catch {
    // a method or config this version does not know: the steps done are still worth showing
  }
  return Number.isFinite(planned) && planned > done ? `${done} of ${planned} steps` : `${done} steps`;
}

/**
 * A finished run's student in numbers, from its summary: the last agreement with the teacher (on
 * held-out generated images) and the last test accuracy where the run logged one, e.g.
 * "agreement 0.928, test accuracy 0.9763"; '' for a run without.
 */
export function studentResult(summary: RunListing['summary']): string {
  const last = (summary as { last?: Record<string, Record<string, number>> } | null)?.last;
  if (!last) return '';
  // The phase in which the student trained is the last one that evaluated it.
  const values = Object.values(last).reverse().find((v) => typeof v.agreement === 'number' || typeof v.testAccuracy === 'number');
  if (!values) return '';
  return [
    typeof values.agreement === 'number' ? `agreement ${values.agreement.toFixed(3)}` : '',
    typeof values.testAccuracy === 'number' ? `test accuracy ${values.testAccuracy.toFixed(4)}` : '',
  ].filter(Boolean).join(', ');
}
