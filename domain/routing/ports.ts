/**
 * The routing store: agents (the roster), teams, each thread's route, the assignment queue, answer timers and
 * the routing settings. Its `commit` also takes conversation writes (the thread's assignee and control, a
 * transfer's note), because a routing change and the thread change it implies are one transaction: an agent's
 * load, the thread's route, its queue entry and its `assignee` change together or not at all.
 */
import type { ConversationWrite, StoredThread } from '../conversations/ports.ts';
import type { Page, Versioned, Write } from '../shared/store.ts';
import type { Agent, AnswerTimer, QueueEntry, Route, RoutingSettings, Team } from './model.ts';

export type RoutingWrite =
  | Write<'agent', Agent, { readonly id: string }>
  | Write<'team', Team, { readonly id: string }>
  | Write<'route', Route, { readonly threadId: string }>
  | Write<'queue', QueueEntry, { readonly key: string }>
  | Write<'timer', AnswerTimer, { readonly key: string }>
  | Write<'settings', RoutingSettings, Record<string, never>>;

export interface RoutingStore {
  getAgent(id: string): Promise<Versioned<Agent> | undefined>;
  /** Every agent (the roster), by id. One Query: routing reads it for each pass over the queue. */
  listAgents(): Promise<Versioned<Agent>[]>;
  getTeam(id: string): Promise<Versioned<Team> | undefined>;
  listTeams(): Promise<Versioned<Team>[]>;
  getRoute(threadId: string): Promise<Versioned<Route> | undefined>;
  /** Threads with their routes, in one read (an assigner about to give a page of the queue to agents). */
  getStates(
    threadIds: readonly string[],
  ): Promise<Map<string, { readonly thread?: Versioned<StoredThread>; readonly route?: Versioned<Route> }>>;
  /** The queue in assignment order (priority, then longest waiting); strongly consistent. */
  listQueue(limit: number, cursor?: string): Promise<Page<Versioned<QueueEntry>>>;
  /** Answer timers whose deadline is at or before `now`, earliest first. */
  dueTimers(now: string, limit: number): Promise<Versioned<AnswerTimer>[]>;
  /** The settings, or the defaults (version {@link NEW_RECORD}) when none were saved. */
  getSettings(): Promise<Versioned<RoutingSettings>>;
  /** All or nothing, each record only if it still has the version read (`ConflictError` otherwise). */
  commit(writes: readonly (RoutingWrite | ConversationWrite)[]): Promise<void>;
}
