/**
 * The shared webhook path (domain/ingest.ts) step by step, with the Telegram and WhatsApp connectors and real
 * fixture bodies: size, credentials, handshake, signature, parse, account, normalize, publish, and what each
 * step answers and logs. A spying secret store shows which secrets a request made Parley read.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LocalSecretStore, type LocalAccount } from '../../adapters/local/local-secrets.ts';
import { lineConnector } from '../../connectors/line/index.ts';
import { telegramConnector } from '../../connectors/telegram/index.ts';
import { whatsappConnector } from '../../connectors/whatsapp/index.ts';
import { AccountResolver } from '../../domain/accounts.ts';
import type { Connector, Credentials, WebhookRequest } from '../../domain/connector.ts';
import type { Channel } from '../../domain/content.ts';
import type { ParleyEvent } from '../../domain/events.ts';
import { ingestWebhook } from '../../domain/ingest.ts';
import type { SecretLookup, SecretStore } from '../../domain/ports.ts';
import { RetryableProviderError } from '../../domain/provider-errors.ts';
import { captureLog } from '../helpers/conversations.ts';
import { lineSignatureHeaders } from '../helpers/line-webhook.ts';

const RECEIVED_AT = '2026-03-14T01:00:00.000Z';
const fixture = (path: string): Buffer => readFileSync(new URL(`../fixtures/${path}`, import.meta.url));
const SECRET = 'telegram-webhook-secret';
const APP_SECRET = '3f1c9b2e7a6d4058b1e2c3d4e5f60718';
const NUMBER = '106540352242922';

/** A secret store that records every lookup, with its options. */
const spying = (accounts: Partial<Record<Channel, LocalAccount>>, registered: Record<string, Credentials> = {}) => {
  const inner = new LocalSecretStore(accounts);
  const lookups: [Channel, string, SecretLookup | undefined][] = [];
  const store: SecretStore = {
    get: async (channel, accountId, options) => {
      lookups.push([channel, accountId, options]);
      return Object.hasOwn(registered, accountId) ? registered[accountId] : inner.get(channel, accountId, options);
    },
    put: async () => undefined,
  };
  return { store, lookups };
};

const telegramDefault = { telegram: { credentials: { webhookSecret: SECRET, botToken: '7712345678:AAtoken' }, accountId: '7712345678' } };

const run = (
  connector: Connector,
  request: WebhookRequest,
  options: {
    secrets: SecretStore;
    accountId?: string;
    maxBodyBytes?: number;
    publish?: (events: readonly ParleyEvent[]) => Promise<void>;
    fetch?: typeof globalThis.fetch;
  },
) => {
  const log = captureLog();
  const published: ParleyEvent[][] = [];
  const answer = ingestWebhook(
    connector,
    request,
    { maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024, ...(options.accountId !== undefined && { accountId: options.accountId }) },
    {
      secrets: options.secrets,
      bus: { publish: options.publish ?? (async (events) => void published.push([...events])) },
      clock: { now: () => new Date(RECEIVED_AT) },
      log,
      accounts: new AccountResolver({ fetch: options.fetch ?? (async () => Response.json({}, { status: 404 })), apiBaseUrls: {} }),
    },
  );
  return { answer, log, published };
};

const post = (rawBody: Buffer, headers: Record<string, string>): WebhookRequest => ({
  method: 'POST',
  headers: Object.fromEntries(Object.entries({ 'content-type': 'application/json', ...headers }).map(([k, v]) => [k.toLowerCase(), v])),
  query: {},
  rawBody,
});
const telegramPost = (body: Buffer) => post(body, { 'X-Telegram-Bot-Api-Secret-Token': SECRET });
const json = (answer: { body: string }) => JSON.parse(answer.body) as unknown;

