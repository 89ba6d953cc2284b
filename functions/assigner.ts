/**
 * The assigner, on the `assignment` queue: bus rules put there the domain events that need a person or free
 * capacity (a thread created, resolved, reopened, merged, released, transferred or passed to a human; an agent
 * online or given more capacity). Each event's thread is brought in line with its route (domain/routing/
 * assigner.ts); then one pass over the queue gives waiting threads to agents with room. Many invocations may
 * run at once: every change is a conditional transaction, so they never give a thread twice or an agent more
 * than their capacity. A record that fails is retried by SQS (everything it does is idempotent), and
 * dead-lettered after its receives run out.
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { DomainEventSchema, type DomainEvent } from '../domain/events/domain-events.ts';
import { cachedSettings, drain, reconcileMerged, reconcileThread, type RoutingDeps } from '../domain/routing/assigner.ts';
import { systemClock } from '../domain/ports.ts';
import { awsConversations, awsRouting } from '../adapters/aws/deps.ts';
import { detailOf, type Deps } from './deps.ts';
import { lambda } from './kit/handler.ts';
import { awsObservability } from './kit/powertools.ts';
import { withKeys } from './kit/observability.ts';
import { sqsBatch } from './kit/sqs.ts';

/** How long the assigner reuses the routing settings (a change through the API applies within this). */
const SETTINGS_CACHE_SECONDS = 5;

const eventOf = (record: SQSRecord): DomainEvent => DomainEventSchema.parse(detailOf(JSON.parse(record.body))) as DomainEvent;

const threadIdOf = (event: DomainEvent): string | undefined => ('thread' in event.data ? event.data.thread.id : undefined);

export const create = (deps: Pick<Deps, 'conversations' | 'routing' | 'clock' | 'observability'>) => {
  const { log } = deps.observability;
  const routing: RoutingDeps = {
    routing: deps.routing,
    conversations: deps.conversations,
    clock: deps.clock,
    log,
    settings: cachedSettings(deps.routing, SETTINGS_CACHE_SECONDS),
  };
  const handle = async (record: SQSRecord) => {
    const event = eventOf(record);
    const threadId = threadIdOf(event);
    if (threadId === undefined) return;
    // Threads merged into this one give their agents' capacity back first: the survivor may go to one of them.
    if (event.type === 'thread.updated' && event.data.changes.includes('mergedThreads')) await reconcileMerged(routing, threadId);
    const outcome = await reconcileThread(routing, threadId, { created: event.type === 'thread.created' });
    if (outcome !== 'unchanged') withKeys(log, { threadId }).info('thread routed', { event: event.type, outcome });
  };
  const batch = sqsBatch(handle, {
    // One thread's events in order: a reopen after a resolve is seen after it.
    orderingKey: (record) => {
      try {
        return threadIdOf(eventOf(record)) ?? record.messageId;
      } catch {
        return record.messageId;
      }
    },
  });
  return lambda<SQSEvent, Awaited<ReturnType<typeof batch>>>(async (event, context) => {
    const result = await batch(event, context);
    try {
      // One pass for the whole batch: whatever its records freed or queued is assigned now.
      const assigned = await drain(routing);
      if (assigned > 0) log.info('threads assigned', { assigned });
    } catch (error) {
      // The batch is retried; its records change nothing twice, and the retry passes over the queue again.
      log.error('assignment pass failed', { error: error instanceof Error ? error.message : String(error) });
      return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) };
    }
    return result;
  }, deps.observability);
};

let wired: ReturnType<typeof create> | undefined;
export const handler = (event: SQSEvent, context: Context) =>
  (wired ??= create({ conversations: awsConversations(), routing: awsRouting(), clock: systemClock, observability: awsObservability() }))(
    event,
    context,
  );
