/**
 * A thread's assignment and control (`write` scope): give it to an agent or ask for one, transfer it to
 * another agent or team with a note, release it back to the queue, and move control between automation and
 * humans (pass, offer, accept, release). Each answers the thread and its route as they are after the change;
 * capacity the change freed is filled by the assigner, on the events it publishes.
 */
import * as z from 'zod';
import { ThreadSchema, type Actor } from '../../domain/conversations/model.ts';
import { publicThread } from '../../domain/conversations/threads.ts';
import { assignThread, changeControl, releaseThread, transferThread, type Routed } from '../../domain/routing/handoff.ts';
import { CONTROL_ACTIONS, PrioritySchema, RouteSchema, SkillSchema, type Route } from '../../domain/routing/model.ts';
import { deterministicId, randomId } from '../../domain/ids.ts';
import { millis } from '../../domain/shared/time.ts';
import { ApiError } from '../errors.ts';
import { json, jsonBody, jsonResponse, route, type ApiContext } from '../kit.ts';
import type { Api, ApiDeps } from '../deps.ts';
import { routingCall } from './agents.ts';
import { ThreadParams } from './threads.ts';

const RouteViewSchema = RouteSchema.pick({
  threadId: true,
  state: true,
  agentId: true,
  assignedAt: true,
  answerBy: true,
  lastAgentId: true,
})
  .extend({
    waitingSince: z.string().optional(),
    priority: PrioritySchema.optional(),
    skills: z.array(z.string()).optional().describe('What it needs of an agent, while waiting'),
    team: z.string().optional(),
  })
  .meta({ id: 'ThreadRoute' });

const RoutedThreadSchema = z.object({ thread: ThreadSchema, route: RouteViewSchema }).meta({ id: 'RoutedThread' });

const AssignRequestSchema = z
  .strictObject({
    agentId: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .describe('Give it to this agent now (not offline, with room); absent: queue it for the next eligible agent'),
    skills: z.array(SkillSchema).max(20).optional().describe('Without agentId: skills it needs, beyond those read from the thread'),
    priority: PrioritySchema.optional().describe('Without agentId: its priority in the queue'),
  })
  .refine((r) => r.agentId === undefined || (r.skills === undefined && r.priority === undefined), {
    message: 'skills and priority go without agentId',
  })
  .meta({ id: 'AssignThreadRequest' });

const TransferRequestSchema = z
  .strictObject({
    agentId: z.string().min(1).max(128).optional(),
    teamId: z.string().min(1).max(128).optional(),
    note: z.string().max(10_000).optional().describe('For the next owner; kept as an internal note of the thread'),
  })
  .refine((r) => (r.agentId === undefined) !== (r.teamId === undefined), { message: 'exactly one of agentId and teamId' })
  .meta({ id: 'TransferThreadRequest' });

const ControlRequestSchema = z
  .strictObject({
    action: z
      .enum(CONTROL_ACTIONS)
      .describe(
        'pass: give control now; offer: propose it (a human accepts by being given the thread); accept: take what was offered; release: let go',
      ),
    to: z.enum(['automation', 'human']).optional().describe('With pass and offer'),
    id: z.string().min(1).max(128).optional().describe("The automation's id, or the agent's: a named agent takes the thread at once"),
  })
  .meta({ id: 'ControlRequest' });

const tags = ['threads'];

const assignRoute = route({
  method: 'post',
  path: '/v1/threads/{threadId}/assign',
  operationId: 'assignThread',
  summary: 'Give a thread to an agent, or queue it for the next eligible one',
  tags,
  scope: 'write',
  errors: ['not_found', 'invalid_request', 'agent_unavailable', 'agent_at_capacity', 'thread_not_open', 'invalid_control_change'],
  request: { params: ThreadParams, body: jsonBody(AssignRequestSchema) },
  responses: { 200: jsonResponse(RoutedThreadSchema, 'The thread and its route') },
});

const transferRoute = route({
  method: 'post',
  path: '/v1/threads/{threadId}/transfer',
  operationId: 'transferThread',
  summary: 'Hand a thread to another agent (at once) or team (it waits for one of its agents), with a note',
  tags,
  scope: 'write',
  errors: ['not_found', 'invalid_request', 'agent_unavailable', 'agent_at_capacity', 'thread_not_open', 'invalid_control_change'],
  request: { params: ThreadParams, body: jsonBody(TransferRequestSchema) },
  responses: { 200: jsonResponse(RoutedThreadSchema, 'The thread and its route') },
});

