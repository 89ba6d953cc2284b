/**
 * The rules of a message's life (domain/conversations/messages.ts): delivery statuses only move forward (a
 * `delivered` or `read` report still wins over an earlier failure), an edit keeps what it replaced and never
 * moves `occurredAt`, and the events each change records, with their stable ids.
 */
import { describe, expect, it } from 'vitest';
import { advanceStatus, canAdvance, editContent, STATUS_RANK, type DeliveryStatus } from '../../domain/conversations/messages.ts';
import type { MessageStatus } from '../../domain/conversations/model.ts';
import type { StoredMessage } from '../../domain/conversations/ports.ts';
import { onceEvent } from '../../domain/events/outbox.ts';

const reply = (overrides: Partial<StoredMessage> = {}): StoredMessage => ({
  id: 'msg_out',
  threadId: 'th_1',
  direction: 'outbound',
  channel: 'whatsapp',
  accountId: '106540352242922',
  occurredAt: '2026-03-14T00:40:00.000Z',
  author: { role: 'agent', id: 'key_1' },
  content: { type: 'text', text: 'Your order ships today' },
  status: 'queued',
  ...overrides,
});

const received = (overrides: Partial<StoredMessage> = {}): StoredMessage => ({
  id: 'msg_in',
  threadId: 'th_1',
  direction: 'inbound',
  channel: 'messenger',
  accountId: '1029384756',
  externalId: 'm_1',
  occurredAt: '2026-03-14T00:26:53.000Z',
  author: { role: 'customer', id: 'ct_1', externalUserId: '24680' },
  content: { type: 'text', text: 'Where is my order?' },
  status: 'received',
  ...overrides,
});

const AT = '2026-03-14T00:43:20.000Z';

describe('STATUS_RANK and canAdvance', () => {
  it('ranks queued < sent < failed < delivered < read', () => {
    expect(STATUS_RANK).toEqual({ queued: 10, sent: 20, failed: 25, delivered: 30, read: 40 });
  });

  it('moves only forward, and never a received message', () => {
    const statuses: DeliveryStatus[] = ['queued', 'sent', 'failed', 'delivered', 'read'];
    const allowed = (from: MessageStatus) => statuses.filter((to) => canAdvance(from, to));
    expect(allowed('queued')).toEqual(['sent', 'failed', 'delivered', 'read']);
    expect(allowed('sent')).toEqual(['failed', 'delivered', 'read']);
    expect(allowed('failed')).toEqual(['delivered', 'read']);
    expect(allowed('delivered')).toEqual(['read']);
    expect(allowed('read')).toEqual([]);
    expect(allowed('received')).toEqual([]);
  });
});

