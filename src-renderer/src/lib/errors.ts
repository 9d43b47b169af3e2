import { HostError, type ErrorDto } from '@common/contract.ts';

/** Any failure as the one shape the UI shows: what happened, and what to do about it. */
export function toNotice(error: unknown): ErrorDto {
  if (error instanceof HostError) return error.dto;
  if (error instanceof Error) {
    if (/answered 413/.test(error.message)) {
      return {
        code: 'BAD_INPUT',
        message: 'the files are too large to send through browser mode',
        hint: 'import large models in the desktop app, or copy them into the data folder',
      };
    }
    return { code: 'INTERNAL', message: error.message };
  }
  return { code: 'INTERNAL', message: String(error) };
}
