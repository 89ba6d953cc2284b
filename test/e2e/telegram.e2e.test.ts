/**
 * End to end on the local runtime: Telegram updates POSTed with the secret header become a thread read
 * through the integrator API; an agent's reply goes through the outbound queue to a local fake of the Bot
 * API, which must receive exactly the right request. Everything survives a restart.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message, Thread } from '../../domain/conversations/model.ts';
import { startRuntime, type Runtime } from '../../runtime/runtime.ts';
import { FAKE_TELEGRAM_FILE, startFakeTelegram, type FakeTelegram } from '../helpers/fake-telegram.ts';
import { telegramRequestViolations } from '../helpers/telegram-spec.ts';

const SECRET = 'e2e-webhook-secret_0123';
const TOKEN = '7712345678:AAE2eTestTokenNotReal';
const API_KEY = 'prl_e2e_test_key_0123456789';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../fixtures/telegram/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;

/** A private-chat text update from a given customer, for tests that need customers of their own. */
const textFrom = (userId: number, updateId: number, text: string) => ({
  update_id: updateId,
  message: {
    message_id: updateId,
    from: { id: userId, is_bot: false, first_name: `User${userId}` },
    chat: { id: userId, first_name: `User${userId}`, type: 'private' },
    date: 1773448013,
    text,
  },
});

let fake: FakeTelegram;
let runtime: Runtime;
let dataDir: string;

const start = () =>
  startRuntime({
    port: 0,
    dataDir,
    logLevel: (process.env.E2E_LOG as 'info' | undefined) ?? 'silent',
    timeScale: 0.001, // queue timeouts and backoff in milliseconds
    env: {
      TELEGRAM_WEBHOOK_SECRET: SECRET,
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_BASE_URL: fake.baseUrl,
      PARLEY_API_KEY: API_KEY,
    },
  });

