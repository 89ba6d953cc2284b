/**
 * Routing on the local DynamoDB engine, in this thread: the real conversation and routing stores over one
 * table, a clock the test moves, and helpers to make threads and agents and to read the state back.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable } from '../../adapters/aws/dynamo-table.ts';
import { DynamoConversationStore } from '../../adapters/aws/store/conversations.ts';
import { DynamoRoutingStore } from '../../adapters/aws/store/routing.ts';
import { createDocumentClient, DynamoTable } from '../../adapters/aws/store/table.ts';
import { createLocalDynamo, type LocalDynamo } from '../../adapters/local/dynamodb/index.ts';
import { eventsOfStreamRecord } from '../../adapters/aws/store/stream-events.ts';
import type { DomainEvent } from '../../domain/events/domain-events.ts';
import type { Channel } from '../../domain/content.ts';
import type { StoredThread } from '../../domain/conversations/ports.ts';
import { newThread } from '../../domain/conversations/threads.ts';
import type { Clock } from '../../domain/ports.ts';
import type { RoutingDeps } from '../../domain/routing/assigner.ts';
import { createAgent, type NewAgent } from '../../domain/routing/agents.ts';
import type { Agent, QueueEntry, Route } from '../../domain/routing/model.ts';
import { NEW_RECORD } from '../../domain/shared/store.ts';
import { LOCAL_TABLE_NAME } from '../../topology/table.ts';

export interface MovableClock extends Clock {
  set(instant: string): void;
  advance(seconds: number): void;
}

export const movableClock = (start = '2026-03-02T09:00:00.000Z'): MovableClock => {
  let now = Date.parse(start);
  return {
    now: () => new Date(now),
    set: (instant) => {
      now = Date.parse(instant);
    },
    advance: (seconds) => {
      now += seconds * 1000;
    },
  };
};

export interface RoutingHarness extends RoutingDeps {
  readonly routing: DynamoRoutingStore;
  readonly conversations: DynamoConversationStore;
  readonly clock: MovableClock;
  readonly engine: LocalDynamo;
  readonly table: DynamoTable;
  /** A new open thread whose customer wrote on `channel`, as the thread writer leaves it. */
  thread(options?: { channel?: Channel; attributes?: Record<string, string>; team?: string; at?: string }): Promise<StoredThread>;
  agent(input: Partial<NewAgent> & { id: string }): Promise<Agent>;
  /** Every route, queue entry and agent, read back. */
  /** The domain events every write so far recorded (the outbox, read from the table's stream), in order. */
  events(): Promise<DomainEvent[]>;
  snapshot(
    threadIds: readonly string[],
  ): Promise<{ agents: Agent[]; queue: QueueEntry[]; routes: Map<string, Route>; threads: Map<string, StoredThread> }>;
  stop(): Promise<void>;
}

let counter = 0;

export const startRouting = async (): Promise<RoutingHarness> => {
  const engine = await createLocalDynamo({ ttlSweepIntervalMs: 0 });
  const dynamo = new DynamoDBClient({
    requestHandler: engine.requestHandler,
    endpoint: 'http://local',
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    // The in-process engine checks no signature; signing would be most of each request's cost here.
    signer: { sign: async (request) => request },
  });
  await ensureTable(dynamo, LOCAL_TABLE_NAME);
  const table = new DynamoTable({ client: createDocumentClient(dynamo), tableName: LOCAL_TABLE_NAME });
  const clock = movableClock();
  const conversations = new DynamoConversationStore({ table, clock });
  const routing = new DynamoRoutingStore(table);
  const published: DomainEvent[] = [];
  const subscription = engine.subscribe(LOCAL_TABLE_NAME, {
    name: 'routing-test-events',
    batchSize: 100,
    handler: async (event) => {
      for (const record of event.Records) published.push(...eventsOfStreamRecord(record));
    },
  });
  const harness: RoutingHarness = {
    routing,
    conversations,
    clock,
    engine,
    table,
    thread: async (options = {}) => {
      const at = options.at ?? clock.now().toISOString();
      counter += 1;
      const id = `th_${String(counter).padStart(6, '0')}_${Math.random().toString(36).slice(2, 8)}`;
      const channel = options.channel ?? 'telegram';
      const base = newThread(id, `ct_${id}`, at);
      const thread: StoredThread = {
        ...base,
        channels: [channel],
        routes: [{ channel, accountId: 'default', conversation: { kind: 'direct', externalId: `u-${id}` }, lastInboundAt: at }],
        lastInboundChannel: channel,
        unread: 1,
        lastCustomerMessageAt: at,
        ...(options.attributes && { attributes: options.attributes }),
        ...(options.team && { team: options.team }),
      };
      await conversations.commit([{ kind: 'thread', op: 'put', value: thread, version: NEW_RECORD }]);
      return thread;
    },
    agent: (input) =>
      createAgent(
        routing,
        { name: input.name ?? input.id, capacity: input.capacity ?? 2, availability: input.availability ?? 'online', ...input },
        clock.now().toISOString(),
      ),
    events: async () => {
      await subscription.idle();
      return [...published];
    },
    snapshot: async (threadIds) => {
      const agents = (await routing.listAgents()).map((a) => a.value);
      const queue: QueueEntry[] = [];
      let cursor: string | undefined;
      do {
        const page = await routing.listQueue(100, cursor);
        queue.push(...page.items.map((e) => e.value));
        cursor = page.nextCursor;
      } while (cursor);
      const routes = new Map<string, Route>();
      const threads = new Map<string, StoredThread>();
      for (const id of threadIds) {
        const route = await routing.getRoute(id);
        if (route) routes.set(id, route.value);
        const thread = await conversations.getThread(id);
        if (thread) threads.set(id, thread.value);
      }
      return { agents, queue, routes, threads };
    },
    stop: async () => {
      await subscription.stop();
      dynamo.destroy();
      await engine.close();
    },
  };
  return harness;
};
