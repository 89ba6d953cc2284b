/**
 * Reads the outbox back out of the table's change stream: each record a write left carries the domain events
 * of that write (attribute {@link EVENTS_ATTRIBUTE}); this turns them into full events, their `data` taken from
 * the record as written (the stream's new image) plus what the write added. A record whose old image already
 * held an event (a redelivered stream record never does, but a write that kept the attribute would) yields
 * it once.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.Lambda.html
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import * as z from 'zod';
import { AccountSchema } from '../../../domain/model.ts';
import { ContactSchema, MessageSchema, ThreadSchema } from '../../../domain/conversations/model.ts';
import { AgentSchema } from '../../../domain/routing/model.ts';
import { ConsentEntrySchema } from '../../../domain/delivery/model.ts';
import {
  DOMAIN_EVENT_SCHEMA_VERSION,
  DomainEventSchemas,
  isDomainEventType,
  type DomainEvent,
} from '../../../domain/events/domain-events.ts';
import { EVENTS_ATTRIBUTE, KIND_ATTRIBUTE } from './table.ts';

const PendingEventSchema = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  at: z.string().min(1),
  extra: z.record(z.string(), z.unknown()).optional(),
});
const PendingEventsSchema = z.array(PendingEventSchema);

/** The record an item holds, as events carry it. */
const subjectOf = (item: Record<string, unknown>): Record<string, unknown> => {
  switch (item[KIND_ATTRIBUTE]) {
    case 'message':
      return { message: MessageSchema.parse(item), threadId: item.threadId, contactId: item.contactId ?? '' };
    case 'thread':
      return { thread: ThreadSchema.parse(item) };
    case 'contact':
      return { contact: ContactSchema.parse(item) };
    case 'account':
      return { account: AccountSchema.parse(item) };
    case 'agent':
      return { agent: AgentSchema.parse(item) };
    case 'consent':
      return { consent: ConsentEntrySchema.parse(item) };
    default:
      return {};
  }
};

/** A record of the stream that cannot become events (a bug, or a record written by hand): kept for inspection. */
export class UnreadableStreamRecordError extends Error {
  constructor(
    readonly sequenceNumber: string,
    message: string,
  ) {
    super(message);
    this.name = 'UnreadableStreamRecordError';
  }
}

const pendingOf = (image: Record<string, AttributeValue> | undefined) => {
  const raw = image?.[EVENTS_ATTRIBUTE]?.S;
  return raw === undefined ? [] : PendingEventsSchema.parse(JSON.parse(raw));
};

/** The domain events a stream record carries, in the order they were written. */
export const eventsOfStreamRecord = (record: DynamoDBRecord): DomainEvent[] => {
  const sequence = record.dynamodb?.SequenceNumber ?? '?';
  const newImage = record.dynamodb?.NewImage as Record<string, AttributeValue> | undefined;
  if (record.eventName === 'REMOVE' || !newImage) return [];
  try {
    const previous = new Set(pendingOf(record.dynamodb?.OldImage as Record<string, AttributeValue> | undefined).map((e) => e.id));
    const pending = pendingOf(newImage).filter((e) => !previous.has(e.id));
    if (pending.length === 0) return [];
    const item = unmarshall(newImage);
    const subject = subjectOf(item);
    return pending.map((event) => {
      if (!isDomainEventType(event.type)) throw new Error(`unknown domain event type ${event.type}`);
      return DomainEventSchemas[event.type].parse({
        id: event.id,
        type: event.type,
        schemaVersion: DOMAIN_EVENT_SCHEMA_VERSION,
        createdAt: event.at,
        data: { ...subject, ...event.extra },
      }) as DomainEvent;
    });
  } catch (error) {
    throw new UnreadableStreamRecordError(sequence, error instanceof Error ? error.message : String(error));
  }
};
