/**
 * The sender (domain/delivery/outbound.ts) on the real store with the real Telegram and LINE connectors talking
 * to local fakes of their APIs: a reply is sent once, whatever the queue redelivers; an accepted send is never
 * sent again, even when recording it fails; failures are retried, postponed or recorded with their reason and
 * events, and a redriven or retried message goes out again.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalSecretStore } from '../../adapters/local/local-secrets.ts';
import { capabilitiesOf } from '../../connectors/capabilities.ts';
import { lineConnector } from '../../connectors/line/index.ts';
import { messengerConnector } from '../../connectors/messenger/index.ts';
import { telegramConnector } from '../../connectors/telegram/index.ts';
import { whatsappConnector } from '../../connectors/whatsapp/index.ts';
import type { OutboundConnector } from '../../domain/connector.ts';
import type { Channel, Content } from '../../domain/content.ts';
import { mergeContacts } from '../../domain/conversations/contacts.ts';
import { applyEvent } from '../../domain/conversations/inbound.ts';
import type { StoredMessage } from '../../domain/conversations/ports.ts';
import { deliver, OutboundJobSchema, requeue, type Attempt, type OutboundDeps, type OutboundJob } from '../../domain/delivery/outbound.ts';
import type { MessageReceivedEvent, MessageStatusEvent, ParleyEvent } from '../../domain/events.ts';
import { onceEvent } from '../../domain/events/outbox.ts';
import { newMessageId } from '../../domain/message-ids.ts';
import { NEW_RECORD } from '../../domain/shared/store.ts';
import { startFakeLine, type FakeLine } from '../helpers/fake-line.ts';
import { startFakeGraph, type FakeGraph } from '../helpers/messenger-fake-graph.ts';
import { newThread } from '../../domain/conversations/threads.ts';
import { startFakeTelegram, type FakeTelegram } from '../helpers/fake-telegram.ts';
import { captureLog, fixtureEvent, interceptCommits, startConversations, type ConversationHarness } from '../helpers/conversations.ts';

const TOKEN = '7712345678:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0';
const LINE_BOT = 'U4af4980629c0a3b6b4f3c4d5e6f7a8b9';

let telegram: FakeTelegram;
let line: FakeLine;
let graph: FakeGraph;
beforeAll(async () => {
  telegram = await startFakeTelegram();
  line = await startFakeLine();
  graph = await startFakeGraph();
});
afterAll(async () => {
  await telegram.close();
  await line.close();
  await graph.close();
});

let h: ConversationHarness;
let log: ReturnType<typeof captureLog>;
let requeued: OutboundJob[];
let counted: [string, Channel][];
beforeEach(async () => {
  h = await startConversations();
  telegram.reset();
  line.reset();
  graph.reset();
  log = captureLog();
  requeued = [];
  counted = [];
});
afterEach(() => h.stop());

const secrets = new LocalSecretStore({
  telegram: { credentials: { webhookSecret: 'whs', botToken: TOKEN }, accountId: '7712345678' },
  line: { credentials: { channelSecret: 'lcs', channelAccessToken: 'line-token' }, accountId: LINE_BOT },
  messenger: {
    credentials: { appSecret: 'mas', verifyToken: 'mvt', pageAccessToken: 'EAApage', pageId: '106512345678901' },
    accountId: '106512345678901',
  },
});
const connectors: Partial<Record<Channel, OutboundConnector>> = {
  telegram: telegramConnector,
  line: lineConnector,
  messenger: messengerConnector,
  whatsapp: whatsappConnector,
};

const deps = (overrides: Partial<OutboundDeps> = {}): OutboundDeps => ({
  store: h.store,
  secrets,
  clock: h.clock,
  log,
  fetch: globalThis.fetch,
  apiBaseUrls: { telegram: telegram.baseUrl, line: line.baseUrl, messenger: graph.baseUrl },
  connectorFor: (channel) => connectors[channel],
  requeue: async (job) => void requeued.push(job),
  metrics: { count: (name, channel) => void counted.push([name, channel]) },
  ...overrides,
});
const attempt = (overrides: Partial<Attempt> = {}): Attempt => ({
  receiveCount: 1,
  maxReceiveCount: 5,
  claimToken: 'receipt-1',
  claimSeconds: 60,
  ...overrides,
});

const apply = (event: ParleyEvent) =>
  applyEvent(event, { store: h.store, log: captureLog(), clock: h.clock, capabilities: capabilitiesOf });
const minaText = fixtureEvent('telegram', 'private-text-entities', 'message.received');
const lineText = fixtureEvent('line', 'text', 'message.received');

/** The customer's thread, from their first message. */
const threadFor = async (event: MessageReceivedEvent): Promise<string> => {
  const outcome = await apply(event);
  if (outcome.kind !== 'stored') throw new Error('not stored');
  return outcome.threadId;
};

