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
const credentials: Partial<Record<Channel, Credentials>> = { telegram: { webhookSecret: 's', botToken: `${BOT}:AAApi` } };
const secrets: SecretStore = { get: async (channel) => credentials[channel], put: async () => {} };
let writer: string;

beforeAll(async () => {
  harness = await startLocalDynamo();
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
afterAll(async () => harness?.stop());
beforeEach(() => {
  clock = new Clock();
  outbound = [];
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
  const { identity } = await resolveIdentity(conversations, { channel: 'telegram', accountId: BOT, externalUserId: userId, kind: 'direct' }, at);
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
    keywordOptOut({ id: consentEntryId(at, 'opted_out', 'telegram', BOT, messageId), contactId, channel: 'telegram', keyword: 'STOP', at, recordedAt: at }),
  );
};

const promo = (to: unknown) => ({ to, content: { type: 'text', text: 'Black Friday: 50% off' }, purpose: 'marketing' });

describe('consent a write key cannot forge', () => {
  it('refuses a consent dated in the future, so the STOP the customer writes next still stops marketing', async () => {
    const customer = await telegramCustomer('5001');
    const to = { contactId: customer.contactId };
    const ahead = await call<{ code: string; message: string }>('POST', '/v1/consents', { to, purpose: 'marketing', status: 'opted_in', at: '2099-01-01T00:00:00.000Z' });
    expect(ahead).toMatchObject({ status: 400, body: { code: 'invalid_request', message: expect.stringContaining('future') } });
    // Consent given now (or a moment ahead by the integrator's clock) is taken, as of now.
    const given = await call<{ at: string; current: boolean }>('POST', '/v1/consents', { to, purpose: 'marketing', status: 'opted_in', at: new Date(clock.now().getTime() + 30_000).toISOString() });
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
    const optIn = await call('POST', '/v1/consents', { to: { contactId: survivor.contactId }, purpose: 'marketing', status: 'opted_in', at: '2026-11-19T10:00:00.000Z' });
    expect(optIn.status).toBe(201);
    await customerWritesStop(other.contactId, 'stop-5102');
    expect((await call<{ code: string }>('POST', '/v1/notifications', promo({ channel: 'telegram', externalUserId: '5102' }))).body.code).toBe('no_consent');

    const merged = await call('POST', `/v1/contacts/${survivor.contactId}/merge`, { contactId: other.contactId });
    expect(merged.status).toBe(200);
    for (const to of [{ channel: 'telegram', externalUserId: '5102' }, { channel: 'telegram', externalUserId: '5101' }, { contactId: other.contactId }, { contactId: survivor.contactId }]) {
      const refused = await call<{ code: string }>('POST', '/v1/notifications', promo(to));
      expect(refused, JSON.stringify(to)).toMatchObject({ status: 422, body: { code: 'no_consent' } });
    }
    // A later opt-in of the person (every channel) is theirs to give: it decides again.
    clock.advance(60_000);
    expect((await call('POST', '/v1/consents', { to: { contactId: survivor.contactId }, purpose: 'marketing', status: 'opted_in' })).status).toBe(201);
    expect((await call('POST', '/v1/notifications', promo({ contactId: survivor.contactId }))).status).toBe(202);
  });
});
