/**
 * Agents and teams (`admin` scope), the assignment queue and each agent's load (`read`), and the routing
 * settings: who may be given threads (skills, capacity, availability), who belongs together (teams, their
 * business hours), and who is waiting.
 */
import * as z from 'zod';
import { createAgent, createTeam, deleteAgent, deleteTeam, updateAgent, updateSettings, updateTeam } from '../../domain/routing/agents.ts';
import { isOpen } from '../../domain/routing/eligibility.ts';
import {
  AgentSchema,
  AVAILABILITIES,
  AvailabilitySchema,
  BusinessHoursSchema,
  MAX_CAPACITY,
  PrioritySchema,
  RoutingIdSchema,
  RoutingSettingsSchema,
  SkillSchema,
  TeamSchema,
  type Team,
} from '../../domain/routing/model.ts';
import { RoutingError } from '../../domain/routing/plan.ts';
import { deterministicId, randomId } from '../../domain/ids.ts';
import { ConflictError } from '../../domain/shared/store.ts';
import { IsoInstantSchema, millis } from '../../domain/shared/time.ts';
import { ApiError } from '../errors.ts';
import { CursorSchema, json, jsonBody, jsonResponse, LimitSchema, route, type ApiContext } from '../kit.ts';
import type { Api, ApiDeps } from '../deps.ts';

/** Runs a routing use case, answering its rule errors with their codes. */
export const routingCall = async <T>(call: () => Promise<T>): Promise<T> => {
  try {
    return await call();
  } catch (error) {
    if (error instanceof RoutingError) throw new ApiError(error.code, error.message, error.details);
    throw error;
  }
};

const AgentParams = z.object({ agentId: z.string().min(1).max(128).describe('An agent id') });
const TeamParams = z.object({ teamId: z.string().min(1).max(128).describe('A team id') });

const SkillsSchema = z.array(SkillSchema).max(100);
const CapacitySchema = z.int().min(0).max(MAX_CAPACITY).describe('Conversations the agent handles at once');

const CreateAgentRequestSchema = z
  .strictObject({
    id: RoutingIdSchema.optional().describe('Your id for the agent (a user id, an email); made up when absent'),
    name: AgentSchema.shape.name,
    capacity: CapacitySchema,
    skills: SkillsSchema.optional(),
    availability: AvailabilitySchema.optional().describe('offline unless given'),
  })
  .meta({ id: 'CreateAgentRequest' });

const UpdateAgentRequestSchema = z
  .strictObject({
    availability: AvailabilitySchema.optional(),
    capacity: CapacitySchema.optional().describe('Never below the threads the agent holds'),
    name: AgentSchema.shape.name.optional(),
    skills: SkillsSchema.optional().describe('Replaces the skills'),
  })
  .refine((r) => Object.keys(r).length > 0, { message: 'must change something' })
  .meta({ id: 'UpdateAgentRequest' });

const AgentListSchema = z.object({ items: z.array(AgentSchema).describe('By id') }).meta({ id: 'AgentList' });

const TeamViewSchema = TeamSchema.extend({ open: z.boolean().describe('Within its business hours now') }).meta({ id: 'TeamView' });

const CreateTeamRequestSchema = z
  .strictObject({
    id: RoutingIdSchema.optional(),
    name: TeamSchema.shape.name,
    members: z.array(z.string().min(1).max(128)).max(1000).optional().describe('Agent ids'),
    businessHours: BusinessHoursSchema.optional().describe('When its agents take its threads; always, when absent'),
  })
  .meta({ id: 'CreateTeamRequest' });

const UpdateTeamRequestSchema = z
  .strictObject({
    name: TeamSchema.shape.name.optional(),
    members: z.array(z.string().min(1).max(128)).max(1000).optional().describe('Replaces the members'),
    businessHours: BusinessHoursSchema.nullable().optional().describe('null: always open'),
  })
  .refine((r) => Object.keys(r).length > 0, { message: 'must change something' })
  .meta({ id: 'UpdateTeamRequest' });

