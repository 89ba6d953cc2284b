/**
 * The trust boundary of the shared webhook path: an event lands only in an account whose own credentials
 * verified the request, account ids nobody registered cost nothing and reveal nothing, and credentials that
 * do not name their account (LINE, Kakao without a bot id) receive only for their own. The same rules for
 * every channel are in the conformance suite; these are the parts it cannot say generically.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetSecretValueCommand,
  ListSecretsCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerStore } from '../../adapters/aws/secrets-manager-store.ts';
import { LocalSecretStore, type LocalAccount } from '../../adapters/local/local-secrets.ts';
import { kakaotalkConnector } from '../../connectors/kakaotalk/index.ts';
import { KAKAO_SECRET_HEADER } from '../../connectors/kakaotalk/kakaotalk.verify.ts';
import { lineConnector } from '../../connectors/line/index.ts';
import { messengerConnector } from '../../connectors/messenger/index.ts';
import { whatsappConnector } from '../../connectors/whatsapp/index.ts';
import { AccountResolver, defaultAccountIds } from '../../domain/accounts.ts';
import type { Connector, Credentials, WebhookRequest } from '../../domain/connector.ts';
import type { Channel } from '../../domain/content.ts';
import type { ParleyEvent } from '../../domain/events.ts';
import { ingestWebhook } from '../../domain/ingest.ts';
import type { Log, SecretStore } from '../../domain/ports.ts';
import { lineSignatureHeaders } from '../helpers/line-webhook.ts';
import { signMeta } from '../connectors/messenger/messenger.kit.ts';

const RECEIVED_AT = '2026-03-14T01:00:00.000Z';
const fixture = (path: string): Buffer => readFileSync(new URL(`../fixtures/${path}`, import.meta.url));

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A store with the channel's default account and further accounts registered in a credentials file. */
const localStore = (
  channel: Channel,
  defaults: LocalAccount | undefined,
  registered: Record<string, Credentials> = {},
): LocalSecretStore => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-ingest-'));
  dirs.push(dir);
  const path = join(dir, 'credentials.json');
  writeFileSync(path, JSON.stringify({ [channel]: registered }));
  return new LocalSecretStore(defaults ? { [channel]: defaults } : {}, path);
};

interface Logged {
  readonly level: string;
  readonly message: string;
  readonly extra?: Record<string, unknown>;
}

const harness = (secrets: SecretStore, fetch: typeof globalThis.fetch = async () => Response.json({}, { status: 404 }), now = () => 0) => {
  const published: ParleyEvent[] = [];
  const logged: Logged[] = [];
  const record = (level: string) => (message: string, extra?: Record<string, unknown>) =>
    void logged.push({ level, message, ...(extra && { extra }) });
  const log: Log = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
  const deps = {
    secrets,
    bus: { publish: async (events: readonly ParleyEvent[]) => void published.push(...events) },
    clock: { now: () => new Date(RECEIVED_AT) },
    log,
    accounts: new AccountResolver({ fetch, apiBaseUrls: {}, log, now }),
  };
  const call = (connector: Connector, request: WebhookRequest, accountId?: string) =>
    ingestWebhook(connector, request, { maxBodyBytes: 1024 * 1024, ...(accountId !== undefined && { accountId }) }, deps);
  return { call, published, logged };
};

const post = (rawBody: Buffer, headers: Record<string, string>): WebhookRequest => ({
  method: 'POST',
  headers: Object.fromEntries(Object.entries({ 'content-type': 'application/json', ...headers }).map(([k, v]) => [k.toLowerCase(), v])),
  query: {},
  rawBody,
});

