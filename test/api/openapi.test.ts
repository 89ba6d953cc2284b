import * as z from 'zod';
import { beforeEach, describe, expect, it } from 'vitest';
import { buildOpenApiDocument, type OpenApiDocument } from '../../api/openapi.ts';
import { ROUTES, type Route } from '../../api/routes.ts';
import { ERROR_STATUS } from '../../api/schemas.ts';
import type { Content } from '../../domain/content.ts';
import { createHarness, fixture, TestClock, type Harness } from '../helpers/api-harness.ts';
import { collectRefs, resolvePointer, validate } from '../helpers/json-schema.ts';
import { MemoryThreadStore } from '../helpers/memory-thread-store.ts';

const doc: OpenApiDocument = buildOpenApiDocument();
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** The parts of OpenAPI 3.1 this document uses, as the specification states them. */
const RefSchema = z.object({ $ref: z.string().startsWith('#/') }).strict();
const ParameterSchema = z.object({
  name: z.string().min(1),
  in: z.enum(['query', 'header', 'path', 'cookie']),
  required: z.boolean().optional(),
  description: z.string().optional(),
  schema: z.record(z.string(), z.unknown()),
});
const MediaTypesSchema = z.record(z.string(), z.object({ schema: z.record(z.string(), z.unknown()) }));
const ResponseSchema = z.object({
  description: z.string().min(1),
  headers: z.record(z.string(), z.union([RefSchema, z.object({ description: z.string(), schema: z.record(z.string(), z.unknown()) })])).optional(),
  content: MediaTypesSchema.optional(),
});
const OperationSchema = z.object({
  operationId: z.string().min(1),
  summary: z.string().min(1),
  description: z.string().optional(),
  parameters: z.array(z.union([RefSchema, ParameterSchema])).optional(),
  requestBody: z.object({ required: z.boolean(), content: MediaTypesSchema }).optional(),
  responses: z.record(z.string().regex(/^[1-5]\d\d$/), z.union([RefSchema, ResponseSchema])),
  security: z.array(z.record(z.string(), z.array(z.string()))).optional(),
});
const DocumentSchema = z.object({
  openapi: z.string().regex(/^3\.1\.\d+$/),
  info: z.object({ title: z.string().min(1), version: z.string().min(1), description: z.string().optional() }),
  security: z.array(z.record(z.string(), z.array(z.string()))),
  paths: z.record(z.string().startsWith('/'), z.partialRecord(z.enum(HTTP_METHODS), OperationSchema)),
  components: z.object({
    schemas: z.record(z.string().regex(/^[A-Za-z0-9._-]+$/), z.record(z.string(), z.unknown())),
    securitySchemes: z.record(z.string(), z.object({ type: z.literal('http'), scheme: z.string(), description: z.string() })),
    parameters: z.record(z.string(), ParameterSchema),
    responses: z.record(z.string(), ResponseSchema),
    headers: z.record(z.string(), z.object({ description: z.string(), schema: z.record(z.string(), z.unknown()) })),
  }),
});

const deref = (value: unknown): unknown => {
  const ref = (value as { $ref?: unknown } | undefined)?.$ref;
  return typeof ref === 'string' ? deref(resolvePointer(doc, ref)) : value;
};

const operationOf = (route: Route) => {
  const operation = doc.paths[route.path]?.[route.method.toLowerCase()];
  if (!operation) throw new Error(`${route.method} ${route.path} is not in the document`);
  return OperationSchema.parse(operation);
};

const routeOf = (operationId: Route['operationId']): Route => {
  const route = ROUTES.find((r) => r.operationId === operationId);
  if (!route) throw new Error(`no route ${operationId}`);
  return route;
};

/** The JSON schema the document gives for one response of one operation. */
const responseSchema = (operationId: Route['operationId'], status: number): unknown => {
  const response = deref(operationOf(routeOf(operationId)).responses[String(status)]);
  if (!response) throw new Error(`${operationId} documents no ${status} response`);
  return ResponseSchema.parse(response).content?.['application/json']?.schema;
};

const expectValid = (schema: unknown, value: unknown) => expect(validate(schema, value, doc)).toEqual([]);

