/**
 * The outbox relay's decisions: every domain event a write recorded goes on the bus, a message that became
 * `queued` (a reply, a notification, a redrive) goes to its channel's outbound queue, and each event an
 * integrator's webhook subscription wants becomes a delivery job (the relay is where every domain event passes
 * once, so fanning out here costs nothing when nobody subscribes). Storing a reply
 * and queueing it are therefore one reliable step: the write is the commitment, the relay carries it out,
 * at least once (the sender's claim makes a repeated job harmless).
 */
import type { OutboundJob } from '../delivery/outbound.ts';
import type { WorkQueue } from '../ports.ts';
import type { DomainEvent } from './domain-events.ts';
import { fanOut, type FanOutDeps } from '../integrations/dispatch.ts';

/** Where domain events go: EventBridge in AWS, the local bus in the local runtime. Resolves once all were accepted. */
export interface DomainEventBus {
  publish(events: readonly DomainEvent[]): Promise<void>;
}

export interface RelayDeps {
  readonly bus: DomainEventBus;
  readonly outbound: WorkQueue<OutboundJob>;
  /** Integrators' webhook subscriptions: each event they want becomes a delivery job. */
  readonly webhooks?: FanOutDeps;
  /**
   * Which events go on the bus: those a bus rule or a subscription wants (each PutEvents entry is billed), or
   * every one. Absent: every one.
   */
  readonly publishes?: (event: DomainEvent) => Promise<boolean>;
}

/** The delivery job an event asks for: an outbound message that is now waiting to be sent. */
export const deliveryJobOf = (event: DomainEvent): OutboundJob | undefined => {
  if (event.type !== 'message.created' && event.type !== 'message.status') return undefined;
  const { message } = event.data;
  if (message.direction !== 'outbound' || message.status !== 'queued') return undefined;
  // Notifications and campaign messages go on the proactive lane: paced, and never ahead of replies. The job's id
  // is the event's, so a republished event gives the same job, and a job the API queued at once keeps its message.
  return {
    kind: 'deliver',
    channel: message.channel,
    threadId: message.threadId,
    messageId: message.id,
    ...(message.notification && { lane: 'proactive' as const }),
    job: event.id,
  };
};

/** Publishes a write's events and queues what they ask for; throws when any of it was not accepted. */
export const relayEvents = async (events: readonly DomainEvent[], deps: RelayDeps): Promise<void> => {
  if (events.length === 0) return;
  const published = deps.publishes
    ? (await Promise.all(events.map(async (event) => ((await deps.publishes?.(event)) ? [event] : [])))).flat()
    : events;
  if (published.length > 0) await deps.bus.publish(published);
  for (const event of events) {
    const job = deliveryJobOf(event);
    if (job) await deps.outbound.send(job);
  }
  if (deps.webhooks) await fanOut(events, deps.webhooks);
};
