/**
 * `npm run cost`: what one message costs in AWS, per message path, at list prices. Each path runs Parley's real
 * handlers in this process, as the topology wires them (webhook → bus → queue → thread writer → table stream →
 * outbox relay → bus/queues → sender → table), with every AWS request counted where it would be made:
 *
 * - DynamoDB: the real store adapters on the local engine; every request is counted with the capacity units the
 *   engine reports (transactions twice, as DynamoDB bills them), and each write's index updates are counted from
 *   its stream record (a changed index key is a delete and a put in the index);
 * - EventBridge: each PutEvents entry (per 64 KB); the rules route it to the queues they name;
 * - SQS: each send (an EventBridge delivery to a queue included), and each consumer batch's receive and delete;
 * - Lambda: each invocation (batches as the topology sizes them), and its duration: the handler's own time here
 *   plus an assumed round trip per AWS request and per provider call (printed below);
 * - API Gateway: each HTTP request; X-Ray: the sampled share of invocations.
 *
 * Prints, per path, `cost <path> <USD per 1M messages>` and the requests behind it. Steady load is assumed
 * (queues and the stream hand consumers full batches); the figures are an estimate for comparison, not a bill.
 * Options: COST_MESSAGES (default 200).
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { createHmac } from 'node:crypto';
import { ensureTable } from '../adapters/aws/dynamo-table.ts';
import { connectorEntry, domainEntry, type BusEntry } from '../adapters/aws/eventbridge-bus.ts';
import { compilePattern } from '../topology/event-pattern.ts';
import { createLocalDynamo } from '../adapters/local/dynamodb/index.ts';
import { LocalSecretStore } from '../adapters/local/local-secrets.ts';
import { apiKeyRecord } from '../api/auth.ts';
import { connectors } from '../connectors/registry.ts';
import type { Connector } from '../domain/connector.ts';
import type { Channel } from '../domain/content.ts';
import type { DomainEvent } from '../domain/events/domain-events.ts';
import type { ParleyEvent } from '../domain/events.ts';
import type { WorkQueue } from '../domain/ports.ts';
import type { Deps, FunctionModule } from '../functions/deps.ts';
import { localContext } from '../functions/kit/handler.ts';
import { memoryMetrics } from '../functions/kit/observability.ts';
import { localDeps } from '../runtime/composition.ts';
import { createLocalLog } from '../runtime/local-log.ts';
import { FUNCTIONS, QUEUES, RULES, environmentOf, type FunctionSpec, type QueueName } from '../topology/topology.ts';
import { LOCAL_TABLE_NAME, TABLE_KEYS } from '../topology/table.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** List prices, us-east-1, on-demand, per unit. */
export const PRICES = {
  apiGatewayHttpRequest: 1.0 / 1e6,
  lambdaRequest: 0.2 / 1e6,
  /** Arm64. */
  lambdaGbSecond: 0.0000133334,
  eventBridgeEvent: 1.0 / 1e6,
  sqsRequest: 0.4 / 1e6,
  dynamoWriteUnit: 0.625 / 1e6,
  dynamoReadUnit: 0.125 / 1e6,
  xrayTrace: 5.0 / 1e6,
} as const;

/** Assumed round trips, which the in-process run does not have: they are what Lambda bills while waiting. */
export const LATENCY_MS = { dynamodb: 5, eventbridge: 15, sqs: 12, provider: 120 } as const;
/** The X-Ray sampling rule's fixed rate (lib/trace-sampling.ts). */
const XRAY_RATE = 0.01;

const messages = Number(process.env.COST_MESSAGES ?? 200);

interface Tally {
  apiRequests: number;
  lambdaInvocations: number;
  lambdaGbSeconds: number;
  eventBridgeEvents: number;
  sqsRequests: number;
  readUnits: number;
  writeUnits: number;
  indexWriteUnits: number;
  dynamoRequests: Record<string, number>;
}

const emptyTally = (): Tally => ({
  apiRequests: 0,
  lambdaInvocations: 0,
  lambdaGbSeconds: 0,
  eventBridgeEvents: 0,
  sqsRequests: 0,
  readUnits: 0,
  writeUnits: 0,
  indexWriteUnits: 0,
  dynamoRequests: {},
});

