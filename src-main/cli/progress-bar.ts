import type { ProgressEvent } from '../engine/index.ts';

function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

function shortValues(values: Record<string, number>, keys: number): string {
  return Object.entries(values)
    .slice(0, keys)
    .map(([k, v]) => `${k} ${Math.abs(v) >= 100 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(4)}`)
    .join('  ');
}

/**
 * A progress bar on stderr: redrawn in place on a terminal, one line every ~5 % (and at each phase
 * end) otherwise, so logs of long runs stay readable.
 */
export function createProgressBar(stream: NodeJS.WriteStream = process.stderr): (event: ProgressEvent) => void {
  const tty = stream.isTTY === true;
  let lastPhase = '';
  let lastBucket = -1;
  return (event) => {
    const fraction = event.total ? event.step / event.total : 1;
    const width = 24;
    const filled = Math.round(fraction * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    const rate = event.samplesPerSecond ? `${event.samplesPerSecond.toFixed(0)} samples/s` : '';
    const line = `${event.task} ${event.phase.padEnd(9)} ${bar} ${event.step}/${event.total}  ETA ${duration(event.etaSeconds)}  ${rate}  ${shortValues(event.values, tty ? 4 : 8)}`;
    if (tty) {
      if (event.phase !== lastPhase && lastPhase) stream.write('\n');
      stream.write(`\r${line.slice(0, (stream.columns ?? 160) - 1).padEnd(Math.min(stream.columns ?? 160, 160) - 1)}`);
      if (event.step === event.total) stream.write('\n');
    } else {
      const bucket = Math.floor(fraction * 20);
      if (event.phase !== lastPhase || bucket !== lastBucket || event.step === event.total) stream.write(`${line}\n`);
      lastBucket = bucket;
    }
    lastPhase = event.phase;
  };
}