export const QueueItemSchema = z
  .object({
    threadId: z.string(),
    waitingSince: IsoInstantSchema,
    waitingSeconds: z.number().nonnegative().describe('How long it has waited, at the time of the answer'),
    priority: PrioritySchema,
    skills: z.array(z.string()).describe('What it needs of an agent'),
    team: z.string().optional(),
    preferredAgentId: z.string().optional().describe("The customer's previous agent, first choice when eligible"),
  })
  .meta({ id: 'QueueItem' });

const QueuePageSchema = z
  .object({
    items: z.array(QueueItemSchema).describe('In assignment order: priority, then longest waiting first'),
    nextCursor: z.string().optional().describe('Present when there is more: pass it as `cursor` for the next page'),
  })
  .meta({ id: 'QueuePage' });

const UpdateSettingsRequestSchema = z
  .strictObject({
    answerTimeoutSeconds: RoutingSettingsSchema.shape.answerTimeoutSeconds.optional(),
    newThreadControl: RoutingSettingsSchema.shape.newThreadControl.optional(),
    automationId: z.string().min(1).max(128).optional(),
  })
  .refine((r) => Object.keys(r).length > 0, { message: 'must change something' })
  .meta({ id: 'UpdateRoutingSettingsRequest' });

const tags = ['agents'];

const createAgentRoute = route({
  method: 'post',
  path: '/v1/agents',
  operationId: 'createAgent',
  summary: 'Add an agent: capacity (conversations at once), skills, availability',
  tags,
  scope: 'admin',
  errors: ['invalid_request', 'already_exists'],
  request: { body: jsonBody(CreateAgentRequestSchema) },
  responses: { 201: jsonResponse(AgentSchema, 'The agent') },
});

const listAgentsRoute = route({
  method: 'get',
  path: '/v1/agents',
  operationId: 'listAgents',
  summary: 'The agents, each with their load and capacity',
  tags,
  scope: 'read',
  errors: ['invalid_request'],
  request: {
    query: z.object({ availability: AvailabilitySchema.optional().describe(`Only agents who are ${AVAILABILITIES.join(', ')}`) }),
  },
  responses: { 200: jsonResponse(AgentListSchema, 'By id') },
});

const getAgentRoute = route({
  method: 'get',
  path: '/v1/agents/{agentId}',
  operationId: 'getAgent',
  summary: 'One agent: availability, capacity and load (threads assigned and not resolved)',
  tags,
  scope: 'read',
  errors: ['not_found'],
  request: { params: AgentParams },
  responses: { 200: jsonResponse(AgentSchema, 'The agent') },
});

const updateAgentRoute = route({
  method: 'patch',
  path: '/v1/agents/{agentId}',
  operationId: 'updateAgent',
  summary: 'Change availability (online, away, offline), capacity, name or skills',
  tags,
  scope: 'admin',
  errors: ['not_found', 'invalid_request', 'capacity_below_load'],
  request: { params: AgentParams, body: jsonBody(UpdateAgentRequestSchema) },
  responses: { 200: jsonResponse(AgentSchema, 'The agent as changed') },
});

const deleteAgentRoute = route({
  method: 'delete',
  path: '/v1/agents/{agentId}',
  operationId: 'deleteAgent',
  summary: 'Remove an agent who holds no thread',
  tags,
  scope: 'admin',
  errors: ['not_found', 'agent_has_threads'],
  request: { params: AgentParams },
  responses: { 204: { description: 'Removed' } },
});

const createTeamRoute = route({
  method: 'post',
  path: '/v1/teams',
  operationId: 'createTeam',
  summary: 'Add a team: members and business hours in its own time zone',
  tags: ['teams'],
  scope: 'admin',
  errors: ['invalid_request', 'already_exists', 'not_found'],
  request: { body: jsonBody(CreateTeamRequestSchema) },
  responses: { 201: jsonResponse(TeamViewSchema, 'The team') },
});

