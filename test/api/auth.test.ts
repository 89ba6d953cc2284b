import { describe, expect, it, vi } from 'vitest';
import { API_KEY_PREFIX, apiKeyIdOf, apiKeyRecord, authorize, bearerSecret, generateApiKey, hashApiKey } from '../../api/auth.ts';
import { MemoryThreadStore } from '../helpers/memory-thread-store.ts';

describe('API keys', () => {
  it('hashes a secret to hex SHA-256', () => {
    // FIPS 180-2 test vector.
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('generates a prefixed 256-bit secret and an id derived from its hash', () => {
    const { id, secret } = generateApiKey();

    expect(secret).toMatch(new RegExp(`^${API_KEY_PREFIX}[A-Za-z0-9_-]{43}$`));
    expect(id).toBe(`key_${hashApiKey(secret).slice(0, 16)}`);
    expect(id).toBe(apiKeyIdOf(secret));
    expect(generateApiKey().secret).not.toBe(secret);
  });

  it('stores only the hash of the secret', () => {
    const { secret } = generateApiKey();

    const record = apiKeyRecord(secret, 'crm', '2026-11-26T10:00:00.000Z');

    expect(record).toEqual({ id: apiKeyIdOf(secret), keyHash: hashApiKey(secret), name: 'crm', createdAt: '2026-11-26T10:00:00.000Z' });
    expect(JSON.stringify(record)).not.toContain(secret);
  });

  it.each([
    ['Bearer prl_abc', 'prl_abc'],
    ['bearer prl_abc', 'prl_abc'],
    ['BEARER  prl_abc ', 'prl_abc'],
    ['Bearer any-key.the_operator+set/this==', 'any-key.the_operator+set/this=='],
    ['prl_abc', undefined],
    ['Bearer', undefined],
    ['Bearer ', undefined],
    ['Bearer two words', undefined],
    ['Basic dXNlcjpwYXNz', undefined],
    ['Token prl_abc', undefined],
    [`Bearer ${'a'.repeat(513)}`, undefined],
    [undefined, undefined],
  ])('reads the secret of %j as %j', (header, secret) => {
    expect(bearerSecret(header)).toBe(secret);
  });

  it('authorizes a stored key and nothing else', async () => {
    const store = new MemoryThreadStore();
    const { id, secret } = generateApiKey();
    await store.putApiKey(apiKeyRecord(secret, 'crm', '2026-11-26T10:00:00.000Z'));

    expect(await authorize(store, `Bearer ${secret}`)).toEqual({ keyId: id });
    expect(await authorize(store, `Bearer ${generateApiKey().secret}`)).toBeUndefined();
    expect(await authorize(store, `Bearer ${secret}x`)).toBeUndefined();
    expect(await authorize(store, secret)).toBeUndefined();
    expect(await authorize(store, undefined)).toBeUndefined();
  });

  it('does not look up a header that carries no bearer secret', async () => {
    const store = { findApiKey: vi.fn(async () => undefined) };

    await authorize(store, 'Basic dXNlcjpwYXNz');

    expect(store.findApiKey).not.toHaveBeenCalled();
  });
});