let replies = 0;
/** An agent's reply, stored as the API stores it: `queued`, with `message.created`. */
const queueReply = async (threadId: string, overrides: Partial<StoredMessage> = {}): Promise<StoredMessage> => {
  replies += 1;
  const at = h.clock.now();
  const thread = (await h.store.getThread(threadId))!.value;
  const route = thread.routes[0]!;
  const message: StoredMessage = {
    id: newMessageId(at, at, 'key_agent', `reply-${replies}`),
    threadId,
    contactId: thread.contactId,
    direction: 'outbound',
    channel: route.channel,
    accountId: route.accountId,
    occurredAt: at.toISOString(),
    author: { role: 'agent', id: 'key_agent' },
    content: { type: 'text', text: 'Your order A-1029 ships today.' },
    status: 'queued',
    ...overrides,
  };
  await h.store.commit([
    {
      kind: 'message',
      op: 'put',
      value: message,
      version: NEW_RECORD,
      events: [onceEvent('message.created', message.occurredAt, [threadId, message.id])],
    },
  ]);
  return message;
};
const jobOf = (message: StoredMessage): OutboundJob => ({
  kind: 'deliver',
  channel: message.channel,
  threadId: message.threadId,
  messageId: message.id,
});
const stored = async (message: StoredMessage) => (await h.store.getMessage(message.threadId, message.id))?.value;
const eventsAbout = async (message: StoredMessage) =>
  (await h.events()).filter((e) => 'message' in e.data && (e.data as { message: { id: string } }).message.id === message.id);

