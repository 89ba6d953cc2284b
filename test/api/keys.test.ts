/**
 * Keys and scopes through the API: who may call what (read < write < admin), and keys made, listed and revoked
 * by an admin key, with only the secret's hash ever stored.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../api/auth.ts';
import { buildOpenApiDocument } from '../../api/app.ts';
import { DynamoRateLimiter } from '../../adapters/aws/store/rate-limits.ts';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';

let harness: ApiHarness;
beforeEach(async () => {
  harness = await startApiHarness();
});
afterEach(async () => {
  await harness.stop();
});

/** Every item of the table, as stored, for checks on what the store holds. */
const everyItem = async () => {
  const { Items } = (await harness.dynamo.engine.handle('Scan', { TableName: harness.dynamo.tableName })) as { Items?: unknown[] };
  return JSON.stringify(Items ?? []);
};

describe('without a valid key', () => {
  it.each([
    ['no Authorization header', null],
    ['a key never made', 'prl_notAKeyThisServerMadeAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a malformed header value', 'two words'],
  ])('answers %s with 401 unauthorized as JSON, and WWW-Authenticate', async (_case, key) => {
    const response = await harness.get('/v1/threads', { key });

    expect(response.status).toBe(401);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(response.json).toEqual({ code: 'unauthorized', message: expect.any(String) });
  });

  it('refuses a write and changes nothing', async () => {
    const { threadId } = await harness.customerWrites('telegram', '1001');

    const response = await harness.post(`/v1/threads/${threadId}/messages`, { content: { type: 'text', text: 'hi' } }, { key: null });

    expect(response.status).toBe(401);
    const messages = await harness.get(`/v1/threads/${threadId}/messages`);
    expect(messages.json.items).toHaveLength(1);
  });

  it('serves the OpenAPI document all the same', async () => {
    const response = await harness.get('/v1/openapi.json', { key: null });

    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ openapi: '3.1.0' });
  });
});

describe('scopes', () => {
  it.each([
    ['read', { read: 200, write: 403, admin: 403 }],
    ['write', { read: 200, write: 201, admin: 403 }],
    ['admin', { read: 200, write: 201, admin: 200 }],
  ] as const)('a %s key gets exactly what its scope includes', async (scope, expected) => {
    const key = await harness.newKey([scope]);
    const { threadId } = await harness.customerWrites('telegram', '2002');

    const statuses = {
      read: (await harness.get(`/v1/threads/${threadId}/messages`, { key: key.secret })).status,
      write: (await harness.post(`/v1/threads/${threadId}/notes`, { text: 'called back' }, { key: key.secret })).status,
      admin: (await harness.get('/v1/keys', { key: key.secret })).status,
    };

    expect(statuses).toEqual(expected);
  });

  it('answers a missing scope with 403 forbidden, naming the scope needed, and changes nothing', async () => {
    const reader = await harness.newKey(['read']);
    const { threadId } = await harness.customerWrites('telegram', '3003');

    const reply = await harness.post(`/v1/threads/${threadId}/messages`, { content: { type: 'text', text: 'hi' } }, { key: reader.secret });
    const register = await harness.post(
      '/v1/accounts',
      { channel: 'telegram', accountId: '5550001' },
      { key: (await harness.newKey(['write'])).secret },
    );

    expect(reply.status).toBe(403);
    expect(reply.json).toEqual({ code: 'forbidden', message: expect.stringContaining('write') });
    expect(register.status).toBe(403);
    expect(register.json).toEqual({ code: 'forbidden', message: expect.stringContaining('admin') });
    expect((await harness.get(`/v1/threads/${threadId}/messages`)).json.items).toHaveLength(1);
    expect(
      (await harness.get('/v1/accounts', { query: { channel: 'telegram' } })).json.items.map((a: { accountId: string }) => a.accountId),
    ).not.toContain('5550001');
  });

  it.each([
    ['GET', '/v1/keys', 'admin'],
    ['POST', '/v1/keys', 'admin'],
    ['DELETE', '/v1/keys/key_x', 'admin'],
    ['POST', '/v1/accounts', 'admin'],
    ['DELETE', '/v1/contacts/ct_x', 'admin'],
    ['GET', '/v1/contacts/ct_x/export', 'admin'],
    ['PATCH', '/v1/threads/th_x', 'write'],
    ['POST', '/v1/threads/th_x/notes', 'write'],
    ['POST', '/v1/threads/th_x/messages', 'write'],
    ['POST', '/v1/threads/th_x/messages/msg_x/retry', 'write'],
    ['PATCH', '/v1/contacts/ct_x', 'write'],
    ['POST', '/v1/contacts/ct_x/merge', 'write'],
    ['POST', '/v1/contacts/ct_x/unmerge', 'write'],
    ['POST', '/v1/contacts/ct_x/identities', 'write'],
  ])('%s %s needs %s: a key of the scope below is refused before anything is looked up', async (method, path, needed) => {
    const below = await harness.newKey([needed === 'admin' ? 'write' : 'read']);

    const response = await harness.call(method, path, { key: below.secret, ...(method !== 'GET' && { body: {} }) });

    expect(response.status).toBe(403);
    expect(response.json.code).toBe('forbidden');
  });

  it('documents the same scope for each of those routes as it enforces', () => {
    const paths = buildOpenApiDocument().paths as Record<string, Record<string, { security?: { apiKey?: string[] }[] }>>;
    expect(paths['/v1/keys']?.post?.security).toEqual([{ apiKey: ['admin'] }]);
    expect(paths['/v1/threads/{threadId}']?.patch?.security).toEqual([{ apiKey: ['write'] }]);
    expect(paths['/v1/threads']?.get?.security).toEqual([{ apiKey: ['read'] }]);
  });
});

