/**
 * The integrator API as a client meets it: the Lambda handler of `functions/api.ts` (`create()`), called with
 * API Gateway HTTP API (payload 2.0) events, over the real DynamoDB stores on the in-process local engine
 * (`startLocalDynamo`). Customers write through the real thread writer (`applyEvent`), channel credentials are
 * the connectors' development credentials in a `LocalSecretStore`, and a provider question the API asks (a
 * LINE bot's id) is answered by the connector's own sandbox. The table's change stream feeds the real outbox
 * relay, whose published events and delivery jobs are recorded: what a write queues is what the relay queues.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DynamoAccountStore, DynamoApiKeyStore, DynamoIdempotencyStore } from '../../adapters/aws/store/access.ts';
import { DynamoConversationStore } from '../../adapters/aws/store/conversations.ts';
import { DynamoTable } from '../../adapters/aws/store/table.ts';
import { DynamoWebhookStore } from '../../adapters/aws/store/webhooks.ts';
import { DynamoRoutingStore } from '../../adapters/aws/store/routing.ts';
import { DynamoDeliveryStore } from '../../adapters/aws/store/delivery.ts';
import { LocalSecretStore, type LocalAccount } from '../../adapters/local/local-secrets.ts';
import { apiKeyRecord, generateApiKey } from '../../api/auth.ts';
import { capabilitiesOf } from '../../connectors/capabilities.ts';
import { connectors } from '../../connectors/registry.ts';
import type { Scope } from '../../domain/access/model.ts';
import type { Connector, Credentials } from '../../domain/connector.ts';
import type { Channel, Content } from '../../domain/content.ts';
import { applyEvent } from '../../domain/conversations/inbound.ts';
import { deliver, type DeliveryOutcome, type OutboundJob } from '../../domain/delivery/outbound.ts';
import type { MessageReceivedEvent } from '../../domain/events.ts';
import type { DomainEvent } from '../../domain/events/domain-events.ts';
import type { UrlPolicy } from '../../domain/integrations/webhooks.ts';
import { copyMedia, mediaKeyOf, mediaOf } from '../../domain/media.ts';
import type { Log, MediaStore } from '../../domain/ports.ts';
import { create, type ApiEvent } from '../../functions/api.ts';
import { create as createOutboxRelay } from '../../functions/outbox-relay.ts';
import { localContext } from '../../functions/kit/handler.ts';
import { logOnly } from '../../functions/kit/observability.ts';
import { startLocalDynamo, type LocalDynamoHarness } from './local-dynamo.ts';
import { MemoryMediaStore } from './memory-media-store.ts';

export const START = new Date('2026-11-26T10:00:00.000Z');

/** A clock tests move by hand. */
export class TestClock {
  current = new Date(START);
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export interface LogEntry {
  readonly level: keyof Log;
  readonly message: string;
  readonly extra?: Record<string, unknown> | undefined;
}

export const collectingLog = (): Log & { readonly entries: LogEntry[] } => {
  const entries: LogEntry[] = [];
  const at = (level: keyof Log) => (message: string, extra?: Record<string, unknown>) => {
    entries.push({ level, message, extra });
  };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
};

/** Where the API asks each provider's API (the AccountResolver): a made-up origin served by the connector's sandbox. */
const sandboxOrigin = (channel: Channel) => `http://${channel}.sandbox.test`;

/**
 * `fetch` answered by the connectors' sandboxes (`GET /v2/bot/info` of LINE's, say), recording each request;
 * `failing` makes every request throw as an unreachable provider does.
 */
const sandboxFetch = () => {
  const requests: { readonly channel: Channel; readonly method: string; readonly path: string }[] = [];
  const state = { failing: false };
  const fetcher = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const connector = (Object.values(connectors) as Connector[]).find((c) => url.origin === sandboxOrigin(c.channel));
    if (!connector?.sandbox) throw new TypeError(`fetch failed: ${url.origin} is not a sandbox here`);
    if (state.failing) throw new TypeError('fetch failed: connect ECONNREFUSED');
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    requests.push({ channel: connector.channel, method, path: url.pathname });
    const body = init?.body === undefined || init.body === null ? Buffer.alloc(0) : Buffer.from(String(init.body));
    const answer = connector.sandbox.handle({ method, path: url.pathname, body });
    return new Response(JSON.stringify(answer.body), { status: answer.statusCode, headers: { 'content-type': 'application/json' } });
  }) as typeof globalThis.fetch;
  return { fetch: fetcher, requests, state };
};

export interface ApiHarnessOptions {
  readonly clock?: TestClock;
  readonly media?: MediaStore;
  /** Where webhook subscriptions may point; a deployment's (public https only) unless given. */
  readonly webhookUrlPolicy?: UrlPolicy;
  /** The channels' outbound queues refuse this many sends first (SQS unavailable), as the relay meets it. */
  readonly outboundRefusals?: number;
}

