/**
 * How the domain reads and writes its records: every record is read with its version, changed by domain
 * code (the rules live in `domain/`, never in an adapter), and written back only if nobody changed it
 * meanwhile (optimistic concurrency). A write of several records is all or nothing (a DynamoDB transaction),
 * and each record written may carry the domain events the change causes (the outbox,
 * `domain/events/outbox.ts`).
 */
import type { PendingEvent } from '../events/outbox.ts';

/** A record as read, with the version a write must name to replace it. */
export interface Versioned<T> {
  readonly value: T;
  readonly version: number;
}

/** The version to name when a record must not exist yet. */
export const NEW_RECORD = 0;

/** A write whose expected versions no longer hold: someone else changed a record first. Read again and retry. */
export class ConflictError extends Error {
  constructor(readonly what: string) {
    super(`conflicting write: ${what} changed since it was read`);
    this.name = 'ConflictError';
  }
}

/** A record to put (create when `version` is {@link NEW_RECORD}, else replace that version) or delete. */
export type Write<Kind extends string, T, Key> =
  | { readonly kind: Kind; readonly op: 'put'; readonly value: T; readonly version: number; readonly events?: readonly PendingEvent[] }
  | { readonly kind: Kind; readonly op: 'delete'; readonly key: Key; readonly version: number; readonly events?: readonly PendingEvent[] };

/** One page of a listing; `nextCursor` is opaque and present only when there is more. */
export interface Page<T> {
  readonly items: T[];
  readonly nextCursor?: string;
}

/** Tries of an optimistic read-modify-write before giving up (the caller's queue then redelivers). */
export const MAX_CONFLICT_RETRIES = 8;

/**
 * Runs an optimistic read-modify-write until it commits without conflict: `attempt` reads, decides and
 * writes; a {@link ConflictError} from its write makes it run again, after a short random pause.
 */
export const retryOnConflict = async <T>(attempt: () => Promise<T>, tries = MAX_CONFLICT_RETRIES): Promise<T> => {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof ConflictError) || n >= tries) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * 2 ** n));
    }
  }
};