describe('delivering a reply', () => {
  it('sends it, records the provider id, points the id at it and records message.status and message.sent', async () => {
    const threadId = await threadFor(minaText);
    const reply = await queueReply(threadId);
    const outcome = await deliver(jobOf(reply), attempt(), deps());

    expect(outcome).toEqual({ kind: 'sent', externalIds: ['5550101234:5000'] });
    expect(telegram.calls).toEqual([
      {
        method: 'sendMessage',
        token: TOKEN,
        contentType: 'application/json',
        body: { chat_id: 5550101234, text: 'Your order A-1029 ships today.' },
      },
    ]);
    const { claim: _claim, ...unclaimed } = reply;
    expect(await stored(reply)).toEqual({
      ...unclaimed,
      status: 'sent',
      externalId: '5550101234:5000',
      externalIds: ['5550101234:5000'],
      acceptedAt: h.clock.iso(),
    });
    expect(await h.store.getPointer('telegram', '7712345678', '5550101234:5000')).toEqual({
      channel: 'telegram',
      accountId: '7712345678',
      externalId: '5550101234:5000',
      threadId,
      messageId: reply.id,
    });
    const events = await eventsAbout(reply);
    expect(events.map((e) => [e.type, e.createdAt])).toEqual([
      ['message.created', reply.occurredAt],
      ['message.status', h.clock.iso()],
      ['message.sent', h.clock.iso()],
    ]);
    expect(events[1]).toMatchObject({
      data: { status: 'sent', previousStatus: 'queued', message: { status: 'sent', externalId: '5550101234:5000' } },
    });
    expect(counted).toEqual([['MessagesSent', 'telegram']]);
  });

  it('answers the message it replies to, and sends a long text in parts', async () => {
    const threadId = await threadFor(minaText);
    const long = `${'Ship it. '.repeat(500)}`.trim();
    const reply = await queueReply(threadId, { content: { type: 'text', text: long }, replyTo: { externalMessageId: '5550101234:1200' } });
    const outcome = await deliver(jobOf(reply), attempt(), deps());
    expect(outcome).toEqual({ kind: 'sent', externalIds: ['5550101234:5000', '5550101234:5001'] });
    expect(telegram.calls.map((c) => [c.method, c.body['reply_parameters']])).toEqual([
      ['sendMessage', { message_id: 1200, allow_sending_without_reply: true }],
      ['sendMessage', undefined],
    ]);
    expect(telegram.calls.map((c) => String(c.body['text'])).join(' ')).toBe(long);
    for (const externalId of ['5550101234:5000', '5550101234:5001']) {
      expect((await h.store.getPointer('telegram', '7712345678', externalId))?.messageId).toBe(reply.id);
    }
  });

  it('resumes after the parts an earlier attempt sent, when the provider failed halfway', async () => {
    const threadId = await threadFor(minaText);
    const reply = await queueReply(threadId, { content: { type: 'text', text: 'x'.repeat(5000) } });
    // First part accepted, second answered 502.
    telegram.answerNext({
      status: 200,
      body: { ok: true, result: { message_id: 9001, date: 1773450000, chat: { id: 5550101234, type: 'private' } } },
    });
    telegram.answerNext({ status: 502, body: { ok: false, error_code: 502, description: 'Bad Gateway' } });
    const outcome = await deliver(jobOf(reply), attempt(), deps());
    expect(outcome).toMatchObject({ kind: 'retry', failure: { kind: 'retryable', code: '502', message: 'Bad Gateway', attempts: 1 } });
    expect(await stored(reply)).toMatchObject({ status: 'queued', externalId: '5550101234:9001', externalIds: ['5550101234:9001'] });
    expect(await stored(reply)).not.toHaveProperty('claim');

    const again = await deliver(jobOf(reply), attempt({ receiveCount: 2, claimToken: 'receipt-2' }), deps());
    expect(again).toEqual({ kind: 'sent', externalIds: ['5550101234:9001', '5550101234:5000'] });
    expect(telegram.calls.map((c) => String(c.body['text']).length)).toEqual([4096, 904, 904]);
    expect(await stored(reply)).toMatchObject({ status: 'sent', externalIds: ['5550101234:9001', '5550101234:5000'] });
  });

  it("hands the sender the customer's LINE reply token while it is valid, and not once it expired", async () => {
    // The token expires an hour from now (LINE's sender checks it against the real time too).
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const threadId = await threadFor({ ...lineText, replyHandle: { value: lineText.replyHandle!.value, expiresAt } });
    const early = await queueReply(threadId);
    expect(await deliver(jobOf(early), attempt(), deps())).toMatchObject({ kind: 'sent' });
    h.clock.set(expiresAt);
    const late = await queueReply(threadId);
    expect(await deliver(jobOf(late), attempt(), deps())).toMatchObject({ kind: 'sent' });
    expect(line.calls.map((c) => [c.path, c.body['replyToken'] ?? c.body['to']])).toEqual([
      ['/v2/bot/message/reply', lineText.replyHandle?.value],
      ['/v2/bot/message/push', lineText.sender.externalUserId],
    ]);
  });

  it("goes out on the survivor's route when its thread was merged after it was queued", async () => {
    const minaThread = await threadFor(minaText);
    const lineThread = await threadFor(lineText);
    // Queued in Mina's thread for LINE, whose route only the LINE customer's thread has.
    const reply = await queueReply(minaThread, { channel: 'line', accountId: LINE_BOT });
    const mina = (await h.store.getThread(minaThread))!.value.contactId;
    const other = (await h.store.getThread(lineThread))!.value.contactId;
    await mergeContacts(h.store, other, mina, 'same person', { type: 'agent', id: 'agent_1' }, h.clock.iso());
    expect(await deliver(jobOf(reply), attempt(), deps())).toMatchObject({ kind: 'sent' });
    expect(line.calls.map((c) => [c.path, c.body['to']])).toEqual([['/v2/bot/message/push', lineText.sender.externalUserId]]);
    // And a Telegram reply in the survivor's thread takes the Telegram route, not the newest one.
    const telegramReply = await queueReply(lineThread, { channel: 'telegram', accountId: '7712345678' });
    expect(await deliver(jobOf(telegramReply), attempt(), deps())).toMatchObject({ kind: 'sent' });
    expect(telegram.calls.map((c) => c.body['chat_id'])).toEqual([5550101234]);
  });

  it('fails a reply whose thread chain is broken, rather than looping', async () => {
    const threadId = await threadFor(minaText);
    const reply = await queueReply(threadId);
    const thread = await h.store.getThread(threadId);
    await h.store.commit([
      { kind: 'thread', op: 'put', value: { ...newThread('th_loop', 'ct_x', h.clock.iso()), mergedInto: threadId }, version: NEW_RECORD },
      { kind: 'thread', op: 'put', value: { ...thread!.value, mergedInto: 'th_loop' }, version: thread!.version },
    ]);
    expect(await deliver(jobOf(reply), attempt(), deps())).toEqual({
      kind: 'failed',
      failure: { kind: 'permanent', message: 'the thread has no telegram conversation to reply to' },
    });
  });

  it('sends with the message tag it was queued with, where the channel has tags (Messenger)', async () => {
    const threadId = await threadFor(fixtureEvent('messenger', 'text', 'message.received'));
    const reply = await queueReply(threadId, { messageTag: 'human_agent' });
    expect(await deliver(jobOf(reply), attempt(), deps())).toEqual({ kind: 'sent', externalIds: ['m_fake_1'] });
    expect(graph.calls.map((c) => [c.body['messaging_type'], c.body['tag'], (c.body['recipient'] as { id: string }).id])).toEqual([
      ['MESSAGE_TAG', 'HUMAN_AGENT', '7123456789012345'],
    ]);
    const untagged = await queueReply(threadId);
    await deliver(jobOf(untagged), attempt(), deps());
    expect(graph.calls[1]?.body).not.toHaveProperty('tag');
  });

  it('gives the provider ids of a retained message the same expiry', async () => {
    const threadId = await threadFor(minaText);
    const reply = await queueReply(threadId, { expiresAt: '2026-04-13T01:00:00.000Z' });
    await deliver(jobOf(reply), attempt(), deps());
    expect(await h.store.getPointer('telegram', '7712345678', '5550101234:5000')).toMatchObject({
      messageId: reply.id,
      expiresAt: '2026-04-13T01:00:00.000Z',
    });
  });

  it('works without metrics', async () => {
    const threadId = await threadFor(minaText);
    const { metrics: _metrics, ...withoutMetrics } = deps();
    expect(await deliver(jobOf(await queueReply(threadId)), attempt(), withoutMetrics)).toMatchObject({ kind: 'sent' });
    telegram.answerNext({ status: 502, body: { ok: false, error_code: 502, description: 'Bad Gateway' } });
    const second = await queueReply(threadId);
    expect(await deliver(jobOf(second), attempt(), withoutMetrics)).toMatchObject({ kind: 'retry' });
    telegram.answerNext({ status: 400, body: { ok: false, error_code: 400, description: 'Bad Request: message is too long' } });
    expect(await deliver(jobOf(second), attempt(), withoutMetrics)).toMatchObject({ kind: 'failed' });
  });
});