describe('the authorizer in front (API Gateway)', () => {
  it('is trusted when it ran: its keyId and scopes decide, with no header to check', async () => {
    const { threadId } = await harness.customerWrites('telegram', '4004');

    const read = await harness.get(`/v1/threads/${threadId}`, { key: null, authorizer: { keyId: 'key_gateway', scopes: 'read' } });
    const write = await harness.post(
      `/v1/threads/${threadId}/notes`,
      { text: 'x' },
      { key: null, authorizer: { keyId: 'key_gateway', scopes: 'read' } },
    );

    expect(read.status).toBe(200);
    expect(write.status).toBe(403);
  });

  it("authors what is written with the authorizer's key id", async () => {
    const { threadId } = await harness.customerWrites('telegram', '4005');

    const reply = await harness.post(
      `/v1/threads/${threadId}/messages`,
      { content: { type: 'text', text: 'from the gateway' } },
      { key: null, authorizer: { keyId: 'key_gateway', scopes: 'write,read' } },
    );

    expect(reply.status).toBe(202);
    expect(reply.json.author).toEqual({ role: 'agent', id: 'key_gateway' });
  });

  it('ignores scopes it does not know, and a context without them falls back to the bearer key', async () => {
    const weird = await harness.get('/v1/keys', { key: null, authorizer: { keyId: 'key_gateway', scopes: 'superuser,read' } });
    expect(weird.status).toBe(403);

    // An authorizer context of another shape (no scopes): the API checks the bearer key itself.
    const fallback = await harness.get('/v1/keys', { authorizer: { keyId: 'key_other' } });
    expect(fallback.status).toBe(200);
    const refused = await harness.get('/v1/keys', { key: null, authorizer: { keyId: 'key_other' } });
    expect(refused.status).toBe(401);
  });
});

describe('POST /v1/keys', () => {
  it('answers 201 with the secret once, stores only its hash, and the new key works with its scopes', async () => {
    const created = await harness.post('/v1/keys', { name: 'crm sync', scopes: ['read', 'write'] });

    expect(created.status).toBe(201);
    expect(created.json).toEqual({
      id: expect.stringMatching(/^key_[0-9a-f]{16}$/),
      name: 'crm sync',
      scopes: ['read', 'write'],
      createdAt: harness.clock.now().toISOString(),
      createdBy: harness.admin.id,
      key: expect.stringMatching(/^prl_[A-Za-z0-9_-]{43}$/),
    });
    const secret: string = created.json.key;

    const stored = await harness.keys.get(created.json.id);
    expect(stored).toMatchObject({ id: created.json.id, keyHash: hashApiKey(secret), scopes: ['read', 'write'] });
    // Nowhere in the table: not in the key's items, not in the idempotency records, not in the outbox.
    const table = await everyItem();
    expect(table).toContain(hashApiKey(secret));
    expect(table).not.toContain(secret);

    expect((await harness.get('/v1/threads', { key: secret })).status).toBe(200);
    expect((await harness.get('/v1/keys', { key: secret })).status).toBe(403);
  });

  it('never shows the secret again: GET /v1/keys lists keys without secrets or hashes, oldest first', async () => {
    harness.clock.advance(1000);
    const created = await harness.post('/v1/keys', { scopes: ['read'] });

    const listed = await harness.get('/v1/keys');

    expect(listed.status).toBe(200);
    expect(listed.json.items).toEqual([
      { id: harness.admin.id, name: 'tests admin', scopes: ['admin'], createdAt: expect.any(String) },
      { id: created.json.id, name: 'unnamed', scopes: ['read'], createdAt: expect.any(String), createdBy: harness.admin.id },
    ]);
    expect(listed.text).not.toContain(created.json.key);
    expect(listed.text).not.toContain(hashApiKey(created.json.key));
    expect(listed.text).not.toContain('keyHash');
  });

  it('keeps each scope once', async () => {
    const created = await harness.post('/v1/keys', { scopes: ['read', 'read', 'admin'] });
    expect(created.json.scopes).toEqual(['read', 'admin']);
  });

  it.each([
    ['no scopes', { name: 'x' }, 'scopes is required'],
    ['an empty list of scopes', { scopes: [] }, 'scopes must have at least 1 item(s)'],
    ['a scope that does not exist', { scopes: ['root'] }, 'scopes[0] must be one of: "read", "write", "admin"'],
    ['an unknown field', { scopes: ['read'], expiresAt: 'never' }, 'unknown field(s): expiresAt'],
    ['a name too long', { scopes: ['read'], name: 'n'.repeat(201) }, 'name must be at most 200 character(s) long'],
  ])('refuses %s with 400 invalid_request in its own words, and makes no key', async (_case, body, words) => {
    const response = await harness.post('/v1/keys', body);

    expect(response.status).toBe(400);
    expect(response.json.code).toBe('invalid_request');
    expect(response.json.message).toContain(words);
    expect((await harness.keys.list()).map((k) => k.id)).toEqual([harness.admin.id]);
  });
});

