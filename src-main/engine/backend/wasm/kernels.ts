/**
 * Training kernels for the wasm backend (XNNPACK). The stock backend lacks Conv2DBackpropFilter and
 * has slow scalar loops for several others that training graphs hit. The heavy kernels here are
 * built from the backend's own XNNPACK operations (convolution, transpose, average pooling,
 * matmul); JavaScript only copies memory blocks, inserts zeros, and does MaxPoolGrad's single pass.
 *
 * Formulations (engine scoping notes, ../shared/reference/engine.md; all checked against the cpu
 * backend or brute force in tests/engine/backend):
 * - Conv2DBackpropFilter = forward conv of x transposed to [Ci,H,W,N] with dy transposed to
 *   [OH,OW,N,Co] as the filter, stride 1, dilation = forward stride; result [Ci,KH,KW,Co] →
 *   [KH,KW,Ci,Co], summed over chunks of the batch. When the forward conv left input rows/columns
 *   unused (bottom/right pad < 0) the "filter" is extended with zero rows/columns instead of
 *   cropping x. Dense-like convs (K×K filter over a K×K input) use one matmul; stride-1 convs with
 *   fewer than 8 output channels swap the roles of x and dy.
 * - Conv2DBackpropInput = forward conv of dy (zeros inserted between rows/columns when stride > 1)
 *   with the filter rotated 180° and its channels swapped, stride 1 (a matmul when dense-like).
 * - BatchMatMul with transposes = explicit Transpose, then the XNNPACK matmul.
 * - Sum/Mean over leading axes = AvgPool over a [1, P/W, W, C] view (× P for Sum).
 * - Identity = a new reference to the same data (no copy).
 * - MaxPoolGrad = one pass to each window's first maximum; ResizeNearestNeighborGrad (integer
 *   factor f, no corner options) = f²·AvgPool(dy, f).
 * - Slice, SplitV, PadV2 (float32 / int32 / bool) = block copies in contiguous runs (copyWithin on
 *   the heap); the stock kernels copy per innermost row or per element.
 * Anything outside these cases (dilated or NCHW convolutions, other axes) falls back to the
 * backend's own kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { asPermuteRQP, backendData, pointer, trainKernels } from './simd/index.ts';

type TensorInfo = tf.TensorInfo;
type Attrs = Record<string, unknown>;
type KernelFunc = (args: { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs?: Attrs }) => TensorInfo | TensorInfo[];

const BACKEND = 'wasm';

/** The backend's own kernels, captured before we replace any. */
const stock = new Map<string, KernelFunc>();

function stockKernel(name: string): KernelFunc {
  let k = stock.get(name);
  if (!k) {
    const config = tf.getKernel(name, BACKEND);
    if (!config) throw new Error(`the wasm backend has no ${name} kernel`);
    k = config.kernelFunc as unknown as KernelFunc;
    stock.set(name, k);
  }
  return k;
}

function run(backend: BackendWasm, name: string, inputs: Record<string, TensorInfo>, attrs: Attrs = {}): TensorInfo {
  return stockKernel(name)({ inputs, backend, attrs }) as TensorInfo;
}

