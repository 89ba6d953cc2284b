/**
 * Proactive messages end to end on the local runtime, driven only through the contract's surface: customers write
 * through signed webhooks, the integrator sends notifications and campaigns and records consent through the API,
 * and local fakes of the Bot API and the WhatsApp Cloud API record what reaches them (and enforce the providers'
 * rate limits: nothing they refuse for speed is acceptable).
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message, Thread } from '../../domain/model.ts';
import { startRuntime, type Runtime } from '../../runtime/runtime.ts';
import { startFakeTelegram, type FakeTelegram } from '../helpers/fake-telegram.ts';
import { startFakeGraph, type FakeGraph } from '../helpers/messenger-fake-graph.ts';

const API_KEY = 'prl_e2e_notifications_0123456789';
const TG_SECRET = 'e2e-tg-secret_0123';
const TG_TOKEN = '7712345678:AAE2eProactiveNotReal';
const WA_SECRET = 'e2e-wa-app-secret';
const WA_PHONE_ID = '106540352242922';

let telegram: FakeTelegram;
let graph: FakeGraph;
let runtime: Runtime;
let dataDir: string;

beforeAll(async () => {
  // The providers' published limits, enforced by the fakes: Telegram 30/s overall and about one a second per chat
  // (bursts of 3 tolerated), WhatsApp 80/s per number.
  telegram = await startFakeTelegram({ perSecond: 30, perConversationPerSecond: 3 });
  graph = await startFakeGraph({ perSecond: 80 });
  dataDir = mkdtempSync(join(tmpdir(), 'parley-e2e-proactive-'));
  runtime = await startRuntime({
    port: 0,
    dataDir,
    logLevel: (process.env.E2E_LOG as 'info' | undefined) ?? 'silent',
    // Real time: the fakes check the providers' limits per real second, so the pacing must run in real seconds.
    env: {
      PARLEY_API_KEY: API_KEY,
      TELEGRAM_WEBHOOK_SECRET: TG_SECRET,
      TELEGRAM_BOT_TOKEN: TG_TOKEN,
      TELEGRAM_API_BASE_URL: telegram.baseUrl,
      WHATSAPP_APP_SECRET: WA_SECRET,
      WHATSAPP_VERIFY_TOKEN: 'verify',
      WHATSAPP_ACCESS_TOKEN: 'EAAG-e2e-token',
      WHATSAPP_PHONE_NUMBER_ID: WA_PHONE_ID,
      WHATSAPP_API_BASE_URL: graph.baseUrl,
    },
  });
});
afterAll(async () => {
  await runtime?.stop();
  await telegram?.close();
  await graph?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

let update = 1;
const telegramWrites = async (userId: number, text: string) => {
  const id = update++;
  const response = await fetch(`${runtime.url}/webhooks/telegram`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': TG_SECRET },
    body: JSON.stringify({
      update_id: 700_000 + id,
      message: {
        message_id: id,
        from: { id: userId, is_bot: false, first_name: `User${userId}` },
        chat: { id: userId, first_name: `User${userId}`, type: 'private' },
        date: Math.floor(Date.now() / 1000),
        text,
      },
    }),
  });
  expect(response.status).toBe(200);
};

let wamid = 1;
/** A customer's WhatsApp text, signed with the app secret as Meta signs it, written `hoursAgo` hours ago. */
const whatsappWrites = async (phone: string, text: string, hoursAgo = 0) => {
  const body = JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550100001', phone_number_id: WA_PHONE_ID },
              contacts: [{ profile: { name: 'Ana' }, wa_id: phone }],
              messages: [
                {
                  from: phone,
                  id: `wamid.IN${wamid++}`,
                  timestamp: String(Math.floor(Date.now() / 1000 - hoursAgo * 3600)),
                  type: 'text',
                  text: { body: text },
                },
              ],
            },
          },
        ],
      },
    ],
  });
  const signature = `sha256=${createHmac('sha256', WA_SECRET).update(body).digest('hex')}`;
  const response = await fetch(`${runtime.url}/webhooks/whatsapp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
    body,
  });
  expect(response.status).toBe(200);
};

const api = async <T = Record<string, unknown>>(path: string, init: RequestInit = {}) => {
  const response = await fetch(`${runtime.url}/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...init.headers },
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as T };
};
const post = <T = Record<string, unknown>>(path: string, body: unknown, key?: string) =>
  api<T>(path, { method: 'POST', body: JSON.stringify(body), headers: key ? { 'idempotency-key': key } : {} });