const listTeamsRoute = route({
  method: 'get',
  path: '/v1/teams',
  operationId: 'listTeams',
  summary: 'The teams',
  tags: ['teams'],
  scope: 'read',
  responses: { 200: jsonResponse(z.object({ items: z.array(TeamViewSchema) }).meta({ id: 'TeamList' }), 'By id') },
});

const getTeamRoute = route({
  method: 'get',
  path: '/v1/teams/{teamId}',
  operationId: 'getTeam',
  summary: 'One team, and whether it is open now',
  tags: ['teams'],
  scope: 'read',
  errors: ['not_found'],
  request: { params: TeamParams },
  responses: { 200: jsonResponse(TeamViewSchema, 'The team') },
});

const updateTeamRoute = route({
  method: 'patch',
  path: '/v1/teams/{teamId}',
  operationId: 'updateTeam',
  summary: "Change a team's name, members or business hours",
  tags: ['teams'],
  scope: 'admin',
  errors: ['not_found', 'invalid_request'],
  request: { params: TeamParams, body: jsonBody(UpdateTeamRequestSchema) },
  responses: { 200: jsonResponse(TeamViewSchema, 'The team as changed') },
});

const deleteTeamRoute = route({
  method: 'delete',
  path: '/v1/teams/{teamId}',
  operationId: 'deleteTeam',
  summary: 'Remove a team (threads queued for it may then go to any agent)',
  tags: ['teams'],
  scope: 'admin',
  errors: ['not_found'],
  request: { params: TeamParams },
  responses: { 204: { description: 'Removed' } },
});

const queueRoute = route({
  method: 'get',
  path: '/v1/queue',
  operationId: 'listQueue',
  summary: 'The threads waiting for an agent, in assignment order (priority, then longest waiting first), with their wait times',
  tags: ['agents'],
  scope: 'read',
  errors: ['invalid_request', 'invalid_cursor'],
  request: { query: z.object({ limit: LimitSchema, cursor: CursorSchema }) },
  responses: { 200: jsonResponse(QueuePageSchema, 'One page of the queue') },
});

const getSettingsRoute = route({
  method: 'get',
  path: '/v1/routing/settings',
  operationId: 'getRoutingSettings',
  summary: 'Routing settings: the answer timeout, who holds new threads',
  tags: ['agents'],
  scope: 'read',
  responses: { 200: jsonResponse(RoutingSettingsSchema, 'The settings in force') },
});

const updateSettingsRoute = route({
  method: 'patch',
  path: '/v1/routing/settings',
  operationId: 'updateRoutingSettings',
  summary: 'Change the answer timeout (null: none) or who holds new threads (nobody, or automation)',
  tags: ['agents'],
  scope: 'admin',
  errors: ['invalid_request'],
  request: { body: jsonBody(UpdateSettingsRequestSchema) },
  responses: { 200: jsonResponse(RoutingSettingsSchema, 'The settings as changed') },
});

/** Ids made by the API: with an Idempotency-Key, derived from it, so a retried create finds what it made. */
const newIdOf = (c: ApiContext, prefix: string): string => {
  const idempotency = c.get('idempotency');
  return idempotency ? deterministicId(prefix, c.get('principal').keyId, idempotency.key) : randomId(prefix);
};

