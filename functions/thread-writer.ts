/**
 * Consumes connector events from the inbound queue and writes them into threads. Reports failures per
 * record, so one bad event is retried (and eventually dead-lettered) without holding back its batch.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ParleyEventSchema } from '../domain/events.ts';
import { applyEvent } from '../domain/thread-writer.ts';
import { awsDeps } from '../adapters/aws/deps.ts';
import type { Deps } from './deps.ts';

export const create = (deps: Pick<Deps, 'store' | 'log'>) => async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      const parsed = ParleyEventSchema.safeParse(JSON.parse(record.body));
      if (!parsed.success) {
        // Not retryable, but not to be dropped either: failing it sends it to the dead-letter queue.
        deps.log.error('event does not match the v1 schema', { messageId: record.messageId, issues: parsed.error.issues });
        batchItemFailures.push({ itemIdentifier: record.messageId });
        continue;
      }
      const outcome = await applyEvent(parsed.data, deps);
      deps.log.info('event applied', { eventId: parsed.data.eventId, type: parsed.data.type, ...outcome });
    } catch (error) {
      deps.log.error('event not applied; will be retried', {
        messageId: record.messageId,
        error: error instanceof Error ? error.message : String(error),
      });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
};

let wired: ReturnType<typeof create> | undefined;
export const handler = (event: SQSEvent) => (wired ??= create(awsDeps()))(event);
