/**
 * Progress events: everything long-running in the engine (teacher training, a method's phases,
 * metrics) reports through this one shape, so the CLI's progress bar, the run store's
 * metrics.jsonl and the app's live charts read the same stream.
 */
export interface ProgressEvent {
  /** What is running, e.g. 'train-teacher', 'rdskd'. */
  task: string;
  /** Phase within the task, e.g. 'generator', 'student', 'eval'. */
  phase: string;
  /** Steps done in this phase (1-based after the first step) and the phase's total. */
  step: number;
  total: number;
  /** Seconds left in this phase, estimated from the recent step rate; null until known. */
  etaSeconds: number | null;
  /** Samples processed per second over the recent steps. */
  samplesPerSecond: number | null;
  /** Every logged value of this step: each loss term, accuracy, agreement, ... */
  values: Record<string, number>;
  /** Wall-clock time of the event, ms since the epoch. */
  time: number;
}

export type ProgressListener = (event: ProgressEvent) => void;

/**
 * Turns step counts into rates and ETAs for progress events, from an exponential moving average of
 * step durations (a few slow first steps, e.g. kernel warm-up, should not dominate the ETA).
 */
export class ProgressClock {
  private last = performance.now();
  private secondsPerStep: number | null = null;

  constructor(private readonly smoothing = 0.1) {}

  /** Call once per step; returns the smoothed step rate and ETA for `remaining` steps. */
  tick(samplesThisStep: number, remaining: number): { etaSeconds: number | null; samplesPerSecond: number | null } {
    const now = performance.now();
    const seconds = (now - this.last) / 1000;
    this.last = now;
    this.secondsPerStep =
      this.secondsPerStep === null ? seconds : this.secondsPerStep + this.smoothing * (seconds - this.secondsPerStep);
    const perStep = this.secondsPerStep;
    return {
      etaSeconds: perStep > 0 ? perStep * remaining : null,
      samplesPerSecond: perStep > 0 ? samplesThisStep / perStep : null,
    };
  }
}
