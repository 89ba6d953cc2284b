/**
 * The thread writer Lambda on the real store: SQS batches of connector events (the fixtures' normalized
 * events, as the bus rule delivers them) handled by Powertools' batch processor, one conversation's records in
 * order, a failed record failing only the later records of its conversation.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConversationStore } from '../../domain/conversations/ports.ts';
import type { ParleyEvent } from '../../domain/events.ts';
import { create, orderingKey } from '../../functions/thread-writer.ts';
import { localContext } from '../../functions/kit/handler.ts';
import { memoryMetrics } from '../../functions/kit/observability.ts';
import { captureLog, fixtureEvent, interceptCommits, startConversations, type ConversationHarness } from '../helpers/conversations.ts';
import { sqsEvent } from '../helpers/lambda-events.ts';

let h: ConversationHarness;
beforeEach(async () => {
  h = await startConversations();
});
afterEach(() => h.stop());

const minaText = fixtureEvent('telegram', 'private-text-entities', 'message.received');
const minaPhoto = fixtureEvent('telegram', 'photo-caption', 'message.received');
const minaEdit = fixtureEvent('telegram', 'edited-message', 'message.edited');
const sheena = fixtureEvent('whatsapp', 'batch-two-numbers', 'message.received', 0);
const ana = fixtureEvent('whatsapp', 'batch-two-numbers', 'message.received', 1);
const echo = fixtureEvent('whatsapp', 'echo-coexistence', 'message.received');
const statusRead = fixtureEvent('whatsapp', 'batch-two-numbers', 'message.status', 2);
const blocked = fixtureEvent('telegram', 'my-chat-member-kicked', 'identity.unreachable');
const tap = fixtureEvent('telegram', 'callback-query', 'provider.action.requested', 1);

const writer = (store: ConversationStore = h.store) => {
  const metrics = memoryMetrics();
  const log = captureLog();
  const handler = create({ conversations: store, clock: h.clock, observability: { log, metrics, middlewares: [] } });
  return {
    handler,
    metrics,
    log,
    run: (bodies: unknown[]) => handler(sqsEvent(bodies, { sentAt: Date.now() - 1500 }), localContext('thread-writer')),
  };
};

/** The provider message ids of a conversation's thread, in the thread's order. */
const threadOf = async (event: Extract<ParleyEvent, { conversation: unknown }>) => {
  const identity = await h.store.getIdentity({
    channel: event.channel,
    accountId: event.accountId,
    externalUserId: event.conversation.externalId,
  });
  if (!identity) return [];
  return (await h.store.listMessages([identity.value.threadId], 50)).items.map((m) => m.externalId);
};

