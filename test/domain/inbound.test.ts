/**
 * The thread writer (domain/conversations/inbound.ts, with identities.ts) on the real store: the DynamoDB
 * conversation store on the local engine, fed the events the connectors normalize from the providers'
 * payloads (test/fixtures). What each event leaves is read back through the store, and the domain events it
 * recorded through the table's stream, as the outbox relay reads them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { capabilitiesOf } from '../../connectors/capabilities.ts';
import { applyEvent, type ThreadWriterDeps, type WriteOutcome } from '../../domain/conversations/inbound.ts';
import { normalizePhone, resolveIdentity } from '../../domain/conversations/identities.ts';
import type { StoredMessage } from '../../domain/conversations/ports.ts';
import { updateProfile } from '../../domain/conversations/contacts.ts';
import type { MessageEditedEvent, MessageReceivedEvent, MessageStatusEvent, ParleyEvent } from '../../domain/events.ts';
import { newMessageId } from '../../domain/message-ids.ts';
import { countedMark, newThread } from '../../domain/conversations/threads.ts';
import { NEW_RECORD } from '../../domain/shared/store.ts';
import { captureLog, fixtureEvent, interceptCommits, startConversations, type ConversationHarness } from '../helpers/conversations.ts';

let h: ConversationHarness;
beforeEach(async () => {
  h = await startConversations();
});
afterEach(() => h.stop());

const writerDeps = (overrides: Partial<ThreadWriterDeps> = {}): ThreadWriterDeps => ({
  store: h.store,
  log: captureLog(),
  clock: h.clock,
  capabilities: capabilitiesOf,
  ...overrides,
});
const apply = (event: ParleyEvent, overrides: Partial<ThreadWriterDeps> = {}) => applyEvent(event, writerDeps(overrides));

const stored = (outcome: WriteOutcome): { threadId: string; messageId: string } => {
  if (outcome.kind !== 'stored' && outcome.kind !== 'duplicate' && outcome.kind !== 'updated')
    throw new Error(`not stored: ${JSON.stringify(outcome)}`);
  return { threadId: outcome.threadId, messageId: outcome.messageId };
};
const threadOf = async (id: string) => (await h.store.getThread(id))?.value;
const messagesOf = async (threadId: string): Promise<StoredMessage[]> => {
  const thread = await threadOf(threadId);
  return (await h.store.listMessages([threadId, ...(thread?.mergedThreads ?? [])], 100)).items;
};
const identityOf = async (event: MessageReceivedEvent | MessageEditedEvent) =>
  (await h.store.getIdentity({ channel: event.channel, accountId: event.accountId, externalUserId: event.conversation.externalId }))?.value;
const idOf = (event: MessageReceivedEvent | MessageEditedEvent) =>
  newMessageId(new Date(event.occurredAt), new Date(event.receivedAt), event.channel, event.accountId, event.externalMessageId);

// Mina writes to the Telegram bot: text, then a photo; later she edits a message.
const minaText = fixtureEvent('telegram', 'private-text-entities', 'message.received');
const minaPhoto = fixtureEvent('telegram', 'photo-caption', 'message.received');
const minaEdit = fixtureEvent('telegram', 'edited-message', 'message.edited');
// A Telegram group with Mina and Haruto.
const groupFirst = fixtureEvent('telegram', 'group-message-first', 'message.received');
const groupSecond = fixtureEvent('telegram', 'group-message-second', 'message.received');
const harutoBlocked = fixtureEvent('telegram', 'my-chat-member-kicked', 'identity.unreachable');
// Messenger: a question, its edit, the page's reply (echo) and its delivery.
const messengerText = fixtureEvent('messenger', 'text', 'message.received');
const messengerEdit = fixtureEvent('messenger', 'message-edit', 'message.edited');
const messengerEcho = fixtureEvent('messenger', 'echo', 'message.received');
const messengerDelivered = fixtureEvent('messenger', 'delivery', 'message.status');
// WhatsApp: Sheena writes to two numbers of the business; statuses of replies.
const sheenaFirst = fixtureEvent('whatsapp', 'batch-two-numbers', 'message.received', 0);
const sheenaOtherNumber = fixtureEvent('whatsapp', 'batch-two-numbers', 'message.received', 3);
const whatsappEcho = fixtureEvent('whatsapp', 'echo-coexistence', 'message.received');
const sentDelivered = fixtureEvent('whatsapp', 'statuses-sent-delivered-read', 'message.status', 0);
const whatsappFailed = fixtureEvent('whatsapp', 'statuses-failed', 'message.status', 0);
const lineText = fixtureEvent('line', 'text', 'message.received');

/** An agent's reply as the API stores it and the sender records its send: the message and its provider id's pointer. */
const storeReply = async (
  threadId: string,
  id: string,
  overrides: Partial<StoredMessage> & Pick<StoredMessage, 'channel' | 'accountId'>,
) => {
  const message: StoredMessage = {
    id,
    threadId,
    direction: 'outbound',
    occurredAt: '2026-03-14T00:40:00.000Z',
    author: { role: 'agent', id: 'key_1' },
    content: { type: 'text', text: 'Your order ships today' },
    status: 'sent',
    ...overrides,
  };
  await h.store.commit([{ kind: 'message', op: 'put', value: message, version: NEW_RECORD }]);
  if (message.externalId !== undefined) {
    await h.store.commit([
      {
        kind: 'pointer',
        op: 'put',
        value: { channel: message.channel, accountId: message.accountId, externalId: message.externalId, threadId, messageId: id },
        version: NEW_RECORD,
      },
    ]);
  }
  return message;
};