describe('several WhatsApp numbers behind one callback URL', () => {
  const FIRST = '106540352242922';
  const SECOND = '109876543210987';
  const app = { appSecret: '3f1c9b2e7a6d4058b1e2c3d4e5f60718', verifyToken: 'parley-verify-Token_0123456789' };
  const first = { ...app, accessToken: 'EAAfirst', phoneNumberId: FIRST };
  const body = fixture('whatsapp/batch-two-numbers.json');
  const request = post(body, signMeta(body, app));

  it("publishes the second number's events when its own credentials verify the body too (one app)", async () => {
    const { call, published, logged } = harness(
      localStore(
        'whatsapp',
        { credentials: first, accountId: FIRST },
        { [SECOND]: { ...app, accessToken: 'EAAsecond', phoneNumberId: SECOND } },
      ),
    );
    expect((await call(whatsappConnector, request)).statusCode).toBe(200);
    expect(new Set(published.map((e) => e.accountId))).toEqual(new Set([FIRST, SECOND]));
    expect(logged.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it("drops the second number's events, with a warning, when its credentials are another app's; answers 200 for the rest", async () => {
    const otherApp = {
      appSecret: '9a8b7c6d5e4f30211203f4e5d6c7b8a9',
      verifyToken: 'other',
      accessToken: 'EAAsecond',
      phoneNumberId: SECOND,
    };
    const { call, published, logged } = harness(localStore('whatsapp', { credentials: first, accountId: FIRST }, { [SECOND]: otherApp }));
    const answer = await call(whatsappConnector, request);
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ ok: true, events: published.length });
    expect(published.length).toBeGreaterThan(0);
    expect(published.every((e) => e.accountId === FIRST)).toBe(true);
    expect(logged).toContainEqual({
      level: 'warn',
      message: 'webhook events dropped: their account is not one the verifying credentials serve',
      extra: { channel: 'whatsapp', accountId: FIRST, eventAccountId: SECOND, events: 1 },
    });
  });

  it("never lets a registered number's secret write into the default number's threads", async () => {
    // The body names FIRST (the default account's number) and is signed by the account registered as SECOND.
    const otherApp = {
      appSecret: '9a8b7c6d5e4f30211203f4e5d6c7b8a9',
      verifyToken: 'other',
      accessToken: 'EAAsecond',
      phoneNumberId: SECOND,
    };
    const { call, published } = harness(localStore('whatsapp', { credentials: first, accountId: FIRST }, { [SECOND]: otherApp }));
    const forged = post(body, signMeta(body, otherApp));
    expect((await call(whatsappConnector, forged, SECOND)).statusCode).toBe(200);
    expect(published.filter((e) => e.accountId === FIRST)).toEqual([]);
    expect(published.every((e) => e.accountId === SECOND)).toBe(true);
  });
});

describe('account ids nobody registered', () => {
  const notFound = () => new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} });
  const secretsManager = mockClient(SecretsManagerClient);
  beforeEach(() => secretsManager.reset());
  const PAGE = '106512345678901';
  const REGISTERED = '106598765432109';
  const defaults = {
    appSecret: 'default-app-secret-0123456789abcdef',
    verifyToken: 'default-verify',
    pageAccessToken: 'EAAdefault',
    pageId: PAGE,
  };
  const registered = {
    appSecret: 'registered-app-secret-0123456789abcd',
    verifyToken: 'registered-verify',
    pageAccessToken: 'EAAreg',
    pageId: REGISTERED,
  };

  const awsStore = () => {
    secretsManager.on(GetSecretValueCommand).rejects(notFound());
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/messenger/default' }).resolves({ SecretString: JSON.stringify(defaults) });
    secretsManager
      .on(GetSecretValueCommand, { SecretId: `parley/messenger/${REGISTERED}` })
      .resolves({ SecretString: JSON.stringify(registered) });
    secretsManager
      .on(ListSecretsCommand)
      .resolves({ SecretList: [{ Name: 'parley/messenger/default' }, { Name: `parley/messenger/${REGISTERED}` }] });
    return new SecretsManagerStore({
      client: new SecretsManagerClient({}),
      prefix: 'parley/',
      accountIdOf: (_channel, credentials) => messengerConnector.accountIdOf(credentials),
    });
  };
  const body = fixture('messenger/text.json');

  it('answer exactly as a wrong signature, reading no secret however many arrive', async () => {
    const { call, published } = harness(awsStore());
    const wrong = await call(messengerConnector, post(body, signMeta(body, { appSecret: 'guess' })), REGISTERED);
    const reads = secretsManager.commandCalls(GetSecretValueCommand).length;
    const answers = [];
    for (let i = 0; i < 500; i++)
      answers.push(
        await call(messengerConnector, post(body, signMeta(body, { appSecret: 'guess' })), `1065${String(i).padStart(11, '0')}`),
      );
    expect(wrong).toMatchObject({ statusCode: 401 });
    for (const answer of answers) expect(answer).toStrictEqual(wrong);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(reads);
    // One listing of the channel's accounts (DevOps-named and API-registered secrets), then none per request.
    expect(secretsManager.commandCalls(ListSecretsCommand)).toHaveLength(2);
    expect(published).toEqual([]);
  });

  it("answer Meta's handshake exactly as a wrong verify token, while a registered account completes it", async () => {
    const { call } = harness(awsStore());
    const handshake = (token: string): WebhookRequest => ({
      method: 'GET',
      headers: {},
      query: { 'hub.mode': 'subscribe', 'hub.verify_token': token, 'hub.challenge': '1158201444' },
      rawBody: Buffer.alloc(0),
    });
    expect(await call(messengerConnector, handshake('registered-verify'), REGISTERED)).toMatchObject({
      statusCode: 200,
      body: '1158201444',
    });
    const wrong = await call(messengerConnector, handshake('guess'), REGISTERED);
    expect(wrong.statusCode).toBe(403);
    expect(await call(messengerConnector, handshake('guess'), '106500000000001')).toStrictEqual(wrong);
    expect(await call(messengerConnector, handshake('default-verify'), '106500000000001')).toStrictEqual(wrong);
  });
});