describe('the thread writer function', () => {
  it('writes each event, counts the customer messages it stored and how long the batch waited', async () => {
    const { run, metrics } = writer();
    const result = await run([minaText, sheena, echo, minaText, statusRead, tap]);
    // The read status names a message nobody sent through Parley (yet): retried, as young statuses are.
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm4' }] });
    expect(await threadOf(minaText)).toEqual([minaText.externalMessageId]);
    expect(await threadOf(sheena)).toEqual([sheena.externalMessageId, echo.externalMessageId]);
    // Stored customer messages only: not the duplicate, not the echo.
    expect(metrics.totals.get('MessagesReceived/telegram')).toBe(1);
    expect(metrics.totals.get('MessagesReceived/whatsapp')).toBe(1);
    expect(metrics.totals.get('QueueAge/inbound')).toBeGreaterThanOrEqual(1500);
  });

  it('logs each outcome with the correlation ids of the event', async () => {
    const { run, log } = writer();
    await run([minaText]);
    const applied = log.entries.find((e) => e.message === 'event applied');
    expect(applied?.extra).toMatchObject({
      eventId: minaText.eventId,
      providerEventId: minaText.providerEventId,
      channel: 'telegram',
      type: 'message.received',
      kind: 'stored',
      threadId: expect.stringMatching(/^th_/),
      messageId: expect.stringMatching(/^msg_/),
    });
  });

  it('fails only the records that are not v1 events; they go to the dead-letter queue', async () => {
    const { run, log } = writer();
    const result = await run([minaText, '{"not":"an event"}', 'not json', { ...sheena, schemaVersion: 2 }, ana]);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }, { itemIdentifier: 'm3' }]);
    expect(await threadOf(minaText)).toEqual([minaText.externalMessageId]);
    expect(await threadOf(ana)).toEqual([ana.externalMessageId]);
    expect(await threadOf(sheena)).toEqual([]);
    expect(log.entries.filter((e) => e.level === 'error').map((e) => e.extra?.['messageId'])).toEqual(['m1', 'm2', 'm3']);
  });

  it('applies an event redriven from a dead-letter queue as a whole EventBridge event', async () => {
    const envelope = { version: '0', id: 'x', 'detail-type': 'message.received', source: 'parley.connectors', detail: minaText };
    expect((await writer().run([envelope])).batchItemFailures).toEqual([]);
    expect(await threadOf(minaText)).toEqual([minaText.externalMessageId]);
  });

  it("applies one conversation's events in order, others alongside", async () => {
    const written: string[] = [];
    const recording = interceptCommits(h.store, (writes) => {
      for (const write of writes)
        if (write.kind === 'message' && write.op === 'put') written.push(`${write.value.externalId} ${write.value.editedAt ?? ''}`.trim());
    });
    const { run } = writer(recording);
    // The edit comes after its message: applied in this order, the message has the edited content.
    const edit = { ...minaEdit, externalMessageId: minaPhoto.externalMessageId };
    expect((await run([minaText, sheena, minaPhoto, ana, edit])).batchItemFailures).toEqual([]);
    const telegram = written.filter((w) => w.startsWith('5550101234'));
    expect(telegram).toEqual([
      minaText.externalMessageId,
      minaPhoto.externalMessageId,
      `${minaPhoto.externalMessageId} ${minaEdit.editedAt}`,
    ]);
    expect(await threadOf(minaText)).toEqual([minaText.externalMessageId, minaPhoto.externalMessageId]);
  });

  it("fails a failed record with its conversation's later records, and the other conversations not at all", async () => {
    let failOnce = true;
    const flaky = interceptCommits(h.store, (writes) => {
      if (failOnce && writes.some((w) => w.kind === 'message' && w.op === 'put' && w.value.externalId === minaPhoto.externalMessageId)) {
        failOnce = false;
        throw new Error('ProvisionedThroughputExceededException');
      }
    });
    const third = { ...minaPhoto, eventId: 'evt_third', externalMessageId: '5550101234:1203', occurredAt: '2026-03-14T00:28:00.000Z' };
    const { run, log } = writer(flaky);
    const first = await run([minaText, minaPhoto, sheena, third, ana]);
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }, { itemIdentifier: 'm3' }]);
    expect(await threadOf(minaText)).toEqual([minaText.externalMessageId]);
    expect(await threadOf(sheena)).toEqual([sheena.externalMessageId]);
    expect(await threadOf(ana)).toEqual([ana.externalMessageId]);
    expect(log.entries.filter((e) => e.level === 'error').map((e) => [e.message, e.extra?.['error']])).toEqual([
      ['event not applied; will be retried', 'ProvisionedThroughputExceededException'],
    ]);

    // SQS delivers the two again, in order.
    const retry = await run([minaPhoto, third]);
    expect(retry.batchItemFailures).toEqual([]);
    expect(await threadOf(minaText)).toEqual([minaText.externalMessageId, minaPhoto.externalMessageId, third.externalMessageId]);
  });

  it('takes every record failing for a failed batch, not an invocation error', async () => {
    const broken = interceptCommits(h.store, () => {
      throw new Error('table gone');
    });
    const result = await writer(broken).run([minaText, sheena]);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }, { itemIdentifier: 'm1' }]);
  });
});

describe('orderingKey', () => {
  it('keys a conversation by channel, account and conversation, an identity by its id, and statuses and actions each on their own', () => {
    expect(orderingKey(minaText)).toBe('telegram/7712345678/5550101234');
    expect(orderingKey(minaEdit)).toBe('telegram/7712345678/5550101234');
    expect(orderingKey(blocked)).toBe('telegram/7712345678/5550105678');
    expect(orderingKey(statusRead)).toBe(`whatsapp/106540352242922/${statusRead.eventId}`);
    expect(orderingKey(tap)).toBe(`telegram/7712345678/${tap.eventId}`);
  });
});
