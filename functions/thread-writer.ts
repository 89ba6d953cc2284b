/**
 * Consumes connector events from the inbound queue and writes them into contacts, threads and messages
 * (`domain/conversations/inbound.ts`). Events of one conversation are written in order, conversations
 * concurrently; a failed record is retried (and eventually dead-lettered) without holding back the others.
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { capabilitiesOf } from '../connectors/capabilities.ts';
import { ParleyEventSchema, type ParleyEvent } from '../domain/events.ts';
import { applyEvent, type ThreadWriterDeps, type WriteOutcome } from '../domain/conversations/inbound.ts';
import { consentEntryId, keywordOptOut, optOutKeyword, recordConsent } from '../domain/delivery/consent.ts';
import type { Log } from '../domain/ports.ts';
import { systemClock } from '../domain/ports.ts';
import { awsConversations, awsDelivery, retentionDays } from '../adapters/aws/deps.ts';
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

/**
 * A customer who writes an opt-out word (`STOP`, `配信停止`, …) alone in a direct chat opts out of marketing on
 * that channel: recorded in the consent ledger once per message (its id derives from the message), also when
 * the message was stored by an earlier delivery that stopped before this step.
 */
const recordOptOut = async (
  event: ParleyEvent,
  outcome: WriteOutcome,
  deps: Pick<Deps, 'conversations' | 'clock'> & Partial<Pick<Deps, 'delivery'>>,
  log: Log,
) => {
  if (event.type !== 'message.received' || event.direction !== 'inbound' || event.conversation.kind !== 'direct') return;
  if (outcome.kind !== 'stored' && outcome.kind !== 'duplicate') return;
  const keyword = optOutKeyword(event.content);
  if (keyword === undefined) return;
  if (!deps.delivery) {
    log.warn('an opt-out word was written, but this thread writer has no consent ledger to record it in', { channel: event.channel });
    return;
  }
  const message = await deps.conversations.getMessage(outcome.threadId, outcome.messageId);
  const contactId = message?.value.contactId;
  if (!contactId) return;
  const recorded = await recordConsent(
    deps.delivery,
    keywordOptOut({
      id: consentEntryId(event.occurredAt, 'opted_out', event.channel, event.accountId, event.externalMessageId),
      contactId,
      channel: event.channel,
      keyword,
      at: event.occurredAt,
      recordedAt: deps.clock.now().toISOString(),
    }),
  );
  if (recorded.recorded) log.info('customer opted out of marketing by keyword', { contactId, channel: event.channel });
};

export const create = (
  deps: Pick<Deps, 'conversations' | 'clock' | 'observability' | 'retentionDays'> &
    Partial<Pick<Deps, 'delivery'>> &
    Partial<Pick<ThreadWriterDeps, 'capabilities'>>,
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
      await recordOptOut(event, outcome, deps, eventLog);
      if (outcome.kind === 'stored' && event.type === 'message.received' && event.direction === 'inbound')
        metrics.count('MessagesReceived', event.channel);
    } catch (error) {
      eventLog.error('event not applied; will be retried', {
        messageId: record.messageId,
        error: error instanceof Error ? error.message : String(error),
      });
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
  (wired ??= create({
    conversations: awsConversations(),
    delivery: awsDelivery(),
    clock: systemClock,
    observability: awsObservability(),
    retentionDays: retentionDays(),
  }))(event, context);
