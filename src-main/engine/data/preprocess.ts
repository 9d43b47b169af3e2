/**
 * Turning raw uint8 pixels into a model's input, as the reference pipelines do with torchvision:
 * Resize (PIL, on the 8-bit image) → ToTensor (×1/255) → Normalize ((v − mean) / std).
 *
 * The resize reproduces Pillow's resampling exactly (Resample.c): separable, horizontal pass then
 * vertical pass, a triangle filter whose support grows with the downscaling factor (so downscaling
 * is antialiased), weights normalised and converted to 22-bit fixed point, each pass rounded and
 * clipped to 8 bits. MNIST 28×28 → 32×32 therefore matches torchvision's Resize((32, 32)) bit for bit.
 */
import { DistilleryError } from '../errors.ts';
import type { Preprocessing } from '../models/manifest.ts';
import type { Shape3 } from './types.ts';

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 1 << PRECISION_BITS;

interface Coefficients {
  /** First input index and tap count per output index. */
  bounds: Int32Array;
  /** ksize fixed-point weights per output index. */
  weights: Int32Array;
  ksize: number;
}

const coefficientCache = new Map<string, Coefficients>();

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear (triangle) filter. */
function bilinearCoefficients(inSize: number, outSize: number): Coefficients {
  const key = `${inSize}:${outSize}`;
  const cached = coefficientCache.get(key);
  if (cached) return cached;
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 1 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss);
      const w = t < 1 ? 1 - t : 0;
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      const v = x < xmax && ww !== 0 ? k[x]! / ww : 0;
      weights[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  const c = { bounds, weights, ksize };
  coefficientCache.set(key, c);
  return c;
}

function clip8(v: number): number {
  // v is an exact integer (< 2^53); >> would overflow 32 bits for large sums, so divide.
  const q = Math.floor(v / ONE);
  return q < 0 ? 0 : q > 255 ? 255 : q;
}

/**
 * Resizes one HWC uint8 image like PIL's Image.resize(..., BILINEAR) (per channel), or NEAREST.
 */
export function resizeImage(src: Uint8Array, [h, w, c]: Shape3, outH: number, outW: number, method: 'bilinear' | 'nearest' = 'bilinear'): Uint8Array {
  if (h === outH && w === outW) return src.slice(0, h * w * c);
  if (method === 'nearest') {
    const out = new Uint8Array(outH * outW * c);
    for (let y = 0; y < outH; y++) {
      const sy = Math.min(h - 1, Math.floor(((y + 0.5) * h) / outH));
      for (let x = 0; x < outW; x++) {
        const sx = Math.min(w - 1, Math.floor(((x + 0.5) * w) / outW));
        for (let k = 0; k < c; k++) out[(y * outW + x) * c + k] = src[(sy * w + sx) * c + k]!;
      }
    }
    return out;
  }
  // Horizontal pass (w → outW), then vertical (h → outH); each rounds to 8 bits, as Pillow does.
  let tmp = src;
  if (w !== outW) {
    const co = bilinearCoefficients(w, outW);
    tmp = new Uint8Array(h * outW * c);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < outW; x++) {
        const xmin = co.bounds[x * 2]!;
        const xmax = co.bounds[x * 2 + 1]!;
        const kk = x * co.ksize;
        for (let ch = 0; ch < c; ch++) {
          let ss = ONE / 2;
          for (let t = 0; t < xmax; t++) ss += src[(y * w + xmin + t) * c + ch]! * co.weights[kk + t]!;
          tmp[(y * outW + x) * c + ch] = clip8(ss);
        }
      }
    }
  }
  if (h === outH) return tmp;
  const co = bilinearCoefficients(h, outH);
  const out = new Uint8Array(outH * outW * c);
  for (let y = 0; y < outH; y++) {
    const ymin = co.bounds[y * 2]!;
    const ymax = co.bounds[y * 2 + 1]!;
    const kk = y * co.ksize;
    for (let x = 0; x < outW; x++) {
      for (let ch = 0; ch < c; ch++) {
        let ss = ONE / 2;
        for (let t = 0; t < ymax; t++) ss += tmp[((ymin + t) * outW + x) * c + ch]! * co.weights[kk + t]!;
        out[(y * outW + x) * c + ch] = clip8(ss);
      }
    }
  }
  return out;
}

