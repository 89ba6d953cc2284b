/**
 * The rules of a thread's life (domain/conversations/threads.ts), as pure functions: what a customer's message,
 * an agent's message, a status or label change and the lifecycle sweep do to a thread. Each case checks the
 * whole thread that comes out, so a rule that touches a field it should not is caught too.
 */
import { describe, expect, it } from 'vitest';
import type { ConversationRef } from '../../domain/events.ts';
import {
  applyInbound,
  applyOutbound,
  changeLabels,
  changeStatus,
  lifecycleChange,
  newThread,
  publicThread,
  ThreadRuleError,
  type InboundActivity,
  type StoredThread,
} from '../../domain/conversations/threads.ts';

const OPENED = '2026-03-14T00:00:00.000Z';
const telegramChat: ConversationRef = { externalId: '5550101234', kind: 'direct' };
const whatsappChat: ConversationRef = { externalId: '5215550101234', kind: 'direct' };

const thread = (overrides: Partial<StoredThread> = {}): StoredThread => ({ ...newThread('th_1', 'ct_1', OPENED), ...overrides });

const inbound = (overrides: Partial<InboundActivity> = {}): InboundActivity => ({
  messageId: 'msg_1',
  channel: 'telegram',
  accountId: '7712345678',
  conversation: telegramChat,
  occurredAt: '2026-03-14T00:26:53.000Z',
  at: '2026-03-14T01:00:00.000Z',
  ...overrides,
});

describe('newThread', () => {
  it('opens an empty, unassigned thread for the contact', () => {
    expect(newThread('th_9', 'ct_9', OPENED)).toEqual({
      id: 'th_9',
      contactId: 'ct_9',
      status: 'open',
      channels: [],
      routes: [],
      assignee: null,
      control: { holder: 'none', since: OPENED },
      tags: [],
      attributes: {},
      unread: 0,
      createdAt: OPENED,
      updatedAt: OPENED,
      lastMessageAt: OPENED,
    });
  });
});

