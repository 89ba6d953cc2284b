/**
 * Which functions Parley has, what triggers them and what they may touch, declared once as plain data.
 * `lib/` renders this table to AWS (API Gateway routes, EventBridge rules, SQS event sources, IAM grants);
 * `runtime/` renders the same table to an HTTP server, an in-process bus and in-process queues. Neither
 * may add a trigger the other does not know about.
 */
import { SUBSCRIPTIONS_PARTITION } from './table.ts';
import { MEDIA_CONTENT_TYPES, type Channel } from '../domain/content.ts';
import { EVENT_SOURCE, EVENT_TYPES } from '../domain/events.ts';
import { DOMAIN_EVENT_SOURCE } from '../domain/events/domain-events.ts';
import { MAX_ATTEMPTS } from '../domain/integrations/webhooks.ts';
import { outboundQueueOf, proactiveQueueOf } from './queue-names.ts';

export { outboundQueueOf, proactiveQueueOf, queueOfJob, queueUrlVariable } from './queue-names.ts';

import { ENABLED_CHANNELS, type EnabledChannel } from './channels.ts';

export { ENABLED_CHANNELS, type EnabledChannel };

export { MAX_WEBHOOK_BODY_BYTES } from './limits.ts';

/** Channels whose provider documents larger webhook bodies (WhatsApp batches reach 3 MB). */
const WEBHOOK_BODY_LIMITS: Partial<Record<Channel, number>> = { whatsapp: 3 * 1024 * 1024 };

export interface QueueSpec {
  /** Seconds a received message stays invisible; must exceed the consumer's timeout. */
  readonly visibilityTimeoutSeconds: number;
  /** Receives before a message moves to the dead-letter queue. */
  readonly maxReceiveCount: number;
  readonly batchSize: number;
  /** How long the dead-letter queue keeps messages for inspection and redrive. */
  readonly deadLetterRetentionDays: number;
  /**
   * How long the consumer's event source waits to fill a batch: under load, one invocation (and one receive
   * and one delete request) carries up to `batchSize` messages instead of one.
   */
  readonly batchingWindowSeconds?: number;
  /**
   * Batches the consumer handles at once. Lambda runs several invocations per queue anyway; the local runtime
   * runs one batch at a time unless this says more, which a queue whose messages must not wait behind a slow
   * one (webhook deliveries to receivers that hang until their timeout) needs.
   */
  readonly concurrentBatches?: number;
  /**
   * Work that may wait for the rest (campaign messages, their dispatch and progress): locally, where every consumer
   * shares one back office, it takes a batch only while no other queue has work waiting; in AWS, where each function
   * has its own CPU, its event source runs at most a couple of batches at once, so a campaign never takes the
   * account's concurrency from the replies.
   */
  readonly background?: boolean;
}

/**
 * Channels whose customers send media Parley copies (KakaoTalk's skill payloads carry none). Checked
 * against the connectors that can download media by a test.
 */
export const MEDIA_CHANNELS = ['whatsapp', 'messenger', 'instagram', 'line', 'telegram'] as const satisfies readonly EnabledChannel[];
export type MediaChannel = (typeof MEDIA_CHANNELS)[number];

/**
 * Outbound and media work has a queue per channel, each with its own consumer function that bundles that
 * channel's connector alone: one provider's outage or rate limit never holds up another's messages, and a
 * function holds only its own channel's secrets.
 */
export type QueueName =
  | 'inbound'
  | `outbound-${EnabledChannel}`
  | `proactive-${EnabledChannel}`
  | `media-${MediaChannel}`
  | 'outbox-parked'
  | 'erasure'
  | 'webhook-deliveries'
  | 'assignment'
  | 'campaigns'
  | 'campaign-statuses';

const INBOUND_QUEUE: QueueSpec = {
  visibilityTimeoutSeconds: 60,
  maxReceiveCount: 5,
  batchSize: 10,
  deadLetterRetentionDays: 14,
  batchingWindowSeconds: 1,
};
/**
 * Stream records the outbox relay could not turn into domain events, kept with their images for inspection.
 * Nothing consumes it; its alarm says something is there.
 */
