/**
 * Per-key request rate limits on the shared table: a counter per key and second (one UpdateItem per request),
 * so every API container counts against the same limit, in AWS and locally alike. Counters expire with the TTL.
 */
import type { Clock } from '../../../domain/ports.ts';
import type { RateLimiter } from '../../../domain/access/model.ts';
import { DynamoTable, key } from './table.ts';

export class DynamoRateLimiter implements RateLimiter {
  constructor(
    private readonly table: DynamoTable,
    private readonly clock: Clock,
    /** Requests per second per key. */
    private readonly perSecond: number,
  ) {
    if (!Number.isInteger(perSecond) || perSecond < 1) throw new RangeError(`the rate limit must be a positive whole number, but ${perSecond} was provided`);
  }

  async take(keyId: string) {
    const now = this.clock.now().getTime();
    const second = Math.floor(now / 1000);
    const count = await this.table.increment({ pk: key('RATE', keyId, String(second)), sk: 'RATE' }, 'n', 1, second + 120);
    if (count <= this.perSecond) return { allowed: true } as const;
    return { allowed: false, retryAfterSeconds: 1 } as const;
  }
}
