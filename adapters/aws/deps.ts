/**
 * The AWS wiring of the ports, one factory per port, each built once per Lambda container from the
 * environment the stack sets. Handlers call only the factories they use, so a bundle carries only the
 * adapters (and SDK clients) its function needs: the webhook function has no DynamoDB code at all.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { ChannelAccount } from '../../domain/connector.ts';
import type { Channel } from '../../domain/content.ts';
import { channelOfJob, systemClock, type OutboundJob, type WorkQueue } from '../../domain/ports.ts';
import { outboundQueueOf, queueUrlVariable } from '../../topology/queue-names.ts';
import { createDocumentClient, DynamoThreadStore } from './dynamo-thread-store.ts';
import { EventBridgeBus } from './eventbridge-bus.ts';
import { lambdaLog } from './lambda-log.ts';
import { S3MediaStore } from './s3-media-store.ts';
import { SecretsManagerStore, type SecretsManagerStoreOptions } from './secrets-manager-store.ts';
import { SqsWorkQueue } from './sqs-queue.ts';

const required = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
};

let store: DynamoThreadStore | undefined;
export const awsStore = (): DynamoThreadStore =>
  (store ??= new DynamoThreadStore({ client: createDocumentClient(new DynamoDBClient({})), tableName: required('TABLE_NAME') }));

let bus: EventBridgeBus | undefined;
export const awsBus = (): EventBridgeBus =>
  (bus ??= new EventBridgeBus({ client: new EventBridgeClient({}), busName: required('BUS_NAME') }));

let sqs: SQSClient | undefined;
const sqsClient = (): SQSClient => (sqs ??= new SQSClient({}));
const queuesByUrl = new Map<string, SqsWorkQueue<unknown>>();
const sqsQueue = <T>(url: string): SqsWorkQueue<T> => {
  let queue = queuesByUrl.get(url);
  if (!queue) queuesByUrl.set(url, (queue = new SqsWorkQueue<unknown>(sqsClient(), url)));
  return queue as SqsWorkQueue<T>;
};

/** Sends each job to its channel's outbound queue, whose URL the stack sets as `OUTBOUND_<CHANNEL>_QUEUE_URL`. */
export const awsOutboundQueue = (): WorkQueue<OutboundJob> => ({
  send: async (job, options) => sqsQueue<OutboundJob>(required(queueUrlVariable(outboundQueueOf(channelOfJob(job))))).send(job, options),
});

/** The queue the function consumes (`QUEUE_URL`), whose messages it postpones. */
export const awsConsumedQueue = (): SqsWorkQueue<unknown> => sqsQueue(required('QUEUE_URL'));

let media: S3MediaStore | undefined;
export const awsMediaStore = (): S3MediaStore => (media ??= new S3MediaStore({ client: new S3Client({}), bucket: required('MEDIA_BUCKET') }));

let secrets: SecretsManagerStore | undefined;
/** `accountIdOf` comes from the caller, so a webhook function need not bundle every connector. */
export const awsSecrets = (accountIdOf: SecretsManagerStoreOptions['accountIdOf']): SecretsManagerStore =>
  (secrets ??= new SecretsManagerStore({
    client: new SecretsManagerClient({}),
    prefix: process.env.SECRET_PREFIX ?? 'parley/',
    accountIdOf,
  }));

export const awsLog = lambdaLog;

/**
 * What a channel's sender or media copier takes from AWS: the store, the channel's secrets (named by its
 * account profile), the queue it consumes, and the override of the provider's API origin from
 * `<CHANNEL>_API_BASE_URL` (see the contract).
 */
export const awsChannelWorkerDeps = (account: ChannelAccount) => {
  const apiBaseUrl = process.env[account.environment.apiBaseUrl];
  return {
    store: awsStore(),
    secrets: awsSecrets((_channel, credentials) => account.accountIdOf(credentials)),
    clock: systemClock,
    log: awsLog(),
    fetch: globalThis.fetch,
    apiBaseUrls: (apiBaseUrl ? { [account.channel]: apiBaseUrl } : {}) as Partial<Record<Channel, string>>,
    visibility: awsConsumedQueue(),
  };
};