const PARKED_QUEUE: QueueSpec = { visibilityTimeoutSeconds: 30, maxReceiveCount: 1000, batchSize: 1, deadLetterRetentionDays: 14 };
/** Agent replies and provider actions to a channel's sender. Visibility outlasts the sender's 120 s timeout. */
const OUTBOUND_QUEUE: QueueSpec = { visibilityTimeoutSeconds: 180, maxReceiveCount: 8, batchSize: 10, deadLetterRetentionDays: 14 };
/**
 * Received messages with media to a channel's media copier. Small batches: each record is a download of up
 * to 100 MB. Visibility outlasts the copier's 120 s timeout; 8 receives with backoff span several minutes,
 * enough for the thread writer to store the message the copy is recorded on.
 */
const MEDIA_QUEUE: QueueSpec = { visibilityTimeoutSeconds: 180, maxReceiveCount: 8, batchSize: 4, deadLetterRetentionDays: 14 };

/**
 * Notifications and campaign messages to a channel's proactive sender, which paces them behind replies. A job
 * waiting for its turn goes back on the queue as a new message, so waiting uses up no receive.
 */
const PROACTIVE_QUEUE: QueueSpec = {
  visibilityTimeoutSeconds: 180,
  maxReceiveCount: 8,
  batchSize: 10,
  deadLetterRetentionDays: 14,
  background: true,
};

export const QUEUES: Readonly<Record<QueueName, QueueSpec>> = {
  /** Events from the bus to the thread writer. */
  inbound: INBOUND_QUEUE,
  ...(Object.fromEntries(ENABLED_CHANNELS.map((c) => [outboundQueueOf(c), OUTBOUND_QUEUE])) as Record<
    `outbound-${EnabledChannel}`,
    QueueSpec
  >),
  ...(Object.fromEntries(ENABLED_CHANNELS.map((c) => [proactiveQueueOf(c), PROACTIVE_QUEUE])) as Record<
    `proactive-${EnabledChannel}`,
    QueueSpec
  >),
  /**
   * The hops of campaigns' dispatch chains (and their scheduled starts): one job per campaign at a time, each a
   * page of recipients. Visibility outlasts the dispatcher's 60 s timeout.
   */
  campaigns: { visibilityTimeoutSeconds: 90, maxReceiveCount: 8, batchSize: 1, deadLetterRetentionDays: 14, background: true },
  /** Status events of campaign messages, to keep each recipient's state and the campaign's counts. */
  'campaign-statuses': {
    visibilityTimeoutSeconds: 60,
    maxReceiveCount: 8,
    batchSize: 10,
    deadLetterRetentionDays: 14,
    batchingWindowSeconds: 1,
    background: true,
  },
  ...(Object.fromEntries(MEDIA_CHANNELS.map((c) => [`media-${c}`, MEDIA_QUEUE])) as Record<`media-${MediaChannel}`, QueueSpec>),
  'outbox-parked': PARKED_QUEUE,
  /**
   * Webhook deliveries to integrators, one job per event and subscription. Each failed attempt postpones its job
   * by the retry schedule (about a day in all); the receive count covers every attempt.
   */
  'webhook-deliveries': {
    visibilityTimeoutSeconds: 60,
    maxReceiveCount: MAX_ATTEMPTS,
    batchSize: 10,
    deadLetterRetentionDays: 14,
    concurrentBatches: 10,
  },
  /** `contact.erased` events and the pages of erasure that follow them, to the eraser. */
  erasure: { visibilityTimeoutSeconds: 120, maxReceiveCount: 8, batchSize: 1, deadLetterRetentionDays: 14 },
  /**
   * Domain events that need a person or free capacity, to the assigner. No batching window: a customer waits
   * for the answer. Visibility outlasts the assigner's 30 s timeout.
   */
  assignment: { visibilityTimeoutSeconds: 60, maxReceiveCount: 8, batchSize: 10, deadLetterRetentionDays: 14 },
};

