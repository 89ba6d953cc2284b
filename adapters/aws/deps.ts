/**
 * The AWS wiring of the ports, built once per Lambda container from the environment the stack sets.
 * Clients are created lazily so a function only pays for the ones it uses.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { connectors, getConnector } from '../../connectors/registry.ts';
import type { Channel } from '../../domain/content.ts';
import { systemClock, type Log, type OutboundJob } from '../../domain/ports.ts';
import type { Deps } from '../../functions/deps.ts';
import { createDocumentClient, DynamoThreadStore } from './dynamo-thread-store.ts';
import { EventBridgeBus } from './eventbridge-bus.ts';
import { SecretsManagerStore } from './secrets-manager-store.ts';
import { SqsWorkQueue } from './sqs-queue.ts';

const required = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
};

const lazy = <T>(make: () => T): (() => T) => {
  let value: T | undefined;
  return () => (value ??= make());
};

/** Provider API origins from each connector's `<CHANNEL>_API_BASE_URL`, as in the local runtime's contract. */
export const apiBaseUrlsFromEnv = (env: NodeJS.ProcessEnv): Partial<Record<Channel, string>> =>
  Object.fromEntries(
    Object.values(connectors).flatMap((c) => {
      const url = env[c.environment.apiBaseUrl];
      return url ? [[c.channel, url]] : [];
    }),
  );

const outboundQueue = lazy(() => new SqsWorkQueue<OutboundJob>(new SQSClient({}), required('OUTBOUND_QUEUE_URL')));

/** The Powertools logger behind the Log port: one JSON line per entry, extra keys merged in. */
export const powertoolsLog = (logger: Logger): Log => ({
  debug: (message, extra) => logger.debug(message, extra ?? {}),
  info: (message, extra) => logger.info(message, extra ?? {}),
  warn: (message, extra) => logger.warn(message, extra ?? {}),
  error: (message, extra) => logger.error(message, extra ?? {}),
});

export const awsDeps = lazy((): Deps => {
  const logger = powertoolsLog(new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'parley' }));
  const store = lazy(
    () =>
      new DynamoThreadStore({
        client: createDocumentClient(new DynamoDBClient({})),
        tableName: required('TABLE_NAME'),
      }),
  );
  const bus = lazy(() => new EventBridgeBus({ client: new EventBridgeClient({}), busName: required('BUS_NAME') }));
  const secrets = lazy(
    () =>
      new SecretsManagerStore({
        client: new SecretsManagerClient({}),
        prefix: process.env.SECRET_PREFIX ?? 'parley/',
        accountIdOf: (channel, credentials) => getConnector(channel)?.accountIdOf(credentials),
      }),
  );
  // Each port is resolved on first use, so a webhook function never builds a DynamoDB client.
  return {
    get store() {
      return store();
    },
    get bus() {
      return bus();
    },
    get outbound() {
      return outboundQueue();
    },
    get outboundVisibility() {
      return outboundQueue();
    },
    get secrets() {
      return secrets();
    },
    clock: systemClock,
    log: logger,
    fetch: globalThis.fetch,
    apiBaseUrls: apiBaseUrlsFromEnv(process.env),
  };
});
