/**
 * Outgoing webhooks: integrators subscribe to domain event types and receive each event as a signed POST, in
 * the manner of the Standard Webhooks specification, so a receiver verifies it with the `standardwebhooks`
 * library of its language:
 *
 * - headers `webhook-id` (one per delivery: an event to a subscription; a retry keeps it), `webhook-timestamp`
 *   (seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` with the
 *   subscription's secret, `whsec_<base64>`);
 * - body `{ id, type, createdAt, data }`: the domain event;
 * - a 2xx answer is success; anything else, a timeout or a refused connection is retried with exponential
 *   backoff and jitter, 8 attempts within a day, then the delivery is `failed` and parked, and the API can
 *   redeliver it.
 *
 * Each delivery is its own job, so a slow or failing receiver never delays another subscription.
 * @see https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import * as z from 'zod';
import { deterministicId } from '../ids.ts';
import type { DomainEvent, DomainEventType } from '../events/domain-events.ts';
import { addressRefusal } from '../shared/addresses.ts';
import type { Page, Versioned } from '../shared/store.ts';
import { IsoInstantSchema } from '../shared/time.ts';

export const WEBHOOK_EVENT_WILDCARD = '*';

export const SubscriptionSchema = z
  .object({
    id: z.string(),
    url: z.string().url(),
    events: z.array(z.string().min(1)).min(1).describe('Event types, or `["*"]` for every type'),
    description: z.string().max(500).optional(),
    enabled: z.boolean(),
    createdAt: IsoInstantSchema,
    updatedAt: IsoInstantSchema,
  })
  .meta({ id: 'WebhookSubscription' });
export type Subscription = z.infer<typeof SubscriptionSchema>;

/** A subscription as stored: with its signing secret, which the API shows once, when it is made. */
export interface StoredSubscription extends Subscription {
  readonly secret: string;
}

export const DELIVERY_STATES = ['pending', 'delivered', 'retrying', 'failed'] as const;

export const DeliverySchema = z
  .object({
    id: z.string().describe('The `webhook-id` header: the same for every attempt of this delivery'),
    subscriptionId: z.string(),
    eventId: z.string(),
    eventType: z.string(),
    state: z.enum(DELIVERY_STATES),
    attempts: z.int().nonnegative(),
    lastStatusCode: z.int().optional().describe("The receiver's last HTTP status"),
    lastLatencyMs: z.int().nonnegative().optional(),
    lastError: z.string().optional().describe('Why the last attempt failed, when it did not reach an answer'),
    nextAttemptAt: IsoInstantSchema.optional(),
    createdAt: IsoInstantSchema,
    updatedAt: IsoInstantSchema,
  })
  .meta({ id: 'WebhookDelivery' });
export type Delivery = z.infer<typeof DeliverySchema>;

/** A delivery as stored: with the body it sends (the event), so it can be sent again after it failed. */
export interface StoredDelivery extends Delivery {
  readonly body: string;
  /**
   * Set while an attempt waits for the receiver: until then, another delivery of the same job (SQS delivers at
   * least once; the relay may queue a job twice) leaves the delivery alone instead of posting it a second time.
   */
  readonly attemptingUntil?: string;
}

/** What the deliveries queue carries: which delivery to attempt (its record holds the body). */
export const DeliveryJobSchema = z.object({
  kind: z.literal('webhook-delivery'),
  subscriptionId: z.string().min(1),
  deliveryId: z.string().min(1),
});
export type DeliveryJob = z.infer<typeof DeliveryJobSchema>;

export interface WebhookStore {
  listSubscriptions(): Promise<StoredSubscription[]>;
  getSubscription(id: string): Promise<Versioned<StoredSubscription> | undefined>;
  /** Writes the subscription if it still has `version` (0 to create); `ConflictError` otherwise. */
  putSubscription(subscription: StoredSubscription, version: number): Promise<void>;
  deleteSubscription(id: string, version: number): Promise<void>;
  getDelivery(subscriptionId: string, deliveryId: string): Promise<Versioned<StoredDelivery> | undefined>;
  putDelivery(delivery: StoredDelivery, version: number): Promise<void>;
  /** A subscription's deliveries, newest first; they expire after {@link DELIVERY_RETENTION_DAYS}. */
  listDeliveries(subscriptionId: string, limit: number, cursor?: string): Promise<Page<Delivery>>;
}

