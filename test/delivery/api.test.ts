/**
 * The proactive routes of the integrator API on the real stores (the local DynamoDB engine): the template registry
 * (registered, and read from a fake of the WhatsApp Business Management API), template parameters checked before a
 * message is queued, consent ledger order, campaign drafts filled in batches, scheduled starts, redrive of a failed
 * notification, push usage and scopes. The API runs as the Lambda runs it: the Hono app over ports.
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
import { providerTemplates } from '../../connectors/templates.ts';
import { AccountResolver } from '../../domain/accounts.ts';
import type { Credentials } from '../../domain/connector.ts';
import type { Channel } from '../../domain/content.ts';
import { resolveIdentity } from '../../domain/conversations/identities.ts';
import { applyInbound } from '../../domain/conversations/threads.ts';
import type { CampaignJob } from '../../domain/delivery/campaigns.ts';
import { advanceStatus } from '../../domain/conversations/messages.ts';
import type { OutboundJob } from '../../domain/delivery/outbound.ts';
import type { Log, SecretStore } from '../../domain/ports.ts';
import { startApiHarness } from '../helpers/api-harness.ts';
import { startLocalDynamo, type LocalDynamoHarness } from '../helpers/local-dynamo.ts';
import { createFakeGraph } from '../helpers/whatsapp-fake-graph.ts';

const silent: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const WA_NUMBER = '106540352242922';

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
let keys: DynamoApiKeyStore;
let clock: Clock;
let app: ReturnType<typeof createApi>;
let campaignJobs: { job: CampaignJob; delaySeconds?: number }[];
let scheduled: { job: CampaignJob; at: Date }[];
let outbound: OutboundJob[];
const graph = createFakeGraph();
const credentials: Partial<Record<Channel, Credentials>> = {
  whatsapp: { appSecret: 's', verifyToken: 'v', accessToken: 'EAAG-token', phoneNumberId: WA_NUMBER, businessAccountId: '102290129340398' },
  telegram: { webhookSecret: 's', botToken: '7712345678:AAApi' },
  line: { channelSecret: 's', channelAccessToken: 'line-token' },
};
const secrets: SecretStore = { get: async (channel) => credentials[channel], put: async () => {} };
let admin: string;
let reader: string;

beforeAll(async () => {
  harness = await startLocalDynamo();
  const table = new DynamoTable({ client: harness.client, tableName: harness.tableName });
  conversations = new DynamoConversationStore({ table, clock: { now: () => clock.now() } });
  delivery = new DynamoDeliveryStore(table);
  keys = new DynamoApiKeyStore(table);
  const adminKey = generateApiKey();
  const readKey = generateApiKey();
  await keys.create(apiKeyRecord(adminKey.secret, 'admin', '2026-11-26T00:00:00.000Z', ['admin']));
  await keys.create(apiKeyRecord(readKey.secret, 'reader', '2026-11-26T00:00:00.000Z', ['read']));
  admin = adminKey.secret;
  reader = readKey.secret;
  const deps: ApiDeps = {
    conversations,
    keys,
    accounts: new DynamoAccountStore(table),
    idempotency: new DynamoIdempotencyStore(table),
    media: { put: async () => {}, get: async () => undefined, head: async () => undefined, delete: async () => {} },
    clock: { now: () => clock.now() },
    log: silent,
    channels: ['whatsapp', 'telegram', 'line'],
    capabilities: capabilitiesOf,
    account: accountOf,
    secrets,
    accountIds: new AccountResolver({ fetch: graph.fetch, apiBaseUrls: {} }),
    webhooks: new DynamoWebhookStore(table),
    deliveries: { send: async () => {} },
    delivery,
    routing: new DynamoRoutingStore(table),
    campaigns: {
      send: async (job, options) =>
        void campaignJobs.push({ job, ...(options?.delaySeconds !== undefined && { delaySeconds: options.delaySeconds }) }),
    },
    scheduler: { schedule: async (job, at) => void scheduled.push({ job, at }) },
    outbound: { send: async (job) => void outbound.push(job) },
    providerTemplates: (channel, accountId, settings) =>
      providerTemplates(channel, accountId, settings, {
        fetch: graph.fetch,
        apiBaseUrls: { whatsapp: 'https://graph.test' },
        now: clock.now(),
      }),
  };
  app = createApi(deps);
});
afterAll(async () => harness?.stop());
beforeEach(() => {
  clock = new Clock();
  campaignJobs = [];
  scheduled = [];
  outbound = [];
  graph.reset();
});

const call = async <T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
  key = admin,
  headers: Record<string, string> = {},
) => {
  const response = await app.request(path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
};

/** A WhatsApp customer who wrote `hoursAgo` hours ago: identity, contact, thread with its route and window. */
const whatsappCustomer = async (phone: string, hoursAgo: number) => {
  const at = new Date(clock.now().getTime() - hoursAgo * 3_600_000).toISOString();
  const { identity } = await resolveIdentity(
    conversations,
    { channel: 'whatsapp', accountId: WA_NUMBER, externalUserId: phone, kind: 'direct' },
    at,
  );
  const thread = await conversations.getThread(identity.value.threadId);
  const change = applyInbound(thread!.value, {
    messageId: `in-${phone}`,
    channel: 'whatsapp',
    accountId: WA_NUMBER,
    conversation: { externalId: phone, kind: 'direct' },
    occurredAt: at,
    at,
    windowHours: 24,
  });
  await conversations.commit([{ kind: 'thread', op: 'put', value: change.thread, version: thread!.version }]);
  return identity.value;
};

