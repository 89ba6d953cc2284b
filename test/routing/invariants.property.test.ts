/**
 * Routing's invariants under concurrency and crashes, on the local DynamoDB engine with the real stores.
 * Random rosters, threads and operations (threads created, resolved, reopened, released, transferred, passed
 * to automation and back; agents going online and offline, capacity changed; answer deadlines passing) run on
 * many concurrent assigners, while a wrapper makes commits fail at random, before they reach the table or
 * after (the write happened, the caller never heard). A failed operation is retried, as SQS redelivers a job.
 * Checked on every write: no agent's load exceeds their capacity. Checked once everything settled: every
 * agent's load is exactly the threads routed to them, each thread is in at most one place (waiting once, or
 * with one agent) and shows that agent, nothing leaked, and no thread waits while an agent could take it.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { ThreadStatus } from '../../domain/conversations/model.ts';
import type { ConversationWrite } from '../../domain/conversations/ports.ts';
import { applyOutbound, changeStatus } from '../../domain/conversations/threads.ts';
import { freshEvent } from '../../domain/events/outbox.ts';
import { updateAgent, updateSettings } from '../../domain/routing/agents.ts';
import { drain, expireUnanswered, reconcileThread, type RoutingDeps } from '../../domain/routing/assigner.ts';
import { eligibleAgents } from '../../domain/routing/eligibility.ts';
import { changeControl, releaseThread, transferThread } from '../../domain/routing/handoff.ts';
import type { Agent } from '../../domain/routing/model.ts';
import { RoutingError } from '../../domain/routing/plan.ts';
import type { RoutingStore, RoutingWrite } from '../../domain/routing/ports.ts';
import { ConflictError, retryOnConflict } from '../../domain/shared/store.ts';
import { startRouting, type RoutingHarness } from './harness.ts';

class InjectedCrash extends Error {
  constructor(readonly when: 'before' | 'after') {
    super(`injected crash ${when} the commit`);
  }
}

/** A small seeded generator, so a failing run replays with its seed. */
const random = (seed: number) => {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
};

/**
 * The routing store with commits that fail at random, half before the transaction (nothing written), half
 * after it (written, but the caller sees an error: the worst case for a retry). It also records any agent
 * written with more load than capacity: the invariant, at every moment rather than only at the end.
 */
const crashing = (inner: RoutingStore, rate: () => number, next: () => number, violations: string[]): RoutingStore => ({
  getAgent: (id) => inner.getAgent(id),
  listAgents: () => inner.listAgents(),
  getTeam: (id) => inner.getTeam(id),
  listTeams: () => inner.listTeams(),
  getRoute: (id) => inner.getRoute(id),
  getStates: (ids) => inner.getStates(ids),
  listQueue: (limit, cursor) => inner.listQueue(limit, cursor),
  dueTimers: (now, limit) => inner.dueTimers(now, limit),
  getSettings: () => inner.getSettings(),
  commit: async (writes: readonly (RoutingWrite | ConversationWrite)[]) => {
    if (next() < rate() / 2) throw new InjectedCrash('before');
    await inner.commit(writes);
    for (const write of writes) {
      if (write.kind === 'agent' && write.op === 'put' && write.value.load > write.value.capacity) {
        violations.push(`agent ${write.value.id} written with load ${write.value.load} > capacity ${write.value.capacity}`);
      }
    }
    if (next() < rate() / 2) throw new InjectedCrash('after');
  },
});

type Op =
  | { kind: 'created'; thread: number }
  | { kind: 'status'; thread: number; status: ThreadStatus }
  | { kind: 'release'; thread: number }
  | { kind: 'transfer'; thread: number; agent: number }
  | { kind: 'automation'; thread: number }
  | { kind: 'human'; thread: number }
  | { kind: 'answer'; thread: number }
  | { kind: 'availability'; agent: number; availability: Agent['availability'] }
  | { kind: 'capacity'; agent: number; capacity: number }
  | { kind: 'time'; seconds: number };

