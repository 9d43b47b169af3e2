/**
 * Child process for the kill -9 test: runs (or resumes) the toy method in a run folder, slowly,
 * until killed. argv: <runDir> <resume: 0|1> <stepDelayMs> (passed to the toy as TOY_STEP_DELAY_MS)
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { dirname, basename } from 'node:path';
import { runMethod } from '../../../src-main/engine/methods/driver.ts';
import { RunStore } from '../../../src-main/engine/runs/store.ts';
import { toyContext, toyMethod } from './toy-method.ts';
import { toyIdentity, toyConfig } from './toy-identity.ts';

const [dir, resumeArg, delayArg] = process.argv.slice(2) as [string, string, string];
await tf.setBackend('cpu');
process.env.TOY_STEP_DELAY_MS = delayArg;
const config = toyConfig();
const store = existsSync(`${dir}/config.json`) ? RunStore.open(dir) : RunStore.create(dirname(dir), toyIdentity(config), { id: basename(dir) });
await runMethod({ definition: toyMethod, config, context: toyContext(), store, resume: resumeArg === '1' });
process.stdout.write('finished\n');