const costOf = (t: Tally): Record<string, number> => ({
  'API Gateway': t.apiRequests * PRICES.apiGatewayHttpRequest,
  'Lambda requests': t.lambdaInvocations * PRICES.lambdaRequest,
  'Lambda duration': t.lambdaGbSeconds * PRICES.lambdaGbSecond,
  EventBridge: t.eventBridgeEvents * PRICES.eventBridgeEvent,
  SQS: t.sqsRequests * PRICES.sqsRequest,
  'DynamoDB reads': t.readUnits * PRICES.dynamoReadUnit,
  'DynamoDB writes': t.writeUnits * PRICES.dynamoWriteUnit,
  'DynamoDB index writes': t.indexWriteUnits * PRICES.dynamoWriteUnit,
  'X-Ray': t.lambdaInvocations * XRAY_RATE * PRICES.xrayTrace,
});

const KB = 1024;
const chunks = (bytes: number, size: number) => Math.max(1, Math.ceil(bytes / size));

/** The harness: an in-process AWS whose every request lands in the current tally. */
const harness = async () => {
  let tally = emptyTally();
  /** AWS round trips of the invocation running now, for its billed duration. */
  let pendingLatencyMs = 0;
  let currentFunction = '';
  const engine = await createLocalDynamo({});
  const dynamo = new DynamoDBClient({
    endpoint: 'http://in-process',
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: engine.requestHandler,
  });
  // Every request asks for its consumed capacity, as DynamoDB would bill it.
  dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      input.ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const name = context.commandName ?? 'Unknown';
      tally.dynamoRequests[name] = (tally.dynamoRequests[name] ?? 0) + 1;
      if (process.env.COST_DEBUG)
        process.stderr.write(
          `${currentFunction} ${name} ${JSON.stringify((input as { Key?: unknown }).Key ?? (input as { Item?: { pk?: unknown } }).Item?.pk ?? '')}\n`,
        );
      pendingLatencyMs += LATENCY_MS.dynamodb;
      const consumed = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] }).ConsumedCapacity;
      const units = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
      // The engine reports read units for strongly consistent reads; eventually consistent ones cost half.
      const eventually = input.ConsistentRead === false || (name === 'QueryCommand' && input.IndexName !== undefined);
      if (/Get|Query|BatchGet/.test(name)) tally.readUnits += eventually ? units / 2 : units;
      else tally.writeUnits += units;
      return result;
    },
    { step: 'initialize', name: 'costCounter' },
  );
  await ensureTable(dynamo, LOCAL_TABLE_NAME);

  // Index writes, from each write's images: a changed key is a delete and a put, a changed entry a put.
  const indexUnits = (record: DynamoDBRecord): number => {
    const before = record.dynamodb?.OldImage ? unmarshall(record.dynamodb.OldImage as never) : undefined;
    const after = record.dynamodb?.NewImage ? unmarshall(record.dynamodb.NewImage as never) : undefined;
    let units = 0;
    for (const index of TABLE_KEYS.indexes) {
      const keyOf = (item: Record<string, unknown> | undefined) =>
        item && item[index.partitionKey] !== undefined ? `${String(item[index.partitionKey])}|${String(item[index.sortKey])}` : undefined;
      const size = (item: Record<string, unknown> | undefined) => chunks(Buffer.byteLength(JSON.stringify(item ?? {})), KB);
      const [oldKey, newKey] = [keyOf(before), keyOf(after)];
      if (oldKey === undefined && newKey === undefined) continue;
      if (oldKey !== newKey) units += (oldKey ? size(before) : 0) + (newKey ? size(after) : 0);
      else if (JSON.stringify(before) !== JSON.stringify(after)) units += size(after);
    }
    return units;
  };
  const streamRecords: DynamoDBRecord[] = [];
  engine.subscribe(LOCAL_TABLE_NAME, {
    name: 'cost-index-counter',
    batchSize: 100,
    handler: async (event) => {
      for (const record of event.Records) tally.indexWriteUnits += indexUnits(record);
    },
  });
  engine.subscribe(LOCAL_TABLE_NAME, {
    name: 'cost-outbox',
    batchSize: 1000,
    handler: async (event) => {
      streamRecords.push(...event.Records);
    },
  });

  // Queues and the bus, counted.
  const queued = new Map<QueueName, unknown[]>();
  const queue = (name: QueueName): WorkQueue<unknown> => ({
    send: async (message) => {
      tally.sqsRequests += chunks(Buffer.byteLength(JSON.stringify(message)), 64 * KB);
      pendingLatencyMs += LATENCY_MS.sqs;
      queued.set(name, [...(queued.get(name) ?? []), message]);
    },
  });
  const rules = Object.values(RULES).map((rule) => ({ rule, matches: compilePattern(rule.pattern) }));
  const busOf = <T>(entryOf: (event: T) => BusEntry) => ({
    publish: async (events: readonly T[]) => {
      for (const event of events) {
        const entry = entryOf(event);
        tally.eventBridgeEvents += chunks(Buffer.byteLength(JSON.stringify(entry.detail)), 64 * KB);
        const envelope = { source: entry.source, 'detail-type': entry.detailType, detail: entry.detail };
        for (const { rule } of rules.filter((r) => r.matches(envelope))) {
          // EventBridge's delivery to the queue is a SendMessage of its own.
          tally.sqsRequests += 1;
          queued.set(rule.target, [...(queued.get(rule.target) ?? []), rule.input === 'detail' ? entry.detail : envelope]);
        }
      }
      pendingLatencyMs += LATENCY_MS.eventbridge * Math.ceil(events.length / 10);
    },
  });

  // Providers: their sandboxes, in process (a send is a provider round trip, billed as waiting).
  const fetch: typeof globalThis.fetch = async (input, init) => {
    pendingLatencyMs += LATENCY_MS.provider;
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const [, channel, ...rest] = url.pathname.split('/');
    const sandbox = (connectors as Record<string, Connector>)[channel ?? '']?.sandbox;
    if (!sandbox) return new Response('{}', { status: 404 });
    const body = init?.body ? Buffer.from(init.body as string) : Buffer.alloc(0);
    const answer = sandbox.handle({ method: init?.method ?? 'GET', path: `/${rest.join('/')}`, body });
    return new Response(Buffer.isBuffer(answer.body) ? answer.body : JSON.stringify(answer.body), { status: answer.statusCode });
  };

  const log = createLocalLog({ level: 'error' });
  const accounts = Object.fromEntries(
    (Object.values(connectors) as Connector[]).map((c) => {
      const credentials = c.devCredentials();
      const accountId = c.accountIdOf(credentials);
      return [c.channel, { credentials, ...(accountId !== undefined && { accountId }) }];
    }),
  );
  const apiBaseUrls = Object.fromEntries((Object.keys(connectors) as Channel[]).map((c) => [c, `http://sandbox/${c}`]));
  const deps: Deps = {
    ...localDeps({
      dynamo,
      bus: busOf<ParleyEvent>(connectorEntry),
      domainBus: busOf<DomainEvent>(domainEntry),
      outbound: {
        send: async (job) => {
          const channel = 'channel' in job ? job.channel : job.event.channel;
          await queue(`outbound-${channel}` as QueueName).send(job);
        },
      },
      queue,
      visibility: { setVisibilityTimeout: async () => undefined },
      secrets: new LocalSecretStore(accounts),
      media: { put: async () => {}, get: async () => undefined, head: async () => undefined, delete: async () => {} },
      observability: { log, metrics: memoryMetrics(), middlewares: [] },
      apiBaseUrls,
      // The run sends faster than an integrator may: the limit's counter is still counted, never reached.
      rateLimit: 1_000_000,
    }),
    fetch,
  };

  const handlers = new Map<string, (event: unknown) => Promise<unknown>>();
  const handlerOf = async (name: string): Promise<(event: unknown) => Promise<unknown>> => {
    const existing = handlers.get(name);
    if (existing) return existing;
    const spec = FUNCTIONS[name as keyof typeof FUNCTIONS] as FunctionSpec;
    const module = (await import(new URL(`../${spec.entry}`, import.meta.url).href)) as FunctionModule;
    const created = module.create(deps, { ...environmentOf(spec), SUBSCRIPTIONS_CACHE_SECONDS: '30' });
    // One invocation: its request, and its duration at the function's memory (handler time + round trips).
    const invoke = async (event: unknown) => {
      pendingLatencyMs = 0;
      currentFunction = name;
      const started = performance.now();
      const result = await created(event as never, localContext(name, spec.timeoutSeconds));
      const ms = performance.now() - started + pendingLatencyMs;
      tally.lambdaInvocations += 1;
      tally.lambdaGbSeconds += (spec.memoryMb / 1024) * (Math.ceil(ms) / 1000);
      return result;
    };
    handlers.set(name, invoke);
    return invoke;
  };

  /** Consumes every queue and the stream until nothing is left, in full batches. */
  const drain = async () => {
    for (let round = 0; round < 50; round++) {
      await engine.sweepExpired();
      await new Promise((resolve) => setTimeout(resolve, 20));
      let worked = false;
      if (streamRecords.length > 0) {
        worked = true;
        const spec = FUNCTIONS['outbox-relay'];
        const matchers = spec.stream.filters.map((pattern) => compilePattern(pattern));
        const records = streamRecords.splice(0).filter((record) => matchers.some((m) => m(record)));
        const relay = await handlerOf('outbox-relay');
        for (let i = 0; i < records.length; i += spec.stream.batchSize)
          await relay({ Records: records.slice(i, i + spec.stream.batchSize) });
      }
      for (const [name, items] of [...queued.entries()]) {
        if (items.length === 0) continue;
        const consumer = Object.entries(FUNCTIONS).find(([, spec]) => (spec as FunctionSpec).queue === name)?.[0];
        queued.set(name, []);
        if (!consumer) continue;
        worked = true;
        const { batchSize } = QUEUES[name];
        const handler = await handlerOf(consumer);
        for (let i = 0; i < items.length; i += batchSize) {
          const batch = items.slice(i, i + batchSize);
          // The event source mapping's receive and its batch delete.
          tally.sqsRequests += 2;
          await handler({
            Records: batch.map((body, index) => ({
              messageId: `m-${round}-${i + index}`,
              receiptHandle: `r-${round}-${i + index}`,
              body: JSON.stringify(body),
              attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()) },
              messageAttributes: {},
              md5OfBody: '',
              eventSource: 'aws:sqs',
              eventSourceARN: `arn:aws:sqs:local:0:${name}`,
              awsRegion: 'local',
            })),
          });
        }
      }
      if (!worked && round > 2) return;
    }
  };

  return {
    deps,
    handlerOf,
    drain,
    reset: () => {
      tally = emptyTally();
    },
    tally: () => tally,
    countApiRequest: () => {
      tally.apiRequests += 1;
    },
    close: async () => {
      dynamo.destroy();
      await engine.close();
    },
  };
};