describe('the template registry', () => {
  it("reads the business account's templates from the provider, with the parameters each takes", async () => {
    graph.script({
      status: 200,
      body: {
        data: [
          {
            name: 'order_update',
            language: 'en_US',
            category: 'UTILITY',
            status: 'APPROVED',
            id: '1',
            components: [
              { type: 'HEADER', format: 'TEXT', text: 'Order {{1}}' },
              { type: 'BODY', text: 'Hi {{1}}, your order {{2}} ships {{3}}.' },
              {
                type: 'BUTTONS',
                buttons: [
                  { type: 'URL', text: 'Track', url: 'https://shop.example/track/{{1}}' },
                  { type: 'QUICK_REPLY', text: 'Stop promotions' },
                ],
              },
            ],
          },
          {
            name: '2023_april_promo',
            language: 'en_US',
            category: 'MARKETING',
            status: 'APPROVED',
            id: '2',
            components: [{ type: 'BODY', text: 'Hi {{1}}, our Fall Sale is on! Use promo code {{2}}' }],
          },
          {
            name: 'rejected_one',
            language: 'es',
            category: 'MARKETING',
            status: 'REJECTED',
            id: '3',
            components: [{ type: 'BODY', text: 'Hola' }],
          },
        ],
        paging: { cursors: { before: 'MAZDZD', after: 'MjQZD' } },
      },
    });
    const synced = await call<{
      items: { name: string; category: string; status: string; header?: unknown; body: unknown; buttons: unknown[] }[];
    }>('POST', '/v1/templates/sync', { channel: 'whatsapp' });
    expect(synced.status).toBe(200);
    expect(graph.calls[0]?.url).toBe(
      'https://graph.test/v23.0/102290129340398/message_templates?fields=name,language,category,status,parameter_format,components&limit=100',
    );
    expect(graph.calls[0]?.headers['authorization']).toBe('Bearer EAAG-token');
    expect(synced.body.items[0]).toMatchObject({
      name: 'order_update',
      category: 'utility',
      status: 'approved',
      header: { format: 'text', parameters: 1 },
      body: { kind: 'positional', count: 3 },
      buttons: [
        { index: 0, type: 'url', dynamic: true },
        { index: 1, type: 'quick_reply', dynamic: false },
      ],
    });
    const listed = await call<{ items: { name: string }[] }>('GET', '/v1/templates?channel=whatsapp', undefined, reader);
    expect(listed.body.items.map((t) => t.name).sort()).toEqual(['2023_april_promo', 'order_update', 'rejected_one']);
  });

  it('checks a template message against the registry before queueing it', async () => {
    await whatsappCustomer('15550102001', 30);
    const to = { channel: 'whatsapp', externalUserId: '15550102001' };
    const wrong = await call<{ code: string; message: string }>('POST', '/v1/notifications', {
      to,
      content: { type: 'template', name: 'order_update', language: 'en_US', body: ['Ana'] },
      purpose: 'transactional',
    });
    expect(wrong.status).toBe(422);
    expect(wrong.body.code).toBe('invalid_template');
    expect(wrong.body.message).toContain('body takes 3 parameter(s), 1 given');
    expect(wrong.body.message).toContain('header that takes a parameter');
    expect(wrong.body.message).toContain('button 0 needs a urlSuffix');

    const rejected = await call<{ code: string; message: string }>('POST', '/v1/notifications', {
      to,
      content: { type: 'template', name: 'rejected_one', language: 'es' },
      purpose: 'transactional',
    });
    expect(rejected.body).toMatchObject({ code: 'invalid_template', message: expect.stringContaining('rejected, not approved') });

    const right = await call<{ id: string; status: string }>('POST', '/v1/notifications', {
      to,
      content: {
        type: 'template',
        name: 'order_update',
        language: 'en_US',
        header: { type: 'text', text: 'A-1029' },
        body: ['Ana', 'A-1029', 'today'],
        buttons: [{ index: 0, urlSuffix: 'A-1029' }],
      },
      purpose: 'transactional',
    });
    expect(right.status).toBe(202);
    expect(outbound).toEqual([expect.objectContaining({ kind: 'deliver', messageId: right.body.id, lane: 'proactive' })]);
  });

  it('treats a marketing template as marketing, whatever the request says', async () => {
    await whatsappCustomer('15550102002', 2);
    const refused = await call<{ code: string }>('POST', '/v1/notifications', {
      to: { channel: 'whatsapp', externalUserId: '15550102002' },
      content: { type: 'template', name: '2023_april_promo', language: 'en_US', body: ['Ana', 'FALL25'] },
      purpose: 'transactional',
    });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('no_consent');
  });

  it('registers a template by hand (admin only), for accounts whose templates cannot be read', async () => {
    const template = {
      channel: 'whatsapp',
      name: 'hand_made',
      language: 'pt_BR',
      category: 'utility',
      status: 'approved',
      body: { kind: 'named', names: ['first_name'] },
    };
    expect((await call('POST', '/v1/templates', template, reader)).status).toBe(403);
    const made = await call<{ accountId: string; source: string }>('POST', '/v1/templates', template);
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ accountId: WA_NUMBER, source: 'api' });
    await whatsappCustomer('15550102003', 1);
    const positional = await call<{ code: string }>('POST', '/v1/notifications', {
      to: { channel: 'whatsapp', externalUserId: '15550102003' },
      content: { type: 'template', name: 'hand_made', language: 'pt_BR', body: ['Ana'] },
      purpose: 'transactional',
    });
    expect(positional.body.code).toBe('invalid_template');
    const telegram = await call<{ code: string }>('POST', '/v1/templates', { ...template, channel: 'telegram' });
    expect(telegram.status).toBe(400);
  });
});

