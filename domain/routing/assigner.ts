/**
 * The assigner: keeps every thread's route in line with the thread (a thread that needs a person waits in the
 * queue; one resolved or taken over by automation gives its agent's capacity back), and gives waiting threads
 * to eligible agents, in queue order, whenever there is capacity. It runs on events (a thread created,
 * resolved, reopened, released or transferred; an agent online or given more capacity), from any number of
 * concurrent invocations: each change is one conditional transaction (see plan.ts), so two assigners never give
 * one thread twice or an agent more than their capacity; the loser of a race reads again and carries on.
 */
import type { Actor } from '../conversations/model.ts';
import type { ConversationStore, StoredThread } from '../conversations/ports.ts';
import { SYSTEM } from '../conversations/model.ts';
import type { Clock, Log } from '../ports.ts';
import { ConflictError, retryOnConflict, type Versioned } from '../shared/store.ts';
import { millis } from '../shared/time.ts';
import {
  eligibleAgents,
  hasFreeCapacity,
  holdsCapacity,
  needsHuman,
  qualifies,
  requirementsOf,
  selectAgent,
  type Requirements,
} from './eligibility.ts';
import type { Agent, QueueEntry, Route, RoutingSettings, Team } from './model.ts';
import { RoutingPlan, type PlanWrite } from './plan.ts';
import type { RoutingStore } from './ports.ts';

export interface RoutingDeps {
  readonly routing: RoutingStore;
  readonly conversations: ConversationStore;
  readonly clock: Clock;
  readonly log?: Log | undefined;
  /** The settings in force; read from the store each time unless given (the assigner caches them briefly). */
  readonly settings?: (() => Promise<RoutingSettings>) | undefined;
}

export const settingsOf = async (deps: RoutingDeps): Promise<RoutingSettings> =>
  deps.settings ? deps.settings() : (await deps.routing.getSettings()).value;

/** Settings read at most every `seconds`: a change through the API applies within that time. */
export const cachedSettings = (store: RoutingStore, seconds: number): (() => Promise<RoutingSettings>) => {
  let cached: { value: Promise<RoutingSettings>; until: number } | undefined;
  return () => {
    const now = Date.now();
    if (!cached || cached.until <= now) {
      const value = store.getSettings().then((s) => s.value);
      cached = { value, until: now + seconds * 1000 };
      value.catch(() => {
        cached = undefined;
      });
    }
    return cached.value;
  };
};

export interface ThreadState {
  readonly thread: Versioned<StoredThread>;
  readonly route: Versioned<Route> | undefined;
}

export const readState = async (
  deps: Pick<RoutingDeps, 'routing' | 'conversations'>,
  threadId: string,
): Promise<ThreadState | undefined> => {
  const [thread, route] = await Promise.all([deps.conversations.getThread(threadId), deps.routing.getRoute(threadId)]);
  return thread && { thread, route };
};

/** What a thread needs now: from the thread, its contact's locale and what the API asked for. */
export const requirementsNow = async (
  deps: Pick<RoutingDeps, 'conversations'>,
  thread: StoredThread,
  route: Route | undefined,
): Promise<Requirements> => {
  const needsLanguage = typeof thread.attributes.language !== 'string';
  const contact = needsLanguage ? await deps.conversations.getContact(thread.contactId) : undefined;
  return requirementsOf(thread, contact?.value, route?.requested ?? {});
};

const sameRequirements = (entry: QueueEntry, requirements: Requirements): boolean =>
  entry.priority === requirements.priority && entry.team === requirements.team && entry.skills.join(' ') === requirements.skills.join(' ');

const teamsById = (teams: readonly Versioned<Team>[]): Map<string, Team> => new Map(teams.map((t) => [t.value.id, t.value]));

/** The agent a thread with these needs would go to now, if any. */
const bestAgentFor = async (
  deps: RoutingDeps,
  requirements: Requirements,
  teams: Map<string, Team>,
  at: string,
): Promise<Versioned<Agent> | undefined> => {
  const roster = await deps.routing.listAgents();
  const entry: QueueEntry = {
    key: '',
    threadId: '',
    priority: requirements.priority,
    waitingSince: at,
    skills: [...requirements.skills],
    ...(requirements.team !== undefined && { team: requirements.team }),
  };
  const chosen = selectAgent(
    eligibleAgents(
      roster.map((a) => a.value),
      entry,
      teams,
      new Date(millis(at)),
    ),
    entry,
  );
  return chosen && roster.find((a) => a.value.id === chosen.id);
};