describe('sent once, whatever the queue delivers', () => {
  it('two deliveries of the same job at once send one message', async () => {
    const threadId = await threadFor(minaText);
    const reply = await queueReply(threadId);
    const outcomes = await Promise.all([
      deliver(jobOf(reply), attempt({ claimToken: 'receipt-a' }), deps()),
      deliver(jobOf(reply), attempt({ claimToken: 'receipt-b' }), deps()),
      deliver(jobOf(reply), attempt({ claimToken: 'receipt-c' }), deps()),
    ]);
    expect(telegram.calls).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === 'sent')).toHaveLength(1);
    for (const outcome of outcomes.filter((o) => o.kind !== 'sent')) {
      expect([
        {
          kind: 'retry',
          delaySeconds: 60,
          failure: { kind: 'retryable', message: 'another delivery of this message is in progress', attempts: 1 },
        },
        { kind: 'done', reason: 'no longer queued' },
        { kind: 'done', reason: 'already sent' },
      ]).toContainEqual(outcome);
    }
    expect(await h.eventsOf('message.sent')).toHaveLength(1);
  });

  it('a delivery after the send changes nothing', async () => {
    const threadId = await threadFor(minaText);
    const reply = await queueReply(threadId);
    await deliver(jobOf(reply), attempt(), deps());
    const after = await h.store.getMessage(threadId, reply.id);
    expect(await deliver(jobOf(reply), attempt({ claimToken: 'receipt-2', receiveCount: 2 }), deps())).toEqual({
      kind: 'done',
      reason: 'already sent',
    });
    expect(telegram.calls).toHaveLength(1);
    expect(await h.store.getMessage(threadId, reply.id)).toEqual(after);
  });

  it("respects another delivery's claim until it lapses, waiting for the queue's visibility timeout", async () => {
    const threadId = await threadFor(minaText);
    const reply = await queueReply(threadId);
    const current = await h.store.getMessage(threadId, reply.id);
    await h.store.commit([
      {
        kind: 'message',
        op: 'put',
        value: { ...current!.value, claim: { token: 'receipt-crashed', until: '2026-03-14T01:00:30.000Z' } },
        version: current!.version,
      },
    ]);
    const held = await deliver(jobOf(reply), attempt({ claimToken: 'receipt-2', claimSeconds: 1200 }), deps());
    expect(held).toEqual({
      kind: 'retry',
      delaySeconds: 900,
      failure: { kind: 'retryable', message: 'another delivery of this message is in progress', attempts: 1 },
    });
    expect(telegram.calls).toEqual([]);

    // Lapsed: the holder stopped without a record; this delivery takes over (and says so).
    h.clock.set('2026-03-14T01:00:30.000Z');
    expect(await deliver(jobOf(reply), attempt({ claimToken: 'receipt-3', receiveCount: 2 }), deps())).toMatchObject({ kind: 'sent' });
    expect(telegram.calls).toHaveLength(1);
    expect(log.entries.filter((e) => e.level === 'warn')).toEqual([
      {
        level: 'warn',
        message: 'a lapsed sending claim is taken over; the earlier attempt ended without a record',
        extra: { threadId, messageId: reply.id },
      },
    ]);
  });

  it('lets the same delivery claim again (a retry of its own attempt)', async () => {
    const threadId = await threadFor(minaText);
    const reply = await queueReply(threadId);
    const current = await h.store.getMessage(threadId, reply.id);
    await h.store.commit([
      {
        kind: 'message',
        op: 'put',
        value: { ...current!.value, claim: { token: 'receipt-1', until: '2026-03-14T02:00:00.000Z' } },
        version: current!.version,
      },
    ]);
    expect(await deliver(jobOf(reply), attempt(), deps())).toMatchObject({ kind: 'sent' });
    expect(log.entries.filter((e) => e.level === 'warn')).toEqual([]);
  });

  it('never sends again once the provider accepted it, even when recording that fails: a record job records it', async () => {
    const threadId = await threadFor(minaText);
    const reply = await queueReply(threadId);
    let refused = 0;
    const flaky = interceptCommits(h.store, (writes) => {
      if (writes.some((w) => w.kind === 'message' && w.op === 'put' && w.value.status === 'sent')) {
        refused += 1;
        throw new Error('ProvisionedThroughputExceededException');
      }
    });
    const outcome = await deliver(jobOf(reply), attempt(), deps({ store: flaky }));
    expect(outcome).toEqual({ kind: 'sent', externalIds: ['5550101234:5000'] });
    expect(refused).toBe(5);
    expect(requeued).toEqual([
      { kind: 'record', channel: 'telegram', threadId, messageId: reply.id, externalIds: ['5550101234:5000'], at: h.clock.iso() },
    ]);
    expect(log.entries.filter((e) => e.level === 'error')).toEqual([
      {
        level: 'error',
        message: 'sent, but the send could not be recorded; a record job takes over',
        extra: { threadId, messageId: reply.id, error: 'ProvisionedThroughputExceededException' },
      },
    ]);
    // The provider's id already finds the message; the claim stays, so a redelivery of the job does not send.
    expect(await h.store.getPointer('telegram', '7712345678', '5550101234:5000')).toMatchObject({ messageId: reply.id });
    expect(await stored(reply)).toMatchObject({ status: 'queued', claim: { token: 'receipt-1' } });
    expect(await deliver(jobOf(reply), attempt({ claimToken: 'receipt-2', receiveCount: 2 }), deps())).toMatchObject({ kind: 'retry' });
    expect(telegram.calls).toHaveLength(1);

    // The record job records the send: sent, with the provider's ids, as of when it was accepted.
    h.clock.advance(5_000);
    expect(await deliver(requeued[0]!, attempt({ claimToken: 'receipt-r' }), deps())).toEqual({
      kind: 'sent',
      externalIds: ['5550101234:5000'],
    });
    expect(await stored(reply)).toMatchObject({ status: 'sent', externalIds: ['5550101234:5000'], acceptedAt: '2026-03-14T01:00:00.000Z' });
    expect(await stored(reply)).not.toHaveProperty('claim');
    expect((await h.eventsOf('message.sent')).map((e) => e.createdAt)).toEqual(['2026-03-14T01:00:00.000Z']);
    expect(await deliver(jobOf(reply), attempt({ claimToken: 'receipt-3', receiveCount: 3 }), deps())).toEqual({
      kind: 'done',
      reason: 'already sent',
    });
    expect(telegram.calls).toHaveLength(1);
    expect(counted).toEqual([['MessagesSent', 'telegram']]);
  });

  it('a record job delivered again writes nothing more', async () => {
    const threadId = await threadFor(minaText);
    const reply = await queueReply(threadId);
    await deliver(jobOf(reply), attempt(), deps());
    const record: OutboundJob = {
      kind: 'record',
      channel: 'telegram',
      threadId,
      messageId: reply.id,
      externalIds: ['5550101234:5000'],
      at: h.clock.iso(),
    };
    const before = await h.store.getMessage(threadId, reply.id);
    const records = (await h.records()).length;
    expect(await deliver(record, attempt(), deps())).toEqual({ kind: 'sent', externalIds: ['5550101234:5000'] });
    expect(await h.store.getMessage(threadId, reply.id)).toEqual(before);
    expect((await h.records()).length).toBe(records);
  });

  it('records, without sending, a queued message an earlier attempt saw accepted', async () => {
    const threadId = await threadFor(minaText);
    const reply = await queueReply(threadId, {
      acceptedAt: '2026-03-14T00:59:00.000Z',
      externalId: '5550101234:4242',
      externalIds: ['5550101234:4242'],
    });
    expect(await deliver(jobOf(reply), attempt(), deps())).toEqual({ kind: 'done', reason: 'already accepted by the provider' });
    expect(telegram.calls).toEqual([]);
    expect(await stored(reply)).toMatchObject({ status: 'sent', externalIds: ['5550101234:4242'], acceptedAt: '2026-03-14T00:59:00.000Z' });
    expect((await h.store.getPointer('telegram', '7712345678', '5550101234:4242'))?.messageId).toBe(reply.id);
  });

  it('does nothing for a message that no longer exists', async () => {
    const threadId = await threadFor(minaText);
    expect(await deliver({ kind: 'deliver', channel: 'telegram', threadId, messageId: 'msg_gone' }, attempt(), deps())).toEqual({
      kind: 'done',
      reason: 'message no longer exists',
    });
    expect(
      await deliver(
        { kind: 'record', channel: 'telegram', threadId, messageId: 'msg_gone', externalIds: ['x:1'], at: h.clock.iso() },
        attempt(),
        deps(),
      ),
    ).toEqual({
      kind: 'sent',
      externalIds: ['x:1'],
    });
    expect(telegram.calls).toEqual([]);
  });
});