interface Scenario {
  readonly agents: readonly { readonly capacity: number; readonly skills: readonly string[]; readonly online: boolean }[];
  readonly threads: readonly { readonly language?: 'en' | 'ja' }[];
  readonly ops: readonly Op[];
  readonly workers: number;
  readonly crashRate: number;
  readonly seed: number;
}

const scenarioArbitrary = fc
  .record({
    agents: fc.array(
      fc.record({ capacity: fc.integer({ min: 0, max: 3 }), skills: fc.subarray(['language:en', 'language:ja']), online: fc.boolean() }),
      { minLength: 1, maxLength: 5 },
    ),
    threads: fc.array(fc.record({ language: fc.option(fc.constantFrom('en' as const, 'ja' as const), { nil: undefined }) }), {
      minLength: 1,
      maxLength: 12,
    }),
    workers: fc.integer({ min: 2, max: 8 }),
    crashRate: fc.constantFrom(0, 0.1, 0.3),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  })
  .chain((base) => {
    const thread = fc.integer({ min: 0, max: base.threads.length - 1 });
    const agent = fc.integer({ min: 0, max: base.agents.length - 1 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: thread.map((t) => ({ kind: 'status' as const, thread: t, status: 'resolved' as const })) },
      { weight: 2, arbitrary: thread.map((t) => ({ kind: 'status' as const, thread: t, status: 'open' as const })) },
      { weight: 1, arbitrary: thread.map((t) => ({ kind: 'status' as const, thread: t, status: 'pending' as const })) },
      { weight: 2, arbitrary: thread.map((t) => ({ kind: 'release' as const, thread: t })) },
      { weight: 2, arbitrary: fc.tuple(thread, agent).map(([t, a]) => ({ kind: 'transfer' as const, thread: t, agent: a })) },
      { weight: 1, arbitrary: thread.map((t) => ({ kind: 'automation' as const, thread: t })) },
      { weight: 1, arbitrary: thread.map((t) => ({ kind: 'human' as const, thread: t })) },
      { weight: 1, arbitrary: thread.map((t) => ({ kind: 'answer' as const, thread: t })) },
      {
        weight: 3,
        arbitrary: fc
          .tuple(agent, fc.constantFrom('online' as const, 'away' as const, 'offline' as const))
          .map(([a, availability]) => ({ kind: 'availability' as const, agent: a, availability })),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(agent, fc.integer({ min: 0, max: 4 }))
          .map(([a, capacity]) => ({ kind: 'capacity' as const, agent: a, capacity })),
      },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 200 }).map((seconds) => ({ kind: 'time' as const, seconds })) },
    );
    // Every thread is created once, somewhere among the other operations.
    return fc.array(op, { minLength: 0, maxLength: 30 }).chain((others) =>
      fc
        .shuffledSubarray([...others, ...base.threads.map((_, t) => ({ kind: 'created' as const, thread: t }))], {
          minLength: others.length + base.threads.length,
        })
        .map((ops): Scenario => ({ ...base, ops })),
    );
  });

let harness: RoutingHarness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

const setStatus = (h: RoutingHarness, threadId: string, status: ThreadStatus) =>
  retryOnConflict(async () => {
    const thread = (await h.conversations.getThread(threadId))!;
    const at = h.clock.now().toISOString();
    const change = changeStatus(thread.value, status, at);
    if (!change.changed) return;
    await h.conversations.commit([
      {
        kind: 'thread',
        op: 'put',
        value: change.thread,
        version: thread.version,
        events: [freshEvent('thread.updated', at, { changes: change.changes })],
      },
    ]);
  });

const answer = (h: RoutingHarness, threadId: string) =>
  retryOnConflict(async () => {
    const thread = (await h.conversations.getThread(threadId))!;
    const change = applyOutbound(thread.value, { channel: 'telegram', at: h.clock.now().toISOString(), byAgent: true });
    await h.conversations.commit([{ kind: 'thread', op: 'put', value: change.thread, version: thread.version }]);
  });