export type ReconcileOutcome =
  | 'unchanged'
  | 'queued'
  | 'requeued'
  | 'assigned'
  | 'released'
  | 'dequeued'
  | 'repaired'
  | 'automation'
  | 'gone';

/**
 * Brings one thread's route in line with the thread, in one transaction:
 * - assigned, but resolved, merged away or taken over by automation: the agent's capacity is given back
 *   (a resolved thread keeps its `assignee`, for the record and for the customer's return);
 * - needing a person and neither waiting nor assigned: the customer's previous agent takes it when eligible
 *   now, else it joins the queue (its `assignee` cleared);
 * - waiting, but no longer needing a person (pending, snoozed, resolved, automation): it leaves the queue;
 * - waiting with changed needs (a topic set, a priority raised): its entry is replaced, keeping its place.
 * With `created` and automation holding new threads (settings), a new thread goes to automation instead.
 */
export const reconcileThread = async (
  deps: RoutingDeps,
  threadId: string,
  options: { readonly created?: boolean; readonly by?: Actor } = {},
): Promise<ReconcileOutcome> => {
  try {
    return await reconcileOnce(deps, threadId, options, true);
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
  }
  // Lost a race, perhaps for an agent other assigners want too: queue it, and let the pass over the queue
  // (which handles such races) give it to someone. Only the thread's own changes can conflict now.
  return retryOnConflict(() => reconcileOnce(deps, threadId, options, false));
};

const reconcileOnce = async (
  deps: RoutingDeps,
  threadId: string,
  options: { readonly created?: boolean; readonly by?: Actor },
  direct: boolean,
): Promise<ReconcileOutcome> => {
  {
    const state = await readState(deps, threadId);
    if (!state) return 'gone';
    const at = deps.clock.now().toISOString();
    const settings = await settingsOf(deps);
    const plan = new RoutingPlan(state, at, options.by ?? SYSTEM);
    const thread = state.thread.value;
    const route = state.route?.value;
    let outcome: ReconcileOutcome = 'unchanged';

    if (
      options.created &&
      route === undefined &&
      settings.newThreadControl === 'automation' &&
      thread.control.holder === 'none' &&
      thread.mergedInto === undefined
    ) {
      plan.setControl(
        { holder: 'automation', ...(settings.automationId !== undefined && { id: settings.automationId }), since: at },
        'pass',
      );
      outcome = 'automation';
    } else if (route?.state === 'assigned') {
      if (!holdsCapacity(thread)) {
        const agent = route.agentId === undefined ? undefined : await deps.routing.getAgent(route.agentId);
        if (agent) plan.useAgent(agent);
        plan.leaveAgent(thread.control.holder === 'automation' ? 'automation' : 'released', {
          unassign: thread.control.holder === 'automation',
        });
        outcome = 'released';
      } else if (thread.assignee !== route.agentId) {
        plan.showAssignee(route.agentId ?? null);
        outcome = 'repaired';
      }
    } else if (needsHuman(thread)) {
      const requirements = await requirementsNow(deps, thread, route);
      if (route?.state === 'waiting' && route.entry !== undefined) {
        if (thread.assignee !== null) {
          plan.joinQueue(requirements, { preferredAgentId: thread.assignee, avoidAgentIds: route.entry.avoidAgentIds });
          outcome = 'requeued';
        } else if (!sameRequirements(route.entry, requirements)) {
          plan.joinQueue(requirements, {
            preferredAgentId: route.entry.preferredAgentId,
            avoidAgentIds: route.entry.avoidAgentIds,
            waitingSince: route.entry.waitingSince,
          });
          outcome = 'requeued';
        }
      } else {
        const preferredAgentId = thread.assignee ?? route?.lastAgentId;
        const preferred = preferredAgentId === undefined || !direct ? undefined : await deps.routing.getAgent(preferredAgentId);
        const teams = requirements.team === undefined ? new Map<string, Team>() : teamsById(await deps.routing.listTeams());
        if (
          preferred &&
          hasFreeCapacity(preferred.value) &&
          qualifies(
            preferred.value,
            { skills: [...requirements.skills], ...(requirements.team !== undefined && { team: requirements.team }) },
            teams,
            new Date(millis(at)),
          )
        ) {
          plan.useAgent(preferred);
          plan.takeAgent(preferred.value.id, 'affinity', settings);
          outcome = 'assigned';
        } else {
          // Nobody waits ahead of it: the best eligible agent takes it now, without a turn through the queue.
          const best =
            direct && (await deps.routing.listQueue(1)).items.length === 0 ? await bestAgentFor(deps, requirements, teams, at) : undefined;
          if (best) {
            plan.useAgent(best);
            plan.takeAgent(best.value.id, 'routing', settings);
            outcome = 'assigned';
          } else {
            plan.joinQueue(requirements, { preferredAgentId });
            outcome = 'queued';
          }
        }
      }
    } else if (route?.state === 'waiting') {
      plan.leaveQueue();
      outcome = 'dequeued';
    }
    if (plan.empty) return 'unchanged';
    await deps.routing.commit(plan.writes());
    return outcome;
  }
};

