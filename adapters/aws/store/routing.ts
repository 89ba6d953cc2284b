/**
 * The routing store on the shared table (layouts in docs/data-model.md):
 * - the roster, one partition `AGENTS` (items `AGENT#<id>`), read whole by the assigner in one Query;
 * - teams, one partition `TEAMS`;
 * - each thread's route, `ROUTE#<threadId>`;
 * - the queue, one partition `QUEUE` whose sort key is the assignment order (priority, waiting since, thread),
 *   so the head is a Query, strongly consistent: an assigner that has just written a thread's entry or an
 *   agent's availability and then reads the other side never misses it;
 * - answer timers, one partition `ANSWER_TIMERS` sorted by deadline;
 * - the settings, `ROUTING` / `SETTINGS`.
 * Single partitions are fine for the roster and the queue of one deployment (hundreds of agents, thousands
 * waiting); the decision record (docs/decisions/assignment.md) says when to shard them.
 */
import type { ConversationWrite } from '../../../domain/conversations/ports.ts';
import {
  AgentSchema,
  AnswerTimerSchema,
  DEFAULT_SETTINGS,
  QueueEntrySchema,
  RouteSchema,
  RoutingSettingsSchema,
  TeamSchema,
  type Agent,
  type AnswerTimer,
  type QueueEntry,
  type Route,
  type RoutingSettings,
  type Team,
} from '../../../domain/routing/model.ts';
import type { RoutingStore, RoutingWrite } from '../../../domain/routing/ports.ts';
import { NEW_RECORD, type Page, type Versioned } from '../../../domain/shared/store.ts';
import { millis } from '../../../domain/shared/time.ts';
import * as z from 'zod';
import type { StoredThread } from '../../../domain/conversations/ports.ts';
import { StoredThreadSchema, threadKey, toTableWrite } from './conversations.ts';
import {
  checkLimit,
  decodeCursor,
  type DynamoTable,
  encodeCursor,
  key,
  KIND_ATTRIBUTE,
  versionOf,
  type Item,
  type Key,
  type TableWrite,
} from './table.ts';

const AGENTS_PK = 'AGENTS';
const TEAMS_PK = 'TEAMS';
const QUEUE_PK = 'QUEUE';
const TIMERS_PK = 'ANSWER_TIMERS';

export const agentKey = (id: string): Key => ({ pk: AGENTS_PK, sk: key('AGENT', id) });
export const teamKey = (id: string): Key => ({ pk: TEAMS_PK, sk: key('TEAM', id) });
export const routeKey = (threadId: string): Key => ({ pk: key('ROUTE', threadId), sk: 'ROUTE' });
export const queueKey = (entryKey: string): Key => ({ pk: QUEUE_PK, sk: entryKey });
export const timerKey = (timer: string): Key => ({ pk: TIMERS_PK, sk: timer });
const SETTINGS_KEY: Key = { pk: 'ROUTING', sk: 'SETTINGS' };

const isRoutingWrite = (write: RoutingWrite | ConversationWrite): write is RoutingWrite =>
  write.kind === 'agent' ||
  write.kind === 'team' ||
  write.kind === 'route' ||
  write.kind === 'queue' ||
  write.kind === 'timer' ||
  write.kind === 'settings';

const keyOf = (write: RoutingWrite): Key => {
  switch (write.kind) {
    case 'agent':
      return agentKey(write.op === 'put' ? write.value.id : write.key.id);
    case 'team':
      return teamKey(write.op === 'put' ? write.value.id : write.key.id);
    case 'route':
      return routeKey(write.op === 'put' ? write.value.threadId : write.key.threadId);
    case 'queue':
      return queueKey(write.op === 'put' ? write.value.key : write.key.key);
    case 'timer':
      return timerKey(write.op === 'put' ? write.value.key : write.key.key);
    case 'settings':
      return SETTINGS_KEY;
  }
};

const recordOf = (write: RoutingWrite & { op: 'put' }): Item => {
  switch (write.kind) {
    case 'agent':
      return AgentSchema.parse(write.value);
    case 'team':
      return TeamSchema.parse(write.value);
    case 'route':
      return RouteSchema.parse(write.value);
    case 'queue':
      return QueueEntrySchema.parse(write.value);
    case 'timer':
      return AnswerTimerSchema.parse(write.value);
    case 'settings':
      return RoutingSettingsSchema.parse(write.value);
  }
};

