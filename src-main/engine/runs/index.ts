/** The run store and the start / resume entry points (see store.ts for the folder layout). */
export { RunStore, listRuns, identityHash, RUN_FILES, type RunIdentity, type RunRecord, type RunExtension, type RunState, type RunStatus, type RunListing, type MetricRecord } from './store.ts';
export { readCheckpointInfo, restoreCheckpoint, writeCheckpoint, type Position, type CheckpointInfo } from './checkpoint.ts';
export { writeFileAtomic, ioError, type FileOps } from './fsio.ts';
export { encodeImageGrid, writeImageGrid, type GridOptions } from './png.ts';
export { startDistillation, resumeDistillation, extendRun, datasetDefaults, weightsHash, recordedStudent, studentLabel, type StudentRecord, type DistillOptions, type DriveOptions, type DistillResult, type RunExtensionResult } from './distill.ts';
