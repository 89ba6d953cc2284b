import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoThreadStore } from '../../adapters/aws/dynamo-thread-store.ts';
import type { MessageReceivedEvent, ParleyEvent } from '../../domain/events.ts';
import { applyEvent } from '../../domain/thread-writer.ts';
import { createLocalLog } from '../../runtime/local-log.ts';
import { startDynalite, type Dynalite } from '../helpers/dynalite.ts';

let dynamo: Dynalite;
let store: DynamoThreadStore;
const log = createLocalLog({ level: 'silent' });
beforeAll(async () => {
  dynamo = await startDynalite();
  store = new DynamoThreadStore({ client: dynamo.client, tableName: dynamo.tableName });
});
afterAll(() => dynamo?.stop());

let seq = 0;
/** A received text event as a connector emits it; fresh ids per call keep tests apart. */
const received = (overrides: Partial<MessageReceivedEvent> = {}): MessageReceivedEvent => {
  seq += 1;
  const chat = overrides.conversation?.externalId ?? `9000${seq}`;
  return {
    schemaVersion: 1,
    type: 'message.received',
    eventId: `evt_${seq}`,
    channel: 'telegram',
    accountId: '7712345678',
    providerEventId: String(seq),
    occurredAt: `2026-03-14T00:00:${String(seq % 60).padStart(2, '0')}.000Z`,
    receivedAt: '2026-03-14T01:00:00.000Z',
    direction: 'inbound',
    externalMessageId: `${chat}:${seq}`,
    sender: { externalUserId: chat, displayName: 'Mina Park' },
    conversation: { externalId: chat, kind: 'direct' },
    content: { type: 'text', text: `message ${seq}` },
    ...overrides,
  };
};
const apply = (event: ParleyEvent) => applyEvent(event, { store, log });

