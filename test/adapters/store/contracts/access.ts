/**
 * The contracts of the access stores: API keys, channel accounts and idempotency records.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AccountStore } from '../../../../domain/access/accounts.ts';
import type { ApiKeyStore, StoredApiKey } from '../../../../domain/access/model.ts';
import type { IdempotencyRecord, IdempotencyStore } from '../../../../domain/shared/idempotency.ts';
import { ConflictError, NEW_RECORD } from '../../../../domain/shared/store.ts';
import type { Factory } from '../harness.ts';
import { at, uid } from '../records.ts';

/** A key as the API makes one: a random secret, of which only the SHA-256 is kept. */
export const apiKey = (overrides: Partial<StoredApiKey> = {}): StoredApiKey => ({
  id: uid('key'),
  name: 'helpdesk integration',
  scopes: ['write'],
  createdAt: at(0),
  keyHash: createHash('sha256')
    .update(`pk_${randomBytes(24).toString('base64url')}`)
    .digest('hex'),
  ...overrides,
});

export const apiKeyContract = (implementation: string, factory: Factory<ApiKeyStore>) =>
  describe(`API keys: ${implementation}`, () => {
    it('finds a key by the hash of its secret and by its id', async () => {
      const keys = await factory();
      const key = apiKey({ scopes: ['admin'], createdBy: 'key_root' });
      await keys.create(key);

      expect(await keys.findByHash(key.keyHash)).toEqual(key);
      expect(await keys.get(key.id)).toEqual(key);
      expect(await keys.findByHash(createHash('sha256').update('another secret').digest('hex'))).toBeUndefined();
      expect(await keys.get(uid('key'))).toBeUndefined();
    });

    it('stores the same key again without change, and refuses another key with the same hash or the same id', async () => {
      const keys = await factory();
      const key = apiKey();
      await keys.create(key);

      await keys.create(key);
      await expect(keys.create(apiKey({ keyHash: key.keyHash, name: 'impostor' }))).rejects.toThrow(/already stored/);
      await expect(keys.create(apiKey({ id: key.id, name: 'impostor' }))).rejects.toThrow(/already stored/);

      expect(await keys.list()).toEqual([key]);
      expect(await keys.findByHash(key.keyHash)).toEqual(key);
    });

    it('lists the keys oldest first', async () => {
      const keys = await factory();
      const made = [30, 10, 20, 0].map((second) => apiKey({ createdAt: at(second), name: `key made at ${second}s` }));
      for (const key of made) await keys.create(key);

      expect((await keys.list()).map((k) => k.name)).toEqual(['key made at 0s', 'key made at 10s', 'key made at 20s', 'key made at 30s']);
    });

    it('revokes a key: its secret finds nothing from then on, and revoking it again says there was none', async () => {
      const keys = await factory();
      const [revoked, kept] = [apiKey(), apiKey()];
      await keys.create(revoked);
      await keys.create(kept);

      expect(await keys.revoke(revoked.id)).toBe(true);

      expect(await keys.findByHash(revoked.keyHash)).toBeUndefined();
      expect(await keys.get(revoked.id)).toBeUndefined();
      expect(await keys.list()).toEqual([kept]);
      expect(await keys.revoke(revoked.id)).toBe(false);
      expect(await keys.revoke(uid('key'))).toBe(false);
      expect(await keys.findByHash(kept.keyHash)).toEqual(kept);
    });
  });

