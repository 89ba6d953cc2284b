/**
 * A channel's sender Lambda (`functions/senders/<channel>.ts`), made for one connector so its bundle carries
 * that channel's code only. Consumes the channel's outbound queue: agents' messages and notifications, provider
 * actions, and the records of accepted sends. A failed record is postponed by its backoff (or the provider's
 * retry-after) and reported as a batch item failure; once the queue's receive count is used up the message is
 * marked failed and the job goes to the dead-letter queue, from which a redrive sends it again.
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod';
import type { OutboundConnector } from '../domain/connector.ts';
import { channelOfJob, deliver, OutboundJobSchema, type OutboundJob } from '../domain/delivery/outbound.ts';
import { awsChannelWorkerDeps, awsOutboundQueue } from '../adapters/aws/deps.ts';
import { connectorOnly, detailOf, queueSetting, type Deps, type Environment } from './deps.ts';
import { lambda } from './kit/handler.ts';
import { awsObservability } from './kit/powertools.ts';
import { withKeys } from './kit/observability.ts';
import { ageOf, receiveCountOf, RecordNotDone, sqsBatch } from './kit/sqs.ts';

const jobLabel = (job: OutboundJob): string => (job.kind === 'action' ? `${job.event.channel} ${job.event.action}` : `${job.kind} ${job.messageId}`);

export const senderFunction = (connector: OutboundConnector) => {
  const create = (
    deps: Pick<Deps, 'conversations' | 'secrets' | 'clock' | 'observability' | 'fetch' | 'apiBaseUrls' | 'visibility' | 'outbound'>,
    environment: Environment,
  ) => {
    // Must equal the queue's redrive policy, so the last attempt knows it is the last.
    const maxReceiveCount = queueSetting(environment, 'MAX_RECEIVE_COUNT');
    const visibilitySeconds = queueSetting(environment, 'VISIBILITY_TIMEOUT_SECONDS');
    const { log, metrics } = deps.observability;
    const handle = async (record: SQSRecord) => {
      let job: OutboundJob;
      try {
        const parsed = OutboundJobSchema.safeParse(detailOf(JSON.parse(record.body)));
        if (!parsed.success) throw new Error(z.prettifyError(parsed.error));
        job = parsed.data;
        // Kept for inspection rather than dropped: the job is fine, it is on the wrong queue.
        if (channelOfJob(job) !== connector.channel) throw new Error(`a ${channelOfJob(job)} job on the ${connector.channel} queue`);
      } catch (error) {
        log.error('unreadable outbound job; it goes to the dead-letter queue', { messageId: record.messageId, error: error instanceof Error ? error.message : String(error) });
        throw error;
      }
      const jobLog = withKeys(log, job.kind === 'action' ? { eventId: job.event.eventId } : { threadId: job.threadId, messageId: job.messageId });
      const outcome = await deliver(
        job,
        { receiveCount: receiveCountOf(record), maxReceiveCount, claimToken: record.receiptHandle, claimSeconds: visibilitySeconds },
        {
          store: deps.conversations,
          secrets: deps.secrets,
          clock: deps.clock,
          log: jobLog,
          fetch: deps.fetch,
          apiBaseUrls: deps.apiBaseUrls,
          connectorFor: connectorOnly(connector),
          requeue: (next) => deps.outbound.send(next),
          metrics,
        },
      );
      jobLog.info('outbound job handled', { job: jobLabel(job), outcome: outcome.kind });
      switch (outcome.kind) {
        case 'retry':
          await deps.visibility.setVisibilityTimeout(record.receiptHandle, outcome.delaySeconds);
          throw new RecordNotDone(`retry in ${outcome.delaySeconds} s`);
        case 'exhausted':
          throw new RecordNotDone('retries used up; to the dead-letter queue');
        case 'sent':
        case 'done':
        case 'failed':
          return;
      }
    };
    const batch = sqsBatch(handle);
    return lambda<SQSEvent, Awaited<ReturnType<typeof batch>>>(async (event, context) => {
      const now = Date.now();
      metrics.queueAge(`outbound-${connector.channel}`, Math.max(0, ...event.Records.map((r) => ageOf(r, now))));
      return batch(event, context);
    }, deps.observability);
  };

  let wired: ReturnType<typeof create> | undefined;
  const handler = (event: SQSEvent, context: Context) =>
    (wired ??= create({ ...awsChannelWorkerDeps(connector), outbound: awsOutboundQueue(), observability: awsObservability() }, process.env))(event, context);
  return { create, handler };
};