const until = async <T>(probe: () => Promise<T | undefined>, what: string, ms = 15_000): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

const notificationLeaves = (id: string) =>
  until(async () => {
    const { body } = await api<{ status: string; failure?: { message: string } }>(`/notifications/${id}`);
    return body.status === 'queued' ? undefined : body;
  }, `notification ${id} to leave queued`);

const threadOf = async (channel: string, externalUserId: string) =>
  (await api<{ items: Thread[] }>(`/threads?channel=${channel}&externalUserId=${externalUserId}`)).body.items[0];

describe('notifications', () => {
  it('sends a transactional notification to a Telegram user, once, whatever the retries of the request', async () => {
    await telegramWrites(4101, 'hi');
    await runtime.idle();
    const request = {
      to: { channel: 'telegram', externalUserId: '4101' },
      content: { type: 'text', text: 'Your order A-1029 has shipped' },
      purpose: 'transactional',
    };
    const first = await post<{ id: string; status: string }>('/notifications', request, 'ntf-tg-1');
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ status: 'queued', channel: 'telegram', purpose: 'transactional' });
    const again = await post<{ id: string }>('/notifications', request, 'ntf-tg-1');
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);

    const done = await notificationLeaves(first.body.id);
    expect(done).toMatchObject({ status: 'sent', externalId: expect.stringMatching(/^4101:\d+$/) });
    await runtime.idle();
    expect(telegram.calls.filter((c) => c.body['text'] === 'Your order A-1029 has shipped')).toHaveLength(1);
    // It is an outbound message of the customer's thread, by the system.
    const thread = await threadOf('telegram', '4101');
    const messages = (await api<{ items: Message[] }>(`/threads/${thread!.id}/messages`)).body.items;
    expect(messages.at(-1)).toMatchObject({
      id: first.body.id,
      direction: 'outbound',
      author: { role: 'system' },
      notification: { purpose: 'transactional' },
    });
  });

  it("refuses free text outside WhatsApp's 24-hour window, naming the template as the way, and sends the template", async () => {
    await whatsappWrites('15550109001', 'Is my order coming?', 25);
    await runtime.idle();
    const to = { channel: 'whatsapp', externalUserId: '+1 555 010 9001' };
    const refused = await post<{ code: string; message: string; details: { allowedInstead: string[] } }>('/notifications', {
      to,
      content: { type: 'text', text: 'Your order shipped' },
      purpose: 'transactional',
    });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('outside_messaging_window');
    expect(refused.body.message).toContain('24-hour window');
    expect(refused.body.details.allowedInstead).toEqual(['an approved template (content type `template`)']);

    const template = { type: 'template', name: 'order_update', language: 'en_US', body: ['A-1029'] };
    const sent = await post<{ id: string }>('/notifications', { to, content: template, purpose: 'transactional' }, 'ntf-wa-template');
    expect(sent.status).toBe(202);
    expect(await notificationLeaves(sent.body.id)).toMatchObject({ status: 'sent', externalId: expect.stringMatching(/^wamid\.FAKE/) });
    const call = graph.calls.find((c) => c.body['type'] === 'template' && c.body['to'] === '15550109001');
    expect(call?.path).toBe(`/v23.0/${WA_PHONE_ID}/messages`);
    expect(call?.body['template']).toMatchObject({ name: 'order_update', language: { code: 'en_US' } });
  });

  it('lets anything go inside the window, and an agent reply outside it gets the same 422', async () => {
    await whatsappWrites('15550109002', 'Hello', 1);
    await runtime.idle();
    const inside = await post('/notifications', {
      to: { channel: 'whatsapp', externalUserId: '15550109002' },
      content: { type: 'text', text: 'We are on it' },
      purpose: 'transactional',
    });
    expect(inside.status).toBe(202);

    await whatsappWrites('15550109003', 'Hello?', 30);
    await runtime.idle();
    const thread = await threadOf('whatsapp', '15550109003');
    const reply = await post<{ code: string }>(`/threads/${thread!.id}/messages`, {
      content: { type: 'text', text: 'Sorry for the wait' },
    });
    expect(reply.status).toBe(422);
    expect(reply.body.code).toBe('outside_messaging_window');
  });

  it('writes first to a WhatsApp number that never wrote, with a template, making its contact and thread', async () => {
    const to = { channel: 'whatsapp', externalUserId: '+15550109999' };
    const text = await post<{ code: string }>('/notifications', { to, content: { type: 'text', text: 'hi' }, purpose: 'transactional' });
    expect(text.status).toBe(422);
    expect(text.body.code).toBe('outside_messaging_window');
    expect(await threadOf('whatsapp', '15550109999')).toBeUndefined();

    const sent = await post<{ id: string; contactId: string }>('/notifications', {
      to,
      content: { type: 'template', name: 'appointment_reminder', language: 'en', body: ['tomorrow 10:00'] },
      purpose: 'transactional',
    });
    expect(sent.status).toBe(202);
    expect(await notificationLeaves(sent.body.id)).toMatchObject({ status: 'sent' });
    expect(graph.calls.some((c) => c.body['to'] === '15550109999' && c.body['type'] === 'template')).toBe(true);
    const thread = await threadOf('whatsapp', '15550109999');
    expect(thread?.contactId).toBe(sent.body.contactId);
    const contact = await api<{ phone?: string; identities: { channel: string; externalUserId: string }[] }>(
      `/contacts/${sent.body.contactId}`,
    );
    expect(contact.body.identities).toEqual([expect.objectContaining({ channel: 'whatsapp', externalUserId: '15550109999' })]);
  });
  it("follows the provider's status reports at GET /v1/notifications/{id}: delivered, then read", async () => {
    await whatsappWrites('15550109101', 'Has it shipped?', 1);
    await runtime.idle();
    const sent = await post<{ id: string }>(
      '/notifications',
      {
        to: { channel: 'whatsapp', externalUserId: '15550109101' },
        content: { type: 'text', text: 'Shipped today' },
        purpose: 'transactional',
      },
      'ntf-wa-status',
    );
    expect(sent.status).toBe(202);
    const left = (await notificationLeaves(sent.body.id)) as { status: string; externalId?: string };
    expect(left).toMatchObject({ status: 'sent', externalId: expect.stringMatching(/^wamid\./) });

    // Meta's status report (its documented shape, as in the fixture) for the message the fake Graph API accepted.
    const fixture = JSON.parse(readFileSync(new URL('../fixtures/whatsapp/statuses-sent-delivered-read.json', import.meta.url), 'utf8'));
    const reports = async (status: 'delivered' | 'read') => {
      const value = fixture.entry[0].changes[0].value;
      value.statuses = [{ id: left.externalId, status, timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: '15550109101' }];
      const body = JSON.stringify(fixture);
      const response = await fetch(`${runtime.url}/webhooks/whatsapp`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-hub-signature-256': `sha256=${createHmac('sha256', WA_SECRET).update(body).digest('hex')}`,
        },
        body,
      });
      expect(response.status).toBe(200);
      await runtime.idle();
      return (await api<{ id: string; status: string }>(`/notifications/${sent.body.id}`)).body;
    };
    expect(await reports('delivered')).toMatchObject({ id: sent.body.id, status: 'delivered' });
    expect(await reports('read')).toMatchObject({ id: sent.body.id, status: 'read' });
  });
});