describe('a first message', () => {
  it('creates the contact, its identity and its open thread, and stores the message in it', async () => {
    const outcome = await apply(minaText);
    const { threadId, messageId } = stored(outcome);
    expect(outcome.kind).toBe('stored');
    expect(messageId).toBe(idOf(minaText));

    const identity = await identityOf(minaText);
    const contactId = identity?.contactId ?? '';
    expect(identity).toEqual({
      channel: 'telegram',
      accountId: '7712345678',
      externalUserId: '5550101234',
      kind: 'direct',
      displayName: 'Mina Park',
      contactId,
      threadId,
      link: { reason: 'first_contact', by: { type: 'system' }, at: minaText.occurredAt },
      createdAt: minaText.occurredAt,
    });
    expect((await h.store.getContact(contactId))?.value).toEqual({
      id: contactId,
      state: 'active',
      name: 'Mina Park',
      attributes: {},
      identities: [
        {
          channel: 'telegram',
          accountId: '7712345678',
          externalUserId: '5550101234',
          kind: 'direct',
          displayName: 'Mina Park',
          link: identity?.link,
        },
      ],
      threadId,
      merges: [],
      createdAt: minaText.occurredAt,
      updatedAt: minaText.occurredAt,
    });
    // A thread starts when its first message was written, not when Parley received it.
    expect(await threadOf(threadId)).toEqual({
      id: threadId,
      contactId,
      status: 'open',
      channels: ['telegram'],
      routes: [{ channel: 'telegram', accountId: '7712345678', conversation: minaText.conversation, lastInboundAt: minaText.occurredAt }],
      lastInboundChannel: 'telegram',
      assignee: null,
      control: { holder: 'none', since: minaText.occurredAt },
      tags: [],
      attributes: {},
      unread: 1,
      counted: [countedMark(messageId)],
      createdAt: minaText.occurredAt,
      updatedAt: minaText.receivedAt,
      lastMessageAt: minaText.occurredAt,
      lastCustomerMessageAt: minaText.occurredAt,
    });
    expect(await messagesOf(threadId)).toEqual([
      {
        id: messageId,
        threadId,
        contactId,
        direction: 'inbound',
        channel: 'telegram',
        accountId: '7712345678',
        externalId: '5550101234:1200',
        occurredAt: minaText.occurredAt,
        author: { role: 'customer', id: contactId, externalUserId: '5550101234', displayName: 'Mina Park' },
        content: minaText.content,
        status: 'received',
      },
    ]);
    expect(await h.store.getPointer('telegram', '7712345678', '5550101234:1200')).toEqual({
      channel: 'telegram',
      accountId: '7712345678',
      externalId: '5550101234:1200',
      threadId,
      messageId,
    });
    expect(await h.store.listParticipantThreads('telegram', '5550101234')).toEqual([threadId]);
  });

  it('records contact.created, thread.created and message.received, with the records as written', async () => {
    const { threadId, messageId } = stored(await apply(minaText));
    const contactId = (await identityOf(minaText))?.contactId;
    const events = await h.events();
    expect(events.map((e) => e.type)).toEqual(['contact.created', 'thread.created', 'message.received']);
    expect(events[0]).toMatchObject({
      schemaVersion: 1,
      createdAt: minaText.occurredAt,
      data: { contact: { id: contactId, name: 'Mina Park' } },
    });
    expect(events[1]).toMatchObject({ createdAt: minaText.occurredAt, data: { thread: { id: threadId, status: 'open' }, changes: [] } });
    expect(events[2]).toMatchObject({
      createdAt: minaText.receivedAt,
      data: { threadId, contactId, message: { id: messageId, status: 'received', content: minaText.content } },
    });
    expect(new Set(events.map((e) => e.id)).size).toBe(3);
  });

  it('starts the thread when Parley received it, if the provider dates the message later', async () => {
    const skewed = { ...minaText, occurredAt: '2026-03-14T01:00:05.000Z' };
    const { threadId } = stored(await apply(skewed));
    expect((await threadOf(threadId))?.createdAt).toBe(minaText.receivedAt);
  });

  it("keeps the customer's reply handle and the channel's messaging window on the route", async () => {
    const { threadId } = stored(await apply(lineText));
    expect((await threadOf(threadId))?.routes).toEqual([
      {
        channel: 'line',
        accountId: lineText.accountId,
        conversation: lineText.conversation,
        lastInboundAt: lineText.occurredAt,
        replyHandle: lineText.replyHandle,
      },
    ]);
    const { threadId: whatsappThread } = stored(await apply(sheenaFirst));
    expect((await threadOf(whatsappThread))?.routes[0]?.windowExpiresAt).toBe('2026-03-15T00:45:00.000Z');
  });

  it('gives messages and their pointers an expiry when messages are retained for a number of days', async () => {
    const { threadId, messageId } = stored(await apply(minaText, { retentionDays: 30 }));
    expect((await h.store.getMessage(threadId, messageId))?.value.expiresAt).toBe('2026-04-13T01:00:00.000Z');
    expect((await h.store.getPointer('telegram', '7712345678', '5550101234:1200'))?.expiresAt).toBe('2026-04-13T01:00:00.000Z');
  });
});

