/** Teacher training and evaluation. */
export { trainTeacher, teacherInputFor, type TrainTeacherOptions, type TrainTeacherResult, type EpochRecord } from './train.ts';
export { evaluate, evaluateWithManifest, formatEvaluation, predictClasses, type Evaluation, type EvaluateOptions, type ClassResult } from './eval.ts';
