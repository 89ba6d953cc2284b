/**
 * The campaign dispatcher and its progress, on the real stores: pages at the campaign's pace, each recipient once
 * however often a hop runs, one chain of hops, recovery of a chain whose next hop was never queued, scheduled
 * starts, cancellation that stops messages already queued, and counts that follow every status exactly once.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoConversationStore } from '../../adapters/aws/store/conversations.ts';
import { DynamoDeliveryStore } from '../../adapters/aws/store/delivery.ts';
import { DynamoTable } from '../../adapters/aws/store/table.ts';
import { capabilitiesOf } from '../../connectors/capabilities.ts';
import { connectors } from '../../connectors/registry.ts';
import type { Connector } from '../../domain/connector.ts';
import {
  cancelCampaign,
  countsOf,
  createCampaign,
  dispatchHop,
  recordProgress,
  type CampaignJob,
  type DispatchDeps,
} from '../../domain/delivery/campaigns.ts';
import { deliver } from '../../domain/delivery/outbound.ts';
import { accountPacingKey } from '../../domain/delivery/pacing.ts';
import { NEW_RECORD } from '../../domain/shared/store.ts';
import type { Log } from '../../domain/ports.ts';
import { startFakeTelegram, type FakeTelegram } from '../helpers/fake-telegram.ts';
import { startLocalDynamo, type LocalDynamoHarness } from '../helpers/local-dynamo.ts';

const silent: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const BOT = '7712345678';

let harness: LocalDynamoHarness;
let conversations: DynamoConversationStore;
let delivery: DynamoDeliveryStore;
let telegram: FakeTelegram;
let queued: { job: CampaignJob; delaySeconds: number }[];
let now: Date;
let deps: DispatchDeps;
let sequence = 0;

beforeAll(async () => {
  harness = await startLocalDynamo();
  const table = new DynamoTable({ client: harness.client, tableName: harness.tableName });
  conversations = new DynamoConversationStore({ table, clock: { now: () => now } });
  delivery = new DynamoDeliveryStore(table);
  telegram = await startFakeTelegram();
});
afterAll(async () => {
  await telegram?.close();
  await harness?.stop();
});
beforeEach(() => {
  now = new Date('2026-11-26T10:00:00.000Z');
  queued = [];
  telegram.reset();
  deps = {
    conversations,
    delivery,
    capabilities: capabilitiesOf,
    defaultAccounts: async () => ['default', BOT],
    settings: async () => ({}),
    queue: { send: async (job, options) => void queued.push({ job, delaySeconds: options?.delaySeconds ?? 0 }) },
    now: () => now,
    log: silent,
  };
});

const start = async (recipients: number, options: { ratePerSecond?: number; scheduledAt?: string; users?: (i: number) => string } = {}) => {
  const base = 100_000 * ++sequence;
  return createCampaign(
    {
      store: delivery,
      queue: deps.queue,
      scheduler: { schedule: async (job) => void queued.push({ job, delaySeconds: -1 }) },
      now: () => now,
    },
    {
      id: `cmp_test_${sequence}`,
      purpose: 'transactional',
      content: { type: 'text', text: `campaign ${sequence}` },
      ratePerSecond: options.ratePerSecond ?? 2,
      ...(options.scheduledAt !== undefined && { scheduledAt: options.scheduledAt }),
      recipients: Array.from({ length: recipients }, (_, i) => ({
        to: { channel: 'telegram' as const, externalUserId: options.users?.(i) ?? String(base + i) },
      })),
      draft: false,
      by: { type: 'api_key', id: 'key_test' },
      at: now.toISOString(),
    },
  );
};

const messagesOf = async (campaignId: string) => {
  const recipients = await delivery.listRecipients(campaignId, 0, 1000);
  return recipients.flatMap((r) => (r.value.messageId ? [{ threadId: r.value.threadId!, messageId: r.value.messageId }] : []));
};

describe('dispatching a campaign', () => {
  it('takes a page per hop at its pace, and a hop run twice writes nothing twice', async () => {
    const campaign = await start(5, { ratePerSecond: 2 });
    expect(queued).toEqual([{ job: { kind: 'campaign', campaignId: campaign.id, hop: 0 }, delaySeconds: 0 }]);
    const first = await dispatchHop(deps, queued[0]!.job);
    expect(first).toMatchObject({ kind: 'dispatched', recipients: 2 });
    expect(queued[1]?.job).toEqual({ kind: 'campaign', campaignId: campaign.id, hop: 1 });
    expect(queued[1]?.delaySeconds).toBeGreaterThan(0);
    // The same job again (SQS delivers at least once): stale, nothing written, no second chain.
    expect(await dispatchHop(deps, queued[0]!.job)).toEqual({ kind: 'done', reason: 'stale hop' });
    expect(queued).toHaveLength(2);
    expect(await messagesOf(campaign.id)).toHaveLength(2);

    await dispatchHop(deps, queued[1]!.job);
    await dispatchHop(deps, queued[2]!.job);
    expect(queued).toHaveLength(3);
    const stored = await delivery.getCampaign(campaign.id);
    expect(stored?.value).toMatchObject({ status: 'completed', dispatched: 5 });
    const messages = await messagesOf(campaign.id);
    expect(new Set(messages.map((m) => m.messageId)).size).toBe(5);
    for (const { threadId, messageId } of messages) {
      const message = await conversations.getMessage(threadId, messageId);
      expect(message?.value).toMatchObject({ status: 'queued', notification: { purpose: 'transactional', campaignId: campaign.id } });
    }
    expect(countsOf(stored!.value, await delivery.listCounters(campaign.id))).toMatchObject({ total: 5, pending: 0, queued: 5 });
  });

  it('queues the next hop of a chain whose hop was recorded but whose successor was never queued', async () => {
    const campaign = await start(4, { ratePerSecond: 2 });
    await dispatchHop(deps, queued[0]!.job);
    // As if the process died after recording hop 1 and before queueing it.
    queued.splice(1);
    const stored = await delivery.getCampaign(campaign.id);
    await delivery.commit([{ kind: 'campaign', op: 'put', value: { ...stored!.value, enqueuedHop: 0 }, version: stored!.version }]);
    expect(await dispatchHop(deps, queued[0]!.job)).toEqual({ kind: 'done', reason: 'stale hop' });
    expect(queued[1]?.job).toEqual({ kind: 'campaign', campaignId: campaign.id, hop: 1 });
    // Its redelivery does not queue it again.
    await dispatchHop(deps, queued[0]!.job);
    expect(queued).toHaveLength(2);
  });

  it('waits for a scheduled start, hopping toward it at most 15 minutes at a time', async () => {
    const at = new Date(now.getTime() + 2 * 3_600_000).toISOString();
    const campaign = await start(2, { scheduledAt: at });
    expect(campaign.status).toBe('scheduled');
    expect(queued).toEqual([{ job: { kind: 'campaign', campaignId: campaign.id, hop: 0 }, delaySeconds: -1 }]);
    expect(await dispatchHop(deps, queued[0]!.job)).toEqual({ kind: 'done', reason: 'not due yet' });
    expect(queued[1]).toEqual({ job: { kind: 'campaign', campaignId: campaign.id, hop: 0 }, delaySeconds: 900 });
    now = new Date(Date.parse(at) + 1000);
    expect(await dispatchHop(deps, queued[1]!.job)).toMatchObject({ kind: 'dispatched', recipients: 2 });
    expect((await delivery.getCampaign(campaign.id))?.value).toMatchObject({ status: 'completed', startedAt: now.toISOString() });
  });

  it('gives one message to a contact listed twice, to the first listing', async () => {
    const campaign = await start(3, {
      ratePerSecond: 10,
      users: (i) => (i === 2 ? `${sequence * 100_000 + 0}` : `${sequence * 100_000 + i}`),
    });
    await dispatchHop(deps, queued[0]!.job);
    const recipients = (await delivery.listRecipients(campaign.id, 0, 10)).map((r) => r.value);
    expect(recipients.map((r) => [r.seq, r.state, r.reason?.code])).toEqual([
      [0, 'queued', undefined],
      [1, 'queued', undefined],
      [2, 'skipped', 'duplicate'],
    ]);
  });
});

describe('cancelling and counting', () => {
  it('stops the chain, fails the messages queued but not sent as campaign_cancelled, and counts them cancelled', async () => {
    const campaign = await start(6, { ratePerSecond: 3 });
    await dispatchHop(deps, queued[0]!.job);
    await cancelCampaign(delivery, campaign.id, now.toISOString());
    expect(await dispatchHop(deps, queued[1]!.job)).toEqual({ kind: 'done', reason: 'campaign is cancelled' });

    const connector = connectors.telegram as Connector;
    const [message] = await messagesOf(campaign.id);
    const outcome = await deliver(
      { kind: 'deliver', channel: 'telegram', threadId: message!.threadId, messageId: message!.messageId, lane: 'proactive' },
      { receiveCount: 1, maxReceiveCount: 8, claimToken: 'r1', claimSeconds: 30 },
      {
        store: conversations,
        secrets: { get: async () => ({ webhookSecret: 's', botToken: `${BOT}:AAA` }), put: async () => {} },
        clock: { now: () => now },
        log: silent,
        fetch: globalThis.fetch,
        apiBaseUrls: { telegram: telegram.baseUrl },
        connectorFor: () => connector,
        requeue: async () => {},
        campaignCancelled: async (id) => (await delivery.getCampaign(id))?.value.status === 'cancelled',
      },
    );
    expect(outcome).toMatchObject({ kind: 'failed', failure: { code: 'campaign_cancelled' } });
    expect(telegram.calls).toEqual([]);
    const failed = await conversations.getMessage(message!.threadId, message!.messageId);
    await recordProgress(delivery, failed!.value, 'queued', now.toISOString());
    const counts = countsOf((await delivery.getCampaign(campaign.id))!.value, await delivery.listCounters(campaign.id));
    expect(counts).toMatchObject({ total: 6, pending: 0, queued: 2, cancelled: 4 });
  });

  it('sends nothing of a message that waited for its pacing turn while the campaign was cancelled', async () => {
    const campaign = await start(6, { ratePerSecond: 3 });
    await dispatchHop(deps, queued[0]!.job);
    const [message] = await messagesOf(campaign.id);
    const stored = await conversations.getMessage(message!.threadId, message!.messageId);
    // The account's rate is taken for the next 3 s (a campaign before this one): the message waits for its turn.
    let pacingNow = now.getTime();
    await delivery.commit([
      {
        kind: 'pacing',
        op: 'put',
        value: { key: accountPacingKey('telegram', stored!.value.accountId), tat: pacingNow + 3_000 },
        version: NEW_RECORD,
      },
    ]);
    let cancelledWhileWaiting = false;
    const connector = connectors.telegram as Connector;
    const outcome = await deliver(
      { kind: 'deliver', channel: 'telegram', threadId: message!.threadId, messageId: message!.messageId, lane: 'proactive' },
      { receiveCount: 1, maxReceiveCount: 8, claimToken: 'r1', claimSeconds: 30 },
      {
        store: conversations,
        secrets: { get: async () => ({ webhookSecret: 's', botToken: `${BOT}:AAA` }), put: async () => {} },
        clock: { now: () => now },
        log: silent,
        fetch: globalThis.fetch,
        apiBaseUrls: { telegram: telegram.baseUrl },
        connectorFor: () => connector,
        requeue: async () => {},
        campaignCancelled: async (id) => (await delivery.getCampaign(id))?.value.status === 'cancelled',
        pacing: {
          deps: {
            store: delivery,
            now: () => pacingNow,
            // The operator cancels while the message waits for its turn.
            sleep: async (ms) => {
              if (!cancelledWhileWaiting) await cancelCampaign(delivery, campaign.id, now.toISOString());
              cancelledWhileWaiting = true;
              pacingNow += ms;
            },
          },
          maxWaitMs: { interactive: 2_000, proactive: 5_000 },
        },
      },
    );

    expect(cancelledWhileWaiting).toBe(true);
    expect(telegram.calls).toEqual([]);
    expect(outcome).toMatchObject({ kind: 'failed', failure: { code: 'campaign_cancelled' } });
    expect((await conversations.getMessage(message!.threadId, message!.messageId))?.value).toMatchObject({
      status: 'failed',
      failure: { code: 'campaign_cancelled' },
    });
  });

  it('counts each status once, whatever the order and repetition of the events', async () => {
    const campaign = await start(2, { ratePerSecond: 10 });
    await dispatchHop(deps, queued[0]!.job);
    const progress = (status: string, seq: number, previous = 'queued', failureCode?: string) =>
      recordProgress(
        delivery,
        {
          status,
          notification: { campaignId: campaign.id, recipient: seq },
          ...(failureCode && { failure: { code: failureCode, message: 'x' } }),
        },
        previous,
        now.toISOString(),
      );
    expect(await progress('sent', 0)).toBe(true);
    expect(await progress('sent', 0)).toBe(false);
    expect(await progress('read', 0, 'sent')).toBe(true);
    expect(await progress('delivered', 0, 'sent')).toBe(false);
    expect(await progress('failed', 1, 'queued', '131026')).toBe(true);
    // A redrive takes the failed one back to queued, and it is sent then.
    expect(await progress('queued', 1, 'failed')).toBe(true);
    expect(await progress('sent', 1)).toBe(true);
    const counts = countsOf((await delivery.getCampaign(campaign.id))!.value, await delivery.listCounters(campaign.id));
    expect(counts).toMatchObject({ total: 2, queued: 0, sent: 1, read: 1, failed: 0, delivered: 0 });
  });
});
