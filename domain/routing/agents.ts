/**
 * The roster: agents (skills, capacity, availability) and teams (members, business hours in their own time
 * zone), and the routing settings. An availability change is an event (`agent.availability.changed`): going
 * online is capacity the assigner fills at once.
 */
import { freshEvent } from '../events/outbox.ts';
import { NEW_RECORD, retryOnConflict, type Versioned } from '../shared/store.ts';
import { later } from '../shared/time.ts';
import type { Agent, Availability, BusinessHours, RoutingSettings, Team } from './model.ts';
import { RoutingError } from './plan.ts';
import type { RoutingStore } from './ports.ts';

export interface NewAgent {
  readonly id: string;
  readonly name: string;
  readonly capacity: number;
  readonly skills?: readonly string[] | undefined;
  readonly availability?: Availability | undefined;
}

export const createAgent = async (store: RoutingStore, input: NewAgent, at: string): Promise<Agent> => {
  const availability = input.availability ?? 'offline';
  const agent: Agent = {
    id: input.id,
    name: input.name,
    capacity: input.capacity,
    skills: [...new Set(input.skills ?? [])].sort(),
    availability,
    availabilitySince: at,
    load: 0,
    assignedTotal: 0,
    createdAt: at,
    updatedAt: at,
  };
  const existing = await store.getAgent(input.id);
  if (existing) throw new RoutingError('already_exists', `Agent ${input.id} exists already`);
  // Created online: capacity the assigner fills, like an agent coming online.
  const events = availability === 'online' ? [freshEvent('agent.availability.changed', at, { previous: 'offline' })] : [];
  await store.commit([{ kind: 'agent', op: 'put', value: agent, version: NEW_RECORD, events }]);
  return agent;
};

export interface AgentChange {
  readonly name?: string | undefined;
  readonly capacity?: number | undefined;
  readonly skills?: readonly string[] | undefined;
  readonly availability?: Availability | undefined;
}

/**
 * Changes an agent. Capacity never goes below the agent's load (the threads they hold stay theirs until
 * resolved or released); availability changes are `agent.availability.changed`, the rest `agent.updated`.
 */
export const updateAgent = (store: RoutingStore, id: string, change: AgentChange, at: string): Promise<Agent> =>
  retryOnConflict(async () => {
    const current = await store.getAgent(id);
    if (!current) throw new RoutingError('not_found', `No agent ${id}`);
    const agent = current.value;
    if (change.capacity !== undefined && change.capacity < agent.load) {
      throw new RoutingError(
        'capacity_below_load',
        `Agent ${id} holds ${agent.load} thread(s); capacity cannot go below that (release or resolve some first)`,
        {
          load: agent.load,
        },
      );
    }
    const skills = change.skills === undefined ? agent.skills : [...new Set(change.skills)].sort();
    const changes = [
      ...(change.name !== undefined && change.name !== agent.name ? ['name'] : []),
      ...(change.capacity !== undefined && change.capacity !== agent.capacity ? ['capacity'] : []),
      ...(skills.join(' ') !== agent.skills.join(' ') ? ['skills'] : []),
    ];
    const availabilityChanged = change.availability !== undefined && change.availability !== agent.availability;
    if (changes.length === 0 && !availabilityChanged) return agent;
    const next: Agent = {
      ...agent,
      ...(change.name !== undefined && { name: change.name }),
      ...(change.capacity !== undefined && { capacity: change.capacity }),
      skills,
      ...(availabilityChanged && change.availability !== undefined && { availability: change.availability, availabilitySince: at }),
      updatedAt: later(agent.updatedAt, at),
    };
    const events = [
      ...(availabilityChanged ? [freshEvent('agent.availability.changed', at, { previous: agent.availability })] : []),
      ...(changes.length > 0 ? [freshEvent('agent.updated', at, { changes })] : []),
    ];
    await store.commit([{ kind: 'agent', op: 'put', value: next, version: current.version, events }]);
    return next;
  });

