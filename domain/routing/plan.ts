/**
 * One routing change of one thread, as the writes of one transaction. A plan starts from the thread and its
 * route as read (with their versions) and applies steps (leave the agent, leave the queue, join the queue,
 * take an agent, change control); `writes()` then gives every record the steps touched, each conditional on
 * the version read, so the change happens entirely or not at all. That is what makes "an assigner dies after
 * claiming capacity, before recording the assignment" impossible: the claim (the agent's load) and the
 * record (the route, the thread's assignee, the queue entry removed) are the same write.
 */
import type { Actor, Control } from '../conversations/model.ts';
import type { ConversationWrite, StoredThread } from '../conversations/ports.ts';
import { freshEvent, type PendingEvent } from '../events/outbox.ts';
import { NEW_RECORD, type Versioned } from '../shared/store.ts';
import { addSeconds, later } from '../shared/time.ts';
import { queueKeyOf, type Requirements } from './eligibility.ts';
import type { Agent, AnswerTimer, AssignReason, ControlAction, QueueEntry, Route, RoutingSettings, UnassignReason } from './model.ts';
import type { RoutingWrite } from './ports.ts';

export type PlanWrite = RoutingWrite | ConversationWrite;

/** Raised by a routing rule the caller broke; the API answers it with its code. */
export class RoutingError extends Error {
  constructor(
    readonly code:
      | 'not_found'
      | 'already_exists'
      | 'agent_unavailable'
      | 'agent_at_capacity'
      | 'capacity_below_load'
      | 'agent_has_threads'
      | 'invalid_control_change'
      | 'not_assigned'
      | 'thread_not_open',
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'RoutingError';
  }
}

/** Timers sort by deadline; the route's version makes each assignment's timer its own item. */
export const timerKeyOf = (answerBy: string, threadId: string, serial: number): string =>
  `${answerBy}#${threadId.replaceAll('%', '%25').replaceAll('#', '%23')}#${serial.toString(36).padStart(6, '0')}`;

export interface EnqueueOptions {
  readonly preferredAgentId?: string | undefined;
  readonly avoidAgentIds?: readonly string[] | undefined;
  /** Keeps the thread's place when only what it needs changed. */
  readonly waitingSince?: string | undefined;
}

export class RoutingPlan {
  private thread: StoredThread;
  private threadChanged = false;
  private readonly threadChanges = new Set<string>();
  private readonly threadEvents: PendingEvent[] = [];
  private route: Route;
  private routeChanged = false;
  private readonly agents = new Map<string, Versioned<Agent> & { changed: boolean }>();
  private readonly queuePuts: QueueEntry[] = [];
  private readonly queueDeletes: string[] = [];
  private readonly timerPuts: AnswerTimer[] = [];
  private readonly timerDeletes: string[] = [];
  private readonly extra: PlanWrite[] = [];

  constructor(
    private readonly current: { readonly thread: Versioned<StoredThread>; readonly route: Versioned<Route> | undefined },
    readonly at: string,
    readonly by: Actor,
  ) {
    this.thread = current.thread.value;
    this.route = current.route?.value ?? { threadId: current.thread.value.id, state: 'idle', updatedAt: at };
  }

  get threadValue(): StoredThread {
    return this.thread;
  }

  get routeValue(): Route {
    return this.route;
  }

  /** The version the route will have once written: it numbers queue entries, so a re-queued thread gets a fresh key. */
  private get nextRouteVersion(): number {
    return (this.current.route?.version ?? NEW_RECORD) + 1;
  }

  /** An agent the plan changes, as read (a second change of the same agent builds on the first). */
  useAgent(agent: Versioned<Agent>): Agent {
    const known = this.agents.get(agent.value.id);
    if (known) return known.value;
    this.agents.set(agent.value.id, { ...agent, changed: false });
    return agent.value;
  }

  agent(id: string): Agent | undefined {
    return this.agents.get(id)?.value;
  }

  private changeAgent(id: string, change: (agent: Agent) => Agent): Agent {
    const known = this.agents.get(id);
    if (!known) throw new Error(`routing plan: agent ${id} was not read before it was changed`);
    const value = change(known.value);
    this.agents.set(id, { value, version: known.version, changed: true });
    return value;
  }

  private setRoute(next: Route): void {
    this.route = { ...next, updatedAt: this.at };
    this.routeChanged = true;
  }

  private changeThread(next: StoredThread, changes: readonly string[], events: readonly PendingEvent[] = []): void {
    this.thread = { ...next, updatedAt: later(next.updatedAt, this.at) };
    this.threadChanged = true;
    for (const change of changes) this.threadChanges.add(change);
    this.threadEvents.push(...events);
  }