describe('failures', () => {
  const answer = (status: number, body: Record<string, unknown>) =>
    telegram.answerNext({ status, body: { ok: false, error_code: status, ...body } });

  it('retry with backoff, releasing the claim and leaving the message queued', async () => {
    const threadId = await threadFor(minaText);
    const reply = await queueReply(threadId);
    answer(502, { description: 'Bad Gateway' });
    const outcome = await deliver(jobOf(reply), attempt({ receiveCount: 3 }), deps());
    expect(outcome).toMatchObject({ kind: 'retry', failure: { kind: 'retryable', code: '502', message: 'Bad Gateway', attempts: 3 } });
    // About 2^3 seconds, with jitter.
    if (outcome.kind === 'retry') {
      expect(outcome.delaySeconds).toBeGreaterThanOrEqual(4);
      expect(outcome.delaySeconds).toBeLessThanOrEqual(8);
    }
    const after = await stored(reply);
    expect(after).toMatchObject({ status: 'queued' });
    expect(after).not.toHaveProperty('claim');
    expect(after).not.toHaveProperty('failure');
    expect(counted).toEqual([['MessagesRetried', 'telegram']]);
    expect(log.entries.find((e) => e.level === 'warn')).toEqual({
      level: 'warn',
      message: 'outbound delivery failed',
      extra: {
        threadId,
        messageId: reply.id,
        channel: 'telegram',
        outcome: 'retry',
        failure: { kind: 'retryable', code: '502', message: 'Bad Gateway', attempts: 3 },
      },
    });
  });

  it("wait as long as the provider's retry_after says", async () => {
    const threadId = await threadFor(minaText);
    const reply = await queueReply(threadId);
    answer(429, { description: 'Too Many Requests: retry after 7', parameters: { retry_after: 7 } });
    expect(await deliver(jobOf(reply), attempt(), deps())).toEqual({
      kind: 'retry',
      delaySeconds: 7,
      failure: { kind: 'rate_limited', code: '429', message: 'Too Many Requests: retry after 7', attempts: 1 },
    });
  });

  it('on the last receive mark the message failed, with message.status and message.failed', async () => {
    const threadId = await threadFor(minaText);
    const reply = await queueReply(threadId);
    answer(502, { description: 'Bad Gateway' });
    const outcome = await deliver(jobOf(reply), attempt({ receiveCount: 5 }), deps());
    const failure = { kind: 'retryable', code: '502', message: 'Bad Gateway', attempts: 5 };
    expect(outcome).toEqual({ kind: 'exhausted', failure });
    expect(await stored(reply)).toMatchObject({ status: 'failed', failure });
    expect(await stored(reply)).not.toHaveProperty('claim');
    const events = await eventsAbout(reply);
    expect(events.map((e) => e.type)).toEqual(['message.created', 'message.status', 'message.failed']);
    expect(events[1]).toMatchObject({
      createdAt: h.clock.iso(),
      data: { status: 'failed', previousStatus: 'queued', message: { failure } },
    });
    expect(counted).toEqual([['MessagesFailed', 'telegram']]);
  });

  it('that will never succeed are recorded at once, with the reason', async () => {
    const threadId = await threadFor(minaText);
    const reply = await queueReply(threadId);
    answer(400, { description: 'Bad Request: message is too long' });
    expect(await deliver(jobOf(reply), attempt(), deps())).toEqual({
      kind: 'failed',
      failure: { kind: 'invalid_request', code: '400', message: 'Bad Request: message is too long', attempts: 1 },
    });
    expect(await stored(reply)).toMatchObject({ status: 'failed', failure: { kind: 'invalid_request', code: '400' } });
    expect((await eventsAbout(reply)).map((e) => e.type)).toEqual(['message.created', 'message.status', 'message.failed']);
  });

  it('of a customer who blocked the bot mark the identity unreachable, and later replies fail without a call', async () => {
    const threadId = await threadFor(minaText);
    const reply = await queueReply(threadId);
    answer(403, { description: 'Forbidden: bot was blocked by the user' });
    expect(await deliver(jobOf(reply), attempt(), deps())).toMatchObject({ kind: 'failed', failure: { kind: 'permanent', code: '403' } });
    const identity = await h.store.getIdentity({ channel: 'telegram', accountId: '7712345678', externalUserId: '5550101234' });
    expect(identity?.value.unreachable).toEqual({ reason: 'Forbidden: bot was blocked by the user', since: h.clock.iso() });
    const contact = await h.store.getContact(identity!.value.contactId);
    expect(contact?.value.identities[0]?.unreachable).toEqual(identity?.value.unreachable);
    const [unreachable, ...more] = await h.eventsOf('channel.identity.unreachable');
    expect(more).toEqual([]);
    expect(unreachable).toMatchObject({
      id: onceEvent('channel.identity.unreachable', h.clock.iso(), ['telegram', '7712345678', '5550101234', h.clock.iso()]).id,
      createdAt: h.clock.iso(),
      data: {
        contactId: identity!.value.contactId,
        identity: { channel: 'telegram', accountId: '7712345678', externalUserId: '5550101234' },
        reason: 'Forbidden: bot was blocked by the user',
      },
    });

    const next = await queueReply(threadId);
    expect(await deliver(jobOf(next), attempt(), deps())).toEqual({
      kind: 'failed',
      failure: { kind: 'permanent', message: 'the customer cannot be reached on telegram: Forbidden: bot was blocked by the user' },
    });
    expect(telegram.calls).toHaveLength(1);
    expect(await stored(next)).toMatchObject({ status: 'failed' });
  });

  it('that are permanent but say nothing of the customer leave them reachable', async () => {
    const threadId = await threadFor(minaText);
    const reply = await queueReply(threadId);
    // Telegram took the message but answered without its id: recorded as a permanent failure.
    telegram.answerNext({ status: 200, body: { ok: true, result: {} } });
    expect(await deliver(jobOf(reply), attempt(), deps())).toEqual({
      kind: 'failed',
      failure: { kind: 'permanent', message: 'Telegram accepted sendMessage but returned no message_id', attempts: 1 },
    });
    expect(
      (await h.store.getIdentity({ channel: 'telegram', accountId: '7712345678', externalUserId: '5550101234' }))?.value,
    ).not.toHaveProperty('unreachable');
    expect(await h.eventsOf('channel.identity.unreachable')).toEqual([]);
  });

  it('name every credential an account lacks', async () => {
    const threadId = await threadFor(fixtureEvent('whatsapp', 'batch-two-numbers', 'message.received', 0));
    const reply = await queueReply(threadId);
    expect(await deliver(jobOf(reply), attempt(), deps())).toEqual({
      kind: 'failed',
      failure: { kind: 'authentication', message: 'whatsapp account 106540352242922 has no accessToken, phoneNumberId configured' },
    });
  });

  it('before any call: no route on the channel, content that cannot be sent, no connector, no credentials', async () => {
    const threadId = await threadFor(minaText);
    const cases: [Partial<StoredMessage>, Partial<OutboundDeps>, object][] = [
      [{ channel: 'line', accountId: LINE_BOT }, {}, { kind: 'permanent', message: 'the thread has no line conversation to reply to' }],
      [{ accountId: '999' }, {}, { kind: 'permanent', message: 'the thread has no telegram conversation to reply to' }],
      [
        { content: { type: 'reaction', emoji: '👍', targetExternalId: '5550101234:1200' } satisfies Content },
        {},
        { kind: 'invalid_request', message: 'reaction content cannot be sent' },
      ],
      [{}, { connectorFor: () => undefined }, { kind: 'permanent', message: 'no connector for telegram' }],
      [
        {},
        { secrets: new LocalSecretStore({ telegram: { credentials: { webhookSecret: 'whs' }, accountId: '7712345678' } }) },
        { kind: 'authentication', message: 'telegram account 7712345678 has no botToken configured' },
      ],
    ];
    for (const [overrides, depOverrides, failure] of cases) {
      const reply = await queueReply(threadId, overrides);
      expect(await deliver(jobOf(reply), attempt(), deps(depOverrides))).toEqual({ kind: 'failed', failure });
      expect(await stored(reply)).toMatchObject({ status: 'failed', failure });
    }
    expect(telegram.calls).toEqual([]);
    expect(counted).toEqual([
      ['MessagesFailed', 'line'],
      ['MessagesFailed', 'telegram'],
      ['MessagesFailed', 'telegram'],
      ['MessagesFailed', 'telegram'],
      ['MessagesFailed', 'telegram'],
    ]);
  });
});

