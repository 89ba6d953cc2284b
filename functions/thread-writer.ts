/**
 * Consumes connector events from the inbound queue and writes them into contacts, threads and messages
 * (`domain/conversations/inbound.ts`). Events of one conversation are written in order, conversations
 * concurrently; a failed record is retried (and eventually dead-lettered) without holding back the others.
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { capabilitiesOf } from '../connectors/capabilities.ts';
import { ParleyEventSchema, type ParleyEvent } from '../domain/events.ts';
import { applyEvent, type ThreadWriterDeps } from '../domain/conversations/inbound.ts';
import { systemClock } from '../domain/ports.ts';
import { awsConversations, retentionDays } from '../adapters/aws/deps.ts';
import { detailOf, type Deps } from './deps.ts';
import { lambda } from './kit/handler.ts';
import { awsObservability } from './kit/powertools.ts';
import { withKeys } from './kit/observability.ts';
import { ageOf, sqsBatch } from './kit/sqs.ts';

/** Events that touch the same conversation (or identity) share a key and are applied one after another. */
export const orderingKey = (event: ParleyEvent): string => {
  switch (event.type) {
    case 'message.received':
    case 'message.edited':
      return `${event.channel}/${event.accountId}/${event.conversation.externalId}`;
    case 'identity.unreachable':
      return `${event.channel}/${event.accountId}/${event.externalUserId}`;
    case 'message.status':
    case 'provider.action.requested':
      return `${event.channel}/${event.accountId}/${event.eventId}`;
  }
};

/** A record's event, or undefined when it is not one (it goes to the dead-letter queue for inspection). */
const eventOf = (record: SQSRecord): ParleyEvent | undefined => {
  try {
    const parsed = ParleyEventSchema.safeParse(detailOf(JSON.parse(record.body)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
};

export const create = (
  deps: Pick<Deps, 'conversations' | 'clock' | 'observability' | 'retentionDays'> & Partial<Pick<ThreadWriterDeps, 'capabilities'>>,
) => {
  const { log, metrics } = deps.observability;
  const writer: Omit<ThreadWriterDeps, 'log'> = {
    store: deps.conversations,
    clock: deps.clock,
    capabilities: deps.capabilities ?? capabilitiesOf,
    ...(deps.retentionDays !== undefined && { retentionDays: deps.retentionDays }),
  };
  const handle = async (record: SQSRecord) => {
    const event = eventOf(record);
    if (!event) {
      log.error('event does not match the v1 schema; it goes to the dead-letter queue', { messageId: record.messageId });
      throw new Error('not a v1 event');
    }
    // Correlation ids: the provider's event, then Parley's thread and message once known.
    const eventLog = withKeys(log, { eventId: event.eventId, providerEventId: event.providerEventId, channel: event.channel });
    try {
      const outcome = await applyEvent(event, { ...writer, log: eventLog });
      eventLog.info('event applied', { type: event.type, ...outcome });
      if (outcome.kind === 'stored' && event.type === 'message.received' && event.direction === 'inbound') metrics.count('MessagesReceived', event.channel);
    } catch (error) {
      eventLog.error('event not applied; will be retried', { messageId: record.messageId, error: error instanceof Error ? error.message : String(error) });
      throw error;
    }
  };
  const batch = sqsBatch(handle, {
    orderingKey: (record) => {
      const event = eventOf(record);
      return event ? orderingKey(event) : record.messageId;
    },
  });
  return lambda<SQSEvent, Awaited<ReturnType<typeof batch>>>(async (event, context) => {
    const now = Date.now();
    metrics.queueAge('inbound', Math.max(0, ...event.Records.map((r) => ageOf(r, now))));
    return batch(event, context);
  }, deps.observability);
};

let wired: ReturnType<typeof create> | undefined;
export const handler = (event: SQSEvent, context: Context) =>
  (wired ??= create({ conversations: awsConversations(), clock: systemClock, observability: awsObservability(), retentionDays: retentionDays() }))(event, context);