const releaseRoute = route({
  method: 'post',
  path: '/v1/threads/{threadId}/release',
  operationId: 'releaseThread',
  summary: 'The agent gives the thread back: it waits for another agent',
  tags,
  scope: 'write',
  errors: ['not_found', 'not_assigned', 'thread_not_open'],
  request: { params: ThreadParams },
  responses: { 200: jsonResponse(RoutedThreadSchema, 'The thread and its route') },
});

const controlRoute = route({
  method: 'post',
  path: '/v1/threads/{threadId}/control',
  operationId: 'changeThreadControl',
  summary: 'Move control between automation and humans: pass, offer, accept, release',
  tags,
  scope: 'write',
  errors: ['not_found', 'invalid_request', 'invalid_control_change', 'agent_unavailable', 'agent_at_capacity', 'thread_not_open'],
  request: { params: ThreadParams, body: jsonBody(ControlRequestSchema) },
  responses: { 200: jsonResponse(RoutedThreadSchema, 'The thread (its `control`) and its route') },
});

const getRouteRoute = route({
  method: 'get',
  path: '/v1/threads/{threadId}/route',
  operationId: 'getThreadRoute',
  summary: 'Where a thread stands in routing: waiting (since when, needing what), assigned (to whom, answer by when), or neither',
  tags,
  scope: 'read',
  errors: ['not_found'],
  request: { params: ThreadParams },
  responses: { 200: jsonResponse(RouteViewSchema, 'Its route') },
});

export const routeView = (threadId: string, route: Route | undefined) => {
  if (!route) return { threadId, state: 'idle' as const };
  const { entry, threadId: _id, timerKey: _timer, requested: _requested, updatedAt: _updated, ...rest } = route;
  return {
    ...rest,
    threadId,
    ...(entry && {
      waitingSince: entry.waitingSince,
      priority: entry.priority,
      skills: entry.skills,
      ...(entry.team !== undefined && { team: entry.team }),
    }),
  };
};

const answer = (c: ApiContext, routed: Routed) =>
  json(c, 200, { thread: publicThread(routed.thread), route: routeView(routed.thread.id, routed.route) });

const actorOf = (c: ApiContext): Actor => ({ type: 'api_key', id: c.get('principal').keyId });

/** Note ids sort by time; a retried request (same Idempotency-Key) makes the same id. */
const noteIdOf = (c: ApiContext, deps: ApiDeps): string => {
  const idempotency = c.get('idempotency');
  const at = idempotency ? millis(idempotency.firstSeenAt) : deps.clock.now().getTime();
  const suffix = idempotency ? deterministicId('n', c.get('principal').keyId, idempotency.key) : randomId('n');
  return `note_${at.toString(36).padStart(9, '0')}_${suffix.slice(2)}`;
};

export const registerAssignmentRoutes = (app: Api, deps: ApiDeps): void => {
  const routingDeps = { routing: deps.routing, conversations: deps.conversations, clock: deps.clock, log: deps.log };

  app.openapi(assignRoute, async (c) => {
    const { threadId } = c.req.valid('param');
    const input = c.req.valid('json');
    const routed = await routingCall(() =>
      assignThread(
        routingDeps,
        threadId,
        {
          ...(input.agentId !== undefined && { agentId: input.agentId }),
          ...(input.skills && { skills: input.skills }),
          ...(input.priority && { priority: input.priority }),
        },
        actorOf(c),
      ),
    );
    return answer(c, routed) as never;
  });

  app.openapi(transferRoute, async (c) => {
    const { threadId } = c.req.valid('param');
    const input = c.req.valid('json');
    const to = input.agentId !== undefined ? { agentId: input.agentId } : { teamId: input.teamId as string };
    const routed = await routingCall(() => transferThread(routingDeps, threadId, to, input.note, actorOf(c), noteIdOf(c, deps)));
    return answer(c, routed) as never;
  });

  app.openapi(releaseRoute, async (c) => {
    const routed = await routingCall(() => releaseThread(routingDeps, c.req.valid('param').threadId, actorOf(c)));
    return answer(c, routed) as never;
  });

  app.openapi(controlRoute, async (c) => {
    const { threadId } = c.req.valid('param');
    const input = c.req.valid('json');
    const routed = await routingCall(() => changeControl(routingDeps, threadId, input, actorOf(c)));
    return answer(c, routed) as never;
  });

  app.openapi(getRouteRoute, async (c) => {
    const { threadId } = c.req.valid('param');
    const thread = await deps.conversations.getThread(threadId);
    if (!thread) throw new ApiError('not_found', `No thread ${threadId}`);
    return json(c, 200, routeView(threadId, (await deps.routing.getRoute(threadId))?.value)) as never;
  });
};
