/**
 * The assigner over the real stores on the local DynamoDB engine: threads that need a person reach an
 * eligible agent with room, wait in order when nobody is eligible, are taken as soon as capacity frees; a
 * resolved thread gives its capacity back; a returning customer goes back to their agent; an unanswered
 * assignment goes back to the queue; and what changed is published as domain events.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { changeStatus, applyInbound, applyOutbound } from '../../domain/conversations/threads.ts';
import { freshEvent } from '../../domain/events/outbox.ts';
import { updateAgent, updateSettings, createTeam } from '../../domain/routing/agents.ts';
import { drain, expireUnanswered, reconcileMerged, reconcileThread } from '../../domain/routing/assigner.ts';
import type { ThreadStatus } from '../../domain/conversations/model.ts';
import { retryOnConflict } from '../../domain/shared/store.ts';
import { startRouting, type RoutingHarness } from './harness.ts';

let h: RoutingHarness;
beforeEach(async () => {
  h = await startRouting();
});
afterEach(async () => {
  await h.stop();
});

/** What the API's PATCH does: the status changes, with `thread.updated`. */
const setStatus = (threadId: string, status: ThreadStatus) =>
  retryOnConflict(async () => {
    const thread = (await h.conversations.getThread(threadId))!;
    const at = h.clock.now().toISOString();
    const change = changeStatus(
      thread.value,
      status,
      at,
      status === 'snoozed' ? new Date(h.clock.now().getTime() + 3_600_000).toISOString() : undefined,
    );
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

/** What the assigner does on an event about the thread: route it, then one pass over the queue. */
const onThreadEvent = async (threadId: string, created = false) => {
  const outcome = await reconcileThread(h, threadId, { created });
  await drain(h);
  return outcome;
};

const threadOf = async (id: string) => (await h.conversations.getThread(id))!.value;
const agentOf = async (id: string) => (await h.routing.getAgent(id))!.value;
const queueIds = async () => (await h.routing.listQueue(100)).items.map((e) => e.value.threadId);

describe('assignment', () => {
  it('gives a new open thread to an online agent with room, and records it on the thread', async () => {
    await h.agent({ id: 'ann', capacity: 2 });
    await h.agent({ id: 'bob', capacity: 2, availability: 'offline' });
    const thread = await h.thread();
    // Nobody waits ahead of it: it goes to Ann at once, without a turn through the queue.
    expect(await onThreadEvent(thread.id, true)).toBe('assigned');
    expect((await threadOf(thread.id)).assignee).toBe('ann');
    expect((await threadOf(thread.id)).control).toMatchObject({ holder: 'human', id: 'ann' });
    expect(await agentOf('ann')).toMatchObject({ load: 1, assignedTotal: 1 });
    expect(await queueIds()).toEqual([]);
    const assigned = (await h.events()).filter((e) => e.type === 'thread.assigned');
    expect(assigned).toHaveLength(1);
    expect(assigned[0]?.data).toMatchObject({
      agentId: 'ann',
      previousAgentId: null,
      reason: 'routing',
      thread: { id: thread.id, assignee: 'ann' },
    });
  });

  it('never gives an agent more than their capacity; the rest wait, longest first, and take capacity as it frees', async () => {
    await h.agent({ id: 'ann', capacity: 1 });
    const first = await h.thread();
    h.clock.advance(10);
    const second = await h.thread();
    h.clock.advance(10);
    const third = await h.thread();
    // Events arrive out of order: the newest first.
    for (const t of [third, first, second]) await onThreadEvent(t.id, true);
    expect((await agentOf('ann')).load).toBe(1);
    const assignedFirst = (await threadOf(third.id)).assignee === 'ann';
    expect(assignedFirst).toBe(true);
    expect(await queueIds()).toEqual([first.id, second.id]);

    await setStatus(third.id, 'resolved');
    await onThreadEvent(third.id);
    expect((await threadOf(first.id)).assignee).toBe('ann');
    expect((await threadOf(third.id)).assignee).toBe('ann'); // a resolved thread keeps its agent, for the record
    expect((await agentOf('ann')).load).toBe(1);
    expect(await queueIds()).toEqual([second.id]);
  });

  it('assigns waiting threads as soon as an agent comes online, urgent ones first', async () => {
    await h.agent({ id: 'ann', capacity: 2, availability: 'offline' });
    const normal = await h.thread();
    h.clock.advance(60);
    const urgent = await h.thread({ attributes: { priority: 'urgent' } });
    h.clock.advance(60);
    const later = await h.thread();
    for (const t of [normal, urgent, later]) await onThreadEvent(t.id, true);
    expect(await queueIds()).toEqual([urgent.id, normal.id, later.id]);

    await updateAgent(h.routing, 'ann', { availability: 'online' }, h.clock.now().toISOString());
    expect(await drain(h)).toBe(2);
    expect((await threadOf(urgent.id)).assignee).toBe('ann');
    expect((await threadOf(normal.id)).assignee).toBe('ann');
    expect(await queueIds()).toEqual([later.id]);
    const changed = (await h.events()).filter((e) => e.type === 'agent.availability.changed');
    expect(changed.map((e) => e.data)).toEqual([
      expect.objectContaining({ previous: 'offline', agent: expect.objectContaining({ id: 'ann', availability: 'online' }) }),
    ]);
  });

  it('gives a thread only to an agent with the skills it needs, and does not hold up those behind it', async () => {
    await h.agent({ id: 'en', capacity: 5, skills: ['language:en'] });
    const japanese = await h.thread({ attributes: { language: 'ja' } });
    h.clock.advance(1);
    const english = await h.thread({ attributes: { language: 'en' } });
    for (const t of [japanese, english]) await onThreadEvent(t.id, true);
    expect((await threadOf(english.id)).assignee).toBe('en');
    expect((await threadOf(japanese.id)).assignee).toBeNull();
    expect(await queueIds()).toEqual([japanese.id]);

    await h.agent({ id: 'ja', capacity: 1, skills: ['language:ja', 'language:en'] });
    await drain(h);
    expect((await threadOf(japanese.id)).assignee).toBe('ja');
  });

  it('spreads threads evenly over equally skilled agents, relative to capacity', async () => {
    await h.agent({ id: 'a', capacity: 2 });
    await h.agent({ id: 'b', capacity: 4 });
    await h.agent({ id: 'c', capacity: 4 });
    for (let i = 0; i < 5; i++) {
      const t = await h.thread();
      h.clock.advance(1);
      await onThreadEvent(t.id, true);
    }
    const loads = Object.fromEntries((await h.routing.listAgents()).map((a) => [a.value.id, a.value.load]));
    expect(loads).toEqual({ a: 1, b: 2, c: 2 });
  });

  it('takes a pending or snoozed thread off the queue, and queues it again when it opens', async () => {
    const thread = await h.thread();
    await onThreadEvent(thread.id, true);
    expect(await queueIds()).toEqual([thread.id]);
    await setStatus(thread.id, 'snoozed');
    expect(await onThreadEvent(thread.id)).toBe('dequeued');
    expect(await queueIds()).toEqual([]);
    await setStatus(thread.id, 'open');
    expect(await onThreadEvent(thread.id)).toBe('queued');
    expect(await queueIds()).toEqual([thread.id]);
  });
});

describe('merged threads', () => {
  it("give their agent's capacity back, and the survivor keeps its own agent", async () => {
    await h.agent({ id: 'ann', capacity: 1 });
    await h.agent({ id: 'bob', capacity: 1 });
    const survivor = await h.thread();
    await onThreadEvent(survivor.id, true);
    const merged = await h.thread({ channel: 'line' });
    await onThreadEvent(merged.id, true);
    expect((await threadOf(merged.id)).assignee).toBe('bob');
    // What a merge of the two contacts writes (domain/conversations/contacts.ts): the survivor lists the
    // merged thread, which points at it.
    const s = (await h.conversations.getThread(survivor.id))!;
    const m = (await h.conversations.getThread(merged.id))!;
    await h.conversations.commit([
      {
        kind: 'thread',
        op: 'put',
        value: { ...s.value, mergedThreads: [merged.id] },
        version: s.version,
        events: [freshEvent('thread.updated', h.clock.now().toISOString(), { changes: ['mergedThreads'] })],
      },
      { kind: 'thread', op: 'put', value: { ...m.value, mergedInto: survivor.id }, version: m.version },
    ]);
    await reconcileMerged(h, survivor.id);
    await onThreadEvent(survivor.id);
    expect(await agentOf('bob')).toMatchObject({ load: 0 });
    expect(await agentOf('ann')).toMatchObject({ load: 1 });
    expect((await h.routing.getRoute(merged.id))?.value.state).toBe('idle');
    expect((await threadOf(survivor.id)).assignee).toBe('ann');
  });
});

describe('a returning customer', () => {
  it('goes back to the agent who last helped them when that agent can take them', async () => {
    await h.agent({ id: 'ann', capacity: 3 });
    await h.agent({ id: 'bob', capacity: 3 });
    const thread = await h.thread();
    await onThreadEvent(thread.id, true);
    expect((await threadOf(thread.id)).assignee).toBe('ann');
    await setStatus(thread.id, 'resolved');
    await onThreadEvent(thread.id);
    // Ann is now busier than Bob, and still gets her customer back.
    const other = await h.thread();
    await onThreadEvent(other.id, true);
    expect((await threadOf(other.id)).assignee).toBe('bob');
    await h.thread().then((t) => onThreadEvent(t.id, true));
    expect((await agentOf('ann')).load).toBe(1);

    const reopened = applyInbound((await h.conversations.getThread(thread.id))!.value, {
      messageId: 'm2',
      channel: 'telegram',
      accountId: 'default',
      conversation: { kind: 'direct', externalId: 'u' },
      occurredAt: h.clock.now().toISOString(),
      at: h.clock.now().toISOString(),
    });
    const current = (await h.conversations.getThread(thread.id))!;
    await h.conversations.commit([{ kind: 'thread', op: 'put', value: reopened.thread, version: current.version }]);
    expect(await onThreadEvent(thread.id)).toBe('assigned');
    expect((await threadOf(thread.id)).assignee).toBe('ann');
    const events = (await h.events()).filter((e) => e.type === 'thread.assigned' && e.data.thread.id === thread.id);
    expect(events.map((e) => (e.data as { reason: string }).reason)).toEqual(['routing', 'affinity']);
  });

  it('waits for anyone else, marked for their agent, when that agent is not available', async () => {
    await h.agent({ id: 'ann', capacity: 1 });
    const thread = await h.thread();
    await onThreadEvent(thread.id, true);
    await setStatus(thread.id, 'resolved');
    await onThreadEvent(thread.id);
    await updateAgent(h.routing, 'ann', { availability: 'offline' }, h.clock.now().toISOString());
    await setStatus(thread.id, 'open');
    expect(await onThreadEvent(thread.id)).toBe('queued');
    const thread2 = await threadOf(thread.id);
    expect(thread2.assignee).toBeNull();
    expect((await h.routing.listQueue(10)).items[0]?.value.preferredAgentId).toBe('ann');
    const unassigned = (await h.events()).filter((e) => e.type === 'thread.unassigned');
    expect(unassigned.map((e) => e.data)).toEqual([expect.objectContaining({ agentId: 'ann', reason: 'requeued' })]);
  });
});

describe('the answer timeout', () => {
  it('sends an unanswered thread back to the queue, to another agent first', async () => {
    await updateSettings(h.routing, { answerTimeoutSeconds: 120 });
    await h.agent({ id: 'ann', capacity: 2 });
    const thread = await h.thread();
    await onThreadEvent(thread.id, true);
    expect((await threadOf(thread.id)).assignee).toBe('ann');
    await h.agent({ id: 'bob', capacity: 2 });

    h.clock.advance(119);
    expect(await expireUnanswered(h)).toEqual({ answered: 0, requeued: 0, stale: 0 });
    h.clock.advance(1);
    expect(await expireUnanswered(h)).toEqual({ answered: 0, requeued: 1, stale: 0 });
    expect((await agentOf('ann')).load).toBe(0);
    expect((await threadOf(thread.id)).assignee).toBeNull();
    await drain(h);
    expect((await threadOf(thread.id)).assignee).toBe('bob');
    const unassigned = (await h.events()).filter((e) => e.type === 'thread.unassigned');
    expect(unassigned.map((e) => e.data)).toEqual([expect.objectContaining({ agentId: 'ann', reason: 'answer_timeout' })]);
  });

  it('leaves an answered assignment alone', async () => {
    await updateSettings(h.routing, { answerTimeoutSeconds: 60 });
    await h.agent({ id: 'ann', capacity: 2 });
    const thread = await h.thread();
    await onThreadEvent(thread.id, true);
    h.clock.advance(30);
    const current = (await h.conversations.getThread(thread.id))!;
    const answered = applyOutbound(current.value, { channel: 'telegram', at: h.clock.now().toISOString(), byAgent: true });
    await h.conversations.commit([{ kind: 'thread', op: 'put', value: answered.thread, version: current.version }]);
    h.clock.advance(60);
    expect(await expireUnanswered(h)).toEqual({ answered: 1, requeued: 0, stale: 0 });
    expect((await threadOf(thread.id)).assignee).toBe('ann');
    expect(await h.routing.dueTimers(h.clock.now().toISOString(), 10)).toEqual([]);
  });
});

describe('teams', () => {
  it("keep a team's threads for its members, while it is open", async () => {
    await h.agent({ id: 'ann', capacity: 2 });
    await h.agent({ id: 'kenji', capacity: 2 });
    // Monday 09:00 UTC is 18:00 in Tokyo: the team has just closed.
    await createTeam(
      h.routing,
      {
        id: 'tokyo',
        name: 'Tokyo',
        members: ['kenji'],
        businessHours: { timeZone: 'Asia/Tokyo', intervals: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '18:00' }] },
      },
      h.clock.now().toISOString(),
    );
    const thread = await h.thread({ team: 'tokyo' });
    await onThreadEvent(thread.id, true);
    expect(await queueIds()).toEqual([thread.id]);
    h.clock.set('2026-03-03T00:00:00.000Z'); // Tuesday 09:00 in Tokyo
    await drain(h);
    expect((await threadOf(thread.id)).assignee).toBe('kenji');
  });
});
