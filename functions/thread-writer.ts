/**
 * Consumes connector events from the inbound queue and writes them into threads. Conversations of a batch
 * are written concurrently, each conversation's events in order; failures are reported per record, so one
 * bad event is retried (and eventually dead-lettered) without holding back its batch.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ParleyEventSchema, type ParleyEvent } from '../domain/events.ts';
import { applyEvent } from '../domain/thread-writer.ts';
import { awsLog, awsStore } from '../adapters/aws/deps.ts';
import { detailOf, type Deps } from './deps.ts';

/** Events that touch the same conversation (or identity) share a key and are applied one after another. */
const orderingKey = (event: ParleyEvent): string => {
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

export const create = (deps: Pick<Deps, 'store' | 'log'>) => async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  const conversations = new Map<string, { record: SQSRecord; event: ParleyEvent }[]>();
  for (const record of event.Records) {
    let parsed;
    try {
      parsed = ParleyEventSchema.safeParse(detailOf(JSON.parse(record.body)));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) {
      // Not retryable, but not to be dropped either: failing it sends it to the dead-letter queue.
      deps.log.error('event does not match the v1 schema', { messageId: record.messageId, issues: parsed?.error.issues ?? 'not JSON' });
      batchItemFailures.push({ itemIdentifier: record.messageId });
      continue;
    }
    const key = orderingKey(parsed.data);
    conversations.set(key, [...(conversations.get(key) ?? []), { record, event: parsed.data }]);
  }
  await Promise.all(
    [...conversations.values()].map(async (items) => {
      for (const [index, { record, event: parleyEvent }] of items.entries()) {
        try {
          const outcome = await applyEvent(parleyEvent, deps);
          deps.log.info('event applied', { eventId: parleyEvent.eventId, type: parleyEvent.type, ...outcome });
        } catch (error) {
          deps.log.error('event not applied; will be retried', {
            messageId: record.messageId,
            error: error instanceof Error ? error.message : String(error),
          });
          // The conversation's later events wait for this one: retried together, they keep their order.
          for (const rest of items.slice(index)) batchItemFailures.push({ itemIdentifier: rest.record.messageId });
          return;
        }
      }
    }),
  );
  return { batchItemFailures };
};

let wired: ReturnType<typeof create> | undefined;
export const handler = (event: SQSEvent) => (wired ??= create({ store: awsStore(), log: awsLog() }))(event);