/** Runs a scenario and returns what the invariants found wrong (nothing, when they hold). */
const run = async (scenario: Scenario): Promise<string[]> => {
  const h = (harness = await startRouting());
  await updateSettings(h.routing, { answerTimeoutSeconds: 60 });
  const violations: string[] = [];
  let rate = scenario.crashRate;
  const routingStore = crashing(h.routing, () => rate, random(scenario.seed), violations);
  const deps: RoutingDeps = { routing: routingStore, conversations: h.conversations, clock: h.clock };
  const agentIds = scenario.agents.map((_, i) => `agent-${i}`);
  for (const [i, a] of scenario.agents.entries()) {
    await h.agent({
      id: agentIds[i] as string,
      capacity: a.capacity,
      skills: [...a.skills],
      availability: a.online ? 'online' : 'offline',
    });
  }
  const threadIds: string[] = [];
  for (const t of scenario.threads) threadIds.push((await h.thread(t.language ? { attributes: { language: t.language } } : {})).id);
  const created = new Set<number>();

  /** One operation, as the API or the assigner does it, followed by the pass over the queue its event causes. */
  const perform = async (op: Op): Promise<void> => {
    const by = { type: 'api_key' as const, id: 'test' };
    const thread = 'thread' in op ? (threadIds[op.thread] as string) : undefined;
    if ('thread' in op && op.kind !== 'created' && !created.has(op.thread)) return;
    try {
      switch (op.kind) {
        case 'created':
          created.add(op.thread);
          await reconcileThread(deps, thread as string, { created: true });
          break;
        case 'status':
          await setStatus(h, thread as string, op.status);
          await reconcileThread(deps, thread as string);
          break;
        case 'release':
          await releaseThread(deps, thread as string, by);
          break;
        case 'transfer':
          await transferThread(
            deps,
            thread as string,
            { agentId: agentIds[op.agent] as string },
            'over to you',
            by,
            `note_${Math.random().toString(36).slice(2)}`,
          );
          break;
        case 'automation':
          await changeControl(deps, thread as string, { action: 'pass', to: 'automation', id: 'bot' }, by);
          break;
        case 'human':
          await changeControl(deps, thread as string, { action: 'pass', to: 'human' }, by);
          break;
        case 'answer':
          await answer(h, thread as string);
          break;
        case 'availability':
          await updateAgent(h.routing, agentIds[op.agent] as string, { availability: op.availability }, h.clock.now().toISOString());
          break;
        case 'capacity':
          await updateAgent(h.routing, agentIds[op.agent] as string, { capacity: op.capacity }, h.clock.now().toISOString());
          break;
        case 'time':
          h.clock.advance(op.seconds);
          await expireUnanswered(deps);
          break;
      }
    } catch (error) {
      // The API refusing (an agent at capacity, nothing to release) is an answer, not a failure to retry.
      if (!(error instanceof RoutingError)) throw error;
    }
    await drain(deps);
  };

  // Workers take operations in order, as concurrent Lambda invocations take queue messages; a failure is retried.
  let next = 0;
  await Promise.all(
    Array.from({ length: scenario.workers }, async () => {
      while (next < scenario.ops.length) {
        const op = scenario.ops[next++] as Op;
        for (let attempt = 1; ; attempt++) {
          try {
            await perform(op);
            break;
          } catch (error) {
            // SQS redelivers a job that failed: a crash, or a race lost more often than the use case retries.
            if (!(error instanceof InjectedCrash || error instanceof ConflictError) || attempt >= 200) throw error;
          }
        }
      }
    }),
  );
  rate = 0;

  const { agents, queue, routes, threads } = await h.snapshot(threadIds);
  const teams = new Map();
  const now = h.clock.now();
  for (const agent of agents) {
    const held = [...routes.values()].filter((r) => r.state === 'assigned' && r.agentId === agent.id).length;
    if (agent.load !== held) violations.push(`agent ${agent.id} has load ${agent.load} but ${held} thread(s) routed to them`);
    if (agent.load > agent.capacity) violations.push(`agent ${agent.id} ends with load ${agent.load} > capacity ${agent.capacity}`);
  }
  const waitingKeys = new Set<string>();
  for (const [id, route] of routes) {
    const thread = threads.get(id);
    if (route.state === 'assigned' && thread?.status !== 'resolved' && thread?.assignee !== route.agentId) {
      violations.push(`thread ${id} is routed to ${route.agentId} but shows assignee ${thread?.assignee}`);
    }
    if (route.state === 'waiting') {
      waitingKeys.add(route.entry?.key ?? '?');
      if (thread?.assignee !== null) violations.push(`thread ${id} waits but shows assignee ${thread?.assignee}`);
    }
  }
  const queued = queue.map((e) => e.key);
  if (new Set(queue.map((e) => e.threadId)).size !== queue.length) violations.push('a thread is queued twice');
  if (queued.length !== waitingKeys.size || !queued.every((k) => waitingKeys.has(k))) {
    violations.push(`the queue (${queued.length}) and the waiting routes (${waitingKeys.size}) disagree`);
  }
  // Liveness: nobody waits while an agent with room could take them.
  for (const entry of queue) {
    const able = eligibleAgents(agents, entry, teams, now);
    if (able.length > 0) violations.push(`thread ${entry.threadId} waits while ${able.map((a) => a.id).join(', ')} could take it`);
  }
  // Every timer belongs to a live assignment: none leaked.
  const timers = await h.routing.dueTimers('2100-01-01T00:00:00.000Z', 100);
  for (const timer of timers) {
    const route = routes.get(timer.value.threadId);
    if (route?.timerKey !== timer.value.key) violations.push(`answer timer ${timer.value.key} leaked`);
  }
  // Each assignment was published once, atomically with it: the agents' totals add up to the events.
  const assignedEvents = (await h.events()).filter((e) => e.type === 'thread.assigned');
  const totals = agents.reduce((sum, a) => sum + a.assignedTotal, 0);
  if (assignedEvents.length !== totals) violations.push(`${assignedEvents.length} thread.assigned events for ${totals} assignments`);
  return violations;
};