/** Threads merged into this one leave routing: their agents' capacity is given back, their queue entries go. */
export const reconcileMerged = async (deps: RoutingDeps, threadId: string): Promise<void> => {
  const thread = await deps.conversations.getThread(threadId);
  for (const merged of thread?.value.mergedThreads ?? []) await reconcileThread(deps, merged);
};

export interface DrainOptions {
  /** Stop after this many assignments (the rest is for the next run); default: no limit but the passes'. */
  readonly maxAssignments?: number;
  /** Called with each assignment made, for measurements. */
  readonly onAssigned?: (entry: QueueEntry, agent: Agent) => void;
}

/** Entries read per Query of the queue. */
const QUEUE_PAGE = 50;
/** Entries looked at in one pass at most: beyond, the next pass (or run) carries on. */
const MAX_ENTRIES_PER_PASS = 1000;
const MAX_PASSES = 50;
/**
 * Assignments committed in one transaction: each writes its thread, route, queue entry and answer timer, and
 * the agents once each, so 16 stay under TransactWriteItems' 100 items. A burst (a shift starting, a queue
 * built up overnight) then costs one transaction per 16 threads instead of one each.
 */
const ASSIGNMENTS_PER_TRANSACTION = 16;

type Roster = Map<string, Versioned<Agent>>;

interface Choice {
  readonly entry: Versioned<QueueEntry>;
  readonly agentId: string;
}

const anyoneFree = (roster: Roster): boolean => [...roster.values()].some((a) => hasFreeCapacity(a.value));

/** A waiting thread's state, if it is still waiting under this entry. */
const stillWaiting = (
  state: { readonly thread?: Versioned<StoredThread>; readonly route?: Versioned<Route> } | undefined,
  entry: QueueEntry,
): ThreadState | undefined =>
  state?.thread && state.route?.value.state === 'waiting' && state.route.value.entry?.key === entry.key
    ? { thread: state.thread, route: state.route }
    : undefined;

/**
 * Gives a chunk of waiting threads to the agents chosen for them, in one transaction: each agent's record is
 * written once, with their load raised by the threads they get and the version read, so the transaction holds
 * only if nobody changed them meanwhile. Threads that no longer need a person just leave the queue. When the
 * transaction loses a race, each thread is tried alone, against fresh reads.
 */
const assignChunk = async (
  deps: RoutingDeps,
  chunk: readonly Choice[],
  roster: Roster,
  settings: RoutingSettings,
  at: string,
  options: DrainOptions,
): Promise<{ readonly assigned: number; readonly lostRace: boolean }> => {
  const states = await deps.routing.getStates(chunk.map((c) => c.entry.value.threadId));
  const working = new Map(roster);
  const touched = new Set<string>();
  const writes: PlanWrite[] = [];
  const made: Choice[] = [];
  for (const choice of chunk) {
    const state = stillWaiting(states.get(choice.entry.value.threadId), choice.entry.value);
    if (!state) {
      const route = states.get(choice.entry.value.threadId)?.route;
      if (route?.value.state !== 'assigned') await dropOrphan(deps, choice.entry, route);
      continue;
    }
    const plan = new RoutingPlan(state, at, SYSTEM);
    if (!needsHuman(state.thread.value)) {
      plan.leaveQueue();
    } else {
      const agent = working.get(choice.agentId) as Versioned<Agent>;
      plan.useAgent(agent);
      plan.takeAgent(choice.agentId, choice.entry.value.preferredAgentId === choice.agentId ? 'affinity' : 'routing', settings);
      working.set(choice.agentId, { value: plan.agent(choice.agentId) as Agent, version: agent.version });
      touched.add(choice.agentId);
      made.push(choice);
    }
    writes.push(...plan.writes().filter((w) => w.kind !== 'agent'));
  }
  for (const id of touched) {
    const agent = working.get(id) as Versioned<Agent>;
    writes.push({ kind: 'agent', op: 'put', value: agent.value, version: agent.version });
  }
  if (writes.length === 0) return { assigned: 0, lostRace: false };
  try {
    await deps.routing.commit(writes);
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    return assignOneByOne(deps, chunk, roster, settings, at, options);
  }
  for (const id of touched) {
    const agent = working.get(id) as Versioned<Agent>;
    roster.set(id, { value: agent.value, version: agent.version + 1 });
  }
  for (const choice of made) options.onAssigned?.(choice.entry.value, roster.get(choice.agentId)?.value as Agent);
  return { assigned: made.length, lostRace: false };
};

