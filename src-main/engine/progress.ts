/**
 * Progress events: everything long-running in the engine (teacher training, a method's phases,
 * metrics) reports through this one shape, so the CLI's progress bar, the run store's
 * metrics.jsonl and the app's live charts read the same stream. The shape is the contract's
 * ProgressEventDto (phase, step/total, ETA, samples per second, every logged value, time).
 */
import type { ProgressEventDto } from '../common/contract.ts';

export type ProgressEvent = ProgressEventDto;

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