describe('routing invariants', () => {
  it('hold for random rosters and operations on concurrent assigners with injected crashes', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary, async (scenario) => {
        const violations = await run(scenario);
        await harness?.stop();
        harness = undefined;
        expect(violations).toEqual([]);
      }),
      { numRuns: 12, endOnFailure: true },
    );
  }, 240_000);

  it('hold for 16 concurrent assigners over 60 threads and 6 agents, a fifth of commits crashing', async () => {
    const agents = Array.from({ length: 6 }, (_, i) => ({
      capacity: 1 + (i % 3),
      skills: i % 2 === 0 ? ['language:en'] : [],
      online: true,
    }));
    const threads = Array.from({ length: 60 }, (_, i) =>
      i % 3 === 0 ? { language: 'en' as const } : i % 3 === 1 ? { language: 'ja' as const } : {},
    );
    const ops: Op[] = [
      ...threads.map((_, t) => ({ kind: 'created' as const, thread: t })),
      ...threads.flatMap((_, t) => (t % 2 === 0 ? [{ kind: 'status' as const, thread: t, status: 'resolved' as const }] : [])),
      { kind: 'availability', agent: 1, availability: 'offline' },
      ...threads.flatMap((_, t) => (t % 5 === 0 ? [{ kind: 'release' as const, thread: t }] : [])),
      { kind: 'availability', agent: 1, availability: 'online' },
      { kind: 'time', seconds: 61 },
    ];
    expect(await run({ agents, threads, ops, workers: 16, crashRate: 0.2, seed: 20260302 })).toEqual([]);
  }, 120_000);
});