function release(backend: BackendWasm, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

function id(backend: BackendWasm, info: TensorInfo): number {
  return backendData(backend, info).id;
}

function reshape(backend: BackendWasm, x: TensorInfo, shape: number[]): TensorInfo {
  return run(backend, 'Reshape', { x }, { shape });
}

/**
 * Transpose, by our SIMD permuteRQP where the permutation is of its kind (the gradients' NHWC ↔
 * CHWN / HWNC moves; the stock kernel's generic loop took 2.5 ms for LeNet5's first dy, ~0.6 ms
 * this way) and by the stock kernel otherwise.
 */
function transpose(backend: BackendWasm, x: TensorInfo, perm: number[]): TensorInfo {
  const simd = x.dtype === 'float32' ? trainKernels(backend) : null;
  const runs = simd ? asPermuteRQP(x.shape, perm) : null;
  if (!simd || !runs || runs.filter((n) => n > 1).length < 2) return run(backend, 'Transpose', { x }, { perm });
  const out = backend.makeOutput(perm.map((a) => x.shape[a]!), 'float32');
  simd.permuteRQP(pointer(backend, out), pointer(backend, x), ...runs);
  return out;
}

type WasmConv2d = (
  xId: number, batch: number, inH: number, inW: number, filterId: number, fH: number, fW: number,
  padTop: number, padRight: number, padBottom: number, padLeft: number, isSamePad: number,
  dilH: number, dilW: number, strideH: number, strideW: number, inC: number, outC: number, outId: number,
) => void;

let wasmConv2d: WasmConv2d | null = null;

/** XNNPACK convolution with explicit (possibly asymmetric) padding, NHWC, filter [KH,KW,Ci,Co]. */
function convExplicit(
  backend: BackendWasm, x: TensorInfo, filter: TensorInfo,
  pads: { top: number; bottom: number; left: number; right: number }, dilation: [number, number],
): TensorInfo {
  const [n, h, w, ci] = x.shape as [number, number, number, number];
  const [kh, kw, fci, co] = filter.shape as [number, number, number, number];
  if (fci !== ci) throw new Error(`convExplicit: filter has ${fci} input channels, input ${ci}`);
  const ekh = (kh - 1) * dilation[0] + 1;
  const ekw = (kw - 1) * dilation[1] + 1;
  const oh = h + pads.top + pads.bottom - ekh + 1;
  const ow = w + pads.left + pads.right - ekw + 1;
  const out = backend.makeOutput([n, oh, ow, co], 'float32');
  wasmConv2d!(
    id(backend, x), n, h, w, id(backend, filter), kh, kw,
    pads.top, pads.right, pads.bottom, pads.left, 0,
    dilation[0], dilation[1], 1, 1, ci, co, id(backend, out),
  );
  return out;
}

function heap(backend: BackendWasm, info: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/**
 * A filter [KH, KW, A, B] with its taps in reverse order (a 180° rotation of the kernel window):
 * the KH·KW blocks of A·B values are copied back to front. Releases `filter`.
 */
function rotateTaps(backend: BackendWasm, filter: TensorInfo): TensorInfo {
  const [kh, kw, a, b] = filter.shape as [number, number, number, number];
  const out = backend.makeOutput([kh, kw, a, b], 'float32');
  const src = heap(backend, filter);
  const dst = heap(backend, out);
  const block = a * b;
  const k = kh * kw;
  for (let i = 0; i < k; i++) dst.set(src.subarray(i * block, (i + 1) * block), (k - 1 - i) * block);
  release(backend, filter);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Convolutions that are dense layers in disguise (a valid K×K filter over a K×K input, e.g.
// LeNet5's conv3): their gradients are single matmuls, far faster than a 1×1-output convolution.

function isDenseLike(info: tf.backend_util.Conv2DInfo): boolean {
  const p = info.padInfo;
  return info.outHeight === 1 && info.outWidth === 1 && info.filterHeight === info.inHeight &&
    info.filterWidth === info.inWidth && p.top === 0 && p.bottom === 0 && p.left === 0 && p.right === 0 &&
    info.dilationHeight === 1 && info.dilationWidth === 1;
}

function matmul3(backend: BackendWasm, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): TensorInfo {
  return batchMatMul({ inputs: { a, b }, backend, attrs: { transposeA, transposeB, bias: null, activation: 'linear' } });
}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropFilter

function conv2DBackpropFilter(args: { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs?: Attrs }): TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as {
    strides: [number, number] | number; pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number];
  };
  if (dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  if (isDenseLike(info)) {
    const x3 = reshape(backend, x, [1, n, h * w * ci]);
    const dy3 = reshape(backend, dy, [1, n, co]);
    const g = matmul3(backend, x3, dy3, true, false); // [1, H·W·Ci, Co]
    release(backend, x3, dy3);
    const out = reshape(backend, g, [kh, kw, ci, co]);
    release(backend, g);
    return out;
  }
  if (co < 8 && ci >= 8 && sh === 1 && sw === 1 && info.dilationHeight === 1 && info.dilationWidth === 1) {
    return filterGradFewOutputs(backend, x, dy, info);
  }
  return convFilterGrad(backend, x, dy, info);
}

/**
 * filterGradChunkRows: rows of the GEMM's reduction (N·OH·OW) per chunk of the batch. The reduction
 * runs over the whole batch, so without chunking the "filter" dyᵀ (N·OH·OW × Co) is streamed from
 * memory once per tile of output rows (Ci·KH·KW rows); chunks of ~8k rows keep each tile's slices in
 * cache. filterGradChunkMinOutputRows: with fewer output rows than this there are few tiles to
 * stream for, and the per-chunk costs win (transposes, a new XNNPACK operator, a short reduction
 * per filter tap): LeNet5's first conv (1·5·5 rows, batch 256) takes 14 ms whole, 32 ms chunked.
 */
export const wasmKernelTuning = { filterGradChunkRows: 8192, filterGradChunkMinOutputRows: 256 };

/** The general formulation (module comment): XNNPACK conv of xᵀ with dyᵀ as the filter. */
function convFilterGrad(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
  const { batchSize: n, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const chunked = ci * info.filterHeight * info.filterWidth >= wasmKernelTuning.filterGradChunkMinOutputRows;
  const nb = chunked ? Math.max(1, Math.min(n, Math.floor(wasmKernelTuning.filterGradChunkRows / (oh * ow)))) : n;
  let acc: TensorInfo | null = null;
  for (let b0 = 0; b0 < n; b0 += nb) {
    const m = Math.min(nb, n - b0);
    const xc = m === n ? x : batchRows(backend, x, b0, m);
    const dyc = m === n ? dy : batchRows(backend, dy, b0, m);
    const g = convFilterGradChunk(backend, xc, dyc, info, m); // [Ci, KH, KW, Co]
    if (xc !== x) release(backend, xc, dyc);
    if (!acc) {
      acc = g;
    } else {
      const dst = heap(backend, acc);
      const src = heap(backend, g);
      for (let i = 0; i < dst.length; i++) dst[i]! += src[i]!;
      release(backend, g);
    }
  }
  const out = transpose(backend, acc!, [1, 2, 0, 3]); // [KH, KW, Ci, Co]
  release(backend, acc!);
  if (out.shape[0] !== info.filterHeight || out.shape[1] !== info.filterWidth || out.shape[2] !== ci || out.shape[3] !== co) {
    release(backend, out);
    throw new Error(`Conv2DBackpropFilter: internal shape mismatch ${out.shape} for a ${info.filterHeight}×${info.filterWidth} filter`);
  }
  return out;
}

/** A copy of rows [b0, b0+m) of a batch-major tensor. */
function batchRows(backend: BackendWasm, t: TensorInfo, b0: number, m: number): TensorInfo {
  const per = t.shape.slice(1).reduce((a, v) => a * v, 1);
  const out = backend.makeOutput([m, ...t.shape.slice(1)], 'float32');
  heap(backend, out).set(heap(backend, t).subarray(b0 * per, (b0 + m) * per));
  return out;
}

function convFilterGradChunk(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo, n: number): TensorInfo {
  const { inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  let bottom = kh + (oh - 1) * sh - h - top;
  let right = kw + (ow - 1) * sw - w - left;
  // Extend the dy "filter" with zero rows/columns where the forward conv left input unused.
  const extraH = bottom < 0 ? Math.ceil(-bottom / sh) : 0;
  const extraW = right < 0 ? Math.ceil(-right / sw) : 0;
  bottom += extraH * sh;
  right += extraW * sw;

  const xT = transpose(backend, x, [3, 1, 2, 0]); // [Ci, H, W, N]
  let dyT = transpose(backend, dy, [1, 2, 0, 3]); // [OH, OW, N, Co]
  if (extraH > 0 || extraW > 0) {
    const ext = backend.makeOutput([oh + extraH, ow + extraW, n, co], 'float32');
    const dst = heap(backend, ext);
    const src = heap(backend, dyT);
    dst.fill(0);
    const rowSrc = ow * n * co;
    const rowDst = (ow + extraW) * n * co;
    for (let r = 0; r < oh; r++) dst.set(src.subarray(r * rowSrc, (r + 1) * rowSrc), r * rowDst);
    release(backend, dyT);
    dyT = ext;
  }
  const g = convExplicit(backend, xT, dyT, { top, bottom, left, right }, [sh, sw]); // [Ci, KH, KW, Co]
  release(backend, xT, dyT);
  return g;
}

/**
 * Filter gradient of a stride-1 convolution with few output channels (the generator's last conv,
 * 64 → 1): the formulation above would make Co the XNNPACK output-channel count (1 of an 8-wide
 * tile). Swapping roles, dy transposed to [Co, OH, OW, N] is the input and x transposed to
 * [H, W, N, Ci] the filter: out[co, u, v, ci] = Σ x[n, t, s, ci]·dy[n, t+u−P, s+v−Q, co] with
 * P = KH−1−top, which is dW[KH−1−u, KW−1−v, ci, co]: transpose to [u, v, Ci, Co] and flip u, v.
 */
function filterGradFewOutputs(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
  const { inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw } = info;
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const bottom = kh - 1 - oh + h - top;
  const right = kw - 1 - ow + w - left;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return convFilterGrad(backend, x, dy, info);
  const dyT = transpose(backend, dy, [3, 1, 2, 0]); // [Co, OH, OW, N]
  const xT = transpose(backend, x, [1, 2, 0, 3]); // [H, W, N, Ci]
  const g = convExplicit(backend, dyT, xT, { top, bottom, left, right }, [1, 1]); // [Co, KH, KW, Ci]
  release(backend, dyT, xT);
  const gT = transpose(backend, g, [1, 2, 3, 0]); // [KH, KW, Ci, Co]
  release(backend, g);
  return rotateTaps(backend, gT);
}

// ---------------------------------------------------------------------------------------------
// ResizeNearestNeighborGrad for integer upsampling (the generator's ×2): the gradient of each
// input pixel is the sum over its f×f block = f²·AvgPool(dy, f, f). The stock kernel loops.

function resizeNearestNeighborGrad(args: { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs?: Attrs }): TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const { images, dy } = inputs as { images: TensorInfo; dy: TensorInfo };
  const { alignCorners, halfPixelCenters } = attrs as { alignCorners: boolean; halfPixelCenters: boolean };
  const [, h, w] = images.shape as number[];
  const [, oh, ow] = dy.shape as number[];
  const fh = oh! / h!;
  const fw = ow! / w!;
  // alignCorners / halfPixelCenters map output pixels to other sources: the stock kernel.
  if (alignCorners || halfPixelCenters || dy.dtype !== 'float32' || !Number.isInteger(fh) || !Number.isInteger(fw)) {
    return stockKernel('ResizeNearestNeighborGrad')(args) as TensorInfo;
  }
  const pooled = run(backend, 'AvgPool', { x: dy }, { filterSize: [fh, fw], strides: [fh, fw], pad: 'valid', dimRoundingMode: undefined });
  const v = heap(backend, pooled);
  const k = fh * fw;
  for (let i = 0; i < v.length; i++) v[i]! *= k;
  return pooled;
}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropInput

function conv2DBackpropInput(args: { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs?: Attrs }): TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as {
    strides: [number, number] | number; pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil'; inputShape: [number, number, number, number];
  };
  if (dataFormat === 'NCHW') return stockKernel('Conv2DBackpropInput')(args) as TensorInfo;
  const info = tf.backend_util.computeConv2DInfo(
    inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  if (isDenseLike(info)) {
    const dy3 = reshape(backend, dy, [1, n, co]);
    const f3 = reshape(backend, filter, [1, kh * kw * ci, co]);
    const g = matmul3(backend, dy3, f3, false, true); // [1, N, H·W·Ci]
    release(backend, dy3, f3);
    const out = reshape(backend, g, [n, h, w, ci]);
    release(backend, g);
    return out;
  }
  const simd = trainKernels(backend);
  const p = info.padInfo;
  if (simd && sh === 1 && sw === 1 && info.dilationHeight === 1 && info.dilationWidth === 1 &&
      p.top === 0 && p.bottom === 0 && p.left === 0 && p.right === 0) {
    // Valid stride-1 conv (LeNet's): one GEMM dy·Wᵀ to columns, then col2im. The rotated-filter
    // conv below would multiply through KH−1 rows/columns of zero padding on every side (half
    // its work on LeNet5's conv2).
    const dy3 = reshape(backend, dy, [1, n * oh * ow, co]);
    const f3 = reshape(backend, filter, [1, kh * kw * ci, co]);
    const cols = matmul3(backend, dy3, f3, false, true); // [1, N·OH·OW, KH·KW·Ci]
    release(backend, dy3, f3);
    const out = backend.makeOutput([n, h, w, ci], 'float32');
    simd.col2imValid(pointer(backend, out), pointer(backend, cols), n, h, w, oh, ow, kh, kw, ci);
    release(backend, cols);
    return out;
  }
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const bottom = h - 1 + info.padInfo.top - (oh - 1) * sh;
  const right = w - 1 + info.padInfo.left - (ow - 1) * sw;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return stockKernel('Conv2DBackpropInput')(args) as TensorInfo;

  // dy with zeros between rows and columns for stride > 1.
  let dyD = dy;
  if (sh > 1 || sw > 1) {
    const dh = (oh - 1) * sh + 1;
    const dw = (ow - 1) * sw + 1;
    dyD = backend.makeOutput([n, dh, dw, co], 'float32');
    const dst = heap(backend, dyD);
    const src = heap(backend, dy);
    dst.fill(0);
    for (let b = 0; b < n; b++) {
      for (let r = 0; r < oh; r++) {
        const srcRow = ((b * oh + r) * ow) * co;
        const dstRow = ((b * dh + r * sh) * dw) * co;
        for (let c = 0; c < ow; c++) {
          dst.set(src.subarray(srcRow + c * co, srcRow + (c + 1) * co), dstRow + c * sw * co);
        }
      }
    }
  }
  // Filter rotated 180° with in/out channels swapped: [KH,KW,Co,Ci].
  const f3 = reshape(backend, filter, [kh * kw, ci, co]);
  const fT = transpose(backend, f3, [0, 2, 1]); // [KH·KW, Co, Ci]
  release(backend, f3);
  const rot = rotateTaps(backend, reshape(backend, fT, [kh, kw, co, ci]));
  release(backend, fT);
  const out = convExplicit(backend, dyD, rot, { top, bottom, left, right }, [1, 1]);
  release(backend, rot);
  if (dyD !== dy) release(backend, dyD);
  return out;
}

// ---------------------------------------------------------------------------------------------
// MaxPoolGrad: one pass that routes each window's gradient to the window's first maximum (row-major
// order, padding excluded), as the cpu backend does. The stock wasm kernel is ~5× slower on LeNet5's
// 2×2/2 pooling and gives wrong gradients for overlapping windows (e.g. 3×3 stride 1: checked
// against a brute-force reference in tests/engine/backend).

function maxPoolGrad(args: { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs?: Attrs }): TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as {
    filterSize: [number, number] | number; strides: [number, number] | number;
    pad: 'valid' | 'same' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  if (input.dtype !== 'float32' || info.dilationHeight !== 1 || info.dilationWidth !== 1) {
    return stockKernel('MaxPoolGrad')(args) as TensorInfo;
  }
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const out = backend.makeOutput([n, h, w, c], 'float32');
  const dx = heap(backend, out);
  const simd = trainKernels(backend);
  if (simd && isWhole2x2(info)) {
    // The windows tile the input except a last odd row/column, which the kernel does not write.
    if (2 * oh < h || 2 * ow < w) dx.fill(0);
    simd.maxPoolGrad2x2(pointer(backend, out), pointer(backend, input), pointer(backend, dy), n, h, w, c, oh, ow);
    return out;
  }
  const xv = heap(backend, input);
  const dyv = heap(backend, dy);
  dx.fill(0);
  if (sh >= fh && sw >= fw) {
    maxPoolGradDisjoint(dx, xv, dyv, info);
    return out;
  }
  const best = new Float32Array(c);
  const bestAt = new Int32Array(c);
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      const r0 = Math.max(0, r * sh - padTop);
      const r1 = Math.min(h, r * sh - padTop + fh);
      for (let q = 0; q < ow; q++) {
        const q0 = Math.max(0, q * sw - padLeft);
        const q1 = Math.min(w, q * sw - padLeft + fw);
        best.fill(-Infinity);
        bestAt.fill(-1);
        for (let i = r0; i < r1; i++) {
          const row = (b * h + i) * w * c;
          for (let j = q0; j < q1; j++) {
            const base = row + j * c;
            for (let k = 0; k < c; k++) {
              const v = xv[base + k]!;
              if (v > best[k]!) {
                best[k] = v;
                bestAt[k] = base + k;
              }
            }
          }
        }
        const o = ((b * oh + r) * ow + q) * c;
        for (let k = 0; k < c; k++) if (bestAt[k]! >= 0) dx[bestAt[k]!]! += dyv[o + k]!;
      }
    }
  }
  return out;
}

/**
 * MaxPoolGrad for windows that do not overlap (stride ≥ window, e.g. LeNet5's 2×2/2): the same
 * routing as the general loop (first maximum in row-major order, same comparisons, same additions
 * into a zeroed dx), with the running maximum in locals instead of per-window arrays (LeNet5 step:
 * ~12 → ~8 ms for both pools on 2 loaded cores).
 */
function maxPoolGradDisjoint(dx: Float32Array, xv: Float32Array, dyv: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  if (isWhole2x2(info)) {
    maxPoolGrad2x2(dx, xv, dyv, n, h, w, c, oh, ow);
    return;
  }
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      const r0 = Math.max(0, r * sh - padTop);
      const r1 = Math.min(h, r * sh - padTop + fh);
      for (let q = 0; q < ow; q++) {
        const q0 = Math.max(0, q * sw - padLeft);
        const q1 = Math.min(w, q * sw - padLeft + fw);
        for (let k = 0; k < c; k++, o++) {
          let best = -Infinity;
          let at = -1;
          for (let i = r0; i < r1; i++) {
            let p = ((b * h + i) * w + q0) * c + k;
            for (let j = q0; j < q1; j++, p += c) {
              const v = xv[p]!;
              if (v > best) {
                best = v;
                at = p;
              }
            }
          }
          if (at >= 0) dx[at]! += dyv[o]!;
        }
      }
    }
  }
}

