/**
 * The transactional outbox. A change and the domain events it causes are written together, in the same
 * DynamoDB write: each record the change writes carries its events (`PendingEvent`s), and a relay reading the
 * table's change stream publishes them. A writer that crashes right after its write therefore loses no
 * event, and one that crashes before it wrote has changed nothing. Publishing is at least once; the event ids
 * are stable, so consumers drop repeats.
 *
 * Events are stored by reference where they can be: `message.received` names its type and the relay reads
 * the message from the record the write left. Only what the record does not hold travels in `extra` (who
 * merged two contacts, and why), which keeps records small: a message item stays within one write unit.
 */
import { deterministicId, randomId } from '../ids.ts';
import type { DomainEventType } from './domain-events.ts';

export interface PendingEvent {
  readonly id: string;
  readonly type: DomainEventType;
  /** When the change happened; the event's `createdAt`. */
  readonly at: string;
  /** Data the written record does not hold, merged into the event's `data`. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/**
 * An event whose id is derived from what it is about, for changes that can only happen once (a message
 * received, a status reached): a repeated change (a retried write) yields the same id.
 */
export const onceEvent = (type: DomainEventType, at: string, subject: readonly string[], extra?: PendingEvent['extra']): PendingEvent => ({
  id: deterministicId('evt', type, ...subject),
  type,
  at,
  ...(extra !== undefined && { extra }),
});

/** An event for a change that may happen again (a status set back and forth): a fresh id each time. */
export const freshEvent = (type: DomainEventType, at: string, extra?: PendingEvent['extra']): PendingEvent => ({
  id: randomId('evt'),
  type,
  at,
  ...(extra !== undefined && { extra }),
});
