/**
 * Proactive messages against a caller who holds a `write` key and wants to reach customers who said no: consent
 * dated ahead of the customer's STOP, an opt-out left behind by a merge, a failed marketing message sent again
 * after the customer opted out. The API runs as the Lambda runs it, over the real stores (local DynamoDB engine).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apiKeyRecord, generateApiKey } from '../../api/auth.ts';
import { createApi } from '../../api/app.ts';
import type { ApiDeps } from '../../api/deps.ts';
import { DynamoAccountStore, DynamoApiKeyStore, DynamoIdempotencyStore } from '../../adapters/aws/store/access.ts';
import { DynamoConversationStore } from '../../adapters/aws/store/conversations.ts';
import { DynamoDeliveryStore } from '../../adapters/aws/store/delivery.ts';
import { DynamoTable } from '../../adapters/aws/store/table.ts';
import { DynamoRoutingStore } from '../../adapters/aws/store/routing.ts';
import { DynamoWebhookStore } from '../../adapters/aws/store/webhooks.ts';
import { accountOf, capabilitiesOf } from '../../connectors/capabilities.ts';
import { AccountResolver } from '../../domain/accounts.ts';
import type { Credentials } from '../../domain/connector.ts';
import type { Channel } from '../../domain/content.ts';
import { resolveIdentity } from '../../domain/conversations/identities.ts';
import { applyInbound } from '../../domain/conversations/threads.ts';
import { consentEntryId, keywordOptOut, recordConsent } from '../../domain/delivery/consent.ts';
import type { OutboundJob } from '../../domain/delivery/outbound.ts';
import type { Log, SecretStore } from '../../domain/ports.ts';
import { LocalSecretStore } from '../../adapters/local/local-secrets.ts';
import { advanceStatus } from '../../domain/conversations/messages.ts';
import { localContext } from '../../functions/kit/handler.ts';
import { memoryMetrics } from '../../functions/kit/observability.ts';
import { create as createTelegramSender } from '../../functions/senders/telegram.ts';
import { environmentOf, FUNCTIONS } from '../../topology/topology.ts';
import { startFakeTelegram, type FakeTelegram } from '../helpers/fake-telegram.ts';
import { sqsEvent } from '../helpers/lambda-events.ts';
import { startLocalDynamo, type LocalDynamoHarness } from '../helpers/local-dynamo.ts';

const silent: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const BOT = '7712345678';

class Clock {
  current = new Date('2026-11-26T10:00:00.000Z');
  now = () => new Date(this.current);
  advance(ms: number) {
    this.current = new Date(this.current.getTime() + ms);
  }
}

let harness: LocalDynamoHarness;
let conversations: DynamoConversationStore;
let delivery: DynamoDeliveryStore;
let clock: Clock;
let app: ReturnType<typeof createApi>;
let outbound: OutboundJob[];
let telegram: FakeTelegram;
const credentials: Partial<Record<Channel, Credentials>> = { telegram: { webhookSecret: 's', botToken: `${BOT}:AAApi` } };
const secrets: SecretStore = { get: async (channel) => credentials[channel], put: async () => {} };
let writer: string;

beforeAll(async () => {
  harness = await startLocalDynamo();
  telegram = await startFakeTelegram();
  const table = new DynamoTable({ client: harness.client, tableName: harness.tableName });
  conversations = new DynamoConversationStore({ table, clock: { now: () => clock.now() } });
  delivery = new DynamoDeliveryStore(table);
  const keys = new DynamoApiKeyStore(table);
  const writeKey = generateApiKey();
  await keys.create(apiKeyRecord(writeKey.secret, 'writer', '2026-11-26T00:00:00.000Z', ['write']));
  writer = writeKey.secret;
  const deps: ApiDeps = {
    conversations,
    keys,
    accounts: new DynamoAccountStore(table),
    idempotency: new DynamoIdempotencyStore(table),
    media: { put: async () => {}, get: async () => undefined, head: async () => undefined, delete: async () => {} },
    clock: { now: () => clock.now() },
    log: silent,
    channels: ['telegram'],
    capabilities: capabilitiesOf,
    account: accountOf,
    secrets,
    accountIds: new AccountResolver({ fetch: globalThis.fetch, apiBaseUrls: {} }),
    webhooks: new DynamoWebhookStore(table),
    deliveries: { send: async () => {} },
    delivery,
    routing: new DynamoRoutingStore(table),
    campaigns: { send: async () => {} },
    scheduler: { schedule: async () => {} },
    outbound: { send: async (job) => void outbound.push(job) },
  };
  app = createApi(deps);
});
afterAll(async () => {
  await telegram?.close();
  await harness?.stop();
});
beforeEach(() => {
  clock = new Clock();
  outbound = [];
  telegram.reset();
});

const call = async <T = Record<string, unknown>>(method: string, path: string, body?: unknown, key = writer) => {
  const response = await app.request(path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
};

/** A Telegram customer who wrote a minute ago: identity, contact, and a thread with its route. */
const telegramCustomer = async (userId: string) => {
  const at = new Date(clock.now().getTime() - 60_000).toISOString();
  const { identity } = await resolveIdentity(
    conversations,
    { channel: 'telegram', accountId: BOT, externalUserId: userId, kind: 'direct' },
    at,
  );
  const thread = await conversations.getThread(identity.value.threadId);
  const change = applyInbound(thread!.value, {
    messageId: `in-${userId}`,
    channel: 'telegram',
    accountId: BOT,
    conversation: { externalId: userId, kind: 'direct' },
    occurredAt: at,
    at,
    windowHours: 24,
  });
  await conversations.commit([{ kind: 'thread', op: 'put', value: change.thread, version: thread!.version }]);
  return identity.value;
};

