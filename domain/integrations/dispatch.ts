/**
 * Fanning domain events out to webhook subscriptions, and attempting one delivery. Both are idempotent: the
 * delivery record decides (created once per event and subscription; each attempt is claimed on its version
 * and holds the delivery until it has an answer, so two deliveries of one job post once), and a retry keeps its
 * `webhook-id`.
 */
import type { DomainEvent } from '../events/domain-events.ts';
import type { Log, WorkQueue } from '../ports.ts';
import { ConflictError, NEW_RECORD } from '../shared/store.ts';
import { millis } from '../shared/time.ts';
import {
  deliveryBody,
  deliveryIdOf,
  MAX_ATTEMPTS,
  nextRetrySeconds,
  signedHeaders,
  urlRefusal,
  wants,
  type DeliveryJob,
  type StoredDelivery,
  type StoredSubscription,
  type UrlPolicy,
  type WebhookStore,
} from './webhooks.ts';

/** How a delivery reaches its receiver; throws when no answer came (refused, unreachable, timed out). */
export interface WebhookTransport {
  post(
    url: string,
    request: {
      readonly headers: Readonly<Record<string, string>>;
      readonly body: string;
      readonly timeoutMs: number;
      readonly policy: UrlPolicy;
    },
  ): Promise<{ readonly status: number }>;
}

export interface FanOutDeps {
  readonly webhooks: WebhookStore;
  /** The subscriptions to match (cached by the caller for a short while: the relay asks for every batch). */
  readonly subscriptions: () => Promise<readonly StoredSubscription[]>;
  readonly deliveries: WorkQueue<DeliveryJob>;
  readonly clock: { now(): Date };
}

/** Creates (once) and queues a delivery of each event to each subscription that wants it. */
export const fanOut = async (events: readonly DomainEvent[], deps: FanOutDeps): Promise<number> => {
  const subscriptions = await deps.subscriptions();
  if (subscriptions.length === 0) return 0;
  let queued = 0;
  for (const event of events) {
    for (const subscription of subscriptions.filter((s) => wants(s, event.type))) {
      const id = deliveryIdOf(event.id, subscription.id);
      const at = deps.clock.now().toISOString();
      const delivery: StoredDelivery = {
        id,
        subscriptionId: subscription.id,
        eventId: event.id,
        eventType: event.type,
        state: 'pending',
        attempts: 0,
        createdAt: at,
        updatedAt: at,
        body: deliveryBody(event),
      };
      try {
        await deps.webhooks.putDelivery(delivery, NEW_RECORD);
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        // Created by an earlier run of this batch: queued again only if nothing has attempted it yet.
        const existing = await deps.webhooks.getDelivery(subscription.id, id);
        if (!existing || existing.value.attempts > 0) continue;
      }
      await deps.deliveries.send({ kind: 'webhook-delivery', subscriptionId: subscription.id, deliveryId: id });
      queued += 1;
    }
  }
  return queued;
};

export interface DispatchDeps {
  readonly webhooks: WebhookStore;
  readonly transport: WebhookTransport;
  readonly policy: UrlPolicy;
  readonly clock: { now(): Date };
  readonly log: Log;
  readonly timeoutMs?: number;
  readonly random?: () => number;
}

export type DispatchOutcome =
  | { readonly kind: 'delivered'; readonly status: number }
  | { readonly kind: 'done'; readonly reason: string }
  /** Attempt again after `delaySeconds`. */
  | { readonly kind: 'retry'; readonly delaySeconds: number }
  /** No attempt left: the delivery is `failed`; the job goes to the dead-letter queue. */
  | { readonly kind: 'failed'; readonly reason: string };

/** A receiver that answers more slowly is treated as unreachable for this attempt. */
const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * How long past its timeout an attempt holds its delivery (reading, recording). An attempt that stopped (its
 * function timed out) frees it then: its own job comes back after the queue's visibility timeout, which is
 * longer, and attempts it again.
 */
const ATTEMPT_HOLD_MARGIN_MS = 20_000;

/** Which receive of its job this is, as the queue counts them: the last one gets no retry, whatever the attempts. */
export interface JobReceive {
  readonly receiveCount: number;
  readonly maxReceiveCount: number;
}

/**
 * Attempts one delivery: claims the attempt, posts, records what came of it. A failed attempt on the job's last
 * receive fails the delivery even when fewer attempts were recorded (a receive that ended before attempting
 * still counts for the queue, which would otherwise park the job and leave the delivery `retrying` for good).
 */