describe('LINE: the bot a channel secret signs for', () => {
  const BOT = 'U4af4980629c0a3b6b4f3c4d5e6f7a8b9';
  const OTHER_BOT = 'U0123456789abcdef0123456789abcdef';
  const line = { channelSecret: '8c2f1a0e9b7d6c5f4e3a2b1c0d9e8f7a', channelAccessToken: 'default/token=' };
  const body = fixture('line/text.json');
  const signed = (raw: Buffer, secret = line.channelSecret) => post(raw, lineSignatureHeaders(raw, secret));
  const naming = (destination: string): Buffer => Buffer.from(JSON.stringify({ ...JSON.parse(body.toString('utf8')), destination }));

  /** LINE's bot info, counting the questions; `answer` says what it answers. */
  const botInfo = (answer: () => Response | Promise<Response>) => {
    const asked: string[] = [];
    const fetch: typeof globalThis.fetch = async (input, init) => {
      asked.push(`${new URL(String(input)).pathname} ${new Headers(init?.headers).get('authorization')}`);
      return answer();
    };
    return { fetch, asked };
  };
  const bot = (userId: string) => () => Response.json({ userId, basicId: '@x', displayName: 'x', chatMode: 'bot', markAsReadMode: 'auto' });

  it('learns the bot once, through the access token, and receives for it alone', async () => {
    const { fetch, asked } = botInfo(bot(BOT));
    const { call, published } = harness(localStore('line', { credentials: line }), fetch);
    const answers = await Promise.all(Array.from({ length: 5 }, () => call(lineConnector, signed(body))));
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 200]);
    expect(published).toHaveLength(5);
    expect(published.every((e) => e.accountId === BOT)).toBe(true);
    // A body naming another bot, signed with this channel's secret, stores nothing.
    expect((await call(lineConnector, signed(naming(OTHER_BOT)))).statusCode).toBe(200);
    expect(published).toHaveLength(5);
    expect(asked).toEqual([`/v2/bot/info Bearer ${line.channelAccessToken}`]);
  });

  it('asks LINE to deliver again while its bot info cannot be had, publishing nothing', async () => {
    const { fetch } = botInfo(() => Response.json({ message: 'Internal server error' }, { status: 500 }));
    const { call, published, logged } = harness(localStore('line', { credentials: line }), fetch);
    expect(await call(lineConnector, signed(body))).toMatchObject({ statusCode: 503 });
    expect(published).toEqual([]);
    expect(logged.map((l) => l.message)).toContain('could not learn which account the credentials serve; asking the provider to retry');
  });

  it('keeps the events of credentials LINE refuses in the account that verified them, never in the bot the body names', async () => {
    let clock = 0;
    let refuse = true;
    const { fetch, asked } = botInfo(() => (refuse ? Response.json({ message: 'Authentication failed' }, { status: 401 }) : bot(BOT)()));
    const { call, published, logged } = harness(localStore('line', { credentials: line }), fetch, () => clock);
    await call(lineConnector, signed(body));
    await call(lineConnector, signed(body));
    expect(published.map((e) => e.accountId)).toEqual(['default', 'default']);
    expect(logged.map((l) => l.message)).toContain('the provider refused to say which account these credentials belong to');
    // Asked once a minute while refused: a fixed token is picked up without a restart.
    expect(asked).toHaveLength(1);
    refuse = false;
    clock = 60_000;
    await call(lineConnector, signed(body));
    expect(published.map((e) => e.accountId)).toEqual(['default', 'default', BOT]);
  });

  it("drops a body reaching the default bot's id under another channel's secret that names no bot", async () => {
    // Someone registered the default bot's user id with a channel secret and no token to look it up with.
    const intruder = { channelSecret: '0f1e2d3c4b5a69788796a5b4c3d2e1f0' };
    const { fetch } = botInfo(bot(BOT));
    const { call, published } = harness(localStore('line', { credentials: line }, { [BOT]: intruder }), fetch);
    const answer = await call(lineConnector, signed(body, intruder.channelSecret), BOT);
    expect(answer.statusCode).toBe(200);
    expect(published).toEqual([]);
    // The default channel's own requests still land in its bot's account.
    await call(lineConnector, signed(body));
    expect(published.map((e) => e.accountId)).toEqual([BOT]);
  });

  it("receives for a registered channel's own bot at its URL", async () => {
    const registered = { channelSecret: '0f1e2d3c4b5a69788796a5b4c3d2e1f0', channelAccessToken: 'other/token=' };
    const { fetch } = botInfo(bot(OTHER_BOT));
    const { call, published } = harness(localStore('line', undefined, { [OTHER_BOT]: registered }), fetch);
    expect((await call(lineConnector, signed(naming(OTHER_BOT), registered.channelSecret), OTHER_BOT)).statusCode).toBe(200);
    expect(published.map((e) => e.accountId)).toEqual([OTHER_BOT]);
  });
});