describe("applyInbound: a customer's message", () => {
  it('adds the channel and its route, counts the message unread and moves the activity times', () => {
    const change = applyInbound(thread(), inbound());
    expect(change).toEqual({
      changed: true,
      changes: [],
      thread: {
        ...thread(),
        channels: ['telegram'],
        routes: [{ channel: 'telegram', accountId: '7712345678', conversation: telegramChat, lastInboundAt: '2026-03-14T00:26:53.000Z' }],
        lastInboundChannel: 'telegram',
        unread: 1,
        lastMessageAt: '2026-03-14T00:26:53.000Z',
        lastCustomerMessageAt: '2026-03-14T00:26:53.000Z',
        updatedAt: '2026-03-14T01:00:00.000Z',
        counted: ['msg_1'],
      },
    });
  });

  it("keeps the one-time reply handle and the channel's messaging window on the route", () => {
    const replyHandle = { value: '8f2c1d9e7b6a5f4e3d2c1b0a99887766', expiresAt: '2026-03-14T00:27:43.123Z' };
    const { thread: next } = applyInbound(
      thread(),
      inbound({ channel: 'whatsapp', accountId: '106540352242922', conversation: whatsappChat, replyHandle, windowHours: 24 }),
    );
    expect(next.routes).toEqual([
      {
        channel: 'whatsapp',
        accountId: '106540352242922',
        conversation: whatsappChat,
        lastInboundAt: '2026-03-14T00:26:53.000Z',
        replyHandle,
        windowExpiresAt: '2026-03-15T00:26:53.000Z',
      },
    ]);
  });

  it('computes the window from the hours the channel declares, from when the customer wrote', () => {
    const { thread: next } = applyInbound(thread(), inbound({ windowHours: 168, occurredAt: '2026-03-14T10:00:00.500Z' }));
    expect(next.routes[0]?.windowExpiresAt).toBe('2026-03-21T10:00:00.500Z');
    const { thread: none } = applyInbound(thread(), inbound());
    expect(none.routes[0]).not.toHaveProperty('windowExpiresAt');
    expect(none.routes[0]).not.toHaveProperty('replyHandle');
  });

  it('counts a message once, however often it is applied', () => {
    const once = applyInbound(thread(), inbound()).thread;
    const again = applyInbound(once, inbound({ at: '2026-03-14T02:00:00.000Z' }));
    expect(again).toEqual({ thread: once, changes: [], changed: false });
    const two = applyInbound(once, inbound({ messageId: 'msg_2', occurredAt: '2026-03-14T00:30:00.000Z' })).thread;
    expect(two.unread).toBe(2);
    expect(two.counted).toEqual(['msg_1', 'msg_2']);
  });

  it('remembers the last eight messages it counted', () => {
    let current = thread();
    for (let n = 1; n <= 10; n++)
      current = applyInbound(current, inbound({ messageId: `msg_${n}`, occurredAt: `2026-03-14T00:0${n - 1}:00.000Z` })).thread;
    expect(current.counted).toEqual(['msg_3', 'msg_4', 'msg_5', 'msg_6', 'msg_7', 'msg_8', 'msg_9', 'msg_10']);
    expect(current.unread).toBe(10);
  });

  it.each(['resolved', 'snoozed'] as const)('reopens a %s thread (the same thread, with its history), dropping the snooze', (status) => {
    const before = thread({
      status,
      ...(status === 'snoozed' && { snoozedUntil: '2026-03-20T00:00:00.000Z' }),
      resolvedAt: '2026-03-13T00:00:00.000Z',
    });
    const change = applyInbound(before, inbound());
    expect(change.changes).toEqual(['status']);
    expect(change.thread.status).toBe('open');
    expect(change.thread).not.toHaveProperty('snoozedUntil');
    // The earlier resolution stays on record.
    expect(change.thread.resolvedAt).toBe('2026-03-13T00:00:00.000Z');
    expect(change.thread.id).toBe('th_1');
  });

  it.each(['open', 'pending'] as const)('leaves a %s thread in its status', (status) => {
    const change = applyInbound(thread({ status }), inbound());
    expect(change.changes).toEqual([]);
    expect(change.thread.status).toBe(status);
  });

  it("routes newest first, one per channel, and a late message does not replace a channel's newer route", () => {
    let current = applyInbound(thread(), inbound({ messageId: 'a', occurredAt: '2026-03-14T00:10:00.000Z' })).thread;
    current = applyInbound(
      current,
      inbound({
        messageId: 'b',
        channel: 'whatsapp',
        accountId: '106540352242922',
        conversation: whatsappChat,
        occurredAt: '2026-03-14T00:20:00.000Z',
      }),
    ).thread;
    expect(current.routes.map((r) => [r.channel, r.lastInboundAt])).toEqual([
      ['whatsapp', '2026-03-14T00:20:00.000Z'],
      ['telegram', '2026-03-14T00:10:00.000Z'],
    ]);
    expect(current.lastInboundChannel).toBe('whatsapp');

    // Telegram writes again: its route moves to the top, with the new conversation.
    const newer = { externalId: '-1001122334455', kind: 'group' as const };
    current = applyInbound(current, inbound({ messageId: 'c', conversation: newer, occurredAt: '2026-03-14T00:30:00.000Z' })).thread;
    expect(current.routes.map((r) => [r.channel, r.lastInboundAt, r.conversation.externalId])).toEqual([
      ['telegram', '2026-03-14T00:30:00.000Z', '-1001122334455'],
      ['whatsapp', '2026-03-14T00:20:00.000Z', '5215550101234'],
    ]);
    expect(current.lastInboundChannel).toBe('telegram');

    // A Telegram message from before, delivered late: counted, but the route and the last channel stay.
    const late = applyInbound(
      current,
      inbound({ messageId: 'd', occurredAt: '2026-03-14T00:05:00.000Z', at: '2026-03-14T03:00:00.000Z' }),
    ).thread;
    expect(late.routes).toEqual(current.routes);
    expect(late.lastInboundChannel).toBe('telegram');
    expect(late.lastMessageAt).toBe('2026-03-14T00:30:00.000Z');
    expect(late.lastCustomerMessageAt).toBe('2026-03-14T00:30:00.000Z');
    expect(late.updatedAt).toBe('2026-03-14T03:00:00.000Z');
    expect(late.unread).toBe(4);
  });

  it("moves a channel's route on with a message newer than it, even when another channel's is newer still", () => {
    let current = applyInbound(thread(), inbound({ messageId: 'a', occurredAt: '2026-03-14T00:10:00.000Z' })).thread;
    current = applyInbound(
      current,
      inbound({
        messageId: 'b',
        channel: 'whatsapp',
        accountId: '106540352242922',
        conversation: whatsappChat,
        occurredAt: '2026-03-14T00:20:00.000Z',
      }),
    ).thread;
    const between = applyInbound(current, inbound({ messageId: 'c', occurredAt: '2026-03-14T00:15:00.000Z' })).thread;
    expect(between.routes.map((r) => [r.channel, r.lastInboundAt])).toEqual([
      ['whatsapp', '2026-03-14T00:20:00.000Z'],
      ['telegram', '2026-03-14T00:15:00.000Z'],
    ]);
    // WhatsApp still has the latest customer message.
    expect(between.lastInboundChannel).toBe('whatsapp');
    expect(between.lastCustomerMessageAt).toBe('2026-03-14T00:20:00.000Z');
  });

  it('takes a route of the same instant (a newer reply handle) and keeps the last channel on a tie', () => {
    const first = applyInbound(
      thread(),
      inbound({ messageId: 'a', replyHandle: { value: 'one', expiresAt: '2026-03-14T00:28:00.000Z' } }),
    ).thread;
    const tie = applyInbound(
      first,
      inbound({ messageId: 'b', replyHandle: { value: 'two', expiresAt: '2026-03-14T00:28:00.000Z' } }),
    ).thread;
    expect(tie.routes.map((r) => r.replyHandle?.value)).toEqual(['two']);
    const whatsappTie = applyInbound(first, inbound({ messageId: 'c', channel: 'whatsapp', conversation: whatsappChat })).thread;
    expect(whatsappTie.lastInboundChannel).toBe('whatsapp');
  });

  it('never moves updatedAt back', () => {
    const busy = thread({ updatedAt: '2026-03-14T05:00:00.000Z' });
    expect(applyInbound(busy, inbound()).thread.updatedAt).toBe('2026-03-14T05:00:00.000Z');
  });
});