/** An EventBridge pattern. Only exact-value lists, `prefix` and `exists` are used, so both renderers agree on them. */
export type EventPattern = {
  readonly [key: string]: readonly (string | { readonly prefix: string } | { readonly exists: boolean })[] | EventPattern;
};

export interface RuleSpec {
  readonly description: string;
  readonly pattern: EventPattern;
  readonly target: QueueName;
  /** What the queue receives: the whole EventBridge event, or only its `detail`. */
  readonly input: 'event' | 'detail';
}

export const RULES: Readonly<Record<string, RuleSpec>> = {
  'to-campaign-progress': {
    description: "Status changes of campaign messages update their recipients and the campaign's counts",
    pattern: {
      source: [DOMAIN_EVENT_SOURCE],
      'detail-type': ['message.status'],
      detail: { data: { message: { notification: { campaignId: [{ exists: true }] } } } },
    },
    target: 'campaign-statuses',
    input: 'detail',
  },
  'to-eraser': {
    description: "An erased contact's messages are erased by the eraser, page by page",
    pattern: { source: [DOMAIN_EVENT_SOURCE], 'detail-type': ['contact.erased'] },
    target: 'erasure',
    input: 'detail',
  },
  'to-assigner': {
    description:
      'Threads that may need a person (created, released, transferred, control changed) and capacity that appeared (an agent online or given more room) go to the assigner',
    pattern: {
      source: [DOMAIN_EVENT_SOURCE],
      'detail-type': [
        'thread.created',
        'thread.unassigned',
        'thread.transferred',
        'thread.control.changed',
        'agent.availability.changed',
        'agent.updated',
      ],
    },
    target: 'assignment',
    input: 'detail',
  },
  'to-assigner-thread-changes': {
    description:
      "Thread changes that decide whether it needs a person and holds an agent's capacity (status, attributes, merges) go to the assigner",
    pattern: {
      source: [DOMAIN_EVENT_SOURCE],
      'detail-type': ['thread.updated'],
      detail: { data: { changes: ['status', 'attributes', 'mergedThreads'] } },
    },
    target: 'assignment',
    input: 'detail',
  },
  'to-thread-writer': {
    description: 'Connector events that change threads go to the thread writer',
    pattern: {
      source: [EVENT_SOURCE],
      'detail-type': [EVENT_TYPES.messageReceived, EVENT_TYPES.messageEdited, EVENT_TYPES.messageStatus, EVENT_TYPES.identityUnreachable],
    },
    target: 'inbound',
    input: 'detail',
  },
  ...Object.fromEntries(
    MEDIA_CHANNELS.map((channel): [string, RuleSpec] => [
      `to-media-copier-${channel}`,
      {
        description: `Received ${channel} messages with media go to its media copier, which copies the media before the provider's link expires`,
        pattern: {
          source: [EVENT_SOURCE],
          'detail-type': [EVENT_TYPES.messageReceived],
          detail: { channel: [channel], content: { type: [...MEDIA_CONTENT_TYPES] } },
        },
        target: `media-${channel}`,
        input: 'detail',
      },
    ]),
  ),
  ...Object.fromEntries(
    ENABLED_CHANNELS.map((channel): [string, RuleSpec] => [
      `to-sender-${channel}`,
      {
        description: `Provider calls a ${channel} webhook asked for (answerCallbackQuery, ...) go to its sender`,
        pattern: { source: [EVENT_SOURCE], 'detail-type': [EVENT_TYPES.providerAction], detail: { channel: [channel] } },
        target: outboundQueueOf(channel),
        input: 'detail',
      },
    ]),
  ),
};

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'ANY';

export interface RouteSpec {
  readonly method: HttpMethod;
  /** API Gateway HTTP API path, with `{param}` and `{proxy+}` placeholders. */
  readonly path: string;
  /**
   * `apiKey`: the integrator authorizer runs first; `none`: no key (the handler verifies the provider itself,
   * or the route is public, as the OpenAPI document is).
   */
  readonly auth: 'apiKey' | 'none';
}

