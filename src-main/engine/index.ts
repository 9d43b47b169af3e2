/**
 * The Distillery engine: a plain Node library (it never imports Electron). The CLI, the Electron
 * main process and the browser bridge are thin callers of what is exported here.
 */
import { createRequire } from 'node:module';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

export const ENGINE_VERSION: string = pkg.version;

export { DistilleryError, asDistilleryError, type DistilleryErrorCode } from './errors.ts';
export { ProgressClock, type ProgressEvent, type ProgressListener } from './progress.ts';
export { initBackend, activeBackend, probeBackends, isBackendName, type BackendChoice, type BackendName, type BackendProbe } from './backend/index.ts';
export { doctor, formatDoctorReport, type DoctorReport } from './doctor.ts';
export { locateMnist } from './data/mnist.ts';
export { appRoot, bundledTeachersDir, dataHome, defaultRunsDir } from './paths.ts';
