/**
 * Consumes the outbound queue: agents' messages and provider actions. A failed record is postponed by its
 * backoff (or the provider's retry-after) and reported as a batch item failure; once the queue's receive
 * count is used up the message is marked failed and left to go to the dead-letter queue.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import * as z from 'zod';
import { getConnector } from '../connectors/registry.ts';
import { ProviderActionSchema } from '../domain/events.ts';
import { deliver } from '../domain/outbound.ts';
import type { OutboundJob } from '../domain/ports.ts';
import { apiBaseUrlsFromEnv, awsLog, awsOutboundQueue, awsSecrets, awsStore } from '../adapters/aws/deps.ts';
import { registryAccountIdOf } from '../adapters/aws/deps.ts';
import { systemClock } from '../domain/ports.ts';
import { QUEUES } from '../topology/topology.ts';
import { detailOf, type Deps, type Environment } from './deps.ts';

/** A deliver job from the API, or a provider action routed from the bus (the rule passes only `detail`). */
const JobSchema = z.union([
  z.object({ kind: z.literal('deliver'), threadId: z.string().min(1), messageId: z.string().min(1) }),
  ProviderActionSchema.transform((event) => ({ kind: 'action' as const, event })),
]);

export const create = (
  deps: Pick<Deps, 'store' | 'secrets' | 'clock' | 'log' | 'fetch' | 'apiBaseUrls' | 'outboundVisibility'>,
  environment: Environment,
) => {
  // Must equal the queue's redrive policy, so the last attempt knows it is the last.
  const maxReceiveCount = Number(environment.MAX_RECEIVE_COUNT) || QUEUES.outbound.maxReceiveCount;
  const visibilitySeconds = Number(environment.VISIBILITY_TIMEOUT_SECONDS) || QUEUES.outbound.visibilityTimeoutSeconds;
  const domainDeps = { ...deps, connectorFor: getConnector };
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    const fail = (messageId: string) => batchItemFailures.push({ itemIdentifier: messageId });
    for (const record of event.Records) {
      let job: OutboundJob;
      try {
        const parsed = JobSchema.safeParse(detailOf(JSON.parse(record.body)));
        if (!parsed.success) throw new Error(z.prettifyError(parsed.error));
        job = parsed.data;
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
            await deps.outboundVisibility.setVisibilityTimeout(record.receiptHandle, outcome.delaySeconds);
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

const jobLabel = (job: OutboundJob): string =>
  job.kind === 'deliver' ? `deliver ${job.messageId}` : `${job.event.channel} ${job.event.action}`;

let wired: ReturnType<typeof create> | undefined;
export const handler = (event: SQSEvent) => 
  (wired ??= create(
    {
      store: awsStore(),
      secrets: awsSecrets(registryAccountIdOf),
      clock: systemClock,
      log: awsLog(),
      fetch: globalThis.fetch,
      apiBaseUrls: apiBaseUrlsFromEnv(process.env),
      outboundVisibility: awsOutboundQueue(),
    },
    process.env,
  ))(event);
