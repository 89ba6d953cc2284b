/**
 * Delivers webhook deliveries to integrators' receivers (domain/integrations/dispatch.ts): one job per event
 * and subscription, each attempted on its own, so a slow or failing receiver never holds up another. A failed
 * attempt is postponed by the retry schedule (a day in all); after the last, the delivery is `failed` and the
 * job goes to the dead-letter queue, from which `POST /v1/webhooks/{id}/deliveries/{deliveryId}/redeliver`
 * sends it again.
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { dispatch, type WebhookTransport } from '../domain/integrations/dispatch.ts';
import { AWS_URL_POLICY, DeliveryJobSchema, MAX_ATTEMPTS } from '../domain/integrations/webhooks.ts';
import { systemClock } from '../domain/ports.ts';
import { awsConsumedQueue, awsWebhooks } from '../adapters/aws/deps.ts';
import { createWebhookTransport } from '../adapters/net/webhook-transport.ts';
import { detailOf, queueSetting, type Deps, type Environment } from './deps.ts';
import { lambda } from './kit/handler.ts';
import { withKeys } from './kit/observability.ts';
import { awsObservability } from './kit/powertools.ts';
import { receiveCountOf, RecordNotDone, sqsBatch } from './kit/sqs.ts';

export const create = (
  deps: Pick<Deps, 'webhooks' | 'clock' | 'observability' | 'visibility' | 'webhookUrlPolicy'> & { readonly transport?: WebhookTransport },
  environment: Environment = {},
) => {
  // The queue's receive count (the topology sets it to MAX_ATTEMPTS): its last receive gets no retry.
  const maxReceiveCount = environment.MAX_RECEIVE_COUNT === undefined ? MAX_ATTEMPTS : queueSetting(environment, 'MAX_RECEIVE_COUNT');
  const transport = deps.transport ?? createWebhookTransport();
  const policy = deps.webhookUrlPolicy ?? AWS_URL_POLICY;
  const { log } = deps.observability;
  const handle = async (record: SQSRecord) => {
    const parsed = DeliveryJobSchema.safeParse(detailOf(JSON.parse(record.body)));
    if (!parsed.success) {
      log.error('unreadable webhook delivery job; it goes to the dead-letter queue', { messageId: record.messageId });
      throw new Error('not a delivery job');
    }
    const job = parsed.data;
    const jobLog = withKeys(log, { deliveryId: job.deliveryId, subscriptionId: job.subscriptionId });
    const outcome = await dispatch(
      job,
      { webhooks: deps.webhooks, transport, policy, clock: deps.clock, log: jobLog },
      { receiveCount: receiveCountOf(record), maxReceiveCount },
    );
    jobLog.info('webhook delivery handled', { ...outcome });
    switch (outcome.kind) {
      case 'retry':
        await deps.visibility.setVisibilityTimeout(record.receiptHandle, outcome.delaySeconds);
        throw new RecordNotDone(`retry in ${outcome.delaySeconds} s`);
      case 'failed':
        throw new RecordNotDone('no attempt left; to the dead-letter queue');
      case 'delivered':
      case 'done':
        return;
    }
  };
  // Deliveries are independent: a batch is attempted concurrently.
  const batch = sqsBatch(handle);
  return lambda<SQSEvent, Awaited<ReturnType<typeof batch>>>((event, context) => batch(event, context), deps.observability);
};

let wired: ReturnType<typeof create> | undefined;
export const handler = (event: SQSEvent, context: Context) =>
  (wired ??= create(
    { webhooks: awsWebhooks(), clock: systemClock, observability: awsObservability(), visibility: awsConsumedQueue() },
    process.env,
  ))(event, context);