describe('DELETE /v1/keys/{keyId}', () => {
  it('answers 204 and the key is refused at once, on every route', async () => {
    const key = await harness.newKey(['admin']);
    expect((await harness.get('/v1/keys', { key: key.secret })).status).toBe(200);

    const revoked = await harness.call('DELETE', `/v1/keys/${key.id}`);

    expect(revoked.status).toBe(204);
    expect(revoked.text).toBe('');
    expect((await harness.get('/v1/keys', { key: key.secret })).status).toBe(401);
    expect((await harness.get('/v1/threads', { key: key.secret })).status).toBe(401);
    expect((await harness.get('/v1/keys')).json.items.map((k: { id: string }) => k.id)).toEqual([harness.admin.id]);
  });

  it('refuses a key revoking itself with 400, and the key keeps working', async () => {
    const key = await harness.newKey(['admin']);

    const response = await harness.call('DELETE', `/v1/keys/${key.id}`, { key: key.secret });

    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({ code: 'invalid_request', message: expect.stringContaining('cannot revoke itself') });
    expect((await harness.get('/v1/keys', { key: key.secret })).status).toBe(200);
  });

  it('answers 404 for a key that does not exist, or no longer does', async () => {
    const key = await harness.newKey(['read']);
    expect((await harness.call('DELETE', `/v1/keys/${key.id}`)).status).toBe(204);

    const again = await harness.call('DELETE', `/v1/keys/${key.id}`);
    const never = await harness.call('DELETE', '/v1/keys/key_0000000000000000');

    expect(again.status).toBe(404);
    expect(again.json.code).toBe('not_found');
    expect(never.status).toBe(404);
  });
});

describe('rate limits', () => {
  /** Two API containers of one deployment, each with its own limiter over the shared table, as Lambda runs them. */
  const containers = (perSecond: number) => [
    harness.callVia({ rateLimiter: new DynamoRateLimiter(harness.table, harness.clock, perSecond) }),
    harness.callVia({ rateLimiter: new DynamoRateLimiter(harness.table, harness.clock, perSecond) }),
  ];

  it('hold each key to its rate across containers: beyond it 429 rate_limited with Retry-After, storing nothing', async () => {
    const { threadId } = await harness.customerWrites('telegram', '1001');
    const [a, b] = containers(10);
    const key = await harness.newKey(['write']);

    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await (i % 2 === 0 ? a : b)!('GET', '/v1/threads', { key: key.secret })).status);
    expect(statuses).toEqual(Array(10).fill(200));

    const refused = await a!('POST', `/v1/threads/${threadId}/messages`, {
      key: key.secret,
      body: { content: { type: 'text', text: 'one too many' } },
    });
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json).toEqual({ code: 'rate_limited', message: expect.any(String) });
    expect((await b!('GET', '/v1/threads', { key: key.secret })).status).toBe(429);
    // The refused reply was neither stored nor queued.
    const messages = await harness.get(`/v1/threads/${threadId}/messages`);
    expect(messages.json.items.map((m: { direction: string }) => m.direction)).toEqual(['inbound']);
    expect((await harness.outbox()).jobs).toEqual([]);

    // Another key has its own budget, and the next second the first has its own again.
    expect((await a!('GET', '/v1/threads')).status).toBe(200);
    harness.clock.advance(1000);
    expect((await b!('GET', '/v1/threads', { key: key.secret })).status).toBe(200);
  });
});
