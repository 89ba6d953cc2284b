import { beforeEach, describe, expect, it } from 'vitest';
import { NOT_QUEUED } from '../../api/router.ts';
import { buildOpenApiDocument } from '../../api/openapi.ts';
import { MAX_API_BODY_BYTES } from '../../api/schemas.ts';
import { MessageSchema, ThreadSchema } from '../../domain/model.ts';
import { SecretNotWritableError } from '../../domain/errors.ts';
import type { Credentials } from '../../domain/ports.ts';
import { createHarness, fixture, TestClock, type Harness } from '../helpers/api-harness.ts';
import { MemoryThreadStore } from '../helpers/memory-thread-store.ts';

let h: Harness;
let store: MemoryThreadStore;

beforeEach(async () => {
  const clock = new TestClock();
  store = new MemoryThreadStore(clock);
  h = await createHarness(store, clock);
});

const errorOf = (response: { statusCode: number; json: { code?: string; message?: unknown } }) => ({
  status: response.statusCode,
  code: response.json.code,
});

describe('routing and authentication', () => {
  it('answers an unknown route with 404 not_found as JSON', async () => {
    const response = await h.call('GET', '/v1/contacts');

    expect(errorOf(response)).toEqual({ status: 404, code: 'not_found' });
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.json.message).toEqual(expect.any(String));
  });

  it('answers a known path with another method with 405 and Allow', async () => {
    const response = await h.call('DELETE', '/v1/threads/th_1/messages');

    expect(errorOf(response)).toEqual({ status: 405, code: 'method_not_allowed' });
    expect(response.headers.allow).toBe('GET, POST');
  });

  it.each([
    ['no Authorization header', undefined],
    ['a wrong key', 'Bearer prl_not-a-key-anyone-was-given'],
    ['no Bearer prefix', 'prl_not-a-key'],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['an empty bearer', 'Bearer '],
  ])('answers %s with 401 unauthorized', async (_case, authorization) => {
    const { thread } = await h.customerWrites('telegram', '1001');

    const response = await h.call('GET', `/v1/threads/${thread.id}`, {
      anonymous: true,
      ...(authorization !== undefined && { headers: { authorization } }),
    });

    expect(errorOf(response)).toEqual({ status: 401, code: 'unauthorized' });
    expect(response.headers['www-authenticate']).toBe('Bearer');
  });

  it('accepts the key with any case of the scheme name', async () => {
    const { thread } = await h.customerWrites('telegram', '1001');

    const response = await h.call('GET', `/v1/threads/${thread.id}`, {
      anonymous: true,
      headers: { authorization: `bearer ${h.key.secret}` },
    });

    expect(response.statusCode).toBe(200);
  });

  it('trusts the principal an authorizer in front already established', async () => {
    const { thread } = await h.customerWrites('telegram', '1001');

    const response = await h.call('GET', `/v1/threads/${thread.id}`, { anonymous: true, principal: { keyId: 'key_from_authorizer' } });

    expect(response.statusCode).toBe(200);
  });

  it('serves the OpenAPI document to a caller with a key, and to no one else', async () => {
    const response = await h.call('GET', '/v1/openapi.json');

    expect(response.statusCode).toBe(200);
    expect(response.json).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
    expect((await h.call('GET', '/v1/openapi.json', { anonymous: true })).statusCode).toBe(401);
  });

  it('answers an unexpected failure with a bare 500 and keeps the error text in the log', async () => {
    store.getThread = async () => {
      throw new Error('ProvisionedThroughputExceededException: table parley secret-internal-detail');
    };

    const response = await h.call('GET', '/v1/threads/th_1');

    expect(errorOf(response)).toEqual({ status: 500, code: 'internal' });
    expect(response.body).not.toContain('secret-internal-detail');
    expect(h.log.entries.some((e) => e.level === 'error' && JSON.stringify(e.extra).includes('secret-internal-detail'))).toBe(true);
  });
});

