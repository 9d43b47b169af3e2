import * as tf from '@tensorflow/tfjs';
import { DistilleryError } from '../errors.ts';
import type { TestSet } from '../methods/method.ts';
import type { LoadedTeacher } from '../models/index.ts';
import { openDataset } from './open.ts';
import { Preprocessor } from './preprocess.ts';

/** The whole test split, preprocessed as the teacher expects (for logging accuracy only). */
export async function loadTestSet(spec: string, teacher: Pick<LoadedTeacher, 'manifest'>): Promise<TestSet> {
  const source = await openDataset(spec, 'test');
  try {
    const { inputShape, numClasses, preprocessing } = teacher.manifest;
    if (source.numClasses !== numClasses) {
      throw new DistilleryError('BAD_DATA', `${source.description} has ${source.numClasses} classes but the teacher has ${numClasses}`);
    }
    const pre = new Preprocessor(source.shape, inputShape, preprocessing);
    const n = source.size;
    const raw = new Uint8Array(n * source.shape[0] * source.shape[1] * source.shape[2]);
    source.read(Uint32Array.from({ length: n }, (_, i) => i), raw);
    const x = tf.tensor4d(pre.apply(raw, n), [n, ...pre.inputShape]);
    return { x, y: tf.tensor1d(source.labels, 'int32'), name: source.description };
  } finally {
    source.close();
  }
}
