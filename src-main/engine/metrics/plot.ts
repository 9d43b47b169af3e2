/**
 * A small line-chart rasteriser for reports: figures of one or more panels (line series with
 * optional markers, dashes and error bars; linear or log axes; ticks, labels, legend) drawn into an
 * RGBA buffer and encoded as PNG with pngjs. Pure TypeScript — no browser, no native canvas — so the
 * CLI (`distillery probe`) and the benchmarks (`npm run bench -- reproduce`) draw the same way
 * anywhere. Text uses the bitmap font in plot-font.ts (DejaVu Sans Mono, 11 px); characters it does
 * not hold are drawn as '?'.
 */
import { PNG } from 'pngjs';
import { DistilleryError } from '../errors.ts';
import { FONT_CELL, FONT_CHARS, FONT_DATA } from './plot-font.ts';

export type Rgb = readonly [number, number, number];

/** Tableau-10 colours: series get them in order unless they name their own. */
export const PALETTE: readonly Rgb[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];

const BLACK: Rgb = [0, 0, 0];
const GREY: Rgb = [110, 110, 110];
const GRID: Rgb = [228, 228, 228];

// ------------------------------------------------------------------------------------------------
// Font
// ------------------------------------------------------------------------------------------------

let glyphCache: Map<string, Float32Array> | null = null;

function glyphs(): Map<string, Float32Array> {
  if (glyphCache) return glyphCache;
  const bytes = Buffer.from(FONT_DATA, 'base64');
  const size = FONT_CELL.width * FONT_CELL.height;
  const map = new Map<string, Float32Array>();
  [...FONT_CHARS].forEach((ch, g) => {
    const cov = new Float32Array(size);
    for (let p = 0; p < size; p++) {
      const bit = (g * size + p) * 2;
      cov[p] = ((bytes[bit >> 3]! >> (bit & 7)) & 3) / 3;
    }
    map.set(ch, cov);
  });
  glyphCache = map;
  return map;
}

// ------------------------------------------------------------------------------------------------
// Raster
// ------------------------------------------------------------------------------------------------

export interface TextOptions {
  /** Horizontal anchor of (x, y) (default 'left'). */
  align?: 'left' | 'center' | 'right';
  /** Vertical anchor of (x, y) (default 'top'). */
  valign?: 'top' | 'middle' | 'bottom';
  /** Rotate 90° counter-clockwise (reads bottom to top), for y-axis labels. */
  vertical?: boolean;
}