/** What a function may touch; the stacks turn it into IAM grants, the runtime into adapters. */
export interface Access {
  /** The table, except API key items (which `dynamodb:LeadingKeys` keeps out of reach unless `apiKeys` says). */
  readonly table?: 'read' | 'readWrite';
  /** API key items alone: the authorizer reads them, the API's admin routes write them. */
  readonly apiKeys?: 'read' | 'readWrite';
  readonly bus?: 'put';
  readonly sendTo?: readonly QueueName[];
  readonly secrets?: readonly Channel[];
  /** Create and replace the secrets of these channels' further accounts (never the default account's). */
  readonly manageSecrets?: readonly Channel[];
  /**
   * One-time schedules (EventBridge Scheduler in AWS) that send a message to these queues at a given time: a
   * campaign's start at its `scheduledAt`. Locally the queue itself holds the message until then.
   */
  readonly schedules?: readonly QueueName[];
  /** Parley's media storage (the S3 bucket): the copier writes, the API reads, the eraser deletes. */
  readonly media?: 'read' | 'readWrite' | 'delete';
}

/**
 * The table's change stream as a trigger (a Lambda event source mapping on DynamoDB Streams): records are
 * delivered in order per item, only those matching one of `filters` (Lambda filter criteria), each batch
 * retried until it succeeds (a record that fails is reported with the rest after it).
 */
export interface StreamTrigger {
  readonly batchSize: number;
  readonly batchingWindowSeconds: number;
  readonly filters: readonly EventPattern[];
}

export interface FunctionSpec {
  /** Module under `functions/` exporting `handler` (AWS) and `create` (wiring with explicit dependencies). */
  readonly entry: string;
  readonly description: string;
  readonly routes?: readonly RouteSpec[];
  readonly queue?: QueueName;
  readonly stream?: StreamTrigger;
  /** A fixed schedule (EventBridge Scheduler in AWS, a timer locally), in minutes. */
  readonly everyMinutes?: number;
  readonly access: Access;
  readonly environment?: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
}

const webhookFunction = (channel: EnabledChannel): FunctionSpec => ({
  entry: `functions/webhooks/${channel}.ts`,
  description: `Verifies and normalizes ${channel} webhooks and puts their events on the bus`,
  routes: [
    // GET: Meta's verification handshake, which every account's callback URL must answer to be subscribed.
    { method: 'GET', path: `/webhooks/${channel}`, auth: 'none' },
    { method: 'POST', path: `/webhooks/${channel}`, auth: 'none' },
    { method: 'GET', path: `/webhooks/${channel}/{accountId}`, auth: 'none' },
    { method: 'POST', path: `/webhooks/${channel}/{accountId}`, auth: 'none' },
  ],
  access: { bus: 'put', secrets: [channel] },
  environment: {
    PARLEY_CHANNEL: channel,
    ...(WEBHOOK_BODY_LIMITS[channel] !== undefined && { MAX_WEBHOOK_BODY_BYTES: String(WEBHOOK_BODY_LIMITS[channel]) }),
  },
  timeoutSeconds: 10,
  // Verifying and normalizing a body is light; at 256 MB a webhook costs half of what 512 MB would.
  memoryMb: 256,
});

const senderFunction = (channel: EnabledChannel): FunctionSpec => ({
  entry: `functions/senders/${channel}.ts`,
  description: `Delivers agents' messages and provider actions to the ${channel} API`,
  queue: outboundQueueOf(channel),
  // Its own queue: a job held back (an earlier message to the same customer) or a send to record goes back on it.
  access: { table: 'readWrite', secrets: [channel], sendTo: [outboundQueueOf(channel)] },
  // A batch of 10 sent one after another, each provider call allowed 10 s: the queue's visibility
  // timeout (and so the sending claim) must outlast it.
  timeoutSeconds: 120,
  // Mostly waiting on the provider's API: memory (and with it CPU) would be billed for the wait.
  memoryMb: 256,
});

/**
 * The same sender on the proactive lane: paced so that it leaves a reserve of the provider's rate to the
 * interactive sender, and not sending what a cancelled campaign still had queued.
 */