describe('GET /v1/threads', () => {
  it('lists the threads a channel identity took part in, newest first', async () => {
    const first = await h.customerWrites('telegram', '1001');
    h.clock.advance(60_000);
    const other = await h.customerWrites('telegram', '2002');
    h.clock.advance(60_000);
    const second = await h.customerWrites('line', 'U77');
    await h.alsoWritesOn(second.thread.id, 'telegram', '1001', h.clock.now());

    const response = await h.call('GET', '/v1/threads', { query: { channel: 'telegram', externalUserId: '1001' } });

    expect(response.statusCode).toBe(200);
    const items = response.json.items as { id: string }[];
    expect(items.map((t) => t.id)).toEqual([second.thread.id, first.thread.id]);
    expect(items.map((t) => t.id)).not.toContain(other.thread.id);
    expect(response.json).not.toHaveProperty('nextCursor');
    for (const item of items) expect(ThreadSchema.safeParse(item).success).toBe(true);
  });

  it('pages with limit and cursor until nextCursor is gone', async () => {
    const threadIds: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { thread } = await h.customerWrites('telegram', '1001', undefined, undefined, `group-${i}`); // one thread per group
      threadIds.unshift(thread.id);
      h.clock.advance(1_000);
    }

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const response = await h.call('GET', '/v1/threads', {
        query: { channel: 'telegram', externalUserId: '1001', limit: '2', ...(cursor && { cursor }) },
      });
      expect(response.statusCode).toBe(200);
      seen.push(...(response.json.items as { id: string }[]).map((t) => t.id));
      cursor = response.json.nextCursor as string | undefined;
      pages++;
    } while (cursor);

    expect(pages).toBe(3);
    expect(seen).toEqual(threadIds);
  });

  it('returns 50 threads when no limit is given', async () => {
    for (let i = 0; i < 51; i++) {
      await h.customerWrites('telegram', '1001', undefined, undefined, `group-${i}`);
      h.clock.advance(1_000);
    }

    const response = await h.call('GET', '/v1/threads', { query: { channel: 'telegram', externalUserId: '1001' } });

    expect((response.json.items as unknown[]).length).toBe(50);
    expect(response.json.nextCursor).toEqual(expect.any(String));
  });

  it('answers an identity with no threads with an empty page', async () => {
    const response = await h.call('GET', '/v1/threads', { query: { channel: 'telegram', externalUserId: 'nobody' } });

    expect(response.statusCode).toBe(200);
    expect(response.json).toEqual({ items: [] });
  });

  it.each([
    ['no channel', { externalUserId: '1001' }, 'channel'],
    ['an unknown channel', { channel: 'fax', externalUserId: '1001' }, 'channel'],
    ['no externalUserId', { channel: 'telegram' }, 'externalUserId'],
    ['limit 0', { channel: 'telegram', externalUserId: '1001', limit: '0' }, 'limit'],
    ['limit 101', { channel: 'telegram', externalUserId: '1001', limit: '101' }, 'limit'],
    ['a limit that is not a number', { channel: 'telegram', externalUserId: '1001', limit: 'ten' }, 'limit'],
    ['a fractional limit', { channel: 'telegram', externalUserId: '1001', limit: '2.5' }, 'limit'],
  ])('answers %s with 400 invalid_request naming the parameter', async (_case, query, parameter) => {
    const response = await h.call('GET', '/v1/threads', { query });

    expect(errorOf(response)).toEqual({ status: 400, code: 'invalid_request' });
    const issues = (response.json.details as { issues: { path: unknown[] }[] }).issues;
    expect(issues.map((i) => i.path)).toContainEqual([parameter]);
  });

  it.each([
    ['garbage', 'not-a-cursor'],
    ['a cursor of another listing', Buffer.from(JSON.stringify({ l: 'messages:th_x', ms: 0, id: 'x' })).toString('base64url')],
  ])('answers %s as cursor with 400 invalid_cursor', async (_case, cursor) => {
    await h.customerWrites('telegram', '1001');

    const response = await h.call('GET', '/v1/threads', { query: { channel: 'telegram', externalUserId: '1001', cursor } });

    expect(errorOf(response)).toEqual({ status: 400, code: 'invalid_cursor' });
  });
});

describe('GET /v1/threads/{threadId}', () => {
  it('answers the thread', async () => {
    const { thread } = await h.customerWrites('telegram', '1001');

    const response = await h.call('GET', `/v1/threads/${thread.id}`);

    expect(response.statusCode).toBe(200);
    expect(response.json).toEqual(thread);
    expect(response.json).toMatchObject({ status: 'open', channels: ['telegram'] });
  });

  it('decodes a percent-encoded id', async () => {
    const { thread } = await h.customerWrites('telegram', '1001');
    await store.putThread({ ...thread, id: 'th_a/b c' });

    const response = await h.call('GET', `/v1/threads/${encodeURIComponent('th_a/b c')}`);

    expect(response.statusCode).toBe(200);
    expect(response.json.id).toBe('th_a/b c');
  });

  it('answers an unknown thread with 404 not_found', async () => {
    const response = await h.call('GET', '/v1/threads/th_missing');

    expect(errorOf(response)).toEqual({ status: 404, code: 'not_found' });
  });
});