describe('consent through the API', () => {
  it('keeps every change; a change that arrives late is history, not the current state', async () => {
    const identity = await whatsappCustomer('15550103001', 1);
    const to = { contactId: identity.contactId };
    const later = await call<{ current: boolean }>('POST', '/v1/consents', {
      to,
      channel: 'whatsapp',
      purpose: 'marketing',
      status: 'opted_in',
      source: 'checkout',
      at: '2026-11-20T10:00:00.000Z',
    });
    expect(later).toMatchObject({ status: 201, body: { current: true } });
    const earlier = await call<{ current: boolean }>('POST', '/v1/consents', {
      to,
      channel: 'whatsapp',
      purpose: 'marketing',
      status: 'opted_out',
      source: 'support_call',
      at: '2026-11-01T10:00:00.000Z',
    });
    expect(earlier).toMatchObject({ status: 201, body: { current: false } });
    const ledger = await call<{ current: { status: string }[]; items: { source: string }[] }>(
      'GET',
      `/v1/consents?contactId=${identity.contactId}`,
    );
    expect(ledger.body.items.map((e) => e.source)).toEqual(['checkout', 'support_call']);
    expect(ledger.body.current).toEqual([expect.objectContaining({ status: 'opted_in', source: 'checkout' })]);
    const promo = await call('POST', '/v1/notifications', { to, content: { type: 'text', text: 'Sale' }, purpose: 'marketing' });
    expect(promo.status).toBe(202);
  });

  it('replays a consent retried with its Idempotency-Key instead of recording it twice', async () => {
    const identity = await whatsappCustomer('15550103002', 1);
    const body = { to: { contactId: identity.contactId }, purpose: 'marketing', status: 'opted_in' };
    await call('POST', '/v1/consents', body, admin, { 'idempotency-key': 'consent-1' });
    await call('POST', '/v1/consents', body, admin, { 'idempotency-key': 'consent-1' });
    const ledger = await call<{ items: unknown[] }>('GET', `/v1/consents?contactId=${identity.contactId}`);
    expect(ledger.body.items).toHaveLength(1);
  });
});

