/**
 * Handoff and control through the API: give a thread to an agent, ask for a person, transfer to another agent
 * or team with a note, release a thread back to the queue, and move control between automation and humans in
 * the manner of Sunshine Conversations' switchboard (pass, offer, accept, release). Each is one transaction of
 * the thread, its route, its queue entry and the agents' loads (plan.ts); the assigner then fills any
 * capacity it freed, on the events these changes publish.
 *
 * Control decides who may answer: while a human holds a thread, automation stays silent (the messages API
 * refuses automation's replies), and a thread held by automation waits for no agent until it is offered or
 * passed to a human.
 */
import type { Actor, Control, Note } from '../conversations/model.ts';
import type { StoredThread } from '../conversations/ports.ts';
import { NEW_RECORD, retryOnConflict, type Versioned } from '../shared/store.ts';
import { readState, requirementsNow, settingsOf, type RoutingDeps, type ThreadState } from './assigner.ts';
import { needsHuman } from './eligibility.ts';
import { freshEvent } from '../events/outbox.ts';
import type { Agent, ControlAction, Priority, Route, RoutingSettings } from './model.ts';
import { RoutingError, RoutingPlan } from './plan.ts';

/** A thread and its route after a change. */
export interface Routed {
  readonly thread: StoredThread;
  readonly route: Route;
}

const stateOf = async (deps: RoutingDeps, threadId: string): Promise<ThreadState> => {
  const state = await readState(deps, threadId);
  if (!state) throw new RoutingError('not_found', `No thread ${threadId}`);
  if (state.thread.value.mergedInto !== undefined) {
    throw new RoutingError(
      'thread_not_open',
      `Thread ${threadId} was merged into ${state.thread.value.mergedInto}; route that thread instead`,
    );
  }
  return state;
};

/** An agent who can take one more thread now: not offline, with room. Away agents may be given threads by hand. */
const takingAgent = async (deps: RoutingDeps, agentId: string, currentAgentId: string | undefined): Promise<Versioned<Agent>> => {
  const agent = await deps.routing.getAgent(agentId);
  if (!agent) throw new RoutingError('not_found', `No agent ${agentId}`);
  if (agent.value.availability === 'offline') throw new RoutingError('agent_unavailable', `Agent ${agentId} is offline`);
  const load = agent.value.load - (currentAgentId === agentId ? 1 : 0);
  if (load >= agent.value.capacity) {
    throw new RoutingError('agent_at_capacity', `Agent ${agentId} holds ${agent.value.load} thread(s), their capacity`, {
      load: agent.value.load,
      capacity: agent.value.capacity,
    });
  }
  return agent;
};

/** Moves the thread's route to `agentId` (from whoever held it), in the plan. */
const giveTo = async (
  deps: RoutingDeps,
  plan: RoutingPlan,
  state: ThreadState,
  agentId: string,
  reason: 'manual' | 'transfer' | 'control',
  settings: RoutingSettings,
) => {
  const route = state.route?.value;
  const current = route?.state === 'assigned' ? route.agentId : undefined;
  const agent = await takingAgent(deps, agentId, current);
  if (current !== undefined && current !== agentId) {
    const previous = await deps.routing.getAgent(current);
    if (previous) plan.useAgent(previous);
  }
  plan.useAgent(agent);
  plan.leaveAgent('transfer', { unassign: false });
  plan.takeAgent(agentId, reason, settings);
};

/**
 * Gives the thread to this agent now (they must not be offline and must have room), taking it from whoever
 * held it; or, without an agent, asks for one: the thread joins the queue with the skills and priority given.
 */
export const assignThread = (
  deps: RoutingDeps,
  threadId: string,
  request: { readonly agentId?: string; readonly skills?: readonly string[]; readonly priority?: Priority },
  by: Actor,
): Promise<Routed> =>
  retryOnConflict(async () => {
    const state = await stateOf(deps, threadId);
    const at = deps.clock.now().toISOString();
    const plan = new RoutingPlan(state, at, by);
    const route = state.route?.value;
    if (state.thread.value.status === 'resolved') throw new RoutingError('thread_not_open', `Thread ${threadId} is resolved`);
    if (request.agentId !== undefined) {
      if (route?.state === 'assigned' && route.agentId === request.agentId) return { thread: plan.threadValue, route: plan.routeValue };
      await giveTo(deps, plan, state, request.agentId, 'manual', await settingsOf(deps));
    } else {
      if (request.skills !== undefined || request.priority !== undefined) {
        plan.request({ ...(request.skills && { skills: [...request.skills] }), ...(request.priority && { priority: request.priority }) });
      }
      if (route?.state === 'assigned') return { thread: plan.threadValue, route: plan.routeValue };
      // Asking for a person is handing the thread to one: automation lets go.
      if (state.thread.value.control.holder === 'automation' || state.thread.value.status !== 'open') {
        throw new RoutingError(
          'invalid_control_change',
          'Only an open thread that automation does not hold waits for an agent; pass or offer it to a human first',
        );
      }
      plan.joinQueue(await requirementsNow(deps, plan.threadValue, plan.routeValue), {
        preferredAgentId: state.thread.value.assignee ?? route?.lastAgentId,
      });
    }
    await deps.routing.commit(plan.writes());
    return { thread: plan.threadValue, route: plan.routeValue };
  });