/** 2×2 windows at stride 2 from the top-left corner, no padding (LeNet5's pools). */
function isWhole2x2(info: tf.backend_util.Conv2DInfo): boolean {
  return info.filterHeight === 2 && info.filterWidth === 2 && info.strideHeight === 2 && info.strideWidth === 2 &&
    info.padInfo.top === 0 && info.padInfo.left === 0 && 2 * info.outHeight <= info.inHeight && 2 * info.outWidth <= info.inWidth;
}

/** maxPoolGradDisjoint for whole 2×2 windows at stride 2, unrolled (the same four comparisons). */
function maxPoolGrad2x2(dx: Float32Array, xv: Float32Array, dyv: Float32Array, n: number, h: number, w: number, c: number, oh: number, ow: number): void {
  const right = c;
  const down = w * c;
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      let p = (b * h + 2 * r) * w * c;
      for (let q = 0; q < ow; q++, p += c) {
        for (let k = 0; k < c; k++, o++, p++) {
          let best = -Infinity;
          let at = -1;
          let v = xv[p]!;
          if (v > best) { best = v; at = p; }
          v = xv[p + right]!;
          if (v > best) { best = v; at = p + right; }
          v = xv[p + down]!;
          if (v > best) { best = v; at = p + down; }
          v = xv[p + down + right]!;
          if (v > best) at = p + down + right;
          if (at >= 0) dx[at]! += dyv[o]!;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// BatchMatMul with transposes

function batchMatMul(args: { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs?: Attrs }): TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
  if (!transposeA && !transposeB) return stockKernel('BatchMatMul')(args) as TensorInfo;
  const swapLast = (t: TensorInfo): TensorInfo => {
    const r = t.shape.length;
    const perm = [...Array(r).keys()];
    perm[r - 2] = r - 1;
    perm[r - 1] = r - 2;
    return transpose(backend, t, perm);
  };
  const a = transposeA ? swapLast(inputs.a!) : inputs.a!;
  const b = transposeB ? swapLast(inputs.b!) : inputs.b!;
  const out = run(backend, 'BatchMatMul', { a, b }, { ...attrs, transposeA: false, transposeB: false });
  if (a !== inputs.a) release(backend, a);
  if (b !== inputs.b) release(backend, b);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Sum / Mean over leading axes

/** The normalised axes if they are exactly the leading k axes (0 < k < rank), else null. */
function leadingAxes(axis: unknown, shape: number[]): number | null {
  const rank = shape.length;
  const list = (Array.isArray(axis) ? axis : axis == null ? [...Array(rank).keys()] : [axis]) as number[];
  const norm = [...new Set(list.map((a) => (a < 0 ? a + rank : a)))].sort((p, q) => p - q);
  if (norm.length === 0 || norm.length >= rank) return null;
  for (let i = 0; i < norm.length; i++) if (norm[i] !== i) return null;
  return norm.length;
}

function reduceLeading(
  args: { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs?: Attrs }, name: 'Sum' | 'Mean',
): TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const x = inputs.x!;
  const { axis, keepDims } = attrs as { axis: number | number[]; keepDims: boolean };
  const k = x.dtype === 'float32' ? leadingAxes(axis, x.shape) : null;
  if (k == null) return stockKernel(name)(args) as TensorInfo;
  const lead = x.shape.slice(0, k);
  const rest = x.shape.slice(k);
  const p = lead.reduce((s, v) => s * v, 1);
  const c = rest.reduce((s, v) => s * v, 1);
  const outShape = keepDims ? [...lead.map(() => 1), ...rest] : rest;
  if (p === 1 || c === 0) return reshape(backend, x, outShape);
  // A [1, P/W, W, C] view pooled over its whole [P/W, W] window.
  const wDim = k >= 2 ? lead[k - 1]! : 1;
  const hDim = p / wDim;
  const view = reshape(backend, x, [1, hDim, wDim, c]);
  const pooled = run(backend, 'AvgPool', { x: view }, {
    filterSize: [hDim, wDim], strides: [hDim, wDim], pad: 'valid', dimRoundingMode: undefined,
  });
  release(backend, view);
  if (name === 'Sum') {
    const v = heap(backend, pooled);
    for (let i = 0; i < v.length; i++) v[i]! *= p;
  }
  const out = reshape(backend, pooled, outShape);
  release(backend, pooled);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Slice, SplitV and PadV2 in contiguous runs

/**
 * Copies a `size`-shaped block from `src` (at `srcBegin`) into `dst` (at `dstBegin`), both of the
 * same rank and dtype, in runs of contiguous memory: the trailing axes that the block spans whole in
 * both tensors merge into one run, so splitting [256,32,32,1] along W copies 8,192 runs of 31
 * values with copyWithin. The stock Slice copies one innermost row per call through a new
 * subarray view (254k calls, ~20 ms: DeepInversion's roll spent most of its step there), and the
 * stock PadV2 (the gradient of Slice) one element at a time.
 */
function copyBlock(backend: BackendWasm, src: TensorInfo, srcBegin: number[], size: number[], dst: TensorInfo, dstBegin: number[]): void {
  const rank = size.length;
  // The innermost axis the block cuts in either tensor; every axis after it is spanned whole.
  const whole = (a: number) => size[a] === src.shape[a] && size[a] === dst.shape[a];
  let k = rank - 1;
  while (k > 0 && whole(k)) k--;
  const srcStrides = [...tf.util.computeStrides(src.shape), 1];
  const dstStrides = [...tf.util.computeStrides(dst.shape), 1];
  const run = size[k]! * srcStrides[k]!;
  const srcView = backend.typedArrayFromHeap(src);
  const dstView = backend.typedArrayFromHeap(dst);
  // One view of the whole heap in the element width, so each run is one copyWithin.
  const bytes = srcView.BYTES_PER_ELEMENT;
  const all = bytes === 4 ? new Int32Array(srcView.buffer) : bytes === 1 ? new Uint8Array(srcView.buffer) : null;
  if (!all) throw new Error(`copyBlock: no ${bytes}-byte element view`);
  const srcBase = srcView.byteOffset / bytes;
  const dstBase = dstView.byteOffset / bytes;
  const index = new Array<number>(k).fill(0);
  const total = size.slice(0, k).reduce((a, b) => a * b, 1);
  for (let r = 0; r < total; r++) {
    let s = srcBase + srcBegin[k]! * srcStrides[k]!;
    let d = dstBase + dstBegin[k]! * dstStrides[k]!;
    for (let a = 0; a < k; a++) {
      s += (srcBegin[a]! + index[a]!) * srcStrides[a]!;
      d += (dstBegin[a]! + index[a]!) * dstStrides[a]!;
    }
    all.copyWithin(d, s, s + run);
    for (let a = k - 1; a >= 0; a--) {
      if (++index[a]! < size[a]!) break;
      index[a] = 0;
    }
  }
}

/** Whether copyBlock handles the dtype (the others go to the stock kernels). */
function isPlainDtype(dtype: tf.DataType): boolean {
  return dtype === 'float32' || dtype === 'int32' || dtype === 'bool';
}

function slice(args: { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs?: Attrs }): TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const x = inputs.x!;
  if (!isPlainDtype(x.dtype)) return stockKernel('Slice')(args) as TensorInfo;
  const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin as number | number[], attrs.size as number | number[] | undefined);
  const out = backend.makeOutput(size, x.dtype);
  if (tf.util.sizeFromShape(size) > 0) copyBlock(backend, x, begin, size, out, size.map(() => 0));
  return out;
}

function splitV(args: { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs?: Attrs }): TensorInfo[] {
  const { inputs, backend, attrs = {} } = args;
  const x = inputs.x!;
  if (!isPlainDtype(x.dtype)) return stockKernel('SplitV')(args) as TensorInfo[];
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits as number | number[], axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((n) => {
    const size = [...x.shape];
    size[axis] = n;
    const out = backend.makeOutput(size, x.dtype);
    if (n > 0) copyBlock(backend, x, [...begin], size, out, size.map(() => 0));
    begin[axis]! += n;
    return out;
  });
}

function padV2(args: { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs?: Attrs }): TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const x = inputs.x!;
  if (!isPlainDtype(x.dtype)) return stockKernel('PadV2')(args) as TensorInfo;
  const paddings = attrs.paddings as Array<[number, number]>;
  const value = (attrs.constantValue as number | undefined) ?? 0;
  const out = backend.makeOutput(x.shape.map((n, a) => paddings[a]![0] + n + paddings[a]![1]), x.dtype);
  const view = backend.typedArrayFromHeap(out);
  view.fill(x.dtype === 'bool' ? Number(value !== 0) : value);
  if (tf.util.sizeFromShape(x.shape) > 0) copyBlock(backend, x, x.shape.map(() => 0), [...x.shape], out, paddings.map((p) => p[0]));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Identity without a copy

function identity(args: { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs?: Attrs }): TensorInfo {
  const { inputs, backend } = args;
  const x = inputs.x!;
  if (x.dtype === 'string') return stockKernel('Identity')(args) as TensorInfo;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

// ---------------------------------------------------------------------------------------------

const OVERRIDES: Record<string, KernelFunc> = {
  Conv2DBackpropFilter: conv2DBackpropFilter,
  Conv2DBackpropInput: conv2DBackpropInput,
  BatchMatMul: batchMatMul,
  Sum: (args) => reduceLeading(args, 'Sum'),
  Mean: (args) => reduceLeading(args, 'Mean'),
  Identity: identity,
  MaxPoolGrad: maxPoolGrad,
  ResizeNearestNeighborGrad: resizeNearestNeighborGrad,
  Slice: slice,
  SplitV: splitV,
  PadV2: padV2,
};

export const WASM_KERNEL_NAMES = Object.keys(OVERRIDES);

let registered = false;

/** Registers Distillery's wasm kernels; call after the wasm backend is initialised. Idempotent. */
export function registerWasmKernels(): void {
  if (registered) return;
  const backend = tf.findBackend(BACKEND) as unknown as BackendWasm | null;
  if (!backend) throw new Error('the wasm backend is not initialised');
  const module = (backend as unknown as { wasm: { cwrap: (name: string, ret: null, args: string[]) => WasmConv2d } }).wasm;
  wasmConv2d = module.cwrap('Conv2D', null, new Array<string>(19).fill('number'));
  // Capture the stock kernels we call, before replacing any of them.
  for (const name of ['Reshape', 'Transpose', 'AvgPool', 'BatchMatMul', 'Sum', 'Mean', 'Identity', 'Conv2DBackpropInput', 'MaxPoolGrad', 'ResizeNearestNeighborGrad', 'Slice', 'SplitV', 'PadV2']) stockKernel(name);
  for (const [name, kernelFunc] of Object.entries(OVERRIDES)) {
    if (tf.getKernel(name, BACKEND)) tf.unregisterKernel(name, BACKEND);
    tf.registerKernel({ kernelName: name, backendName: BACKEND, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
  registered = true;
}
