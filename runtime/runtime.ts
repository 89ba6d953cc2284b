/**
 * The local runtime: the same handlers as in AWS, wired from the same topology to local parts — an HTTP
 * gateway for the routes, an in-process bus applying the same rules, in-process queues with SQS semantics,
 * and dynalite (a real DynamoDB protocol, persisted on disk) behind the same DynamoDB store adapter.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ensureTable } from '../adapters/aws/dynamo-table.ts';
import { connectorEntry, domainEntry } from '../adapters/aws/eventbridge-bus.ts';
import { localDynamoClient } from '../adapters/local/dynamodb/index.ts';
import { FileMediaStore } from '../adapters/local/file-media-store.ts';
import { LocalEventBus } from '../adapters/local/local-bus.ts';
import { LocalQueue } from '../adapters/local/local-queue.ts';
import { LocalSecretStore, type LocalAccount } from '../adapters/local/local-secrets.ts';
import { apiKeyRecord, bearerSecret, generateApiKey, hashApiKey } from '../api/auth.ts';
import { connectors } from '../connectors/registry.ts';
import type { Connector } from '../domain/connector.ts';
import type { Channel } from '../domain/content.ts';
import { channelOfJob, type OutboundJob } from '../domain/delivery/outbound.ts';
import type { ParleyEvent } from '../domain/events.ts';
import type { DomainEvent } from '../domain/events/domain-events.ts';
import type { Credentials, WorkQueue } from '../domain/ports.ts';
import type { Deps, FunctionModule } from '../functions/deps.ts';
import { localContext } from '../functions/kit/handler.ts';
import { memoryMetrics } from '../functions/kit/observability.ts';
import {
  ENABLED_CHANNELS,
  FUNCTIONS,
  QUEUES,
  RULES,
  environmentOf,
  queueOfJob,
  type FunctionSpec,
  type QueueName,
} from '../topology/topology.ts';
import { LOCAL_TABLE_NAME } from '../topology/table.ts';
import { connect, type BackofficeInit, type MainCall, type WorkerCall } from './backoffice-protocol.ts';
import { createGateway, type Authorizer, type BoundRoute, type HttpHandler } from './http-gateway.ts';
import { localDeps, rateLimitOf, retentionDaysOf } from './composition.ts';
import { createLocalLog, type LogLevel } from './local-log.ts';
import { mountSandboxes } from './sandbox.ts';
import { lockDataDir, listen } from './startup.ts';

export { DataDirInUseError, ListenError } from './startup.ts';

export interface RuntimeOptions {
  readonly port?: number;
  readonly host?: string;
  readonly dataDir: string;
  /** Where credentials, the API key and provider API overrides are read from (contract.md). */
  readonly env?: NodeJS.ProcessEnv;
  readonly logLevel?: LogLevel;
  readonly writeLog?: (line: string) => void;
  /** Called when the runtime can no longer work (its back office died); `npm start` exits. */
  readonly onFatal?: (error: Error) => void;
  /** Scales queue timeouts and backoff delays; tests use a small factor to see retries in milliseconds. */
  readonly timeScale?: number;
}

export interface ChannelInfo {
  readonly channel: Channel;
  readonly webhookUrl: string;
  readonly accountId: string;
  /** Where the credentials came from: the environment, or generated for development. */
  readonly source: 'environment' | 'development' | 'mixed';
  readonly credentials: Credentials;
  readonly apiBaseUrl: string;
}

