/**
 * Channel accounts through the API: the six default accounts (the deployment's own, on the connectors'
 * development credentials here), registering further ones with or without their own credentials, and the ids
 * no registration may take (the default account's, including the LINE bot id learned from `GET /v2/bot/info`).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LINE_SANDBOX_BOT_USER_ID } from '../../connectors/line/line.sandbox.ts';
import { ENABLED_CHANNELS } from '../../topology/channels.ts';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';

let harness: ApiHarness;
beforeEach(async () => {
  harness = await startApiHarness();
});
afterEach(async () => {
  await harness.stop();
});

const register = (body: unknown) => harness.post('/v1/accounts', body);
const accountIds = async (channel: string) =>
  (await harness.get('/v1/accounts', { query: { channel } })).json.items.map((a: { accountId: string }) => a.accountId);

describe('GET /v1/accounts', () => {
  it("lists each channel's default account first, with its webhook URL and the id its credentials name", async () => {
    const response = await harness.get('/v1/accounts');

    expect(response.status).toBe(200);
    const whatsapp = harness.defaultCredentials.whatsapp?.phoneNumberId;
    const messenger = harness.defaultCredentials.messenger?.pageId;
    const telegramBot = harness.defaultCredentials.telegram?.botToken?.split(':')[0];
    expect(response.json.items).toEqual([
      { channel: 'whatsapp', accountId: whatsapp, default: true, webhookUrl: '/webhooks/whatsapp', configured: true },
      { channel: 'messenger', accountId: messenger, default: true, webhookUrl: '/webhooks/messenger', configured: true },
      {
        channel: 'instagram',
        accountId: harness.defaultCredentials.instagram?.accountId,
        default: true,
        webhookUrl: '/webhooks/instagram',
        configured: true,
      },
      // LINE credentials name no bot: its id is what LINE's bot info answers for the access token.
      { channel: 'line', accountId: LINE_SANDBOX_BOT_USER_ID, default: true, webhookUrl: '/webhooks/line', configured: true },
      {
        channel: 'kakaotalk',
        accountId: harness.defaultCredentials.kakaotalk?.botId,
        default: true,
        webhookUrl: '/webhooks/kakaotalk',
        configured: true,
      },
      { channel: 'telegram', accountId: telegramBot, default: true, webhookUrl: '/webhooks/telegram', configured: true },
    ]);
    expect(response.json.items.map((a: { channel: string }) => a.channel)).toEqual([...ENABLED_CHANNELS]);
    expect(harness.provider.requests).toEqual([{ channel: 'line', method: 'GET', path: '/v2/bot/info' }]);
  });

  it('never answers a credential', async () => {
    const response = await harness.get('/v1/accounts');

    for (const credentials of Object.values(harness.defaultCredentials)) {
      for (const [name, value] of Object.entries(credentials ?? {})) {
        // Ids that name accounts are answered on purpose; secrets and tokens never.
        if (['phoneNumberId', 'pageId', 'accountId', 'botId'].includes(name)) continue;
        expect(response.text).not.toContain(value);
      }
    }
  });

  it('lists registered accounts after the defaults, by channel and account id, and one channel with ?channel=', async () => {
    harness.clock.advance(1000);
    expect((await register({ channel: 'telegram', accountId: '8823456789', name: 'Sales bot' })).status).toBe(201);
    expect((await register({ channel: 'telegram', accountId: '7712345678' })).status).toBe(201);
    expect((await register({ channel: 'messenger', accountId: '106577777777701' })).status).toBe(201);

    const all = await harness.get('/v1/accounts');
    const telegram = await harness.get('/v1/accounts', { query: { channel: 'telegram' } });

    expect(all.json.items.slice(6).map((a: { channel: string; accountId: string }) => `${a.channel}/${a.accountId}`)).toEqual([
      'messenger/106577777777701',
      'telegram/7712345678',
      'telegram/8823456789',
    ]);
    expect(telegram.json.items).toEqual([
      expect.objectContaining({ channel: 'telegram', default: true, webhookUrl: '/webhooks/telegram' }),
      {
        channel: 'telegram',
        accountId: '7712345678',
        default: false,
        webhookUrl: '/webhooks/telegram/7712345678',
        configured: false,
        createdAt: '2026-11-26T10:00:01.000Z',
      },
      {
        channel: 'telegram',
        accountId: '8823456789',
        name: 'Sales bot',
        default: false,
        webhookUrl: '/webhooks/telegram/8823456789',
        configured: false,
        createdAt: '2026-11-26T10:00:01.000Z',
      },
    ]);
  });

  it('refuses a channel filter that is not a channel with 400, in its own words', async () => {
    const response = await harness.get('/v1/accounts', { query: { channel: 'wechat' } });

    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({ code: 'invalid_request', message: expect.stringContaining('channel must be one of') });
  });

  it('is readable with a read key', async () => {
    const reader = await harness.newKey(['read']);
    expect((await harness.get('/v1/accounts', { key: reader.secret })).status).toBe(200);
  });
});

describe('POST /v1/accounts', () => {
  it('registers an account with 201 and where its webhooks go; registering again changes only the name', async () => {
    const first = await register({ channel: 'telegram', accountId: '8823456789', name: 'Sales bot' });
    harness.clock.advance(60_000);
    const again = await register({ channel: 'telegram', accountId: '8823456789', name: 'Sales' });

    expect(first.status).toBe(201);
    expect(first.json).toEqual({
      channel: 'telegram',
      accountId: '8823456789',
      name: 'Sales bot',
      default: false,
      webhookUrl: '/webhooks/telegram/8823456789',
      configured: false,
      createdAt: '2026-11-26T10:00:00.000Z',
    });
    expect(again.json).toMatchObject({ name: 'Sales', createdAt: '2026-11-26T10:00:00.000Z' });
    expect(await harness.accounts.list('telegram')).toEqual([
      { channel: 'telegram', accountId: '8823456789', name: 'Sales', createdAt: '2026-11-26T10:00:00.000Z' },
    ]);
  });

  it('keeps its own credentials in the secret store, never answers them, and then counts it configured', async () => {
    const credentials = { webhookSecret: 'second-bot-secret_4567', botToken: '8823456789:AASecondBotTokenNotReal' };

    const response = await register({ channel: 'telegram', accountId: '8823456789', credentials });

    expect(response.status).toBe(201);
    expect(response.json).toMatchObject({ configured: true });
    expect(response.text).not.toContain(credentials.webhookSecret);
    expect(response.text).not.toContain(credentials.botToken);
    expect(await harness.secrets.get('telegram', '8823456789', { ownOnly: true })).toEqual(credentials);
    const listed = await harness.get('/v1/accounts', { query: { channel: 'telegram' } });
    expect(listed.text).not.toContain(credentials.botToken);
  });

  it("accepts a channel's optional settings with its credentials", async () => {
    const response = await register({
      channel: 'kakaotalk',
      accountId: 'bot-2',
      credentials: { skillSecret: 's3cret', ackText: '잠시만요' },
    });

    expect(response.status).toBe(201);
    expect(await harness.secrets.get('kakaotalk', 'bot-2', { ownOnly: true })).toEqual({ skillSecret: 's3cret', ackText: '잠시만요' });
  });

  describe("refuses the default account's ids with 409 account_reserved, registering nothing", () => {
    it.each([
      ['`default`', () => ({ channel: 'telegram', accountId: 'default' })],
      [
        'the phone number id its WhatsApp credentials name',
        () => ({ channel: 'whatsapp', accountId: harness.defaultCredentials.whatsapp?.phoneNumberId }),
      ],
      [
        'the bot its Telegram token names',
        () => ({ channel: 'telegram', accountId: harness.defaultCredentials.telegram?.botToken?.split(':')[0] }),
      ],
      [
        'the Page its Messenger credentials name',
        () => ({ channel: 'messenger', accountId: harness.defaultCredentials.messenger?.pageId }),
      ],
    ])('%s', async (_case, body) => {
      const request = body();
      const response = await register(request);

      expect(response.status).toBe(409);
      expect(response.json).toMatchObject({ code: 'account_reserved' });
      expect(await harness.accounts.list()).toEqual([]);
    });

    it("LINE's bot id, which the API learns from GET /v2/bot/info once and remembers", async () => {
      const withCredentials = await register({
        channel: 'line',
        accountId: LINE_SANDBOX_BOT_USER_ID,
        credentials: { channelSecret: 'another-secret', channelAccessToken: 'another-token' },
      });
      const without = await register({ channel: 'line', accountId: LINE_SANDBOX_BOT_USER_ID });

      expect(withCredentials.status).toBe(409);
      expect(withCredentials.json.code).toBe('account_reserved');
      expect(without.status).toBe(409);
      expect(harness.provider.requests).toEqual([{ channel: 'line', method: 'GET', path: '/v2/bot/info' }]);
      expect(await harness.accounts.list()).toEqual([]);
      // The credentials that came with the refused registration were not kept either.
      expect(await harness.secrets.get('line', LINE_SANDBOX_BOT_USER_ID, { ownOnly: true })).toBeUndefined();
    });

    it('while another LINE bot registers', async () => {
      expect((await register({ channel: 'line', accountId: 'U0000000000000000000000000000beef' })).status).toBe(201);
    });
  });

  it('answers 503 unavailable with Retry-After when LINE cannot say which bot the default account is, registering nothing', async () => {
    harness.provider.state.failing = true;

    const response = await register({ channel: 'line', accountId: 'U0000000000000000000000000000beef' });

    expect(response.status).toBe(503);
    expect(response.json.code).toBe('unavailable');
    expect(response.headers['retry-after']).toBe('5');
    expect(await harness.accounts.list()).toEqual([]);
  });

  it.each([
    ['a channel that does not exist', { channel: 'wechat', accountId: 'x' }],
    ['a channel name of another case', { channel: 'Telegram', accountId: 'x' }],
    ['a prototype property', { channel: 'toString', accountId: 'x' }],
  ])('answers %s with 422 unknown_channel, naming the channels there are', async (_case, body) => {
    const response = await register(body);

    expect(response.status).toBe(422);
    expect(response.json).toMatchObject({
      code: 'unknown_channel',
      message: expect.stringContaining('whatsapp, messenger, instagram, line, kakaotalk, telegram'),
    });
  });

  it.each([
    [
      'an unknown credential name',
      { webhookSecret: 's', botToken: '8823456789:AAx', password: 'p' },
      'telegram has no credential password',
    ],
    ['no webhook credential', { botToken: '8823456789:AAx' }, 'its webhooks need webhookSecret'],
    ['a token of another bot', { webhookSecret: 's', botToken: '9999999999:AAother' }, 'belong to account 9999999999, not 8823456789'],
  ])('refuses credentials with %s with 400, keeping nothing', async (_case, credentials, words) => {
    const response = await register({ channel: 'telegram', accountId: '8823456789', credentials });

    expect(response.status).toBe(400);
    expect(response.json.code).toBe('invalid_request');
    expect(response.json.message).toContain(words);
    expect(await harness.secrets.get('telegram', '8823456789', { ownOnly: true })).toBeUndefined();
    expect(await harness.accounts.list()).toEqual([]);
  });

  it.each([
    ['an account id with a slash', { channel: 'telegram', accountId: 'a/b' }, 'accountId'],
    ['an account id of 65 characters', { channel: 'telegram', accountId: 'a'.repeat(65) }, 'accountId'],
    ['no account id', { channel: 'telegram' }, 'accountId is required'],
    [
      'an empty credential',
      { channel: 'telegram', accountId: '1', credentials: { webhookSecret: '' } },
      'credentials.webhookSecret must be at least 1 character(s) long',
    ],
    ['an unknown field', { channel: 'telegram', accountId: '1', region: 'eu' }, 'unknown field(s): region'],
  ])('refuses %s with 400 invalid_request in its own words', async (_case, body, words) => {
    const response = await register(body);

    expect(response.status).toBe(400);
    expect(response.json.code).toBe('invalid_request');
    expect(response.json.message).toContain(words);
    expect(await accountIds('telegram')).toHaveLength(1);
  });
});
