/**
 * What every export writes beside the model, whatever its format: the run's last sample grid
 * (samples.png) and a short report (report.md) saying what the files are, how to load them, and
 * what run they came from (its summary and configuration).
 */
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExportedFileDto } from '../../common/contract.ts';
import { RUN_FILES } from '../runs/store.ts';

export const REPORT_FILE = 'report.md';
export const SAMPLES_FILE = 'samples.png';

/** A run file as pretty JSON, or its raw text when it is not JSON, or null when it is missing. */
function runFileText(runDir: string, name: string): string | null {
  const file = join(runDir, name);
  if (!existsSync(file)) return null;
  const text = readFileSync(file, 'utf8');
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text.trim();
  }
}

/** The teacher's preprocessing, from its manifest, when the run's teacher folder is still there. */
function teacherPreprocessing(runDir: string): string | null {
  try {
    const config = JSON.parse(readFileSync(join(runDir, RUN_FILES.config), 'utf8')) as { teacher?: { dir?: string } };
    const dir = config.teacher?.dir;
    if (!dir || !existsSync(join(dir, 'manifest.json'))) return null;
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { inputShape?: number[]; preprocessing?: unknown; classNames?: string[] };
    return JSON.stringify({ inputShape: manifest.inputShape, preprocessing: manifest.preprocessing, classNames: manifest.classNames }, null, 2);
  } catch {
    return null;
  }
}

/**
 * Copies the run's last sample grid and writes report.md into `outDir`: `lines` (the format, how to
 * load it, sizes…) first, then the input preprocessing and the run's summary and configuration.
 * Returns the files written.
 */
export function writeExportExtras(runDir: string, outDir: string, lines: string[]): ExportedFileDto[] {
  const written: ExportedFileDto[] = [];
  const samplesDir = join(runDir, RUN_FILES.samples);
  const grids = existsSync(samplesDir) ? readdirSync(samplesDir).filter((f) => f.endsWith('.png')).sort() : [];
  if (grids.length) {
    copyFileSync(join(samplesDir, grids.at(-1)!), join(outDir, SAMPLES_FILE));
    written.push({ name: SAMPLES_FILE, bytes: statSync(join(outDir, SAMPLES_FILE)).size, role: 'samples' });
  }
  const section = (title: string, body: string | null): string[] => (body === null ? [] : [`## ${title}`, '```json', body, '```', '']);
  const report = [
    '# Distillery export',
    '',
    ...lines,
    '',
    ...section("Input (the teacher's manifest: images are preprocessed this way before the model sees them)", teacherPreprocessing(runDir)),
    ...section('Run summary', runFileText(runDir, RUN_FILES.summary)),
    ...section('Run configuration', runFileText(runDir, RUN_FILES.config)),
  ].join('\n');
  writeFileSync(join(outDir, REPORT_FILE), report);
  written.push({ name: REPORT_FILE, bytes: statSync(join(outDir, REPORT_FILE)).size, role: 'report' });
  return written;
}