/** An RGBA image with anti-aliased drawing primitives. */
export class Raster {
  readonly data: Buffer;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width * height > 64e6) {
      throw new DistilleryError('BAD_INPUT', `image size must be positive integers (at most 64 Mpx), got ${width}×${height}`);
    }
    this.data = Buffer.alloc(width * height * 4);
    for (let i = 0; i < width * height; i++) {
      this.data[i * 4] = background[0];
      this.data[i * 4 + 1] = background[1];
      this.data[i * 4 + 2] = background[2];
      this.data[i * 4 + 3] = 255;
    }
  }

  /** Blends `rgb` over pixel (x, y) with opacity `alpha` ∈ [0, 1]. */
  blend(x: number, y: number, rgb: Rgb, alpha: number): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || !(alpha > 0)) return;
    const a = Math.min(1, alpha);
    const i = (y * this.width + x) * 4;
    for (let c = 0; c < 3; c++) this.data[i + c] = Math.round(this.data[i + c]! * (1 - a) + rgb[c]! * a);
  }

  fillRect(x0: number, y0: number, x1: number, y1: number, rgb: Rgb, alpha = 1): void {
    for (let y = Math.max(0, Math.round(y0)); y < Math.min(this.height, Math.round(y1)); y++) {
      for (let x = Math.max(0, Math.round(x0)); x < Math.min(this.width, Math.round(x1)); x++) this.blend(x, y, rgb, alpha);
    }
  }

  /** A 1-px crisp rectangle outline through pixel centres. */
  strokeRect(x0: number, y0: number, x1: number, y1: number, rgb: Rgb): void {
    this.fillRect(x0, y0, x1 + 1, y0 + 1, rgb);
    this.fillRect(x0, y1, x1 + 1, y1 + 1, rgb);
    this.fillRect(x0, y0, x0 + 1, y1 + 1, rgb);
    this.fillRect(x1, y0, x1 + 1, y1 + 1, rgb);
  }

  /** An anti-aliased segment of the given width (coverage from the distance to the segment). */
  line(x0: number, y0: number, x1: number, y1: number, rgb: Rgb, width = 1.5): void {
    if (![x0, y0, x1, y1].every(Number.isFinite)) return;
    const r = width / 2;
    const minX = Math.max(0, Math.floor(Math.min(x0, x1) - r - 1));
    const maxX = Math.min(this.width - 1, Math.ceil(Math.max(x0, x1) + r + 1));
    const minY = Math.max(0, Math.floor(Math.min(y0, y1) - r - 1));
    const maxY = Math.min(this.height - 1, Math.ceil(Math.max(y0, y1) + r + 1));
    const dx = x1 - x0;
    const dy = y1 - y0;
    const len2 = dx * dx + dy * dy;
    for (let y = minY; y <= maxY; y++) {
      for (let x = minX; x <= maxX; x++) {
        const px = x + 0.5 - x0;
        const py = y + 0.5 - y0;
        const t = len2 > 0 ? Math.max(0, Math.min(1, (px * dx + py * dy) / len2)) : 0;
        const d = Math.hypot(px - t * dx, py - t * dy);
        const cov = Math.max(0, Math.min(1, r + 0.5 - d));
        if (cov > 0) this.blend(x, y, rgb, cov);
      }
    }
  }

  /** A polyline, optionally dashed ([on, off] lengths in pixels, measured along the line). */
  polyline(points: readonly (readonly [number, number])[], rgb: Rgb, width = 1.5, dash?: readonly [number, number]): void {
    if (!dash) {
      for (let i = 1; i < points.length; i++) this.line(points[i - 1]![0], points[i - 1]![1], points[i]![0], points[i]![1], rgb, width);
      return;
    }
    const period = dash[0] + dash[1];
    let along = 0;
    for (let i = 1; i < points.length; i++) {
      const [ax, ay] = points[i - 1]!;
      const [bx, by] = points[i]!;
      const len = Math.hypot(bx - ax, by - ay);
      let s = 0;
      while (s < len) {
        const phase = (along + s) % period;
        const on = phase < dash[0];
        const next = Math.min(len, s + (on ? dash[0] - phase : period - phase));
        if (on) this.line(ax + ((bx - ax) * s) / len, ay + ((by - ay) * s) / len, ax + ((bx - ax) * next) / len, ay + ((by - ay) * next) / len, rgb, width);
        s = next;
      }
      along += len;
    }
  }

  /** An anti-aliased filled disc. */
  disc(cx: number, cy: number, radius: number, rgb: Rgb): void {
    if (!Number.isFinite(cx) || !Number.isFinite(cy)) return;
    for (let y = Math.floor(cy - radius - 1); y <= Math.ceil(cy + radius + 1); y++) {
      for (let x = Math.floor(cx - radius - 1); x <= Math.ceil(cx + radius + 1); x++) {
        const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
        this.blend(x, y, rgb, Math.max(0, Math.min(1, radius + 0.5 - d)));
      }
    }
  }

  textWidth(text: string): number {
    return [...text].length * FONT_CELL.width;
  }

  text(text: string, x: number, y: number, rgb: Rgb = BLACK, options: TextOptions = {}): void {
    const chars = [...text];
    const w = chars.length * FONT_CELL.width;
    const h = FONT_CELL.height;
    const along = options.align === 'center' ? -w / 2 : options.align === 'right' ? -w : 0;
    const across = options.valign === 'middle' ? -h / 2 : options.valign === 'bottom' ? -h : 0;
    const map = glyphs();
    const fallback = map.get('?')!;
    chars.forEach((ch, k) => {
      const cov = map.get(ch) ?? fallback;
      for (let gy = 0; gy < h; gy++) {
        for (let gx = 0; gx < FONT_CELL.width; gx++) {
          const a = cov[gy * FONT_CELL.width + gx]!;
          if (!a) continue;
          const u = Math.round(along) + k * FONT_CELL.width + gx;
          const v = Math.round(across) + gy;
          // vertical: the text runs upwards from (x, y); "down the glyph" points to the right.
          if (options.vertical) this.blend(Math.round(x) + v, Math.round(y) - u - 1, rgb, a);
          else this.blend(Math.round(x) + u, Math.round(y) + v, rgb, a);
        }
      }
    });
  }

  toPng(): Buffer {
    const png = new PNG({ width: this.width, height: this.height });
    this.data.copy(png.data);
    return PNG.sync.write(png);
  }
}