export const registerAgentRoutes = (app: Api, deps: ApiDeps): void => {
  const store = deps.routing;
  const now = () => deps.clock.now().toISOString();
  const teamView = (team: Team) => ({ ...team, open: isOpen(team.businessHours, deps.clock.now()) });
  const findAgent = async (id: string) => {
    const agent = await store.getAgent(id);
    if (!agent) throw new ApiError('not_found', `No agent ${id}`);
    return agent.value;
  };
  const findTeam = async (id: string) => {
    const team = await store.getTeam(id);
    if (!team) throw new ApiError('not_found', `No team ${id}`);
    return team.value;
  };
  /** A create that lost a race with another of the same id is answered like one that found it made. */
  const creating = async <T>(what: string, id: string, call: () => Promise<T>): Promise<T> =>
    routingCall(async () => {
      try {
        return await call();
      } catch (error) {
        if (error instanceof ConflictError) throw new ApiError('already_exists', `${what} ${id} exists already`);
        throw error;
      }
    });

  app.openapi(createAgentRoute, async (c) => {
    const input = c.req.valid('json');
    const id = input.id ?? newIdOf(c, 'ag');
    const agent = await creating('Agent', id, () =>
      createAgent(
        store,
        { id, name: input.name, capacity: input.capacity, skills: input.skills, availability: input.availability },
        c.get('idempotency')?.firstSeenAt ?? now(),
      ),
    );
    deps.log.info('agent created', { agentId: agent.id, capacity: agent.capacity, availability: agent.availability });
    return json(c, 201, agent) as never;
  });

  app.openapi(listAgentsRoute, async (c) => {
    const { availability } = c.req.valid('query');
    const agents = (await store.listAgents())
      .map((a) => a.value)
      .filter((a) => availability === undefined || a.availability === availability);
    return json(c, 200, { items: agents }) as never;
  });

  app.openapi(getAgentRoute, async (c) => json(c, 200, await findAgent(c.req.valid('param').agentId)) as never);

  app.openapi(updateAgentRoute, async (c) => {
    const { agentId } = c.req.valid('param');
    const input = c.req.valid('json');
    const agent = await routingCall(() => updateAgent(store, agentId, input, now()));
    return json(c, 200, agent) as never;
  });

  app.openapi(deleteAgentRoute, async (c) => {
    await routingCall(() => deleteAgent(store, c.req.valid('param').agentId, now()));
    return new Response(null, { status: 204 }) as never;
  });

  app.openapi(createTeamRoute, async (c) => {
    const input = c.req.valid('json');
    const id = input.id ?? newIdOf(c, 'tm');
    const team = await creating('Team', id, () =>
      createTeam(
        store,
        { id, name: input.name, members: input.members, businessHours: input.businessHours },
        c.get('idempotency')?.firstSeenAt ?? now(),
      ),
    );
    return json(c, 201, teamView(team)) as never;
  });

  app.openapi(listTeamsRoute, async (c) => json(c, 200, { items: (await store.listTeams()).map((t) => teamView(t.value)) }) as never);

  app.openapi(getTeamRoute, async (c) => json(c, 200, teamView(await findTeam(c.req.valid('param').teamId))) as never);

  app.openapi(updateTeamRoute, async (c) => {
    const { teamId } = c.req.valid('param');
    const team = await routingCall(() => updateTeam(store, teamId, c.req.valid('json'), now()));
    return json(c, 200, teamView(team)) as never;
  });

  app.openapi(deleteTeamRoute, async (c) => {
    await routingCall(() => deleteTeam(store, c.req.valid('param').teamId));
    return new Response(null, { status: 204 }) as never;
  });

  app.openapi(queueRoute, async (c) => {
    const { limit, cursor } = c.req.valid('query');
    const page = await store.listQueue(limit, cursor);
    const at = deps.clock.now().getTime();
    const items = page.items.map(({ value: e }) => ({
      threadId: e.threadId,
      waitingSince: e.waitingSince,
      waitingSeconds: Math.max(0, (at - millis(e.waitingSince)) / 1000),
      priority: e.priority,
      skills: e.skills,
      ...(e.team !== undefined && { team: e.team }),
      ...(e.preferredAgentId !== undefined && { preferredAgentId: e.preferredAgentId }),
    }));
    return json(c, 200, { items, ...(page.nextCursor && { nextCursor: page.nextCursor }) }) as never;
  });

  app.openapi(getSettingsRoute, async (c) => json(c, 200, (await store.getSettings()).value) as never);

  app.openapi(updateSettingsRoute, async (c) => json(c, 200, await updateSettings(store, c.req.valid('json'))) as never);
};