/** Deletes an agent who holds no thread; they leave their teams in the same write. */
export const deleteAgent = (store: RoutingStore, id: string, at: string): Promise<void> =>
  retryOnConflict(async () => {
    const current = await store.getAgent(id);
    if (!current) throw new RoutingError('not_found', `No agent ${id}`);
    if (current.value.load > 0) {
      throw new RoutingError('agent_has_threads', `Agent ${id} holds ${current.value.load} thread(s); release or resolve them first`, {
        load: current.value.load,
      });
    }
    const teams = (await store.listTeams()).filter((t) => t.value.members.includes(id));
    await store.commit([
      { kind: 'agent', op: 'delete', key: { id }, version: current.version },
      ...teams.map((t) => ({
        kind: 'team' as const,
        op: 'put' as const,
        value: { ...t.value, members: t.value.members.filter((m) => m !== id), updatedAt: later(t.value.updatedAt, at) },
        version: t.version,
      })),
    ]);
  });

export interface NewTeam {
  readonly id: string;
  readonly name: string;
  readonly members?: readonly string[] | undefined;
  readonly businessHours?: BusinessHours | undefined;
}

const checkMembers = async (store: RoutingStore, members: readonly string[]): Promise<string[]> => {
  const unique = [...new Set(members)];
  const roster = new Set((await store.listAgents()).map((a) => a.value.id));
  const unknown = unique.filter((m) => !roster.has(m));
  if (unknown.length > 0) throw new RoutingError('not_found', `No agent ${unknown.join(', ')}`, { unknown });
  return unique.sort();
};

export const createTeam = async (store: RoutingStore, input: NewTeam, at: string): Promise<Team> => {
  if (await store.getTeam(input.id)) throw new RoutingError('already_exists', `Team ${input.id} exists already`);
  const team: Team = {
    id: input.id,
    name: input.name,
    members: await checkMembers(store, input.members ?? []),
    ...(input.businessHours !== undefined && { businessHours: input.businessHours }),
    createdAt: at,
    updatedAt: at,
  };
  await store.commit([{ kind: 'team', op: 'put', value: team, version: NEW_RECORD }]);
  return team;
};

export interface TeamChange {
  readonly name?: string | undefined;
  readonly members?: readonly string[] | undefined;
  /** null removes the hours: always open. */
  readonly businessHours?: BusinessHours | null | undefined;
}

export const updateTeam = (store: RoutingStore, id: string, change: TeamChange, at: string): Promise<Team> =>
  retryOnConflict(async () => {
    const current = await store.getTeam(id);
    if (!current) throw new RoutingError('not_found', `No team ${id}`);
    const members = change.members === undefined ? current.value.members : await checkMembers(store, change.members);
    const { businessHours: _hours, ...rest } = current.value;
    const hours = change.businessHours === undefined ? current.value.businessHours : (change.businessHours ?? undefined);
    const next: Team = {
      ...rest,
      ...(change.name !== undefined && { name: change.name }),
      members,
      ...(hours !== undefined && { businessHours: hours }),
      updatedAt: later(current.value.updatedAt, at),
    };
    await store.commit([{ kind: 'team', op: 'put', value: next, version: current.version }]);
    return next;
  });

export const deleteTeam = (store: RoutingStore, id: string): Promise<void> =>
  retryOnConflict(async () => {
    const current = await store.getTeam(id);
    if (!current) throw new RoutingError('not_found', `No team ${id}`);
    await store.commit([{ kind: 'team', op: 'delete', key: { id }, version: current.version }]);
  });

export const updateSettings = (store: RoutingStore, change: Partial<RoutingSettings>): Promise<RoutingSettings> =>
  retryOnConflict(async () => {
    const current: Versioned<RoutingSettings> = await store.getSettings();
    const { automationId: _automation, ...rest } = current.value;
    const automationId = 'automationId' in change ? change.automationId : current.value.automationId;
    const next: RoutingSettings = {
      ...rest,
      ...(change.answerTimeoutSeconds !== undefined && { answerTimeoutSeconds: change.answerTimeoutSeconds }),
      ...(change.newThreadControl !== undefined && { newThreadControl: change.newThreadControl }),
      ...(automationId !== undefined && { automationId }),
    };
    await store.commit([{ kind: 'settings', op: 'put', value: next, version: current.version }]);
    return next;
  });
