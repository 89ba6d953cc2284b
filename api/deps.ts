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
import type { CampaignJob, CampaignScheduler } from '../domain/delivery/campaigns.ts';
import type { DeliveryStore } from '../domain/delivery/ports.ts';
import type { Template } from '../domain/delivery/templates.ts';
import type { OutboundJob } from '../domain/delivery/outbound.ts';
import type { Credentials } from '../domain/ports.ts';
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
  /**
   * The outbound queues (by channel and lane), for the fast path: a reply's delivery job is queued at once, besides
   * the one the outbox relay queues from the write, so a busy relay never makes a waiting customer wait. The relay's
   * job stays the guarantee; the sender's claim makes the second job harmless. Absent: the relay's job alone.
   */
  readonly outbound?: WorkQueue<OutboundJob> | undefined;
  /** Consent, templates, campaigns and notification lookups. */
  readonly delivery: DeliveryStore;
  /** Where campaigns' dispatch jobs go. */
  readonly campaigns: WorkQueue<CampaignJob>;
  /** Where a scheduled campaign's start waits for its time. */
  readonly scheduler: CampaignScheduler;
  /**
   * Reads an account's templates from its provider (WhatsApp's message templates), for channels that have them;
   * undefined where the channel has none. Throws a provider error when the provider refuses or cannot answer.
   */
  readonly providerTemplates?:
    | ((channel: Channel, accountId: string, credentials: Credentials) => Promise<Template[] | undefined>)
    | undefined;
  /** Message retention, in days: replies expire like customers' messages. */
  readonly retentionDays?: number | undefined;
}

export type Api = OpenAPIHono<ApiEnv>;