describe('campaigns through the API', () => {
  it('fills a draft in batches, then starts it: one dispatch job', async () => {
    const recipients = (from: number) =>
      Array.from({ length: 1000 }, (_, i) => ({ channel: 'telegram', externalUserId: String(from + i) }));
    const draft = await call<{ id: string; status: string; counts: { total: number } }>('POST', '/v1/campaigns', {
      content: { type: 'text', text: 'Hello' },
      purpose: 'transactional',
      recipients: recipients(0),
      draft: true,
    });
    expect(draft.body).toMatchObject({ status: 'draft', counts: { total: 1000 } });
    const more = await call<{ counts: { total: number; pending: number } }>('POST', `/v1/campaigns/${draft.body.id}/recipients`, {
      recipients: recipients(1000),
    });
    expect(more.body.counts).toMatchObject({ total: 2000, pending: 2000 });
    expect(campaignJobs).toEqual([]);
    const started = await call<{ status: string }>('POST', `/v1/campaigns/${draft.body.id}/start`, {});
    expect(started.body.status).toBe('running');
    expect(campaignJobs).toEqual([{ job: { kind: 'campaign', campaignId: draft.body.id, hop: 0 } }]);
    await call('POST', `/v1/campaigns/${draft.body.id}/start`, {});
    expect(campaignJobs).toHaveLength(1);
    const listed = await call<{ items: { seq: number; to: unknown }[]; next?: number }>(
      'GET',
      `/v1/campaigns/${draft.body.id}/recipients?from=1998&limit=5`,
      undefined,
      reader,
    );
    expect(listed.body.items.map((r) => r.seq)).toEqual([1998, 1999]);
    expect(listed.body.next).toBeUndefined();
    const closed = await call<{ code: string }>('POST', `/v1/campaigns/${draft.body.id}/recipients`, {
      recipients: recipients(2000).slice(0, 1),
    });
    expect(closed).toMatchObject({ status: 422, body: { code: 'invalid_status_change' } });
  });

  it('schedules a start in the future, and refuses a request with both a template and a content', async () => {
    const at = new Date(clock.now().getTime() + 3 * 86_400_000).toISOString();
    const scheduledCampaign = await call<{ id: string; status: string; scheduledAt: string }>('POST', '/v1/campaigns', {
      template: { name: 'order_update', language: 'en_US' },
      purpose: 'transactional',
      recipients: [{ channel: 'whatsapp', externalUserId: '15550104001' }],
      scheduledAt: at,
    });
    expect(scheduledCampaign.body).toMatchObject({ status: 'scheduled', scheduledAt: at });
    expect(scheduled).toEqual([{ job: { kind: 'campaign', campaignId: scheduledCampaign.body.id, hop: 0 }, at: new Date(at) }]);
    const both = await call<{ code: string }>('POST', '/v1/campaigns', {
      template: { name: 'order_update', language: 'en_US' },
      content: { type: 'text', text: 'x' },
      purpose: 'transactional',
      recipients: [{ channel: 'whatsapp', externalUserId: '15550104001' }],
    });
    expect(both).toMatchObject({ status: 400, body: { code: 'invalid_request' } });
    const textOnLineTemplate = await call<{ code: string }>('POST', '/v1/campaigns', {
      template: { name: 'order_update', language: 'en_US' },
      purpose: 'transactional',
      recipients: [{ channel: 'line', externalUserId: 'U00000000000000000000000000000b1' }],
    });
    expect(textOnLineTemplate).toMatchObject({ status: 422, body: { code: 'unsupported_content' } });
  });

  it('makes one campaign of a POST retried with its Idempotency-Key: the same id, one dispatch job, each recipient once', async () => {
    const body = {
      content: { type: 'text', text: 'Your order has shipped' },
      purpose: 'transactional',
      recipients: [
        { channel: 'telegram', externalUserId: '7001' },
        { channel: 'telegram', externalUserId: '7002' },
      ],
    };
    const first = await call<{ id: string; counts: { total: number } }>('POST', '/v1/campaigns', body, admin, {
      'idempotency-key': 'campaign-retry-1',
    });
    expect(first).toMatchObject({ status: 202, body: { counts: { total: 2 } } });
    const retry = await call<{ id: string; counts: { total: number } }>('POST', '/v1/campaigns', body, admin, {
      'idempotency-key': 'campaign-retry-1',
    });
    expect(retry).toMatchObject({ status: 202, body: { id: first.body.id, counts: { total: 2 } } });
    expect(campaignJobs).toEqual([{ job: { kind: 'campaign', campaignId: first.body.id, hop: 0 } }]);
    const listed = await call<{ items: { seq: number }[] }>('GET', `/v1/campaigns/${first.body.id}/recipients`, undefined, reader);
    expect(listed.body.items.map((r) => r.seq)).toEqual([0, 1]);

    const reused = await call<{ code: string }>('POST', '/v1/campaigns', { ...body, purpose: 'marketing' }, admin, {
      'idempotency-key': 'campaign-retry-1',
    });
    expect(reused).toMatchObject({ status: 409, body: { code: 'idempotency_key_reused' } });
    expect(campaignJobs).toHaveLength(1);
  });

  it('cannot be cancelled once completed, and a read key cannot create one', async () => {
    expect(
      (
        await call(
          'POST',
          '/v1/campaigns',
          { content: { type: 'text', text: 'x' }, purpose: 'transactional', recipients: [{ contactId: 'ct_1' }] },
          reader,
        )
      ).status,
    ).toBe(403);
    expect((await call('POST', '/v1/campaigns/cmp_none/cancel', {})).status).toBe(404);
  });
});