describe('the OpenAPI document', () => {
  it('is an OpenAPI 3.1 document of the shape the specification gives', () => {
    expect(() => DocumentSchema.parse(doc)).not.toThrow();
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('describes exactly the routes the router serves', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => `${method.toUpperCase()} ${path} ${String(op.operationId)}`),
    );

    expect(documented.sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path} ${r.operationId}`).sort());
  });

  it('resolves every $ref within itself', () => {
    const refs = collectRefs(doc);

    expect(refs.length).toBeGreaterThan(20);
    expect(refs.filter(({ ref }) => resolvePointer(doc, ref) === undefined)).toEqual([]);
  });

  it('keeps component schemas free of zod internals and standalone-document keywords', () => {
    for (const [id, schema] of Object.entries(doc.components.schemas)) {
      expect(id).not.toMatch(/^__/);
      expect(schema).not.toHaveProperty('$id');
      expect(schema).not.toHaveProperty('$schema');
    }
    expect(JSON.stringify(doc)).not.toContain('__shared');
  });

  it('declares every path parameter of every path as a required path parameter', () => {
    for (const route of ROUTES) {
      const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const parameters = (operationOf(route).parameters ?? []).map((p) => ParameterSchema.parse(deref(p)));
      for (const name of names) expect(parameters).toContainEqual(expect.objectContaining({ name, in: 'path', required: true }));
    }
  });

  it('requires a key everywhere, the document included, and documents 401 and 500', () => {
    for (const route of ROUTES) {
      const operation = operationOf(route);
      expect(operation.responses).toHaveProperty('500');
      expect(operation.security).toBeUndefined();
      expect(operation.responses).toHaveProperty('401');
    }
  });

  it('documents the thread listing query, the Idempotency-Key header and the request body', () => {
    const list = (operationOf(routeOf('listThreads')).parameters ?? []).map((p) => ParameterSchema.parse(deref(p)));
    expect(list.map((p) => [p.name, p.in, p.required])).toEqual([
      ['channel', 'query', true],
      ['externalUserId', 'query', true],
      ['limit', 'query', false],
      ['cursor', 'query', false],
    ]);
    expect(list.find((p) => p.name === 'limit')?.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 100, default: 50 });

    const post = operationOf(routeOf('postMessage'));
    const headers = (post.parameters ?? []).map((p) => ParameterSchema.parse(deref(p))).filter((p) => p.in === 'header');
    expect(headers).toEqual([expect.objectContaining({ name: 'Idempotency-Key', required: false })]);
    expect(post.requestBody?.content['application/json']?.schema).toEqual({ $ref: '#/components/schemas/PostMessageRequest' });
    expect(Object.keys(post.responses).sort()).toEqual(['202', '400', '401', '404', '409', '413', '422', '500', '503']);
  });

  it('documents account registration and the account listing', () => {
    const list = operationOf(routeOf('listAccounts'));
    const post = operationOf(routeOf('registerAccount'));
    const query = (list.parameters ?? []).map((p) => ParameterSchema.parse(deref(p)));

    expect(query.map((p) => [p.name, p.in, p.required])).toEqual([['channel', 'query', false]]);
    expect(post.requestBody?.content['application/json']?.schema).toEqual({ $ref: '#/components/schemas/RegisterAccountRequest' });
    expect(Object.keys(post.responses).sort()).toEqual(['201', '400', '401', '409', '413', '422', '500', '503']);
    const request = resolvePointer(doc, '#/components/schemas/RegisterAccountRequest');
    expectValid(request, { channel: 'telegram', accountId: '7001', name: 'Support bot' });
    for (const broken of [{ channel: 'telegram', accountId: 'a/b' }, { channel: 'telegram' }, { channel: 'telegram', accountId: 'a', token: 'x' }]) {
      expect(validate(request, broken, doc), JSON.stringify(broken)).not.toEqual([]);
    }
  });

  it('lists every error code the API answers with', () => {
    const codes = (resolvePointer(doc, '#/components/schemas/Error/properties/code') as { enum: string[] }).enum;

    expect([...codes].sort()).toEqual(Object.keys(ERROR_STATUS).sort());
  });

  it('accepts the outbound request bodies and refuses customer-only content', () => {
    const schema = resolvePointer(doc, '#/components/schemas/PostMessageRequest');

    for (const name of ['post-text.json', 'post-image.json', 'post-location.json']) expectValid(schema, JSON.parse(fixture(name)));
    expect(validate(schema, JSON.parse(fixture('post-reaction.json')), doc)).not.toEqual([]);
  });

  it('gives schemas that refuse what zod refuses (so the checks below are not vacuous)', () => {
    const message = {
      id: 'msg_1',
      threadId: 'th_1',
      direction: 'outbound',
      channel: 'telegram',
      accountId: 'bot',
      occurredAt: '2026-11-26T10:00:00.000Z',
      author: { role: 'agent', id: 'key_1' },
      content: { type: 'text', text: 'hi' },
      status: 'queued',
    };
    const schema = resolvePointer(doc, '#/components/schemas/Message');
    expectValid(schema, message);

    for (const broken of [
      { ...message, status: 'pending' },
      { ...message, occurredAt: '2026-13-01T00:00:00Z' },
      { ...message, occurredAt: '2026-11-26T10:00:00+01:00' },
      { ...message, content: { type: 'fax', text: 'hi' } },
      { ...message, content: { type: 'image', media: { url: 'not a url' } } },
      { ...message, surprise: true },
      { ...message, author: undefined },
    ]) {
      expect(validate(schema, JSON.parse(JSON.stringify(broken)), doc), JSON.stringify(broken)).not.toEqual([]);
    }
  });

  it('is built once and cannot be changed by a caller', () => {
    expect(buildOpenApiDocument()).toBe(doc);
    expect(Object.isFrozen(doc.components.schemas)).toBe(true);
  });
});

describe("the router's answers match the document", () => {
  let h: Harness;

  beforeEach(async () => {
    const clock = new TestClock();
    h = await createHarness(new MemoryThreadStore(clock), clock);
  });

  it('for threads and messages of every content type', async () => {
    const { thread } = await h.customerWrites('telegram', '1001', { type: 'text', text: 'hi', entities: [{ type: 'bold', offset: 0, length: 2 }] });
    const inbound: Content[] = [
      { type: 'image', media: { id: 'AgAD1', mimeType: 'image/jpeg', width: 800, height: 600, size: 51234 }, caption: 'the box' },
      { type: 'file', media: { url: 'https://files.example.com/invoice.pdf', fileName: 'invoice.pdf' } },
      { type: 'sticker', media: { id: 'CAAD2' }, emoji: '😀' },
      { type: 'location', latitude: 52.52, longitude: 13.405 },
      { type: 'contact', name: 'Ana', phoneNumbers: ['+4915112345678'] },
      { type: 'reply', text: 'Track it', payload: 'track:4411' },
      { type: 'reaction', emoji: '👍', targetExternalId: 'out-1' },
      { type: 'unsupported', providerType: 'poll' },
    ];
    for (const content of inbound) {
      h.clock.advance(1_000);
      await h.customerWrites('telegram', '1001', content);
    }
    const posted = await h.postMessage(thread.id, fixture('post-text.json'), { 'idempotency-key': 'k' });
    await h.store.advanceStatus(thread.id, posted.json.id as string, {
      status: 'failed',
      at: h.clock.now().toISOString(),
      failure: { kind: 'permanent', code: '403', message: 'Forbidden: bot was blocked by the user', attempts: 1 },
    });

    const list = await h.call('GET', '/v1/threads', { query: { channel: 'telegram', externalUserId: '1001', limit: '1' } });
    const one = await h.call('GET', `/v1/threads/${thread.id}`);
    const messages = await h.call('GET', `/v1/threads/${thread.id}/messages`, { query: { limit: '100' } });

    expect(posted.statusCode).toBe(202);
    expectValid(responseSchema('postMessage', 202), posted.json);
    expectValid(responseSchema('listThreads', 200), list.json);
    expectValid(responseSchema('getThread', 200), one.json);
    expectValid(responseSchema('listMessages', 200), messages.json);
    expect((messages.json.items as unknown[]).length).toBe(inbound.length + 2);
  });

  it('for accounts, with and without `configured`', async () => {
    const clock = new TestClock();
    const withSecrets = await createHarness(new MemoryThreadStore(clock), clock, undefined, {
      secrets: { get: async () => ({ webhookSecret: 's' }), put: async () => {} },
    });
    const body = JSON.stringify({ channel: 'telegram', accountId: '7001', name: 'Support bot' });

    const answers = [
      ['registerAccount', await h.call('POST', '/v1/accounts', { body })],
      ['registerAccount', await withSecrets.call('POST', '/v1/accounts', { body })],
      ['listAccounts', await withSecrets.call('GET', '/v1/accounts', { query: { channel: 'telegram' } })],
      ['registerAccount', await h.call('POST', '/v1/accounts', { body: '{"channel":"fax","accountId":"a"}' })],
      ['registerAccount', await h.call('POST', '/v1/accounts', { body: '{"channel":"telegram","accountId":"a b"}' })],
      ['listAccounts', await h.call('GET', '/v1/accounts', { query: { channel: 'fax' } })],
    ] as const;

    expect(answers.map(([, r]) => r.statusCode)).toEqual([201, 201, 200, 422, 400, 400]);
    expect(answers[1][1].json.configured).toBe(true);
    for (const [operationId, response] of answers) expectValid(responseSchema(operationId, response.statusCode), response.json);
  });

  it('for error answers', async () => {
    const { thread } = await h.customerWrites('line', 'U77');
    await h.postMessage(thread.id, { content: { type: 'text', text: 'a' } }, { 'idempotency-key': 'k' });
    const answers = [
      ['listThreads', await h.call('GET', '/v1/threads', { query: { channel: 'fax' } })],
      ['listThreads', await h.call('GET', '/v1/threads', { query: { channel: 'line', externalUserId: 'U77', cursor: 'x' } })],
      ['getThread', await h.call('GET', '/v1/threads/th_missing')],
      ['getThread', await h.call('GET', `/v1/threads/${thread.id}`, { anonymous: true })],
      ['postMessage', await h.postMessage(thread.id, { content: { type: 'text', text: 'b' } }, { 'idempotency-key': 'k' })],
      ['postMessage', await h.postMessage(thread.id, fixture('post-image.json'))],
      ['postMessage', await h.postMessage(thread.id, 'x'.repeat(300_000))],
    ] as const;

    expect(answers.map(([, r]) => r.statusCode)).toEqual([400, 400, 404, 401, 409, 422, 413]);
    for (const [operationId, response] of answers) expectValid(responseSchema(operationId, response.statusCode), response.json);
  });
});