/** Converts HWC pixels between 1 and 3 (or 4 → 3/1) channels: replicate gray, or PIL's 'L' luminance. */
export function convertChannels(src: Uint8Array, pixels: number, from: number, to: number): Uint8Array {
  if (from === to) return src;
  const out = new Uint8Array(pixels * to);
  for (let p = 0; p < pixels; p++) {
    if (from === 1) {
      const v = src[p]!;
      for (let k = 0; k < to; k++) out[p * to + k] = v;
    } else if (to === 1) {
      // PIL's RGB → L: L = R·299/1000 + G·587/1000 + B·114/1000 (fixed point, rounded).
      const r = src[p * from]!, g = src[p * from + 1]!, b = src[p * from + 2]!;
      out[p] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
    } else if (from >= 3 && to === 3) {
      out[p * 3] = src[p * from]!;
      out[p * 3 + 1] = src[p * from + 1]!;
      out[p * 3 + 2] = src[p * from + 2]!;
    } else {
      throw new DistilleryError('BAD_INPUT', `cannot convert ${from}-channel images to ${to} channels`);
    }
  }
  return out;
}

/**
 * Maps batches of raw samples of one shape to normalised float32 model inputs of another:
 * channel conversion, resize (if the preprocessing asks for it or the sizes differ), then
 * (v·scale − mean) / std per channel.
 */
export class Preprocessor {
  readonly inputShape: Shape3;
  private readonly mul: Float32Array;
  private readonly add: Float32Array;

  constructor(
    readonly sourceShape: Shape3,
    inputShape: readonly number[],
    readonly preprocessing: Preprocessing,
  ) {
    this.inputShape = [inputShape[0]!, inputShape[1]!, inputShape[2]!];
    const c = this.inputShape[2];
    const expand = (v: number[], what: string): number[] => {
      if (v.length === c) return v;
      if (v.length === 1) return Array.from({ length: c }, () => v[0]!);
      throw new DistilleryError('BAD_INPUT', `the preprocessing has ${v.length} ${what} values for ${c} channels`);
    };
    const mean = expand(preprocessing.mean, 'mean');
    const std = expand(preprocessing.std, 'std');
    // v·scale − mean) / std = v·(scale/std) + (−mean/std)
    this.mul = Float32Array.from(std.map((s) => preprocessing.scale / s));
    this.add = Float32Array.from(mean.map((m, i) => -m / std[i]!));
    const [sh, sw] = sourceShape;
    const [th, tw] = this.inputShape;
    if ((sh !== th || sw !== tw) && !preprocessing.resize) {
      // A size mismatch without a resize step is still resized (bilinear), rather than failing late.
      this.preprocessing = { ...preprocessing, resize: { height: th, width: tw, method: 'bilinear' } };
    }
  }

  /** `raw` holds n samples of sourceShape; returns n samples of inputShape, normalised. */
  apply(raw: Uint8Array, n: number, out = new Float32Array(n * this.inputShape[0] * this.inputShape[1] * this.inputShape[2])): Float32Array {
    const [sh, sw, sc] = this.sourceShape;
    const [th, tw, tc] = this.inputShape;
    const srcBytes = sh * sw * sc;
    const dstValues = th * tw * tc;
    const method = this.preprocessing.resize?.method ?? 'bilinear';
    for (let s = 0; s < n; s++) {
      let px = raw.subarray(s * srcBytes, (s + 1) * srcBytes);
      px = convertChannels(px, sh * sw, sc, tc);
      if (sh !== th || sw !== tw) px = resizeImage(px, [sh, sw, tc], th, tw, method);
      const base = s * dstValues;
      for (let i = 0; i < dstValues; i += tc) {
        for (let k = 0; k < tc; k++) out[base + i + k] = px[i + k]! * this.mul[k]! + this.add[k]!;
      }
    }
    return out;
  }
}
