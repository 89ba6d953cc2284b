/**
 * How the API answers what it cannot do: every error is JSON `{ code, message }`, in the API's own words (never
 * the validation library's), with the HTTP status its code stands for; and a refused request changes nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ERROR_STATUS, MAX_API_BODY_BYTES } from '../../api/schemas.ts';
import { startApiHarness, type ApiAnswer, type ApiHarness } from '../helpers/api-harness.ts';

let harness: ApiHarness;
let threadId: string;
beforeEach(async () => {
  harness = await startApiHarness();
  ({ threadId } = await harness.customerWrites('telegram', '1001'));
});
afterEach(async () => {
  await harness.stop();
});

/** The words of zod's own messages, which must never reach a caller. */
const ZOD_WORDS = [/expected \w+, received/i, /Invalid input/i, /Too (small|big)/i, /Unrecognized key/i, /Invalid option/i, /NaN/];

const expectOwnWords = (response: ApiAnswer) => {
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  expect(response.json).toEqual({
    code: expect.any(String),
    message: expect.any(String),
    ...(response.json.details && { details: expect.any(Object) }),
  });
  expect(ERROR_STATUS[response.json.code as keyof typeof ERROR_STATUS]).toBe(response.status);
  for (const words of ZOD_WORDS) expect(response.text).not.toMatch(words);
};

const storedMessages = async () => (await harness.conversations.listMessages([threadId], 100)).items;

describe('routes', () => {
  it.each(['/v1/nothing', '/v1/threads/th_x/everything', '/v2/threads', '/'])('answers %s with 404 not_found as JSON', async (path) => {
    const response = await harness.get(path);

    expect(response.status).toBe(404);
    expect(response.json).toEqual({ code: 'not_found', message: `No route GET ${path}` });
  });

  it.each([
    ['PUT', '/v1/threads', 'GET'],
    ['DELETE', '/v1/threads', 'GET'],
    ['POST', '/v1/threads/th_x', 'GET, PATCH'],
    ['PUT', '/v1/keys', 'POST, GET'],
    ['PATCH', '/v1/threads/th_x/messages', 'GET, POST'],
    ['GET', '/v1/contacts/ct_x/merge', 'POST'],
  ])('answers %s %s with 405 and Allow: %s', async (method, path, allow) => {
    const response = await harness.call(method, path, { body: {} });

    expect(response.status).toBe(405);
    expect(response.headers.allow?.split(', ').sort()).toEqual(allow.split(', ').sort());
    expect(response.json).toMatchObject({ code: 'method_not_allowed' });
  });

  it('answers an unknown thread, message and contact with 404 not_found', async () => {
    expect((await harness.get('/v1/threads/th_nope')).json).toMatchObject({ code: 'not_found', message: 'No thread th_nope' });
    expect((await harness.get('/v1/threads/th_nope/messages')).status).toBe(404);
    expect((await harness.post('/v1/threads/th_nope/messages', { content: { type: 'text', text: 'x' } })).status).toBe(404);
    expect((await harness.post(`/v1/threads/${threadId}/messages/msg_nope/retry`, undefined)).status).toBe(404);
    expect((await harness.get('/v1/contacts/ct_nope')).json).toMatchObject({ code: 'not_found' });
  });

  it('decodes a percent-encoded id', async () => {
    const response = await harness.get(`/v1/threads/${encodeURIComponent(threadId).replace('_', '%5F')}`);

    expect(response.status).toBe(200);
    expect(response.json.id).toBe(threadId);
  });

  it('answers a GET that carries a body (API Gateway passes one on) as if it had none', async () => {
    const response = await harness.get(`/v1/threads/${threadId}`, { body: { ignored: true } });

    expect(response.status).toBe(200);
    expect(response.json.id).toBe(threadId);
  });
});

describe('bodies', () => {
  it(`answers a body over ${MAX_API_BODY_BYTES} bytes with 413 payload_too_large, storing nothing`, async () => {
    const text = 'x'.repeat(MAX_API_BODY_BYTES);

    const response = await harness.post(`/v1/threads/${threadId}/messages`, { content: { type: 'text', text } });

    expect(response.status).toBe(413);
    expectOwnWords(response);
    expect(response.json.code).toBe('payload_too_large');
    expect(await storedMessages()).toHaveLength(1);
  });

  it('takes a body of exactly the limit, and refuses one byte more', async () => {
    const envelope = JSON.stringify({ content: { type: 'text', text: '' } });
    const atLimit = JSON.stringify({ content: { type: 'text', text: 'x'.repeat(MAX_API_BODY_BYTES - envelope.length) } });
    expect(Buffer.byteLength(atLimit)).toBe(MAX_API_BODY_BYTES);

    const taken = await harness.post(`/v1/threads/${threadId}/messages`, atLimit);
    const refused = await harness.post(`/v1/threads/${threadId}/messages`, atLimit.replace('"x', '"xx'));

    expect(taken.status).toBe(202);
    expect(refused.status).toBe(413);
    expect(await storedMessages()).toHaveLength(2);
  });

  it.each([
    ['cut short', '{"content": {"type": "text", "text": "hi"'],
    ['not JSON at all', 'content=hi'],
    ['empty', ''],
  ])('answers a JSON body %s with 400 invalid_request, storing nothing', async (_case, body) => {
    const response = await harness.post(`/v1/threads/${threadId}/messages`, body);

    expect(response.status).toBe(400);
    expectOwnWords(response);
    expect(response.json).toEqual({ code: 'invalid_request', message: 'The body is not valid JSON' });
    expect(await storedMessages()).toHaveLength(1);
  });

  it('answers JSON that is not an object with 400 in its own words', async () => {
    const response = await harness.post(`/v1/threads/${threadId}/messages`, '["text", "hi"]');

    expect(response.status).toBe(400);
    expectOwnWords(response);
    expect(response.json.message).toContain('must be an object');
  });
});