describe('GET /v1/threads/{threadId}/messages', () => {
  it('lists messages oldest first and pages on with the cursor', async () => {
    const { thread } = await h.customerWrites('telegram', '1001', { type: 'text', text: 'first' });
    h.clock.advance(1_000);
    await h.postMessage(thread.id, { content: { type: 'text', text: 'second' } });
    h.clock.advance(1_000);
    await h.customerWrites('telegram', '1001', { type: 'text', text: 'third' });

    const page1 = await h.call('GET', `/v1/threads/${thread.id}/messages`, { query: { limit: '2' } });
    const page2 = await h.call('GET', `/v1/threads/${thread.id}/messages`, {
      query: { limit: '2', cursor: page1.json.nextCursor as string },
    });

    const texts = [...(page1.json.items as { content: { text: string } }[]), ...(page2.json.items as { content: { text: string } }[])].map(
      (m) => m.content.text,
    );
    expect(texts).toEqual(['first', 'second', 'third']);
    expect(page2.json).not.toHaveProperty('nextCursor');
    for (const item of page1.json.items as unknown[]) expect(MessageSchema.safeParse(item).success).toBe(true);
  });

  it('answers an unknown thread with 404, not an empty page', async () => {
    const response = await h.call('GET', '/v1/threads/th_missing/messages');

    expect(errorOf(response)).toEqual({ status: 404, code: 'not_found' });
  });

  it('answers a bad cursor with 400 invalid_cursor', async () => {
    const { thread } = await h.customerWrites('telegram', '1001');

    const response = await h.call('GET', `/v1/threads/${thread.id}/messages`, { query: { cursor: '%%%' } });

    expect(errorOf(response)).toEqual({ status: 400, code: 'invalid_cursor' });
  });
});

