/**
 * Which account a channel's credentials serve (domain/accounts.ts): the id they name, else the one the provider
 * answers (LINE's bot info, answered here like LINE answers it), asked once per set of credentials and API,
 * remembered within bounds, a refusal remembered for a minute only.
 * @see https://developers.line.biz/en/reference/messaging-api/#get-bot-info
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LocalSecretStore } from '../../adapters/local/local-secrets.ts';
import { LINE_ACCOUNT } from '../../connectors/line/line.account.ts';
import { TELEGRAM_ACCOUNT } from '../../connectors/telegram/telegram.account.ts';
import { WHATSAPP_ACCOUNT } from '../../connectors/whatsapp/whatsapp.account.ts';
import { AccountResolver, defaultAccountIds } from '../../domain/accounts.ts';
import type { ChannelAccount } from '../../domain/connector.ts';
import type { SecretLookup, SecretStore } from '../../domain/ports.ts';
import { captureLog } from '../helpers/conversations.ts';

const BOT = 'U4af4980629c0a3b6b4f3c4d5e6f7a8b9';

/** The bot user id LINE answers for a token here: `U` and 32 hex digits, as LINE's are. */
const userIdOf = (token: string) => `U${createHash('md5').update(token).digest('hex')}`;
const botInfo = (token: string) =>
  Response.json({ userId: userIdOf(token), basicId: '@x', displayName: 'x', chatMode: 'bot', markAsReadMode: 'auto' });

/** LINE's `GET /v2/bot/info`: each bot token is a bot; records what was asked, where, with which token. */
const lineApi = (answer: (token: string) => Response = botInfo) => {
  const asked: string[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const token = new Headers(init?.headers).get('authorization')?.replace(/^Bearer /, '') ?? '';
    asked.push(`${String(input)} ${token}`);
    return answer(token);
  };
  return { fetch, asked };
};

