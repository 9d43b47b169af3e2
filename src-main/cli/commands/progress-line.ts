import type { ProgressEvent } from '../../engine/progress.ts';
import { out } from '../command.ts';

function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/**
 * Progress on stderr: on a terminal one line rewritten in place; otherwise a line every
 * `everySeconds` and at phase ends (logs stay short).
 */
export function progressPrinter(options: { everySeconds?: number; quiet?: boolean } = {}): (e: ProgressEvent) => void {
  const tty = process.stderr.isTTY;
  const every = (options.everySeconds ?? 15) * 1000;
  let last = 0;
  return (e) => {
    if (options.quiet) return;
    const values = Object.entries(e.values)
      .filter(([k]) => k !== 'epoch')
      .map(([k, v]) => `${k} ${Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : v.toFixed(4)}`)
      .join(', ');
    if (e.phase === 'epoch') {
      if (tty) process.stderr.write('\r\x1b[K');
      out.status(`epoch ${e.step}/${e.total}: ${values}`);
      return;
    }
    const epoch = e.values.epoch !== undefined ? `epoch ${e.values.epoch} ` : '';
    const line = `${e.task} ${e.phase} ${epoch}step ${e.step}/${e.total} (${Math.round((100 * e.step) / e.total)}%), ${values}, ${e.samplesPerSecond ? Math.round(e.samplesPerSecond) : '?'} img/s, ETA ${duration(e.etaSeconds)}`;
    if (tty) {
      process.stderr.write(`\r\x1b[K${line}`);
      if (e.step === e.total) process.stderr.write('\n');
      return;
    }
    const now = Date.now();
    const evaluated = 'agreement' in e.values || 'testAccuracy' in e.values;
    if (now - last >= every || e.step === e.total || evaluated) {
      last = now;
      out.status(line);
    }
  };
}