describe('POST /v1/threads/{threadId}/messages', () => {
  it("queues an agent's reply on the customer's most recent channel", async () => {
    const { thread } = await h.customerWrites('line', 'U77');
    h.clock.advance(60_000);
    await h.alsoWritesOn(thread.id, 'telegram', '1001', h.clock.now());
    h.clock.advance(1_000);

    const response = await h.postMessage(thread.id, fixture('post-text.json'));

    expect(response.statusCode).toBe(202);
    const message = MessageSchema.parse(response.json);
    expect(message).toMatchObject({
      threadId: thread.id,
      direction: 'outbound',
      channel: 'telegram',
      accountId: 'telegram-bot',
      status: 'queued',
      author: { role: 'agent', id: h.key.id },
      occurredAt: h.clock.now().toISOString(),
      content: JSON.parse(fixture('post-text.json')).content,
    });
    expect(await store.getMessage(thread.id, message.id)).toEqual(message);
    expect(h.outbound.sent).toEqual([{ kind: 'deliver', channel: 'telegram', threadId: thread.id, messageId: message.id }]);
    expect((await store.getThread(thread.id))?.lastMessageAt).toBe(message.occurredAt);
  });

  it('sends on the channel the request names, when the customer wrote there', async () => {
    const { thread } = await h.customerWrites('line', 'U77');
    h.clock.advance(60_000);
    await h.alsoWritesOn(thread.id, 'telegram', '1001', h.clock.now());

    const response = await h.postMessage(thread.id, fixture('post-location.json'));

    expect(response.statusCode).toBe(202);
    expect(response.json).toMatchObject({ channel: 'line', accountId: 'line-bot', content: { type: 'location' } });
  });

  it('accepts a text longer than one provider message: the sender splits it', async () => {
    const { thread } = await h.customerWrites('telegram', '1001');

    const response = await h.postMessage(thread.id, { content: { type: 'text', text: 'x'.repeat(10_000) } });

    expect(response.statusCode).toBe(202);
  });

  it('gives ids that sort in the order the replies were made', async () => {
    const { thread } = await h.customerWrites('telegram', '1001');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      h.clock.advance(i === 1 ? 1 : 999);
      ids.push((await h.postMessage(thread.id, { content: { type: 'text', text: `reply ${i}` } })).json.id as string);
    }

    expect([...ids].sort()).toEqual(ids);
  });

  it("refuses a channel the customer has not written on with 422 channel_not_in_thread, storing nothing", async () => {
    const { thread } = await h.customerWrites('telegram', '1001');

    const response = await h.postMessage(thread.id, { channel: 'line', content: { type: 'text', text: 'hi' } });

    expect(errorOf(response)).toEqual({ status: 422, code: 'channel_not_in_thread' });
    expect(response.json.message).toContain('telegram');
    expect((await store.listMessages(thread.id, 100)).items).toHaveLength(1);
    expect(h.outbound.sent).toEqual([]);
  });

  it('refuses content the channel cannot carry with 422 unsupported_content', async () => {
    const { thread } = await h.customerWrites('line', 'U77');

    const response = await h.postMessage(thread.id, fixture('post-image.json'));

    expect(errorOf(response)).toEqual({ status: 422, code: 'unsupported_content' });
    expect(response.json.message).toContain('image');
    expect(h.outbound.sent).toEqual([]);
  });

  it('refuses a template on a channel without provider templates, naming what it can carry', async () => {
    const { thread } = await h.customerWrites('telegram', '1001');

    const response = await h.postMessage(thread.id, { content: { type: 'template', name: 'order_update', language: 'en_US', body: ['42'] } });

    expect(errorOf(response)).toEqual({ status: 422, code: 'unsupported_content' });
    expect(response.json.message).toContain('list');
    expect(h.outbound.sent).toEqual([]);
  });

  it('keeps a message tag the channel has on the message, and refuses one it has not', async () => {
    const line = await h.customerWrites('line', 'U78');
    const telegram = await h.customerWrites('telegram', '1002');
    const body = { content: { type: 'text', text: 'Following up on your order' }, messageTag: 'human_agent' };

    const tagged = await h.postMessage(line.thread.id, body);
    const refused = await h.postMessage(telegram.thread.id, body);

    expect(tagged.statusCode).toBe(202);
    expect(tagged.json.messageTag).toBe('human_agent');
    expect(errorOf(refused)).toEqual({ status: 422, code: 'unsupported_content' });
    expect(refused.json.message).toContain('human_agent');
    expect(h.outbound.sent).toHaveLength(1);
  });

  it('accepts buttons and lists, whatever the channel shows natively (its sender degrades the rest)', async () => {
    const { thread } = await h.customerWrites('telegram', '1003');
    const buttons = {
      type: 'text',
      text: 'Your order shipped',
      buttons: [
        { type: 'url', text: 'Track it', url: 'https://example.com/track/42' },
        { type: 'postback', text: 'Talk to us', payload: 'HANDOFF' },
      ],
    };
    const list = {
      type: 'list',
      text: 'Pick a time',
      sections: [{ title: 'Tomorrow', items: [{ title: '9:00', payload: 'T9' }, { title: '14:00', description: 'afternoon', payload: 'T14' }] }],
    };

    const answers = [await h.postMessage(thread.id, { content: buttons }), await h.postMessage(thread.id, { content: list })];

    expect(answers.map((a) => a.statusCode)).toEqual([202, 202]);
    expect(answers.map((a) => a.json.content)).toEqual([buttons, list]);
  });

  it('refuses a channel that has no connector here with 422 channel_unavailable', async () => {
    const { thread } = await h.customerWrites('whatsapp', '+4915112345678');

    const response = await h.postMessage(thread.id, { content: { type: 'text', text: 'hi' } });

    expect(errorOf(response)).toEqual({ status: 422, code: 'channel_unavailable' });
  });

  it.each([
    ['customer-only content (a reaction)', fixture('post-reaction.json')],
    [
      'a text with both quick replies and buttons',
      JSON.stringify({
        content: {
          type: 'text',
          text: 'hi',
          quickReplies: [{ text: 'Yes', payload: 'Y' }],
          buttons: [{ type: 'postback', text: 'No', payload: 'N' }],
        },
      }),
    ],
    ['a link button that is not http(s)', JSON.stringify({ content: { type: 'text', text: 'hi', buttons: [{ type: 'url', text: 'Run', url: 'javascript:alert(1)' }] } })],
    ['an empty list', JSON.stringify({ content: { type: 'list', text: 'Pick', sections: [] } })],
    [
      '101 quick replies',
      JSON.stringify({ content: { type: 'text', text: 'Pick', quickReplies: Array.from({ length: 101 }, (_, i) => ({ text: `${i}`, payload: `p${i}` })) } }),
    ],
    ['a template name with spaces', JSON.stringify({ content: { type: 'template', name: 'order update', language: 'en_US' } })],
    ['an unknown message tag', JSON.stringify({ content: { type: 'text', text: 'hi' }, messageTag: 'promotion' })],
    ['empty text', JSON.stringify({ content: { type: 'text', text: '' } })],
    ['no content', JSON.stringify({ channel: 'telegram' })],
    ['an unknown channel', JSON.stringify({ channel: 'fax', content: { type: 'text', text: 'hi' } })],
    ['an unknown field', JSON.stringify({ chanel: 'telegram', content: { type: 'text', text: 'hi' } })],
    ['a JSON array', '[]'],
    ['text that is not JSON', '{"content": '],
    ['an empty body', ''],
  ])('answers %s with 400 invalid_request', async (_case, body) => {
    const { thread } = await h.customerWrites('telegram', '1001');

    const response = await h.postMessage(thread.id, body);

    expect(errorOf(response)).toEqual({ status: 400, code: 'invalid_request' });
    expect(h.outbound.sent).toEqual([]);
  });

  it('lists zod issues with their paths in details', async () => {
    const { thread } = await h.customerWrites('telegram', '1001');

    const response = await h.postMessage(thread.id, { content: { type: 'location', latitude: 91, longitude: 0 } });

    expect(response.json.details).toEqual({
      issues: [expect.objectContaining({ path: ['content', 'latitude'], message: expect.any(String) })],
    });
  });

  it('answers a body over 256 KB with 413 payload_too_large', async () => {
    const { thread } = await h.customerWrites('telegram', '1001');
    const body = JSON.stringify({ content: { type: 'text', text: 'é'.repeat(MAX_API_BODY_BYTES / 2) } });

    const response = await h.postMessage(thread.id, body);

    expect(errorOf(response)).toEqual({ status: 413, code: 'payload_too_large' });
  });

  it('answers an unknown thread with 404 not_found', async () => {
    const response = await h.postMessage('th_missing', { content: { type: 'text', text: 'hi' } });

    expect(errorOf(response)).toEqual({ status: 404, code: 'not_found' });
  });

  it('answers 400 for an Idempotency-Key that is not printable ASCII', async () => {
    const { thread } = await h.customerWrites('telegram', '1001');

    const response = await h.postMessage(thread.id, { content: { type: 'text', text: 'hi' } }, { 'idempotency-key': 'has space' });

    expect(errorOf(response)).toEqual({ status: 400, code: 'invalid_request' });
  });
});

