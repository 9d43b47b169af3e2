import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import os from 'node:os';

/**
 * The repository / app root. Sources live at <root>/src-main/engine; in the Electron bundle the
 * main process sets DISTILLERY_ROOT (resources are unpacked beside the app).
 */
export function appRoot(): string {
  if (process.env.DISTILLERY_ROOT) return resolve(process.env.DISTILLERY_ROOT);
  return fileURLToPath(new URL('../../', import.meta.url));
}

export function resourcesDir(): string {
  return join(appRoot(), 'resources');
}

export function bundledTeachersDir(): string {
  return join(resourcesDir(), 'teachers');
}

/** Where runs are stored unless the user says otherwise: DISTILLERY_HOME, else ~/.distillery. */
export function dataHome(): string {
  return process.env.DISTILLERY_HOME ? resolve(process.env.DISTILLERY_HOME) : join(os.homedir(), '.distillery');
}

export function defaultRunsDir(): string {
  return join(dataHome(), 'runs');
}
