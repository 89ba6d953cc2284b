import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE, type ParleyEvent } from '../../domain/events.ts';
import { DOMAIN_EVENT_SOURCE, type DomainEvent } from '../../domain/events/domain-events.ts';

/** What an event becomes on the bus: its source, detail type, detail and time, and an id for failure reports. */
export interface BusEntry {
  readonly id: string;
  readonly source: string;
  readonly detailType: string;
  readonly detail: unknown;
  readonly time: string;
}

/** A connector event (`parley.connectors`), as the webhooks publish it. */
export const connectorEntry = (event: ParleyEvent): BusEntry => ({
  id: event.eventId,
  source: EVENT_SOURCE,
  detailType: event.type,
  detail: event,
  time: event.receivedAt,
});

/** A domain event (`parley.domain`), as the outbox relay publishes it. */
export const domainEntry = (event: DomainEvent): BusEntry => ({
  id: event.id,
  source: DOMAIN_EVENT_SOURCE,
  detailType: event.type,
  detail: event,
  time: event.createdAt,
});

/** PutEvents takes at most 10 entries per call. */
const MAX_ENTRIES = 10;

export interface EventBridgeBusOptions<T> {
  readonly client: EventBridgeClient;
  /** How an event becomes an entry ({@link connectorEntry}, {@link domainEntry}). */
  readonly entryOf: (event: T) => BusEntry;
  readonly busName: string;
  /** Further tries for entries PutEvents reported as failed (throttling, internal errors). */
  readonly retries?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export class EventBusUnavailableError extends Error {
  constructor(readonly failedEntries: readonly { readonly eventId: string; readonly errorCode?: string }[]) {
    super(`${failedEntries.length} event(s) not accepted by the bus: ${[...new Set(failedEntries.map((f) => f.errorCode))].join(', ')}`);
    this.name = 'EventBusUnavailableError';
  }
}

/**
 * Publishes to an EventBridge bus. PutEvents can accept some entries and fail others in one answer
 * (`FailedEntryCount`); only the failed ones are sent again, with backoff. Resolves only when every event
 * was accepted, so the webhook can acknowledge the provider.
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
 */
export class EventBridgeBus<T> {
  private readonly retries: number;
  private readonly sleep: (ms: number) => Promise<void>;
  constructor(private readonly options: EventBridgeBusOptions<T>) {
    this.retries = options.retries ?? 3;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async publish(events: readonly T[]): Promise<void> {
    const entries = events.map(this.options.entryOf);
    for (let i = 0; i < entries.length; i += MAX_ENTRIES) await this.publishChunk(entries.slice(i, i + MAX_ENTRIES));
  }

  private async publishChunk(entries: readonly BusEntry[]): Promise<void> {
    let pending = entries.map((event) => ({ event, entry: this.entryOf(event) }));
    let failures: { eventId: string; errorCode?: string }[] = [];
    for (let attempt = 0; attempt <= this.retries && pending.length > 0; attempt++) {
      if (attempt > 0) await this.sleep(50 * 2 ** attempt);
      const answer = await this.options.client.send(new PutEventsCommand({ Entries: pending.map((p) => p.entry) }));
      if (!answer.FailedEntryCount) return;
      // Entries come back in request order; a failed one carries an ErrorCode.
      const results = answer.Entries ?? [];
      failures = [];
      pending = pending.filter((p, index) => {
        const code = results[index]?.ErrorCode;
        if (code === undefined && results[index]?.EventId) return false;
        failures.push({ eventId: p.event.id, ...(code !== undefined && { errorCode: code }) });
        return true;
      });
    }
    if (pending.length > 0) throw new EventBusUnavailableError(failures);
  }

  private entryOf(entry: BusEntry): PutEventsRequestEntry {
    return {
      EventBusName: this.options.busName,
      Source: entry.source,
      DetailType: entry.detailType,
      Detail: JSON.stringify(entry.detail),
      Time: new Date(entry.time),
    };
  }
}