describe('POST with an Idempotency-Key', () => {
  const body = { content: { type: 'text', text: 'Your refund is on its way' } };

  it('answers a retry a second later with the same message, stored and queued once', async () => {
    const { thread } = await h.customerWrites('telegram', '1001');

    const first = await h.postMessage(thread.id, body, { 'idempotency-key': 'refund-4411' });
    h.clock.advance(1_000);
    const retry = await h.postMessage(thread.id, { content: { text: body.content.text, type: 'text' } }, { 'idempotency-key': 'refund-4411' });

    expect(first.statusCode).toBe(202);
    expect(retry.statusCode).toBe(202);
    expect(retry.json).toEqual(first.json);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(first.headers).not.toHaveProperty('idempotent-replayed');
    const outbound = (await store.listMessages(thread.id, 100)).items.filter((m) => m.direction === 'outbound');
    expect(outbound).toHaveLength(1);
    expect(h.outbound.sent).toHaveLength(1);
  });

  it('answers a replay with the message as it is now', async () => {
    const { thread } = await h.customerWrites('telegram', '1001');
    const first = await h.postMessage(thread.id, body, { 'idempotency-key': 'k1' });
    await store.advanceStatus(thread.id, first.json.id as string, { status: 'delivered', at: h.clock.now().toISOString() });

    const retry = await h.postMessage(thread.id, body, { 'idempotency-key': 'k1' });

    expect(retry.json).toMatchObject({ id: first.json.id, status: 'delivered' });
  });

  it('refuses the same key with a different body with 409 idempotency_key_reused', async () => {
    const { thread } = await h.customerWrites('telegram', '1001');
    await h.postMessage(thread.id, body, { 'idempotency-key': 'k1' });

    const response = await h.postMessage(thread.id, { content: { type: 'text', text: 'something else' } }, { 'idempotency-key': 'k1' });

    expect(errorOf(response)).toEqual({ status: 409, code: 'idempotency_key_reused' });
    expect(h.outbound.sent).toHaveLength(1);
  });

  it('refuses the same key on another thread with 409', async () => {
    const a = await h.customerWrites('telegram', '1001');
    const b = await h.customerWrites('telegram', '2002');
    await h.postMessage(a.thread.id, body, { 'idempotency-key': 'k1' });

    const response = await h.postMessage(b.thread.id, body, { 'idempotency-key': 'k1' });

    expect(errorOf(response)).toEqual({ status: 409, code: 'idempotency_key_reused' });
  });

  it('keeps keys of different API keys apart', async () => {
    const { thread } = await h.customerWrites('telegram', '1001');
    await h.postMessage(thread.id, body, { 'idempotency-key': 'k1' });

    const other = await h.call('POST', `/v1/threads/${thread.id}/messages`, {
      anonymous: true,
      principal: { keyId: 'key_other_integrator' },
      body: JSON.stringify({ content: { type: 'text', text: 'theirs' } }),
      headers: { 'idempotency-key': 'k1' },
    });

    expect(other.statusCode).toBe(202);
    expect(h.outbound.sent).toHaveLength(2);
  });

  it('does not use a key up on a refused request', async () => {
    const { thread } = await h.customerWrites('telegram', '1001');
    const refused = await h.postMessage(thread.id, { channel: 'line', content: body.content }, { 'idempotency-key': 'k1' });

    const corrected = await h.postMessage(thread.id, body, { 'idempotency-key': 'k1' });

    expect(refused.statusCode).toBe(422);
    expect(corrected.statusCode).toBe(202);
  });

  it('answers a key again after it expired with a new message', async () => {
    const { thread } = await h.customerWrites('telegram', '1001');
    const first = await h.postMessage(thread.id, body, { 'idempotency-key': 'k1' });
    h.clock.advance(24 * 3_600_000 + 1);

    const later = await h.postMessage(thread.id, body, { 'idempotency-key': 'k1' });

    expect(later.statusCode).toBe(202);
    expect(later.json.id).not.toBe(first.json.id);
  });

  it('finishes an attempt that claimed the key but stopped before storing the message', async () => {
    const { thread } = await h.customerWrites('telegram', '1001');
    const insert = store.insertMessage.bind(store);
    store.insertMessage = async () => {
      throw new Error('Lambda timed out');
    };
    const crashed = await h.postMessage(thread.id, body, { 'idempotency-key': 'k1' });
    store.insertMessage = insert;

    const retry = await h.postMessage(thread.id, body, { 'idempotency-key': 'k1' });

    expect(crashed.statusCode).toBe(500);
    expect(retry.statusCode).toBe(202);
    expect(h.outbound.sent).toEqual([{ kind: 'deliver', channel: 'telegram', threadId: thread.id, messageId: retry.json.id }]);
  });
});