/** How long delivery records are kept for `GET /v1/webhooks/{id}/deliveries`. */
export const DELIVERY_RETENTION_DAYS = 7;

/**
 * How long each retry waits, after the attempt before it, in seconds: 5 s, 1 min, 5 min, 30 min, 2 h, 6 h, 12 h,
 * each jittered by up to ±20 % (the 12 h wait capped at {@link MAX_RETRY_DELAY_SECONDS}). The last attempt comes
 * 16.5 to 22.3 hours after the first: within a day, whatever the jitter.
 */
export const RETRY_SCHEDULE_SECONDS = [5, 60, 300, 1800, 7200, 21_600, 43_200] as const;

/**
 * The longest wait: SQS postpones a received message by at most 12 hours counted from its receive, and refuses
 * a ChangeMessageVisibility beyond that (the message would then come back after the queue's visibility timeout,
 * a minute, instead of hours later). Five minutes are left for the attempt that ran since the receive.
 */
export const MAX_RETRY_DELAY_SECONDS = 43_200 - 300;

/** Attempts in all: the first and one per scheduled retry. The deliveries queue's receive count must match. */
export const MAX_ATTEMPTS = RETRY_SCHEDULE_SECONDS.length + 1;

/** Seconds before the next attempt, after `attempts` attempts failed; undefined when none is left. */
export const nextRetrySeconds = (attempts: number, random: () => number = Math.random): number | undefined => {
  const base = RETRY_SCHEDULE_SECONDS[attempts - 1];
  if (base === undefined) return undefined;
  return Math.min(MAX_RETRY_DELAY_SECONDS, Math.max(1, Math.round(base * (0.8 + random() * 0.4))));
};

/** A new subscription secret: 32 random bytes, as Standard Webhooks writes them. */
export const newSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

/** The `webhook-id` of an event's delivery to a subscription: stable, so retries and redeliveries keep it. */
export const deliveryIdOf = (eventId: string, subscriptionId: string): string => deterministicId('msg', eventId, subscriptionId);

/** True when the subscription wants events of this type. */
export const wants = (subscription: Subscription, type: string): boolean =>
  subscription.enabled && (subscription.events.includes(WEBHOOK_EVENT_WILDCARD) || subscription.events.includes(type));

/** The body of a delivery: the event as the contract shows it. */
export const deliveryBody = (event: DomainEvent): string =>
  JSON.stringify({ id: event.id, type: event.type, createdAt: event.createdAt, data: event.data });

/** The Standard Webhooks headers of one attempt. */
export const signedHeaders = (secret: string, deliveryId: string, body: string, at: Date): Record<string, string> => {
  const timestamp = Math.floor(at.getTime() / 1000);
  return {
    'content-type': 'application/json',
    'webhook-id': deliveryId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': new Webhook(secret).sign(deliveryId, new Date(timestamp * 1000), body),
  };
};

/** Where subscriptions may point: public https in a deployment; locally, also http on loopback. */
export interface UrlPolicy {
  readonly allowHttp: boolean;
  readonly allowLoopback: boolean;
}

export const AWS_URL_POLICY: UrlPolicy = { allowHttp: false, allowLoopback: false };
export const LOCAL_URL_POLICY: UrlPolicy = { allowHttp: true, allowLoopback: true };

/** `localhost` and names under it (RFC 6761), also written fully qualified (`localhost.`). */
const isLoopbackName = (host: string): boolean => {
  const name = host.replace(/\.+$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
};

/**
 * Why a subscription URL is refused, or undefined when it may be used: the scheme, credentials in the URL, and
 * a host that is an address (or `localhost`) Parley must not call. Names are checked again, after DNS, every
 * time a delivery connects.
 */
export const urlRefusal = (raw: string, policy: UrlPolicy): string | undefined => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:')) {
    return policy.allowHttp ? 'must be http or https' : 'must be https';
  }
  if (url.username !== '' || url.password !== '') return 'must not carry credentials';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const literal = addressRefusal(host);
  const isAddress = literal !== 'not an IP address';
  if (isLoopbackName(host)) return policy.allowLoopback ? undefined : 'points at this machine (localhost)';
  if (isAddress && literal !== undefined) {
    if (policy.allowLoopback && (literal === 'a loopback address' || host === '::1')) return undefined;
    return `points at ${literal}`;
  }
  return undefined;
};

/** Domain event types a subscription may name. */
export type SubscribableType = DomainEventType | typeof WEBHOOK_EVENT_WILDCARD;