/** The customer writes `STOP` now: the thread writer records the opt-out as it does (functions/thread-writer.ts). */
const customerWritesStop = async (contactId: string, messageId: string) => {
  const at = clock.now().toISOString();
  await recordConsent(
    delivery,
    keywordOptOut({
      id: consentEntryId(at, 'opted_out', 'telegram', BOT, messageId),
      contactId,
      channel: 'telegram',
      keyword: 'STOP',
      at,
      recordedAt: at,
    }),
  );
};

const promo = (to: unknown) => ({ to, content: { type: 'text', text: 'Black Friday: 50% off' }, purpose: 'marketing' });

describe('consent a write key cannot forge', () => {
  it('refuses a consent dated in the future, so the STOP the customer writes next still stops marketing', async () => {
    const customer = await telegramCustomer('5001');
    const to = { contactId: customer.contactId };
    const ahead = await call<{ code: string; message: string }>('POST', '/v1/consents', {
      to,
      purpose: 'marketing',
      status: 'opted_in',
      at: '2099-01-01T00:00:00.000Z',
    });
    expect(ahead).toMatchObject({ status: 400, body: { code: 'invalid_request', message: expect.stringContaining('future') } });
    // Consent given now (or a moment ahead by the integrator's clock) is taken, as of now.
    const given = await call<{ at: string; current: boolean }>('POST', '/v1/consents', {
      to,
      purpose: 'marketing',
      status: 'opted_in',
      at: new Date(clock.now().getTime() + 30_000).toISOString(),
    });
    expect(given).toMatchObject({ status: 201, body: { at: clock.now().toISOString(), current: true } });
    expect((await call('POST', '/v1/notifications', promo(to))).status).toBe(202);

    clock.advance(5_000);
    await customerWritesStop(customer.contactId, 'stop-5001');
    const after = await call<{ code: string }>('POST', '/v1/notifications', promo(to));
    expect(after).toMatchObject({ status: 422, body: { code: 'no_consent' } });
  });
});

describe('an opt-out and a merge', () => {
  it("keeps the merged contact's STOP: marketing to the survivor on that channel is refused, to either identity", async () => {
    const survivor = await telegramCustomer('5101');
    const other = await telegramCustomer('5102');
    // The survivor opted in to marketing on every channel last week; the other identity's person wrote STOP today.
    const optIn = await call('POST', '/v1/consents', {
      to: { contactId: survivor.contactId },
      purpose: 'marketing',
      status: 'opted_in',
      at: '2026-11-19T10:00:00.000Z',
    });
    expect(optIn.status).toBe(201);
    await customerWritesStop(other.contactId, 'stop-5102');
    expect(
      (await call<{ code: string }>('POST', '/v1/notifications', promo({ channel: 'telegram', externalUserId: '5102' }))).body.code,
    ).toBe('no_consent');

    const merged = await call('POST', `/v1/contacts/${survivor.contactId}/merge`, { contactId: other.contactId });
    expect(merged.status).toBe(200);
    // The survivor's consent as the API shows it is the one sending goes by: the merged-in STOP decides marketing.
    const shown = await call<{ current: { purpose: string; status: string; channel?: string }[] }>(
      'GET',
      `/v1/consents?contactId=${survivor.contactId}`,
    );
    // The latest change first: today's STOP on Telegram, then last week's opt-in on every channel.
    expect(shown.body.current.filter((entry) => entry.purpose === 'marketing')).toEqual([
      expect.objectContaining({ status: 'opted_out', channel: 'telegram' }),
      expect.objectContaining({ status: 'opted_in' }),
    ]);
    for (const to of [
      { channel: 'telegram', externalUserId: '5102' },
      { channel: 'telegram', externalUserId: '5101' },
      { contactId: other.contactId },
      { contactId: survivor.contactId },
    ]) {
      const refused = await call<{ code: string }>('POST', '/v1/notifications', promo(to));
      expect(refused, JSON.stringify(to)).toMatchObject({ status: 422, body: { code: 'no_consent' } });
    }
    // A later opt-in of the person (every channel) is theirs to give: it decides again.
    clock.advance(60_000);
    expect(
      (await call('POST', '/v1/consents', { to: { contactId: survivor.contactId }, purpose: 'marketing', status: 'opted_in' })).status,
    ).toBe(201);
    expect((await call('POST', '/v1/notifications', promo({ contactId: survivor.contactId }))).status).toBe(202);
  });
});

