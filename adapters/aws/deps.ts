/**
 * The AWS composition root: every port wired to its AWS adapter, each built once per Lambda container from the
 * environment the stack sets. Handlers call only the factories they use, so a bundle carries only the adapters
 * (and SDK clients) its function needs: the webhook functions have no DynamoDB code at all. Every SDK client is
 * traced (Powertools Tracer), so a sampled invocation shows its AWS calls.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { ChannelAccount } from '../../domain/connector.ts';
import type { Channel } from '../../domain/content.ts';
import type { OutboundJob } from '../../domain/delivery/outbound.ts';
import type { CampaignJob, CampaignScheduler } from '../../domain/delivery/campaigns.ts';
import type { ParleyEvent } from '../../domain/events.ts';
import type { DomainEvent } from '../../domain/events/domain-events.ts';
import { systemClock, type WorkQueue } from '../../domain/ports.ts';
import { queueOfJob, queueUrlVariable } from '../../topology/queue-names.ts';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { EventBridgeCampaignScheduler } from './campaign-scheduler.ts';
import { DynamoDeliveryStore } from './store/delivery.ts';
import { connectorEntry, domainEntry, EventBridgeBus } from './eventbridge-bus.ts';
import { awsTracer } from './tracer.ts';
import { S3MediaStore } from './s3-media-store.ts';
import { SecretsManagerStore, type SecretsManagerStoreOptions } from './secrets-manager-store.ts';
import { SqsWorkQueue } from './sqs-queue.ts';
import { DynamoAccountStore, DynamoApiKeyStore, DynamoIdempotencyStore } from './store/access.ts';
import { DynamoConversationStore } from './store/conversations.ts';
import { DynamoWebhookStore } from './store/webhooks.ts';
import { DynamoRateLimiter } from './store/rate-limits.ts';
import { DynamoRoutingStore } from './store/routing.ts';
import { createDocumentClient, DynamoTable } from './store/table.ts';

const required = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
};

/** Message retention from `MESSAGE_RETENTION_DAYS`, when the stack sets it. */
export const retentionDays = (): number | undefined => {
  const days = Number(process.env.MESSAGE_RETENTION_DAYS);
  return Number.isInteger(days) && days > 0 ? days : undefined;
};

let table: DynamoTable | undefined;
export const awsTable = (): DynamoTable =>
  (table ??= new DynamoTable({
    client: createDocumentClient(awsTracer().captureAWSv3Client(new DynamoDBClient({}))),
    tableName: required('TABLE_NAME'),
  }));

let conversations: DynamoConversationStore | undefined;
export const awsConversations = (): DynamoConversationStore =>
  (conversations ??= new DynamoConversationStore({ table: awsTable(), clock: systemClock }));

let keys: DynamoApiKeyStore | undefined;
export const awsApiKeys = (): DynamoApiKeyStore => (keys ??= new DynamoApiKeyStore(awsTable()));

let accounts: DynamoAccountStore | undefined;
export const awsAccounts = (): DynamoAccountStore => (accounts ??= new DynamoAccountStore(awsTable()));

let idempotency: DynamoIdempotencyStore | undefined;
export const awsIdempotency = (): DynamoIdempotencyStore => (idempotency ??= new DynamoIdempotencyStore(awsTable()));

/** Requests per second each API key may make (`API_RATE_LIMIT`, default {@link DEFAULT_API_RATE_LIMIT}). */
export const DEFAULT_API_RATE_LIMIT = 50;
let rateLimiter: DynamoRateLimiter | undefined;
export const awsRateLimiter = (): DynamoRateLimiter =>
  (rateLimiter ??= new DynamoRateLimiter(awsTable(), systemClock, Number(process.env.API_RATE_LIMIT ?? DEFAULT_API_RATE_LIMIT)));

let webhooks: DynamoWebhookStore | undefined;
export const awsWebhooks = (): DynamoWebhookStore => (webhooks ??= new DynamoWebhookStore(awsTable()));

let routing: DynamoRoutingStore | undefined;
export const awsRouting = (): DynamoRoutingStore => (routing ??= new DynamoRoutingStore(awsTable()));

let eventBridge: EventBridgeClient | undefined;
const eventBridgeClient = (): EventBridgeClient => (eventBridge ??= awsTracer().captureAWSv3Client(new EventBridgeClient({})));

let bus: EventBridgeBus<ParleyEvent> | undefined;
/** Connector events, as the webhooks publish them. */
export const awsBus = (): EventBridgeBus<ParleyEvent> =>
  (bus ??= new EventBridgeBus({ client: eventBridgeClient(), busName: required('BUS_NAME'), entryOf: connectorEntry }));

