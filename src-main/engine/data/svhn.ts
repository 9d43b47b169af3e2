/**
 * SVHN cropped digits (format 2 of the SVHN site; "format 5" MAT-files in this project's words):
 * train_32x32.mat / test_32x32.mat / extra_32x32.mat, level-5 MAT-files holding X, uint8
 * 32×32×3×N (MATLAB's column-major order: row fastest, then column, channel, sample), and y, N×1
 * (double or uint8) with labels 1–10, where 10 means the digit 0.
 */
import { basename } from 'node:path';
import { DistilleryError } from '../errors.ts';
import { matValues, MI, MX, readMatVariables } from './mat.ts';
import { forEachRun, type ImageSource, type Shape3 } from './types.ts';

export const SVHN_CLASS_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export async function openSvhnMat(path: string): Promise<ImageSource> {
  const source = basename(path);
  const vars = await readMatVariables(path, ['X', 'y']);
  const X = vars.get('X')!;
  const y = vars.get('y')!;
  const closeAll = (): void => {
    X.store.close();
    y.store.close();
  };
  const fail = (message: string): never => {
    closeAll();
    throw new DistilleryError('BAD_DATA', `${source}: ${message}`);
  };
  if (X.mxClass !== MX.UINT8 || X.dataType !== MI.UINT8) fail(`X must be a uint8 array (the cropped-digit format), got MATLAB class ${X.mxClass}`);
  if (X.dims.length !== 4 && X.dims.length !== 3) fail(`X must be H×W×C×N, got ${X.dims.join('×')}`);
  const [h, w, c, n] = X.dims.length === 4 ? (X.dims as [number, number, number, number]) : [X.dims[0]!, X.dims[1]!, 1, X.dims[2]!];
  const values = matValues(y);
  if (values.length !== n) fail(`y has ${values.length} labels for ${n} images`);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || v < 0 || v > 10) fail(`label ${i} is ${v}; SVHN labels are 1–10 (10 = digit 0)`);
    labels[i] = v === 10 ? 0 : v;
  }
  const shape: Shape3 = [h, w, c];
  const plane = h * w;
  const sample = plane * c;
  let scratch = new Uint8Array(0);
  return {
    description: `SVHN ${source} (${n} images ${h}×${w}×${c})`,
    kind: 'svhn',
    size: n,
    shape,
    labels,
    numClasses: 10,
    classNames: SVHN_CLASS_NAMES,
    read(indices, out) {
      forEachRun(indices, (first, count, position) => {
        if (first < 0 || first + count > n) throw new DistilleryError('BAD_INPUT', `sample index out of range 0..${n - 1}`);
        if (scratch.length < count * sample) scratch = new Uint8Array(count * sample);
        X.store.read(X.offset + first * sample, count * sample, scratch, 0);
        for (let s = 0; s < count; s++) {
          const src = s * sample;
          const dst = (position + s) * sample;
          // Column-major (row i, column j, channel k) at i + h·j + h·w·k → row-major HWC.
          for (let k = 0; k < c; k++) {
            for (let j = 0; j < w; j++) {
              const col = src + k * plane + j * h;
              for (let i = 0; i < h; i++) out[dst + (i * w + j) * c + k] = scratch[col + i]!;
            }
          }
        }
      });
    },
    close: closeAll,
  };
}