describe("applyOutbound: an agent's or a notification's message", () => {
  it("by an agent: answers the customer's messages and records the first response", () => {
    const waiting = applyInbound(thread(), inbound()).thread;
    const change = applyOutbound(waiting, { channel: 'telegram', at: '2026-03-14T01:10:00.000Z', byAgent: true });
    expect(change).toEqual({
      changed: true,
      changes: [],
      thread: {
        ...waiting,
        unread: 0,
        lastMessageAt: '2026-03-14T01:10:00.000Z',
        updatedAt: '2026-03-14T01:10:00.000Z',
        lastAgentMessageAt: '2026-03-14T01:10:00.000Z',
        firstResponseAt: '2026-03-14T01:10:00.000Z',
      },
    });
    const second = applyOutbound(change.thread, { channel: 'whatsapp', at: '2026-03-14T01:20:00.000Z', byAgent: true }).thread;
    expect(second.firstResponseAt).toBe('2026-03-14T01:10:00.000Z');
    expect(second.lastAgentMessageAt).toBe('2026-03-14T01:20:00.000Z');
    expect(second.channels).toEqual(['telegram', 'whatsapp']);
  });

  it('not by an agent (a notification): neither answers nor counts as a response', () => {
    const waiting = applyInbound(thread(), inbound()).thread;
    const { thread: next } = applyOutbound(waiting, { channel: 'telegram', at: '2026-03-14T01:10:00.000Z', byAgent: false });
    expect(next).toEqual({ ...waiting, lastMessageAt: '2026-03-14T01:10:00.000Z', updatedAt: '2026-03-14T01:10:00.000Z' });
  });

  it('keeps the latest agent time when an older echo arrives late', () => {
    const answered = thread({
      lastAgentMessageAt: '2026-03-14T02:00:00.000Z',
      firstResponseAt: '2026-03-14T01:00:00.000Z',
      lastMessageAt: '2026-03-14T02:00:00.000Z',
      updatedAt: '2026-03-14T02:00:00.000Z',
    });
    const { thread: next } = applyOutbound(answered, { channel: 'telegram', at: '2026-03-14T01:30:00.000Z', byAgent: true });
    expect(next.lastAgentMessageAt).toBe('2026-03-14T02:00:00.000Z');
    expect(next.lastMessageAt).toBe('2026-03-14T02:00:00.000Z');
    expect(next.updatedAt).toBe('2026-03-14T02:00:00.000Z');
    expect(next.firstResponseAt).toBe('2026-03-14T01:00:00.000Z');
  });

  describe('a burst is recorded once a minute', () => {
    // Answered at 01:00 on Telegram; a notification went out at 01:00:50.
    const answered = thread({
      channels: ['telegram'],
      firstResponseAt: '2026-03-14T01:00:00.000Z',
      lastAgentMessageAt: '2026-03-14T01:00:00.000Z',
      lastMessageAt: '2026-03-14T01:00:50.000Z',
      updatedAt: '2026-03-14T01:00:50.000Z',
    });

    it("an agent's reply within a minute of their last one changes nothing; a minute after, it is recorded", () => {
      expect(applyOutbound(answered, { channel: 'telegram', at: '2026-03-14T01:00:59.999Z', byAgent: true })).toEqual({
        thread: answered,
        changes: [],
        changed: false,
      });
      // Counted from the agent's last message, not from the notification after it.
      expect(applyOutbound(answered, { channel: 'telegram', at: '2026-03-14T01:01:00.000Z', byAgent: true })).toEqual({
        thread: {
          ...answered,
          unread: 0,
          lastAgentMessageAt: '2026-03-14T01:01:00.000Z',
          lastMessageAt: '2026-03-14T01:01:00.000Z',
          updatedAt: '2026-03-14T01:01:00.000Z',
        },
        changes: [],
        changed: true,
      });
    });

    it('a notification is counted from the last message of any kind', () => {
      expect(applyOutbound(answered, { channel: 'telegram', at: '2026-03-14T01:01:00.000Z', byAgent: false }).changed).toBe(false);
      expect(applyOutbound(answered, { channel: 'telegram', at: '2026-03-14T01:01:50.000Z', byAgent: false })).toEqual({
        thread: { ...answered, lastMessageAt: '2026-03-14T01:01:50.000Z', updatedAt: '2026-03-14T01:01:50.000Z' },
        changes: [],
        changed: true,
      });
    });

    it('is recorded at once when the customer is waiting, the channel is new, or no agent has answered yet', () => {
      const at = '2026-03-14T01:00:55.000Z';
      const waiting = { ...answered, unread: 2 };
      expect(applyOutbound(waiting, { channel: 'telegram', at, byAgent: true }).thread).toMatchObject({
        unread: 0,
        lastAgentMessageAt: at,
      });
      // A notification does not answer the waiting customer, so it waits for its minute like any other.
      expect(applyOutbound(waiting, { channel: 'telegram', at, byAgent: false }).changed).toBe(false);
      expect(applyOutbound(answered, { channel: 'whatsapp', at, byAgent: false }).thread.channels).toEqual(['telegram', 'whatsapp']);
      const { lastAgentMessageAt: _last, ...notAnswered } = answered;
      expect(applyOutbound(notAnswered, { channel: 'telegram', at, byAgent: true }).thread).toMatchObject({
        lastAgentMessageAt: at,
        firstResponseAt: answered.firstResponseAt,
      });
      const { firstResponseAt: _first, ...noResponse } = answered;
      expect(applyOutbound(noResponse, { channel: 'telegram', at, byAgent: true }).thread).toMatchObject({
        lastAgentMessageAt: at,
        firstResponseAt: at,
      });
    });
  });
});

