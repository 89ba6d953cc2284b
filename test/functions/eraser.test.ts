/**
 * The eraser Lambda on the real store: the `contact.erased` event the outbox relay published (as the bus rule
 * delivers it) starts the erasure of the contact's messages, and of the threads merged into its thread, one
 * page per job, each page's job queueing the next.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { capabilitiesOf } from '../../connectors/capabilities.ts';
import { eraseContact, mergeContacts } from '../../domain/conversations/contacts.ts';
import { ERASED_CONTENT } from '../../domain/conversations/erasure.ts';
import { applyEvent } from '../../domain/conversations/inbound.ts';
import type { MessageReceivedEvent } from '../../domain/events.ts';
import { create } from '../../functions/eraser.ts';
import { localContext } from '../../functions/kit/handler.ts';
import { memoryMetrics } from '../../functions/kit/observability.ts';
import { captureLog, fixtureEvent, startConversations, type ConversationHarness } from '../helpers/conversations.ts';
import { sqsEvent } from '../helpers/lambda-events.ts';
import { MemoryMediaStore } from '../helpers/memory-media-store.ts';

let h: ConversationHarness;
beforeEach(async () => {
  h = await startConversations();
});
afterEach(() => h.stop());

const OPS = { type: 'api_key' as const, id: 'key_ops' };
const minaText = fixtureEvent('telegram', 'private-text-entities', 'message.received');
const sheena = fixtureEvent('whatsapp', 'batch-two-numbers', 'message.received', 0);

const write = (event: MessageReceivedEvent) =>
  applyEvent(event, { store: h.store, log: captureLog(), clock: h.clock, capabilities: capabilitiesOf });
const identityOf = async (event: MessageReceivedEvent) =>
  (await h.store.getIdentity({ channel: event.channel, accountId: event.accountId, externalUserId: event.conversation.externalId }))!.value;

const eraser = () => {
  const queued: unknown[] = [];
  const log = captureLog();
  const handler = create({
    conversations: h.store,
    media: new MemoryMediaStore(),
    clock: h.clock,
    observability: { log, metrics: memoryMetrics(), middlewares: [] },
    queue: (name) => ({
      send: async (message) => {
        if (name !== 'erasure') throw new Error(`no queue ${name} for the eraser`);
        queued.push(message);
      },
    }),
  });
  return { queued, log, run: (bodies: unknown[]) => handler(sqsEvent(bodies), localContext('eraser')) };
};

/** Mina (Telegram, `count` messages) with Sheena (WhatsApp) merged into her, then erased. */
const erased = async (count = 3) => {
  await write(minaText);
  for (let n = 1; n < count; n++) {
    await write({
      ...minaText,
      eventId: `evt_${n}`,
      externalMessageId: `5550101234:${2000 + n}`,
      occurredAt: new Date(Date.parse(minaText.occurredAt) + n * 1000).toISOString(),
    });
  }
  await write(sheena);
  const mina = await identityOf(minaText);
  const other = await identityOf(sheena);
  await mergeContacts(h.store, mina.contactId, other.contactId, 'same person', OPS, '2026-03-14T02:00:00.000Z');
  await eraseContact(h.store, mina.contactId, OPS, '2026-03-14T03:00:00.000Z');
  const [event] = await h.eventsOf('contact.erased');
  return { event: event!, mina, other };
};

const messagesOf = async (threadIds: string[]) => (await h.store.listMessages(threadIds, 100)).items;

describe('the eraser function', () => {
  it('erases the first page on contact.erased and queues the next, which erases the rest, across the merged thread', async () => {
    const { event, mina, other } = await erased(60);
    const { run, queued } = eraser();
    expect(await run([event])).toEqual({ batchItemFailures: [] });
    expect(queued).toEqual([
      { kind: 'erase-messages', contactId: mina.contactId, threadIds: [mina.threadId, other.threadId], cursor: expect.any(String) },
    ]);
    const afterFirst = await messagesOf([mina.threadId, other.threadId]);
    expect(afterFirst.filter((m) => m.content.type === ERASED_CONTENT.type)).toHaveLength(50);

    const next = eraser();
    expect(await next.run([queued[0]])).toEqual({ batchItemFailures: [] });
    expect(next.queued).toEqual([]);
    const all = await messagesOf([mina.threadId, other.threadId]);
    expect(all).toHaveLength(61);
    expect(all.every((m) => m.content.type === 'unsupported' && m.author.externalUserId === undefined)).toBe(true);
    expect(next.log.entries.at(-1)).toEqual({
      level: 'info',
      message: 'messages erased',
      extra: { contactId: mina.contactId, count: 11, more: false },
    });
  });

  it('takes the event redriven as a whole EventBridge event too', async () => {
    const { event, mina, other } = await erased();
    const { run, queued } = eraser();
    expect(await run([{ version: '0', 'detail-type': 'contact.erased', source: 'parley.domain', detail: event }])).toEqual({
      batchItemFailures: [],
    });
    // One page was all there was.
    expect(queued).toEqual([]);
    expect((await messagesOf([mina.threadId, other.threadId])).map((m) => m.content)).toEqual(
      Array.from({ length: 4 }, () => ERASED_CONTENT),
    );
  });

  it('does nothing for a contact that does not exist', async () => {
    const { event } = await erased();
    const { run, queued } = eraser();
    const unknown = { ...event, data: { ...(event.data as object), contactId: 'ct_unknown' } };
    expect(await run([unknown])).toEqual({ batchItemFailures: [] });
    expect(queued).toEqual([]);
  });

  it('fails a record that is neither the event nor a job, for the dead-letter queue', async () => {
    const { run } = eraser();
    expect(
      (await run(['not json', { kind: 'erase-messages', contactId: 'c', threadIds: [] }, { type: 'contact.updated' }])).batchItemFailures,
    ).toEqual([{ itemIdentifier: 'm0' }, { itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }]);
  });
});