  /** Adds a record to write in the same transaction (a transfer's note). */
  alsoWrite(write: PlanWrite): void {
    this.extra.push(write);
  }

  /** Adds an event to the thread's write (a transfer). */
  threadEvent(event: PendingEvent, changes: readonly string[] = []): void {
    this.changeThread(this.thread, changes, [event]);
  }

  setTeam(team: string | null): void {
    if ((this.thread.team ?? null) === team) return;
    this.changeThread({ ...this.thread, team }, ['team']);
  }

  setControl(control: Control, action: ControlAction): void {
    const previous = this.thread.control;
    if (previous.holder === control.holder && previous.id === control.id && previous.offeredTo === control.offeredTo) return;
    this.changeThread(
      { ...this.thread, control },
      ['control'],
      [freshEvent('thread.control.changed', this.at, { previous, action, by: this.by })],
    );
  }

  private setAssignee(agentId: string | null, event?: PendingEvent): void {
    if (this.thread.assignee === agentId && event === undefined) return;
    this.changeThread({ ...this.thread, assignee: agentId }, this.thread.assignee === agentId ? [] : ['assignee'], event ? [event] : []);
  }

  /** Repairs a thread whose `assignee` says other than its route (a write outside routing changed it). */
  showAssignee(agentId: string | null): void {
    this.setAssignee(agentId);
  }

  /**
   * The thread leaves its agent: their load drops by one and its answer timer goes. With `unassign`, its
   * `assignee` is cleared too (`thread.unassigned`); a resolved thread keeps its assignee, for the record and
   * for the customer's return.
   */
  leaveAgent(reason: UnassignReason, options: { readonly unassign: boolean }): string | undefined {
    if (this.route.state !== 'assigned' || this.route.agentId === undefined) return undefined;
    const agentId = this.route.agentId;
    if (this.agents.has(agentId))
      this.changeAgent(agentId, (agent) => ({ ...agent, load: Math.max(0, agent.load - 1), updatedAt: this.at }));
    // An agent record that is gone (deleted while it held threads, by hand) has no load to give back.
    if (this.route.timerKey !== undefined) this.timerDeletes.push(this.route.timerKey);
    const { agentId: _agent, assignedAt: _at, answerBy: _by, timerKey: _timer, ...rest } = this.route;
    this.setRoute({ ...rest, state: 'idle', lastAgentId: agentId });
    if (options.unassign && this.thread.assignee !== null) {
      this.setAssignee(null, freshEvent('thread.unassigned', this.at, { agentId, reason, by: this.by }));
    }
    return agentId;
  }

  /** The thread leaves the queue (assigned, or no longer needing a person). */
  leaveQueue(): void {
    if (this.route.state !== 'waiting' || this.route.entry === undefined) return;
    this.queueDeletes.push(this.route.entry.key);
    const { entry: _entry, ...rest } = this.route;
    this.setRoute({ ...rest, state: 'idle' });
  }

  /** The thread waits for an agent: a queue entry in priority order, then by how long it has waited. */
  joinQueue(requirements: Requirements, options: EnqueueOptions = {}): QueueEntry {
    const waitingSince = options.waitingSince ?? this.route.entry?.waitingSince ?? this.at;
    this.leaveQueue();
    if (this.route.state === 'assigned') throw new Error('routing plan: a thread joins the queue only after leaving its agent');
    const entry: QueueEntry = {
      key: queueKeyOf(requirements.priority, waitingSince, this.thread.id, this.nextRouteVersion),
      threadId: this.thread.id,
      priority: requirements.priority,
      waitingSince,
      skills: [...requirements.skills],
      ...(requirements.team !== undefined && { team: requirements.team }),
      ...(options.preferredAgentId !== undefined && { preferredAgentId: options.preferredAgentId }),
      ...(options.avoidAgentIds !== undefined &&
        options.avoidAgentIds.length > 0 && { avoidAgentIds: [...new Set(options.avoidAgentIds)] }),
    };
    this.queuePuts.push(entry);
    this.setRoute({ ...this.route, state: 'waiting', entry });
    if (this.thread.assignee !== null) {
      this.setAssignee(null, freshEvent('thread.unassigned', this.at, { agentId: this.thread.assignee, reason: 'requeued', by: this.by }));
    }
    return entry;
  }

