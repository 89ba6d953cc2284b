/**
 * A channel's media copier Lambda (`functions/media-copiers/<channel>.ts`), made for one connector so its
 * bundle carries that channel's code only. Consumes the channel's media queue: received messages with media,
 * routed from the bus. Copies each one's media into Parley's storage and records the copy on the message
 * (`domain/media.ts`). A failed record is postponed by its backoff (or the provider's retry-after) and reported
 * as a batch item failure; once the queue's receive count is used up it goes to the dead-letter queue.
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod';
import type { MediaConnector } from '../domain/connector.ts';
import { MessageReceivedSchema, type MessageReceivedEvent } from '../domain/events.ts';
import { copyMedia, type MediaDeps } from '../domain/media.ts';
import { awsChannelWorkerDeps, awsMediaStore } from '../adapters/aws/deps.ts';
import { connectorOnly, detailOf, queueSetting, type Deps, type Environment } from './deps.ts';
import { lambda } from './kit/handler.ts';
import { awsObservability } from './kit/powertools.ts';
import { withKeys } from './kit/observability.ts';
import { ageOf, receiveCountOf, RecordNotDone, sqsBatch } from './kit/sqs.ts';

export const mediaCopierFunction = (connector: MediaConnector) => {
  const create = (
    deps: Pick<Deps, 'conversations' | 'media' | 'secrets' | 'clock' | 'observability' | 'fetch' | 'apiBaseUrls' | 'visibility'> &
      Partial<Pick<MediaDeps, 'network'>>,
    environment: Environment,
  ) => {
    // Must equal the queue's redrive policy, so the last attempt knows it is the last.
    const maxReceiveCount = queueSetting(environment, 'MAX_RECEIVE_COUNT');
    const { log, metrics } = deps.observability;
    // Records are independent downloads: done concurrently, each failing alone.
    const handle = async (record: SQSRecord) => {
      let received: MessageReceivedEvent;
      try {
        const parsed = MessageReceivedSchema.safeParse(detailOf(JSON.parse(record.body)));
        if (!parsed.success) throw new Error(z.prettifyError(parsed.error));
        received = parsed.data;
        if (received.channel !== connector.channel) throw new Error(`a ${received.channel} message on the ${connector.channel} queue`);
      } catch (error) {
        log.error('unreadable media job; it goes to the dead-letter queue', {
          messageId: record.messageId,
          error: error instanceof Error ? error.message : String(error),
        });
        throw error;
      }
      const jobLog = withKeys(log, { eventId: received.eventId, channel: received.channel, externalMessageId: received.externalMessageId });
      const outcome = await copyMedia(
        received,
        { receiveCount: receiveCountOf(record), maxReceiveCount },
        {
          store: deps.conversations,
          media: deps.media,
          secrets: deps.secrets,
          clock: deps.clock,
          log: jobLog,
          fetch: deps.fetch,
          apiBaseUrls: deps.apiBaseUrls,
          connectorFor: connectorOnly(connector),
          ...(deps.network && { network: deps.network }),
        },
      );
      switch (outcome.kind) {
        case 'skipped':
        case 'already':
        case 'copied':
          jobLog.info('media job handled', { outcome: outcome.kind });
          return;
        case 'failed':
          // Will never succeed (gone, refused, too large): the message keeps its provider reference.
          jobLog.warn('media not copied', { failure: outcome.failure });
          return;
        case 'retry':
          jobLog.info('media copy postponed', { delaySeconds: outcome.delaySeconds, failure: outcome.failure });
          await deps.visibility.setVisibilityTimeout(record.receiptHandle, outcome.delaySeconds);
          throw new RecordNotDone(`retry in ${outcome.delaySeconds} s`);
        case 'exhausted':
          jobLog.error('media copy retries used up; it goes to the dead-letter queue', { failure: outcome.failure });
          throw new RecordNotDone('retries used up');
      }
    };
    const batch = sqsBatch(handle);
    return lambda<SQSEvent, Awaited<ReturnType<typeof batch>>>(async (event, context) => {
      const now = Date.now();
      metrics.queueAge(`media-${connector.channel}`, Math.max(0, ...event.Records.map((r) => ageOf(r, now))));
      return batch(event, context);
    }, deps.observability);
  };

  let wired: ReturnType<typeof create> | undefined;
  const handler = (event: SQSEvent, context: Context) =>
    (wired ??= create({ ...awsChannelWorkerDeps(connector), media: awsMediaStore(), observability: awsObservability() }, process.env))(
      event,
      context,
    );
  return { create, handler };
};
