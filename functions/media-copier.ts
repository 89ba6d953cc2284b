/**
 * A channel's media copier Lambda (`functions/media-copiers/<channel>.ts`), made for one connector so its
 * bundle carries that channel's code only. Consumes the channel's media queue: received messages with media,
 * routed from the bus. Copies each one's media into
 * Parley's storage and records the copy on the message (`domain/media.ts`). A failed record is postponed by
 * its backoff (or the provider's retry-after) and reported as a batch item failure; once the queue's receive
 * count is used up it goes to the dead-letter queue.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import * as z from 'zod';
import type { MediaConnector } from '../domain/connector.ts';
import { MessageReceivedSchema, type MessageReceivedEvent } from '../domain/events.ts';
import { copyMedia, type MediaDeps } from '../domain/media.ts';
import { awsChannelWorkerDeps, awsMediaStore } from '../adapters/aws/deps.ts';
import { connectorOnly, detailOf, queueSetting, type Deps, type Environment } from './deps.ts';

export const mediaCopierFunction = (connector: MediaConnector) => {
const create = (
  deps: Pick<Deps, 'store' | 'media' | 'secrets' | 'clock' | 'log' | 'fetch' | 'apiBaseUrls' | 'visibility'> & Pick<MediaDeps, 'network'>,
  environment: Environment,
) => {
  // Must equal the queue's redrive policy, so the last attempt knows it is the last.
  const maxReceiveCount = queueSetting(environment, 'MAX_RECEIVE_COUNT');
  const domainDeps = { ...deps, connectorFor: connectorOnly(connector) };
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    // Records are independent downloads: done concurrently, each failing alone.
    await Promise.all(
      event.Records.map(async (record) => {
        const fail = () => batchItemFailures.push({ itemIdentifier: record.messageId });
        let received: MessageReceivedEvent;
        try {
          const parsed = MessageReceivedSchema.safeParse(detailOf(JSON.parse(record.body)));
          if (!parsed.success) throw new Error(z.prettifyError(parsed.error));
          received = parsed.data;
          if (received.channel !== connector.channel) throw new Error(`a ${received.channel} message on the ${connector.channel} queue`);
        } catch (error) {
          deps.log.error('unreadable media job; sent to the dead-letter queue', {
            messageId: record.messageId,
            error: error instanceof Error ? error.message : String(error),
          });
          fail();
          return;
        }
        const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
        const about = { messageId: record.messageId, channel: received.channel, externalMessageId: received.externalMessageId };
        try {
          const outcome = await copyMedia(received, { receiveCount, maxReceiveCount }, domainDeps);
          switch (outcome.kind) {
            case 'skipped':
            case 'already':
            case 'copied':
              deps.log.info('media job handled', { ...about, outcome: outcome.kind });
              break;
            case 'failed':
              // Will never succeed (gone, refused credentials): the message keeps its provider reference.
              deps.log.warn('media not copied', { ...about, failure: outcome.failure });
              break;
            case 'retry':
              deps.log.info('media copy postponed', { ...about, delaySeconds: outcome.delaySeconds, failure: outcome.failure });
              await deps.visibility.setVisibilityTimeout(record.receiptHandle, outcome.delaySeconds);
              fail();
              break;
            case 'exhausted':
              deps.log.error('media copy retries used up; sent to the dead-letter queue', { ...about, failure: outcome.failure });
              fail();
              break;
          }
        } catch (error) {
          // Our own storage failed: retry after the queue's visibility timeout.
          deps.log.error('media job errored; will be retried', { ...about, error: error instanceof Error ? error.message : String(error) });
          fail();
        }
      }),
    );
    return { batchItemFailures };
  };
};

let wired: ReturnType<typeof create> | undefined;
const handler = (event: SQSEvent) =>
  (wired ??= create(
    {
      ...awsChannelWorkerDeps(connector),
      media: awsMediaStore(),
    },
    process.env,
  ))(event);
return { create, handler };
};