describe('the same customer again', () => {
  it('writes into the same thread, oldest first, and records a new display name', async () => {
    const first = stored(await apply(minaText));
    const second = stored(await apply(minaPhoto));
    expect(second.threadId).toBe(first.threadId);
    expect((await messagesOf(first.threadId)).map((m) => m.externalId)).toEqual(['5550101234:1200', '5550101234:1202']);
    const identity = await identityOf(minaPhoto);
    expect(identity?.displayName).toBe('Mina');
    const contact = (await h.store.getContact(identity?.contactId ?? ''))?.value;
    expect(contact?.identities.map((i) => i.displayName)).toEqual(['Mina']);
    // The contact's own name is the integrator's, once set: a provider's display name does not replace it.
    expect(contact?.name).toBe('Mina Park');
    expect((await threadOf(first.threadId))?.unread).toBe(2);
  });

  it('changes nothing for a redelivered message: one message, counted once, no new events', async () => {
    const first = await apply(minaText);
    const eventsBefore = (await h.events()).length;
    const again = await apply({ ...minaText, receivedAt: '2026-03-14T01:05:00.000Z' });
    expect(again).toEqual({ ...first, kind: 'duplicate' });
    const { threadId } = stored(first);
    expect(await messagesOf(threadId)).toHaveLength(1);
    expect((await threadOf(threadId))?.unread).toBe(1);
    expect((await h.events()).length).toBe(eventsBefore);
  });

  it('writes a redelivery racing the first delivery once', async () => {
    const outcomes = await Promise.all([apply(minaText), apply(minaText), apply(minaText)]);
    const { threadId, messageId } = stored(outcomes[0]!);
    for (const outcome of outcomes) expect(stored(outcome)).toEqual({ threadId, messageId });
    expect(outcomes.filter((o) => o.kind === 'stored')).toHaveLength(1);
    expect(await messagesOf(threadId)).toHaveLength(1);
    expect((await threadOf(threadId))?.unread).toBe(1);
    expect((await h.eventsOf('contact.created')).length).toBe(1);
  });

  it.each(['resolved', 'snoozed'] as const)('reopens the %s thread, recording thread.updated once', async (status) => {
    const { threadId } = stored(await apply(minaText));
    const current = await h.store.getThread(threadId);
    await h.store.commit([
      {
        kind: 'thread',
        op: 'put',
        value: { ...current!.value, status, unread: 0, ...(status === 'snoozed' && { snoozedUntil: '2026-03-20T00:00:00.000Z' }) },
        version: current!.version,
      },
    ]);
    const photo = stored(await apply(minaPhoto));
    await apply(minaPhoto);
    const thread = await threadOf(threadId);
    expect(thread?.status).toBe('open');
    expect(thread).not.toHaveProperty('snoozedUntil');
    expect(thread?.unread).toBe(1);
    const updates = await h.eventsOf('thread.updated');
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({
      createdAt: minaPhoto.receivedAt,
      data: { thread: { id: threadId, status: 'open' }, changes: ['status'] },
    });
    expect(photo.threadId).toBe(threadId);
  });
});

describe('a crash halfway is completed by the redelivery', () => {
  it('between the pointer and the message: the message gets the id the pointer names', async () => {
    let failed = false;
    const crashing = interceptCommits(h.store, (writes) => {
      if (!failed && writes.some((w) => w.kind === 'message')) {
        failed = true;
        throw new Error('Lambda timed out');
      }
    });
    await expect(apply(minaText, { store: crashing })).rejects.toThrow('Lambda timed out');
    const pointer = await h.store.getPointer('telegram', '7712345678', '5550101234:1200');
    expect(pointer?.messageId).toBe(idOf(minaText));
    expect(await h.store.getMessage(pointer!.threadId, pointer!.messageId)).toBeUndefined();

    // The queue redelivers, a little later.
    const outcome = await apply({ ...minaText, receivedAt: '2026-03-14T01:00:30.000Z' });
    expect(outcome).toEqual({ kind: 'stored', threadId: pointer!.threadId, messageId: pointer!.messageId });
    expect((await messagesOf(pointer!.threadId)).map((m) => m.id)).toEqual([pointer!.messageId]);
    expect((await threadOf(pointer!.threadId))?.unread).toBe(1);
  });

  it('between the message and the thread: the redelivery counts it, once', async () => {
    let failed = false;
    const crashing = interceptCommits(h.store, (writes) => {
      if (!failed && writes.some((w) => w.kind === 'thread' && w.op === 'put' && w.version !== NEW_RECORD)) {
        failed = true;
        throw new Error('Lambda timed out');
      }
    });
    await expect(apply(minaText, { store: crashing })).rejects.toThrow('Lambda timed out');
    const { threadId } = stored(await apply(minaText));
    expect((await threadOf(threadId))?.unread).toBe(1);
    expect((await threadOf(threadId))?.lastCustomerMessageAt).toBe(minaText.occurredAt);
    await apply(minaText);
    expect((await threadOf(threadId))?.unread).toBe(1);
  });
});

