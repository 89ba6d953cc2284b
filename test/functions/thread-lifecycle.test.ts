/**
 * The thread lifecycle sweep on the real store's inbox index: snoozed threads whose time has come open again,
 * and with AUTO_RESOLVE_AFTER_HOURS open and pending threads idle that long are resolved, each change a
 * `thread.updated` event.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { capabilitiesOf } from '../../connectors/capabilities.ts';
import { applyEvent } from '../../domain/conversations/inbound.ts';
import { changeStatus, newThread } from '../../domain/conversations/threads.ts';
import { NEW_RECORD } from '../../domain/shared/store.ts';
import type { MessageReceivedEvent } from '../../domain/events.ts';
import { localContext } from '../../functions/kit/handler.ts';
import { memoryMetrics } from '../../functions/kit/observability.ts';
import { create } from '../../functions/thread-lifecycle.ts';
import { captureLog, fixtureEvent, startConversations, type ConversationHarness } from '../helpers/conversations.ts';

let h: ConversationHarness;
beforeEach(async () => {
  h = await startConversations();
});
afterEach(() => h.stop());

const minaText = fixtureEvent('telegram', 'private-text-entities', 'message.received');
const sheena = fixtureEvent('whatsapp', 'batch-two-numbers', 'message.received', 0);
const ana = fixtureEvent('whatsapp', 'batch-two-numbers', 'message.received', 1);
const lineText = fixtureEvent('line', 'text', 'message.received');

const threadFor = async (event: MessageReceivedEvent) => {
  const outcome = await applyEvent(event, { store: h.store, log: captureLog(), clock: h.clock, capabilities: capabilitiesOf });
  if (outcome.kind !== 'stored') throw new Error('not stored');
  return outcome.threadId;
};
const setStatus = async (threadId: string, status: 'snoozed' | 'pending', at: string, snoozedUntil?: string) => {
  const thread = await h.store.getThread(threadId);
  const change = changeStatus(thread!.value, status, at, snoozedUntil);
  await h.store.commit([{ kind: 'thread', op: 'put', value: change.thread, version: thread!.version }]);
};
const statusOf = async (threadId: string) => (await h.store.getThread(threadId))?.value;

const sweep = (environment: Record<string, string> = {}) => {
  const log = captureLog();
  const handler = create(
    { conversations: h.store, clock: h.clock, observability: { log, metrics: memoryMetrics(), middlewares: [] } },
    environment,
  );
  return { log, run: () => handler({ source: 'aws.scheduler' }, localContext('thread-lifecycle')) };
};

describe('the thread lifecycle function', () => {
  it('opens snoozed threads whose time has come, and leaves the others', async () => {
    const due = await threadFor(minaText);
    const later = await threadFor(sheena);
    await setStatus(due, 'snoozed', '2026-03-14T01:10:00.000Z', '2026-03-14T08:00:00.000Z');
    await setStatus(later, 'snoozed', '2026-03-14T01:10:00.000Z', '2026-03-14T08:00:00.001Z');
    h.clock.set('2026-03-14T08:00:00.000Z');
    const { run, log } = sweep();
    expect(await run()).toEqual({ woken: 1, resolved: 0 });
    expect(await statusOf(due)).toMatchObject({ status: 'open', updatedAt: '2026-03-14T08:00:00.000Z' });
    expect(await statusOf(due)).not.toHaveProperty('snoozedUntil');
    expect(await statusOf(later)).toMatchObject({ status: 'snoozed', snoozedUntil: '2026-03-14T08:00:00.001Z' });
    const updates = await h.eventsOf('thread.updated');
    expect(
      updates.map((e) => e.type === 'thread.updated' && [e.createdAt, e.data.thread.id, e.data.thread.status, e.data.changes]),
    ).toEqual([['2026-03-14T08:00:00.000Z', due, 'open', ['status']]]);
    expect(log.entries).toEqual([{ level: 'info', message: 'thread lifecycle', extra: { woken: 1, resolved: 0 } }]);
    // Run again: nothing left to do, nothing logged.
    const again = sweep();
    expect(await again.run()).toEqual({ woken: 0, resolved: 0 });
    expect(again.log.entries).toEqual([]);
  });

  it('resolves open and pending threads idle for AUTO_RESOLVE_AFTER_HOURS, not busier ones, not snoozed ones', async () => {
    const idleOpen = await threadFor(minaText);
    const idlePending = await threadFor(sheena);
    const snoozed = await threadFor(ana);
    await setStatus(idlePending, 'pending', '2026-03-14T01:00:00.000Z');
    await setStatus(snoozed, 'snoozed', '2026-03-14T01:00:00.000Z', '2026-03-20T00:00:00.000Z');
    h.clock.set('2026-03-15T02:30:00.000Z');
    // Busy: LINE's customer wrote two hours ago.
    const busy = await threadFor({ ...lineText, occurredAt: '2026-03-15T00:30:00.000Z', receivedAt: '2026-03-15T00:30:01.000Z' });
    h.clock.set('2026-03-15T02:00:00.000Z');
    const { run } = sweep({ AUTO_RESOLVE_AFTER_HOURS: '24' });
    expect(await run()).toEqual({ woken: 0, resolved: 2 });
    expect(await statusOf(idleOpen)).toMatchObject({ status: 'resolved', resolvedAt: '2026-03-15T02:00:00.000Z', unread: 0 });
    expect(await statusOf(idlePending)).toMatchObject({ status: 'resolved' });
    expect((await statusOf(snoozed))?.status).toBe('snoozed');
    expect((await statusOf(busy))?.status).toBe('open');
    expect((await h.eventsOf('thread.updated')).map((e) => e.type === 'thread.updated' && e.data.thread.id).sort()).toEqual(
      [idleOpen, idlePending].sort(),
    );
  });

  it('resolves nothing without AUTO_RESOLVE_AFTER_HOURS', async () => {
    const idle = await threadFor(minaText);
    h.clock.set('2026-04-14T00:00:00.000Z');
    expect(await sweep({ AUTO_RESOLVE_AFTER_HOURS: '' }).run()).toEqual({ woken: 0, resolved: 0 });
    expect((await statusOf(idle))?.status).toBe('open');
  });

  it('accepts fractions of hours and refuses what is no positive number of hours', async () => {
    const idle = await threadFor(minaText);
    // Half an hour after the thread's last change (01:00), and its last message (00:26:53).
    h.clock.set('2026-03-14T01:31:00.000Z');
    expect(await sweep({ AUTO_RESOLVE_AFTER_HOURS: '0.5' }).run()).toEqual({ woken: 0, resolved: 1 });
    expect((await statusOf(idle))?.status).toBe('resolved');
    for (const raw of ['0', '-3', 'a day']) {
      expect(() => sweep({ AUTO_RESOLVE_AFTER_HOURS: raw })).toThrow(
        `AUTO_RESOLVE_AFTER_HOURS must be a positive number of hours, but '${raw}' was given`,
      );
    }
  });

  it('pages through more threads than one listing holds', async () => {
    const threads = Array.from({ length: 105 }, (_, n) =>
      newThread(`th_${String(n).padStart(3, '0')}`, `ct_${n}`, new Date(Date.parse('2026-03-14T00:00:00.000Z') + n * 1000).toISOString()),
    );
    for (let start = 0; start < threads.length; start += 50) {
      await h.store.commit(
        threads.slice(start, start + 50).map((value) => ({ kind: 'thread' as const, op: 'put' as const, value, version: NEW_RECORD })),
      );
    }
    h.clock.set('2026-03-16T00:00:00.000Z');
    expect(await sweep({ AUTO_RESOLVE_AFTER_HOURS: '24' }).run()).toEqual({ woken: 0, resolved: 105 });
    expect((await h.store.listThreads({ statuses: ['open'], limit: 10 })).items).toEqual([]);
  });
});
