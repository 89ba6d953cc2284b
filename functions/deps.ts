/**
 * Everything a handler may need from outside, as ports. Each handler's `create` takes the part it uses;
 * `adapters/aws/deps.ts` (the AWS composition root) builds it for Lambda and `runtime/` (the local one) for the
 * local runtime and tests.
 */
import type { Context } from 'aws-lambda';
import type { ApiKeyStore, RateLimiter } from '../domain/access/model.ts';
import type { Channel } from '../domain/content.ts';
import type { ConversationStore } from '../domain/conversations/ports.ts';
import type { RoutingStore } from '../domain/routing/ports.ts';
import type { OutboundJob } from '../domain/delivery/outbound.ts';
import type { CampaignScheduler } from '../domain/delivery/campaigns.ts';
import type { DeliveryStore } from '../domain/delivery/ports.ts';
import type { DomainEventBus } from '../domain/events/relay.ts';
import type { Clock, EventBus, MediaStore, SecretStore, VisibilityControl, WorkQueue } from '../domain/ports.ts';

export type { VisibilityControl };
import type { IdempotencyStore } from '../domain/shared/idempotency.ts';
import type { UrlPolicy, WebhookStore } from '../domain/integrations/webhooks.ts';
import type { AccountStore } from '../domain/access/accounts.ts';
import type { Observability } from './kit/observability.ts';
import type { QueueName } from '../topology/topology.ts';

export interface Deps {
  readonly conversations: ConversationStore;
  readonly keys: ApiKeyStore;
  readonly accounts: AccountStore;
  readonly idempotency: IdempotencyStore;
  readonly webhooks: WebhookStore;
  /** Consent, templates, campaigns, pacing and notification lookups (domain/delivery/). */
  readonly delivery: DeliveryStore;
  /** Where a campaign's start waits for its time: EventBridge Scheduler in AWS, a delayed queue message locally. */
  readonly scheduler: CampaignScheduler;
  /** Per-key request limits of the integrator API. */
  readonly rateLimiter?: RateLimiter | undefined;
  /** Agents, teams, the assignment queue and each thread's route. */
  readonly routing: RoutingStore;
  /** Connector events, from the webhooks. */
  readonly bus: EventBus;
  /** Domain events, from the outbox relay. */
  readonly domainBus: DomainEventBus;
  /** Sends each job to its channel's outbound queue. */
  readonly outbound: WorkQueue<OutboundJob>;
  /** Any other queue the function's topology entry may send to (`access.sendTo`), by name. */
  readonly queue: (name: QueueName) => WorkQueue<unknown>;
  /** The queue the function consumes (a sender's or media copier's), whose messages it postpones. */
  readonly visibility: VisibilityControl;
  readonly secrets: SecretStore;
  /** Parley's media storage: S3 in AWS, the data dir locally. */
  readonly media: MediaStore;
  readonly clock: Clock;
  readonly observability: Observability;
  readonly fetch: typeof globalThis.fetch;
  /** Overrides of each provider's API origin (tests, demos, sandboxes). */
  readonly apiBaseUrls: Partial<Record<Channel, string>>;
  /** Where webhook subscriptions may point (public https in AWS; loopback http too, locally). */
  readonly webhookUrlPolicy?: UrlPolicy | undefined;
  /** Message retention in days; absent: messages are kept. */
  readonly retentionDays?: number | undefined;
}

/** A function's environment variables: `process.env` in Lambda, the topology's values locally. */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * What every module under `functions/` exports: `create` wires the handler from ports and environment
 * (the local runtime calls it), and `handler` is the same wiring with AWS adapters and `process.env`.
 */
export interface FunctionModule {
  create(deps: Deps, environment: Environment): (event: never, context: Context) => Promise<unknown>;
}

/**
 * A queue message's payload. Rules deliver only an event's `detail`, but an event EventBridge could not
 * deliver lands whole in the dead-letter queue, and a redrive brings it back like that.
 */
export const detailOf = (body: unknown): unknown =>
  typeof body === 'object' && body !== null && 'detail-type' in body && 'detail' in body ? (body as { detail: unknown }).detail : body;

/**
 * A queue setting the topology gives a consumer (`MAX_RECEIVE_COUNT`, `VISIBILITY_TIMEOUT_SECONDS`), which
 * must equal the queue's own so the last attempt knows it is the last.
 */
export const queueSetting = (environment: Environment, name: 'MAX_RECEIVE_COUNT' | 'VISIBILITY_TIMEOUT_SECONDS'): number => {
  const value = Number(environment[name]);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be set to a positive integer (the topology sets it for queue consumers)`);
  return value;
};

/** The connector of a one-channel function; any other channel has none here. */
export const connectorOnly =
  <C extends { readonly channel: Channel }>(connector: C) =>
  (channel: Channel): C | undefined =>
    channel === connector.channel ? connector : undefined;