/** The chunk after its transaction lost a race: each thread alone, each agent read again first. */
const assignOneByOne = async (
  deps: RoutingDeps,
  chunk: readonly Choice[],
  roster: Roster,
  settings: RoutingSettings,
  at: string,
  options: DrainOptions,
): Promise<{ readonly assigned: number; readonly lostRace: boolean }> => {
  let assigned = 0;
  let lostRace = false;
  const teams = teamsById(await deps.routing.listTeams());
  for (const choice of chunk) {
    const fresh = await deps.routing.getAgent(choice.agentId);
    if (fresh) roster.set(choice.agentId, fresh);
    else roster.delete(choice.agentId);
    if (!fresh || eligibleAgents([fresh.value], choice.entry.value, teams, new Date(millis(at))).length === 0) {
      lostRace = true;
      continue;
    }
    try {
      const outcome = await assignEntry(deps, choice.entry, fresh, settings, at);
      if (outcome.kind === 'assigned') {
        roster.set(choice.agentId, outcome.agent);
        assigned += 1;
        options.onAssigned?.(choice.entry.value, outcome.agent.value);
      }
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      lostRace = true;
    }
  }
  return { assigned, lostRace };
};

type EntryOutcome = { readonly kind: 'assigned'; readonly agent: Versioned<Agent> } | { readonly kind: 'skipped' };

/** Gives one waiting thread to one agent, or takes it off the queue if it no longer needs a person. */
const assignEntry = async (
  deps: RoutingDeps,
  entry: Versioned<QueueEntry>,
  agent: Versioned<Agent>,
  settings: RoutingSettings,
  at: string,
): Promise<EntryOutcome> => {
  const state = stillWaiting(await readState(deps, entry.value.threadId), entry.value);
  if (!state) return { kind: 'skipped' };
  const plan = new RoutingPlan(state, at, SYSTEM);
  if (!needsHuman(state.thread.value)) {
    plan.leaveQueue();
    await deps.routing.commit(plan.writes());
    return { kind: 'skipped' };
  }
  plan.useAgent(agent);
  plan.takeAgent(agent.value.id, entry.value.preferredAgentId === agent.value.id ? 'affinity' : 'routing', settings);
  await deps.routing.commit(plan.writes());
  return { kind: 'assigned', agent: { value: plan.agent(agent.value.id) as Agent, version: agent.version + 1 } };
};

/** A queue entry its thread's route does not name (never by design): removed, on the condition that the route is still as read. */
const dropOrphan = async (deps: RoutingDeps, entry: Versioned<QueueEntry>, route: Versioned<Route> | undefined): Promise<void> => {
  try {
    await deps.routing.commit([
      { kind: 'queue', op: 'delete', key: { key: entry.value.key }, version: entry.version },
      ...(route ? [{ kind: 'route' as const, op: 'put' as const, value: route.value, version: route.version }] : []),
    ]);
    deps.log?.warn('removed a queue entry its thread no longer named', { threadId: entry.value.threadId, key: entry.value.key });
  } catch (error) {
    // Gone already (another assigner took the thread, or removed it first): nothing to clean.
    if (!(error instanceof ConflictError)) throw error;
  }
};

/**
 * Gives waiting threads to agents with free capacity, in queue order (priority, then longest waiting): each
 * entry goes to the best eligible agent (selectAgent), counting the threads this pass already gave; an entry
 * nobody eligible can take now stays and does not hold up those behind it. The choices of a page are committed
 * a chunk per transaction. Runs until nothing more can be assigned; a pass that lost a race to another
 * assigner reads the queue and the roster again. Returns how many it assigned.
 */