describe('edits', () => {
  it('of a stored message: replaces the content, keeps the old one in its history, never adds a message', async () => {
    const { threadId, messageId } = stored(await apply(messengerText));
    const outcome = await apply(messengerEdit);
    expect(outcome).toEqual({ kind: 'updated', threadId, messageId });
    const [message, ...others] = await messagesOf(threadId);
    expect(others).toEqual([]);
    expect(message).toMatchObject({
      content: messengerEdit.content,
      occurredAt: messengerText.occurredAt,
      editedAt: messengerEdit.editedAt,
      history: [{ content: messengerText.content, replacedAt: messengerEdit.editedAt }],
    });
    const edited = await h.eventsOf('message.edited');
    expect(edited).toHaveLength(1);
    expect(edited[0]).toMatchObject({
      createdAt: messengerEdit.editedAt,
      data: { threadId, message: { id: messageId, content: messengerEdit.content } },
    });
    // Still one unread message.
    expect((await threadOf(threadId))?.unread).toBe(1);
  });

  it('applied again, or an older edit arriving late, changes nothing', async () => {
    const { threadId } = stored(await apply(messengerText));
    await apply(messengerEdit);
    expect(await apply(messengerEdit)).toEqual({ kind: 'unchanged', reason: 'a later edit is already stored' });
    const older = { ...messengerEdit, editedAt: '2026-03-14T00:31:00.000Z', content: { type: 'text' as const, text: 'an older wording' } };
    expect((await apply(older)).kind).toBe('unchanged');
    const [message] = await messagesOf(threadId);
    expect(message?.content).toEqual(messengerEdit.content);
    expect(message?.history).toHaveLength(1);
    expect(await h.eventsOf('message.edited')).toHaveLength(1);
  });

  it('of a message never seen: stores it as edited, and the original arriving late does not undo the edit', async () => {
    const outcome = await apply(messengerEdit);
    const { threadId, messageId } = stored(outcome);
    expect(outcome.kind).toBe('stored');
    expect(await messagesOf(threadId)).toEqual([
      expect.objectContaining({
        id: idOf(messengerEdit),
        content: messengerEdit.content,
        occurredAt: messengerEdit.occurredAt,
        editedAt: messengerEdit.editedAt,
        status: 'received',
      }),
    ]);
    expect((await messagesOf(threadId))[0]).not.toHaveProperty('history');
    expect((await h.eventsOf('message.received')).map((e) => e.type === 'message.received' && e.data.message.id)).toEqual([messageId]);

    expect(await apply(messengerText)).toEqual({ kind: 'duplicate', threadId, messageId });
    expect((await messagesOf(threadId)).map((m) => m.content)).toEqual([messengerEdit.content]);
    expect((await threadOf(threadId))?.unread).toBe(1);
  });

  it('racing its original: the original is stored once and the edit applied to it', async () => {
    let raced = false;
    const racing = interceptCommits(h.store, async (writes) => {
      if (raced || !writes.some((w) => w.kind === 'message')) return;
      raced = true;
      // The original lands between the edit's pointer and its message.
      await apply(messengerText);
    });
    const outcome = await apply(messengerEdit, { store: racing });
    expect(outcome).toEqual({ kind: 'updated', threadId: expect.any(String), messageId: idOf(messengerEdit) });
    const messages = await messagesOf(stored(outcome).threadId);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      content: messengerEdit.content,
      history: [{ content: messengerText.content, replacedAt: messengerEdit.editedAt }],
    });
    expect((await threadOf(stored(outcome).threadId))?.unread).toBe(1);
  });

  it('of a message whose pointer was written by a writer that then stopped: stored under that id, as edited', async () => {
    let failed = false;
    const crashing = interceptCommits(h.store, (writes) => {
      if (!failed && writes.some((w) => w.kind === 'message')) {
        failed = true;
        throw new Error('throttled');
      }
    });
    await expect(apply(minaText, { store: crashing })).rejects.toThrow('throttled');
    const editOfIt = { ...minaEdit, externalMessageId: minaText.externalMessageId };
    const outcome = await apply(editOfIt);
    expect(outcome).toMatchObject({ kind: 'stored', messageId: idOf(minaText) });
    expect((await messagesOf(stored(outcome).threadId)).map((m) => [m.content, m.editedAt])).toEqual([
      [minaEdit.content, minaEdit.editedAt],
    ]);
  });
});