type Harness = Awaited<ReturnType<typeof harness>>;

/** An API Gateway event; `principal`: the authorizer's cached answer, as API Gateway passes it on. */
const gatewayEvent = (
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string,
  pathParameters?: Record<string, string>,
  principal?: { keyId: string; scopes: string },
) => ({
  version: '2.0',
  routeKey: `${method} ${path}`,
  rawPath: path,
  rawQueryString: '',
  headers,
  ...(pathParameters && { pathParameters }),
  requestContext: {
    http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'cost' },
    requestId: 'r',
    routeKey: `${method} ${path}`,
    stage: '$default',
    accountId: '0',
    apiId: 'local',
    domainName: 'local',
    domainPrefix: 'local',
    time: '',
    timeEpoch: 0,
    ...(principal && { authorizer: { lambda: principal } }),
  },
  body,
  isBase64Encoded: false,
});

const telegramUpdate = (id: number, customer: number, text: string) =>
  JSON.stringify({
    update_id: 700_000_000 + id,
    message: {
      message_id: id,
      from: { id: customer, is_bot: false, first_name: 'Mina' },
      chat: { id: customer, type: 'private', first_name: 'Mina' },
      date: 1773448013,
      text,
    },
  });

/** A Telegram customer text, through API Gateway to the webhook function. */
const postTelegram = async (h: Harness, body: string) => {
  const secret = (h.deps.secrets as LocalSecretStore) && (await h.deps.secrets.get('telegram', 'default'))?.webhookSecret;
  h.countApiRequest();
  const webhook = await h.handlerOf('webhook-telegram');
  const answer = (await webhook(
    gatewayEvent(
      'POST',
      '/webhooks/telegram',
      { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret ?? '' },
      body,
    ),
  )) as {
    statusCode: number;
  };
  if (answer.statusCode !== 200) throw new Error(`webhook answered ${answer.statusCode}`);
};