describe('sending again', () => {
  const exhausted = async () => {
    const threadId = await threadFor(minaText);
    const reply = await queueReply(threadId);
    telegram.answerNext({ status: 502, body: { ok: false, error_code: 502, description: 'Bad Gateway' } });
    await deliver(jobOf(reply), attempt({ receiveCount: 5 }), deps());
    return reply;
  };

  it('a job redriven from the dead-letter queue sends the message its retries gave up on', async () => {
    const reply = await exhausted();
    h.clock.advance(60_000);
    expect(await deliver(jobOf(reply), attempt({ claimToken: 'receipt-redrive' }), deps())).toEqual({
      kind: 'sent',
      externalIds: ['5550101234:5000'],
    });
    expect(await stored(reply)).toMatchObject({ status: 'sent' });
    expect(await stored(reply)).not.toHaveProperty('failure');
    const statuses = (await eventsAbout(reply)).filter((e) => e.type === 'message.status');
    expect(statuses.map((e) => e.type === 'message.status' && [e.data.previousStatus, e.data.status])).toEqual([
      ['queued', 'failed'],
      ['failed', 'queued'],
      ['queued', 'sent'],
    ]);
    expect(log.entries.filter((e) => e.message === 'failed message queued again')).toHaveLength(1);
  });

  it('a redriven job resumes after the parts the provider had accepted', async () => {
    const threadId = await threadFor(minaText);
    const reply = await queueReply(threadId, { content: { type: 'text', text: 'y'.repeat(5000) } });
    telegram.answerNext({
      status: 200,
      body: { ok: true, result: { message_id: 9001, date: 1773450000, chat: { id: 5550101234, type: 'private' } } },
    });
    telegram.answerNext({ status: 502, body: { ok: false, error_code: 502, description: 'Bad Gateway' } });
    expect(await deliver(jobOf(reply), attempt({ receiveCount: 5 }), deps())).toMatchObject({ kind: 'exhausted' });
    expect(await stored(reply)).toMatchObject({ status: 'failed', externalIds: ['5550101234:9001'] });
    expect(await deliver(jobOf(reply), attempt({ claimToken: 'receipt-redrive' }), deps())).toEqual({
      kind: 'sent',
      externalIds: ['5550101234:9001', '5550101234:5000'],
    });
    expect(telegram.calls.map((c) => String(c.body['text']).length)).toEqual([4096, 904, 904]);
  });

  it('a job redriven for a message that failed for good does nothing', async () => {
    const threadId = await threadFor(minaText);
    const reply = await queueReply(threadId);
    telegram.answerNext({ status: 400, body: { ok: false, error_code: 400, description: 'Bad Request: message is too long' } });
    await deliver(jobOf(reply), attempt(), deps());
    expect(await deliver(jobOf(reply), attempt({ claimToken: 'receipt-redrive' }), deps())).toEqual({
      kind: 'done',
      reason: 'already failed',
    });
    expect(telegram.calls).toHaveLength(1);
  });

  it('requeue (the API retry) queues a failed message again, once, with message.status', async () => {
    const reply = await exhausted();
    const current = await h.store.getMessage(reply.threadId, reply.id);
    const queued = await requeue(current!, deps());
    const { failure: _failure, ...rest } = current!.value;
    expect(queued).toEqual({ value: { ...rest, status: 'queued' }, version: current!.version + 1 });
    expect(await h.store.getMessage(reply.threadId, reply.id)).toEqual(queued);
    const requeuedEvent = (await eventsAbout(reply)).at(-1);
    expect(requeuedEvent).toMatchObject({
      id: onceEvent('message.status', h.clock.iso(), [reply.threadId, reply.id, 'requeued', h.clock.iso()]).id,
      type: 'message.status',
      createdAt: h.clock.iso(),
      data: { status: 'queued', previousStatus: 'failed', message: { status: 'queued' } },
    });
    expect(log.entries.filter((e) => e.message === 'failed message queued again').map((e) => e.extra)).toEqual([
      { threadId: reply.threadId, messageId: reply.id, failure: { kind: 'retryable', code: '502', message: 'Bad Gateway', attempts: 5 } },
    ]);
    // Not failed any more: nothing to do.
    const records = (await h.records()).length;
    expect(await requeue(current!, deps())).toEqual(queued);
    expect((await h.records()).length).toBe(records);
  });

  it('requeue answers undefined for a message that is gone', async () => {
    const reply = await exhausted();
    const current = await h.store.getMessage(reply.threadId, reply.id);
    expect(await requeue({ ...current!, value: { ...current!.value, id: 'msg_gone' } }, deps())).toBeUndefined();
  });

  it('the API retry of a message the provider accepted and then reported failed sends it anew', async () => {
    const threadId = await threadFor(minaText);
    const reply = await queueReply(threadId);
    await deliver(jobOf(reply), attempt(), deps());
    const report: MessageStatusEvent = {
      schemaVersion: 1,
      eventId: 'evt_failed_report',
      type: 'message.status',
      channel: 'telegram',
      accountId: '7712345678',
      occurredAt: '2026-03-14T01:00:05.000Z',
      receivedAt: '2026-03-14T01:00:06.000Z',
      externalMessageId: '5550101234:5000',
      status: 'failed',
      error: { code: '131026', message: 'Message undeliverable' },
    };
    await apply(report);
    expect(await stored(reply)).toMatchObject({ status: 'failed', failure: { kind: 'permanent', code: '131026' } });

    const queued = await requeue((await h.store.getMessage(threadId, reply.id))!, deps());
    expect(queued?.value).not.toHaveProperty('acceptedAt');
    expect(queued?.value).not.toHaveProperty('externalIds');
    expect(await deliver(jobOf(reply), attempt({ claimToken: 'receipt-retry' }), deps())).toEqual({
      kind: 'sent',
      externalIds: ['5550101234:5001'],
    });
    expect(telegram.calls).toHaveLength(2);
    expect(await stored(reply)).toMatchObject({ status: 'sent', externalId: '5550101234:5001', externalIds: ['5550101234:5001'] });
  });
});