describe('statuses of outbound messages', () => {
  it('move the message forward and record message.status with message.sent or message.failed', async () => {
    const { threadId } = stored(await apply(sheenaFirst));
    const reply = await storeReply(threadId, 'msg_reply', {
      channel: 'whatsapp',
      accountId: sentDelivered.accountId,
      externalId: sentDelivered.externalMessageId,
      status: 'queued',
    });

    expect(await apply(sentDelivered)).toEqual({ kind: 'updated', threadId, messageId: reply.id });
    const delivered = fixtureEvent('whatsapp', 'statuses-sent-delivered-read', 'message.status', 1);
    await apply(delivered);
    expect((await h.store.getMessage(threadId, reply.id))?.value.status).toBe('delivered');
    const statuses = await h.eventsOf('message.status', 'message.sent', 'message.failed');
    const messageOf = (e: (typeof statuses)[number]) => (e.data as { message: { status: string } }).message.status;
    expect(
      statuses.map((e) => [e.type, e.createdAt, e.type === 'message.status' ? [e.data.previousStatus, e.data.status] : messageOf(e)]),
    ).toEqual([
      ['message.status', sentDelivered.occurredAt, ['queued', 'sent']],
      ['message.sent', sentDelivered.occurredAt, 'sent'],
      ['message.status', delivered.occurredAt, ['sent', 'delivered']],
    ]);
  });

  it("a failure report records the provider's code and message as a permanent failure", async () => {
    const { threadId } = stored(await apply(sheenaFirst));
    await storeReply(threadId, 'msg_failing', {
      channel: 'whatsapp',
      accountId: whatsappFailed.accountId,
      externalId: whatsappFailed.externalMessageId,
    });
    await apply(whatsappFailed);
    expect((await h.store.getMessage(threadId, 'msg_failing'))?.value).toMatchObject({
      status: 'failed',
      failure: { kind: 'permanent', code: '131047', message: whatsappFailed.error?.message },
    });
    expect((await h.eventsOf('message.failed')).map((e) => e.createdAt)).toEqual([whatsappFailed.occurredAt]);
  });

  it('a status already reached or passed costs a read, not a write', async () => {
    const { threadId } = stored(await apply(sheenaFirst));
    await storeReply(threadId, 'msg_read', {
      channel: 'whatsapp',
      accountId: sentDelivered.accountId,
      externalId: sentDelivered.externalMessageId,
      status: 'read',
    });
    const before = await h.store.getMessage(threadId, 'msg_read');
    const recordsBefore = (await h.records()).length;
    expect(await apply(sentDelivered)).toEqual({ kind: 'unchanged', reason: 'already at or past sent' });
    expect(await h.store.getMessage(threadId, 'msg_read')).toEqual(before);
    expect((await h.records()).length).toBe(recordsBefore);
  });

  it('for a message not (yet) known: retried while young, then taken for one sent outside Parley', async () => {
    // Received at 01:00:00; the clock says 01:00:00 too.
    await expect(apply(sentDelivered)).rejects.toThrow(/not \(yet\) a known message; retrying/);
    h.clock.set('2026-03-14T01:01:59.999Z');
    await expect(apply(sentDelivered)).rejects.toThrow(/retrying/);
    h.clock.set('2026-03-14T01:02:00.000Z');
    const log = captureLog();
    expect(await apply(sentDelivered, { log })).toEqual({ kind: 'skipped', reason: 'unknown message' });
    expect(log.entries).toEqual([
      {
        level: 'info',
        message: 'status for an unknown message',
        extra: { channel: 'whatsapp', externalMessageId: sentDelivered.externalMessageId },
      },
    ]);
    expect(await h.records()).toEqual([]);
  });

  it('for a message that expired meanwhile: skipped', async () => {
    const { threadId } = stored(await apply(sheenaFirst));
    await storeReply(threadId, 'msg_old', {
      channel: 'whatsapp',
      accountId: sentDelivered.accountId,
      externalId: sentDelivered.externalMessageId,
      expiresAt: '2026-03-14T00:59:00.000Z',
    });
    expect(await apply(sentDelivered)).toEqual({ kind: 'skipped', reason: 'the message no longer exists' });
  });

  it("never apply to a customer's message", async () => {
    const { threadId, messageId } = stored(await apply(messengerText));
    const report: MessageStatusEvent = { ...messengerDelivered, externalMessageId: messengerText.externalMessageId, status: 'read' };
    expect((await apply(report)).kind).toBe('unchanged');
    expect((await h.store.getMessage(threadId, messageId))?.value.status).toBe('received');
  });
});

describe('echoes of messages the business sent', () => {
  it("from the provider's own app: stored as the agent's, answering the customer, without a delivery", async () => {
    const { threadId } = stored(await apply(sheenaFirst));
    const outcome = await apply(whatsappEcho);
    expect(outcome).toMatchObject({ kind: 'stored', threadId });
    const echo = (await messagesOf(threadId)).find((m) => m.direction === 'outbound');
    expect(echo).toMatchObject({
      id: idOf(whatsappEcho),
      status: 'sent',
      author: { role: 'agent', externalUserId: '15550783881' },
      content: whatsappEcho.content,
    });
    expect(echo?.author).not.toHaveProperty('id');
    expect(await threadOf(threadId)).toMatchObject({
      unread: 0,
      lastAgentMessageAt: whatsappEcho.occurredAt,
      firstResponseAt: whatsappEcho.occurredAt,
      lastMessageAt: whatsappEcho.occurredAt,
    });
    expect((await h.eventsOf('message.created')).map((e) => e.type === 'message.created' && e.data.message.status)).toEqual(['sent']);
    // Delivered again: nothing more.
    expect((await apply(whatsappEcho)).kind).toBe('duplicate');
    expect(await messagesOf(threadId)).toHaveLength(2);
  });

  it("of Parley's own reply, before the sender recorded the send: lands on that reply", async () => {
    const { threadId } = stored(await apply(messengerText));
    const replyId = messengerEcho.originMessageId!;
    await storeReply(threadId, replyId, {
      channel: 'messenger',
      accountId: messengerEcho.accountId,
      status: 'queued',
      content: messengerEcho.content,
    });

    const outcome = await apply(messengerEcho);
    expect(outcome).toEqual({ kind: 'duplicate', threadId, messageId: replyId });
    expect((await messagesOf(threadId)).map((m) => m.id)).toEqual([idOf(messengerText), replyId]);
    expect(await h.store.getPointer('messenger', messengerEcho.accountId, messengerEcho.externalMessageId)).toMatchObject({
      threadId,
      messageId: replyId,
    });
    expect(await h.eventsOf('message.created')).toEqual([]);

    // Its delivery report now finds it.
    await apply(messengerDelivered);
    expect((await h.store.getMessage(threadId, replyId))?.value.status).toBe('delivered');
  });

  it("of Parley's own reply whose send was recorded: a duplicate", async () => {
    const { threadId } = stored(await apply(messengerText));
    await storeReply(threadId, 'msg_recorded', {
      channel: 'messenger',
      accountId: messengerEcho.accountId,
      externalId: messengerEcho.externalMessageId,
    });
    expect(await apply({ ...messengerEcho, originMessageId: undefined } as MessageReceivedEvent)).toEqual({
      kind: 'duplicate',
      threadId,
      messageId: 'msg_recorded',
    });
    expect(await messagesOf(threadId)).toHaveLength(2);
  });
});