describe('the webhook path', () => {
  const text = fixture('telegram/private-text-entities.json');

  it('accepts a body of exactly the limit and refuses one byte more with 413, reading no secret', async () => {
    const at = spying(telegramDefault);
    expect((await run(telegramConnector, telegramPost(text), { secrets: at.store, maxBodyBytes: text.length }).answer).statusCode).toBe(
      200,
    );
    const over = spying(telegramDefault);
    const refused = run(telegramConnector, telegramPost(text), { secrets: over.store, maxBodyBytes: text.length - 1 });
    expect(await refused.answer).toEqual({
      statusCode: 413,
      contentType: 'application/json',
      body: JSON.stringify({ code: 'payload_too_large', message: `body exceeds ${text.length - 1} bytes` }),
    });
    expect(refused.log.entries).toEqual([
      { level: 'warn', message: 'webhook body too large', extra: { channel: 'telegram', bytes: text.length } },
    ]);
    expect(over.lookups).toEqual([]);
  });

  it("publishes a customer's message and answers how many events it published", async () => {
    const { store, lookups } = spying(telegramDefault);
    const { answer, published, log } = run(telegramConnector, telegramPost(text), { secrets: store });
    expect(await answer).toEqual({ statusCode: 200, contentType: 'application/json', body: JSON.stringify({ ok: true, events: 1 }) });
    expect(published.flat().map((e) => [e.type, e.accountId, e.receivedAt])).toEqual([['message.received', '7712345678', RECEIVED_AT]]);
    expect(lookups).toEqual([['telegram', 'default', { ownOnly: true }]]);
    expect(log.entries).toEqual([
      { level: 'info', message: 'webhook accepted', extra: { channel: 'telegram', accountId: '7712345678', events: 1 } },
    ]);
  });

  it("answers 404 for the deployment's own channel without credentials", async () => {
    const { answer } = run(telegramConnector, telegramPost(text), { secrets: spying({}).store });
    expect(await answer).toEqual({
      statusCode: 404,
      contentType: 'application/json',
      body: JSON.stringify({ code: 'not_found', message: 'telegram is not configured for this account' }),
    });
  });

  it('answers 405 to a GET on a channel without a handshake', async () => {
    const { answer } = run(
      telegramConnector,
      { method: 'GET', headers: {}, query: {}, rawBody: Buffer.alloc(0) },
      { secrets: spying(telegramDefault).store },
    );
    expect(json(await answer)).toEqual({ code: 'method_not_allowed', message: 'telegram webhooks are POSTed' });
    expect((await answer).statusCode).toBe(405);
  });

  it('refuses a wrong secret with 401 and a warning naming the account, cut to 64 characters', async () => {
    const wrong = post(text, { 'X-Telegram-Bot-Api-Secret-Token': 'guess' });
    const { answer, log } = run(telegramConnector, wrong, { secrets: spying(telegramDefault).store });
    expect(await answer).toEqual({
      statusCode: 401,
      contentType: 'application/json',
      body: JSON.stringify({ code: 'invalid_signature', message: 'missing or wrong signature' }),
    });
    expect(log.entries).toEqual([
      { level: 'warn', message: 'webhook signature rejected', extra: { channel: 'telegram', accountId: 'default' } },
    ]);
    const long = 'a'.repeat(80);
    const atLong = run(telegramConnector, telegramPost(text), { secrets: spying(telegramDefault).store, accountId: long });
    expect((await atLong.answer).statusCode).toBe(401);
    expect(atLong.log.entries[0]?.extra).toEqual({ channel: 'telegram', accountId: 'a'.repeat(64) });
  });

  it('looks up no secret for an account id that cannot be one, and answers it like a wrong secret', async () => {
    for (const accountId of ['../default', 'a'.repeat(65), 'bot 1', '7712345678/x']) {
      const { store, lookups } = spying(telegramDefault);
      expect((await run(telegramConnector, telegramPost(text), { secrets: store, accountId }).answer).statusCode).toBe(401);
      expect(lookups).toEqual([]);
    }
    const { store, lookups } = spying(telegramDefault);
    await run(telegramConnector, telegramPost(text), { secrets: store, accountId: '7712345678' }).answer;
    expect(lookups[0]).toEqual(['telegram', '7712345678', { ownOnly: true }]);
  });

  it('answers 400 to a body that is not the provider’s, and 200 to one it sends but nothing comes of', async () => {
    const malformed = run(telegramConnector, telegramPost(fixture('telegram/not-json.txt')), { secrets: spying(telegramDefault).store });
    expect(await malformed.answer).toEqual({
      statusCode: 400,
      contentType: 'application/json',
      body: JSON.stringify({ code: 'malformed_body', message: 'body is not JSON' }),
    });
    expect(malformed.log.entries).toEqual([
      { level: 'warn', message: 'malformed webhook body', extra: { channel: 'telegram', reason: 'body is not JSON' } },
    ]);

    const ignored = run(telegramConnector, telegramPost(fixture('telegram/not-an-update.json')), {
      secrets: spying(telegramDefault).store,
    });
    expect(await ignored.answer).toEqual({
      statusCode: 200,
      contentType: 'application/json',
      body: JSON.stringify({ ok: true, events: 0 }),
    });
    expect(ignored.log.entries).toEqual([
      {
        level: 'warn',
        message: 'webhook body dropped',
        extra: { channel: 'telegram', reason: 'not a Telegram update: no integer update_id' },
      },
    ]);
    expect(ignored.published).toEqual([]);
  });

  it('publishes nothing for an update that yields no event, and logs what it left out', async () => {
    let publishes = 0;
    const { answer, log } = run(telegramConnector, telegramPost(fixture('telegram/unknown-update-type.json')), {
      secrets: spying(telegramDefault).store,
      publish: async () => void (publishes += 1),
    });
    expect(json(await answer)).toEqual({ ok: true, events: 0 });
    expect(publishes).toBe(0);
    expect(log.entries).toEqual([
      {
        level: 'info',
        message: 'webhook content ignored',
        extra: { channel: 'telegram', accountId: '7712345678', reason: 'update 804511225: message_reaction updates are not handled' },
      },
      { level: 'info', message: 'webhook accepted', extra: { channel: 'telegram', accountId: '7712345678', events: 0 } },
    ]);
  });

  it('answers 503 when the bus does not take the events, logging how many', async () => {
    const { answer, log } = run(telegramConnector, telegramPost(text), {
      secrets: spying(telegramDefault).store,
      publish: async () => {
        throw new Error('EventBridge unavailable');
      },
    });
    expect(await answer).toEqual({
      statusCode: 503,
      contentType: 'application/json',
      body: JSON.stringify({ code: 'unavailable', message: 'events could not be accepted; retry later' }),
    });
    expect(log.entries).toEqual([
      {
        level: 'error',
        message: 'events not accepted by the bus; asking the provider to retry',
        extra: { channel: 'telegram', accountId: '7712345678', events: 1, error: 'EventBridge unavailable' },
      },
    ]);
  });
});