describe('applyEvent', () => {
  it('creates contact, identity, open thread and message for a first message', async () => {
    const event = received();
    const outcome = await apply(event);
    expect(outcome.kind).toBe('stored');
    if (outcome.kind !== 'stored') return;
    const thread = await store.getThread(outcome.threadId);
    expect(thread).toMatchObject({ status: 'open', channels: ['telegram'], lastMessageAt: event.occurredAt });
    expect(thread?.routes[0]).toMatchObject({ channel: 'telegram', accountId: '7712345678', conversation: event.conversation });
    const { items } = await store.listMessages(outcome.threadId, 10);
    expect(items).toEqual([
      expect.objectContaining({
        direction: 'inbound',
        externalId: event.externalMessageId,
        status: 'received',
        content: event.content,
        author: { role: 'customer', id: thread?.contactId, externalUserId: event.sender.externalUserId, displayName: 'Mina Park' },
      }),
    ]);
  });

  it("keeps the customer's one-time reply handle on the channel's route", async () => {
    const handle = { value: 'reply-token-1', expiresAt: '2026-03-14T00:02:00.000Z' };
    const outcome = await apply(received({ replyHandle: handle }));
    const thread = await store.getThread(outcome.kind === 'stored' ? outcome.threadId : '');
    expect(thread?.routes[0]?.replyHandle).toEqual(handle);
  });

  it('is a no-op for a redelivered event, and keeps one thread per customer', async () => {
    const first = received();
    const a = await apply(first);
    const b = await apply({ ...first, receivedAt: '2026-03-14T01:05:00.000Z' });
    expect(b).toEqual({ ...a, kind: 'duplicate' });
    const next = received({ conversation: first.conversation, sender: first.sender, externalMessageId: `${first.conversation.externalId}:x2` });
    const c = await apply(next);
    expect(c.kind === 'stored' && a.kind === 'stored' && c.threadId === a.threadId).toBe(true);
    const { items } = await store.listMessages(a.kind === 'stored' ? a.threadId : '', 10);
    expect(items.map((m) => m.externalId)).toEqual([first.externalMessageId, next.externalMessageId]);
  });

  it('keeps a group as one thread whose messages carry each member as author', async () => {
    const group = { externalId: '-1001122334455', kind: 'group' as const, title: 'ACME buyers' };
    const one = await apply(received({ conversation: group, sender: { externalUserId: '111', displayName: 'Ann' } }));
    const two = await apply(received({ conversation: group, sender: { externalUserId: '222', displayName: 'Bo' } }));
    expect(one.kind === 'stored' && two.kind === 'stored' && one.threadId === two.threadId).toBe(true);
    const threadId = one.kind === 'stored' ? one.threadId : '';
    const { items } = await store.listMessages(threadId, 10);
    expect(items.map((m) => [m.author.role, m.author.externalUserId, m.author.displayName])).toEqual([
      ['customer', '111', 'Ann'],
      ['customer', '222', 'Bo'],
    ]);
    for (const member of ['111', '222']) {
      expect((await store.listThreadsByParticipant('telegram', member, 10)).items.map((t) => t.id)).toContain(threadId);
    }
  });

  it('replaces content on an edit, ignores an older edit, and never adds a message', async () => {
    const original = received();
    const stored = await apply(original);
    const edit = (text: string, editedAt: string): ParleyEvent => ({
      ...original,
      type: 'message.edited',
      eventId: `${original.eventId}-e-${editedAt}`,
      editedAt,
      content: { type: 'text', text },
    });
    expect((await apply(edit('second', '2026-03-14T02:00:00.000Z'))).kind).toBe('updated');
    expect((await apply(edit('first (late)', '2026-03-14T01:30:00.000Z'))).kind).toBe('unchanged');
    const threadId = stored.kind === 'stored' ? stored.threadId : '';
    const { items } = await store.listMessages(threadId, 10);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ content: { type: 'text', text: 'second' }, editedAt: '2026-03-14T02:00:00.000Z' });
  });

  it('stores an edit of a message it never saw, as edited', async () => {
    const unseen = received();
    const outcome = await apply({ ...unseen, type: 'message.edited', editedAt: '2026-03-14T03:00:00.000Z' });
    expect(outcome.kind).toBe('stored');
  });

  it('marks an identity unreachable when the customer blocks the bot', async () => {
    const event = received();
    await apply(event);
    await apply({
      schemaVersion: 1,
      type: 'identity.unreachable',
      eventId: `${event.eventId}-blocked`,
      channel: 'telegram',
      accountId: event.accountId,
      occurredAt: '2026-03-14T04:00:00.000Z',
      receivedAt: '2026-03-14T04:00:00.000Z',
      externalUserId: event.sender.externalUserId,
      reason: 'blocked the bot',
    });
    const identity = await store.getIdentity('telegram', event.accountId, event.conversation.externalId);
    expect(identity?.unreachable).toMatchObject({ reason: 'blocked the bot' });
  });

  it('does not reopen a resolved thread for a redelivered message', async () => {
    const event = received();
    const first = await apply(event);
    const threadId = first.kind === 'stored' ? first.threadId : '';
    await dynamo.client.send(
      new UpdateCommand({
        TableName: dynamo.tableName,
        Key: { pk: `THREAD#${threadId}`, sk: 'THREAD' },
        UpdateExpression: 'SET #s = :r',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':r': 'resolved' },
      }),
    );
    expect((await apply(event)).kind).toBe('duplicate');
    expect((await store.getThread(threadId))?.status).toBe('resolved');
    const next = received({ conversation: event.conversation, sender: event.sender });
    expect(await apply(next)).toMatchObject({ kind: 'stored', threadId });
    expect((await store.getThread(threadId))?.status).toBe('open');
  });

  it('applies an edit processed at the same time as its original', async () => {
    const original = received();
    const edit: ParleyEvent = { ...original, type: 'message.edited', eventId: `${original.eventId}-e`, editedAt: '2026-03-14T05:00:00.000Z', content: { type: 'text', text: 'edited' } };
    const [a, b] = await Promise.all([apply(original), apply(edit)]);
    const threadId = a.kind === 'stored' || a.kind === 'duplicate' ? a.threadId : b.kind !== 'unchanged' && b.kind !== 'skipped' ? b.threadId : '';
    const { items } = await store.listMessages(threadId, 10);
    expect(items).toHaveLength(1);
    expect(items[0]?.content).toEqual({ type: 'text', text: 'edited' });
  });

  it('clears the unreachable mark when the customer writes again after blocking', async () => {
    const event = received();
    await apply(event);
    await store.markIdentityUnreachable('telegram', event.accountId, event.conversation.externalId, 'blocked the bot', '2026-03-14T00:00:59.500Z');
    await apply(received({ conversation: event.conversation, sender: event.sender, occurredAt: '2026-03-14T06:00:00.000Z' }));
    expect((await store.getIdentity('telegram', event.accountId, event.conversation.externalId))?.unreachable).toBeUndefined();
  });

  it("recognizes an echo of Parley's own message that overtakes the send's response", async () => {
    const first = await apply(received());
    const threadId = first.kind === 'stored' ? first.threadId : '';
    const thread = await store.getThread(threadId);
    const conversation = thread?.routes[0]?.conversation ?? { externalId: '', kind: 'direct' as const };
    const messageId = 'msg_0mwzzzzzz0mwzzzzzz_agentreply';
    await store.insertMessage({
      id: messageId,
      threadId,
      direction: 'outbound',
      channel: 'telegram',
      accountId: '7712345678',
      occurredAt: '2026-03-14T00:00:59.000Z',
      author: { role: 'agent', id: 'key_1' },
      content: { type: 'text', text: 'Hello from the agent' },
      status: 'queued',
    });
    const echo = received({
      direction: 'outbound',
      conversation,
      sender: { externalUserId: 'page-1' },
      externalMessageId: 'mid.echo.1',
      content: { type: 'text', text: 'Hello from the agent' },
      originMessageId: messageId,
    });
    expect(await apply(echo)).toEqual({ kind: 'duplicate', threadId, messageId });
    expect((await store.listMessages(threadId, 10)).items.map((m) => m.id)).toContain(messageId);
    expect((await store.listMessages(threadId, 10)).items).toHaveLength(2);
    expect((await store.findMessageByExternalId('telegram', '7712345678', 'mid.echo.1'))?.id).toBe(messageId);
  });

  it('retries a fresh status for a message it does not know yet', async () => {
    const now = new Date().toISOString();
    await expect(
      apply({
        schemaVersion: 1,
        type: 'message.status',
        eventId: 'evt_status_young',
        channel: 'telegram',
        accountId: '7712345678',
        occurredAt: now,
        receivedAt: now,
        externalMessageId: 'nobody:2',
        status: 'delivered',
      }),
    ).rejects.toThrow(/not \(yet\) a known message/);
  });

  it('skips provider statuses for messages it does not know', async () => {
    const outcome = await apply({
      schemaVersion: 1,
      type: 'message.status',
      eventId: 'evt_status_unknown',
      channel: 'telegram',
      accountId: '7712345678',
      occurredAt: '2026-03-14T04:00:00.000Z',
      receivedAt: '2026-03-14T04:00:00.000Z',
      externalMessageId: 'nobody:1',
      status: 'read',
    });
    expect(outcome).toEqual({ kind: 'skipped', reason: 'unknown message' });
  });
});
