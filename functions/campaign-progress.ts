/**
 * Campaign progress: the bus rule sends every `message.status` event of a campaign message here, and the
 * recipient's state (with the campaign's counts) follows the message's status. Applying an event again changes
 * nothing: a recipient's state only moves forward.
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { DomainEventSchemas } from '../domain/events/domain-events.ts';
import { recordProgress } from '../domain/delivery/campaigns.ts';
import { awsDelivery } from '../adapters/aws/deps.ts';
import { detailOf, type Deps } from './deps.ts';
import { lambda } from './kit/handler.ts';
import { awsObservability } from './kit/powertools.ts';
import { sqsBatch } from './kit/sqs.ts';

export const create = (deps: Pick<Deps, 'delivery' | 'observability'>) => {
  const { log } = deps.observability;
  const handle = async (record: SQSRecord) => {
    const parsed = DomainEventSchemas['message.status'].safeParse(detailOf(JSON.parse(record.body)));
    if (!parsed.success) {
      log.error('not a message.status event; it goes to the dead-letter queue', { messageId: record.messageId });
      throw new Error('not a message.status event');
    }
    const event = parsed.data;
    await recordProgress(deps.delivery, event.data.message, event.data.previousStatus, event.createdAt);
  };
  // A message's events in order (its statuses only move forward, so out of order costs nothing but a skipped step).
  const batch = sqsBatch(handle, {
    orderingKey: (record) => {
      try {
        const parsed = DomainEventSchemas['message.status'].safeParse(detailOf(JSON.parse(record.body)));
        return parsed.success ? parsed.data.data.message.id : record.messageId;
      } catch {
        return record.messageId;
      }
    },
  });
  return lambda<SQSEvent, Awaited<ReturnType<typeof batch>>>((event, context) => batch(event, context), deps.observability);
};

let wired: ReturnType<typeof create> | undefined;
export const handler = (event: SQSEvent, context: Context) =>
  (wired ??= create({ delivery: awsDelivery(), observability: awsObservability() }))(event, context);
