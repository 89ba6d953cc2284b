/**
 * The local composition root: the same ports as in AWS (`adapters/aws/deps.ts`), wired to the local engine
 * and the runtime's own bus, queues, secrets and media folder. Both threads of the runtime build their
 * dependencies here: the main thread (HTTP functions) and the back office (queue and stream consumers).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoAccountStore, DynamoApiKeyStore, DynamoIdempotencyStore } from '../adapters/aws/store/access.ts';
import { DynamoConversationStore } from '../adapters/aws/store/conversations.ts';
import { DynamoWebhookStore } from '../adapters/aws/store/webhooks.ts';
import { DynamoRateLimiter } from '../adapters/aws/store/rate-limits.ts';
import { DynamoDeliveryStore } from '../adapters/aws/store/delivery.ts';
import type { CampaignJob } from '../domain/delivery/campaigns.ts';

/** Requests per second each API key may make locally, as in AWS (`PARLEY_API_RATE_LIMIT`). */
export const DEFAULT_RATE_LIMIT = 50;
import { DynamoRoutingStore } from '../adapters/aws/store/routing.ts';
import { LOCAL_URL_POLICY } from '../domain/integrations/webhooks.ts';
import { createDocumentClient, DynamoTable } from '../adapters/aws/store/table.ts';
import type { Channel } from '../domain/content.ts';
import type { OutboundJob } from '../domain/delivery/outbound.ts';
import type { DomainEventBus } from '../domain/events/relay.ts';
import { systemClock, type EventBus, type MediaStore, type SecretStore, type WorkQueue } from '../domain/ports.ts';
import type { Deps, VisibilityControl } from '../functions/deps.ts';
import type { Observability } from '../functions/kit/observability.ts';
import type { QueueName } from '../topology/topology.ts';
import { LOCAL_TABLE_NAME } from '../topology/table.ts';

export interface LocalPorts {
  readonly dynamo: DynamoDBClient;
  readonly bus: EventBus;
  readonly domainBus: DomainEventBus;
  readonly outbound: WorkQueue<OutboundJob>;
  readonly queue: (name: QueueName) => WorkQueue<unknown>;
  readonly visibility: VisibilityControl;
  readonly secrets: SecretStore;
  readonly media: MediaStore;
  readonly observability: Observability;
  readonly apiBaseUrls: Partial<Record<Channel, string>>;
  readonly retentionDays?: number | undefined;
  readonly rateLimit?: number | undefined;
}

export const localDeps = (ports: LocalPorts): Deps => {
  const table = new DynamoTable({ client: createDocumentClient(ports.dynamo), tableName: LOCAL_TABLE_NAME });
  return {
    conversations: new DynamoConversationStore({ table, clock: systemClock }),
    keys: new DynamoApiKeyStore(table),
    accounts: new DynamoAccountStore(table),
    idempotency: new DynamoIdempotencyStore(table),
    webhooks: new DynamoWebhookStore(table),
    delivery: new DynamoDeliveryStore(table),
    // Locally the campaigns queue holds a scheduled start itself (its journal keeps it across restarts).
    scheduler: {
      schedule: (job: CampaignJob, at: Date) =>
        ports.queue('campaigns').send(job, { delaySeconds: Math.max(0, (at.getTime() - Date.now()) / 1000) }),
    },
    rateLimiter: new DynamoRateLimiter(table, systemClock, ports.rateLimit ?? DEFAULT_RATE_LIMIT),
    routing: new DynamoRoutingStore(table),
    bus: ports.bus,
    domainBus: ports.domainBus,
    outbound: ports.outbound,
    queue: ports.queue,
    visibility: ports.visibility,
    secrets: ports.secrets,
    media: ports.media,
    clock: systemClock,
    observability: ports.observability,
    fetch: globalThis.fetch,
    apiBaseUrls: ports.apiBaseUrls,
    retentionDays: ports.retentionDays,
    webhookUrlPolicy: LOCAL_URL_POLICY,
  };
};

/** `PARLEY_MESSAGE_RETENTION_DAYS`: messages expire this many days after they were written; unset, they are kept. */
/** `PARLEY_API_RATE_LIMIT`: requests per second per API key. */
export const rateLimitOf = (env: NodeJS.ProcessEnv): number | undefined => {
  const raw = env.PARLEY_API_RATE_LIMIT;
  if (raw === undefined || raw === '') return undefined;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1)
    throw new Error(`PARLEY_API_RATE_LIMIT must be a whole number of requests per second, but '${raw}' was given`);
  return limit;
};

export const retentionDaysOf = (env: NodeJS.ProcessEnv): number | undefined => {
  const raw = env.PARLEY_MESSAGE_RETENTION_DAYS;
  if (raw === undefined || raw === '') return undefined;
  const days = Number(raw);
  if (!Number.isInteger(days) || days < 1)
    throw new Error(`PARLEY_MESSAGE_RETENTION_DAYS must be a whole number of days, but '${raw}' was given`);
  return days;
};