describe('groups', () => {
  it("keep one thread for the group, each member the author of their messages and a participant of the group's thread", async () => {
    const first = stored(await apply(groupFirst));
    const second = stored(await apply(groupSecond));
    expect(second.threadId).toBe(first.threadId);
    expect((await messagesOf(first.threadId)).map((m) => m.author)).toEqual([
      { role: 'customer', externalUserId: '5550101234', displayName: 'Mina Park' },
      { role: 'customer', externalUserId: '5550105678', displayName: 'Haruto' },
    ]);
    expect((await messagesOf(first.threadId))[1]?.replyTo).toEqual({ externalMessageId: '-1001987654321:4401' });
    const identity = await identityOf(groupFirst);
    expect(identity).toMatchObject({ externalUserId: '-1001987654321', kind: 'group', displayName: 'ACME Wholesale Buyers' });
    // A group's contact is no person: it carries no name of its own.
    expect((await h.store.getContact(identity!.contactId))?.value).not.toHaveProperty('name');
    expect(await h.store.listParticipantThreads('telegram', '5550101234')).toEqual([first.threadId]);
    expect(await h.store.listParticipantThreads('telegram', '5550105678')).toEqual([first.threadId]);
    expect(await h.store.listParticipantThreads('telegram', '-1001987654321')).toEqual([first.threadId]);
  });

  it("are apart from a member's direct thread, which lists both", async () => {
    const direct = stored(await apply(minaText));
    const group = stored(await apply(groupFirst));
    expect(group.threadId).not.toBe(direct.threadId);
    expect((await h.store.listParticipantThreads('telegram', '5550101234')).sort()).toEqual([direct.threadId, group.threadId].sort());
    // A member writing again records nothing new.
    await apply({ ...groupFirst, externalMessageId: '-1001987654321:4403', eventId: 'evt_again' });
    expect((await h.store.listParticipantThreads('telegram', '5550101234')).sort()).toEqual([direct.threadId, group.threadId].sort());
  });
});

describe('unreachable customers', () => {
  const harutoDirect: MessageReceivedEvent = {
    ...minaText,
    eventId: 'evt_haruto_1',
    externalMessageId: '5550105678:77',
    occurredAt: '2026-03-14T00:20:00.000Z',
    sender: { externalUserId: '5550105678', displayName: 'Haruto' },
    conversation: { externalId: '5550105678', kind: 'direct' },
  };

  it('are marked, on the identity and its contact, with channel.identity.unreachable recorded once', async () => {
    await apply(harutoDirect);
    expect(await apply(harutoBlocked)).toEqual({ kind: 'unchanged', reason: 'identity marked unreachable' });
    const identity = await identityOf(harutoDirect);
    expect(identity?.unreachable).toEqual({ reason: 'blocked the bot', since: harutoBlocked.occurredAt });
    const contact = (await h.store.getContact(identity!.contactId))?.value;
    expect(contact?.identities[0]?.unreachable).toEqual({ reason: 'blocked the bot', since: harutoBlocked.occurredAt });

    expect(await apply(harutoBlocked)).toEqual({ kind: 'unchanged', reason: 'already unreachable' });
    expect(await apply({ ...harutoBlocked, occurredAt: '2026-03-14T00:50:00.000Z' })).toEqual({
      kind: 'unchanged',
      reason: 'already unreachable',
    });
    const events = await h.eventsOf('channel.identity.unreachable');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      createdAt: harutoBlocked.occurredAt,
      data: {
        contactId: identity!.contactId,
        identity: { channel: 'telegram', accountId: '7712345678', externalUserId: '5550105678' },
        reason: 'blocked the bot',
      },
    });
  });

  it('keep the earliest report', async () => {
    await apply(harutoDirect);
    await apply({ ...harutoBlocked, occurredAt: '2026-03-14T00:50:00.000Z' });
    await apply(harutoBlocked);
    expect((await identityOf(harutoDirect))?.unreachable?.since).toBe(harutoBlocked.occurredAt);
  });

  it('are reachable again once they write after the block, not for a message from before it', async () => {
    await apply(harutoDirect);
    await apply(harutoBlocked);
    await apply({ ...harutoDirect, eventId: 'evt_h2', externalMessageId: '5550105678:78', occurredAt: '2026-03-14T00:30:00.000Z' });
    expect((await identityOf(harutoDirect))?.unreachable).toBeDefined();
    await apply({ ...harutoDirect, eventId: 'evt_h3', externalMessageId: '5550105678:79', occurredAt: '2026-03-14T00:40:00.000Z' });
    expect(await identityOf(harutoDirect)).not.toHaveProperty('unreachable');
    const contact = (await h.store.getContact((await identityOf(harutoDirect))!.contactId))?.value;
    expect(contact?.identities[0]).not.toHaveProperty('unreachable');
  });

  it("stay unreachable when the business's own message is echoed", async () => {
    await apply(harutoDirect);
    await apply(harutoBlocked);
    const echo: MessageReceivedEvent = {
      ...harutoDirect,
      eventId: 'evt_echo',
      direction: 'outbound',
      externalMessageId: '5550105678:80',
      occurredAt: '2026-03-14T00:40:00.000Z',
      sender: { externalUserId: '7712345678' },
    };
    await apply(echo);
    expect((await identityOf(harutoDirect))?.unreachable?.reason).toBe('blocked the bot');
  });

  it('that Parley never met are skipped', async () => {
    expect(await apply(harutoBlocked)).toEqual({ kind: 'skipped', reason: 'unknown identity' });
    expect(await h.records()).toEqual([]);
  });
});