const proactiveSenderFunction = (channel: EnabledChannel): FunctionSpec => ({
  entry: `functions/senders/${channel}.ts`,
  description: `Delivers notifications and campaign messages to the ${channel} API, paced behind replies`,
  queue: proactiveQueueOf(channel),
  access: { table: 'readWrite', secrets: [channel], sendTo: [proactiveQueueOf(channel)] },
  timeoutSeconds: 120,
  memoryMb: 256,
});

const mediaCopierFunction = (channel: MediaChannel): FunctionSpec => ({
  entry: `functions/media-copiers/${channel}.ts`,
  description: `Copies customers' media from ${channel} into Parley's storage and records the copy`,
  queue: `media-${channel}`,
  access: { table: 'readWrite', media: 'readWrite', secrets: [channel] },
  // A batch of 4 downloads, each allowed 30 s, plus storing: the queue's visibility timeout outlasts it.
  timeoutSeconds: 120,
  // Media up to 100 MB is held in memory while it is stored.
  memoryMb: 1024,
});

export const FUNCTIONS = {
  ...(Object.fromEntries(ENABLED_CHANNELS.map((c) => [`webhook-${c}`, webhookFunction(c)])) as Record<
    `webhook-${EnabledChannel}`,
    FunctionSpec
  >),
  'thread-writer': {
    entry: 'functions/thread-writer.ts',
    description: 'Writes connector events into contacts, threads and messages',
    queue: 'inbound',
    access: { table: 'readWrite' },
    timeoutSeconds: 30,
    memoryMb: 256,
  },
  ...(Object.fromEntries(ENABLED_CHANNELS.map((c) => [`sender-${c}`, senderFunction(c)])) as Record<
    `sender-${EnabledChannel}`,
    FunctionSpec
  >),
  ...(Object.fromEntries(ENABLED_CHANNELS.map((c) => [`proactive-sender-${c}`, proactiveSenderFunction(c)])) as Record<
    `proactive-sender-${EnabledChannel}`,
    FunctionSpec
  >),
  'campaign-dispatcher': {
    entry: 'functions/campaign-dispatcher.ts',
    description: "Dispatches campaigns' recipients a page at a time, at each campaign's pace, checking window and consent",
    queue: 'campaigns',
    // Reads channel settings (entitlements, the Kakao Event API key) to check each recipient's window.
    access: { table: 'readWrite', secrets: [...ENABLED_CHANNELS], sendTo: ['campaigns'] },
    timeoutSeconds: 60,
    memoryMb: 512,
  },
  'campaign-progress': {
    entry: 'functions/campaign-progress.ts',
    description: "Keeps each campaign recipient's state and the campaign's counts from its message's status",
    queue: 'campaign-statuses',
    access: { table: 'readWrite' },
    timeoutSeconds: 30,
    memoryMb: 256,
  },
  ...(Object.fromEntries(MEDIA_CHANNELS.map((c) => [`media-copier-${c}`, mediaCopierFunction(c)])) as Record<
    `media-copier-${MediaChannel}`,
    FunctionSpec
  >),
  api: {
    entry: 'functions/api.ts',
    description: 'The integrator API (/v1)',
    // Every method reaches the API, so a wrong one is answered 405 with `Allow` rather than API Gateway's 404.
    routes: [{ method: 'ANY', path: '/v1/{proxy+}', auth: 'apiKey' }],
    // Reads every channel's secrets to tell whether an account is configured; keeps those put with a registration.
    access: {
      table: 'readWrite',
      apiKeys: 'readWrite',
      // Redelivered webhook deliveries; campaigns started (and scheduled, see `schedules`); replies' and
      // notifications' delivery jobs queued at once (besides the outbox relay's).
      sendTo: ['webhook-deliveries', 'campaigns', ...ENABLED_CHANNELS.map(outboundQueueOf), ...ENABLED_CHANNELS.map(proactiveQueueOf)],
      schedules: ['campaigns'],
      media: 'read',
      secrets: [...ENABLED_CHANNELS],
      manageSecrets: [...ENABLED_CHANNELS],
    },
    timeoutSeconds: 10,
    memoryMb: 256,
  },
  'api-docs': {
    entry: 'functions/api-docs.ts',
    description: "The integrator API's OpenAPI document (/v1/openapi.json), public",
    routes: [{ method: 'GET', path: '/v1/openapi.json', auth: 'none' }],
    access: {},
    timeoutSeconds: 5,
    memoryMb: 256,
  },
  'outbox-relay': {
    entry: 'functions/outbox-relay.ts',
    description: 'Publishes the domain events each write recorded (the outbox) and queues what they ask for',
    stream: {
      batchSize: 50,
      batchingWindowSeconds: 1,
      // Only records whose write carried domain events, and changes to webhook subscriptions (which refresh the
      // relay's cached list at once): the rest never invoke the function.
      filters: [
        { eventName: ['INSERT', 'MODIFY'], dynamodb: { NewImage: { ev: { S: [{ exists: true }] } } } },
        { dynamodb: { Keys: { pk: { S: [SUBSCRIPTIONS_PARTITION] } } } },
      ],
    },
    // Reads the webhook subscriptions and writes each delivery's record; queues replies and deliveries.
    access: {
      table: 'readWrite',
      bus: 'put',
      sendTo: [...ENABLED_CHANNELS.map(outboundQueueOf), ...ENABLED_CHANNELS.map(proactiveQueueOf), 'outbox-parked', 'webhook-deliveries'],
    },
    timeoutSeconds: 30,
    memoryMb: 256,
  },
  'webhook-dispatcher': {
    entry: 'functions/webhook-dispatcher.ts',
    description: "Delivers domain events to integrators' webhook receivers, signed (Standard Webhooks), retried for a day",
    queue: 'webhook-deliveries',
    access: { table: 'readWrite' },
    // A batch of 10 deliveries attempted concurrently, each allowed 10 s.
    timeoutSeconds: 30,
    memoryMb: 256,
  },
  eraser: {
    entry: 'functions/eraser.ts',
    description: "Erases an erased contact's message content and media, one page per job",
    queue: 'erasure',
    access: { table: 'readWrite', media: 'delete', sendTo: ['erasure'] },
    timeoutSeconds: 60,
    memoryMb: 256,
  },
  assigner: {
    entry: 'functions/assigner.ts',
    description: 'Routes threads that need a person to eligible agents with free capacity (skills, load, fairness), on events',
    queue: 'assignment',
    access: { table: 'readWrite' },
    timeoutSeconds: 30,
    memoryMb: 256,
  },
  'assignment-sweep': {
    entry: 'functions/assignment-sweep.ts',
    description: 'Returns unanswered assignments to the queue after the answer timeout, and assigns what time made assignable',
    everyMinutes: 1,
    access: { table: 'readWrite' },
    timeoutSeconds: 60,
    memoryMb: 256,
  },
  'thread-lifecycle': {
    entry: 'functions/thread-lifecycle.ts',
    description: 'Opens snoozed threads whose time has come and resolves idle ones (AUTO_RESOLVE_AFTER_HOURS)',
    everyMinutes: 1,
    access: { table: 'readWrite' },
    timeoutSeconds: 60,
    memoryMb: 256,
  },
  authorizer: {
    entry: 'functions/authorizer.ts',
    description: 'Checks integrator bearer keys against their stored hashes',
    access: { apiKeys: 'read' },
    timeoutSeconds: 5,
    memoryMb: 256,
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof FUNCTIONS;

/**
 * The environment a function gets from the topology, in AWS and locally alike. The stacks add the names of
 * the resources (TABLE_NAME, BUS_NAME, SECRET_PREFIX, MEDIA_BUCKET, `QUEUE_URL` of the queue it consumes and
 * {@link queueUrlVariable} of each queue it sends to); the local runtime needs none.
 */
export const environmentOf = (spec: FunctionSpec): Readonly<Record<string, string>> => ({
  ...spec.environment,
  ...(spec.queue && {
    MAX_RECEIVE_COUNT: String(QUEUES[spec.queue].maxReceiveCount),
    VISIBILITY_TIMEOUT_SECONDS: String(QUEUES[spec.queue].visibilityTimeoutSeconds),
  }),
});