beforeAll(async () => {
  fake = await startFakeTelegram();
  dataDir = mkdtempSync(join(tmpdir(), 'parley-e2e-'));
  runtime = await start();
});
afterAll(async () => {
  await runtime?.stop();
  await fake?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const webhook = (body: unknown, headers: Record<string, string> = { 'x-telegram-bot-api-secret-token': SECRET }) =>
  fetch(`${runtime.url}/webhooks/telegram`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const api = async <T = unknown>(path: string, init: RequestInit = {}, key = API_KEY) => {
  const response = await fetch(`${runtime.url}/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...init.headers },
  });
  return { status: response.status, body: (await response.json()) as T };
};

const threadsOf = async (userId: number | string) =>
  (await api<{ items: Thread[] }>(`/threads?channel=telegram&externalUserId=${userId}`)).body.items;
const messagesOf = async (threadId: string) => (await api<{ items: Message[] }>(`/threads/${threadId}/messages?limit=100`)).body.items;

const until = async <T>(probe: () => Promise<T | undefined>, what: string, ms = 5000): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

const reply = (threadId: string, content: unknown, headers: Record<string, string> = {}) =>
  api<Message>(`/threads/${threadId}/messages`, { method: 'POST', body: JSON.stringify({ content }), headers });

const settled = (threadId: string, messageId: string) =>
  until(async () => (await messagesOf(threadId)).find((m) => m.id === messageId && m.status !== 'queued'), `${messageId} to leave queued`);

describe('Telegram end to end on the local runtime', () => {
  let threadId: string;

  it('turns a signed update into a thread whose message reads back exactly as sent', async () => {
    const update = fixture('private-text-entities');
    const response = await webhook(update);
    expect(response.status).toBe(200);
    await runtime.idle();

    const threads = await threadsOf(5550101234);
    expect(threads).toHaveLength(1);
    const thread = threads[0] as Thread;
    threadId = thread.id;
    expect(thread).toMatchObject({ status: 'open', channels: ['telegram'] });

    const messages = await messagesOf(threadId);
    expect(messages).toHaveLength(1);
    const message = update.message as { text: string; entities: { offset: number; length: number }[] };
    expect(messages[0]).toMatchObject({
      direction: 'inbound',
      channel: 'telegram',
      externalId: '5550101234:1200',
      occurredAt: '2026-03-14T00:26:53.000Z',
      status: 'received',
      author: { role: 'customer', externalUserId: '5550101234', displayName: 'Mina Park' },
      content: { type: 'text', text: message.text },
    });
    // Offsets stay in UTF-16 code units, as Telegram counts them.
    const stored = messages[0]?.content as { text: string; entities: { offset: number; length: number }[] };
    expect(stored.entities.map((e) => stored.text.slice(e.offset, e.offset + e.length))).toEqual(
      message.entities.map((e) => message.text.slice(e.offset, e.offset + e.length)),
    );
  });

  it('changes nothing when Telegram redelivers the same update', async () => {
    expect((await webhook(fixture('private-text-entities'))).status).toBe(200);
    await runtime.idle();
    expect(await threadsOf(5550101234)).toHaveLength(1);
    expect(await messagesOf(threadId)).toHaveLength(1);
  });

  it('applies an edit to the stored message instead of adding one', async () => {
    const edited = fixture('edited-message');
    const original = { update_id: 804511201, message: { ...(edited.edited_message as object), text: '/start ref_spring26' } };
    delete (original.message as { edit_date?: number }).edit_date;
    await webhook(original);
    await runtime.idle();
    await webhook(edited);
    await runtime.idle();
    const messages = await messagesOf(threadId);
    const matching = messages.filter((m) => m.externalId === '5550101234:1201');
    expect(matching).toHaveLength(1);
    expect(matching[0]).toMatchObject({
      content: { type: 'text', text: '/start ref_spring26 (edited)' },
      editedAt: '2026-03-14T00:30:00.000Z',
    });
  });

  it('refuses wrong and missing secrets with 401 and stores nothing', async () => {
    const update = textFrom(5550200001, 1, 'should never be stored');
    expect((await webhook(update, { 'x-telegram-bot-api-secret-token': 'wrong' })).status).toBe(401);
    expect((await webhook(update, { 'x-telegram-bot-api-secret-token': `${SECRET}x` })).status).toBe(401);
    expect((await webhook(update, {})).status).toBe(401);
    await runtime.idle();
    expect(await threadsOf(5550200001)).toEqual([]);
  });

  it('answers bad input with clear errors', async () => {
    const notJson = await webhook('{"update_id": 1, "message": ');
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ code: 'malformed_body' });
    // Valid JSON that is not an update is dropped with 200: Telegram would retry a 4xx for a day.
    expect((await webhook({ hello: 'world' })).status).toBe(200);
    const huge = await webhook(JSON.stringify(textFrom(5550200002, 2, 'x'.repeat(1024 * 1024))));
    expect(huge.status).toBe(413);
    expect((await fetch(`${runtime.url}/webhooks/nowhere`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(`${runtime.url}/nothing/here`)).status).toBe(404);
    await runtime.idle();
    expect(await threadsOf(5550200002)).toEqual([]);
  });

  it('requires an API key and answers unknown threads with a JSON 404', async () => {
    expect((await api('/threads?channel=telegram&externalUserId=5550101234', {}, 'prl_wrong')).status).toBe(401);
    const noKey = await fetch(`${runtime.url}/v1/threads/${threadId}`);
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toMatchObject({ code: 'unauthorized' });
    const unknown = await api('/threads/thr_does_not_exist');
    expect(unknown).toMatchObject({ status: 404, body: { code: 'not_found' } });
  });

  it("delivers an agent's reply to sendMessage exactly once and records Telegram's message id", async () => {
    fake.reset();
    const posted = await reply(threadId, {
      type: 'text',
      text: 'Sorry, Mina! Resend or refund?',
      quickReplies: [
        { text: 'Resend', payload: 'order:A-1029:resend' },
        { text: 'Refund', payload: 'order:A-1029:refund' },
      ],
    });
    expect(posted.status).toBe(202);
    expect(posted.body).toMatchObject({ status: 'queued', direction: 'outbound', author: { role: 'agent' } });

    const sent = await settled(threadId, posted.body.id);
    expect(fake.calls).toHaveLength(1);
    const call = fake.calls[0];
    expect(call).toMatchObject({ method: 'sendMessage', token: TOKEN });
    expect(call?.body).toEqual({
      chat_id: 5550101234,
      text: 'Sorry, Mina! Resend or refund?',
      reply_markup: {
        inline_keyboard: [
          [{ text: 'Resend', callback_data: 'order:A-1029:resend' }],
          [{ text: 'Refund', callback_data: 'order:A-1029:refund' }],
        ],
      },
    });
    expect(telegramRequestViolations('sendMessage', call?.body)).toEqual([]);
    expect(sent).toMatchObject({ status: 'sent', externalId: '5550101234:5000' }); // the fake's first message id
  });

  it('stores a tapped button as a reply and answers the callback query', async () => {
    fake.reset();
    expect((await webhook(fixture('callback-query'))).status).toBe(200);
    await runtime.idle();
    const tapped = (await messagesOf(threadId)).find((m) => m.content.type === 'reply');
    expect(tapped?.content).toEqual({ type: 'reply', text: 'Express 🚀', payload: 'ship:exp:A-1029' });
    expect(fake.calls.map((c) => [c.method, c.body])).toEqual([['answerCallbackQuery', { callback_query_id: '4122334455667788990' }]]);
  });

  it('replays the same message for a repeated Idempotency-Key, and sends once', async () => {
    fake.reset();
    const first = await reply(threadId, { type: 'text', text: 'Only once' }, { 'idempotency-key': 'k-1' });
    const second = await reply(threadId, { type: 'text', text: 'Only once' }, { 'idempotency-key': 'k-1' });
    expect(first.status).toBe(202);
    expect(second.body.id).toBe(first.body.id);
    await settled(threadId, first.body.id);
    await runtime.idle();
    expect(fake.calls.filter((c) => c.method === 'sendMessage')).toHaveLength(1);
  });

  it('waits out a 429 for retry_after and then sends', async () => {
    fake.reset();
    fake.answerNext({
      status: 429,
      body: { ok: false, error_code: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } },
    });
    const posted = await reply(threadId, { type: 'text', text: 'After the rate limit' });
    const sent = await settled(threadId, posted.body.id);
    expect(sent.status).toBe('sent');
    expect(fake.calls.filter((c) => c.method === 'sendMessage')).toHaveLength(2);
  });

  it('retries a provider outage with backoff, then records failed with the reason and dead-letters the job', async () => {
    await webhook(textFrom(5550300001, 3001, 'hello during an outage'));
    await runtime.idle();
    const [thread] = await threadsOf(5550300001);
    fake.reset();
    for (let i = 0; i < 20; i++) fake.answerNext({ status: 502, body: 'Bad Gateway' });
    const deadLettered = runtime.queues['outbound-telegram-dlq'].size;
    const posted = await reply(thread?.id ?? '', { type: 'text', text: 'Are you there?' });
    const failed = await settled(thread?.id ?? '', posted.body.id);
    expect(failed).toMatchObject({ status: 'failed', failure: { kind: 'retryable', attempts: 8 } });
    expect(fake.calls).toHaveLength(8);
    await until(async () => (runtime.queues['outbound-telegram-dlq'].size > deadLettered ? true : undefined), 'the dead-letter queue');
    // The API queues a job at once and the relay queues one from the write: the first to claim the message owns its
    // delivery (`job`), and the other stands aside, so the provider saw 8 attempts, not 16.
    expect(runtime.queues['outbound-telegram-dlq'].peek().at(-1)).toEqual({
      kind: 'deliver',
      channel: 'telegram',
      threadId: thread?.id,
      messageId: posted.body.id,
      job: expect.any(String),
    });
  });

  it('marks a customer who blocked the bot unreachable and stops sending to them', async () => {
    await webhook(textFrom(5550400001, 4001, 'bye'));
    await runtime.idle();
    const [thread] = await threadsOf(5550400001);
    fake.reset();
    fake.answerNext({ status: 403, body: { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' } });
    const first = await reply(thread?.id ?? '', { type: 'text', text: 'one' });
    expect(await settled(thread?.id ?? '', first.body.id)).toMatchObject({
      status: 'failed',
      failure: { kind: 'permanent', code: '403' },
    });
    const second = await reply(thread?.id ?? '', { type: 'text', text: 'two' });
    expect(await settled(thread?.id ?? '', second.body.id)).toMatchObject({ status: 'failed', failure: { kind: 'permanent' } });
    expect(fake.calls).toHaveLength(1);
  });

  it("copies a customer's photo from Telegram into Parley's storage and serves it through the API", async () => {
    fake.reset();
    const photo = {
      ...fixture('photo-caption'),
      update_id: 804519001,
      message: {
        ...(fixture('photo-caption').message as Record<string, unknown>),
        message_id: 9001,
        from: { id: 5550109001, is_bot: false, first_name: 'Noa' },
        chat: { id: 5550109001, first_name: 'Noa', type: 'private' },
      },
    };
    expect((await webhook(photo)).status).toBe(200);

    const [thread] = await until(async () => {
      const found = await threadsOf(5550109001);
      return found.length > 0 ? found : undefined;
    }, 'the photo thread');
    const copied = await until(async () => (await messagesOf(thread!.id)).find((m) => m.mediaCopy !== undefined), 'the media copy');
    if (copied.content.type !== 'image') throw new Error(`expected an image, got ${copied.content.type}`);
    expect(fake.calls).toEqual([expect.objectContaining({ method: 'getFile', token: TOKEN, body: { file_id: copied.content.media.id } })]);
    expect(telegramRequestViolations('getFile', fake.calls[0]?.body)).toEqual([]);
    expect(fake.downloads).toEqual([{ token: TOKEN, path: 'photos/file_0.jpg' }]);
    expect(copied.mediaCopy).toMatchObject({ contentType: 'image/jpeg', size: FAKE_TELEGRAM_FILE.length });

    const response = await fetch(`${runtime.url}/v1/threads/${thread!.id}/messages/${copied.id}/media`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(FAKE_TELEGRAM_FILE);

    const anonymous = await fetch(`${runtime.url}/v1/threads/${thread!.id}/messages/${copied.id}/media`);
    expect(anonymous.status).toBe(401);
  });

  it('serves a second bot registered through the API with its own credentials, end to end', async () => {
    const secondSecret = 'second-bot-secret_4567';
    const secondToken = '8823456789:AASecondBotTokenNotReal';
    const registered = await api<{ configured?: boolean; webhookUrl: string }>('/accounts', {
      method: 'POST',
      body: JSON.stringify({
        channel: 'telegram',
        accountId: '8823456789',
        name: 'Sales bot',
        credentials: { webhookSecret: secondSecret, botToken: secondToken },
      }),
    });
    expect(registered.status).toBe(201);
    expect(registered.body).toMatchObject({ configured: true, webhookUrl: '/webhooks/telegram/8823456789' });
    expect(JSON.stringify(registered.body)).not.toContain(secondToken);

    const post = (secret: string) =>
      fetch(`${runtime.url}${registered.body.webhookUrl}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
        body: JSON.stringify(textFrom(5559990001, 990001, 'Hi sales')),
      });
    // The default bot's secret does not open the second bot's door.
    expect((await post(SECRET)).status).toBe(401);
    expect((await post(secondSecret)).status).toBe(200);
    await runtime.idle();

    const [thread] = await threadsOf(5559990001);
    fake.reset();
    const sent = await reply(thread!.id, { type: 'text', text: 'Happy to help' });
    expect(sent.status).toBe(202);
    expect(sent.body.accountId).toBe('8823456789');
    await settled(thread!.id, sent.body.id);
    // The reply leaves with the second bot's token.
    expect(fake.calls.map((c) => [c.method, c.token])).toEqual([['sendMessage', secondToken]]);
  });

  it('keeps every thread and message across a restart', async () => {
    const before = await messagesOf(threadId);
    await runtime.stop();
    runtime = await start();
    expect(await messagesOf(threadId)).toEqual(before);
    expect((await threadsOf(5550101234))[0]?.id).toBe(threadId);
  });
});
