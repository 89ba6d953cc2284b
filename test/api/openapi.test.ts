/**
 * The OpenAPI 3.1 document (`GET /v1/openapi.json`): served without a key, valid against the OpenAPI
 * Initiative's schema, describing exactly the routes the app serves with the scope each enforces, and true to
 * what the API really answers: real answers are validated with ajv against the document's schemas.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument, createApi } from '../../api/app.ts';
import { ERROR_STATUS, MAX_INLINE_MEDIA_BYTES } from '../../api/schemas.ts';
import { accountOf, capabilitiesOf } from '../../connectors/capabilities.ts';
import type { Content } from '../../domain/content.ts';
import { ENABLED_CHANNELS } from '../../topology/channels.ts';
import { startApiHarness, type ApiAnswer, type ApiHarness } from '../helpers/api-harness.ts';
import { MemoryMediaStore } from '../helpers/memory-media-store.ts';
import { componentChecker, componentSchemaProblems, openApi31Problems, responseChecker } from '../helpers/openapi-validator.ts';

interface Operation {
  operationId?: string;
  security?: { apiKey?: string[] }[];
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown }[];
  requestBody?: unknown;
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { enum?: string[]; properties?: Record<string, { enum?: string[] }> }> };
};

const document = buildOpenApiDocument() as unknown as Document;
const operations = Object.entries(document.paths).flatMap(([path, ops]) =>
  Object.entries(ops).map(([method, op]) => ({ path, method, op })),
);
const scopeOf = (op: Operation) => (op.security?.length === 0 ? 'none' : op.security?.[0]?.apiKey?.[0]);
const BELOW = { read: undefined, write: 'read', admin: 'write' } as const;

let harness: ApiHarness;
beforeAll(async () => {
  harness = await startApiHarness();
});
afterAll(async () => {
  await harness.stop();
});

describe('the document', () => {
  it('is served at GET /v1/openapi.json without a key, as JSON, and is the one built from the routes', async () => {
    const response = await harness.get('/v1/openapi.json', { key: null });

    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.json).toEqual(JSON.parse(JSON.stringify(document)));
  });

  it("is an OpenAPI 3.1 document by the OpenAPI Initiative's schema", async () => {
    expect(document.openapi).toBe('3.1.0');
    expect(await openApi31Problems(document)).toEqual([]);
  });

  it('can tell a broken document (so the check above is not vacuous)', async () => {
    const broken = structuredClone(document) as unknown as {
      paths: Record<string, Record<string, { responses?: unknown; parameters?: unknown[] }>>;
    };
    broken.paths['/v1/threads/{threadId}']?.get?.parameters?.push({ name: 'x', in: 'body' });
    expect(await openApi31Problems(broken)).not.toEqual([]);
    expect(await openApi31Problems({ ...document, info: {} })).not.toEqual([]);
    expect(await openApi31Problems({ ...document, openapi: '3.0.3' })).not.toEqual([]);
  });

  it('has component schemas that ajv compiles in strict JSON Schema 2020-12, every reference resolved', () => {
    expect(Object.keys(document.components.schemas).length).toBeGreaterThan(20);
    expect(componentSchemaProblems(document)).toEqual([]);
    expect(JSON.stringify(document)).not.toMatch(/"~standard"|"_zod"|"def"\s*:/);
  });

  it('describes exactly the routes the app serves', () => {
    const app = createApi({
      conversations: harness.conversations,
      keys: harness.keys,
      accounts: harness.accounts,
      idempotency: harness.idempotency,
      webhooks: harness.webhooks,
      routing: harness.routing,
      delivery: harness.delivery,
      scheduler: harness.scheduler,
      campaigns: harness.queue('campaigns'),
      deliveries: harness.queue('webhook-deliveries'),
      media: harness.media,
      clock: harness.clock,
      log: harness.log,
      channels: ENABLED_CHANNELS,
      capabilities: capabilitiesOf,
      account: accountOf,
    });
    const served = new Set(
      app.routes.filter((r) => r.method !== 'ALL' && !r.path.includes('*')).map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`),
    );
    const documented = new Set(operations.map(({ path, method }) => `${method.toUpperCase()} ${path}`));

    expect([...documented].sort()).toEqual([...served].sort());
    expect(documented.size).toBeGreaterThanOrEqual(22);
  });

  it('declares every path parameter as a required path parameter', () => {
    for (const { path, method, op } of operations) {
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path');
      expect(declared.map((p) => p.name).sort(), `${method} ${path}`).toEqual([...inPath].sort());
      expect(
        declared.every((p) => p.required === true),
        `${method} ${path}`,
      ).toBe(true);
    }
  });

  it('gives every operation but the document itself a scope as its security requirement, and documents 401 and 403 there', () => {
    for (const { path, method, op } of operations) {
      const scope = scopeOf(op);
      if (path === '/v1/openapi.json') {
        expect(scope).toBe('none');
        continue;
      }
      expect(['read', 'write', 'admin'], `${method} ${path}`).toContain(scope);
      expect(Object.keys(op.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['401', '403']));
      if (method === 'get') expect(scope, `${method} ${path}`).not.toBe('write');
      else expect(scope, `${method} ${path}`).not.toBe('read');
    }
  });

  it('documents Idempotency-Key on every POST, and the answers a reused key gets', () => {
    for (const { path, method, op } of operations.filter((o) => o.method === 'post')) {
      const header = op.parameters?.find((p) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key');
      expect(header, `${method} ${path}`).toMatchObject({ required: false });
      expect(Object.keys(op.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['400', '409']));
    }
  });

  it('documents 413 on every operation that takes a body', () => {
    for (const { path, method, op } of operations.filter((o) => o.op.requestBody !== undefined)) {
      expect(Object.keys(op.responses), `${method} ${path}`).toContain('413');
    }
  });

  it('lists every error code the API answers with, each under its status', () => {
    expect(document.components.schemas.Error?.properties?.code?.enum?.sort()).toEqual(Object.keys(ERROR_STATUS).sort());
  });
});

describe('each operation enforces the scope it documents', () => {
  it.each(operations.filter((o) => scopeOf(o.op) !== 'none').map((o) => [`${o.method.toUpperCase()} ${o.path}`, o] as const))(
    '%s',
    async (_name, { path, method, op }) => {
      const scope = scopeOf(op) as 'read' | 'write' | 'admin';
      const concrete = path.replace(/\{(\w+)\}/g, 'x_unknown');
      const body = method === 'get' || method === 'delete' ? {} : { body: {} };
      const below = BELOW[scope];

      if (below !== undefined) {
        const refused = await harness.call(method.toUpperCase(), concrete, { ...body, key: (await harness.newKey([below])).secret });
        expect(refused.status).toBe(403);
        expect(refused.json.code).toBe('forbidden');
      }
      const allowed = await harness.call(method.toUpperCase(), concrete, { ...body, key: (await harness.newKey([scope])).secret });
      expect([401, 403]).not.toContain(allowed.status);
    },
  );
});

describe("the API's answers match the document", () => {
  const check = responseChecker(document);
  const asError = componentChecker(document);
  const expectValid = (method: string, path: string, answer: ApiAnswer, status?: number) => {
    if (status !== undefined) expect(answer.status, answer.text).toBe(status);
    expect(check(method, path, answer.status, answer.json), `${method} ${path} → ${answer.status}: ${answer.text.slice(0, 500)}`).toEqual(
      [],
    );
  };

  it('can tell an answer that does not match (so the checks below are not vacuous)', () => {
    expect(check('GET', '/v1/threads/{threadId}', 200, { id: 'th_1' })).not.toEqual([]);
    expect(check('GET', '/v1/threads/{threadId}', 200, { ...validThread(), status: 'closed' })).not.toEqual([]);
    expect(check('GET', '/v1/threads/{threadId}', 200, { ...validThread(), createdAt: 'yesterday' })).not.toEqual([]);
    expect(check('GET', '/v1/threads/{threadId}', 200, validThread())).toEqual([]);
    expect(check('GET', '/v1/threads/{threadId}', 418, {})).toEqual([expect.stringContaining('documents no 418 answer')]);
    expect(asError('Error', { code: 'teapot', message: 'x' })).not.toEqual([]);
  });

  it('for threads and messages of every inbound content type, and replies', async () => {
    const contents = [
      { type: 'text', text: 'Hi 👋', entities: [{ type: 'bold', offset: 0, length: 2 }] },
      { type: 'image', media: { id: 'AgACAgIAAxkBAAIB', mimeType: 'image/jpeg', size: 1024 }, caption: 'parcel' },
      { type: 'audio', media: { id: 'AwACAgIAAxkBAAIC' } },
      { type: 'video', media: { url: 'https://example.com/v.mp4' } },
      { type: 'file', media: { id: 'BQACAgIAAxkBAAID', fileName: 'invoice.pdf' } },
      { type: 'sticker', media: { id: 'CAACAgIAAxkBAAIE' }, emoji: '😀' },
      { type: 'location', latitude: 37.5665, longitude: 126.978, name: 'Seoul' },
      { type: 'contact', name: 'Jin', phoneNumbers: ['+821012345678'] },
      { type: 'reply', text: 'Express', payload: 'ship:exp' },
      { type: 'reaction', emoji: '👍', targetExternalId: '5550101234:1200' },
      { type: 'unsupported', providerType: 'poll' },
    ] satisfies Content[];
    let threadId = '';
    for (const content of contents) {
      harness.clock.advance(1000);
      ({ threadId } = await harness.customerWrites('telegram', '5550101234', { content, displayName: 'Mina Park' }));
    }
    harness.clock.advance(1000);
    const reply = await harness.post(`/v1/threads/${threadId}/messages`, {
      content: { type: 'text', text: 'Pick one', quickReplies: [{ text: 'Resend', payload: 'r' }] },
    });
    expectValid('POST', '/v1/threads/{threadId}/messages', reply, 202);

    expectValid('GET', '/v1/threads', await harness.get('/v1/threads'), 200);
    expectValid(
      'GET',
      '/v1/threads',
      await harness.get('/v1/threads', { query: { channel: 'telegram', externalUserId: '5550101234' } }),
      200,
    );
    expectValid('GET', '/v1/threads/{threadId}', await harness.get(`/v1/threads/${threadId}`), 200);
    const messages = await harness.get(`/v1/threads/${threadId}/messages`, { query: { limit: '5' } });
    expectValid('GET', '/v1/threads/{threadId}/messages', messages, 200);
    expect(messages.json.nextCursor).toEqual(expect.any(String));
    const all = await harness.get(`/v1/threads/${threadId}/messages`, { query: { limit: '100' } });
    expectValid('GET', '/v1/threads/{threadId}/messages', all, 200);
    expect(all.json.items.map((m: { content: { type: string } }) => m.content.type)).toEqual([...contents.map((c) => c.type), 'text']);
    expectValid(
      'PATCH',
      '/v1/threads/{threadId}',
      await harness.patch(`/v1/threads/${threadId}`, { status: 'snoozed', snoozedUntil: '2026-12-01T09:00:00Z', addTags: ['vip'] }),
      200,
    );
    expectValid('POST', '/v1/threads/{threadId}/notes', await harness.post(`/v1/threads/${threadId}/notes`, { text: 'VIP' }), 201);
    expectValid('GET', '/v1/threads/{threadId}/notes', await harness.get(`/v1/threads/${threadId}/notes`), 200);
  });

  it('for a failed message, its retry, and a sent one', async () => {
    const { threadId } = await harness.customerWrites('telegram', '6001');
    const reply = await harness.post(`/v1/threads/${threadId}/messages`, { content: { type: 'text', text: 'hello?' } });
    await harness.deliverReply(threadId, reply.json.id, { providerDown: true });
    expectValid('GET', '/v1/threads/{threadId}/messages', await harness.get(`/v1/threads/${threadId}/messages`), 200);

    expectValid(
      'POST',
      '/v1/threads/{threadId}/messages/{messageId}/retry',
      await harness.post(`/v1/threads/${threadId}/messages/${reply.json.id}/retry`, undefined),
      202,
    );
    await harness.deliverReply(threadId, reply.json.id);
    const sent = await harness.get(`/v1/threads/${threadId}/messages`);
    expect(sent.json.items.find((m: { id: string }) => m.id === reply.json.id)).toMatchObject({ status: 'sent' });
    expectValid('GET', '/v1/threads/{threadId}/messages', sent, 200);
  });

  it('for contacts: read, found, changed, linked, merged, unmerged, exported and erased', async () => {
    const whatsapp = await harness.customerWrites('whatsapp', '14155550123', { verifiedPhone: '+14155550123', displayName: 'Ann' });
    const telegram = await harness.customerWrites('telegram', '7001');

    expectValid('GET', '/v1/contacts/{contactId}', await harness.get(`/v1/contacts/${whatsapp.contactId}`), 200);
    expectValid('GET', '/v1/contacts', await harness.get('/v1/contacts', { query: { phone: '+14155550123' } }), 200);
    expectValid('GET', '/v1/contacts', await harness.get('/v1/contacts', { query: { channel: 'telegram', externalUserId: '7001' } }), 200);
    expectValid(
      'PATCH',
      '/v1/contacts/{contactId}',
      await harness.patch(`/v1/contacts/${whatsapp.contactId}`, { email: 'ann@example.com', attributes: { tier: 'gold' } }),
      200,
    );
    expectValid(
      'POST',
      '/v1/contacts/{contactId}/identities',
      await harness.post(`/v1/contacts/${whatsapp.contactId}/identities`, {
        channel: 'line',
        accountId: 'default',
        externalUserId: 'U0123456789abcdef0123456789abcdef',
      }),
      200,
    );
    expectValid(
      'POST',
      '/v1/contacts/{contactId}/merge',
      await harness.post(`/v1/contacts/${whatsapp.contactId}/merge`, { contactId: telegram.contactId }),
      200,
    );
    expectValid('GET', '/v1/contacts/{contactId}', await harness.get(`/v1/contacts/${telegram.contactId}`), 200);
    expectValid('GET', '/v1/contacts/{contactId}/export', await harness.get(`/v1/contacts/${whatsapp.contactId}/export`), 200);
    expectValid(
      'POST',
      '/v1/contacts/{contactId}/unmerge',
      await harness.post(`/v1/contacts/${whatsapp.contactId}/unmerge`, { contactId: telegram.contactId }),
      200,
    );
    expectValid('DELETE', '/v1/contacts/{contactId}', await harness.call('DELETE', `/v1/contacts/${telegram.contactId}`), 202);
  });

  it('for keys and accounts', async () => {
    expectValid('POST', '/v1/keys', await harness.post('/v1/keys', { name: 'crm', scopes: ['read', 'write'] }), 201);
    expectValid('GET', '/v1/keys', await harness.get('/v1/keys'), 200);
    expectValid('GET', '/v1/accounts', await harness.get('/v1/accounts'), 200);
    expectValid(
      'POST',
      '/v1/accounts',
      await harness.post('/v1/accounts', { channel: 'telegram', accountId: '8823456789', name: 'Sales' }),
      201,
    );
    expectValid(
      'POST',
      '/v1/accounts',
      await harness.post('/v1/accounts', { channel: 'kakaotalk', accountId: 'bot-2', credentials: { skillSecret: 's3cret' } }),
      201,
    );
  });

  it('for media over 4 MB: the link to the stored copy', async () => {
    const linking = Object.assign(new MemoryMediaStore(), {
      downloadUrl: async (key: string) => `https://media.example/${key}?X-Amz-Signature=abc`,
    });
    const own = await startApiHarness({ media: linking });
    try {
      const written = await own.customerWrites('telegram', '9001', {
        content: { type: 'video', media: { id: 'BAACAgIA', fileName: 'clip.mp4' } },
      });
      await own.copyMediaOf(written, Buffer.alloc(MAX_INLINE_MEDIA_BYTES + 1), 'video/mp4');

      const answer = await own.get(`/v1/threads/${written.threadId}/messages/${written.messageId}/media`);

      expectValid('GET', '/v1/threads/{threadId}/messages/{messageId}/media', answer, 302);
      expectValid('GET', '/v1/threads/{threadId}/messages', await own.get(`/v1/threads/${written.threadId}/messages`), 200);
    } finally {
      await own.stop();
    }
  });

  it('for error answers, each under a status its operation documents', async () => {
    const { threadId } = await harness.customerWrites('telegram', '8001');
    const reader = await harness.newKey(['read']);
    await harness.post(
      `/v1/threads/${threadId}/messages`,
      { content: { type: 'text', text: 'one' } },
      { headers: { 'idempotency-key': 'e-1' } },
    );

    const errors: [string, string, ApiAnswer, number][] = [
      ['GET', '/v1/threads', await harness.get('/v1/threads', { query: 'limit=abc' }), 400],
      ['GET', '/v1/threads', await harness.get('/v1/threads', { query: { cursor: 'bm9wZQ' } }), 400],
      ['GET', '/v1/threads', await harness.get('/v1/threads', { key: null }), 401],
      ['POST', '/v1/keys', await harness.post('/v1/keys', { scopes: ['read'] }, { key: reader.secret }), 403],
      ['GET', '/v1/threads/{threadId}', await harness.get('/v1/threads/th_nope'), 404],
      ['DELETE', '/v1/keys/{keyId}', await harness.call('DELETE', '/v1/keys/key_nope'), 404],
      ['POST', '/v1/threads/{threadId}/messages', await harness.post(`/v1/threads/${threadId}/messages`, '{"content":'), 400],
      [
        'POST',
        '/v1/threads/{threadId}/messages',
        await harness.post(
          `/v1/threads/${threadId}/messages`,
          { content: { type: 'text', text: 'two' } },
          { headers: { 'idempotency-key': 'e-1' } },
        ),
        409,
      ],
      [
        'POST',
        '/v1/threads/{threadId}/messages',
        await harness.post(`/v1/threads/${threadId}/messages`, { content: { type: 'text', text: 'x'.repeat(300_000) } }),
        413,
      ],
      [
        'POST',
        '/v1/threads/{threadId}/messages',
        await harness.post(`/v1/threads/${threadId}/messages`, { content: { type: 'text', text: 'x' }, channel: 'line' }),
        422,
      ],
      ['PATCH', '/v1/threads/{threadId}', await harness.patch(`/v1/threads/${threadId}`, { status: 'snoozed' }), 422],
      ['POST', '/v1/accounts', await harness.post('/v1/accounts', { channel: 'telegram', accountId: 'default' }), 409],
      ['POST', '/v1/accounts', await harness.post('/v1/accounts', { channel: 'wechat', accountId: 'x' }), 422],
      ['POST', '/v1/contacts/{contactId}/merge', await harness.post('/v1/contacts/ct_nope/merge', { contactId: 'ct_other' }), 404],
      [
        'GET',
        '/v1/threads/{threadId}/messages/{messageId}/media',
        await harness.get(`/v1/threads/${threadId}/messages/msg_nope/media`),
        404,
      ],
      ['POST', '/v1/keys', await harness.post('/v1/keys', { scopes: ['read'] }, { headers: { 'idempotency-key': 'has space' } }), 400],
    ];
    for (const [method, path, answer, status] of errors) expectValid(method, path, answer, status);

    // Answers of no operation: an unknown route, a method a path does not take.
    for (const answer of [await harness.get('/v1/nowhere'), await harness.call('PUT', '/v1/threads')]) {
      expect(asError('Error', answer.json)).toEqual([]);
    }
  });
});

/** A thread as the document describes one, to show the checker refuses what departs from it. */
const validThread = () => ({
  id: 'th_1',
  contactId: 'ct_1',
  status: 'open',
  channels: ['telegram'],
  routes: [],
  assignee: null,
  control: { holder: 'none', since: '2026-11-26T10:00:00.000Z' },
  tags: [],
  attributes: {},
  unread: 0,
  createdAt: '2026-11-26T10:00:00.000Z',
  updatedAt: '2026-11-26T10:00:00.000Z',
  lastMessageAt: '2026-11-26T10:00:00.000Z',
});
