/**
 * Idempotency keys: a client that retries a POST with the same `Idempotency-Key` gets the first answer back
 * instead of a second effect. A key is claimed when its first request starts, answered with that request's
 * response once it finished, and taken over by a retry only when its first request stopped without finishing
 * (its lease ran out). Handlers derive their records' ids from the key and the first request's time, so a
 * request run again after such a stop finds what the first run wrote instead of writing it twice.
 */
import type { Versioned } from './store.ts';

export interface StoredResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface IdempotencyRecord {
  /** Whose keys these are (the API key id), so two integrators' keys never collide. */
  readonly scope: string;
  readonly key: string;
  /** Hash of the request the key was first used with; a reuse with another request is refused. */
  readonly requestHash: string;
  /** When the first request with this key arrived: handlers derive ids from it. */
  readonly firstSeenAt: string;
  readonly state: 'in_progress' | 'completed';
  /** While `in_progress`: until when the request that claimed the key holds it. */
  readonly leaseUntil?: string;
  readonly response?: StoredResponse;
  /** After this the key is free again (TTL in AWS; reads treat it as absent before the sweep). */
  readonly expiresAt: string;
}

export interface IdempotencyStore {
  /** The record, expired or not (TTL sweeps lag): the caller compares `expiresAt` with its clock. */
  get(scope: string, key: string): Promise<Versioned<IdempotencyRecord> | undefined>;
  /** Writes the record if it still has `version` ({@link NEW_RECORD} to create); throws `ConflictError` otherwise. */
  put(record: IdempotencyRecord, version: number): Promise<void>;
}