describe('a STOP written while two contacts were merged', () => {
  it('still stops marketing to both after the unmerge (an opt-in given before the merge does not decide again)', async () => {
    const survivor = await telegramCustomer('5301');
    const other = await telegramCustomer('5302');
    clock.advance(60_000);
    // Both opted in to marketing before anything was merged.
    for (const contact of [survivor, other]) {
      expect(
        (await call('POST', '/v1/consents', { to: { contactId: contact.contactId }, purpose: 'marketing', status: 'opted_in' })).status,
      ).toBe(201);
    }
    clock.advance(60_000);
    expect((await call('POST', `/v1/contacts/${survivor.contactId}/merge`, { contactId: other.contactId })).status).toBe(200);
    // The customer of the merged-in identity writes STOP: the thread writer records it on the joined contact.
    clock.advance(60_000);
    await customerWritesStop(survivor.contactId, 'stop-5302');
    clock.advance(60_000);
    const undone = await call('POST', `/v1/contacts/${survivor.contactId}/unmerge`, { contactId: other.contactId });
    expect(undone.status).toBe(200);

    for (const to of [{ contactId: other.contactId }, { contactId: survivor.contactId }, { channel: 'telegram', externalUserId: '5302' }]) {
      const refused = await call<{ code: string }>('POST', '/v1/notifications', promo(to));
      expect(refused, JSON.stringify(to)).toMatchObject({ status: 422, body: { code: 'no_consent' } });
    }
    const ledger = await call<{ items: { status: string; source: string; detail?: string }[] }>(
      'GET',
      `/v1/consents?contactId=${other.contactId}`,
    );
    expect(ledger.body.items[0]).toMatchObject({ status: 'opted_out', source: 'keyword', detail: 'STOP' });
    // Undone again (a retried request): nothing more is recorded.
    const entries = ledger.body.items.length;
    expect((await call('POST', `/v1/contacts/${survivor.contactId}/unmerge`, { contactId: other.contactId })).status).toBe(409);
    expect((await call<{ items: unknown[] }>('GET', `/v1/consents?contactId=${other.contactId}`)).body.items).toHaveLength(entries);
  });
});