let domainBus: EventBridgeBus<DomainEvent> | undefined;
/** Domain events, as the outbox relay publishes them. */
export const awsDomainBus = (): EventBridgeBus<DomainEvent> =>
  (domainBus ??= new EventBridgeBus({ client: eventBridgeClient(), busName: required('BUS_NAME'), entryOf: domainEntry }));

let sqs: SQSClient | undefined;
const sqsClient = (): SQSClient => (sqs ??= awsTracer().captureAWSv3Client(new SQSClient({})));
const queuesByUrl = new Map<string, SqsWorkQueue<unknown>>();
const sqsQueue = <T>(url: string): SqsWorkQueue<T> => {
  let queue = queuesByUrl.get(url);
  if (!queue) queuesByUrl.set(url, (queue = new SqsWorkQueue<unknown>(sqsClient(), url)));
  return queue as SqsWorkQueue<T>;
};

/**
 * Sends each job to its channel's queue on its lane (`outbound-<channel>` or `proactive-<channel>`), whose URL the
 * stack sets as `OUTBOUND_<CHANNEL>_QUEUE_URL` or `PROACTIVE_<CHANNEL>_QUEUE_URL`.
 */
export const awsOutboundQueue = (): WorkQueue<OutboundJob> => ({
  send: async (job, options) => sqsQueue<OutboundJob>(required(queueUrlVariable(queueOfJob(job)))).send(job, options),
});

let delivery: DynamoDeliveryStore | undefined;
export const awsDelivery = (): DynamoDeliveryStore => (delivery ??= new DynamoDeliveryStore(awsTable()));

let scheduler: CampaignScheduler | undefined;
/**
 * Campaign starts: EventBridge Scheduler when the stack named its group, role and the campaigns queue's ARN
 * (`SCHEDULE_GROUP`, `SCHEDULE_ROLE_ARN`, `CAMPAIGNS_QUEUE_ARN`: lib/one-time-schedules.ts); else the queue's own delay.
 */
export const awsCampaignScheduler = (): CampaignScheduler => {
  if (scheduler) return scheduler;
  const queue = awsQueue<CampaignJob>(queueUrlVariable('campaigns'));
  const groupName = process.env.SCHEDULE_GROUP;
  const roleArn = process.env.SCHEDULE_ROLE_ARN;
  const queueArn = process.env.CAMPAIGNS_QUEUE_ARN;
  scheduler =
    groupName && roleArn && queueArn
      ? new EventBridgeCampaignScheduler({
          client: awsTracer().captureAWSv3Client(new SchedulerClient({})),
          groupName,
          roleArn,
          queueArn,
          queue,
        })
      : {
          schedule: (job, at) =>
            queue.send(job, { delaySeconds: Math.min(900, Math.max(0, Math.ceil((at.getTime() - Date.now()) / 1000))) }),
        };
  return scheduler;
};

/** A queue the function sends to, by the environment variable the stack sets for it. */
export const awsQueue = <T>(urlVariable: string): WorkQueue<T> => sqsQueue<T>(required(urlVariable));

/** The queue the function consumes (`QUEUE_URL`), whose messages it postpones. */
export const awsConsumedQueue = (): SqsWorkQueue<unknown> => sqsQueue(required('QUEUE_URL'));

let media: S3MediaStore | undefined;
export const awsMediaStore = (): S3MediaStore =>
  (media ??= new S3MediaStore({ client: awsTracer().captureAWSv3Client(new S3Client({})), bucket: required('MEDIA_BUCKET') }));

let secrets: SecretsManagerStore | undefined;
/** `accountIdOf` comes from the caller, so a webhook function need not bundle every connector. */
export const awsSecrets = (accountIdOf: SecretsManagerStoreOptions['accountIdOf']): SecretsManagerStore =>
  (secrets ??= new SecretsManagerStore({
    client: awsTracer().captureAWSv3Client(new SecretsManagerClient({})),
    prefix: process.env.SECRET_PREFIX ?? 'parley/',
    accountIdOf,
  }));

/**
 * What a channel's sender or media copier takes from AWS: the store, the channel's secrets (named by its
 * account profile), the queue it consumes, and the override of the provider's API origin from
 * `<CHANNEL>_API_BASE_URL` (see the contract).
 */
export const awsChannelWorkerDeps = (account: ChannelAccount) => {
  const apiBaseUrl = process.env[account.environment.apiBaseUrl];
  return {
    conversations: awsConversations(),
    secrets: awsSecrets((_channel, credentials) => account.accountIdOf(credentials)),
    clock: systemClock,
    fetch: globalThis.fetch,
    apiBaseUrls: (apiBaseUrl ? { [account.channel]: apiBaseUrl } : {}) as Partial<Record<Channel, string>>,
    visibility: awsConsumedQueue(),
  };
};