describe('advanceStatus', () => {
  it('sent: records the provider ids, drops the sending claim, and records message.status and message.sent', () => {
    const claimed = reply({ claim: { token: 'r-1', until: '2026-03-14T00:45:00.000Z' } });
    const change = advanceStatus(claimed, { status: 'sent', at: AT, externalIds: ['wamid.A', 'wamid.B'] });
    const { claim: _claim, ...rest } = claimed;
    expect(change.changed).toBe(true);
    expect(change.message).toEqual({ ...rest, status: 'sent', externalId: 'wamid.A', externalIds: ['wamid.A', 'wamid.B'] });
    expect(change.events).toEqual([
      onceEvent('message.status', AT, ['th_1', 'msg_out', 'sent'], { status: 'sent', previousStatus: 'queued' }),
      onceEvent('message.sent', AT, ['th_1', 'msg_out', 'sent']),
    ]);
    expect(change.events.map((e) => e.type)).toEqual(['message.status', 'message.sent']);
  });

  it('failed: keeps the failure and records message.status and message.failed', () => {
    const failure = { kind: 'permanent' as const, code: '131047', message: 'Re-engagement message' };
    const change = advanceStatus(reply({ status: 'sent', externalId: 'wamid.A', claim: { token: 't', until: AT } }), {
      status: 'failed',
      at: AT,
      failure,
    });
    expect(change.message).toEqual({ ...reply(), status: 'failed', externalId: 'wamid.A', failure });
    expect(change.events).toEqual([
      onceEvent('message.status', AT, ['th_1', 'msg_out', 'failed'], { status: 'failed', previousStatus: 'sent' }),
      onceEvent('message.failed', AT, ['th_1', 'msg_out', 'failed']),
    ]);
  });

  it('failed without a new failure keeps the one the message has', () => {
    const failure = { kind: 'retryable' as const, message: 'timed out', attempts: 3 };
    expect(advanceStatus(reply({ failure }), { status: 'failed', at: AT }).message.failure).toEqual(failure);
    expect(advanceStatus(reply(), { status: 'failed', at: AT }).message).not.toHaveProperty('failure');
  });

  it('delivered and read win over an earlier failure and clear it; only message.status is recorded', () => {
    const failed = reply({ status: 'failed', externalId: 'wamid.A', failure: { kind: 'retryable', message: 'timed out' } });
    const delivered = advanceStatus(failed, { status: 'delivered', at: AT });
    expect(delivered.message).toEqual({ ...reply(), status: 'delivered', externalId: 'wamid.A' });
    expect(delivered.events).toEqual([
      onceEvent('message.status', AT, ['th_1', 'msg_out', 'delivered'], { status: 'delivered', previousStatus: 'failed' }),
    ]);
    const read = advanceStatus(delivered.message, { status: 'read', at: AT });
    expect(read.message.status).toBe('read');
    expect(read.events.map((e) => e.type)).toEqual(['message.status']);
  });

  it('keeps a claim past queued only for delivered or read (the sender is done either way)', () => {
    const claim = { token: 'r-1', until: AT };
    expect(advanceStatus(reply({ claim }), { status: 'delivered', at: AT }).message.claim).toEqual(claim);
    expect(advanceStatus(reply({ claim }), { status: 'failed', at: AT }).message).not.toHaveProperty('claim');
  });

  it('keeps the provider ids it has when a report names none', () => {
    const sent = reply({ status: 'sent', externalId: 'wamid.A', externalIds: ['wamid.A'] });
    expect(advanceStatus(sent, { status: 'read', at: AT, externalIds: [] }).message).toMatchObject({
      externalId: 'wamid.A',
      externalIds: ['wamid.A'],
    });
  });

  it('changes nothing for a status already reached or passed, and nothing on a received message', () => {
    const read = reply({ status: 'read' });
    for (const status of ['sent', 'delivered', 'read', 'failed', 'queued'] as const) {
      expect(advanceStatus(read, { status, at: AT })).toEqual({ message: read, events: [], changed: false });
    }
    const delivered = reply({ status: 'delivered' });
    expect(advanceStatus(delivered, { status: 'failed', at: AT, failure: { kind: 'permanent', message: 'late' } }).changed).toBe(false);
    expect(advanceStatus(received(), { status: 'read', at: AT }).changed).toBe(false);
  });

  it('gives a repeated status the same event ids, and each status its own', () => {
    const a = advanceStatus(reply(), { status: 'sent', at: AT });
    const b = advanceStatus(reply(), { status: 'sent', at: '2026-03-14T01:00:00.000Z' });
    expect(a.events.map((e) => e.id)).toEqual(b.events.map((e) => e.id));
    const c = advanceStatus(reply(), { status: 'delivered', at: AT });
    expect(c.events[0]?.id).not.toBe(a.events[0]?.id);
  });
});

describe('editContent', () => {
  const EDITED = '2026-03-14T00:30:00.000Z';

  it('replaces the content, keeps the replaced one in the history and never moves occurredAt', () => {
    const change = editContent(received(), { type: 'text', text: 'Where is order A-1029?' }, EDITED);
    expect(change).toEqual({
      changed: true,
      message: {
        ...received(),
        content: { type: 'text', text: 'Where is order A-1029?' },
        editedAt: EDITED,
        history: [{ content: { type: 'text', text: 'Where is my order?' }, replacedAt: EDITED }],
      },
      events: [onceEvent('message.edited', EDITED, ['th_1', 'msg_in', EDITED])],
    });
  });

  it('keeps every earlier content, oldest first', () => {
    const once = editContent(received(), { type: 'text', text: 'two' }, EDITED).message;
    const twice = editContent(once, { type: 'text', text: 'three' }, '2026-03-14T00:31:00.000Z').message;
    expect(twice.history).toEqual([
      { content: { type: 'text', text: 'Where is my order?' }, replacedAt: EDITED },
      { content: { type: 'text', text: 'two' }, replacedAt: '2026-03-14T00:31:00.000Z' },
    ]);
    expect(twice.occurredAt).toBe('2026-03-14T00:26:53.000Z');
    expect(twice.editedAt).toBe('2026-03-14T00:31:00.000Z');
  });

  it('ignores an edit no newer than the last one applied', () => {
    const edited = editContent(received(), { type: 'text', text: 'two' }, EDITED).message;
    expect(editContent(edited, { type: 'text', text: 'older' }, '2026-03-14T00:29:00.000Z')).toEqual({
      message: edited,
      events: [],
      changed: false,
    });
    expect(editContent(edited, { type: 'text', text: 'same instant' }, EDITED)).toEqual({ message: edited, events: [], changed: false });
  });

  it('records only the time for an edit that leaves the content as it is, without an event or history', () => {
    const same = editContent(received(), { type: 'text', text: 'Where is my order?' }, EDITED);
    expect(same).toEqual({ changed: true, events: [], message: { ...received(), editedAt: EDITED } });
    const edited = editContent(received(), { type: 'text', text: 'two' }, EDITED).message;
    const later = editContent(edited, { type: 'text', text: 'two' }, '2026-03-14T00:35:00.000Z');
    expect(later).toEqual({ changed: true, events: [], message: { ...edited, editedAt: '2026-03-14T00:35:00.000Z' } });
  });
});