describe('accounts named by the body', () => {
  const body = fixture('whatsapp/text-escaped-unicode.json');
  const signed = (raw: Buffer, secret = APP_SECRET) =>
    post(raw, { 'X-Hub-Signature-256': `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}` });
  const naming = (number: string) => Buffer.from(body.toString('utf8').replaceAll(NUMBER, number));
  const defaults = {
    whatsapp: { credentials: { appSecret: APP_SECRET, verifyToken: 'v', accessToken: 'EAAt', phoneNumberId: NUMBER }, accountId: NUMBER },
  };

  it('drops the events of a number whose own credentials name another number, with a warning per account', async () => {
    const other = '109876543210987';
    const { store } = spying(defaults, {
      [other]: { appSecret: APP_SECRET, verifyToken: 'v', accessToken: 'EAAo', phoneNumberId: '100000000000001' },
    });
    const { answer, published, log } = run(whatsappConnector, signed(naming(other)), { secrets: store });
    expect(json(await answer)).toEqual({ ok: true, events: 0 });
    expect(published).toEqual([]);
    expect(log.entries.filter((e) => e.level === 'warn')).toEqual([
      {
        level: 'warn',
        message: 'webhook events dropped: their account is not one the verifying credentials serve',
        extra: { channel: 'whatsapp', accountId: NUMBER, eventAccountId: other, events: 1 },
      },
    ]);
  });

  it('reads no secret for a named account id that cannot be one, and cuts it in the warning', async () => {
    const made = `${'9'.repeat(70)}`;
    const { store, lookups } = spying(defaults);
    const { answer, log } = run(whatsappConnector, signed(naming(made)), { secrets: store });
    expect(json(await answer)).toEqual({ ok: true, events: 0 });
    expect(lookups.map(([, id]) => id)).toEqual(['default']);
    expect(log.entries.find((e) => e.level === 'warn')?.extra).toMatchObject({ eventAccountId: '9'.repeat(64) });
  });

  it("asks for the named account's own credentials only", async () => {
    const other = '109876543210987';
    const { store, lookups } = spying(defaults, {
      [other]: { appSecret: APP_SECRET, verifyToken: 'v', accessToken: 'EAAo', phoneNumberId: other },
    });
    const { answer, published } = run(whatsappConnector, signed(naming(other)), { secrets: store });
    expect(json(await answer)).toEqual({ ok: true, events: 1 });
    expect(published.flat().map((e) => e.accountId)).toEqual([other]);
    expect(lookups).toEqual([
      ['whatsapp', 'default', { ownOnly: true }],
      ['whatsapp', other, { ownOnly: true }],
    ]);
  });

  it("drops the events of an account whose credentials' account cannot be learned now", async () => {
    // A channel whose credentials must be asked which account they serve (as LINE's), asked in vain.
    const asking: Connector = {
      ...whatsappConnector,
      resolveAccountId: async () => {
        throw new RetryableProviderError('bot info unavailable');
      },
      accountIdOf: (credentials) => (credentials['phoneNumberId'] === NUMBER ? NUMBER : undefined),
    };
    const other = '109876543210987';
    const { store } = spying(defaults, { [other]: { appSecret: APP_SECRET, verifyToken: 'v', accessToken: 'EAAo' } });
    const { answer, published, log } = run(asking, signed(naming(other)), { secrets: store });
    expect(json(await answer)).toEqual({ ok: true, events: 0 });
    expect(published).toEqual([]);
    expect(log.entries.filter((e) => e.level === 'warn').map((e) => [e.message, e.extra])).toEqual([
      [
        'could not learn which account credentials serve; their events are dropped',
        { channel: 'whatsapp', eventAccountId: other, error: 'bot info unavailable' },
      ],
      [
        'webhook events dropped: their account is not one the verifying credentials serve',
        { channel: 'whatsapp', accountId: NUMBER, eventAccountId: other, events: 1 },
      ],
    ]);
  });
});

