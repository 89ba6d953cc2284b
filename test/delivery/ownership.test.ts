/**
 * Two jobs for one message (the one the API queues at once, and the outbox relay's from the write): the first to
 * claim the message owns its delivery through its retries, and the other stands aside, so a provider outage costs
 * one job's attempts, not two, and a failure is never sent again by the other job. A redrive hands the message to
 * whichever job claims it next.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoConversationStore } from '../../adapters/aws/store/conversations.ts';
import { DynamoTable } from '../../adapters/aws/store/table.ts';
import { connectors } from '../../connectors/registry.ts';
import type { Connector } from '../../domain/connector.ts';
import { resolveIdentity } from '../../domain/conversations/identities.ts';
import { applyInbound } from '../../domain/conversations/threads.ts';
import { deliver, requeue, type OutboundDeps, type OutboundJob } from '../../domain/delivery/outbound.ts';
import { newMessageId } from '../../domain/message-ids.ts';
import type { Log } from '../../domain/ports.ts';
import { NEW_RECORD } from '../../domain/shared/store.ts';
import { startFakeTelegram, type FakeTelegram } from '../helpers/fake-telegram.ts';
import { startLocalDynamo, type LocalDynamoHarness } from '../helpers/local-dynamo.ts';

const silent: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const BOT = '7712345678';
let harness: LocalDynamoHarness;
let conversations: DynamoConversationStore;
let telegram: FakeTelegram;
let deps: OutboundDeps;
let user = 8_000;

beforeAll(async () => {
  harness = await startLocalDynamo();
  conversations = new DynamoConversationStore({
    table: new DynamoTable({ client: harness.client, tableName: harness.tableName }),
    clock: { now: () => new Date() },
  });
  telegram = await startFakeTelegram();
});
afterAll(async () => {
  await telegram?.close();
  await harness?.stop();
});
beforeEach(() => {
  telegram.reset();
  deps = {
    store: conversations,
    secrets: { get: async () => ({ webhookSecret: 's', botToken: `${BOT}:AAA` }), put: async () => {} },
    clock: { now: () => new Date() },
    log: silent,
    fetch: globalThis.fetch,
    apiBaseUrls: { telegram: telegram.baseUrl },
    connectorFor: () => connectors.telegram as Connector,
    requeue: async () => {},
  };
});

/** A customer with a reply queued for them; the two jobs for it, as the API and the relay queue them. */
const queuedReply = async (): Promise<{ api: OutboundJob; relay: OutboundJob }> => {
  const chat = String(user++);
  const at = new Date().toISOString();
  const { identity } = await resolveIdentity(
    conversations,
    { channel: 'telegram', accountId: BOT, externalUserId: chat, kind: 'direct' },
    at,
  );
  const thread = await conversations.getThread(identity.value.threadId);
  const change = applyInbound(thread!.value, {
    messageId: `in-${chat}`,
    channel: 'telegram',
    accountId: BOT,
    conversation: { externalId: chat, kind: 'direct' },
    occurredAt: at,
    at,
  });
  await conversations.commit([{ kind: 'thread', op: 'put', value: change.thread, version: thread!.version }]);
  const id = newMessageId(new Date(), new Date(), chat);
  await conversations.commit([
    {
      kind: 'message',
      op: 'put',
      value: {
        id,
        threadId: thread!.value.id,
        direction: 'outbound',
        channel: 'telegram',
        accountId: BOT,
        occurredAt: at,
        author: { role: 'agent' },
        content: { type: 'text', text: `hello ${chat}` },
        status: 'queued',
      },
      version: NEW_RECORD,
    },
  ]);
  const base = { kind: 'deliver' as const, channel: 'telegram' as const, threadId: thread!.value.id, messageId: id };
  return { api: { ...base, job: `api_${id}` }, relay: { ...base, job: 'evt_relay' } };
};

const attempt = (n: number, token: string) => ({ receiveCount: n, maxReceiveCount: 3, claimToken: token, claimSeconds: 30 });
const outage = () => telegram.answerNext({ status: 502, body: 'Bad Gateway' });

describe('two jobs for one message', () => {
  it('lets the first to claim own it through its retries; the other stands aside', async () => {
    const { api, relay } = await queuedReply();
    outage();
    expect(await deliver(api, attempt(1, 'a1'), deps)).toMatchObject({ kind: 'retry' });
    expect(await deliver(relay, attempt(1, 'r1'), deps)).toEqual({
      kind: 'done',
      reason: `delivered by job ${api.kind === 'deliver' ? api.job : ''}`,
    });
    expect(await deliver(api, attempt(2, 'a2'), deps)).toMatchObject({ kind: 'sent' });
    expect(telegram.calls).toHaveLength(2);
  });

  it('never sends again through the other job once the owner gave up, until a redrive', async () => {
    const { api, relay } = await queuedReply();
    for (let i = 0; i < 3; i++) outage();
    expect(await deliver(api, attempt(1, 'a1'), deps)).toMatchObject({ kind: 'retry' });
    expect(await deliver(api, attempt(2, 'a2'), deps)).toMatchObject({ kind: 'retry' });
    expect(await deliver(api, attempt(3, 'a3'), deps)).toMatchObject({ kind: 'exhausted' });
    if (api.kind !== 'deliver') throw new Error('a delivery job');
    expect((await conversations.getMessage(api.threadId, api.messageId))?.value.status).toBe('failed');
    // The relay's job arrives late: the failure stands.
    expect(await deliver(relay, attempt(1, 'r1'), deps)).toMatchObject({ kind: 'done' });
    expect((await conversations.getMessage(api.threadId, api.messageId))?.value.status).toBe('failed');
    expect(telegram.calls).toHaveLength(3);
    // A redrive (the API's retry) queues it again for the next job that claims it.
    const failed = await conversations.getMessage(api.threadId, api.messageId);
    await requeue(failed!, deps);
    expect(await deliver(relay, attempt(2, 'r2'), deps)).toMatchObject({ kind: 'sent' });
    expect(telegram.calls).toHaveLength(4);
  });
});