describe('changeStatus', () => {
  const at = '2026-03-14T02:00:00.000Z';

  it('resolves: records when, and clears the unread count', () => {
    const waiting = thread({ unread: 3 });
    expect(changeStatus(waiting, 'resolved', at)).toEqual({
      changed: true,
      changes: ['status'],
      thread: { ...waiting, status: 'resolved', resolvedAt: at, unread: 0, updatedAt: at },
    });
  });

  it('snoozes until a time in the future, and a new time replaces the old one', () => {
    const snoozed = changeStatus(thread(), 'snoozed', at, '2026-03-15T09:00:00.000Z');
    expect(snoozed.thread).toEqual({ ...thread(), status: 'snoozed', snoozedUntil: '2026-03-15T09:00:00.000Z', updatedAt: at });
    const later = changeStatus(snoozed.thread, 'snoozed', '2026-03-14T03:00:00.000Z', '2026-03-16T09:00:00.000Z');
    expect(later.changed).toBe(true);
    expect(later.thread.snoozedUntil).toBe('2026-03-16T09:00:00.000Z');
  });

  it('refuses a snooze without a time, with a time now or in the past, and a time with another status', () => {
    const refused = (run: () => unknown, message: string) => {
      expect(run).toThrow(ThreadRuleError);
      try {
        run();
      } catch (error) {
        expect(error).toMatchObject({ code: 'invalid_status_change', message, name: 'ThreadRuleError' });
      }
    };
    refused(() => changeStatus(thread(), 'snoozed', at), 'snoozed needs snoozedUntil');
    refused(() => changeStatus(thread(), 'snoozed', at, at), 'snoozedUntil must be in the future');
    refused(() => changeStatus(thread(), 'snoozed', at, '2026-03-14T01:59:59.999Z'), 'snoozedUntil must be in the future');
    refused(() => changeStatus(thread(), 'open', at, '2026-03-15T00:00:00.000Z'), 'snoozedUntil goes only with status snoozed');
  });

  it('changes nothing when the status is already the one asked for', () => {
    const resolved = thread({ status: 'resolved', resolvedAt: OPENED });
    expect(changeStatus(resolved, 'resolved', at)).toEqual({ thread: resolved, changes: [], changed: false });
    const snoozed = thread({ status: 'snoozed', snoozedUntil: '2026-03-15T00:00:00.000Z' });
    expect(changeStatus(snoozed, 'snoozed', at, '2026-03-15T00:00:00.000Z').changed).toBe(false);
  });

  it('reopens a snoozed thread without its snooze, keeping an earlier resolution time on record', () => {
    const snoozed = thread({
      status: 'snoozed',
      snoozedUntil: '2026-03-15T00:00:00.000Z',
      resolvedAt: '2026-03-13T00:00:00.000Z',
      unread: 2,
    });
    const { thread: open } = changeStatus(snoozed, 'open', at);
    expect(open).toEqual({ ...thread({ resolvedAt: '2026-03-13T00:00:00.000Z', unread: 2 }), updatedAt: at });
    expect(open).not.toHaveProperty('snoozedUntil');
    expect(changeStatus(snoozed, 'pending', at).thread).toMatchObject({ status: 'pending', unread: 2 });
  });

  it('never moves updatedAt back', () => {
    const busy = thread({ updatedAt: '2026-03-14T05:00:00.000Z' });
    expect(changeStatus(busy, 'pending', at).thread.updatedAt).toBe('2026-03-14T05:00:00.000Z');
  });
});

