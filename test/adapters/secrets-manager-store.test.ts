import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerStore } from '../../adapters/aws/secrets-manager-store.ts';
import { SecretNotWritableError } from '../../domain/errors.ts';

const secretsManager = mockClient(SecretsManagerClient);
/** The secrets `ListSecrets` lists, as Secrets Manager names them. */
const listed = (...names: string[]) => secretsManager.on(ListSecretsCommand).resolves({ SecretList: names.map((Name) => ({ Name })) });
beforeEach(() => {
  secretsManager.reset();
  listed();
});

const notFound = () => new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} });
const defaultSecret = { webhookSecret: 'w', botToken: '7712345678:AAtoken' };

const makeStore = (now = () => 0) =>
  new SecretsManagerStore({
    client: new SecretsManagerClient({}),
    prefix: 'parley/',
    accountIdOf: (_channel, c) => c.botToken?.split(':')[0],
    ttlMs: 1000,
    now,
  });

describe('SecretsManagerStore', () => {
  it('reads parley/<channel>/<account> and caches it for the TTL', async () => {
    secretsManager
      .on(GetSecretValueCommand, { SecretId: 'parley/telegram/default' })
      .resolves({ SecretString: JSON.stringify(defaultSecret) });
    let clock = 0;
    const store = makeStore(() => clock);
    expect(await store.get('telegram', 'default')).toEqual(defaultSecret);
    await store.get('telegram', 'default');
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    clock = 1001;
    await store.get('telegram', 'default');
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('serves an account without its own secret from the default secret only when that secret names it', async () => {
    secretsManager
      .on(GetSecretValueCommand, { SecretId: 'parley/telegram/default' })
      .resolves({ SecretString: JSON.stringify(defaultSecret) });
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/telegram/7712345678' }).rejects(notFound());
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/telegram/999' }).rejects(notFound());
    const store = makeStore();
    expect(await store.get('telegram', '7712345678')).toEqual(defaultSecret);
    expect(await store.get('telegram', '999')).toBeUndefined();
  });

  it('serves an account without a secret from a default secret that names no account, for sending only', async () => {
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/line/default' }).resolves({ SecretString: '{"channelSecret":"s"}' });
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/line/U123' }).rejects(notFound());
    const store = makeStore();
    expect(await store.get('line', 'U123')).toEqual({ channelSecret: 's' });
    // The webhook path asks for the account's own: a channel secret naming no bot does not verify for every bot.
    expect(await store.get('line', 'U123', { ownOnly: true })).toBeUndefined();
    expect(await store.get('line', 'default', { ownOnly: true })).toEqual({ channelSecret: 's' });
  });

  it('answers undefined for an unconfigured channel and surfaces other errors', async () => {
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/line/default' }).rejects(notFound());
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/telegram/default' }).rejects(new Error('AccessDeniedException'));
    const store = makeStore();
    expect(await store.get('line', 'default')).toBeUndefined();
    await expect(store.get('telegram', 'default')).rejects.toThrow('AccessDeniedException');
  });

  it('refuses a secret that is not a JSON object of strings', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '["not","an","object"]' });
    await expect(makeStore().get('telegram', 'default')).rejects.toThrow(/not a JSON object of strings/);
  });

  it('remembers a missing secret for a short time only, so credentials put elsewhere are found soon', async () => {
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/line/default' }).rejects(notFound());
    let clock = 0;
    const store = new SecretsManagerStore({
      client: new SecretsManagerClient({}),
      prefix: 'parley/',
      accountIdOf: () => undefined,
      ttlMs: 300_000,
      missingTtlMs: 30_000,
      now: () => clock,
    });
    await store.get('line', 'default');
    clock = 29_000;
    await store.get('line', 'default');
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    clock = 31_000;
    await store.get('line', 'default');
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });
});

