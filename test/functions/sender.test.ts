/**
 * A channel's sender Lambda (Telegram's) on the real store, sending to the local Telegram fake: SQS batches of
 * outbound jobs as the outbox relay queues them, postponed through the queue's visibility on a retry, failed
 * to the dead-letter queue when retries are used up or the job is unreadable.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalSecretStore } from '../../adapters/local/local-secrets.ts';
import { capabilitiesOf } from '../../connectors/capabilities.ts';
import { applyEvent } from '../../domain/conversations/inbound.ts';
import type { ConversationStore, StoredMessage } from '../../domain/conversations/ports.ts';
import type { OutboundJob } from '../../domain/delivery/outbound.ts';
import { NEW_RECORD } from '../../domain/shared/store.ts';
import { localContext } from '../../functions/kit/handler.ts';
import { memoryMetrics } from '../../functions/kit/observability.ts';
import { create } from '../../functions/senders/telegram.ts';
import { environmentOf, FUNCTIONS } from '../../topology/topology.ts';
import { startFakeTelegram, type FakeTelegram } from '../helpers/fake-telegram.ts';
import { captureLog, fixtureEvent, interceptCommits, startConversations, type ConversationHarness } from '../helpers/conversations.ts';
import { sqsEvent } from '../helpers/lambda-events.ts';

const TOKEN = '7712345678:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0';
const ENVIRONMENT = environmentOf(FUNCTIONS['sender-telegram']);
const MAX_RECEIVES = Number(ENVIRONMENT.MAX_RECEIVE_COUNT);

let telegram: FakeTelegram;
beforeAll(async () => {
  telegram = await startFakeTelegram();
});
afterAll(() => telegram.close());

let h: ConversationHarness;
beforeEach(async () => {
  h = await startConversations();
  telegram.reset();
});
afterEach(() => h.stop());

const minaText = fixtureEvent('telegram', 'private-text-entities', 'message.received');
const tap = fixtureEvent('telegram', 'callback-query', 'provider.action.requested', 1);

const sender = (store: ConversationStore = h.store) => {
  const postponed: [string, number][] = [];
  const queued: OutboundJob[] = [];
  const metrics = memoryMetrics();
  const log = captureLog();
  const handler = create(
    {
      conversations: store,
      secrets: new LocalSecretStore({ telegram: { credentials: { webhookSecret: 's', botToken: TOKEN }, accountId: '7712345678' } }),
      clock: h.clock,
      observability: { log, metrics, middlewares: [] },
      fetch: globalThis.fetch,
      apiBaseUrls: { telegram: telegram.baseUrl },
      visibility: { setVisibilityTimeout: async (handle, seconds) => void postponed.push([handle, seconds]) },
      outbound: { send: async (job) => void queued.push(job) },
    },
    ENVIRONMENT,
  );
  const run = (bodies: unknown[], receiveCount = 1) =>
    handler(sqsEvent(bodies, { receiveCount, sentAt: Date.now() - 2000 }), localContext('sender-telegram'));
  return { run, postponed, queued, metrics, log };
};

/** Mina's thread with an agent's reply queued in it. */
const queuedReply = async (): Promise<StoredMessage> => {
  const outcome = await applyEvent(minaText, { store: h.store, log: captureLog(), clock: h.clock, capabilities: capabilitiesOf });
  if (outcome.kind !== 'stored') throw new Error('not stored');
  const reply: StoredMessage = {
    id: 'msg_0mmpdc0a00mmpdc0a0_reply',
    threadId: outcome.threadId,
    direction: 'outbound',
    channel: 'telegram',
    accountId: '7712345678',
    occurredAt: h.clock.iso(),
    author: { role: 'agent', id: 'key_agent' },
    content: { type: 'text', text: 'Your order ships today' },
    status: 'queued',
  };
  await h.store.commit([{ kind: 'message', op: 'put', value: reply, version: NEW_RECORD }]);
  return reply;
};
const job = (reply: StoredMessage, channel = 'telegram') => ({ kind: 'deliver', channel, threadId: reply.threadId, messageId: reply.id });
const statusOf = async (reply: StoredMessage) => (await h.store.getMessage(reply.threadId, reply.id))?.value;