describe('changeLabels', () => {
  const at = '2026-03-14T02:00:00.000Z';

  it('adds and removes tags, kept sorted and once each', () => {
    const tagged = thread({ tags: ['billing', 'vip'] });
    const change = changeLabels(tagged, { addTags: ['urgent', 'billing', 'a-first'], removeTags: ['vip'] }, at);
    expect(change).toEqual({
      changed: true,
      changes: ['tags'],
      thread: { ...tagged, tags: ['a-first', 'billing', 'urgent'], updatedAt: at },
    });
  });

  it('replaces the tags when given the whole list, and still applies additions and removals', () => {
    const change = changeLabels(thread({ tags: ['old'] }), { tags: ['b', 'a', 'b'], addTags: ['c'], removeTags: ['a'] }, at);
    expect(change.thread.tags).toEqual(['b', 'c']);
  });

  it('sets and removes attributes (null removes one)', () => {
    const before = thread({ attributes: { order: 'A-1029', priority: 1 } });
    const change = changeLabels(before, { attributes: { priority: null, region: 'EU', vip: true } }, at);
    expect(change).toEqual({
      changed: true,
      changes: ['attributes'],
      thread: { ...before, attributes: { order: 'A-1029', region: 'EU', vip: true }, updatedAt: at },
    });
  });

  it('reports both when both change', () => {
    expect(changeLabels(thread(), { addTags: ['x'], attributes: { a: 1 } }, at).changes).toEqual(['tags', 'attributes']);
  });

  it('changes nothing when tags and attributes end up as they were', () => {
    const before = thread({ tags: ['a', 'b'], attributes: { order: 'A-1029' } });
    const changes: Parameters<typeof changeLabels>[1][] = [
      { addTags: ['a'] },
      { removeTags: ['zzz'] },
      { tags: ['b', 'a'] },
      { attributes: { order: 'A-1029' } },
      { attributes: { gone: null } },
      {},
    ];
    for (const change of changes) {
      expect(changeLabels(before, change, at)).toEqual({ thread: before, changes: [], changed: false });
    }
  });

  it('compares with the stored tags in any order (a thread written before tags were kept sorted)', () => {
    const unsorted = thread({ tags: ['vip', 'billing'] });
    expect(changeLabels(unsorted, { addTags: ['billing'] }, at)).toEqual({ thread: unsorted, changes: [], changed: false });
    expect(changeLabels(unsorted, { addTags: ['a'] }, at).thread.tags).toEqual(['a', 'billing', 'vip']);
  });

  it('keeps the attributes object as it was when only tags change', () => {
    const attributes = { order: 'A-1029' };
    const change = changeLabels(thread({ attributes }), { addTags: ['x'], attributes: { order: 'A-1029' } }, at);
    expect(change.changes).toEqual(['tags']);
    expect(change.thread.attributes).toBe(attributes);
  });

  it('refuses more than 50 tags or 50 attributes', () => {
    const fifty = Array.from({ length: 50 }, (_, n) => `t${String(n).padStart(2, '0')}`);
    expect(changeLabels(thread(), { tags: fifty }, at).thread.tags).toHaveLength(50);
    expect(() => changeLabels(thread({ tags: fifty }), { addTags: ['one-more'] }, at)).toThrow(
      expect.objectContaining({ code: 'invalid_request', message: 'a thread has at most 50 tags' }),
    );
    const attributes = Object.fromEntries(fifty.map((name) => [name, 1]));
    expect(Object.keys(changeLabels(thread(), { attributes }, at).thread.attributes)).toHaveLength(50);
    expect(() => changeLabels(thread({ attributes }), { attributes: { more: 1 } }, at)).toThrow(
      expect.objectContaining({ code: 'invalid_request', message: 'a thread has at most 50 attributes' }),
    );
  });

  it('never moves updatedAt back', () => {
    expect(changeLabels(thread({ updatedAt: '2026-03-14T05:00:00.000Z' }), { addTags: ['x'] }, at).thread.updatedAt).toBe(
      '2026-03-14T05:00:00.000Z',
    );
  });
});

