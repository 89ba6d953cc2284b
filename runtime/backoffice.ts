/**
 * The local runtime's back office, in a worker thread: the DynamoDB engine (dynalite, persisted) and the
 * queue consumers (thread writer, each channel's sender and media copier). In AWS each function has its own CPU; here this thread
 * takes the second core, so storing and sending never slow down the webhooks the providers wait on.
 * Ports that live on the main thread (the bus, the queues) are reached by message.
 */
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createDocumentClient, DynamoThreadStore } from '../adapters/aws/dynamo-thread-store.ts';
import { FileMediaStore } from '../adapters/local/file-media-store.ts';
import { LocalSecretStore } from '../adapters/local/local-secrets.ts';
import type { ParleyEvent } from '../domain/events.ts';
import { systemClock, type OutboundJob } from '../domain/ports.ts';
import type { Deps, FunctionModule } from '../functions/deps.ts';
import { LOCAL_TABLE_NAME } from '../topology/table.ts';
import { connect, type BackofficeInit, type MainCall, type WorkerCall } from './backoffice-protocol.ts';
import { createLocalLog } from './local-log.ts';

if (!parentPort) throw new Error('runtime/backoffice.ts runs in a worker thread');
const port = parentPort;

const server = dynalite({ path: (workerData as { dynamoPath: string }).dynamoPath, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
const handlers = new Map<string, (event: never) => Promise<unknown>>();
let client: DynamoDBClient | undefined;

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
    case 'close':
      client?.destroy();
      server.closeAllConnections();
      // Closing the server closes dynalite's LevelDB, flushing it to disk.
      await new Promise<void>((resolve) => server.close(() => resolve()));
      return undefined;
  }
});

const init = async (config: BackofficeInit): Promise<void> => {
  const endpoint = config.dynamoEndpoint ?? `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = new DynamoDBClient({ endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const log = createLocalLog({ level: config.logLevel, write: (line) => main.log(line) });
  const deps: Omit<Deps, 'visibility'> = {
    store: new DynamoThreadStore({ client: createDocumentClient(client), tableName: LOCAL_TABLE_NAME }),
    bus: { publish: (events: readonly ParleyEvent[]) => main.call<void>({ op: 'bus.publish', args: [[...events]] }) },
    outbound: {
      send: (message: OutboundJob, options?: { delaySeconds?: number }) =>
        main.call<void>({ op: 'outbound.send', args: [message, ...(options ? [options] : [])] as [unknown, { delaySeconds?: number }?] }),
    },
    secrets: new LocalSecretStore(config.accounts, config.credentialsPath),
    media: new FileMediaStore(config.mediaPath),
    clock: systemClock,
    log,
    fetch: globalThis.fetch,
    apiBaseUrls: config.apiBaseUrls,
  };
  for (const fn of config.functions) {
    const module = (await import(new URL(`../${fn.entry}`, import.meta.url).href)) as FunctionModule;
    const visibility = {
      setVisibilityTimeout: (receiptHandle: string, seconds: number) =>
        main.call<void>({ op: 'queue.setVisibilityTimeout', args: [fn.queue, receiptHandle, seconds] }),
    };
    handlers.set(fn.name, module.create({ ...deps, visibility, log: log.child(fn.name) }, fn.environment));
  }
};

server.listen(0, '127.0.0.1', () => main.ready((server.address() as AddressInfo).port));
