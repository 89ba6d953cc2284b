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
import { connectors, getConnector } from '../../connectors/registry.ts';
import type { Channel } from '../../domain/content.ts';
import type { OutboundJob } from '../../domain/ports.ts';
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

let outbound: SqsWorkQueue<OutboundJob> | undefined;
/** The outbound queue: where the API sends jobs, and whose messages the sender postpones. */
export const awsOutboundQueue = (): SqsWorkQueue<OutboundJob> =>
  (outbound ??= new SqsWorkQueue<OutboundJob>(new SQSClient({}), required('OUTBOUND_QUEUE_URL')));

let mediaQueue: SqsWorkQueue<unknown> | undefined;
/** The media queue, whose messages the media copier postpones. */
export const awsMediaQueue = (): SqsWorkQueue<unknown> => (mediaQueue ??= new SqsWorkQueue<unknown>(new SQSClient({}), required('MEDIA_QUEUE_URL')));

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

/** For functions that serve every channel (they bundle every connector anyway). */
export const registryAccountIdOf: SecretsManagerStoreOptions['accountIdOf'] = (channel, credentials) =>
  getConnector(channel)?.accountIdOf(credentials);

export const awsLog = lambdaLog;

/** Provider API origins from each connector's `<CHANNEL>_API_BASE_URL`, as in the local runtime's contract. */
export const apiBaseUrlsFromEnv = (env: NodeJS.ProcessEnv): Partial<Record<Channel, string>> =>
  Object.fromEntries(
    Object.values(connectors).flatMap((c) => {
      const url = env[c.environment.apiBaseUrl];
      return url ? [[c.channel, url]] : [];
    }),
  );