describe('consent', () => {
  it('refuses marketing without an opt-in, sends it after one, and refuses it again once the customer writes STOP', async () => {
    await telegramWrites(4201, 'hello');
    await runtime.idle();
    const to = { channel: 'telegram', externalUserId: '4201' };
    const promo = { type: 'text', text: 'Winter sale: 20% off' };
    const before = await post<{ code: string }>('/notifications', { to, content: promo, purpose: 'marketing' });
    expect(before.status).toBe(422);
    expect(before.body.code).toBe('no_consent');

    const optIn = await post<{ id: string; status: string; source: string; current: boolean }>('/consents', {
      to,
      purpose: 'marketing',
      status: 'opted_in',
      source: 'web_form',
    });
    expect(optIn.status).toBe(201);
    expect(optIn.body).toMatchObject({ status: 'opted_in', source: 'web_form', channel: 'telegram', current: true });
    const allowed = await post<{ id: string }>('/notifications', { to, content: promo, purpose: 'marketing' });
    expect(allowed.status).toBe(202);

    await telegramWrites(4201, 'STOP');
    await runtime.idle();
    const after = await post<{ code: string; message: string }>('/notifications', { to, content: promo, purpose: 'marketing' });
    expect(after.status).toBe(422);
    expect(after.body).toMatchObject({ code: 'no_consent', message: expect.stringContaining('STOP') });
    // The order update still goes: STOP stops the promotions.
    const transactional = await post('/notifications', {
      to,
      content: { type: 'text', text: 'Your refund was issued' },
      purpose: 'transactional',
    });
    expect(transactional.status).toBe(202);

    const thread = await threadOf('telegram', '4201');
    const ledger = await api<{ current: { status: string }[]; items: { status: string; source: string; detail?: string; at: string }[] }>(
      `/consents?contactId=${thread!.contactId}`,
    );
    expect(ledger.body.items.map((e) => [e.status, e.source, e.detail])).toEqual([
      ['opted_out', 'keyword', 'STOP'],
      ['opted_in', 'web_form', undefined],
    ]);
    expect(ledger.body.current).toEqual([expect.objectContaining({ status: 'opted_out', source: 'keyword' })]);
  });

  it("takes the opt-out words of the channels' markets, and a consent for a WhatsApp number before it ever wrote", async () => {
    const optIn = await post<{ contactId: string }>('/consents', {
      to: { channel: 'whatsapp', externalUserId: '+15550108001' },
      purpose: 'marketing',
      status: 'opted_in',
    });
    expect(optIn.status).toBe(201);
    await whatsappWrites('15550108001', 'hola', 0);
    await whatsappWrites('15550108001', 'BAJA', 0);
    await runtime.idle();
    const refused = await post<{ code: string }>('/notifications', {
      to: { contactId: optIn.body.contactId },
      content: { type: 'text', text: 'Oferta' },
      purpose: 'marketing',
    });
    expect(refused.body.code).toBe('no_consent');
  });
});

