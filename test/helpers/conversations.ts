/**
 * The conversation store as the domain runs on it: `DynamoConversationStore` over the in-process local engine
 * (a fresh, empty table per harness, so tests can use fixture ids as they are), with the table's change stream
 * read back into the domain events every write recorded (the outbox, as the relay sees it). Also a clock tests
 * move by hand, a log that keeps what it was told, and a store whose commits a test can make fail.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { readFileSync } from 'node:fs';
import { capabilitiesOf } from '../../connectors/capabilities.ts';
import { applyEvent } from '../../domain/conversations/inbound.ts';
import { onceEvent } from '../../domain/events/outbox.ts';
import { NEW_RECORD } from '../../domain/shared/store.ts';
import { DynamoConversationStore } from '../../adapters/aws/store/conversations.ts';
import { eventsOfStreamRecord } from '../../adapters/aws/store/stream-events.ts';
import { DynamoTable } from '../../adapters/aws/store/table.ts';
import type { ConversationStore, ConversationWrite, StoredMessage } from '../../domain/conversations/ports.ts';
import type { DomainEvent, DomainEventType } from '../../domain/events/domain-events.ts';
import type { ParleyEvent } from '../../domain/events.ts';
import type { Log } from '../../domain/ports.ts';
import { startLocalDynamo, type LocalDynamoHarness } from './local-dynamo.ts';

export interface TestClock {
  now(): Date;
  iso(): string;
  set(instant: string): void;
  advance(milliseconds: number): void;
}

/** A clock that stands still until a test moves it. */
export const testClock = (start = '2026-03-14T01:00:00.000Z'): TestClock => {
  let current = Date.parse(start);
  return {
    now: () => new Date(current),
    iso: () => new Date(current).toISOString(),
    set: (instant) => {
      current = Date.parse(instant);
    },
    advance: (milliseconds) => {
      current += milliseconds;
    },
  };
};

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly extra?: Record<string, unknown>;
}

/** A log that keeps every entry, for tests that check what was reported. */
export const captureLog = (): Log & { readonly entries: LogEntry[] } => {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (message: string, extra?: Record<string, unknown>): void =>
      void entries.push({ level, message, ...(extra !== undefined && { extra }) });
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
};

export interface ConversationHarness {
  readonly db: LocalDynamoHarness;
  readonly table: DynamoTable;
  readonly store: DynamoConversationStore;
  readonly clock: TestClock;
  /** Every stream record written so far, once the stream consumer has caught up. */
  records(): Promise<DynamoDBRecord[]>;
  /** The domain events every write so far recorded, in commit order (as the outbox relay reads them). */
  events(): Promise<DomainEvent[]>;
  /** The recorded events of these types, in commit order. */
  eventsOf(...types: DomainEventType[]): Promise<DomainEvent[]>;
  stop(): Promise<void>;
}

export const startConversations = async (
  options: {
    readonly clock?: TestClock;
    /** Let `stop` pass records that cannot become events (for tests of what the relay does with them). */
    readonly unreadableRecords?: 'allowed';
  } = {},
): Promise<ConversationHarness> => {
  const db = await startLocalDynamo();
  const clock = options.clock ?? testClock();
  const table = new DynamoTable({ client: db.client, tableName: db.tableName });
  const store = new DynamoConversationStore({ table, clock });
  const seen: DynamoDBRecord[] = [];
  const subscription = db.engine.subscribe(db.tableName, {
    name: 'test-recorder',
    batchSize: 100,
    handler: async (event) => {
      seen.push(...event.Records);
    },
  });
  const records = async () => {
    await subscription.idle();
    return [...seen];
  };
  const events = async () => (await records()).flatMap(eventsOfStreamRecord);
  return {
    db,
    table,
    store,
    clock,
    records,
    events,
    eventsOf: async (...types) => (await events()).filter((event) => types.includes(event.type)),
    stop: async () => {
      // Every write must become its events, as the outbox relay reads them: a record it cannot read is an event
      // lost (parked in AWS), whatever the test itself checked.
      const unreadable = await (options.unreadableRecords === 'allowed' ? Promise.resolve() : events()).then(
        () => undefined,
        (error: unknown) => error,
      );
      await subscription.stop();
      await db.stop();
      if (unreadable !== undefined) throw unreadable;
    },
  };
};

/**
 * The store with a hook in front of `commit`: the hook sees each commit's writes (and how many commits came
 * before) and may throw, as DynamoDB would, to fail that commit. Everything else goes to the store as is.
 */
export const interceptCommits = (
  store: ConversationStore,
  hook: (writes: readonly ConversationWrite[], call: number) => void | Promise<void>,
): ConversationStore => {
  let calls = 0;
  const intercepted = Object.create(store) as ConversationStore;
  intercepted.commit = async (writes) => {
    await hook(writes, calls++);
    return store.commit(writes);
  };
  return intercepted;
};

/** The events a connector normalized from one of its fixture payloads (`test/fixtures/<channel>/<name>.expected.json`). */
export const fixtureEvents = (channel: string, name: string): ParleyEvent[] =>
  (JSON.parse(readFileSync(new URL(`../fixtures/${channel}/${name}.expected.json`, import.meta.url), 'utf8')) as { events: ParleyEvent[] })
    .events;

/** The one event of a fixture (or the one at `index`), of the type expected. */
export const fixtureEvent = <T extends ParleyEvent['type']>(
  channel: string,
  name: string,
  type: T,
  index = 0,
): Extract<ParleyEvent, { type: T }> => {
  const event = fixtureEvents(channel, name)[index];
  if (event?.type !== type) throw new Error(`fixture ${channel}/${name} has no ${type} event at ${index}`);
  return event as Extract<ParleyEvent, { type: T }>;
};

/** Mina's first Telegram message, then a reply the API queued on her thread (as the API writes it): the writes a relay sees most often. */
export const minaWithQueuedReply = async (h: ConversationHarness): Promise<StoredMessage> => {
  const outcome = await applyEvent(fixtureEvent('telegram', 'private-text-entities', 'message.received'), {
    store: h.store,
    log: captureLog(),
    clock: h.clock,
    capabilities: capabilitiesOf,
  });
  if (outcome.kind !== 'stored') throw new Error('not stored');
  const reply: StoredMessage = {
    id: 'msg_reply',
    threadId: outcome.threadId,
    direction: 'outbound',
    channel: 'telegram',
    accountId: '7712345678',
    occurredAt: '2026-03-14T01:00:00.000Z',
    author: { role: 'agent', id: 'key_1' },
    content: { type: 'text', text: 'On its way' },
    status: 'queued',
  };
  await h.store.commit([
    {
      kind: 'message',
      op: 'put',
      value: reply,
      version: NEW_RECORD,
      events: [onceEvent('message.created', reply.occurredAt, [reply.threadId, reply.id])],
    },
  ]);
  return reply;
};