describe('when the outbound queue is unreachable', () => {
  const body = { content: { type: 'text', text: 'We have shipped it' } };

  it('answers 503 unavailable with Retry-After, queues nothing, and a retry with the key sends once', async () => {
    const { thread } = await h.customerWrites('telegram', '1001');
    h.outbound.failures = 1;

    const failed = await h.postMessage(thread.id, body, { 'idempotency-key': 'ship-1' });

    expect(errorOf(failed)).toEqual({ status: 503, code: 'unavailable' });
    expect(failed.headers['retry-after']).toBe('1');
    expect(h.outbound.sent).toEqual([]);

    h.clock.advance(1_000);
    const retry = await h.postMessage(thread.id, body, { 'idempotency-key': 'ship-1' });
    const again = await h.postMessage(thread.id, body, { 'idempotency-key': 'ship-1' });

    expect(retry.statusCode).toBe(202);
    expect(retry.json).toMatchObject({ status: 'queued', content: body.content });
    expect(again.json).toEqual(retry.json);
    expect(h.outbound.sent).toEqual([{ kind: 'deliver', channel: 'telegram', threadId: thread.id, messageId: retry.json.id }]);
    // The attempt that could not be queued stays in the thread, failed, so nothing will ever send it.
    const outbound = (await store.listMessages(thread.id, 100)).items.filter((m) => m.direction === 'outbound');
    expect(outbound.map((m) => [m.status, m.failure])).toEqual([
      ['failed', NOT_QUEUED],
      ['queued', undefined],
    ]);
  });

  it('keeps making attempts while the queue stays down, one message per attempt', async () => {
    const { thread } = await h.customerWrites('telegram', '1001');
    h.outbound.failures = 2;

    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await h.postMessage(thread.id, body, { 'idempotency-key': 'ship-1' })).statusCode);

    expect(statuses).toEqual([503, 503, 202]);
    expect(h.outbound.sent).toHaveLength(1);
  });

  it('without a key, marks the message failed so it is never sent, and a retry makes a new one', async () => {
    const { thread } = await h.customerWrites('telegram', '1001');
    h.outbound.failures = 1;

    const failed = await h.postMessage(thread.id, body);
    const retry = await h.postMessage(thread.id, body);

    expect(failed.statusCode).toBe(503);
    expect(retry.statusCode).toBe(202);
    expect(h.outbound.sent).toEqual([{ kind: 'deliver', channel: 'telegram', threadId: thread.id, messageId: retry.json.id }]);
  });

  it('answers 503 when recording the activity fails, before anything is queued', async () => {
    const { thread } = await h.customerWrites('telegram', '1001');
    store.recordActivity = async () => {
      throw new Error('throttled');
    };

    const response = await h.postMessage(thread.id, body, { 'idempotency-key': 'k' });

    expect(errorOf(response)).toEqual({ status: 503, code: 'unavailable' });
    expect(h.outbound.sent).toEqual([]);
  });
});