export const dispatch = async (job: DeliveryJob, deps: DispatchDeps, receive?: JobReceive): Promise<DispatchOutcome> => {
  const current = await deps.webhooks.getDelivery(job.subscriptionId, job.deliveryId);
  if (!current) return { kind: 'done', reason: 'no such delivery (expired)' };
  if (current.value.state === 'delivered') return { kind: 'done', reason: 'already delivered' };
  if (current.value.state === 'failed') return { kind: 'done', reason: 'already failed; redeliver it through the API' };
  const now = deps.clock.now();
  // Another delivery of this job is waiting for the receiver; it records the outcome and keeps its own job.
  if (current.value.attemptingUntil !== undefined && millis(current.value.attemptingUntil) > now.getTime()) {
    return { kind: 'done', reason: 'another delivery of this job is attempting it' };
  }
  const subscription = await deps.webhooks.getSubscription(job.subscriptionId);
  const record = async (next: StoredDelivery, version: number) => deps.webhooks.putDelivery(next, version);
  if (!subscription?.value.enabled) {
    await record(
      { ...current.value, state: 'failed', lastError: 'the subscription was deleted or disabled', updatedAt: now.toISOString() },
      current.version,
    );
    return { kind: 'done', reason: 'subscription gone' };
  }
  // The attempt is claimed first, and holds the delivery until it is recorded: of two deliveries of this job,
  // one posts.
  const attempts = current.value.attempts + 1;
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const attemptingUntil = new Date(now.getTime() + timeoutMs + ATTEMPT_HOLD_MARGIN_MS).toISOString();
  const claimed: StoredDelivery = { ...current.value, attempts, state: 'retrying', attemptingUntil, updatedAt: now.toISOString() };
  try {
    await record(claimed, current.version);
  } catch (error) {
    if (error instanceof ConflictError) return { kind: 'done', reason: 'another delivery of this job is attempting it' };
    throw error;
  }
  const refusal = urlRefusal(subscription.value.url, deps.policy);
  const started = Date.now();
  let status: number | undefined;
  let failure: string | undefined;
  if (refusal !== undefined) {
    failure = `the subscription URL ${refusal}`;
  } else {
    try {
      const answer = await deps.transport.post(subscription.value.url, {
        headers: signedHeaders(subscription.value.secret, current.value.id, current.value.body, now),
        body: current.value.body,
        timeoutMs,
        policy: deps.policy,
      });
      status = answer.status;
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
  }
  const latency = Date.now() - started;
  const { lastStatusCode: _code, lastError: _error, nextAttemptAt: _next, attemptingUntil: _held, ...base } = claimed;
  const outcome = {
    ...base,
    lastLatencyMs: latency,
    ...(status !== undefined && { lastStatusCode: status }),
    ...(failure !== undefined && { lastError: failure.slice(0, 500) }),
  };
  if (status !== undefined && status >= 200 && status < 300) {
    await record({ ...outcome, state: 'delivered', updatedAt: deps.clock.now().toISOString() }, current.version + 1);
    return { kind: 'delivered', status };
  }
  const lastReceive = receive !== undefined && receive.receiveCount >= receive.maxReceiveCount;
  const delay = attempts < MAX_ATTEMPTS && !lastReceive ? nextRetrySeconds(attempts, deps.random) : undefined;
  if (delay === undefined) {
    await record({ ...outcome, state: 'failed', updatedAt: deps.clock.now().toISOString() }, current.version + 1);
    deps.log.warn('webhook delivery failed for good', {
      deliveryId: current.value.id,
      subscriptionId: job.subscriptionId,
      attempts,
      status,
      failure,
    });
    return { kind: 'failed', reason: failure ?? `answered ${status}` };
  }
  const nextAttemptAt = new Date(deps.clock.now().getTime() + delay * 1000).toISOString();
  await record({ ...outcome, state: 'retrying', nextAttemptAt, updatedAt: deps.clock.now().toISOString() }, current.version + 1);
  return { kind: 'retry', delaySeconds: delay };
};

/** Sends a delivery again, as it was (same `webhook-id`, same body), with its attempts counted afresh. */
export const redeliver = async (
  deps: Pick<DispatchDeps, 'webhooks' | 'clock'> & { readonly deliveries: WorkQueue<DeliveryJob> },
  subscriptionId: string,
  deliveryId: string,
): Promise<StoredDelivery | undefined> => {
  const current = await deps.webhooks.getDelivery(subscriptionId, deliveryId);
  if (!current) return undefined;
  const { nextAttemptAt: _next, attemptingUntil: _held, ...rest } = current.value;
  const reset: StoredDelivery = { ...rest, state: 'pending', attempts: 0, updatedAt: deps.clock.now().toISOString() };
  await deps.webhooks.putDelivery(reset, current.version);
  await deps.deliveries.send({ kind: 'webhook-delivery', subscriptionId, deliveryId });
  return reset;
};
