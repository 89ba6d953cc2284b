/**
 * A channel's sender Lambda (`functions/senders/<channel>.ts`), made for one connector so its bundle carries
 * that channel's code only. Consumes the channel's outbound queue: agents' messages and provider actions. A
 * failed record is postponed by its backoff (or the provider's retry-after) and reported as a batch item
 * failure; once the queue's receive count is used up the message is marked failed and left to go to the
 * dead-letter queue.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import * as z from 'zod';
import type { OutboundConnector } from '../domain/connector.ts';
import { ChannelSchema } from '../domain/content.ts';
import { ProviderActionSchema } from '../domain/events.ts';
import { deliver } from '../domain/outbound.ts';
import { awsChannelWorkerDeps } from '../adapters/aws/deps.ts';
import { channelOfJob, type OutboundJob } from '../domain/ports.ts';
import { connectorOnly, detailOf, queueSetting, type Deps, type Environment } from './deps.ts';

/** A deliver job from the API, or a provider action routed from the bus (the rule passes only `detail`). */
const JobSchema = z.union([
  z.object({ kind: z.literal('deliver'), channel: ChannelSchema, threadId: z.string().min(1), messageId: z.string().min(1) }),
  ProviderActionSchema.transform((event) => ({ kind: 'action' as const, event })),
]);

const jobLabel = (job: OutboundJob): string =>
  job.kind === 'deliver' ? `deliver ${job.messageId}` : `${job.event.channel} ${job.event.action}`;

export const senderFunction = (connector: OutboundConnector) => {
const create = (
  deps: Pick<Deps, 'store' | 'secrets' | 'clock' | 'log' | 'fetch' | 'apiBaseUrls' | 'visibility'>,
  environment: Environment,
) => {
  // Must equal the queue's redrive policy, so the last attempt knows it is the last.
  const maxReceiveCount = queueSetting(environment, 'MAX_RECEIVE_COUNT');
  const visibilitySeconds = queueSetting(environment, 'VISIBILITY_TIMEOUT_SECONDS');
  const domainDeps = { ...deps, connectorFor: connectorOnly(connector) };
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    const fail = (messageId: string) => batchItemFailures.push({ itemIdentifier: messageId });
    for (const record of event.Records) {
      let job: OutboundJob;
      try {
        const parsed = JobSchema.safeParse(detailOf(JSON.parse(record.body)));
        if (!parsed.success) throw new Error(z.prettifyError(parsed.error));
        job = parsed.data;
        // Kept for inspection rather than failed: the message itself is fine, its job is on the wrong queue.
        if (channelOfJob(job) !== connector.channel) throw new Error(`a ${channelOfJob(job)} job on the ${connector.channel} queue`);
      } catch (error) {
        deps.log.error('unreadable outbound job; sent to the dead-letter queue', {
          messageId: record.messageId,
          error: error instanceof Error ? error.message : String(error),
        });
        fail(record.messageId);
        continue;
      }
      const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
      try {
        const outcome = await deliver(
          job,
          { receiveCount, maxReceiveCount, claimToken: record.receiptHandle, claimSeconds: visibilitySeconds },
          domainDeps,
        );
        deps.log.info('outbound job handled', { messageId: record.messageId, job: jobLabel(job), outcome: outcome.kind });
        switch (outcome.kind) {
          case 'retry':
            await deps.visibility.setVisibilityTimeout(record.receiptHandle, outcome.delaySeconds);
            fail(record.messageId);
            break;
          case 'exhausted':
            fail(record.messageId);
            break;
          case 'sent':
          case 'done':
          case 'failed':
            break;
        }
      } catch (error) {
        // Our own storage failed: retry after the queue's visibility timeout.
        deps.log.error('outbound job errored; will be retried', {
          messageId: record.messageId,
          job: jobLabel(job),
          error: error instanceof Error ? error.message : String(error),
        });
        fail(record.messageId);
      }
    }
    return { batchItemFailures };
  };
};

let wired: ReturnType<typeof create> | undefined;
const handler = (event: SQSEvent) =>
  (wired ??= create(
    {
      ...awsChannelWorkerDeps(connector),
    },
    process.env,
  ))(event);
return { create, handler };
};
