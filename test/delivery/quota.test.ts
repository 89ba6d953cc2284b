/**
 * LINE's monthly push quota: a message sent without a reply token is pushed, and each message object pushed is
 * counted for its account and month; an answer with the customer's reply token is free and not counted.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoConversationStore } from '../../adapters/aws/store/conversations.ts';
import { DynamoDeliveryStore } from '../../adapters/aws/store/delivery.ts';
import { DynamoTable } from '../../adapters/aws/store/table.ts';
import { connectors } from '../../connectors/registry.ts';
import type { Connector } from '../../domain/connector.ts';
import { resolveIdentity } from '../../domain/conversations/identities.ts';
import { applyInbound } from '../../domain/conversations/threads.ts';
import { deliver, type OutboundDeps } from '../../domain/delivery/outbound.ts';
import { newMessageId } from '../../domain/message-ids.ts';
import type { Log } from '../../domain/ports.ts';
import { NEW_RECORD } from '../../domain/shared/store.ts';
import { startFakeLine, type FakeLine } from '../helpers/fake-line.ts';
import { startLocalDynamo, type LocalDynamoHarness } from '../helpers/local-dynamo.ts';

const silent: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const BOT = 'U0000000000000000000000000000bot';
// Real time: the LINE sender judges a reply token's expiry by the system clock.
const NOW = new Date();
const MONTH = NOW.toISOString().slice(0, 7);

let harness: LocalDynamoHarness;
let conversations: DynamoConversationStore;
let delivery: DynamoDeliveryStore;
let line: FakeLine;
let deps: OutboundDeps;

beforeAll(async () => {
  harness = await startLocalDynamo();
  const table = new DynamoTable({ client: harness.client, tableName: harness.tableName });
  conversations = new DynamoConversationStore({ table, clock: { now: () => NOW } });
  delivery = new DynamoDeliveryStore(table);
  line = await startFakeLine();
});
afterAll(async () => {
  await line?.close();
  await harness?.stop();
});
beforeEach(() => {
  line.reset();
  deps = {
    store: conversations,
    secrets: { get: async () => ({ channelSecret: 's', channelAccessToken: 'token' }), put: async () => {} },
    clock: { now: () => NOW },
    log: silent,
    fetch: globalThis.fetch,
    apiBaseUrls: { line: line.baseUrl },
    connectorFor: () => connectors.line as Connector,
    requeue: async () => {},
    countQuota: async (channel, accountId, at, messages) => {
      await delivery.countUsage(channel, accountId, at.toISOString().slice(0, 7), 'pushes', messages);
    },
  };
});

const customerWithMessage = async (user: string, text: string, replyToken?: string) => {
  const at = new Date(NOW.getTime() - 10_000).toISOString();
  const { identity } = await resolveIdentity(conversations, { channel: 'line', accountId: BOT, externalUserId: user, kind: 'direct' }, at);
  const thread = await conversations.getThread(identity.value.threadId);
  const change = applyInbound(thread!.value, {
    messageId: `in-${user}`,
    channel: 'line',
    accountId: BOT,
    conversation: { externalId: user, kind: 'direct' },
    occurredAt: at,
    at,
    ...(replyToken && { replyHandle: { value: replyToken, expiresAt: new Date(NOW.getTime() + 50_000).toISOString() } }),
  });
  await conversations.commit([{ kind: 'thread', op: 'put', value: change.thread, version: thread!.version }]);
  const id = newMessageId(NOW, NOW, 'line', user);
  await conversations.commit([
    {
      kind: 'message',
      op: 'put',
      value: {
        id,
        threadId: identity.value.threadId,
        direction: 'outbound',
        channel: 'line',
        accountId: BOT,
        occurredAt: NOW.toISOString(),
        author: { role: 'agent' },
        content: { type: 'text', text },
        status: 'queued',
      },
      version: NEW_RECORD,
    },
  ]);
  return { kind: 'deliver' as const, channel: 'line' as const, threadId: identity.value.threadId, messageId: id };
};

const attempt = { receiveCount: 1, maxReceiveCount: 8, claimToken: 'r', claimSeconds: 30 };

describe('the LINE push quota', () => {
  it('counts every message object pushed, for the account and month', async () => {
    const job = await customerWithMessage('U00000000000000000000000000000c1', `${'あ'.repeat(5000)}${'い'.repeat(10)}`);
    expect(await deliver(job, attempt, deps)).toMatchObject({ kind: 'sent' });
    expect(line.calls.map((c) => c.path)).toEqual(['/v2/bot/message/push']);
    expect((line.calls[0]?.body['messages'] as unknown[]).length).toBe(2);
    expect(await delivery.getUsage('line', BOT, MONTH)).toEqual({ pushes: 2 });
  });

  it('does not count an answer with the reply token', async () => {
    const before = (await delivery.getUsage('line', BOT, MONTH)).pushes;
    const job = await customerWithMessage('U00000000000000000000000000000c2', 'Thanks!', 'reply-token-1');
    expect(await deliver(job, attempt, deps)).toMatchObject({ kind: 'sent' });
    expect(line.calls.map((c) => c.path)).toEqual(['/v2/bot/message/reply']);
    expect((await delivery.getUsage('line', BOT, MONTH)).pushes).toBe(before);
  });
});
