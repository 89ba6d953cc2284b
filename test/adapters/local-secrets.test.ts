import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalSecretStore } from '../../adapters/local/local-secrets.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const file = () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-secrets-'));
  dirs.push(dir);
  return join(dir, 'accounts', 'credentials.json');
};

const telegram = { credentials: { webhookSecret: 'w', botToken: '7712345678:AAtoken' }, accountId: '7712345678' };
const line = { credentials: { channelSecret: 's', channelAccessToken: 't' } };

describe('LocalSecretStore', () => {
  it("serves each channel's default account by `default` and by the id its credentials name", async () => {
    const store = new LocalSecretStore({ telegram, line });
    expect(await store.get('telegram', 'default')).toEqual(telegram.credentials);
    expect(await store.get('telegram', '7712345678')).toEqual(telegram.credentials);
    expect(await store.get('telegram', '999')).toBeUndefined();
    // For sending, credentials that name no account serve the ids that have none of their own...
    expect(await store.get('line', 'U999')).toEqual(line.credentials);
    // ...but never as that account's own, which the webhook path asks for.
    expect(await store.get('line', 'U999', { ownOnly: true })).toBeUndefined();
    expect(await store.get('line', 'default', { ownOnly: true })).toEqual(line.credentials);
    expect(await store.get('whatsapp', 'default')).toBeUndefined();
  });

  it('answers an id nobody registered with nothing, whatever it is called', async () => {
    const path = file();
    const store = new LocalSecretStore({ telegram }, path);
    await store.put('telegram', '555', { webhookSecret: 'w2', botToken: '555:BBtoken' });
    for (const id of ['556', '__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(await store.get('telegram', id, { ownOnly: true }), id).toBeUndefined();
      expect(await store.get('telegram', id), id).toBeUndefined();
    }
  });

  it("keeps an account's own credentials in a file only its owner reads, seen by every store on that file", async () => {
    const path = file();
    const writer = new LocalSecretStore({ telegram }, path);
    const reader = new LocalSecretStore({ telegram }, path);
    expect(await reader.get('telegram', '555')).toBeUndefined();

    await writer.put('telegram', '555', { webhookSecret: 'w2', botToken: '555:BBtoken' });

    expect(await reader.get('telegram', '555')).toEqual({ webhookSecret: 'w2', botToken: '555:BBtoken' });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // The default account is untouched, and another channel's accounts too.
    expect(await reader.get('telegram', 'default')).toEqual(telegram.credentials);
    await writer.put('line', 'U1', { channelSecret: 'own' });
    expect(await reader.get('telegram', '555')).toEqual({ webhookSecret: 'w2', botToken: '555:BBtoken' });
    expect(await reader.get('line', 'U1')).toEqual({ channelSecret: 'own' });
  });

  it("replaces an account's credentials on a second put, and keeps them across a restart", async () => {
    const path = file();
    await new LocalSecretStore({}, path).put('line', 'U1', { channelSecret: 'first' });
    await new LocalSecretStore({}, path).put('line', 'U1', { channelSecret: 'second' });
    expect(await new LocalSecretStore({}, path).get('line', 'U1')).toEqual({ channelSecret: 'second' });
  });

  it('keeps answering with the default account for the id its credentials name', async () => {
    const store = new LocalSecretStore({ telegram }, file());
    await store.put('telegram', '7712345678', { webhookSecret: 'evil', botToken: '999:EVIL' });
    expect(await store.get('telegram', '7712345678')).toEqual(telegram.credentials);
  });

  it('refuses to put without a file to keep them in', async () => {
    await expect(new LocalSecretStore({ telegram }).put('telegram', '555', { botToken: 'x' })).rejects.toThrow(/keeps no credentials/);
  });
});
