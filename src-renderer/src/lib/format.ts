/** Display formatting shared by the components (plain functions, unit-tested). */

/** 61706 → "61,706". */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** 61706 → "61.7 k", 11183562 → "11.2 M". */
export function formatParams(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 1 : 2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(n >= 1e4 ? 1 : 2)} k`;
  return String(Math.round(n));
}

/** Bytes in binary units: 246824 → "241 KiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

/** A student as runs name it: "lenet5-half", or "lenet5-half ×0.75" at a custom width. */
export function studentName(student: { id: string; width: number }): string {
  return student.width === 1 ? student.id : `${student.id} ×${formatValue(student.width)}`;
}

/** 3.92 → "3.9×". */
export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio) || ratio <= 0) return '—';
  if (ratio < 0.95) return `${Number(ratio.toPrecision(1))}×`;
  return `${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(1)}×`;
}

/**
 * A model's size against a reference size: "3.1× smaller", or "1.4× larger" (an int8 ONNX file of
 * a tiny model, whose quantization scales outweigh what int8 saves).
 */
export function formatSizeChange(referenceBytes: number, bytes: number): string {
  return referenceBytes >= bytes ? `${formatRatio(referenceBytes / bytes)} smaller` : `${formatRatio(bytes / referenceBytes)} larger`;
}

/** 0.9876 → "98.8 %". */
export function formatPercent(value: number | undefined | null, digits = 1): string {
  if (value === undefined || value === null || !Number.isFinite(value)) return '—';
  return `${(100 * value).toFixed(digits)} %`;
}

/** Seconds → "45 s", "3 min 05 s", "2 h 10 min". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** A number as typed in forms and shown in tables: 0.002 → "0.002", 1e-8 → "1e-8". */
export function formatValue(value: number | string | boolean): string {
  if (typeof value !== 'number') return String(value);
  if (value !== 0 && (Math.abs(value) < 1e-4 || Math.abs(value) >= 1e7)) return value.toExponential().replace('e+', 'e');
  return String(Number(value.toPrecision(12)));
}

/** A loss value in a legend or tooltip: four significant digits. */
export function formatMetric(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value !== 0 && Math.abs(value) < 1e-3) return value.toExponential(2);
  return Number(value.toPrecision(4)).toString();
}

/** ISO time → "23 Nov 2026, 16:40". */
export function formatDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** [32, 32, 1] → "32 × 32 × 1". */
export function formatShape(shape: readonly (number | null)[]): string {
  return shape.map((d) => (d === null ? '?' : String(d))).join(' × ');
}

/** A pixel scale as people write it: 1/255 rather than 0.00392156862745098. */
export function formatScale(scale: number): string {
  for (const d of [255, 127.5, 256]) if (Math.abs(scale * d - 1) < 1e-9) return `1/${d}`;
  return formatValue(scale);
}