export interface CallOptions {
  /** Query parameters, or a raw query string as a client may send it. */
  readonly query?: Record<string, string> | string;
  readonly headers?: Record<string, string>;
  /** A value sent as JSON, or a string sent as it is. */
  readonly body?: unknown;
  /** The bearer key sent; `null` sends no Authorization header. The harness's admin key by default. */
  readonly key?: string | null;
  /** What an API Gateway Lambda authorizer in front put in the request context. */
  readonly authorizer?: Record<string, unknown>;
}

export interface ApiAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** The body as text (binary bodies decoded from the gateway's base64). */
  readonly text: string;
  readonly bytes: Buffer;
  readonly isBase64Encoded: boolean;
  // biome-ignore lint/suspicious/noExplicitAny: test answers are read field by field
  readonly json: any;
}

export interface CustomerMessage {
  readonly threadId: string;
  readonly messageId: string;
  readonly contactId: string;
  /** The event the thread writer was given. */
  readonly event: MessageReceivedEvent;
}

export interface WriteOptions {
  readonly content?: Content;
  readonly at?: Date;
  readonly accountId?: string;
  readonly displayName?: string;
  readonly verifiedPhone?: string;
  /** A group the customer writes in (the group's own thread). */
  readonly group?: string;
  readonly externalMessageId?: string;
}