describe('KakaoTalk without KAKAO_BOT_ID', () => {
  const BOT = '65f1a2b3c4d5e6f708192a3b';
  const body = fixture('kakaotalk/plain-text.json');

  it('puts a call in the account whose secret verified it, never in the registered bot its body names', async () => {
    // The default skill secret names no bot; the body names a bot registered with credentials of its own.
    const defaults = { skillSecret: 'default-skill-secret-0123456789' };
    const { call, published } = harness(
      localStore('kakaotalk', { credentials: defaults }, { [BOT]: { skillSecret: 'bot-secret-0123456789abcdef', botId: BOT } }),
    );
    expect(JSON.parse(body.toString('utf8'))).toMatchObject({ bot: { id: BOT } });
    expect((await call(kakaotalkConnector, post(body, { [KAKAO_SECRET_HEADER]: defaults.skillSecret }))).statusCode).toBe(200);
    expect(published.map((e) => e.accountId)).toEqual(['default']);
  });

  it("drops a call reaching the default bot's id under another skill secret that names no bot", async () => {
    // KAKAO_BOT_ID was set on the default account after someone registered its bot id with a secret of their own.
    const defaults = { skillSecret: 'default-skill-secret-0123456789', botId: BOT };
    const intruder = { skillSecret: 'intruder-skill-secret-0123456789' };
    const { call, published } = harness(localStore('kakaotalk', { credentials: defaults }, { [BOT]: intruder }));
    const answer = await call(kakaotalkConnector, post(body, { [KAKAO_SECRET_HEADER]: intruder.skillSecret }), BOT);
    expect(answer.statusCode).toBe(200);
    expect(published).toEqual([]);
    // The default account's own calls still land in its bot's account.
    expect((await call(kakaotalkConnector, post(body, { [KAKAO_SECRET_HEADER]: defaults.skillSecret }))).statusCode).toBe(200);
    expect(published.map((e) => e.accountId)).toEqual([BOT]);
  });

  it("receives at a registered bot's URL for a secret that names no bot, when the default account names another", async () => {
    const defaults = { skillSecret: 'default-skill-secret-0123456789', botId: '65f1a2b3c4d5e6f708190000' };
    const registered = { skillSecret: 'bot-secret-0123456789abcdef' };
    const { call, published } = harness(localStore('kakaotalk', { credentials: defaults }, { [BOT]: registered }));
    expect((await call(kakaotalkConnector, post(body, { [KAKAO_SECRET_HEADER]: registered.skillSecret }), BOT)).statusCode).toBe(200);
    expect(published.map((e) => e.accountId)).toEqual([BOT]);
  });
});

describe('defaultAccountIds', () => {
  const resolver = (fetch: typeof globalThis.fetch = async () => Response.json({}, { status: 404 })) =>
    new AccountResolver({ fetch, apiBaseUrls: {} });

  it('names `default` and the id the default credentials name', async () => {
    const secrets = localStore('whatsapp', {
      credentials: { appSecret: 's', verifyToken: 'v', accessToken: 't', phoneNumberId: '106540352242922' },
      accountId: '106540352242922',
    });
    expect(await defaultAccountIds(whatsappConnector, { secrets, accounts: resolver() })).toEqual(['default', '106540352242922']);
  });

  it("names the default LINE channel's bot, learned through its token", async () => {
    const secrets = localStore('line', { credentials: { channelSecret: 's', channelAccessToken: 't' } });
    const fetch = async () =>
      Response.json({
        userId: 'U4af4980629c0a3b6b4f3c4d5e6f7a8b9',
        basicId: '@x',
        displayName: 'x',
        chatMode: 'bot',
        markAsReadMode: 'auto',
      });
    expect(await defaultAccountIds(lineConnector, { secrets, accounts: resolver(fetch) })).toEqual([
      'default',
      'U4af4980629c0a3b6b4f3c4d5e6f7a8b9',
    ]);
  });

  it('names only `default` when the credentials cannot tell or the channel is not configured', async () => {
    const tokenless = localStore('line', { credentials: { channelSecret: 's' } });
    expect(await defaultAccountIds(lineConnector, { secrets: tokenless, accounts: resolver() })).toEqual(['default']);
    expect(await defaultAccountIds(whatsappConnector, { secrets: localStore('whatsapp', undefined), accounts: resolver() })).toEqual([
      'default',
    ]);
  });
});
