import {
  CreateSecretCommand,
  GetSecretValueCommand,
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
beforeEach(() => secretsManager.reset());

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
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/telegram/default' }).resolves({ SecretString: JSON.stringify(defaultSecret) });
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
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/telegram/default' }).resolves({ SecretString: JSON.stringify(defaultSecret) });
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/telegram/7712345678' }).rejects(notFound());
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/telegram/999' }).rejects(notFound());
    const store = makeStore();
    expect(await store.get('telegram', '7712345678')).toEqual(defaultSecret);
    expect(await store.get('telegram', '999')).toBeUndefined();
  });

  it('serves any account from a default secret that names no account', async () => {
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/line/default' }).resolves({ SecretString: '{"channelSecret":"s"}' });
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/line/U123' }).rejects(notFound());
    expect(await makeStore().get('line', 'U123')).toEqual({ channelSecret: 's' });
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
    const store = new SecretsManagerStore({ client: new SecretsManagerClient({}), prefix: 'parley/', accountIdOf: () => undefined, ttlMs: 300_000, missingTtlMs: 30_000, now: () => clock });
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

  it("replaces an existing account's secret value and drops its cached copy", async () => {
    secretsManager
      .on(GetSecretValueCommand, { SecretId: 'parley/line/U1' })
      .resolvesOnce({ SecretString: '{"channelSecret":"old"}' })
      .resolvesOnce({ SecretString: '{"channelSecret":"old"}' })
      .resolves({ SecretString: JSON.stringify(credentials) });
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/line/default' }).rejects(notFound());
    secretsManager.on(PutSecretValueCommand).resolves({});
    const store = makeStore();
    expect(await store.get('line', 'U1')).toEqual({ channelSecret: 'old' });
    await store.put('line', 'U1', credentials);
    expect(secretsManager.commandCalls(PutSecretValueCommand)[0]?.args[0].input).toEqual({ SecretId: 'parley/line/U1', SecretString: JSON.stringify(credentials) });
    expect(secretsManager.commandCalls(CreateSecretCommand)).toHaveLength(0);
    expect(await store.get('line', 'U1')).toEqual(credentials);
  });

  it('writes no new version when the value is unchanged, whatever the order of its keys', async () => {
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/line/U1' }).resolves({ SecretString: '{"channelAccessToken":"token","channelSecret":"c0ffee"}' });
    await makeStore().put('line', 'U1', credentials);
    expect(secretsManager.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expect(secretsManager.commandCalls(CreateSecretCommand)).toHaveLength(0);
  });

  it("creates the secret on the account's first put, tagged as the API's", async () => {
    secretsManager.on(GetSecretValueCommand).rejects(notFound());
    secretsManager.on(CreateSecretCommand).resolves({});
    await makeStore().put('line', 'U2', credentials);
    expect(secretsManager.commandCalls(CreateSecretCommand)[0]?.args[0].input).toMatchObject({
      Name: 'parley/line/U2',
      SecretString: JSON.stringify(credentials),
      Tags: [{ Key: 'parley:managed-by', Value: 'integrator-api' }],
    });
  });

  it('puts the value after all when a concurrent put created the secret first', async () => {
    secretsManager.on(GetSecretValueCommand).rejects(notFound());
    secretsManager.on(CreateSecretCommand).rejects(new ResourceExistsException({ message: 'exists', $metadata: {} }));
    secretsManager.on(PutSecretValueCommand).resolves({});
    await makeStore().put('line', 'U3', credentials);
    expect(secretsManager.commandCalls(PutSecretValueCommand)).toHaveLength(1);
  });

  it('says so when IAM refuses: a secret DevOps made, not the API', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '{"channelSecret":"devops"}' });
    const denied = Object.assign(new Error('User is not authorized to perform: secretsmanager:PutSecretValue'), { name: 'AccessDeniedException' });
    secretsManager.on(PutSecretValueCommand).rejects(denied);
    await expect(makeStore().put('line', 'U4', credentials)).rejects.toBeInstanceOf(SecretNotWritableError);
  });

  it('surfaces any other failure', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '{"channelSecret":"old"}' });
    secretsManager.on(PutSecretValueCommand).rejects(new Error('ServiceUnavailable'));
    await expect(makeStore().put('line', 'U5', credentials)).rejects.toThrow('ServiceUnavailable');
    expect(secretsManager.commandCalls(CreateSecretCommand)).toHaveLength(0);
  });
});

describe('the default account', () => {
  it('answers to the id its credentials name even when another secret claims that id', async () => {
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/telegram/default' }).resolves({ SecretString: JSON.stringify(defaultSecret) });
    secretsManager.on(GetSecretValueCommand, { SecretId: 'parley/telegram/7712345678' }).resolves({ SecretString: '{"webhookSecret":"evil","botToken":"999:EVIL"}' });
    expect(await makeStore().get('telegram', '7712345678')).toEqual(defaultSecret);
  });
});