describe('a verified phone number', () => {
  const verified = (event: MessageReceivedEvent, phone: string): MessageReceivedEvent => ({
    ...event,
    sender: { ...event.sender, verifiedPhone: phone },
  });

  it("joins the other number's identity to the contact that has it verified", async () => {
    const first = stored(await apply(verified(sheenaFirst, '+1 (650) 555-1234')));
    const contactId = (await identityOf(sheenaFirst))!.contactId;
    expect((await h.store.getContact(contactId))?.value).toMatchObject({ phone: '+16505551234', phoneVerified: true });
    expect((await identityOf(sheenaFirst))?.verifiedPhone).toBe('+16505551234');

    const second = stored(await apply(verified(sheenaOtherNumber, '+16505551234')));
    expect(second.threadId).toBe(first.threadId);
    const joined = await identityOf(sheenaOtherNumber);
    expect(joined).toMatchObject({ contactId, threadId: first.threadId, link: { reason: 'verified_phone', by: { type: 'system' } } });
    const contact = (await h.store.getContact(contactId))?.value;
    expect(contact?.identities.map((i) => [i.accountId, i.link.reason])).toEqual([
      ['106540352242922', 'first_contact'],
      ['109876543210987', 'verified_phone'],
    ]);
    // One route per channel: replies go out through the number she wrote to last.
    expect((await threadOf(first.threadId))?.routes.map((r) => [r.channel, r.accountId])).toEqual([['whatsapp', '109876543210987']]);
    expect((await threadOf(first.threadId))?.unread).toBe(2);
    expect(await h.store.listParticipantThreads('whatsapp', '16505551234')).toEqual([first.threadId]);
    expect(await h.eventsOf('contact.created')).toHaveLength(1);
    const linked = await h.eventsOf('identity.linked');
    expect(linked).toHaveLength(1);
    expect(linked[0]).toMatchObject({
      data: {
        contactId,
        identity: { channel: 'whatsapp', accountId: '109876543210987', externalUserId: '16505551234' },
        reason: 'verified_phone',
        by: { type: 'system' },
      },
    });
    expect((await h.eventsOf('contact.updated')).map((e) => e.type === 'contact.updated' && e.data.changes)).toEqual([['identities']]);
  });

  it('does not join a contact that has the number unverified (set through the API)', async () => {
    const other = stored(await apply(lineText));
    const lineContact = (await identityOf(lineText))!.contactId;
    await updateProfile(h.store, lineContact, { phone: '+16505551234' }, '2026-03-14T00:50:00.000Z');
    const sheena = stored(await apply(verified(sheenaFirst, '+16505551234')));
    expect(sheena.threadId).not.toBe(other.threadId);
    // Sheena's own contact has it verified: her other number joins hers, not the LINE contact.
    expect(stored(await apply(verified(sheenaOtherNumber, '+16505551234'))).threadId).toBe(sheena.threadId);
  });

  it('that is no phone number is ignored', async () => {
    const { identity } = await resolveIdentity(
      h.store,
      { channel: 'whatsapp', accountId: '556', externalUserId: 'x2', kind: 'direct', verifiedPhone: 'not a phone' },
      '2026-03-14T02:00:00.000Z',
    );
    expect(identity.value).not.toHaveProperty('verifiedPhone');
    expect((await h.store.getContact(identity.value.contactId))?.value).not.toHaveProperty('phone');
  });

  it('with two contacts verified on the same number, starts a contact of its own', async () => {
    const a = await resolveIdentity(
      h.store,
      { channel: 'whatsapp', accountId: 'A', externalUserId: '1', kind: 'direct', verifiedPhone: '+16505551234' },
      '2026-03-14T00:00:00.000Z',
    );
    const b = await resolveIdentity(
      h.store,
      { channel: 'telegram', accountId: 'B', externalUserId: '2', kind: 'direct', verifiedPhone: '+16505551234' },
      '2026-03-14T00:00:01.000Z',
    );
    expect(b.identity.value.contactId).toBe(a.identity.value.contactId);
    // Make a second verified owner by hand (two contacts verified before the rule existed).
    const twin = await resolveIdentity(
      h.store,
      { channel: 'line', accountId: 'C', externalUserId: '3', kind: 'direct' },
      '2026-03-14T00:00:02.000Z',
    );
    const twinContact = await h.store.getContact(twin.identity.value.contactId);
    await h.store.commit([
      {
        kind: 'contact',
        op: 'put',
        value: { ...twinContact!.value, phone: '+16505551234', phoneVerified: true },
        version: twinContact!.version,
      },
    ]);
    const third = await resolveIdentity(
      h.store,
      { channel: 'whatsapp', accountId: 'D', externalUserId: '4', kind: 'direct', verifiedPhone: '16505551234' },
      '2026-03-14T00:00:03.000Z',
    );
    expect(third.created).toBe(true);
    expect([a.identity.value.contactId, twin.identity.value.contactId]).not.toContain(third.identity.value.contactId);
    expect((await h.store.getContact(third.identity.value.contactId))?.value).toMatchObject({ phone: '+16505551234', phoneVerified: true });
  });

  it('of a group conversation is not taken for the group', async () => {
    const group = { ...groupFirst, sender: { ...groupFirst.sender, verifiedPhone: '+821055501234' } };
    stored(await apply(group));
    const identity = await identityOf(groupFirst);
    expect(identity).not.toHaveProperty('verifiedPhone');
    expect((await h.store.getContact(identity!.contactId))?.value).not.toHaveProperty('phone');
  });
});

