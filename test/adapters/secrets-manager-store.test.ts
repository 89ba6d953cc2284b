import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerStore } from '../../adapters/aws/secrets-manager-store.ts';

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
});