// ------------------------------------------------------------------------------------------------
// Charts
// ------------------------------------------------------------------------------------------------

export interface Series {
  label: string;
  x: readonly number[];
  /** NaN or null leaves a gap. */
  y: readonly (number | null)[];
  /** Symmetric error bars (e.g. std over seeds). */
  yErr?: readonly (number | null)[];
  color?: Rgb;
  dashed?: boolean;
  markers?: boolean;
  /** Line width in pixels (default 1.5); 0 draws markers only. */
  width?: number;
}

export interface Panel {
  /** Position [x, y, width, height] as fractions of the area under the figure's titles (default: the grid cell). */
  rect?: readonly [number, number, number, number];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  series: Series[];
  xLog?: boolean;
  yLog?: boolean;
  /** Fixed ranges (default: the data's, padded). */
  xRange?: readonly [number, number];
  yRange?: readonly [number, number];
  /** Tick positions on x (default: automatic). */
  xTicks?: readonly number[];
  /** Where the legend goes inside the plot area (default 'top-right'), or 'none'. */
  legend?: 'top-right' | 'top-left' | 'bottom-right' | 'bottom-left' | 'none';
  /** false: a bare frame with the lines only (no ticks or labels), for small multiples. */
  axes?: boolean;
}

export interface Figure {
  width: number;
  height: number;
  title?: string;
  /** Lines of small print under the title (sample sizes, schedule, ...). */
  subtitle?: string;
  panels: Panel[];
  /** Panels per row (default: all in one row). */
  columns?: number;
}

