/**
 * The one error type the engine throws on purpose. `code` is stable (callers and the UI switch on
 * it), `message` says what happened in plain words, `hint` what the user can do about it.
 */
export type DistilleryErrorCode =
  | 'BAD_INPUT'
  | 'BAD_MODEL'
  | 'BAD_DATA'
  | 'NOT_FOUND'
  | 'BACKEND_UNAVAILABLE'
  | 'NUMERIC'
  | 'IO'
  | 'CANCELLED'
  | 'INTERNAL';

export class DistilleryError extends Error {
  override readonly name = 'DistilleryError';
  constructor(
    readonly code: DistilleryErrorCode,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** A JSON-safe form, for IPC, the browser bridge and run records. */
  toJSON(): { code: DistilleryErrorCode; message: string; hint?: string } {
    return { code: this.code, message: this.message, ...(this.hint ? { hint: this.hint } : {}) };
  }
}

/** Any thrown value as a DistilleryError, so callers at the edges report one shape. */
export function asDistilleryError(error: unknown): DistilleryError {
  if (error instanceof DistilleryError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DistilleryError('INTERNAL', message, undefined, { cause: error });
}