const whatsappStatus = (phoneNumberId: string, wamid: string, customer: string) =>
  JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: 'WABA',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550000000', phone_number_id: phoneNumberId },
              statuses: [{ id: wamid, status: 'delivered', timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: customer }],
            },
          },
        ],
      },
    ],
  });

const whatsappText = (phoneNumberId: string, id: number, customer: string) =>
  JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: 'WABA',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550000000', phone_number_id: phoneNumberId },
              contacts: [{ profile: { name: 'Ana' }, wa_id: customer }],
              messages: [
                {
                  from: customer,
                  id: `wamid.cost${id}`,
                  timestamp: String(Math.floor(Date.now() / 1000)),
                  type: 'text',
                  text: { body: 'Hello' },
                },
              ],
            },
          },
        ],
      },
    ],
  });

const postWhatsapp = async (h: Harness, body: string) => {
  const credentials = await h.deps.secrets.get('whatsapp', 'default');
  const signature = `sha256=${createHmac('sha256', credentials?.appSecret ?? '')
    .update(body)
    .digest('hex')}`;
  h.countApiRequest();
  const webhook = await h.handlerOf('webhook-whatsapp');
  const answer = (await webhook(
    gatewayEvent('POST', '/webhooks/whatsapp', { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body),
  )) as { statusCode: number };
  if (answer.statusCode !== 200) throw new Error(`whatsapp webhook answered ${answer.statusCode}`);
};

const report = (path: string, tally: Tally, count: number, note: string) => {
  const costs = costOf(tally);
  const total = Object.values(costs).reduce((a, b) => a + b, 0);
  process.stdout.write(`cost ${path} ${((total / count) * 1e6).toFixed(2)}\n`);
  process.stdout.write(`  ${note}\n`);
  for (const [what, usd] of Object.entries(costs).filter(([, usd]) => usd > 0)) {
    process.stdout.write(`  ${what.padEnd(22)} ${((usd / count) * 1e6).toFixed(3).padStart(7)} USD per 1M\n`);
  }
  const per = (n: number) => (n / count).toFixed(2);
  process.stdout.write(
    `  per message: ${per(tally.apiRequests)} API Gateway requests, ${per(tally.lambdaInvocations)} Lambda invocations (${((tally.lambdaGbSeconds / count) * 1000).toFixed(1)} GB-ms), ` +
      `${per(tally.eventBridgeEvents)} EventBridge events, ${per(tally.sqsRequests)} SQS requests, ${per(tally.readUnits)} read units, ${per(tally.writeUnits)} write units (+${per(tally.indexWriteUnits)} in indexes)\n`,
  );
  process.stdout.write(
    `  DynamoDB requests per message: ${Object.entries(tally.dynamoRequests)
      .map(([k, v]) => `${k.replace('Command', '')} ${per(v)}`)
      .join(', ')}\n\n`,
  );
};

const main = async () => {
  const h = await harness();
  const keySecret = 'prl_cost-key';
  const key = apiKeyRecord(keySecret, 'cost', new Date().toISOString(), ['admin']);
  await h.deps.keys.create(key);
  // API Gateway caches the authorizer's answer per key for a minute: at any real rate the API sees it passed on.
  const principal = { keyId: key.id, scopes: key.scopes.join(',') };

  // Customers who wrote before (the steady state): identities, contacts and threads exist.
  const customers = 50;
  for (let c = 0; c < customers; c++) await postTelegram(h, telegramUpdate(c + 1, 9_000_000 + c, 'Hi'));
  await h.drain();

  // inbound-text: a returning customer's text message.
  h.reset();
  for (let i = 0; i < messages; i++) await postTelegram(h, telegramUpdate(1000 + i, 9_000_000 + (i % customers), 'Where is my order?'));
  await h.drain();
  report('inbound-text', h.tally(), messages, 'a returning customer writes a text (Telegram): webhook, bus, thread writer, outbox relay');

  // reply-text: an agent's text reply, through the API to the provider and back to `sent`.
  const threads = (await h.deps.conversations.listThreads({ limit: 100 })).items;
  const api = await h.handlerOf('api');
  const reply = async (i: number, idempotent: boolean) => {
    const thread = threads[i % threads.length];
    if (!thread) throw new Error('no thread');
    h.countApiRequest();
    const path = `/v1/threads/${thread.id}/messages`;
    const headers = {
      authorization: `Bearer ${keySecret}`,
      'content-type': 'application/json',
      ...(idempotent && { 'idempotency-key': `cost-${i}` }),
    };
    const answer = (await api(
      gatewayEvent(
        'POST',
        path,
        headers,
        JSON.stringify({ content: { type: 'text', text: 'Thanks, we are on it.' } }),
        { proxy: path.slice(4) },
        principal,
      ),
    )) as {
      statusCode: number;
      body: string;
    };
    if (answer.statusCode !== 202) throw new Error(`reply answered ${answer.statusCode}: ${answer.body}`);
  };
  h.reset();
  // Replies a few minutes apart in each thread (agents answer customers, not themselves).
  for (let i = 0; i < messages; i++) await reply(i, false);
  await h.drain();
  report(
    'reply-text',
    h.tally(),
    messages,
    "an agent replies with text (POST /v1/threads/{id}/messages; the authorizer's answer cached): API, outbox relay, sender, provider, record",
  );
  h.reset();
  for (let i = 0; i < messages; i++) await reply(messages + i, true);
  await h.drain();
  report(
    'reply-text-idempotent',
    h.tally(),
    messages,
    'the same with an Idempotency-Key: the key is claimed and its answer kept for 24 hours',
  );

  // status: a delivery status for a message Parley sent (WhatsApp `delivered`).
  const phoneNumberId = (await h.deps.secrets.get('whatsapp', 'default'))?.phoneNumberId ?? '';
  for (let c = 0; c < 20; c++) await postWhatsapp(h, whatsappText(phoneNumberId, c, `1555000${1000 + c}`));
  await h.drain();
  const waThreads = (await h.deps.conversations.listThreads({ limit: 100, channel: 'whatsapp' })).items;
  const sent: { wamid: string; customer: string }[] = [];
  for (let i = 0; i < messages; i++) {
    const thread = waThreads[i % waThreads.length];
    if (!thread) throw new Error('no whatsapp thread');
    const path = `/v1/threads/${thread.id}/messages`;
    await api(
      gatewayEvent(
        'POST',
        path,
        { authorization: `Bearer ${keySecret}`, 'content-type': 'application/json' },
        JSON.stringify({ content: { type: 'text', text: 'Shipped today.' } }),
        { proxy: path.slice(4) },
      ),
    );
  }
  await h.drain();
  for (const thread of waThreads) {
    const page = await h.deps.conversations.listMessages([thread.id], 100);
    for (const m of page.items)
      if (m.direction === 'outbound' && m.externalId)
        sent.push({ wamid: m.externalId, customer: thread.routes[0]?.conversation.externalId ?? '' });
  }
  h.reset();
  for (const { wamid, customer } of sent.slice(0, messages)) await postWhatsapp(h, whatsappStatus(phoneNumberId, wamid, customer));
  await h.drain();
  report(
    'status',
    h.tally(),
    Math.min(messages, sent.length),
    'a delivery status (WhatsApp delivered) for a message Parley sent: webhook, bus, thread writer, outbox relay',
  );

  process.stdout.write(
    `Prices (us-east-1 list): API Gateway HTTP $1.00/M requests; Lambda $0.20/M requests + $0.0000133334/GB-s (arm64); EventBridge $1.00/M events; ` +
      `SQS $0.40/M requests; DynamoDB on demand $0.625/M write units, $0.125/M read units (eventually consistent reads half); X-Ray $5.00/M traces at ${XRAY_RATE * 100}% sampling.\n` +
      `Assumed round trips billed as Lambda duration: DynamoDB ${LATENCY_MS.dynamodb} ms, EventBridge ${LATENCY_MS.eventbridge} ms, SQS ${LATENCY_MS.sqs} ms, provider API ${LATENCY_MS.provider} ms. ` +
      `Not counted: CloudWatch Logs and metrics ingestion, data transfer, KMS, Secrets Manager (cached per container).\n`,
  );
  await h.close();
};

await main();