export type TransferTarget =
  | { readonly agentId: string; readonly teamId?: undefined }
  | { readonly teamId: string; readonly agentId?: undefined };

/**
 * Hands the thread to another agent (at once: they must have room) or to a team (it waits for one of the
 * team's agents), with a note for the next owner, kept as an internal note of the thread. The next owner reads
 * the whole history: a thread holds every channel the customer used, and the threads merged into it.
 */
export const transferThread = (
  deps: RoutingDeps,
  threadId: string,
  to: TransferTarget,
  note: string | undefined,
  by: Actor,
  noteId: string,
): Promise<Routed> =>
  retryOnConflict(async () => {
    const state = await stateOf(deps, threadId);
    const at = deps.clock.now().toISOString();
    const thread = state.thread.value;
    const route = state.route?.value;
    const plan = new RoutingPlan(state, at, by);
    const from = { agentId: route?.state === 'assigned' ? (route.agentId ?? null) : thread.assignee, teamId: thread.team ?? null };
    if (to.agentId !== undefined) {
      if (route?.state === 'assigned' && route.agentId === to.agentId)
        throw new RoutingError('invalid_control_change', `Agent ${to.agentId} holds the thread already`);
      await giveTo(deps, plan, state, to.agentId, 'transfer', await settingsOf(deps));
    } else {
      const team = await deps.routing.getTeam(to.teamId);
      if (!team) throw new RoutingError('not_found', `No team ${to.teamId}`);
      if (route?.state === 'assigned' && route.agentId !== undefined) {
        const agent = await deps.routing.getAgent(route.agentId);
        if (agent) plan.useAgent(agent);
      }
      plan.leaveAgent('transfer', { unassign: true });
      if (plan.threadValue.control.holder === 'human') plan.setControl({ holder: 'none', since: at }, 'release');
      plan.setTeam(to.teamId);
      if (needsHuman(plan.threadValue)) plan.joinQueue(await requirementsNow(deps, plan.threadValue, plan.routeValue));
      else plan.leaveQueue();
    }
    const text = note?.trim();
    if (text) {
      const record: Note = { id: noteId, threadId, text, author: by, createdAt: at };
      plan.alsoWrite({ kind: 'note', op: 'put', value: record, version: NEW_RECORD });
    }
    plan.threadEvent(
      freshEvent('thread.transferred', at, {
        from,
        to: { agentId: to.agentId ?? null, teamId: to.teamId ?? plan.threadValue.team ?? null },
        ...(text && { note: text }),
        by,
      }),
      text ? ['notes'] : [],
    );
    await deps.routing.commit(plan.writes());
    return { thread: plan.threadValue, route: plan.routeValue };
  });

/**
 * The agent gives the thread back: their capacity is freed, control returns to nobody, and the thread waits
 * for an agent again, another one first.
 */
export const releaseThread = (deps: RoutingDeps, threadId: string, by: Actor): Promise<Routed> =>
  retryOnConflict(async () => {
    const state = await stateOf(deps, threadId);
    const route = state.route?.value;
    if (route?.state !== 'assigned' || route.agentId === undefined)
      throw new RoutingError('not_assigned', `Thread ${threadId} is not assigned to an agent`);
    const at = deps.clock.now().toISOString();
    const plan = new RoutingPlan(state, at, by);
    const agent = await deps.routing.getAgent(route.agentId);
    if (agent) plan.useAgent(agent);
    plan.leaveAgent('released', { unassign: true });
    if (plan.threadValue.control.holder === 'human') plan.setControl({ holder: 'none', since: at }, 'release');
    if (needsHuman(plan.threadValue))
      plan.joinQueue(await requirementsNow(deps, plan.threadValue, plan.routeValue), { avoidAgentIds: [route.agentId] });
    await deps.routing.commit(plan.writes());
    return { thread: plan.threadValue, route: plan.routeValue };
  });

