/**
 * The outbox relay: reads the table's change stream (DynamoDB Streams, filtered to records that carry domain
 * events) and publishes each write's events on the bus, queueing what they ask for (a reply to its channel's
 * sender). Records are handled in order, and after the first that fails the rest of the batch is reported
 * failed too, so a retry publishes one item's events in the order they were written. A record that can never
 * become events (a bug, a hand-made item) is parked in the relay's dead-letter queue with its images, not
 * dropped and not allowed to block the stream.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { DomainEvent } from '../domain/events/domain-events.ts';
import { relayEvents } from '../domain/events/relay.ts';
import { domainEntry } from '../adapters/aws/eventbridge-bus.ts';
import { eventsOfStreamRecord, UnreadableStreamRecordError } from '../adapters/aws/store/stream-events.ts';
import { awsDomainBus, awsOutboundQueue, awsQueue, awsWebhooks } from '../adapters/aws/deps.ts';
import { systemClock } from '../domain/ports.ts';
import { queueUrlVariable } from '../topology/queue-names.ts';
import type { Deps, Environment } from './deps.ts';
import type { WorkQueue } from '../domain/ports.ts';
import { wants, type DeliveryJob, type StoredSubscription } from '../domain/integrations/webhooks.ts';
import { DOMAIN_EVENT_SOURCE } from '../domain/events/domain-events.ts';
import { RULES, type RuleSpec } from '../topology/topology.ts';
import { SUBSCRIPTIONS_PARTITION } from '../topology/table.ts';
import { compilePattern } from '../topology/event-pattern.ts';

/**
 * Whether some bus rule matches a domain event as the bus would see it (the whole pattern, detail included: a rule
 * for campaign messages' statuses does not make every status an EventBridge entry). Each entry is billed.
 */
export const wantedByRules = (rules: Readonly<Record<string, RuleSpec>>): ((event: DomainEvent) => boolean) => {
  const matchers = Object.values(rules)
    .filter((rule) => Array.isArray(rule.pattern.source) && rule.pattern.source.includes(DOMAIN_EVENT_SOURCE))
    .map((rule) => compilePattern(rule.pattern));
  return (event) => {
    const entry = domainEntry(event);
    const seen = { source: entry.source, 'detail-type': entry.detailType, detail: entry.detail };
    return matchers.some((matches) => matches(seen));
  };
};
import { lambda } from './kit/handler.ts';
import { awsObservability } from './kit/powertools.ts';
import { withKeys } from './kit/observability.ts';

/**
 * The list of webhook subscriptions, reused for `seconds`, and dropped as soon as the stream shows one changed.
 * The stream orders a subscription's write before every record written after it in the same shard, so where
 * one shard carries everything (the local runtime) a new subscription sees every later event; in AWS, records
 * of other shards may still be matched against the old list for up to `seconds`.
 */
export const subscriptionsCache = (load: () => Promise<readonly StoredSubscription[]>, seconds: number, now: () => number = Date.now) => {
  let cached: { value: Promise<readonly StoredSubscription[]>; until: number } | undefined;
  const get = () => {
    const at = now();
    if (!cached || cached.until <= at) {
      const value = load();
      const entry = { value, until: at + seconds * 1000 };
      cached = entry;
      // A failed read is not kept: the next batch asks again.
      value.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.value;
  };
  return Object.assign(get, {
    invalidate: () => {
      cached = undefined;
    },
  });
};

/** Whether a stream record is a change to a webhook subscription. */
const isSubscriptionChange = (record: DynamoDBRecord): boolean => record.dynamodb?.Keys?.['pk']?.S === SUBSCRIPTIONS_PARTITION;

export const create = (
  deps: Pick<Deps, 'domainBus' | 'outbound' | 'observability' | 'queue' | 'webhooks' | 'clock'>,
  environment: Environment = {},
) => {
  const parked = deps.queue('outbox-parked');
  const cacheSeconds = Number(environment.SUBSCRIPTIONS_CACHE_SECONDS ?? 30);
  const ruleWants = wantedByRules(RULES);
  const publishAll = environment.PUBLISH_ALL_DOMAIN_EVENTS === 'true';
  const webhooks = {
    webhooks: deps.webhooks,
    subscriptions: subscriptionsCache(() => deps.webhooks.listSubscriptions(), Number.isFinite(cacheSeconds) ? cacheSeconds : 30),
    deliveries: deps.queue('webhook-deliveries') as WorkQueue<DeliveryJob>,
    clock: deps.clock,
  };
  const { log, metrics } = deps.observability;
  return lambda<DynamoDBStreamEvent, { batchItemFailures: { itemIdentifier: string }[] }>(async (event, context) => {
    let failed = false;
    const handle = async (record: DynamoDBRecord) => {
      if (failed) throw new Error('an earlier record of this batch failed; retried after it, in order');
      if (isSubscriptionChange(record)) {
        webhooks.subscriptions.invalidate();
        return;
      }
      try {
        let events: DomainEvent[];
        try {
          events = eventsOfStreamRecord(record);
        } catch (error) {
          if (!(error instanceof UnreadableStreamRecordError)) throw error;
          log.error('stream record cannot become domain events; parked in the dead-letter queue', {
            sequenceNumber: error.sequenceNumber,
            error: error.message,
          });
          await parked.send({ reason: error.message, record });
          return;
        }
        if (events.length === 0) return;
        await relayEvents(events, {
          bus: deps.domainBus,
          outbound: deps.outbound,
          webhooks,
          // On the bus when a rule (or, with PUBLISH_ALL_DOMAIN_EVENTS, anyone) may want it: each entry is billed.
          publishes: async (domainEvent) =>
            publishAll || ruleWants(domainEvent) || (await webhooks.subscriptions()).some((s) => wants(s, domainEvent.type)),
        });
        metrics.count('DomainEventsPublished', undefined, events.length);
        for (const published of events) withKeys(log, { eventId: published.id }).debug('domain event published', { type: published.type });
      } catch (error) {
        failed = true;
        throw error;
      }
    };
    const processor = new BatchProcessor(EventType.DynamoDBStreams);
    return processPartialResponse(event, handle, processor, { context, processInParallel: false, throwOnFullBatchFailure: false });
  }, deps.observability);
};

let wired: ReturnType<typeof create> | undefined;
export const handler = (event: DynamoDBStreamEvent, context: Context) =>
  (wired ??= create(
    {
      domainBus: awsDomainBus(),
      outbound: awsOutboundQueue(),
      observability: awsObservability(),
      queue: (name) => awsQueue(queueUrlVariable(name)),
      webhooks: awsWebhooks(),
      clock: systemClock,
    },
    process.env,
  ))(event, context);
