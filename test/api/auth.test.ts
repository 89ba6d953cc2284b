/**
 * API keys: the secret and its hash, the bearer header, and the authorizer Lambda in front of the API (over the
 * DynamoDB key store on the local engine) whose context the API honours.
 */
import { readFileSync } from 'node:fs';
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { API_KEY_PREFIX, apiKeyIdOf, apiKeyRecord, authorize, bearerSecret, generateApiKey, hashApiKey } from '../../api/auth.ts';
import { create as createAuthorizer } from '../../functions/authorizer.ts';
import { localContext } from '../../functions/kit/handler.ts';
import { logOnly } from '../../functions/kit/observability.ts';
import { collectingLog, startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';

describe('API key secrets', () => {
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

  it('makes a record that holds the hash and the scopes, never the secret (admin unless told)', () => {
    const { secret } = generateApiKey();

    expect(apiKeyRecord(secret, 'crm', '2026-11-26T10:00:00.000Z')).toEqual({
      id: apiKeyIdOf(secret),
      keyHash: hashApiKey(secret),
      name: 'crm',
      scopes: ['admin'],
      createdAt: '2026-11-26T10:00:00.000Z',
    });
    const reader = apiKeyRecord(secret, 'bi', '2026-11-26T10:00:00.000Z', ['read'], 'key_admin');
    expect(reader).toMatchObject({ scopes: ['read'], createdBy: 'key_admin' });
    expect(JSON.stringify(reader)).not.toContain(secret);
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

  it('does not look up a header that carries no bearer secret', async () => {
    const keys = { findByHash: vi.fn(async () => undefined) };

    expect(await authorize(keys, 'Basic dXNlcjpwYXNz')).toBeUndefined();

    expect(keys.findByHash).not.toHaveBeenCalled();
  });
});

const authorizerEvent = (authorization: string | undefined): APIGatewayRequestAuthorizerEventV2 => {
  const event = JSON.parse(
    readFileSync(new URL('../fixtures/api/authorizer-event.json', import.meta.url), 'utf8'),
  ) as APIGatewayRequestAuthorizerEventV2;
  const { authorization: _template, ...headers } = event.headers ?? {};
  return {
    ...event,
    headers: authorization === undefined ? headers : { ...headers, authorization },
    identitySource: authorization === undefined ? [] : [authorization],
  };
};

describe('the authorizer Lambda (HTTP API, simple responses), over the DynamoDB key store', () => {
  let harness: ApiHarness;
  beforeEach(async () => {
    harness = await startApiHarness();
  });
  afterEach(async () => {
    await harness.stop();
  });

  const authorizerOf = (log = collectingLog()) => {
    const handler = createAuthorizer({ keys: harness.keys, observability: logOnly(log) });
    return (authorization: string | undefined) => handler(authorizerEvent(authorization), localContext('authorizer'));
  };

  it('authorizes a stored key and passes its id and scopes on, comma-separated', async () => {
    const key = await harness.newKey(['read', 'write']);

    expect(await authorizerOf()(`Bearer ${key.secret}`)).toEqual({ isAuthorized: true, context: { keyId: key.id, scopes: 'read,write' } });
  });

  it.each([
    ['a key never made', () => `Bearer ${generateApiKey().secret}`],
    ['no header', () => undefined],
    ['a malformed header', () => 'Bearer not a key'],
  ])('refuses %s', async (_case, header) => {
    expect(await authorizerOf()(header())).toEqual({ isAuthorized: false, context: {} });
  });

  it('refuses the secret without its Bearer scheme, and a secret one character longer', async () => {
    const key = await harness.newKey(['read']);
    const authorizer = authorizerOf();

    expect(await authorizer(key.secret)).toEqual({ isAuthorized: false, context: {} });
    expect(await authorizer(`Bearer ${key.secret}x`)).toEqual({ isAuthorized: false, context: {} });
  });

  it('refuses a key as soon as it is revoked through the API', async () => {
    const key = await harness.newKey(['read']);
    const authorizer = authorizerOf();
    expect((await authorizer(`Bearer ${key.secret}`)).isAuthorized).toBe(true);

    expect((await harness.call('DELETE', `/v1/keys/${key.id}`)).status).toBe(204);

    expect(await authorizer(`Bearer ${key.secret}`)).toEqual({ isAuthorized: false, context: {} });
  });

  it('never logs the secret it refused', async () => {
    const log = collectingLog();
    const secret = `prl_${'z'.repeat(43)}`;

    await authorizerOf(log)(`Bearer ${secret}`);

    expect(log.entries.map((e) => e.message)).toContain('api key refused');
    expect(JSON.stringify(log.entries)).not.toContain(secret);
  });

  it('fails, rather than refusing, when the store cannot be read', async () => {
    const key = await harness.newKey(['read']);
    const unreadable = Object.create(harness.keys) as typeof harness.keys;
    unreadable.findByHash = async () => {
      throw new Error('ResourceNotFoundException: Requested resource not found');
    };
    const handler = createAuthorizer({ keys: unreadable, observability: logOnly(collectingLog()) });

    await expect(handler(authorizerEvent(`Bearer ${key.secret}`), localContext('authorizer'))).rejects.toThrow('ResourceNotFoundException');
  });

  it("hands the API a context it honours: the key's scopes decide, with no Authorization header left to check", async () => {
    const key = await harness.newKey(['read']);
    const verdict = await authorizerOf()(`Bearer ${key.secret}`);
    if (!verdict.isAuthorized) throw new Error('the key was refused');

    const context = { ...verdict.context };
    const read = await harness.get('/v1/threads', { key: null, authorizer: context });
    const write = await harness.post('/v1/threads/th_x/notes', { text: 'hello' }, { key: null, authorizer: context });

    expect(read.status).toBe(200);
    expect(write.status).toBe(403);
    expect(write.json).toMatchObject({ code: 'forbidden' });
  });
});