describe("validation, in the API's own words", () => {
  it.each([
    ['limit=abc', 'limit must be a number'],
    ['limit=0', 'limit must be at least 1'],
    ['limit=101', 'limit must be at most 100'],
    ['limit=2.5', 'limit must be a whole number'],
    ['status=closed', 'must be one of: "open", "pending", "snoozed", "resolved"'],
    ['channel=fax', 'channel must be one of'],
    ['updatedSince=yesterday', 'updatedSince'],
  ])('GET /v1/threads?%s → 400: %s', async (query, words) => {
    const response = await harness.get('/v1/threads', { query });

    expect(response.status).toBe(400);
    expectOwnWords(response);
    expect(response.json.code).toBe('invalid_request');
    expect(response.json.message).toContain(words);
  });

  it("answers a bad limit on a thread's messages the same way", async () => {
    const response = await harness.get(`/v1/threads/${threadId}/messages`, { query: 'limit=abc' });

    expect(response.status).toBe(400);
    expectOwnWords(response);
    expect(response.json.message).toContain('limit must be a number');
  });

  it('lists each problem with the path to the offending value in details.issues', async () => {
    const response = await harness.post(`/v1/threads/${threadId}/messages`, {
      content: { type: 'text', text: 42, quickReplies: [{ payload: 'x' }] },
      channel: 'fax',
      extra: true,
    });

    expect(response.status).toBe(400);
    expectOwnWords(response);
    const issues = response.json.details.issues as { path: (string | number)[]; message: string }[];
    expect(issues.map((i) => i.path.join('.'))).toEqual(expect.arrayContaining(['content.text', 'channel', '']));
    expect(issues.find((i) => i.path.join('.') === 'content.text')?.message).toBe('content.text must be a string');
    expect(issues.find((i) => i.path.join('.') === 'channel')?.message).toContain('channel must be one of: "whatsapp"');
    expect(issues.find((i) => i.path.length === 0)?.message).toContain('unknown field(s): extra');
    expect(await storedMessages()).toHaveLength(1);
  });

  it.each([
    ['a content type that does not exist', { content: { type: 'hologram' } }],
    ['customer-only content', { content: { type: 'reaction', emoji: '👍', targetExternalId: 'x' } }],
    ['no content', {}],
    ['a message tag that does not exist', { content: { type: 'text', text: 'x' }, messageTag: 'urgent' }],
  ])('refuses %s with 400 invalid_request', async (_case, body) => {
    const response = await harness.post(`/v1/threads/${threadId}/messages`, body);

    expect(response.status).toBe(400);
    expectOwnWords(response);
    expect(response.json.code).toBe('invalid_request');
  });

  it('answers a malformed Idempotency-Key with 400, storing nothing', async () => {
    const response = await harness.post(
      `/v1/threads/${threadId}/messages`,
      { content: { type: 'text', text: 'x' } },
      { headers: { 'idempotency-key': 'has spaces in it' } },
    );

    expect(response.status).toBe(400);
    expectOwnWords(response);
    expect(response.json.message).toContain('Idempotency-Key');
    expect(await storedMessages()).toHaveLength(1);
  });

  it('answers a cursor it never gave out with 400 invalid_cursor', async () => {
    const threads = await harness.get('/v1/threads', { query: { cursor: 'bm90IGEgY3Vyc29y' } });
    const messages = await harness.get(`/v1/threads/${threadId}/messages`, { query: { cursor: 'eyJ0Ijp7fX0' } });

    expect(threads.status).toBe(400);
    expect(threads.json.code).toBe('invalid_cursor');
    expect(messages.status).toBe(400);
    expect(messages.json.code).toBe('invalid_cursor');
  });
});

describe('unexpected failures', () => {
  it('answer a bare 500 internal and keep the error text in the log only', async () => {
    const broken = Object.create(harness.conversations) as typeof harness.conversations;
    broken.getThread = async () => {
      throw new Error('ProvisionedThroughputExceededException: secret table detail');
    };
    // The same app over a store that fails: a handler of its own.
    const { create } = await import('../../functions/api.ts');
    const { logOnly } = await import('../../functions/kit/observability.ts');
    const { localContext } = await import('../../functions/kit/handler.ts');
    const handler = create({ ...portsOf(harness), conversations: broken, observability: logOnly(harness.log) });
    const event = {
      version: '2.0',
      rawPath: `/v1/threads/${threadId}`,
      rawQueryString: '',
      headers: { authorization: `Bearer ${harness.admin.secret}` },
      requestContext: {
        http: { method: 'GET', path: `/v1/threads/${threadId}`, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'x' },
      },
      isBase64Encoded: false,
    };

    const result = (await handler(event as never, localContext('api'))) as { statusCode: number; body: string };

    expect(result.statusCode).toBe(500);
    expect(JSON.parse(result.body)).toEqual({ code: 'internal', message: 'Something went wrong on our side; try again later' });
    expect(result.body).not.toContain('secret table detail');
    expect(JSON.stringify(harness.log.entries.filter((e) => e.level === 'error'))).toContain('secret table detail');
  });
});

const portsOf = (h: ApiHarness) => ({
  conversations: h.conversations,
  keys: h.keys,
  accounts: h.accounts,
  idempotency: h.idempotency,
  webhooks: h.webhooks,
  routing: h.routing,
  delivery: h.delivery,
  scheduler: h.scheduler,
  queue: h.queue,
  media: h.media,
  clock: h.clock,
});