const routingTableWrite = (write: RoutingWrite): TableWrite => {
  const itemKey = keyOf(write);
  const label = `${write.kind} ${itemKey.pk}/${itemKey.sk}`;
  if (write.op === 'delete') return { op: 'delete', key: itemKey, version: write.version, label };
  return {
    op: 'put',
    item: { ...itemKey, [KIND_ATTRIBUTE]: write.kind, ...recordOf(write) },
    version: write.version,
    ...(write.events && { events: write.events }),
    label,
  };
};

const versioned = <T>(schema: z.ZodType<T>, item: Item): Versioned<T> => ({ value: schema.parse(item), version: versionOf(item) });

const QueueCursorSchema = z.strictObject({ sk: z.string().min(1) });

export class DynamoRoutingStore implements RoutingStore {
  constructor(private readonly table: DynamoTable) {}

  async getAgent(id: string): Promise<Versioned<Agent> | undefined> {
    const item = await this.table.get(agentKey(id));
    return item && versioned(AgentSchema, item);
  }

  async listAgents(): Promise<Versioned<Agent>[]> {
    return (await this.partition(AGENTS_PK)).map((item) => versioned(AgentSchema, item));
  }

  async getTeam(id: string): Promise<Versioned<Team> | undefined> {
    const item = await this.table.get(teamKey(id));
    return item && versioned(TeamSchema, item);
  }

  async listTeams(): Promise<Versioned<Team>[]> {
    return (await this.partition(TEAMS_PK)).map((item) => versioned(TeamSchema, item));
  }

  async getRoute(threadId: string): Promise<Versioned<Route> | undefined> {
    const item = await this.table.get(routeKey(threadId));
    return item && versioned(RouteSchema, item);
  }

  async getStates(threadIds: readonly string[]): Promise<Map<string, { thread?: Versioned<StoredThread>; route?: Versioned<Route> }>> {
    const ids = [...new Set(threadIds)];
    const items = await this.table.batchGet(ids.flatMap((id) => [threadKey(id), routeKey(id)]));
    const states = new Map<string, { thread?: Versioned<StoredThread>; route?: Versioned<Route> }>(ids.map((id) => [id, {}]));
    for (const item of items) {
      if (item[KIND_ATTRIBUTE] === 'thread') {
        const thread = versioned(StoredThreadSchema, item) as Versioned<StoredThread>;
        states.set(thread.value.id, { ...states.get(thread.value.id), thread });
      } else if (item[KIND_ATTRIBUTE] === 'route') {
        const route = versioned(RouteSchema, item);
        states.set(route.value.threadId, { ...states.get(route.value.threadId), route });
      }
    }
    return states;
  }

  async listQueue(limit: number, cursor?: string): Promise<Page<Versioned<QueueEntry>>> {
    checkLimit(limit);
    const start = cursor === undefined ? undefined : decodeCursor(cursor, QueueCursorSchema).sk;
    const page = await this.table.query({
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'pk' },
      ExpressionAttributeValues: { ':pk': QUEUE_PK },
      ConsistentRead: true,
      Limit: limit,
      ...(start !== undefined && { ExclusiveStartKey: { pk: QUEUE_PK, sk: start } }),
    });
    const last = page.items.at(-1);
    return {
      items: page.items.map((item) => versioned(QueueEntrySchema, item)),
      ...(page.lastKey && last && { nextCursor: encodeCursor({ sk: String(last.sk) }) }),
    };
  }

  async dueTimers(now: string, limit: number): Promise<Versioned<AnswerTimer>[]> {
    checkLimit(limit);
    // Keys start with the deadline (ISO, one format), then '#': every key of a deadline up to now sorts below "<now>$".
    const upper = `${new Date(millis(now)).toISOString()}$`;
    const page = await this.table.query({
      KeyConditionExpression: '#pk = :pk AND #sk < :upper',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': TIMERS_PK, ':upper': upper },
      ConsistentRead: true,
      Limit: limit,
    });
    return page.items.map((item) => versioned(AnswerTimerSchema, item));
  }

  async getSettings(): Promise<Versioned<RoutingSettings>> {
    const item = await this.table.get(SETTINGS_KEY);
    return item ? versioned(RoutingSettingsSchema, item) : { value: DEFAULT_SETTINGS, version: NEW_RECORD };
  }

  async commit(writes: readonly (RoutingWrite | ConversationWrite)[]): Promise<void> {
    await this.table.commit(writes.map((write) => (isRoutingWrite(write) ? routingTableWrite(write) : toTableWrite(write))));
  }

  private async partition(pk: string): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await this.table.query({
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': 'pk' },
        ExpressionAttributeValues: { ':pk': pk },
        ConsistentRead: true,
        ...(start && { ExclusiveStartKey: start }),
      });
      items.push(...page.items);
      start = page.lastKey;
    } while (start);
    return items;
  }
}