describe('AccountResolver', () => {
  it('takes the id credentials name, asking nobody', async () => {
    const { fetch, asked } = lineApi();
    const resolver = new AccountResolver({ fetch, apiBaseUrls: {} });
    expect(await resolver.idOf(TELEGRAM_ACCOUNT, { botToken: '7712345678:AAtoken' })).toBe('7712345678');
    expect(await resolver.idOf(WHATSAPP_ACCOUNT, { accessToken: 't' })).toBeUndefined();
    // A channel that can ask, with credentials that name their account anyway.
    const naming: ChannelAccount = { ...LINE_ACCOUNT, accountIdOf: (credentials) => credentials['botUserId'] };
    expect(await resolver.idOf(naming, { channelAccessToken: 'tok', botUserId: BOT })).toBe(BOT);
    expect(asked).toEqual([]);
  });

  it('asks the provider at its configured API once per set of credentials, and shares a question in flight', async () => {
    const { fetch, asked } = lineApi();
    const resolver = new AccountResolver({ fetch, apiBaseUrls: { line: 'http://line.test' } });
    const answers = await Promise.all([1, 2, 3].map(() => resolver.idOf(LINE_ACCOUNT, { channelSecret: 's', channelAccessToken: 'a1' })));
    expect(answers).toEqual([userIdOf('a1'), userIdOf('a1'), userIdOf('a1')]);
    // The same credentials in another order are the same credentials.
    expect(await resolver.idOf(LINE_ACCOUNT, { channelAccessToken: 'a1', channelSecret: 's' })).toBe(userIdOf('a1'));
    expect(await resolver.idOf(LINE_ACCOUNT, { channelSecret: 's', channelAccessToken: 'a2' })).toBe(userIdOf('a2'));
    expect(asked).toEqual(['http://line.test/v2/bot/info a1', 'http://line.test/v2/bot/info a2']);
    // Another API (a sandbox) is asked on its own.
    const other = new AccountResolver({ fetch, apiBaseUrls: {} });
    await other.idOf(LINE_ACCOUNT, { channelSecret: 's', channelAccessToken: 'a1' });
    expect(asked.at(-1)).toBe('https://api.line.me/v2/bot/info a1');
  });

  it('keeps a refusal for a minute, logged, and asks again after it', async () => {
    let now = 1_000;
    let refuse = true;
    const { fetch, asked } = lineApi((token) =>
      refuse ? Response.json({ message: 'Authentication failed' }, { status: 401 }) : botInfo(token),
    );
    const log = captureLog();
    const resolver = new AccountResolver({ fetch, apiBaseUrls: {}, log, now: () => now });
    const credentials = { channelSecret: 's', channelAccessToken: 'revoked' };
    expect(await resolver.idOf(LINE_ACCOUNT, credentials)).toBeUndefined();
    expect(log.entries).toEqual([
      {
        level: 'warn',
        message: 'the provider refused to say which account these credentials belong to',
        extra: { channel: 'line', error: expect.any(String) },
      },
    ]);
    refuse = false;
    now += 59_999;
    expect(await resolver.idOf(LINE_ACCOUNT, credentials)).toBeUndefined();
    now += 1;
    expect(await resolver.idOf(LINE_ACCOUNT, credentials)).toBe(userIdOf('revoked'));
    expect(asked).toHaveLength(2);
    // An answer is kept for good.
    now += 10 * 86_400_000;
    expect(await resolver.idOf(LINE_ACCOUNT, credentials)).toBe(userIdOf('revoked'));
    expect(asked).toHaveLength(2);
  });

  it('throws while the provider cannot answer, and asks again next time', async () => {
    let down = true;
    const { fetch, asked } = lineApi((token) =>
      down ? Response.json({ message: 'Internal server error' }, { status: 500 }) : botInfo(token),
    );
    const resolver = new AccountResolver({ fetch, apiBaseUrls: {} });
    await expect(resolver.idOf(LINE_ACCOUNT, { channelSecret: 's', channelAccessToken: 't' })).rejects.toThrow('Internal server error');
    down = false;
    expect(await resolver.idOf(LINE_ACCOUNT, { channelSecret: 's', channelAccessToken: 't' })).toBe(userIdOf('t'));
    expect(asked).toHaveLength(2);
  });

  it('remembers at most 256 sets of credentials, forgetting the oldest first', async () => {
    const { fetch, asked } = lineApi();
    const resolver = new AccountResolver({ fetch, apiBaseUrls: {} });
    const token = (n: number) => ({ channelSecret: 's', channelAccessToken: `t${n}` });
    for (let n = 1; n <= 257; n++) await resolver.idOf(LINE_ACCOUNT, token(n));
    expect(asked).toHaveLength(257);
    // The first went to make room; the second and later are still known.
    await resolver.idOf(LINE_ACCOUNT, token(3));
    await resolver.idOf(LINE_ACCOUNT, token(257));
    expect(asked).toHaveLength(257);
    await resolver.idOf(LINE_ACCOUNT, token(1));
    expect(asked).toHaveLength(258);
    // Asking the first again pushed out the oldest now: the second.
    await resolver.idOf(LINE_ACCOUNT, token(3));
    expect(asked).toHaveLength(258);
    await resolver.idOf(LINE_ACCOUNT, token(2));
    expect(asked).toHaveLength(259);
  });
});

describe('defaultAccountIds', () => {
  /** The store, recording which lookups were made. */
  const spying = (inner: SecretStore) => {
    const lookups: [string, string, SecretLookup | undefined][] = [];
    const store: SecretStore = {
      get: (channel, id, options) => {
        lookups.push([channel, id, options]);
        return inner.get(channel, id, options);
      },
      put: inner.put.bind(inner),
    };
    return { store, lookups };
  };

  it("reads the default account's own credentials, and names the id they serve", async () => {
    const { store, lookups } = spying(
      new LocalSecretStore({
        whatsapp: { credentials: { accessToken: 't', phoneNumberId: '106540352242922' }, accountId: '106540352242922' },
      }),
    );
    expect(
      await defaultAccountIds(WHATSAPP_ACCOUNT, {
        secrets: store,
        accounts: new AccountResolver({ fetch: lineApi().fetch, apiBaseUrls: {} }),
      }),
    ).toEqual(['default', '106540352242922']);
    expect(lookups).toEqual([['whatsapp', 'default', { ownOnly: true }]]);
  });

  it('names `default` once when the credentials serve the id `default` itself', async () => {
    const secrets = new LocalSecretStore({ whatsapp: { credentials: { accessToken: 't', phoneNumberId: 'default' } } });
    expect(
      await defaultAccountIds(WHATSAPP_ACCOUNT, { secrets, accounts: new AccountResolver({ fetch: lineApi().fetch, apiBaseUrls: {} }) }),
    ).toEqual(['default']);
  });
});