describe('credentials that do not name their account', () => {
  const BOT = 'U4af4980629c0a3b6b4f3c4d5e6f7a8b9';
  const body = fixture('line/text.json');
  const botInfo = (userId: string) => async () =>
    Response.json({ userId, basicId: '@x', displayName: 'x', chatMode: 'bot', markAsReadMode: 'auto' });

  it("receive at their own URL when no default account's bot could claim it", async () => {
    const secretOnly = { channelSecret: '0f1e2d3c4b5a69788796a5b4c3d2e1f0' };
    const { store, lookups } = spying({}, { [BOT]: secretOnly });
    const { answer, published } = run(lineConnector, post(body, lineSignatureHeaders(body, secretOnly.channelSecret)), {
      secrets: store,
      accountId: BOT,
      fetch: botInfo(BOT),
    });
    expect(json(await answer)).toEqual({ ok: true, events: 1 });
    expect(published.flat().map((e) => e.accountId)).toEqual([BOT]);
    expect(lookups).toEqual([
      ['line', BOT, { ownOnly: true }],
      ['line', 'default', { ownOnly: true }],
    ]);
  });

  it("are dropped at the default bot's id, with a warning", async () => {
    const secretOnly = { channelSecret: '0f1e2d3c4b5a69788796a5b4c3d2e1f0' };
    const { store } = spying(
      { line: { credentials: { channelSecret: 'default-secret', channelAccessToken: 'default-token' } } },
      { [BOT]: secretOnly },
    );
    const { answer, published, log } = run(lineConnector, post(body, lineSignatureHeaders(body, secretOnly.channelSecret)), {
      secrets: store,
      accountId: BOT,
      fetch: botInfo(BOT),
    });
    expect(json(await answer)).toEqual({ ok: true, events: 0 });
    expect(published).toEqual([]);
    expect(log.entries).toEqual([
      {
        level: 'warn',
        message: "webhook body dropped: these credentials would receive into the default account's threads",
        extra: { channel: 'line', accountId: BOT },
      },
    ]);
  });

  it('ask the provider to retry when it cannot say now, logging why', async () => {
    const line = { channelSecret: '8c2f1a0e9b7d6c5f4e3a2b1c0d9e8f7a', channelAccessToken: 'default/token=' };
    const { answer, log } = run(lineConnector, post(body, lineSignatureHeaders(body, line.channelSecret)), {
      secrets: spying({ line: { credentials: line } }).store,
      fetch: async () => Response.json({ message: 'Internal server error' }, { status: 500 }),
    });
    expect(await answer).toEqual({
      statusCode: 503,
      contentType: 'application/json',
      body: JSON.stringify({ code: 'unavailable', message: 'the account could not be checked; retry later' }),
    });
    expect(log.entries).toEqual([
      {
        level: 'error',
        message: 'could not learn which account the credentials serve; asking the provider to retry',
        extra: { channel: 'line', accountId: 'default', error: 'Internal server error' },
      },
    ]);
  });
});
