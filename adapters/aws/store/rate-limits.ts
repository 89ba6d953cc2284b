/**
 * Per-key request rate limits on the shared table: a counter per key and second, so every API container counts
 * against the same limit, in AWS and locally alike. A container takes a small lease of the second's requests at
 * once (one UpdateItem per lease, not per request: a tenth of the limit) and spends it locally; what one
 * container leased and did not use is lost to the others for the rest of that second, never more.
 * Counters expire with the TTL.
 */
import type { Clock } from '../../../domain/ports.ts';
import type { RateLimiter } from '../../../domain/access/model.ts';
import { type DynamoTable, key } from './table.ts';

interface Lease {
  readonly second: number;
  tokens: number;
}

/** Leases kept per container; one per key in use. */
const MAX_LEASES = 1000;

export class DynamoRateLimiter implements RateLimiter {
  private readonly leases = new Map<string, Lease>();
  private readonly leaseSize: number;

  constructor(
    private readonly table: DynamoTable,
    private readonly clock: Clock,
    /** Requests per second per key. */
    private readonly perSecond: number,
  ) {
    if (!Number.isInteger(perSecond) || perSecond < 1)
      throw new RangeError(`the rate limit must be a positive whole number, but ${perSecond} was provided`);
    this.leaseSize = Math.max(1, Math.floor(perSecond / 10));
  }

  async take(keyId: string) {
    const second = Math.floor(this.clock.now().getTime() / 1000);
    const lease = this.leases.get(keyId);
    if (lease && lease.second === second && lease.tokens > 0) {
      lease.tokens -= 1;
      return { allowed: true } as const;
    }
    const count = await this.table.increment({ pk: key('RATE', keyId, String(second)), sk: 'RATE' }, 'n', this.leaseSize, second + 120);
    // What this lease got: the part of it still within the second's limit.
    const granted = Math.min(this.leaseSize, this.perSecond - (count - this.leaseSize));
    if (granted <= 0) return { allowed: false, retryAfterSeconds: 1 } as const;
    this.leases.delete(keyId);
    if (this.leases.size >= MAX_LEASES) this.leases.delete(this.leases.keys().next().value ?? '');
    this.leases.set(keyId, { second, tokens: granted - 1 });
    return { allowed: true } as const;
  }
}
