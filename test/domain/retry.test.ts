/**
 * The one retry classification every provider-calling consumer uses (domain/delivery/retry.ts): which
 * failures are retried, after how long, and when the queue's receives are used up.
 */
import { describe, expect, it } from 'vitest';
import { backoffSeconds, decide, decideRetry, failureOf, isRetryableFailure, MAX_DELAY_SECONDS } from '../../domain/delivery/retry.ts';
import {
  AuthenticationError,
  InvalidRequestError,
  PermanentProviderError,
  RateLimitedError,
  RetryableProviderError,
} from '../../domain/provider-errors.ts';

const third = { receiveCount: 3, maxReceiveCount: 5 };

describe('backoffSeconds', () => {
  it('doubles from 2 s with full jitter between half and all of it', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffSeconds(n, () => 0))).toEqual([1, 2, 4, 8, 16]);
    expect([1, 2, 3, 4, 5].map((n) => backoffSeconds(n, () => 1))).toEqual([2, 4, 8, 16, 32]);
    expect(backoffSeconds(4, () => 0.5)).toBe(12);
    // The first receive waits like the second would, never less than a second.
    expect(backoffSeconds(0, () => 1)).toBe(2);
    expect(backoffSeconds(1, () => 0)).toBe(1);
  });

  it('is capped at 15 minutes, or the cap given', () => {
    expect(MAX_DELAY_SECONDS).toBe(900);
    expect(backoffSeconds(20, () => 1)).toBe(900);
    expect(backoffSeconds(20, () => 0)).toBe(450);
    expect(backoffSeconds(10, () => 1, 60)).toBe(60);
  });

  it('stays within its bounds whatever the randomness', () => {
    for (let n = 1; n <= 12; n++) {
      const ceiling = Math.min(900, 2 ** n);
      for (let r = 0; r <= 1; r += 0.125) {
        const delay = backoffSeconds(n, () => r);
        expect(delay).toBeGreaterThanOrEqual(Math.max(1, Math.round(ceiling / 2)));
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    }
  });
});

describe('failureOf', () => {
  it("keeps a provider's classification, code and the attempts", () => {
    expect(failureOf(new PermanentProviderError('Forbidden: bot was blocked by the user', '403', true), 2)).toEqual({
      kind: 'permanent',
      code: '403',
      message: 'Forbidden: bot was blocked by the user',
      attempts: 2,
    });
    expect(failureOf(new AuthenticationError('Unauthorized'), 1)).toEqual({ kind: 'authentication', message: 'Unauthorized', attempts: 1 });
  });

  it('takes anything else (a bug, a network error) for retryable', () => {
    expect(failureOf(new TypeError('fetch failed'), 3)).toEqual({ kind: 'retryable', message: 'fetch failed', attempts: 3 });
    expect(failureOf('socket hang up', 1)).toEqual({ kind: 'retryable', message: 'socket hang up', attempts: 1 });
  });
});

describe('isRetryableFailure', () => {
  it('retries only what may succeed later', () => {
    expect(
      ['retryable', 'rate_limited', 'permanent', 'authentication', 'invalid_request'].filter((kind) =>
        isRetryableFailure({ kind: kind as never, message: '' }),
      ),
    ).toEqual(['retryable', 'rate_limited']);
  });
});

describe('decide and decideRetry', () => {
  it('retries a retryable failure with backoff while receives remain', () => {
    expect(decideRetry(new RetryableProviderError('Bad Gateway', '502'), third, () => 1)).toEqual({
      kind: 'retry',
      delaySeconds: 8,
      failure: { kind: 'retryable', code: '502', message: 'Bad Gateway', attempts: 3 },
    });
    expect(decideRetry(new Error('ECONNRESET'), { receiveCount: 4, maxReceiveCount: 5 }, () => 0)).toMatchObject({
      kind: 'retry',
      delaySeconds: 8,
    });
  });

  it('waits as long as a rate limit asks (rounded up, at least 1 s, at most the cap), not the backoff', () => {
    const limited = (seconds: number) => decideRetry(new RateLimitedError('Too Many Requests', seconds, '429'), third, () => 1);
    expect(limited(37)).toEqual({
      kind: 'retry',
      delaySeconds: 37,
      failure: { kind: 'rate_limited', code: '429', message: 'Too Many Requests', attempts: 3 },
    });
    expect(limited(2.2).kind === 'retry' && limited(2.2)).toMatchObject({ delaySeconds: 3 });
    expect(limited(0)).toMatchObject({ delaySeconds: 1 });
    expect(limited(3600)).toMatchObject({ delaySeconds: 900 });
    expect(decide({ kind: 'retryable', message: 'x' }, third, 0.4)).toMatchObject({ delaySeconds: 1 });
  });

  it('gives up on the last receive, and at once on what will never succeed', () => {
    expect(decideRetry(new RetryableProviderError('timeout'), { receiveCount: 5, maxReceiveCount: 5 })).toEqual({
      kind: 'exhausted',
      failure: { kind: 'retryable', message: 'timeout', attempts: 5 },
    });
    expect(decideRetry(new RateLimitedError('slow down', 5), { receiveCount: 6, maxReceiveCount: 5 })).toMatchObject({ kind: 'exhausted' });
    expect(decideRetry(new InvalidRequestError('Bad Request: chat not found', '400'), third)).toEqual({
      kind: 'failed',
      failure: { kind: 'invalid_request', code: '400', message: 'Bad Request: chat not found', attempts: 3 },
    });
    expect(decideRetry(new AuthenticationError('Unauthorized', '401'), { receiveCount: 5, maxReceiveCount: 5 })).toMatchObject({
      kind: 'failed',
    });
    expect(decide({ kind: 'permanent', message: 'gone' }, third)).toEqual({
      kind: 'failed',
      failure: { kind: 'permanent', message: 'gone' },
    });
  });
});