describe('an opt-out after a marketing message was queued', () => {
  /** Telegram's sender Lambda as deployed: with the delivery store (pacing, campaigns, consent). */
  const runSender = async (job: OutboundJob) => {
    const handler = createTelegramSender(
      {
        conversations,
        delivery,
        secrets: new LocalSecretStore({
          telegram: { credentials: { webhookSecret: 's', botToken: `${BOT}:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0` }, accountId: BOT },
        }),
        clock: { now: () => clock.now() },
        observability: { log: silent, metrics: memoryMetrics(), middlewares: [] },
        fetch: globalThis.fetch,
        apiBaseUrls: { telegram: telegram.baseUrl },
        visibility: { setVisibilityTimeout: async () => {} },
        outbound: { send: async () => {} },
      },
      environmentOf(FUNCTIONS['sender-telegram']),
    );
    return handler(sqsEvent([job], { receiveCount: 1, sentAt: Date.now() }), localContext('sender-telegram'));
  };

  it('is not sent: the sender fails it as no_consent, and a write key cannot send it again', async () => {
    const customer = await telegramCustomer('5201');
    const to = { contactId: customer.contactId };
    expect(
      (await call('POST', '/v1/consents', { to, purpose: 'marketing', status: 'opted_in', at: '2026-11-19T10:00:00.000Z' })).status,
    ).toBe(201);
    const queued = await call<{ id: string; threadId: string; status: string }>('POST', '/v1/notifications', promo(to));
    expect(queued.body.status).toBe('queued');
    const job: OutboundJob = {
      kind: 'deliver',
      channel: 'telegram',
      threadId: queued.body.threadId,
      messageId: queued.body.id,
      lane: 'proactive',
    };

    clock.advance(1_000);
    await customerWritesStop(customer.contactId, 'stop-5201');
    await runSender(job);
    expect(telegram.calls).toEqual([]);
    const failed = await call<{ status: string; failure: { code: string } }>('GET', `/v1/notifications/${queued.body.id}`);
    expect(failed.body).toMatchObject({ status: 'failed', failure: { code: 'no_consent' } });

    for (const path of [
      `/v1/notifications/${queued.body.id}/retry`,
      `/v1/threads/${queued.body.threadId}/messages/${queued.body.id}/retry`,
    ]) {
      const again = await call<{ code: string }>('POST', path, {});
      expect(again, path).toMatchObject({ status: 422, body: { code: 'no_consent' } });
    }
    expect((await call<{ status: string }>('GET', `/v1/notifications/${queued.body.id}`)).body.status).toBe('failed');
  });

  it('a failed marketing message sent again after the STOP is refused by the retry, and by the sender if it was queued anyway', async () => {
    const customer = await telegramCustomer('5202');
    const to = { contactId: customer.contactId };
    await call('POST', '/v1/consents', { to, purpose: 'marketing', status: 'opted_in', at: '2026-11-19T10:00:00.000Z' });
    const sent = await call<{ id: string; threadId: string }>('POST', '/v1/notifications', promo(to));
    // The provider was down: the sender gave up on it.
    const message = await conversations.getMessage(sent.body.threadId, sent.body.id);
    const gaveUp = advanceStatus(message!.value, {
      status: 'failed',
      at: clock.now().toISOString(),
      failure: { kind: 'retryable', message: 'HTTP 503', attempts: 8 },
    });
    await conversations.commit([{ kind: 'message', op: 'put', value: gaveUp.message, version: message!.version }]);
    clock.advance(1_000);
    await customerWritesStop(customer.contactId, 'stop-5202');
    expect((await call<{ code: string }>('POST', `/v1/notifications/${sent.body.id}/retry`, {})).body.code).toBe('no_consent');
    // A redrive from the dead-letter queue goes straight to the sender.
    await runSender({ kind: 'deliver', channel: 'telegram', threadId: sent.body.threadId, messageId: sent.body.id, lane: 'proactive' });
    expect(telegram.calls).toEqual([]);
    expect((await call<{ failure: { code: string } }>('GET', `/v1/notifications/${sent.body.id}`)).body.failure.code).toBe('no_consent');
  });

  it('a transactional notification still goes after a marketing STOP', async () => {
    // Clear of the account's pace left by any send of another test (the pacing record outlives the test's clock).
    clock.advance(3_600_000);
    const customer = await telegramCustomer('5203');
    await customerWritesStop(customer.contactId, 'stop-5203');
    const sent = await call<{ id: string; threadId: string }>('POST', '/v1/notifications', {
      to: { contactId: customer.contactId },
      content: { type: 'text', text: 'Your order shipped' },
      purpose: 'transactional',
    });
    expect(sent.status).toBe(202);
    await runSender({ kind: 'deliver', channel: 'telegram', threadId: sent.body.threadId, messageId: sent.body.id, lane: 'proactive' });
    expect(telegram.calls.map((c) => c.body['text'])).toEqual(['Your order shipped']);
  });
});

describe('campaign listings a caller pages through', () => {
  it('answers an empty page for a position past the last one, not a 500', async () => {
    const created = await call<{ id: string }>('POST', '/v1/campaigns', {
      content: { type: 'text', text: 'Hello' },
      purpose: 'transactional',
      recipients: [{ channel: 'telegram', externalUserId: '5301' }],
      draft: true,
    });
    for (const from of ['1', '999999999', '1000000000', '9999999999']) {
      const page = await call<{ items: unknown[] }>('GET', `/v1/campaigns/${created.body.id}/recipients?from=${from}`);
      expect(page, from).toMatchObject({ status: 200, body: { items: [] } });
    }
    const unsafe = await call('GET', `/v1/campaigns/${created.body.id}/recipients?from=99999999999999999999`);
    expect(unsafe).toMatchObject({ status: 400, body: { code: 'invalid_request' } });
  });
});
