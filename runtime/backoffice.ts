/**
 * The local runtime's back office, in a worker thread: the DynamoDB engine (dynalite extended with
 * transactions, streams and TTL: adapters/local/dynamodb/) and the consumers that in AWS are triggered by
 * queues, by the table's stream (the outbox relay) and by schedules. In AWS each function has its own CPU; here
 * this thread takes the second core, so storing and sending never slow down the webhooks providers wait on.
 * Ports that live on the main thread (the bus, the queues) are reached by message; the engine is called
 * in-process from here and over HTTP from the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createLocalDynamo, localDynamoClient, type LocalDynamo } from '../adapters/local/dynamodb/index.ts';
import { compilePattern } from '../topology/event-pattern.ts';
import { FileMediaStore } from '../adapters/local/file-media-store.ts';
import { LocalSecretStore } from '../adapters/local/local-secrets.ts';
import type { OutboundJob } from '../domain/delivery/outbound.ts';
import type { FunctionModule } from '../functions/deps.ts';
import { localContext } from '../functions/kit/handler.ts';
import { memoryMetrics } from '../functions/kit/observability.ts';
import { LOCAL_TABLE_NAME } from '../topology/table.ts';
import { connect, type BackofficeInit, type MainCall, type WorkerCall } from './backoffice-protocol.ts';
import { localDeps } from './composition.ts';
import { createLocalLog } from './local-log.ts';

if (!parentPort) throw new Error('runtime/backoffice.ts runs in a worker thread');
const port = parentPort;
const { dynamoPath } = workerData as { dynamoPath: string };

const handlers = new Map<string, (event: never) => Promise<unknown>>();
const stops: (() => Promise<void>)[] = [];
const idlers: (() => Promise<boolean>)[] = [];
let engine: LocalDynamo | undefined;
let client: DynamoDBClient | undefined;
let closeServer: (() => Promise<void>) | undefined;

const main = connect<MainCall, WorkerCall>(port, async (call) => {
  switch (call.op) {
    case 'init':
      await init(call.args[0]);
      return undefined;
    case 'invoke': {
      const handler = handlers.get(call.args[0]);
      if (!handler) throw new Error(`no consumer ${call.args[0]} in the back office`);
      return handler(call.args[1] as never);
    }
    case 'streams.idle': {
      const waited = await Promise.all(idlers.map((idle) => idle()));
      return waited.some(Boolean);
    }
    case 'close':
      for (const stop of stops.splice(0)) await stop();
      client?.destroy();
      await closeServer?.();
      // Closing the engine closes LevelDB, flushing it to disk.
      await engine?.close();
      return undefined;
  }
});

const init = async (config: BackofficeInit): Promise<void> => {
  if (!engine) throw new Error('the engine is not running');
  client = localDynamoClient({ requestHandler: engine.requestHandler });
  const log = createLocalLog({ level: config.logLevel, write: (line) => main.log(line) });
  const deps = localDeps({
    dynamo: client,
    bus: { publish: (events) => main.call<void>({ op: 'bus.publish', args: [[...events]] }) },
    domainBus: { publish: (events) => main.call<void>({ op: 'domainBus.publish', args: [[...events]] }) },
    outbound: {
      send: (message: OutboundJob, options?: { delaySeconds?: number }) =>
        main.call<void>({ op: 'outbound.send', args: [message, ...(options ? [options] : [])] as [unknown, { delaySeconds?: number }?] }),
    },
    queue: (name) => ({
      send: (message, options) =>
        main.call<void>({
          op: 'queue.send',
          args: [name, message, ...(options ? [options] : [])] as [typeof name, unknown, { delaySeconds?: number }?],
        }),
    }),
    visibility: {
      setVisibilityTimeout: async () => {
        throw new Error('only a queue consumer can postpone its messages');
      },
    },
    secrets: new LocalSecretStore(config.accounts, config.credentialsPath),
    media: new FileMediaStore(config.mediaPath),
    observability: { log, metrics: memoryMetrics(), middlewares: [] },
    apiBaseUrls: config.apiBaseUrls,
    retentionDays: config.retentionDays,
  });
  for (const fn of config.functions) {
    const module = (await import(new URL(`../${fn.entry}`, import.meta.url).href)) as FunctionModule;
    const fnLog = log.child(fn.name);
    const trigger = fn.trigger;
    const visibility =
      trigger.kind === 'queue'
        ? {
            setVisibilityTimeout: (receiptHandle: string, seconds: number) =>
              main.call<void>({ op: 'queue.setVisibilityTimeout', args: [trigger.queue, receiptHandle, seconds] }),
          }
        : deps.visibility;
    const handler = module.create({ ...deps, visibility, observability: { ...deps.observability, log: fnLog } }, fn.environment);
    const invoke = (event: unknown) => handler(event as never, localContext(fn.name, fn.timeoutSeconds));
    switch (trigger.kind) {
      case 'queue':
        handlers.set(fn.name, invoke);
        break;
      case 'stream': {
        // The table's change stream, as Lambda's event source mapping delivers it: in order, filtered.
        const matchers = trigger.stream.filters.map((pattern) => compilePattern(pattern));
        const subscription = engine.subscribe(LOCAL_TABLE_NAME, {
          name: fn.name,
          batchSize: trigger.stream.batchSize,
          filter: (record) => matchers.some((matches) => matches(record)),
          handler: async (event) => (await invoke(event)) as { batchItemFailures: { itemIdentifier: string }[] },
        });
        stops.push(() => subscription.stop());
        idlers.push(() => subscription.idle());
        break;
      }
      case 'schedule': {
        const every = Math.max(50, trigger.everyMinutes * 60_000 * config.timeScale);
        let running: Promise<unknown> = Promise.resolve();
        const timer = setInterval(() => {
          running = running
            .then(() => invoke({ source: 'aws.scheduler', time: new Date().toISOString() }))
            .catch((error: unknown) => {
              fnLog.error('scheduled run failed', { error: error instanceof Error ? error.message : String(error) });
            });
        }, every);
        stops.push(async () => {
          clearInterval(timer);
          await running;
        });
        break;
      }
    }
  }
};

try {
  engine = await createLocalDynamo({ path: dynamoPath });
  const server = await engine.listen(0, '127.0.0.1');
  closeServer = server.close;
  main.ready(Number(new URL(server.url).port));
} catch (error) {
  // A second runtime on the same data dir finds LevelDB locked: say so rather than crash half-started.
  main.failed(error instanceof Error ? error.message : String(error));
}
