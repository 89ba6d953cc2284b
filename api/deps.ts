/** What the integrator API works over: domain ports only; the composition roots choose the adapters. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AccountStore } from '../domain/access/accounts.ts';
import type { AccountResolver } from '../domain/accounts.ts';
import type { ApiKeyStore, RateLimiter } from '../domain/access/model.ts';
import type { ChannelAccount, ChannelCapabilities } from '../domain/connector.ts';
import type { Channel } from '../domain/content.ts';
import type { ConversationStore } from '../domain/conversations/ports.ts';
import type { Clock, Log, MediaStore, SecretStore, WorkQueue } from '../domain/ports.ts';
import type { DeliveryJob, UrlPolicy, WebhookStore } from '../domain/integrations/webhooks.ts';
import type { IdempotencyStore } from '../domain/shared/idempotency.ts';
import type { RoutingStore } from '../domain/routing/ports.ts';
import type { ApiEnv } from './kit.ts';

export interface ApiDeps {
  readonly conversations: ConversationStore;
  readonly keys: ApiKeyStore;
  readonly accounts: AccountStore;
  readonly idempotency: IdempotencyStore;
  /** Parley's copies of customers' media, served by the media route. */
  readonly media: MediaStore;
  readonly clock: Clock;
  readonly log: Log;
  /** The channels this deployment serves. */
  readonly channels: readonly Channel[];
  /** What a channel can carry outbound; undefined when the channel has no connector here. */
  readonly capabilities: (channel: Channel) => ChannelCapabilities | undefined;
  /** What a channel's accounts need (credential names, the account id credentials name). */
  readonly account: (channel: Channel) => ChannelAccount | undefined;
  /** Channel credentials: where registered accounts' credentials are kept, and whether an account is configured. */
  readonly secrets?: SecretStore | undefined;
  /** Learns which account the default credentials serve (a LINE bot's id), so they cannot be registered over. */
  readonly accountIds?: AccountResolver | undefined;
  readonly webhooks: WebhookStore;
  /** Per-key request limits; absent: none (tests). */
  readonly rateLimiter?: RateLimiter | undefined;
  /** Agents, teams, the assignment queue and each thread's route. */
  readonly routing: RoutingStore;
  /** Where redelivered webhook deliveries are queued. */
  readonly deliveries: WorkQueue<DeliveryJob>;
  /** Where webhook subscriptions may point; a deployment's policy (public https) unless given. */
  readonly webhookUrlPolicy?: UrlPolicy | undefined;
  /** Message retention, in days: replies expire like customers' messages. */
  readonly retentionDays?: number | undefined;
}

export type Api = OpenAPIHono<ApiEnv>;