describe('channel accounts', () => {
  /** A secret store in memory. Telegram's webhook needs `webhookSecret`; only bot `7001` starts with one. */
  const memorySecrets = () => {
    const kept = new Map<string, Credentials>([['telegram/7001', { webhookSecret: 's3cret', botToken: '7001:AA' }]]);
    return {
      kept,
      get: async (channel: string, accountId: string) => kept.get(`${channel}/${accountId}`),
      put: async (channel: string, accountId: string, credentials: Credentials) => void kept.set(`${channel}/${accountId}`, credentials),
    };
  };
  const withSecrets = async (secrets = memorySecrets()) => {
    const clock = new TestClock();
    return createHarness(new MemoryThreadStore(clock), clock, undefined, { secrets });
  };
  const register = (harness: Harness, body: unknown) =>
    harness.call('POST', '/v1/accounts', { body: typeof body === 'string' ? body : JSON.stringify(body) });

  it('registers an account with 201 and answers where its webhooks go', async () => {
    const response = await register(h, { channel: 'telegram', accountId: '7001', name: 'Support bot' });

    expect(response.statusCode).toBe(201);
    expect(response.json).toEqual({
      channel: 'telegram',
      accountId: '7001',
      name: 'Support bot',
      createdAt: h.clock.now().toISOString(),
      webhookUrl: '/webhooks/telegram/7001',
    });
    // Without a secret store the API cannot tell whether the account is configured, and says nothing.
    expect(response.json).not.toHaveProperty('configured');
  });

  it('registering again keeps the first createdAt and changes only the name', async () => {
    const first = await register(h, { channel: 'telegram', accountId: '7001', name: 'Support bot' });
    h.clock.advance(60_000);
    const same = await register(h, { channel: 'telegram', accountId: '7001', name: 'Support bot' });
    const renamed = await register(h, { channel: 'telegram', accountId: '7001', name: 'Helpdesk' });

    expect(same.statusCode).toBe(201);
    expect(same.json).toEqual(first.json);
    expect(renamed.json).toEqual({ ...first.json, name: 'Helpdesk' });
    expect((await h.call('GET', '/v1/accounts')).json.items).toEqual([renamed.json]);
  });

  it('tells whether the inbound credentials are in place, when it has a secret store', async () => {
    const withStore = await withSecrets();

    const ready = await register(withStore, { channel: 'telegram', accountId: '7001' });
    const notYet = await register(withStore, { channel: 'telegram', accountId: '7002' });
    const line = await register(withStore, { channel: 'line', accountId: 'U123' });

    expect([ready.json.configured, notYet.json.configured, line.json.configured]).toEqual([true, false, false]);
    expect((await withStore.call('GET', '/v1/accounts')).json.items).toEqual([line.json, ready.json, notYet.json]);
  });

  it("keeps an account's credentials in the secret store, never answers them back, and then counts it configured", async () => {
    const secrets = memorySecrets();
    const harness = await withSecrets(secrets);
    const credentials = { channelSecret: 'c0ffee-secret', channelAccessToken: 'token-value' };

    const response = await register(harness, { channel: 'line', accountId: 'U42', name: 'Shop', credentials });

    expect(response.statusCode).toBe(201);
    expect(response.json).toMatchObject({ channel: 'line', accountId: 'U42', configured: true });
    expect(secrets.kept.get('line/U42')).toEqual(credentials);
    const everything = [response.body, (await harness.call('GET', '/v1/accounts')).body, JSON.stringify(harness.log.entries)].join('\n');
    expect(everything).not.toContain('c0ffee-secret');
    expect(everything).not.toContain('token-value');

    // Sending them again replaces them (a rotated token).
    await register(harness, { channel: 'line', accountId: 'U42', credentials: { channelSecret: 'rotated' } });
    expect(secrets.kept.get('line/U42')).toEqual({ channelSecret: 'rotated' });
  });

  it.each([
    ['a name the channel does not have', { webhookSecret: 's', botTokn: 'typo' }, /telegram has no credential botTokn/],
    ['without what its webhooks need', { botToken: '7003:AA' }, /its webhooks need webhookSecret/],
  ])('refuses credentials with %s, keeping and registering nothing', async (_case, credentials, message) => {
    const secrets = memorySecrets();
    const harness = await withSecrets(secrets);

    const response = await register(harness, { channel: 'telegram', accountId: '7003', credentials });

    expect(errorOf(response)).toEqual({ status: 400, code: 'invalid_request' });
    expect(response.json.message).toMatch(message);
    expect(response.json.message).toContain('telegram credentials: webhookSecret, botToken');
    expect(secrets.kept.has('telegram/7003')).toBe(false);
    expect((await harness.call('GET', '/v1/accounts')).json.items).toEqual([]);
  });

  it("refuses credentials for the default account, which are the deployment's own", async () => {
    const secrets = memorySecrets();
    const harness = await withSecrets(secrets);

    const response = await register(harness, { channel: 'telegram', accountId: 'default', credentials: { webhookSecret: 'mine' } });

    expect(errorOf(response)).toEqual({ status: 400, code: 'invalid_request' });
    expect(secrets.kept.has('telegram/default')).toBe(false);
  });

  it("accepts a channel's optional settings with its credentials, and only that channel's", async () => {
    const secrets = memorySecrets();
    const harness = await withSecrets(secrets);

    const kakao = await register(harness, { channel: 'kakaotalk', accountId: 'bot-2', credentials: { skillSecret: 's', ackText: '잠시만요' } });
    const line = await register(harness, { channel: 'line', accountId: 'U9', credentials: { channelSecret: 's', ackText: 'hi' } });

    expect(kakao.statusCode).toBe(201);
    expect(secrets.kept.get('kakaotalk/bot-2')).toEqual({ skillSecret: 's', ackText: '잠시만요' });
    expect(errorOf(line)).toEqual({ status: 400, code: 'invalid_request' });
  });

  it('refuses credentials that name another account than the one registered', async () => {
    const secrets = memorySecrets();
    const harness = await withSecrets(secrets);

    const response = await register(harness, { channel: 'telegram', accountId: 'acme', credentials: { webhookSecret: 's', botToken: '777:AAtoken' } });

    expect(errorOf(response)).toEqual({ status: 400, code: 'invalid_request' });
    expect(response.json.message).toContain('belong to account 777');
    expect(secrets.kept.has('telegram/acme')).toBe(false);
  });

  it("refuses credentials for the account the default account's credentials name", async () => {
    const secrets = memorySecrets();
    secrets.kept.set('telegram/default', { webhookSecret: 'deployment', botToken: '7100:AAdefault' });
    const harness = await withSecrets(secrets);

    const response = await register(harness, { channel: 'telegram', accountId: '7100', credentials: { webhookSecret: 'evil', botToken: '7100:EVIL' } });

    expect(errorOf(response)).toEqual({ status: 400, code: 'invalid_request' });
    expect(secrets.kept.get('telegram/7100')).toBeUndefined();
  });

  it('answers 409 when the secret store refuses: credentials DevOps put there', async () => {
    const harness = await withSecrets({
      ...memorySecrets(),
      put: async () => {
        throw new SecretNotWritableError('parley/line/U8');
      },
    });

    const response = await register(harness, { channel: 'line', accountId: 'U8', credentials: { channelSecret: 's' } });

    expect(errorOf(response)).toEqual({ status: 409, code: 'credentials_managed_elsewhere' });
    expect((await harness.call('GET', '/v1/accounts')).json.items).toEqual([]);
  });

  it('answers 503 and registers nothing when the secret store fails', async () => {
    const harness = await withSecrets({
      ...memorySecrets(),
      put: async () => {
        throw new Error('ServiceUnavailable');
      },
    });

    const response = await register(harness, { channel: 'line', accountId: 'U7', credentials: { channelSecret: 's' } });

    expect(response.statusCode).toBeGreaterThanOrEqual(500);
    expect((await harness.call('GET', '/v1/accounts')).json.items).toEqual([]);
  });

  it('lists registered accounts by channel and account id, of one channel with ?channel=', async () => {
    await register(h, { channel: 'telegram', accountId: 'b-bot' });
    await register(h, { channel: 'line', accountId: 'U1' });
    await register(h, { channel: 'telegram', accountId: 'a-bot' });

    const all = await h.call('GET', '/v1/accounts');
    const telegram = await h.call('GET', '/v1/accounts', { query: { channel: 'telegram' } });

    expect((all.json.items as { accountId: string }[]).map((a) => a.accountId)).toEqual(['U1', 'a-bot', 'b-bot']);
    expect((telegram.json.items as { accountId: string }[]).map((a) => a.accountId)).toEqual(['a-bot', 'b-bot']);
  });

  it('answers an empty list when nothing is registered', async () => {
    const response = await h.call('GET', '/v1/accounts');

    expect(response.statusCode).toBe(200);
    expect(response.json).toEqual({ items: [] });
  });

  it.each([
    ['a channel Parley does not have', 'fax'],
    ['a channel without a connector here', 'whatsapp'],
  ])('refuses %s with 422 unknown_channel', async (_case, channel) => {
    const response = await register(h, { channel, accountId: 'x1' });

    expect(errorOf(response)).toEqual({ status: 422, code: 'unknown_channel' });
    expect((await h.call('GET', '/v1/accounts')).json.items).toEqual([]);
  });

  it.each([
    ['an account id with a slash', { channel: 'telegram', accountId: 'a/b' }],
    ['an account id over 64 characters', { channel: 'telegram', accountId: 'a'.repeat(65) }],
    ['an empty account id', { channel: 'telegram', accountId: '' }],
    ['an unknown field', { channel: 'telegram', accountId: 'a', token: 'secret' }],
    ['an empty name', { channel: 'telegram', accountId: 'a', name: '' }],
  ])('refuses %s with 400 invalid_request', async (_case, body) => {
    const response = await register(h, body);

    expect(errorOf(response)).toEqual({ status: 400, code: 'invalid_request' });
  });

  it('refuses a listing filter that is not a channel with 400', async () => {
    const response = await h.call('GET', '/v1/accounts', { query: { channel: 'fax' } });

    expect(errorOf(response)).toEqual({ status: 400, code: 'invalid_request' });
  });

  it('requires a key on both routes', async () => {
    const list = await h.call('GET', '/v1/accounts', { anonymous: true });
    const post = await h.call('POST', '/v1/accounts', { anonymous: true, body: '{"channel":"telegram","accountId":"a"}' });

    expect([errorOf(list), errorOf(post)]).toEqual([
      { status: 401, code: 'unauthorized' },
      { status: 401, code: 'unauthorized' },
    ]);
  });
});