/** Round, human-friendly tick positions covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi <= lo) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let i = Math.ceil(lo / step - 1e-9); i <= Math.floor(hi / step + 1e-9); i++) out.push(i === 0 ? 0 : Number((i * step).toPrecision(12)));
  return out;
}

/** Compact tick label: 0.001, 0.25, 1200, 1.2e+05. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace('.0e', 'e');
  return String(Number(v.toPrecision(4)));
}

interface Scale {
  toPx: (v: number) => number;
  ticks: number[];
}

function extent(values: number[], log: boolean): [number, number] {
  const v = values.filter((x) => Number.isFinite(x) && (!log || x > 0));
  if (!v.length) return log ? [1, 10] : [0, 1];
  let lo = Math.min(...v);
  let hi = Math.max(...v);
  if (log) {
    if (hi / lo < 1.5) return [lo / 1.5, hi * 1.5];
    return [lo, hi];
  }
  if (hi === lo) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  return [lo, hi];
}

function makeScale(range: [number, number], log: boolean, from: number, to: number, fixedTicks: readonly number[] | undefined, pad: boolean): Scale {
  let [lo, hi] = range;
  if (log) {
    const a = Math.log10(lo);
    const b = Math.log10(hi);
    const p = pad ? (b - a) * 0.05 : 0;
    const la = a - p;
    const lb = b + p;
    const ticks = fixedTicks ? [...fixedTicks] : [];
    if (!fixedTicks) for (let e = Math.ceil(la - 1e-9); e <= Math.floor(lb + 1e-9); e++) ticks.push(10 ** e);
    return { toPx: (v) => from + ((Math.log10(v) - la) / (lb - la)) * (to - from), ticks: ticks.filter((t) => t > 0) };
  }
  if (pad) {
    const p = (hi - lo) * 0.05;
    lo -= p;
    hi += p;
  }
  const ticks = fixedTicks ? [...fixedTicks] : niceTicks(lo, hi, Math.max(2, Math.round(Math.abs(to - from) / 60)));
  return { toPx: (v) => from + ((v - lo) / (hi - lo)) * (to - from), ticks: ticks.filter((t) => t >= lo - 1e-12 && t <= hi + 1e-12) };
}

function drawPanel(r: Raster, panel: Panel, x0: number, y0: number, w: number, h: number): void {
  const axes = panel.axes !== false;
  const left = x0 + (axes ? (panel.yLabel ? 62 : 48) : 4);
  const right = x0 + w - (axes ? 12 : 4);
  const top = y0 + (panel.title ? FONT_CELL.height + 6 : 6);
  const bottom = y0 + h - (axes ? (panel.xLabel ? 36 : 20) : 4);
  if (right - left < 10 || bottom - top < 10) return;
  if (panel.title) r.text(panel.title, (left + right) / 2, y0 + 2, BLACK, { align: 'center' });

  const xs = panel.series.flatMap((s) => [...s.x]);
  const ys = panel.series.flatMap((s) =>
    s.y.flatMap((v, i) => {
      if (v === null || !Number.isFinite(v)) return [];
      const e = s.yErr?.[i];
      return e !== null && e !== undefined && Number.isFinite(e) ? [v - e, v + e] : [v];
    }),
  );
  const xr = (panel.xRange ? [...panel.xRange] : extent(xs, !!panel.xLog)) as [number, number];
  const yr = (panel.yRange ? [...panel.yRange] : extent(ys, !!panel.yLog)) as [number, number];
  const sx = makeScale(xr, !!panel.xLog, left, right, panel.xTicks, !panel.xRange && (panel.xLog || panel.series.some((s) => s.markers)));
  const sy = makeScale(yr, !!panel.yLog, bottom, top, undefined, !panel.yRange);

  if (axes) {
    for (const t of sy.ticks) {
      const py = Math.round(sy.toPx(t));
      r.fillRect(left + 1, py, right, py + 1, GRID);
      r.fillRect(left - 4, py, left, py + 1, GREY);
      r.text(formatTick(t), left - 6, py, GREY, { align: 'right', valign: 'middle' });
    }
    for (const t of sx.ticks) {
      const px = Math.round(sx.toPx(t));
      r.fillRect(px, top, px + 1, bottom, GRID);
      r.fillRect(px, bottom, px + 1, bottom + 4, GREY);
      r.text(formatTick(t), px, bottom + 5, GREY, { align: 'center' });
    }
    if (panel.xLabel) r.text(panel.xLabel, (left + right) / 2, bottom + 5 + FONT_CELL.height + 2, BLACK, { align: 'center' });
    if (panel.yLabel) r.text(panel.yLabel, x0 + 2, (top + bottom) / 2, BLACK, { align: 'center', vertical: true });
  }
  r.strokeRect(left, top, right, bottom, GREY);

  // Points outside the plot area (a fixed range cuts them off) break the line.
  const inside = (p: [number, number]) => p[0] >= left - 1 && p[0] <= right + 1 && p[1] >= top - 1 && p[1] <= bottom + 1;
  panel.series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length]!;
    const width = s.width ?? 1.5;
    let run: [number, number][] = [];
    const flush = () => {
      if (run.length > 1 && width > 0) r.polyline(run, color, width, s.dashed ? [6, 4] : undefined);
      run = [];
    };
    s.x.forEach((xv, i) => {
      const yv = s.y[i];
      const ok = yv !== null && yv !== undefined && Number.isFinite(yv) && Number.isFinite(xv) && (!panel.xLog || xv > 0) && (!panel.yLog || yv > 0);
      if (!ok) return flush();
      const p: [number, number] = [sx.toPx(xv), sy.toPx(yv)];
      if (!inside(p)) return flush();
      run.push(p);
      const e = s.yErr?.[i];
      if (e !== null && e !== undefined && Number.isFinite(e) && e > 0) {
        const a = Math.max(top, Math.min(bottom, sy.toPx(yv - e)));
        const b = Math.max(top, Math.min(bottom, sy.toPx(yv + e)));
        r.line(p[0], a, p[0], b, color, 1);
        r.line(p[0] - 3, a, p[0] + 3, a, color, 1);
        r.line(p[0] - 3, b, p[0] + 3, b, color, 1);
      }
      if (s.markers) r.disc(p[0], p[1], 2.5, color);
    });
    flush();
  });

  if (axes && panel.legend !== 'none' && panel.series.length) {
    const labels = panel.series.map((s) => s.label);
    const lw = Math.max(...labels.map((l) => r.textWidth(l))) + 30;
    const lh = labels.length * (FONT_CELL.height + 2) + 6;
    const where = panel.legend ?? 'top-right';
    const lx = where.endsWith('left') ? left + 4 : right - lw - 4;
    const ly = where.startsWith('bottom') ? bottom - lh - 4 : top + 4;
    r.fillRect(lx, ly, lx + lw, ly + lh, [255, 255, 255], 0.85);
    r.strokeRect(lx, ly, lx + lw, ly + lh, GRID);
    panel.series.forEach((s, k) => {
      const color = s.color ?? PALETTE[k % PALETTE.length]!;
      const cy = ly + 4 + k * (FONT_CELL.height + 2) + FONT_CELL.height / 2;
      if ((s.width ?? 1.5) > 0) r.polyline([[lx + 4, cy], [lx + 22, cy]], color, s.width ?? 1.5, s.dashed ? [4, 3] : undefined);
      if (s.markers) r.disc(lx + 13, cy, 2.5, color);
      r.text(s.label, lx + 26, cy, BLACK, { valign: 'middle' });
    });
  }
}

/** Draws a figure: an optional title and subtitle, then the panels in a grid. */
export function renderFigure(fig: Figure): Raster {
  const r = new Raster(fig.width, fig.height);
  let y = 4;
  if (fig.title) {
    r.text(fig.title, fig.width / 2, y, BLACK, { align: 'center' });
    y += FONT_CELL.height + 4;
  }
  if (fig.subtitle) {
    for (const line of fig.subtitle.split('\n')) {
      r.text(line, fig.width / 2, y, GREY, { align: 'center' });
      y += FONT_CELL.height + 2;
    }
    y += 2;
  }
  const n = fig.panels.length;
  if (!n) return r;
  const cols = Math.max(1, Math.min(n, fig.columns ?? n));
  const rows = Math.ceil(n / cols);
  const areaH = fig.height - y;
  fig.panels.forEach((p, i) => {
    const [fx, fy, fw, fh] = p.rect ?? [(i % cols) / cols, Math.floor(i / cols) / rows, 1 / cols, 1 / rows];
    drawPanel(r, p, Math.round(fx * fig.width), Math.round(y + fy * areaH), Math.floor(fw * fig.width), Math.floor(fh * areaH));
  });
  return r;
}

/** The figure as PNG bytes. */
export function encodeFigure(fig: Figure): Buffer {
  return renderFigure(fig).toPng();
}