export interface Runtime {
  readonly url: string;
  readonly apiBaseUrl: string;
  /** The DynamoDB engine's endpoint on loopback: the AWS CLI and SDKs reach the local table there. */
  readonly dynamoEndpoint: string;
  readonly apiKey: string;
  readonly apiKeySource: 'environment' | 'generated' | 'data dir';
  readonly channels: readonly ChannelInfo[];
  readonly queues: Readonly<Record<QueueName | `${QueueName}-dlq`, LocalQueue<unknown>>>;
  readonly deps: Deps;
  /** Resolves when every queue is idle: all work done, postponed or dead-lettered. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

const readJson = <T>(path: string): T | undefined => (existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : undefined);

/**
 * A channel's default account: each credential from its environment variable, the rest from the
 * development credentials kept in the data dir (generated on first start). Sending uses the real provider
 * only when every sending credential came from the environment; otherwise the provider's sandbox.
 */
const accountFor = (connector: Connector, env: NodeJS.ProcessEnv, devFile: Record<string, Credentials>) => {
  const fromEnv = Object.fromEntries(
    Object.entries(connector.environment.credentials).flatMap(([name, variable]) => {
      const value = env[variable];
      return value ? [[name, value]] : [];
    }),
  ) as Credentials;
  // Names a connector added since the data dir was made (a Kakao bot id) are filled in; kept values stay.
  const development = (devFile[connector.channel] = { ...connector.devCredentials(), ...devFile[connector.channel] });
  const names = Object.keys(connector.environment.credentials);
  const source: ChannelInfo['source'] =
    Object.keys(fromEnv).length === 0 ? 'development' : names.every((n) => fromEnv[n]) ? 'environment' : 'mixed';
  const realSending = Object.keys(fromEnv).length > 0 && connector.credentialNames.outbound.every((n) => fromEnv[n]);
  return { credentials: { ...development, ...fromEnv }, source, realSending };
};

/**
 * Starts the runtime on a data dir no other Parley uses: throws {@link DataDirInUseError} before reading or
 * writing anything in it when one does (two would compact each other's queue journals away), and
 * {@link ListenError} when it cannot listen on the port or host.
 */
export const startRuntime = async (options: RuntimeOptions): Promise<Runtime> => {
  mkdirSync(options.dataDir, { recursive: true });
  const lock = lockDataDir(options.dataDir);
  try {
    const runtime = await start(options);
    return {
      ...runtime,
      stop: async () => {
        try {
          await runtime.stop();
        } finally {
          lock.release();
        }
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
};

const start = async (options: RuntimeOptions): Promise<Runtime> => {
  const env = options.env ?? process.env;
  const { dataDir } = options;

  // The HTTP server listens first, so a taken port fails the start before anything else runs, and sandbox
  // URLs can name its port; until the runtime is ready it answers 503, so a health check during startup
  // fails fast.
  let serve: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
    res.end(JSON.stringify({ status: 'starting' }));
  };
  let health: 'ok' | 'failed' = 'ok';
  let accepting = true;
  const server: Server = createServer((req, res) => serve(req, res));
  await listen(server, options.port ?? 3000, options.host ?? '127.0.0.1');
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  const rootLog = createLocalLog({ level: options.logLevel ?? 'info', ...(options.writeLog && { write: options.writeLog }) });
  const timeScale = options.timeScale ?? 1;
  const retentionDays = retentionDaysOf(env);
  let stopping = false;

  // The back office (the DynamoDB engine and the queue, stream and schedule consumers) runs in a worker thread:
  // Lambda gives every function a CPU of its own, and here storing and sending should not slow the webhooks
  // providers wait on.
  const worker = new Worker(new URL('./backoffice.worker.mjs', import.meta.url), {
    workerData: { dynamoPath: join(dataDir, 'dynamodb') },
  });
  let serveWorker: (call: MainCall) => Promise<unknown> = async () => {
    throw new Error('the runtime is still starting');
  };
  const writeLine = options.writeLog ?? ((line: string) => process.stdout.write(`${line}\n`));
  let onReady: (port: number) => void = () => {};
  let onFailed: (error: string) => void = () => {};
  const backoffice = connect<WorkerCall, MainCall>(worker, (call) => serveWorker(call), {
    onLog: writeLine,
    onReady: (port) => onReady(port),
    onFailed: (error) => onFailed(error),
  });
  const dynamoPort = await new Promise<number>((resolve, reject) => {
    onReady = resolve;
    onFailed = (error) => reject(new Error(`its database in ${join(dataDir, 'dynamodb')} could not be opened: ${error}`));
    worker.once('error', reject);
  }).catch(async (error: unknown) => {
    await worker.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  });
  worker.on('error', (error) => {
    rootLog.error('the back office (storage and queue consumers) failed', { error: error.stack ?? error.message });
  });
  worker.on('exit', (code) => {
    backoffice.abandon(new Error(`the back office exited (${code})`));
    if (stopping) return;
    // Nothing would be stored or sent any more: say so on /health, and let the caller decide.
    health = 'failed';
    options.onFatal?.(new Error(`the back office exited unexpectedly (${code})`));
  });
  const dynamoEndpoint = `http://127.0.0.1:${dynamoPort}`;
  const dynamo = localDynamoClient({ endpoint: dynamoEndpoint });
  await ensureTable(dynamo, LOCAL_TABLE_NAME);

  // Queues with their dead-letter queues, journaled under the data dir.
  const queueLog = rootLog.child('queue');
  const makeQueues = (name: QueueName) => {
    const spec = QUEUES[name];
    const deadLetterQueue = new LocalQueue<unknown>({
      name: `${name}-dlq`,
      spec: { ...spec, maxReceiveCount: Number.POSITIVE_INFINITY },
      journalPath: join(dataDir, 'queues', `${name}-dlq.jsonl`),
      log: queueLog,
    });
    const queue = new LocalQueue<unknown>({
      name,
      spec,
      journalPath: join(dataDir, 'queues', `${name}.jsonl`),
      deadLetterQueue,
      timeScale,
      log: queueLog,
      // One back office runs every consumer here: background work (campaigns) waits while replies are waiting.
      ...(spec.background && { yieldWhile: () => foreground.some((q) => q.busy) }),
    });
    return [queue, deadLetterQueue] as const;
  };
  const foreground: LocalQueue<unknown>[] = [];
  const queues = Object.fromEntries(
    (Object.keys(QUEUES) as QueueName[]).flatMap((name) => {
      const [queue, deadLetterQueue] = makeQueues(name);
      return [
        [name, queue],
        [`${name}-dlq`, deadLetterQueue],
      ];
    }),
  ) as Record<QueueName | `${QueueName}-dlq`, LocalQueue<unknown>>;
  foreground.push(...(Object.keys(QUEUES) as QueueName[]).filter((name) => !QUEUES[name].background).map((name) => queues[name]));
  /** Each outbound job goes to its channel's queue on its lane (replies, or proactive messages), as in AWS. */
  const outbound: WorkQueue<OutboundJob> = {
    send: async (job, sendOptions) => {
      const channel = channelOfJob(job);
      const queue = (ENABLED_CHANNELS as readonly Channel[]).includes(channel) ? queues[queueOfJob(job) as QueueName] : undefined;
      if (!queue) throw new Error(`${channel} is not enabled`);
      await queue.send(job, sendOptions);
    },
  };
  const busLog = rootLog.child('bus');
  const bus = new LocalEventBus<ParleyEvent>(RULES, queues, connectorEntry, busLog);
  const domainBus = new LocalEventBus<DomainEvent>(RULES, queues, domainEntry, busLog);

  // Channel credentials and provider API origins. Further accounts' credentials, put through the API, are
  // kept in the data dir and shared with the back office.
  const credentialsPath = join(dataDir, 'accounts', 'credentials.json');
  const devPath = join(dataDir, 'dev-credentials.json');
  const devFile = readJson<Record<string, Credentials>>(devPath) ?? {};
  const accounts: Partial<Record<Channel, LocalAccount>> = {};
  const apiBaseUrls: Partial<Record<Channel, string>> = {};
  const channels: ChannelInfo[] = [];
  for (const connector of Object.values(connectors) as Connector[]) {
    const { credentials, source, realSending } = accountFor(connector, env, devFile);
    const namedAccount = connector.accountIdOf(credentials);
    // Credentials that name no account (a LINE channel secret) receive only for the bot the webhook path
    // learns they belong to; for sending they also serve ids without credentials of their own.
    accounts[connector.channel] = { credentials, ...(namedAccount !== undefined && { accountId: namedAccount }) };
    const accountId = namedAccount ?? 'default';
    // Development credentials are not real, so their calls go to the built-in sandbox of the provider.
    const apiBaseUrl =
      env[connector.environment.apiBaseUrl] ?? (realSending ? connector.defaultApiBaseUrl : `${url}/sandbox/${connector.channel}`);
    apiBaseUrls[connector.channel] = apiBaseUrl;
    channels.push({
      channel: connector.channel,
      webhookUrl: `${url}/webhooks/${connector.channel}`,
      accountId,
      source,
      credentials,
      apiBaseUrl,
    });
  }
  writeFileSync(devPath, `${JSON.stringify(devFile, null, 2)}\n`, { mode: 0o600 });

  const deps: Deps = localDeps({
    dynamo,
    bus,
    domainBus,
    outbound,
    queue: (name) => queues[name],
    // Only queue consumers postpone messages, and they run in the back office with their own queue's.
    visibility: {
      setVisibilityTimeout: async () => {
        throw new Error('only a queue consumer can postpone its messages');
      },
    },
    secrets: new LocalSecretStore(accounts, credentialsPath),
    // The API reads what the back office's media copier writes, in the same directory.
    media: new FileMediaStore(join(dataDir, 'media')),
    observability: { log: rootLog, metrics: memoryMetrics(), middlewares: [] },
    apiBaseUrls,
    retentionDays,
    rateLimit: rateLimitOf(env),
  });

  // The integrator API key: PARLEY_API_KEY, or one generated once and kept in the data dir. Both are admin.
  const keyPath = join(dataDir, 'api-key');
  let apiKeySource: Runtime['apiKeySource'];
  let apiKey: string;
  if (env.PARLEY_API_KEY) {
    if (bearerSecret(`Bearer ${env.PARLEY_API_KEY}`) !== env.PARLEY_API_KEY) {
      throw new Error('PARLEY_API_KEY must be 1 to 512 characters of A-Z a-z 0-9 - . _ ~ + / (a bearer token)');
    }
    apiKey = env.PARLEY_API_KEY;
    apiKeySource = 'environment';
  } else if (existsSync(keyPath)) {
    apiKey = readFileSync(keyPath, 'utf8').trim();
    apiKeySource = 'data dir';
  } else {
    apiKey = generateApiKey().secret;
    writeFileSync(keyPath, `${apiKey}\n`, { mode: 0o600 });
    apiKeySource = 'generated';
  }
  if (!(await deps.keys.findByHash(hashApiKey(apiKey)))) {
    await deps.keys.create(apiKeyRecord(apiKey, `local (${apiKeySource})`, new Date().toISOString(), ['admin']));
  }

  // The ports that live here, served to the back office.
  serveWorker = async (call) => {
    switch (call.op) {
      case 'bus.publish':
        return bus.publish(call.args[0] as ParleyEvent[]);
      case 'domainBus.publish':
        return domainBus.publish(call.args[0] as DomainEvent[]);
      case 'outbound.send':
        return outbound.send(call.args[0] as OutboundJob, call.args[1]);
      case 'queue.send':
        return queues[call.args[0]].send(call.args[1], call.args[2]);
      case 'queue.setVisibilityTimeout':
        return queues[call.args[0]].setVisibilityTimeout(call.args[1], call.args[2]);
    }
  };

  // Every function of the topology, wired with the local ports and bound to its trigger: HTTP functions
  // here; queue, stream and schedule consumers in the back office.
  const routes: BoundRoute[] = [];
  let authorizer: Authorizer | undefined;
  const consumers: BackofficeInit['functions'][number][] = [];
  // What the stacks set from their context in AWS, from the local environment here.
  const localEnvironment: Record<string, string> = {
    ...(env.PARLEY_AUTO_RESOLVE_AFTER_HOURS && { AUTO_RESOLVE_AFTER_HOURS: env.PARLEY_AUTO_RESOLVE_AFTER_HOURS }),
    // Tests that run the queues' time faster run the provider pacing's time as fast (see outbound-sender.ts).
    ...(timeScale !== 1 && { PARLEY_TIME_SCALE: String(timeScale) }),
    // A deployment's own provider limits (a WhatsApp number on a higher tier), as `<perSecond>[/<burst>]`.
    ...Object.fromEntries(
      Object.entries(env).filter(([name, value]) => name.startsWith('PARLEY_THROUGHPUT_') && value) as [string, string][],
    ),
  };
  for (const [name, spec] of Object.entries(FUNCTIONS) as [string, FunctionSpec][]) {
    const base = {
      name,
      entry: spec.entry,
      timeoutSeconds: spec.timeoutSeconds,
      environment: { ...environmentOf(spec), ...localEnvironment },
    };
    if (spec.queue) {
      consumers.push({ ...base, trigger: { kind: 'queue', queue: spec.queue } });
      queues[spec.queue].consume((event) => backoffice.call({ op: 'invoke', args: [name, event] }));
      continue;
    }
    if (spec.stream) {
      consumers.push({ ...base, trigger: { kind: 'stream', stream: spec.stream } });
      continue;
    }
    if (spec.everyMinutes !== undefined) {
      consumers.push({ ...base, trigger: { kind: 'schedule', everyMinutes: spec.everyMinutes } });
      continue;
    }
    const module = (await import(new URL(`../${spec.entry}`, import.meta.url).href)) as FunctionModule;
    const created = module.create({ ...deps, observability: { ...deps.observability, log: rootLog.child(name) } }, base.environment);
    const handler = (event: never) => created(event, localContext(name, spec.timeoutSeconds));
    if (name === 'authorizer') authorizer = handler as unknown as Authorizer;
    for (const route of spec.routes ?? []) routes.push({ ...route, functionName: name, handler: handler as unknown as HttpHandler });
  }
  await backoffice.call({
    op: 'init',
    args: [
      {
        mediaPath: join(dataDir, 'media'),
        accounts,
        credentialsPath,
        apiBaseUrls,
        logLevel: options.logLevel ?? 'info',
        retentionDays,
        timeScale,
        functions: consumers,
      },
    ],
  });

  const httpLog = rootLog.child('http');
  const gateway = createGateway({
    routes,
    ...(authorizer && { authorizer }),
    extra: mountSandboxes(rootLog.child('sandbox')),
    onRequest: ({ method, path, status, ms, functionName }) =>
      httpLog.info(`${method} ${redactPath(path)} → ${status}`, { fn: functionName, ms: Math.round(ms * 10) / 10 }),
  });
  serve = (req, res) => {
    if (new URL(req.url ?? '/', 'http://local').pathname === '/health') {
      res.writeHead(health === 'ok' && accepting ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: accepting ? health : 'stopping', channels: channels.map((c) => c.channel) }));
      return;
    }
    if (!accepting) {
      res.writeHead(503, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ code: 'unavailable', message: 'Parley is stopping; retry later' }));
      return;
    }
    void gateway(req, res);
  };

  const all = Object.values(queues);
  return {
    url,
    dynamoEndpoint,
    apiBaseUrl: `${url}/v1`,
    apiKey,
    apiKeySource,
    channels,
    queues,
    deps,
    idle: async () => {
      // Work moves between queues, the stream and the bus (bus → inbound → stream → outbound): idle only when
      // all of them are, at once.
      for (let _round = 0; ; _round++) {
        await Promise.all(all.map((q) => q.idle()));
        const streamBusy = await backoffice.call<boolean>({ op: 'streams.idle', args: [] });
        await new Promise((resolve) => setImmediate(resolve));
        if (!streamBusy && !all.some((q) => q.busy)) return;
      }
    },
    stop: async () => {
      // First no new requests (requests in flight finish: what they accepted reaches the journals), then
      // no new batches, and the batches in flight finish before the back office closes the database.
      stopping = true;
      accepting = false;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
      for (const queue of all) queue.stop();
      await Promise.all(all.map((queue) => queue.drained()));
      dynamo.destroy();
      await backoffice.call({ op: 'close', args: [] }).catch(() => undefined); // already gone if it crashed
      await worker.terminate();
    },
  };
};

/** Bot tokens appear in the Telegram sandbox's paths; keep them out of the log. */
const redactPath = (path: string): string => path.replace(/\/bot[^/]+/, '/bot***');