describe('lifecycleChange: the sweep', () => {
  const now = '2026-03-15T09:00:00.000Z';

  it('wakes a snoozed thread whose time has come (at the instant too), not one still snoozed', () => {
    const due = thread({ status: 'snoozed', snoozedUntil: now });
    expect(lifecycleChange(due, now, undefined)).toEqual({
      changed: true,
      changes: ['status'],
      thread: { ...thread(), status: 'open', updatedAt: now },
    });
    const early = thread({ status: 'snoozed', snoozedUntil: '2026-03-15T09:00:00.001Z' });
    expect(lifecycleChange(early, now, 1)).toEqual({ thread: early, changes: [], changed: false });
  });

  it('resolves an open or pending thread idle for the hours given, from its last message', () => {
    const idle = (status: 'open' | 'pending', lastMessageAt: string) => thread({ status, lastMessageAt, unread: 2 });
    expect(lifecycleChange(idle('open', '2026-03-14T09:00:00.000Z'), now, 24)).toEqual({
      changed: true,
      changes: ['status'],
      thread: { ...idle('open', '2026-03-14T09:00:00.000Z'), status: 'resolved', resolvedAt: now, unread: 0, updatedAt: now },
    });
    expect(lifecycleChange(idle('pending', '2026-03-14T09:00:00.000Z'), now, 24).thread.status).toBe('resolved');
    expect(lifecycleChange(idle('open', '2026-03-14T09:00:00.001Z'), now, 24).changed).toBe(false);
    expect(lifecycleChange(idle('open', '2026-03-15T08:30:00.000Z'), now, 0.5).thread.status).toBe('resolved');
  });

  it('resolves nothing without AUTO_RESOLVE_AFTER_HOURS, and never a snoozed or resolved thread', () => {
    const old = '2026-01-01T00:00:00.000Z';
    expect(lifecycleChange(thread({ lastMessageAt: old }), now, undefined).changed).toBe(false);
    expect(
      lifecycleChange(thread({ status: 'snoozed', snoozedUntil: '2026-04-01T00:00:00.000Z', lastMessageAt: old }), now, 1).changed,
    ).toBe(false);
    expect(lifecycleChange(thread({ status: 'resolved', resolvedAt: old, lastMessageAt: old }), now, 1).changed).toBe(false);
    // A snoozed thread without a time (written by hand) is left alone.
    expect(lifecycleChange(thread({ status: 'snoozed', lastMessageAt: old }), now, undefined).changed).toBe(false);
  });
});

describe('publicThread', () => {
  it('leaves out the messages counted, which only the store keeps', () => {
    const stored = applyInbound(thread(), inbound()).thread;
    const shown = publicThread(stored);
    expect(shown).not.toHaveProperty('counted');
    expect({ ...shown, counted: ['msg_1'] }).toEqual(stored);
  });
});
