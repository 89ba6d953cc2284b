import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE, type ParleyEvent } from '../../domain/events.ts';
import type { EventBus } from '../../domain/ports.ts';

/** PutEvents takes at most 10 entries per call. */
const MAX_ENTRIES = 10;

export interface EventBridgeBusOptions {
  readonly client: EventBridgeClient;
  readonly busName: string;
  /** Further tries for entries PutEvents reported as failed (throttling, internal errors). */
  readonly retries?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export class EventBusUnavailableError extends Error {
  constructor(
    readonly failedEntries: readonly { readonly eventId: string; readonly errorCode?: string }[],
  ) {
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
export class EventBridgeBus implements EventBus {
  private readonly retries: number;
  private readonly sleep: (ms: number) => Promise<void>;
  constructor(private readonly options: EventBridgeBusOptions) {
    this.retries = options.retries ?? 3;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async publish(events: readonly ParleyEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += MAX_ENTRIES) await this.publishChunk(events.slice(i, i + MAX_ENTRIES));
  }

  private async publishChunk(events: readonly ParleyEvent[]): Promise<void> {
    let pending = events.map((event) => ({ event, entry: this.entryOf(event) }));
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
        failures.push({ eventId: p.event.eventId, ...(code !== undefined && { errorCode: code }) });
        return true;
      });
    }
    if (pending.length > 0) throw new EventBusUnavailableError(failures);
  }

  private entryOf(event: ParleyEvent): PutEventsRequestEntry {
    return {
      EventBusName: this.options.busName,
      Source: EVENT_SOURCE,
      DetailType: event.type,
      Detail: JSON.stringify(event),
      Time: new Date(event.receivedAt),
    };
  }
}