describe('SecretsManagerStore.put', () => {
  const credentials = { channelSecret: 'c0ffee', channelAccessToken: 'token' };

  it("replaces the account's secret under the API's own prefix and drops its cached copy", async () => {
    listed('parley/api/line/U1');
    secretsManager
      .on(GetSecretValueCommand, { SecretId: 'parley/api/line/U1' })
      .resolvesOnce({ SecretString: '{"channelSecret":"old"}' })
      .resolvesOnce({ SecretString: '{"channelSecret":"old"}' })
      .resolves({ SecretString: JSON.stringify(credentials) });
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/line/default' }).rejects(notFound());
    secretsManager.on(PutSecretValueCommand).resolves({});
    const store = makeStore();
    expect(await store.get('line', 'U1')).toEqual({ channelSecret: 'old' });
    await store.put('line', 'U1', credentials);
    expect(secretsManager.commandCalls(PutSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: 'parley/api/line/U1',
      SecretString: JSON.stringify(credentials),
    });
    expect(secretsManager.commandCalls(CreateSecretCommand)).toHaveLength(0);
    expect(await store.get('line', 'U1')).toEqual(credentials);
  });

  it('writes no new version when the value is unchanged, whatever the order of its keys', async () => {
    secretsManager
      .on(GetSecretValueCommand, { SecretId: 'parley/api/line/U1' })
      .resolves({ SecretString: '{"channelAccessToken":"token","channelSecret":"c0ffee"}' });
    await makeStore().put('line', 'U1', credentials);
    expect(secretsManager.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expect(secretsManager.commandCalls(CreateSecretCommand)).toHaveLength(0);
  });

  it("creates the secret on the account's first put, untagged, under the API's prefix", async () => {
    secretsManager.on(GetSecretValueCommand).rejects(notFound());
    secretsManager.on(CreateSecretCommand).resolves({});
    await makeStore().put('line', 'U2', credentials);
    const input = secretsManager.commandCalls(CreateSecretCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ Name: 'parley/api/line/U2', SecretString: JSON.stringify(credentials) });
    // Tagging needs secretsmanager:TagResource, which the API role does not have.
    expect(input?.Tags).toBeUndefined();
  });

  it('puts the value after all when a concurrent put created the secret first', async () => {
    secretsManager.on(GetSecretValueCommand).rejects(notFound());
    secretsManager.on(CreateSecretCommand).rejects(new ResourceExistsException({ message: 'exists', $metadata: {} }));
    secretsManager.on(PutSecretValueCommand).resolves({});
    await makeStore().put('line', 'U3', credentials);
    expect(secretsManager.commandCalls(PutSecretValueCommand)[0]?.args[0].input.SecretId).toBe('parley/api/line/U3');
  });

  it('refuses an account whose secret DevOps made, and writes nothing that would shadow it', async () => {
    listed('parley/line/U4');
    secretsManager.on(GetSecretValueCommand).rejects(notFound());
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/line/U4' }).resolves({ SecretString: '{"channelSecret":"devops"}' });
    const error = await makeStore()
      .put('line', 'U4', credentials)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretNotWritableError);
    expect((error as SecretNotWritableError).secretName).toBe('parley/line/U4');
    expect(secretsManager.commandCalls(CreateSecretCommand)).toHaveLength(0);
    expect(secretsManager.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });

  it("refuses the default account's credentials, which DevOps put", async () => {
    await expect(makeStore().put('line', 'default', credentials)).rejects.toBeInstanceOf(SecretNotWritableError);
    expect(secretsManager.commandCalls(CreateSecretCommand)).toHaveLength(0);
    expect(secretsManager.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });

  it('says so when IAM refuses the write', async () => {
    secretsManager.on(GetSecretValueCommand).rejects(notFound());
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/api/line/U5' }).resolves({ SecretString: '{"channelSecret":"old"}' });
    const denied = Object.assign(new Error('User is not authorized to perform: secretsmanager:PutSecretValue'), {
      name: 'AccessDeniedException',
    });
    secretsManager.on(PutSecretValueCommand).rejects(denied);
    await expect(makeStore().put('line', 'U5', credentials)).rejects.toBeInstanceOf(SecretNotWritableError);
  });

  it('surfaces any other failure', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '{"channelSecret":"old"}' });
    secretsManager.on(PutSecretValueCommand).rejects(new Error('ServiceUnavailable'));
    await expect(makeStore().put('line', 'U6', credentials)).rejects.toThrow('ServiceUnavailable');
    expect(secretsManager.commandCalls(CreateSecretCommand)).toHaveLength(0);
  });
});