describe('notifications through the API', () => {
  it('refuses a recipient on a channel account that is not registered with 400, making no contact and queueing nothing', async () => {
    // The integrator API as the runtime composes it: the channels' development credentials, no other account.
    const api = await startApiHarness();
    try {
      const request = (to: Record<string, string>) =>
        api.post('/v1/notifications', { to, content: { type: 'text', text: 'Your order has shipped' }, purpose: 'transactional' });
      const refused = await request({ channel: 'telegram', externalUserId: '4242', accountId: 'no-such-bot' });
      expect(refused.status).toBe(400);
      expect(refused.json).toMatchObject({ code: 'invalid_request', message: expect.stringContaining('no-such-bot') });
      const consent = await api.post('/v1/consents', {
        to: { channel: 'telegram', externalUserId: '4242', accountId: 'no-such-bot' },
        purpose: 'marketing',
        status: 'opted_in',
      });
      expect(consent.status).toBe(400);
      expect((await api.get('/v1/contacts', { query: { channel: 'telegram', externalUserId: '4242' } })).json.items).toEqual([]);
      expect((await api.outbox()).jobs).toEqual([]);

      // The default account, without an id or by the one it goes by, still takes it.
      const unnamed = await request({ channel: 'telegram', externalUserId: '4243' });
      expect(unnamed.status).toBe(202);
      const named = await request({ channel: 'telegram', externalUserId: '4242', accountId: unnamed.json.accountId });
      expect(named).toMatchObject({ status: 202, json: { accountId: unnamed.json.accountId } });
      // And so does an account registered since, even one without credentials of its own.
      expect((await api.post('/v1/accounts', { channel: 'telegram', accountId: 'second-bot' })).status).toBe(201);
      const registered = await request({ channel: 'telegram', externalUserId: '4242', accountId: 'second-bot' });
      expect(registered).toMatchObject({ status: 202, json: { accountId: 'second-bot' } });
    } finally {
      await api.stop();
    }
  });

  it('sends a failed notification again on request, and only a failed one', async () => {
    await whatsappCustomer('15550105001', 1);
    const sent = await call<{ id: string; threadId: string }>('POST', '/v1/notifications', {
      to: { channel: 'whatsapp', externalUserId: '15550105001' },
      content: { type: 'text', text: 'Your code is 1234' },
      purpose: 'transactional',
    });
    expect((await call<{ code: string }>('POST', `/v1/notifications/${sent.body.id}/retry`, {})).body.code).toBe('invalid_status_change');
    // The sender gave up on it (retries used up).
    const message = await conversations.getMessage(sent.body.threadId, sent.body.id);
    const failed = advanceStatus(message!.value, {
      status: 'failed',
      at: clock.now().toISOString(),
      failure: { kind: 'retryable', message: 'HTTP 503', attempts: 8 },
    });
    await conversations.commit([{ kind: 'message', op: 'put', value: failed.message, version: message!.version }]);
    const shown = await call<{ status: string; failure: { message: string } }>(
      'GET',
      `/v1/notifications/${sent.body.id}`,
      undefined,
      reader,
    );
    expect(shown.body).toMatchObject({ status: 'failed', failure: { message: 'HTTP 503' } });
    const retried = await call<{ status: string }>('POST', `/v1/notifications/${sent.body.id}/retry`, {});
    expect(retried).toMatchObject({ status: 202, body: { status: 'queued' } });
    expect((await call('GET', '/v1/notifications/msg_unknown', undefined, reader)).status).toBe(404);
  });

  it("answers a LINE account's pushes this month", async () => {
    const month = clock.now().toISOString().slice(0, 7);
    await delivery.countUsage('line', 'Ubot1', month, 'pushes', 3);
    await delivery.countUsage('line', 'Ubot1', month, 'pushes', 2);
    const usage = await call('GET', `/v1/usage/line/Ubot1?month=${month}`, undefined, reader);
    expect(usage.body).toEqual({ channel: 'line', accountId: 'Ubot1', month, pushes: 5 });
  });
});