export const startApiHarness = async (options: ApiHarnessOptions = {}) => {
  const clock = options.clock ?? new TestClock();
  const media = options.media ?? new MemoryMediaStore();
  // Stream retries are quick here, so a test can watch a failed relay batch come round again.
  const dynamo: LocalDynamoHarness = await startLocalDynamo(
    options.outboundRefusals === undefined ? {} : { streamRetry: { baseMs: 20, maxMs: 100 } },
  );
  const table = new DynamoTable({ client: dynamo.client, tableName: dynamo.tableName });
  const conversations = new DynamoConversationStore({ table, clock });
  const keys = new DynamoApiKeyStore(table);
  const accounts = new DynamoAccountStore(table);
  const idempotency = new DynamoIdempotencyStore(table);
  const webhooks = new DynamoWebhookStore(table);
  const routing = new DynamoRoutingStore(table);
  const delivery = new DynamoDeliveryStore(table);
  const log = collectingLog();
  /** What was sent to queues other than the channels' outbound ones (webhook deliveries, parked events), by queue. */
  const sentTo: Record<string, unknown[]> = {};
  const queue = (name: string) => ({ send: async (body: unknown) => void (sentTo[name] ??= []).push(structuredClone(body)) });

  // Each channel's default account on the connectors' development credentials, as `npm start` without env has.
  const defaults: Partial<Record<Channel, LocalAccount>> = {};
  const defaultCredentials: Partial<Record<Channel, Credentials>> = {};
  for (const connector of Object.values(connectors) as Connector[]) {
    const credentials = connector.devCredentials();
    defaultCredentials[connector.channel] = credentials;
    const named = connector.accountIdOf(credentials);
    defaults[connector.channel] = { credentials, ...(named !== undefined && { accountId: named }) };
  }
  const secretsDir = mkdtempSync(join(tmpdir(), 'parley-api-secrets-'));
  const secrets = new LocalSecretStore(defaults, join(secretsDir, 'credentials.json'));
  const provider = sandboxFetch();
  const apiBaseUrls = Object.fromEntries(Object.keys(connectors).map((channel) => [channel, sandboxOrigin(channel as Channel)]));

  const ports = {
    conversations,
    keys,
    accounts,
    idempotency,
    webhooks,
    routing,
    delivery,
    // Scheduled campaign starts go onto the campaigns queue here, with the time they wait for.
    scheduler: { schedule: async (job: unknown, at: Date) => queue('campaigns').send({ job, at: at.toISOString() }) },
    queue,
    media,
    clock,
    observability: logOnly(log),
    secrets,
    fetch: provider.fetch,
    apiBaseUrls,
    ...(options.webhookUrlPolicy && { webhookUrlPolicy: options.webhookUrlPolicy }),
  };
  const handler = create(ports);

  // The outbox relay on the table's stream, as the topology wires it (functions/outbox-relay.ts).
  const published: DomainEvent[] = [];
  const queued: OutboundJob[] = [];
  let refusals = options.outboundRefusals ?? 0;
  /** Records the relay could not turn into events: a write whose events are lost to integrators. */
  const parked: unknown[] = [];
  const relay = createOutboxRelay(
    {
      domainBus: { publish: async (events) => void published.push(...structuredClone(events)) },
      outbound: {
        send: async (job) => {
          if (refusals > 0) {
            refusals -= 1;
            throw new Error('SQS unavailable (outboundRefusals)');
          }
          queued.push(structuredClone(job));
        },
      },
      queue: (name) =>
        name === 'outbox-parked'
          ? {
              send: async (record) => {
                parked.push(structuredClone(record));
                log.error('parked by the outbox relay', { parked: record });
              },
            }
          : queue(name),
      webhooks,
      clock,
      observability: logOnly(log),
      // Every domain event on the bus, wanted by a rule or not, so tests see each one the API's writes made.
    },
    { PUBLISH_ALL_DOMAIN_EVENTS: 'true' },
  );
  const relaying = dynamo.engine.subscribe(dynamo.tableName, {
    name: 'outbox-relay',
    batchSize: 100,
    handler: async (event) => relay(event, localContext('outbox-relay')),
  });
  /** What the relay has published and queued so far, once it has read every write made until now. */
  const outbox = async () => {
    await relaying.idle();
    return { events: published, jobs: queued };
  };

  const newKey = async (scopes: readonly Scope[], name = `tests ${scopes.join('+')}`) => {
    const { id, secret } = generateApiKey();
    await keys.create(apiKeyRecord(secret, name, clock.now().toISOString(), scopes));
    return { id, secret };
  };
  const admin = await newKey(['admin'], 'tests admin');

  /** An API Gateway HTTP API request event, as the gateway sends it for the `ANY /v1/{proxy+}` route. */
  const eventOf = (method: string, path: string, call: CallOptions): ApiEvent => {
    const rawQueryString = typeof call.query === 'string' ? call.query : new URLSearchParams(call.query ?? {}).toString();
    const key = call.key === undefined ? admin.secret : call.key;
    const body = call.body === undefined ? undefined : typeof call.body === 'string' ? call.body : JSON.stringify(call.body);
    const headers: Record<string, string> = {
      host: 'a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com',
      'user-agent': 'parley-tests/1.0',
      ...(key !== null && { authorization: `Bearer ${key}` }),
      ...(body !== undefined && { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }),
      ...Object.fromEntries(Object.entries(call.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value])),
    };
    return {
      version: '2.0',
      routeKey: 'ANY /v1/{proxy+}',
      rawPath: path,
      rawQueryString,
      headers,
      ...(rawQueryString !== '' && { queryStringParameters: Object.fromEntries(new URLSearchParams(rawQueryString)) }),
      requestContext: {
        accountId: '123456789012',
        apiId: 'a1b2c3d4e5',
        ...(call.authorizer && { authorizer: { lambda: call.authorizer } }),
        domainName: 'a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com',
        domainPrefix: 'a1b2c3d4e5',
        http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'parley-tests/1.0' },
        requestId: randomUUID(),
        routeKey: 'ANY /v1/{proxy+}',
        stage: '$default',
        time: '26/Nov/2026:10:00:00 +0000',
        timeEpoch: clock.now().getTime(),
      },
      pathParameters: { proxy: path.replace(/^\/v1\//, '') },
      ...(body !== undefined && { body: Buffer.from(body).toString('base64'), isBase64Encoded: true }),
      ...(body === undefined && { isBase64Encoded: false }),
    } as unknown as ApiEvent;
  };

  /** Calls a handler over these ports with some replaced (a store that fails, say). */
  const callVia = (overrides: Partial<typeof ports> & Pick<Parameters<typeof create>[0], 'rateLimiter'>) => {
    const other = create({ ...ports, ...overrides });
    return (method: string, path: string, callOptions: CallOptions = {}) =>
      answerOf(other(eventOf(method, path, callOptions), localContext('api')));
  };

  const answerOf = async (pending: Promise<unknown>): Promise<ApiAnswer> => {
    const result = (await pending) as APIGatewayProxyStructuredResultV2;
    const bytes = Buffer.from(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8');
    const text = bytes.toString('utf8');
    const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]));
    let json: unknown;
    if ((headers['content-type'] ?? '').includes('json') && text !== '') json = JSON.parse(text);
    return { status: result.statusCode ?? 200, headers, text, bytes, isBase64Encoded: result.isBase64Encoded ?? false, json };
  };

  const call = (method: string, path: string, callOptions: CallOptions = {}): Promise<ApiAnswer> =>
    answerOf(handler(eventOf(method, path, callOptions), localContext('api')));

  const get = (path: string, callOptions: CallOptions = {}) => call('GET', path, callOptions);
  const post = (path: string, body: unknown, callOptions: CallOptions = {}) => call('POST', path, { ...callOptions, body });
  const patch = (path: string, body: unknown, callOptions: CallOptions = {}) => call('PATCH', path, { ...callOptions, body });

  let sequence = 0;
  /**
   * A customer's message as a connector normalizes it, stored by the real thread writer: the first one from an
   * identity makes its contact and thread.
   */
  const customerWrites = async (channel: Channel, externalUserId: string, write: WriteOptions = {}): Promise<CustomerMessage> => {
    const at = (write.at ?? clock.now()).toISOString();
    const accountId = write.accountId ?? 'default';
    const externalMessageId = write.externalMessageId ?? `m-${externalUserId}-${++sequence}-${randomUUID().slice(0, 8)}`;
    const event: MessageReceivedEvent = {
      schemaVersion: 1,
      eventId: `evt_${channel}_${accountId}_${externalMessageId}`,
      channel,
      accountId,
      occurredAt: at,
      receivedAt: at,
      type: 'message.received',
      direction: 'inbound',
      externalMessageId,
      sender: {
        externalUserId,
        ...(write.displayName !== undefined && { displayName: write.displayName }),
        ...(write.verifiedPhone !== undefined && { verifiedPhone: write.verifiedPhone }),
      },
      conversation:
        write.group === undefined
          ? { externalId: externalUserId, kind: 'direct' }
          : { externalId: write.group, kind: 'group', title: 'A group' },
      content: write.content ?? { type: 'text', text: `hello from ${externalUserId}` },
    };
    const outcome = await applyEvent(event, { store: conversations, log, clock, capabilities: capabilitiesOf });
    if (outcome.kind !== 'stored' && outcome.kind !== 'duplicate')
      throw new Error(`the thread writer did not store the message: ${JSON.stringify(outcome)}`);
    const thread = await conversations.getThread(outcome.threadId);
    if (!thread) throw new Error('the thread writer stored a message without its thread');
    return { threadId: outcome.threadId, messageId: outcome.messageId, contactId: thread.value.contactId, event };
  };

  /**
   * The media copier's work for a customer's media message, with these bytes as what the provider served (put
   * where the copier keeps them, as an earlier attempt would have): the message then names its copy.
   */
  const copyMediaOf = async (written: CustomerMessage, bytes: Buffer, contentType: string) => {
    const ref = mediaOf(written.event.content);
    if (!ref) throw new Error(`${written.event.content.type} content has no media`);
    await media.put(mediaKeyOf(written.event.channel, written.event.accountId, ref), bytes, { contentType });
    const outcome = await copyMedia(
      written.event,
      { receiveCount: 1, maxReceiveCount: 5 },
      {
        store: conversations,
        media,
        secrets,
        clock,
        log,
        fetch: provider.fetch,
        apiBaseUrls,
        connectorFor: (channel) => (connectors as Partial<Record<Channel, Connector>>)[channel],
      },
    );
    if (outcome.kind !== 'copied') throw new Error(`the media copier did not copy: ${JSON.stringify(outcome)}`);
    return outcome.key;
  };

  /**
   * One delivery attempt of a queued reply by the channel's sender, against the connector's sandbox; with
   * `providerDown`, the provider cannot be reached and it is the last attempt the queue allows (the message fails).
   */
  const deliverReply = async (threadId: string, messageId: string, { providerDown = false } = {}): Promise<DeliveryOutcome> => {
    const message = await conversations.getMessage(threadId, messageId);
    if (!message) throw new Error(`no message ${messageId} in ${threadId}`);
    provider.state.failing = providerDown;
    try {
      return await deliver(
        { kind: 'deliver', channel: message.value.channel, threadId, messageId },
        { receiveCount: providerDown ? 8 : 1, maxReceiveCount: 8, claimToken: randomUUID(), claimSeconds: 30 },
        {
          store: conversations,
          secrets,
          clock,
          log,
          fetch: provider.fetch,
          apiBaseUrls,
          connectorFor: (channel) => (connectors as Partial<Record<Channel, Connector>>)[channel],
          requeue: async () => {
            throw new Error('the record of a send failed in a test');
          },
        },
      );
    } finally {
      provider.state.failing = false;
    }
  };

  return {
    call,
    callVia,
    outbox,
    deliverReply,
    get,
    post,
    patch,
    customerWrites,
    copyMediaOf,
    newKey,
    admin,
    clock,
    log,
    media,
    dynamo,
    table,
    conversations,
    keys,
    accounts,
    idempotency,
    webhooks,
    routing,
    delivery,
    scheduler: ports.scheduler,
    queue,
    sentTo,
    secrets,
    defaultCredentials,
    provider,
    stop: async () => {
      await relaying.stop();
      await dynamo.stop();
      rmSync(secretsDir, { recursive: true, force: true });
      // Every write the API makes must become its events: a parked record is an event lost, whatever the test checked.
      if (parked.length > 0)
        throw new Error(`the outbox relay parked ${parked.length} record(s): ${JSON.stringify(parked).slice(0, 2000)}`);
    },
  };
};

export type ApiHarness = Awaited<ReturnType<typeof startApiHarness>>;
