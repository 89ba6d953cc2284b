import type * as z from 'zod';
import { ERROR_STATUS, type ErrorBody, type ErrorCode } from './schemas.ts';
import { describeIssues } from './validation.ts';

/**
 * An error the caller is meant to see: its code, status and message are answered as they are. Anything
 * else thrown while handling a request becomes a plain `internal` 500 whose text stays in the log.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Extra response headers (Allow, Retry-After, WWW-Authenticate). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message, ...(this.details && { details: this.details }) };
  }
}

/** A zod failure as an `invalid_request`, in the API's words, each issue with the path to the offending value. */
export const invalidRequest = (what: string, error: z.ZodError): ApiError => {
  const issues = describeIssues(error, what);
  return new ApiError('invalid_request', `${what} is not valid: ${issues.map((i) => i.message).join('; ')}`, { issues });
};
