/**
 * The names of the contract's requests and events, without their schemas: the sandboxed preload
 * imports only this (it cannot load zod), the hosts check names against it.
 */
export const REQUEST_NAMES = [
  'doctor',
  'listTeachers',
  'importTeacher',
  'inspectTeacher',
  'saveTeacherManifest',
  'listStudents',
  'sizeStudent',
  'listMethods',
  'startRun',
  'controlRun',
  'resumeRun',
  'extendRun',
  'listRuns',
  'getRun',
  'exportRun',
  'chooseFolder',
  'openTeacher',
] as const;
export const EVENT_NAMES = ['progress', 'runStatus', 'samples'] as const;

export type RequestName = (typeof REQUEST_NAMES)[number];
export type EventName = (typeof EVENT_NAMES)[number];

export function isRequestName(value: unknown): value is RequestName {
  return typeof value === 'string' && (REQUEST_NAMES as readonly string[]).includes(value);
}

export function isEventName(value: unknown): value is EventName {
  return typeof value === 'string' && (EVENT_NAMES as readonly string[]).includes(value);
}

/** IPC channel names used by main and preload. */
export const IPC_INVOKE = 'distillery:invoke';
export const IPC_EVENT = 'distillery:event';