describe("the API's secrets beside DevOps'", () => {
  it("serves an account from the API's secret, and from DevOps' when both exist", async () => {
    listed('parley/line/U8', 'parley/api/line/U8', 'parley/api/line/U9');
    secretsManager.on(GetSecretValueCommand).rejects(notFound());
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/line/U8' }).resolves({ SecretString: '{"channelSecret":"devops"}' });
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/api/line/U8' }).resolves({ SecretString: '{"channelSecret":"api"}' });
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/api/line/U9' }).resolves({ SecretString: '{"channelSecret":"api9"}' });
    const store = makeStore();
    expect(await store.get('line', 'U8', { ownOnly: true })).toEqual({ channelSecret: 'devops' });
    expect(await store.get('line', 'U9', { ownOnly: true })).toEqual({ channelSecret: 'api9' });
  });
});

describe('account ids without a secret', () => {
  const realSecret = { webhookSecret: 'w5', botToken: '555:BBtoken' };
  const madeUp = (i: number) => `made-up-${i}`;

  it('cost no secret read: a thousand made-up ids list once, read nothing, and keep real credentials cached', async () => {
    // Prepare: the default secret and one further account, read once each.
    secretsManager
      .on(GetSecretValueCommand, { SecretId: 'parley/telegram/default' })
      .resolves({ SecretString: JSON.stringify(defaultSecret) });
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/telegram/555' }).resolves({ SecretString: JSON.stringify(realSecret) });
    listed('parley/telegram/default', 'parley/telegram/555');
    const store = makeStore();
    expect(await store.get('telegram', '555', { ownOnly: true })).toEqual(realSecret);
    const reads = secretsManager.commandCalls(GetSecretValueCommand).length;
    // Act: webhooks for ids nobody registered, more than the cache holds.
    for (let i = 0; i < 1000; i++) {
      expect(await store.get('telegram', madeUp(i), { ownOnly: true })).toBeUndefined();
      expect(await store.get('telegram', madeUp(i))).toBeUndefined();
    }
    // Assess: not one secret read for them, one listing, and the real account still served from the cache.
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(reads);
    expect(await store.get('telegram', '555', { ownOnly: true })).toEqual(realSecret);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(reads);
    // One listing: DevOps' names and the API's.
    expect(secretsManager.commandCalls(ListSecretsCommand).map((c) => c.args[0].input.Filters)).toEqual([
      [{ Key: 'name', Values: ['parley/telegram/'] }],
      [{ Key: 'name', Values: ['parley/api/telegram/'] }],
    ]);
  });

  it('lists again at most once per interval, so an account added elsewhere is found within it', async () => {
    secretsManager
      .on(GetSecretValueCommand, { SecretId: 'parley/telegram/default' })
      .resolves({ SecretString: JSON.stringify(defaultSecret) });
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/telegram/555' }).resolves({ SecretString: JSON.stringify(realSecret) });
    let clock = 0;
    const store = new SecretsManagerStore({
      client: new SecretsManagerClient({}),
      prefix: 'parley/',
      accountIdOf: () => undefined,
      listIntervalMs: 30_000,
      now: () => clock,
    });
    expect(await store.get('telegram', '555', { ownOnly: true })).toBeUndefined();
    // Another container registers 555.
    listed('parley/telegram/default', 'parley/telegram/555');
    clock = 29_000;
    for (let i = 0; i < 100; i++) await store.get('telegram', madeUp(i), { ownOnly: true });
    expect(await store.get('telegram', '555', { ownOnly: true })).toBeUndefined();
    // A listing is two calls: DevOps' names and the API's.
    expect(secretsManager.commandCalls(ListSecretsCommand)).toHaveLength(2);
    clock = 30_000;
    expect(await store.get('telegram', '555', { ownOnly: true })).toEqual(realSecret);
    for (let i = 0; i < 100; i++) await store.get('telegram', madeUp(i), { ownOnly: true });
    expect(secretsManager.commandCalls(ListSecretsCommand)).toHaveLength(4);
  });

  it('pages through the listing and compares names whole', async () => {
    secretsManager
      .on(GetSecretValueCommand, { SecretId: 'parley/telegram/default' })
      .resolves({ SecretString: JSON.stringify(defaultSecret) });
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/telegram/555' }).resolves({ SecretString: JSON.stringify(realSecret) });
    secretsManager
      .on(ListSecretsCommand)
      .resolvesOnce({ SecretList: [{ Name: 'parley/telegram/5550' }, { Name: 'Parley/telegram/777' }], NextToken: 'page-2' })
      .resolves({ SecretList: [{ Name: 'parley/telegram/555' }] });
    const store = makeStore();
    expect(await store.get('telegram', '555', { ownOnly: true })).toEqual(realSecret);
    expect(await store.get('telegram', '55', { ownOnly: true })).toBeUndefined();
    expect(await store.get('telegram', '777', { ownOnly: true })).toBeUndefined();
    expect(secretsManager.commandCalls(ListSecretsCommand).map((c) => c.args[0].input.NextToken)).toEqual([undefined, 'page-2', undefined]);
    expect(secretsManager.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual([
      'parley/telegram/default',
      'parley/telegram/555',
    ]);
  });

  it('beyond a listing of 10 000 names reads the secret, and its absence never evicts credentials that exist', async () => {
    // Prepare: a channel with more secrets than are listed, so made-up ids must be read to be known.
    let page = 0;
    secretsManager.on(ListSecretsCommand).callsFake(() => {
      page += 1;
      return {
        SecretList: Array.from({ length: 100 }, (_, i) => ({ Name: `parley/telegram/listed-${page}-${i}` })),
        NextToken: `after-${page}`,
      };
    });
    // The catch-all first: aws-sdk-client-mock answers with the latest behaviour that matches.
    secretsManager.on(GetSecretValueCommand).rejects(notFound());
    secretsManager
      .on(GetSecretValueCommand, { SecretId: 'parley/telegram/default' })
      .resolves({ SecretString: JSON.stringify(defaultSecret) });
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/telegram/555' }).resolves({ SecretString: JSON.stringify(realSecret) });
    const store = makeStore();
    expect(await store.get('telegram', '555', { ownOnly: true })).toEqual(realSecret);
    expect(page).toBe(100);
    // Act: more made-up ids than the cache holds.
    for (let i = 0; i < 300; i++) expect(await store.get('telegram', madeUp(i), { ownOnly: true })).toBeUndefined();
    const reads = secretsManager.commandCalls(GetSecretValueCommand).length;
    // Assess: the real account is still cached, and a made-up id is remembered as missing.
    expect(await store.get('telegram', '555', { ownOnly: true })).toEqual(realSecret);
    expect(await store.get('telegram', madeUp(299), { ownOnly: true })).toBeUndefined();
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(reads);
  });

  it('finds an account put in this container at once, without listing again', async () => {
    secretsManager.on(GetSecretValueCommand).rejects(notFound());
    secretsManager.on(CreateSecretCommand).resolves({});
    const store = makeStore();
    expect(await store.get('line', 'U7', { ownOnly: true })).toBeUndefined();
    await store.put('line', 'U7', { channelSecret: 'new' });
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/api/line/U7' }).resolves({ SecretString: '{"channelSecret":"new"}' });
    expect(await store.get('line', 'U7', { ownOnly: true })).toEqual({ channelSecret: 'new' });
    expect(secretsManager.commandCalls(ListSecretsCommand)).toHaveLength(2);
  });
});

describe('the default account', () => {
  it('answers to the id its credentials name even when another secret claims that id', async () => {
    secretsManager
      .on(GetSecretValueCommand, { SecretId: 'parley/telegram/default' })
      .resolves({ SecretString: JSON.stringify(defaultSecret) });
    secretsManager
      .on(GetSecretValueCommand, { SecretId: 'parley/telegram/7712345678' })
      .resolves({ SecretString: '{"webhookSecret":"evil","botToken":"999:EVIL"}' });
    expect(await makeStore().get('telegram', '7712345678')).toEqual(defaultSecret);
  });
});