describe("a channel's sender function", () => {
  it('delivers a job of its channel, records the provider id and counts it', async () => {
    const reply = await queuedReply();
    const { run, metrics, log } = sender();
    expect(await run([job(reply)])).toEqual({ batchItemFailures: [] });
    expect(telegram.calls.map((c) => [c.method, c.body['chat_id'], c.body['text']])).toEqual([
      ['sendMessage', 5550101234, 'Your order ships today'],
    ]);
    expect(await statusOf(reply)).toMatchObject({ status: 'sent', externalId: '5550101234:5000' });
    expect(metrics.totals.get('MessagesSent/telegram')).toBe(1);
    expect(metrics.totals.get('QueueAge/outbound-telegram')).toBeGreaterThanOrEqual(2000);
    // Its log line carries the ids that correlate it with the API's reply and the writer's thread.
    expect(log.entries.find((e) => e.message === 'outbound job handled')?.extra).toMatchObject({
      threadId: reply.threadId,
      messageId: reply.id,
      outcome: 'sent',
    });
  });

  it('claims with the receipt handle for the queue visibility: a second delivery of the job meanwhile waits that long', async () => {
    const reply = await queuedReply();
    const current = await h.store.getMessage(reply.threadId, reply.id);
    await h.store.commit([
      {
        kind: 'message',
        op: 'put',
        value: { ...current!.value, claim: { token: 'r9', until: '2026-03-14T01:05:00.000Z' } },
        version: current!.version,
      },
    ]);
    const { run, postponed } = sender();
    expect(await run([job(reply)])).toEqual({ batchItemFailures: [{ itemIdentifier: 'm0' }] });
    expect(postponed).toEqual([['r0', Number(ENVIRONMENT.VISIBILITY_TIMEOUT_SECONDS)]]);
    expect(telegram.calls).toEqual([]);
  });

  it("refuses another channel's job and unreadable jobs without touching anything, so they wait in the dead-letter queue", async () => {
    const reply = await queuedReply();
    const { run, log } = sender();
    const result = await run([job(reply, 'whatsapp'), 'not json', { kind: 'deliver', channel: 'telegram' }, job(reply)]);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }, { itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }]);
    expect(log.entries.filter((e) => e.level === 'error').map((e) => e.extra?.['messageId'])).toEqual(['m0', 'm1', 'm2']);
    expect(log.entries.find((e) => e.extra?.['messageId'] === 'm0')?.extra?.['error']).toBe('a whatsapp job on the telegram queue');
    expect(telegram.calls).toHaveLength(1);
  });

  it("postpones a rate-limited job by the provider's wait, leaving the message queued", async () => {
    const reply = await queuedReply();
    telegram.answerNext({
      status: 429,
      body: { ok: false, error_code: 429, description: 'Too Many Requests: retry after 7', parameters: { retry_after: 7 } },
    });
    const { run, postponed, metrics } = sender();
    expect(await run([job(reply)])).toEqual({ batchItemFailures: [{ itemIdentifier: 'm0' }] });
    expect(postponed).toEqual([['r0', 7]]);
    expect(await statusOf(reply)).toMatchObject({ status: 'queued' });
    expect(metrics.totals.get('MessagesRetried/telegram')).toBe(1);
  });

  it('on the last receive marks the message failed and lets the job go to the dead-letter queue', async () => {
    const reply = await queuedReply();
    telegram.answerNext({ status: 502, body: { ok: false, error_code: 502, description: 'Bad Gateway' } });
    const { run, postponed, metrics } = sender();
    expect(await run([job(reply)], MAX_RECEIVES)).toEqual({ batchItemFailures: [{ itemIdentifier: 'm0' }] });
    expect(postponed).toEqual([]);
    expect(await statusOf(reply)).toMatchObject({ status: 'failed', failure: { kind: 'retryable', code: '502', attempts: MAX_RECEIVES } });
    expect(metrics.totals.get('MessagesFailed/telegram')).toBe(1);
  });

  it('takes a failure for good as done: the message says why, the job is not retried', async () => {
    const reply = await queuedReply();
    telegram.answerNext({ status: 403, body: { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' } });
    const { run } = sender();
    expect(await run([job(reply)])).toEqual({ batchItemFailures: [] });
    expect(await statusOf(reply)).toMatchObject({ status: 'failed', failure: { kind: 'permanent', code: '403' } });
  });

  it('queues a record job when the provider accepted the message but the store would not record it', async () => {
    const reply = await queuedReply();
    const refusing = interceptCommits(h.store, (writes) => {
      if (writes.some((w) => w.kind === 'message' && w.op === 'put' && w.value.status === 'sent')) throw new Error('throttled');
    });
    const { run, queued } = sender(refusing);
    expect(await run([job(reply)])).toEqual({ batchItemFailures: [] });
    expect(queued).toEqual([
      {
        kind: 'record',
        channel: 'telegram',
        threadId: reply.threadId,
        messageId: reply.id,
        externalIds: ['5550101234:5000'],
        at: h.clock.iso(),
      },
    ]);
    // The record job, delivered on the same queue, records it without sending.
    expect(await sender().run([queued[0]])).toEqual({ batchItemFailures: [] });
    expect(await statusOf(reply)).toMatchObject({ status: 'sent', externalId: '5550101234:5000' });
    expect(telegram.calls).toHaveLength(1);
  });

  it('carries out a provider action routed from the bus, and one redriven as a whole EventBridge event', async () => {
    const { run } = sender();
    const envelope = { version: '0', id: 'e1', 'detail-type': 'provider.action.requested', source: 'parley.connectors', detail: tap };
    expect(await run([tap, envelope])).toEqual({ batchItemFailures: [] });
    expect(telegram.calls.map((c) => [c.method, c.body['callback_query_id']])).toEqual([
      ['answerCallbackQuery', tap.params['callback_query_id']],
      ['answerCallbackQuery', tap.params['callback_query_id']],
    ]);
  });

  it('will not start without the queue settings the topology gives it', () => {
    expect(() => create({} as never, {})).toThrow(/MAX_RECEIVE_COUNT must be set/);
    expect(() => create({} as never, { MAX_RECEIVE_COUNT: '8' })).toThrow(/VISIBILITY_TIMEOUT_SECONDS must be set/);
    expect(() => create({} as never, { MAX_RECEIVE_COUNT: '0', VISIBILITY_TIMEOUT_SECONDS: '30' })).toThrow(
      /MAX_RECEIVE_COUNT must be set to a positive integer/,
    );
  });
});
