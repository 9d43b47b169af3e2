/**
 * Child process for the DeepInversion kill -9 test: runs (or resumes) DeepInversion on the tiny
 * BatchNorm teacher in a run folder until it finishes or is killed. argv: <runDir> <resume: 0|1>.
 * Prints the final student weights (JSON) when it finishes.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { getMethod, resolveConfig, runMethod } from '../../../src-main/engine/methods/index.ts';
import { RunStore } from '../../../src-main/engine/runs/store.ts';
import { bnClassifier, denseClassifier, identity, makeContext, weightsOf } from './helpers.ts';
import { KILL_TEST_CONFIG } from './kill-config.ts';

const [dir, resumeArg] = process.argv.slice(2) as [string, string];
await tf.setBackend('cpu');
const config = resolveConfig(getMethod('deepinversion'), 'mnist', KILL_TEST_CONFIG);
const store = existsSync(`${dir}/config.json`) ? RunStore.open(dir) : RunStore.create(dirname(dir), identity('deepinversion', config), { id: basename(dir) });
const ctx = makeContext(bnClassifier(1, 'teacher'), denseClassifier(resumeArg === '1' ? 77 : 5, 'student'));
// A few ms per step (results unchanged) so the parent can kill it mid-synthesis even when loaded.
const pause = new Int32Array(new SharedArrayBuffer(4));
const onProgress = resumeArg === '1' ? undefined : () => void Atomics.wait(pause, 0, 0, 4);
await runMethod({ definition: getMethod('deepinversion'), config, context: ctx, store, resume: resumeArg === '1', onProgress });
process.stdout.write(`${JSON.stringify(weightsOf(ctx.student))}\n`);