export interface ControlRequest {
  readonly action: ControlAction;
  /** pass, offer: to whom. */
  readonly to?: 'automation' | 'human' | undefined;
  /** The automation's id, or the agent's (a human by name). */
  readonly id?: string | undefined;
}

/**
 * Moves control, in the manner of Sunshine Conversations' switchboard:
 * - `pass` gives control at once: to automation (the agent lets go, the thread leaves the queue), or to a
 *   human: a named agent takes it now, otherwise it waits for one (automation silent meanwhile);
 * - `offer` proposes it: offered to a human, the thread waits for an agent while its holder keeps answering,
 *   and the agent who is given it accepts; offered to automation, the automation must `accept`;
 * - `accept` takes what was offered (a human accepts by naming the agent);
 * - `release` lets go: control is nobody's, and the thread waits for an agent (another one, if a human let go).
 */
export const changeControl = (deps: RoutingDeps, threadId: string, request: ControlRequest, by: Actor): Promise<Routed> =>
  retryOnConflict(async () => {
    const state = await stateOf(deps, threadId);
    const at = deps.clock.now().toISOString();
    const plan = new RoutingPlan(state, at, by);
    const control = state.thread.value.control;
    const route = state.route?.value;
    const settings = await settingsOf(deps);
    const invalid = (message: string) => new RoutingError('invalid_control_change', message, { control });

    /** Automation takes the thread: the agent, if any, lets go of it, and it leaves the queue. */
    const toAutomation = async (id: string | undefined, action: ControlAction) => {
      if (route?.state === 'assigned' && route.agentId !== undefined) {
        const agent = await deps.routing.getAgent(route.agentId);
        if (agent) plan.useAgent(agent);
      }
      plan.setControl({ holder: 'automation', ...(id !== undefined && { id }), since: at }, action);
      plan.leaveAgent('automation', { unassign: true });
      plan.leaveQueue();
    };
    /** A human takes it: the named agent at once, or the next eligible one through the queue. */
    const toHuman = async (agentId: string | undefined, action: ControlAction, next: Control) => {
      if (agentId !== undefined) {
        if (route?.state === 'assigned' && route.agentId === agentId) plan.setControl({ holder: 'human', id: agentId, since: at }, action);
        else await giveTo(deps, plan, state, agentId, 'control', settings);
        return;
      }
      plan.setControl(next, action);
      if (route?.state !== 'assigned' && route?.state !== 'waiting' && needsHuman(plan.threadValue)) {
        plan.joinQueue(await requirementsNow(deps, plan.threadValue, plan.routeValue), {
          preferredAgentId: state.thread.value.assignee ?? route?.lastAgentId,
        });
      }
    };

    switch (request.action) {
      case 'pass':
        if (request.to === undefined) throw invalid('pass needs `to`: automation or human');
        if (request.to === 'automation') await toAutomation(request.id, 'pass');
        else await toHuman(request.id, 'pass', { holder: 'human', since: at });
        break;
      case 'offer':
        if (request.to === undefined) throw invalid('offer needs `to`: automation or human');
        if (request.to === control.holder) throw invalid(`The thread is held by ${control.holder} already`);
        if (request.to === 'human') await toHuman(undefined, 'offer', { ...control, offeredTo: 'human', since: control.since });
        else plan.setControl({ ...control, offeredTo: 'automation' }, 'offer');
        break;
      case 'accept':
        if (control.offeredTo === undefined) throw invalid('Nothing was offered');
        if (control.offeredTo === 'automation') await toAutomation(request.id, 'accept');
        else {
          if (request.id === undefined) throw invalid('A human accepts by naming the agent: `id`');
          await toHuman(request.id, 'accept', { holder: 'human', id: request.id, since: at });
        }
        break;
      case 'release': {
        if (control.holder === 'none' && control.offeredTo === undefined) throw invalid('Nobody holds the thread');
        const agentId = route?.state === 'assigned' ? route.agentId : undefined;
        if (agentId !== undefined) {
          const agent = await deps.routing.getAgent(agentId);
          if (agent) plan.useAgent(agent);
        }
        plan.setControl({ holder: 'none', since: at }, 'release');
        plan.leaveAgent('released', { unassign: true });
        if (needsHuman(plan.threadValue) && plan.routeValue.state !== 'waiting') {
          plan.joinQueue(await requirementsNow(deps, plan.threadValue, plan.routeValue), {
            ...(agentId !== undefined && { avoidAgentIds: [agentId] }),
          });
        }
        break;
      }
    }
    if (plan.empty) return { thread: plan.threadValue, route: plan.routeValue };
    await deps.routing.commit(plan.writes());
    return { thread: plan.threadValue, route: plan.routeValue };
  });