describe('resolveIdentity', () => {
  it('returns an identity as it is when nothing about it changed', async () => {
    const created = await resolveIdentity(
      h.store,
      { channel: 'line', accountId: 'U1', externalUserId: 'Ua', kind: 'direct', displayName: 'Ann' },
      '2026-03-14T00:00:00.000Z',
    );
    expect(created).toMatchObject({ created: true, identity: { version: 1 } });
    const again = await resolveIdentity(
      h.store,
      { channel: 'line', accountId: 'U1', externalUserId: 'Ua', kind: 'direct' },
      '2026-03-14T01:00:00.000Z',
    );
    expect(again).toEqual({ created: false, identity: created.identity });
    const renamed = await resolveIdentity(
      h.store,
      { channel: 'line', accountId: 'U1', externalUserId: 'Ua', kind: 'direct', displayName: 'Ann Lee' },
      '2026-03-14T01:00:00.000Z',
    );
    expect(renamed).toEqual({ created: false, identity: { version: 2, value: { ...created.identity.value, displayName: 'Ann Lee' } } });
    expect(await h.store.getIdentity({ channel: 'line', accountId: 'U1', externalUserId: 'Ua' })).toEqual(renamed.identity);
    // The contact's entry follows; its updatedAt does not move for a provider's rename.
    const contact = (await h.store.getContact(created.identity.value.contactId))?.value;
    expect(contact?.identities[0]?.displayName).toBe('Ann Lee');
    expect(contact?.updatedAt).toBe('2026-03-14T00:00:00.000Z');
  });
});

describe('normalizePhone', () => {
  it('keeps + and digits, and refuses what is no E.164 number', () => {
    expect(normalizePhone('+1 (650) 555-1234')).toBe('+16505551234');
    expect(normalizePhone('16505551234')).toBe('+16505551234');
    expect(normalizePhone('+82.10.5550.1234')).toBe('+821055501234');
    expect(normalizePhone('+0123456789')).toBeUndefined();
    expect(normalizePhone('+12345')).toBeUndefined();
    expect(normalizePhone('+123456')).toBe('+123456');
    expect(normalizePhone('+1234567890123456')).toBeUndefined();
    expect(normalizePhone('+123456789012345')).toBe('+123456789012345');
    expect(normalizePhone('call me')).toBeUndefined();
    expect(normalizePhone('+1650555x1234')).toBeUndefined();
  });
});

describe('a broken thread chain', () => {
  it('is reported, not written around: a missing thread, and threads merged into each other', async () => {
    const { threadId } = stored(await apply(minaText));
    const thread = await h.store.getThread(threadId);
    await h.store.commit([{ kind: 'thread', op: 'delete', key: { id: threadId }, version: thread!.version }]);
    await expect(apply(minaPhoto)).rejects.toThrow(`thread ${threadId} does not exist`);

    const line = stored(await apply(lineText));
    const lineThread = await h.store.getThread(line.threadId);
    const other = newThread('th_other', 'ct_other', '2026-03-14T00:00:00.000Z');
    await h.store.commit([
      { kind: 'thread', op: 'put', value: { ...other, mergedInto: line.threadId }, version: NEW_RECORD },
      { kind: 'thread', op: 'put', value: { ...lineThread!.value, mergedInto: 'th_other' }, version: lineThread!.version },
    ]);
    await expect(apply({ ...lineText, eventId: 'evt_2', externalMessageId: '546813200148215810' })).rejects.toThrow(
      `thread ${line.threadId} is merged in a loop`,
    );
  });
});

describe('provider actions', () => {
  it('are left to the outbound sender', async () => {
    const action = fixtureEvent('telegram', 'callback-query', 'provider.action.requested', 1);
    expect(await apply(action)).toEqual({ kind: 'skipped', reason: 'provider actions are carried out by the outbound sender' });
    expect(await h.records()).toEqual([]);
  });
});