  /** Remembers what the API asked for, so a thread queued again keeps it. */
  request(requested: NonNullable<Route['requested']>): void {
    this.setRoute({ ...this.route, requested });
  }

  /**
   * The agent takes the thread: their load rises by one (the caller checked they were online with room, and
   * the agent's version in the write makes sure that still holds), the thread's `assignee` and control become
   * theirs, and an answer timer starts.
   */
  takeAgent(agentId: string, reason: AssignReason, settings: RoutingSettings): void {
    if (this.route.state === 'assigned') throw new Error('routing plan: a thread takes an agent only after leaving the previous one');
    this.leaveQueue();
    const taking = this.agents.get(agentId)?.value;
    // The callers choose agents with room; this is the last line, never crossed, whatever a caller did.
    if (taking !== undefined && taking.load >= taking.capacity) {
      throw new RoutingError('agent_at_capacity', `Agent ${agentId} holds ${taking.load} thread(s), their capacity`, {
        load: taking.load,
        capacity: taking.capacity,
      });
    }
    const agent = this.changeAgent(agentId, (a) => ({
      ...a,
      load: a.load + 1,
      assignedTotal: a.assignedTotal + 1,
      lastAssignedAt: this.at,
      updatedAt: this.at,
    }));
    const answerBy = settings.answerTimeoutSeconds === null ? undefined : addSeconds(this.at, settings.answerTimeoutSeconds);
    const timerKey = answerBy === undefined ? undefined : timerKeyOf(answerBy, this.thread.id, this.nextRouteVersion);
    if (answerBy !== undefined && timerKey !== undefined) {
      this.timerPuts.push({ key: timerKey, threadId: this.thread.id, agentId: agent.id, assignedAt: this.at, answerBy });
    }
    const { entry: _entry, ...rest } = this.route;
    this.setRoute({
      ...rest,
      state: 'assigned',
      agentId: agent.id,
      assignedAt: this.at,
      ...(answerBy !== undefined && { answerBy }),
      ...(timerKey !== undefined && { timerKey }),
      lastAgentId: agent.id,
    });
    const before = this.current.thread.value.assignee;
    const previousAgentId = before !== agent.id ? before : null;
    const control = this.thread.control;
    if (control.holder !== 'human' || control.id !== agent.id || control.offeredTo !== undefined) {
      this.setControl({ holder: 'human', id: agent.id, since: this.at }, 'accept');
    }
    this.setAssignee(agent.id, freshEvent('thread.assigned', this.at, { agentId: agent.id, previousAgentId, reason, by: this.by }));
  }

  /** Nothing to write. */
  get empty(): boolean {
    return !this.routeChanged && !this.threadChanged && this.extra.length === 0 && ![...this.agents.values()].some((a) => a.changed);
  }

  /** The transaction: every record changed, each conditional on the version read. */
  writes(): PlanWrite[] {
    const writes: PlanWrite[] = [];
    if (this.threadChanged) {
      const events = [...this.threadEvents];
      if (this.threadChanges.size > 0) events.push(freshEvent('thread.updated', this.at, { changes: [...this.threadChanges] }));
      writes.push({
        kind: 'thread',
        op: 'put',
        value: this.thread,
        version: this.current.thread.version,
        ...(events.length > 0 && { events }),
      });
    }
    if (this.routeChanged) writes.push({ kind: 'route', op: 'put', value: this.route, version: this.current.route?.version ?? NEW_RECORD });
    for (const agent of this.agents.values()) {
      if (agent.changed) writes.push({ kind: 'agent', op: 'put', value: agent.value, version: agent.version });
    }
    // An entry put and deleted in the same plan (queued, then assigned at once) was never there.
    const puts = this.queuePuts.filter((e) => !this.queueDeletes.includes(e.key));
    const deletes = this.queueDeletes.filter((k) => !this.queuePuts.some((e) => e.key === k));
    for (const key of deletes) writes.push({ kind: 'queue', op: 'delete', key: { key }, version: 1 });
    for (const entry of puts) writes.push({ kind: 'queue', op: 'put', value: entry, version: NEW_RECORD });
    const timerPuts = this.timerPuts.filter((t) => !this.timerDeletes.includes(t.key));
    const timerDeletes = this.timerDeletes.filter((k) => !this.timerPuts.some((t) => t.key === k));
    for (const key of timerDeletes) writes.push({ kind: 'timer', op: 'delete', key: { key }, version: 1 });
    for (const timer of timerPuts) writes.push({ kind: 'timer', op: 'put', value: timer, version: NEW_RECORD });
    writes.push(...this.extra);
    return writes;
  }
}