export const drain = async (deps: RoutingDeps, options: DrainOptions = {}): Promise<number> => {
  const max = options.maxAssignments ?? Number.POSITIVE_INFINITY;
  let assigned = 0;
  for (let pass = 0; pass < MAX_PASSES && assigned < max; pass++) {
    let roster: Roster | undefined;
    let teams = new Map<string, Team>();
    let settings: RoutingSettings | undefined;
    let lostRace = false;
    let more = false;
    let seen = 0;
    let cursor: string | undefined;
    do {
      const page = await deps.routing.listQueue(QUEUE_PAGE, cursor);
      if (page.items.length === 0) break;
      if (!roster || !settings) {
        // Read once a pass, and only when something waits; teams and settings only when someone has room.
        roster = new Map((await deps.routing.listAgents()).map((a) => [a.value.id, a]));
        if (!anyoneFree(roster)) return assigned;
        const [teamList, current] = await Promise.all([deps.routing.listTeams(), settingsOf(deps)]);
        teams = teamsById(teamList);
        settings = current;
      }
      if (!anyoneFree(roster)) return assigned;
      seen += page.items.length;
      const at = deps.clock.now().toISOString();
      const now = new Date(millis(at));
      // Choose for the whole page, each choice counting in the loads the next ones see.
      const tentative = new Map([...roster].map(([id, a]) => [id, a.value]));
      const choices: Choice[] = [];
      for (const entry of page.items) {
        if (assigned + choices.length >= max) break;
        const chosen = selectAgent(eligibleAgents([...tentative.values()], entry.value, teams, now), entry.value);
        if (!chosen) continue;
        choices.push({ entry, agentId: chosen.id });
        tentative.set(chosen.id, { ...chosen, load: chosen.load + 1, lastAssignedAt: at });
      }
      for (let i = 0; i < choices.length; i += ASSIGNMENTS_PER_TRANSACTION) {
        const result = await assignChunk(deps, choices.slice(i, i + ASSIGNMENTS_PER_TRANSACTION), roster, settings, at, options);
        assigned += result.assigned;
        lostRace ||= result.lostRace;
      }
      if (assigned >= max || !anyoneFree(roster)) return assigned;
      cursor = page.nextCursor;
      more = cursor !== undefined && seen >= MAX_ENTRIES_PER_PASS;
    } while (cursor !== undefined && !more);
    if (!lostRace && !more) return assigned;
    if (lostRace) await new Promise((resolve) => setTimeout(resolve, Math.random() * 10));
  }
  return assigned;
};

export type TimeoutOutcome = 'answered' | 'requeued' | 'stale';

/**
 * Assignments whose answer deadline passed: answered in time (an agent message after the assignment), the
 * timer just goes; unanswered, the thread goes back to the queue, to someone else if anyone else qualifies.
 */
export const expireUnanswered = async (deps: RoutingDeps, limit = 100): Promise<Record<TimeoutOutcome, number>> => {
  const counts: Record<TimeoutOutcome, number> = { answered: 0, requeued: 0, stale: 0 };
  const now = deps.clock.now().toISOString();
  for (const timer of await deps.routing.dueTimers(now, limit)) {
    const outcome = await retryOnConflict(async (): Promise<TimeoutOutcome> => {
      const state = await readState(deps, timer.value.threadId);
      const route = state?.route?.value;
      if (!state || route?.state !== 'assigned' || route.timerKey !== timer.value.key) {
        await deps.routing.commit([
          { kind: 'timer', op: 'delete', key: { key: timer.value.key }, version: timer.version },
          ...(state?.route ? [{ kind: 'route' as const, op: 'put' as const, value: state.route.value, version: state.route.version }] : []),
        ]);
        return 'stale';
      }
      const at = deps.clock.now().toISOString();
      const thread = state.thread.value;
      const answered =
        thread.lastAgentMessageAt !== undefined &&
        route.assignedAt !== undefined &&
        millis(thread.lastAgentMessageAt) >= millis(route.assignedAt);
      if (answered || !needsHuman(thread)) {
        // Answered (or no longer waiting for an answer: pending, snoozed): the assignment stands.
        const { timerKey: _key, answerBy: _by, ...rest } = route;
        await deps.routing.commit([
          { kind: 'timer', op: 'delete', key: { key: timer.value.key }, version: timer.version },
          { kind: 'route', op: 'put', value: { ...rest, updatedAt: at }, version: state.route?.version ?? 0 },
        ]);
        return 'answered';
      }
      const plan = new RoutingPlan(state, at, SYSTEM);
      const agent = route.agentId === undefined ? undefined : await deps.routing.getAgent(route.agentId);
      if (agent) plan.useAgent(agent);
      plan.leaveAgent('answer_timeout', { unassign: true });
      if (thread.control.holder === 'human') plan.setControl({ holder: 'none', since: at }, 'release');
      plan.joinQueue(await requirementsNow(deps, plan.threadValue, plan.routeValue), {
        ...(route.agentId !== undefined && { avoidAgentIds: [route.agentId] }),
      });
      await deps.routing.commit(plan.writes());
      return 'requeued';
    });
    counts[outcome] += 1;
  }
  return counts;
};