describe('campaigns', () => {
  type Counts = Record<'total' | 'pending' | 'queued' | 'sent' | 'delivered' | 'read' | 'failed' | 'skipped' | 'cancelled', number>;
  const counts = async (id: string) => (await api<{ status: string; counts: Counts }>(`/campaigns/${id}`)).body;

  it('sends a template with per-recipient parameters to each recipient once, even one listed twice, and counts them', async () => {
    await whatsappWrites('15550107001', 'hi', 2);
    await whatsappWrites('15550107002', 'hi', 2);
    await runtime.idle();
    const thread = await threadOf('whatsapp', '15550107001');
    const created = await post<{ id: string; status: string; counts: Record<string, number> }>(
      '/campaigns',
      {
        template: { name: 'order_update', language: 'en_US' },
        purpose: 'transactional',
        recipients: [
          { channel: 'whatsapp', externalUserId: '15550107001', parameters: { body: ['A-1'] } },
          { channel: 'whatsapp', externalUserId: '15550107002', parameters: { body: ['A-2'] } },
          { contactId: thread!.contactId, parameters: { body: ['A-1 again'] } },
        ],
        ratePerSecond: 50,
      },
      'campaign-1',
    );
    expect(created.status).toBe(202);
    expect(created.body.counts.total).toBe(3);
    const final = await until(async () => {
      const c = await counts(created.body.id);
      return c.counts.sent + c.counts.delivered + c.counts.read === 2 && c.counts.skipped === 1 ? c : undefined;
    }, 'the campaign to send');
    expect(final).toMatchObject({ status: 'completed', counts: { total: 3, pending: 0, queued: 0, skipped: 1 } });
    const sent = graph.calls.filter((c) => c.body['type'] === 'template' && ['15550107001', '15550107002'].includes(String(c.body['to'])));
    expect(
      sent.map((c) => [
        c.body['to'],
        (c.body['template'] as { components: { parameters: { text: string }[] }[] }).components[0]?.parameters[0]?.text,
      ]),
    ).toEqual(
      expect.arrayContaining([
        ['15550107001', 'A-1'],
        ['15550107002', 'A-2'],
      ]),
    );
    expect(sent).toHaveLength(2);
    const skipped = await api<{ items: { seq: number; state: string; reason?: { code: string } }[] }>(
      `/campaigns/${created.body.id}/recipients?state=skipped`,
    );
    expect(skipped.body.items).toEqual([
      expect.objectContaining({ seq: 2, state: 'skipped', reason: expect.objectContaining({ code: 'duplicate' }) }),
    ]);
  });

  it('skips recipients without consent for marketing, with the reason', async () => {
    await telegramWrites(4301, 'hi');
    await runtime.idle();
    const created = await post<{ id: string }>('/campaigns', {
      content: { type: 'text', text: 'Flash sale!' },
      purpose: 'marketing',
      recipients: [{ channel: 'telegram', externalUserId: '4301' }],
    });
    const final = await until(
      async () => ((await counts(created.body.id)).counts.skipped === 1 ? counts(created.body.id) : undefined),
      'the skip',
    );
    expect(final.status).toBe('completed');
    const listed = await api<{ items: { reason?: { code: string } }[] }>(`/campaigns/${created.body.id}/recipients`);
    expect(listed.body.items[0]?.reason?.code).toBe('no_consent');
  });

  it('stops when cancelled: recipients not yet dispatched get nothing', async () => {
    const recipients = Array.from({ length: 60 }, (_, i) => ({ channel: 'telegram', externalUserId: String(5000 + i) }));
    const created = await post<{ id: string }>('/campaigns', {
      content: { type: 'text', text: 'Cancelled campaign' },
      purpose: 'transactional',
      recipients,
      ratePerSecond: 10,
    });
    expect(created.status).toBe(202);
    await until(async () => ((await counts(created.body.id)).counts.sent > 0 ? true : undefined), 'a first send');
    const cancelled = await post<{ status: string }>(`/campaigns/${created.body.id}/cancel`, {});
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    const atCancel = telegram.calls.filter((c) => c.body['text'] === 'Cancelled campaign').length;
    await new Promise((r) => setTimeout(r, 1500));
    await runtime.idle();
    const after = telegram.calls.filter((c) => c.body['text'] === 'Cancelled campaign').length;
    // Sends already under way when the cancel was answered may finish; nothing starts later.
    expect(after - atCancel).toBeLessThanOrEqual(10);
    const final = await counts(created.body.id);
    expect(final.counts.cancelled).toBeGreaterThan(30);
    expect(final.counts.pending + final.counts.queued).toBe(0);
    expect(final.counts.sent + final.counts.cancelled + final.counts.failed).toBe(60);
    expect(final.counts.sent).toBe(after);
  });

  it("never makes a waiting customer's reply queue behind a campaign", async () => {
    await telegramWrites(4401, 'Where is my order?');
    await runtime.idle();
    const thread = await threadOf('telegram', '4401');
    const recipients = Array.from({ length: 150 }, (_, i) => ({ channel: 'telegram', externalUserId: String(6000 + i) }));
    await post('/campaigns', { content: { type: 'text', text: 'Big campaign' }, purpose: 'transactional', recipients, ratePerSecond: 100 });
    await until(
      async () => (telegram.calls.filter((c) => c.body['text'] === 'Big campaign').length > 20 ? true : undefined),
      'the campaign to be under way',
    );
    const asked = Date.now();
    const reply = await post<{ id: string }>(`/threads/${thread!.id}/messages`, { content: { type: 'text', text: 'It leaves today' } });
    expect(reply.status).toBe(202);
    await until(async () => (telegram.calls.some((c) => c.body['text'] === 'It leaves today') ? true : undefined), 'the reply', 5000);
    const delay = Date.now() - asked;
    const campaignLeft = 150 - telegram.calls.filter((c) => c.body['text'] === 'Big campaign').length;
    expect(campaignLeft).toBeGreaterThan(0); // the campaign was still going
    expect(delay).toBeLessThan(1500);
    // The providers' limits held throughout.
    expect(telegram.chaos.overLimit).toEqual([]);
    expect(graph.chaos.overLimit).toEqual([]);
  });
});