export const accountContract = (implementation: string, factory: Factory<AccountStore>) =>
  describe(`channel accounts: ${implementation}`, () => {
    it('registers an account and reads it back', async () => {
      const accounts = await factory();
      const account = { channel: 'telegram' as const, accountId: '7712345678', name: 'Support bot', createdAt: at(0) };

      expect(await accounts.put(account)).toEqual(account);
      expect(await accounts.get('telegram', '7712345678')).toEqual(account);
      expect(await accounts.get('line', '7712345678')).toBeUndefined();
    });

    it('keeps when it was first registered; registering again changes only the name, and only when given', async () => {
      const accounts = await factory();
      await accounts.put({ channel: 'whatsapp', accountId: '106540352242922', name: 'Sales line', createdAt: at(0) });

      const renamed = await accounts.put({ channel: 'whatsapp', accountId: '106540352242922', name: 'Support line', createdAt: at(500) });
      const unnamed = await accounts.put({ channel: 'whatsapp', accountId: '106540352242922', createdAt: at(900) });

      const expected = { channel: 'whatsapp', accountId: '106540352242922', name: 'Support line', createdAt: at(0) };
      expect(renamed).toEqual(expected);
      expect(unnamed).toEqual(expected);
      expect(await accounts.get('whatsapp', '106540352242922')).toEqual(expected);
    });

    it('lists every account ordered by channel and id, or the accounts of one channel', async () => {
      const accounts = await factory();
      const registered = [
        { channel: 'telegram' as const, accountId: '7712345678', createdAt: at(0) },
        { channel: 'line' as const, accountId: 'U4af4980629', createdAt: at(1) },
        { channel: 'telegram' as const, accountId: '5512345678', createdAt: at(2) },
        { channel: 'messenger' as const, accountId: '104729735613', createdAt: at(3) },
      ];
      for (const account of registered) await accounts.put(account);

      expect((await accounts.list()).map((a) => `${a.channel}/${a.accountId}`)).toEqual([
        'line/U4af4980629',
        'messenger/104729735613',
        'telegram/5512345678',
        'telegram/7712345678',
      ]);
      expect((await accounts.list('telegram')).map((a) => a.accountId)).toEqual(['5512345678', '7712345678']);
      expect(await accounts.list('kakaotalk')).toEqual([]);
    });

    it('refuses an account id that cannot be a path segment, and stores nothing', async () => {
      const accounts = await factory();
      await expect(accounts.put({ channel: 'line', accountId: 'a/b#c', createdAt: at(0) })).rejects.toThrow();
      expect(await accounts.list()).toEqual([]);
    });
  });

export const idempotencyRecord = (overrides: Partial<IdempotencyRecord> = {}): IdempotencyRecord => ({
  scope: 'key_integrator',
  key: `retry-${uid('k')}`,
  requestHash: createHash('sha256').update('POST /v1/threads/th_1/messages {"content":{"type":"text","text":"Hi"}}').digest('hex'),
  firstSeenAt: at(0),
  state: 'in_progress',
  leaseUntil: at(30),
  expiresAt: at(86_400),
  ...overrides,
});

export const idempotencyContract = (implementation: string, factory: Factory<IdempotencyStore>) =>
  describe(`idempotency records: ${implementation}`, () => {
    it('claims a key once, answers it at the version read, and refuses a stale or second claim', async () => {
      const store = await factory();
      const claim = idempotencyRecord();
      expect(await store.get(claim.scope, claim.key)).toBeUndefined();

      await store.put(claim, NEW_RECORD);
      expect(await store.get(claim.scope, claim.key)).toEqual({ value: claim, version: 1 });
      await expect(store.put({ ...claim, firstSeenAt: at(1) }, NEW_RECORD)).rejects.toBeInstanceOf(ConflictError);

      const { leaseUntil: _lease, ...claimed } = claim;
      const answered: IdempotencyRecord = {
        ...claimed,
        state: 'completed',
        response: { status: 202, headers: { 'content-type': 'application/json' }, body: '{"id":"msg_1","status":"queued"}' },
      };
      await store.put(answered, 1);
      await expect(store.put({ ...claim, leaseUntil: at(60) }, 1)).rejects.toBeInstanceOf(ConflictError);

      expect(await store.get(claim.scope, claim.key)).toEqual({ value: answered, version: 2 });
    });

    it("keeps two integrators' identical keys apart", async () => {
      const store = await factory();
      const mine = idempotencyRecord({ scope: 'key_a', key: 'order-1' });
      const theirs = idempotencyRecord({ scope: 'key_b', key: 'order-1', requestHash: 'b'.repeat(64) });
      await store.put(mine, NEW_RECORD);
      await store.put(theirs, NEW_RECORD);

      expect((await store.get('key_a', 'order-1'))?.value).toEqual(mine);
      expect((await store.get('key_b', 'order-1'))?.value).toEqual(theirs);
    });

    it('returns an expired record too: the caller decides on its expiry', async () => {
      const store = await factory();
      const old = idempotencyRecord({ expiresAt: '2020-01-01T00:00:00.000Z' });
      await store.put(old, NEW_RECORD);

      expect(await store.get(old.scope, old.key)).toEqual({ value: old, version: 1 });
    });
  });