describe('provider actions', () => {
  const tap = fixtureEvent('telegram', 'callback-query', 'provider.action.requested', 1);

  it('are carried out by the channel', async () => {
    expect(await deliver({ kind: 'action', event: tap }, attempt(), deps())).toEqual({
      kind: 'done',
      reason: 'answerCallbackQuery performed',
    });
    expect(telegram.calls).toEqual([
      {
        method: 'answerCallbackQuery',
        token: TOKEN,
        contentType: 'application/json',
        body: { callback_query_id: tap.params['callback_query_id'] },
      },
    ]);
  });

  it('are retried or given up like messages, and need credentials', async () => {
    telegram.answerNext({
      status: 429,
      body: { ok: false, error_code: 429, description: 'Too Many Requests: retry after 3', parameters: { retry_after: 3 } },
    });
    expect(await deliver({ kind: 'action', event: tap }, attempt(), deps())).toMatchObject({ kind: 'retry', delaySeconds: 3 });
    telegram.answerNext({ status: 400, body: { ok: false, error_code: 400, description: 'Bad Request: query is too old' } });
    expect(await deliver({ kind: 'action', event: tap }, attempt(), deps())).toMatchObject({
      kind: 'failed',
      failure: { kind: 'invalid_request', code: '400' },
    });
    expect(log.entries.filter((e) => e.level === 'warn').map((e) => e.extra)).toEqual([
      { channel: 'telegram', action: 'answerCallbackQuery', outcome: 'retry', failure: expect.objectContaining({ kind: 'rate_limited' }) },
      {
        channel: 'telegram',
        action: 'answerCallbackQuery',
        outcome: 'failed',
        failure: expect.objectContaining({ kind: 'invalid_request' }),
      },
    ]);
    expect(await deliver({ kind: 'action', event: tap }, attempt(), deps({ connectorFor: () => undefined }))).toEqual({
      kind: 'failed',
      failure: { kind: 'permanent', message: 'no connector for telegram' },
    });
  });
});

describe('OutboundJobSchema', () => {
  it('reads the jobs a queue carries, and a record job only with the ids the provider gave', () => {
    const record = {
      kind: 'record',
      channel: 'telegram',
      threadId: 'th_1',
      messageId: 'msg_1',
      externalIds: ['5550101234:1', '5550101234:2'],
      at: '2026-03-14T01:00:00.000Z',
    };
    expect(OutboundJobSchema.parse(record)).toEqual(record);
    expect(OutboundJobSchema.safeParse({ ...record, externalIds: [] }).success).toBe(false);
    expect(OutboundJobSchema.parse({ kind: 'deliver', channel: 'line', threadId: 'th_1', messageId: 'msg_1' })).toEqual({
      kind: 'deliver',
      channel: 'line',
      threadId: 'th_1',
      messageId: 'msg_1',
    });
    const tap = fixtureEvent('telegram', 'callback-query', 'provider.action.requested', 1);
    expect(OutboundJobSchema.parse(tap)).toEqual({ kind: 'action', event: tap });
    expect(OutboundJobSchema.safeParse({ kind: 'deliver', channel: 'fax', threadId: 'th_1', messageId: 'msg_1' }).success).toBe(false);
  });
});
