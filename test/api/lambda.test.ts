import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { apiKeyRecord, generateApiKey } from '../../api/auth.ts';
import { create as createApiHandler, toApiRequest, type ApiEvent } from '../../functions/api.ts';
import { create as createAuthorizer } from '../../functions/authorizer.ts';
import { CAPABILITIES, collectingLog, fixture, RecordingQueue, TestClock } from '../helpers/api-harness.ts';
import { MemoryThreadStore } from '../helpers/memory-thread-store.ts';
import { MemoryMediaStore } from '../helpers/memory-media-store.ts';

const authorizerEvent = (authorization: string | undefined): APIGatewayRequestAuthorizerEventV2 => {
  const event = JSON.parse(fixture('authorizer-event.json')) as APIGatewayRequestAuthorizerEventV2;
  const headers = { ...event.headers };
  delete headers.authorization;
  return {
    ...event,
    headers: authorization === undefined ? headers : { ...headers, authorization },
    identitySource: authorization === undefined ? [] : [authorization],
  };
};

describe('the authorizer (HTTP API, simple responses)', () => {
  const store = new MemoryThreadStore();
  const log = collectingLog();
  const authorizer = createAuthorizer({ store, log });
  const key = generateApiKey();

  beforeEach(async () => {
    await store.putApiKey(apiKeyRecord(key.secret, 'crm', '2026-11-26T10:00:00.000Z'));
  });

  it('authorizes a valid key and passes its id on', async () => {
    expect(await authorizer(authorizerEvent(`Bearer ${key.secret}`))).toEqual({ isAuthorized: true, context: { keyId: key.id } });
  });

  it.each([
    ['a wrong key', `Bearer ${generateApiKey().secret}`],
    ['no header', undefined],
    ['a malformed header', 'Bearer not a key'],
    ['no Bearer prefix', key.secret],
  ])('refuses %s', async (_case, authorization) => {
    expect(await authorizer(authorizerEvent(authorization))).toEqual({ isAuthorized: false, context: {} });
  });

  it('never logs the secret it refused', async () => {
    const secret = `prl_${'z'.repeat(43)}`;

    await authorizer(authorizerEvent(`Bearer ${secret}`));

    expect(JSON.stringify(log.entries)).not.toContain(secret);
  });

  it('fails, rather than refusing, when the store cannot be read', async () => {
    const unreadable = new MemoryThreadStore();
    unreadable.findApiKey = async () => {
      throw new Error('ResourceNotFoundException');
    };
    const broken = createAuthorizer({ store: unreadable, log });

    await expect(broken(authorizerEvent(`Bearer ${key.secret}`))).rejects.toThrow('ResourceNotFoundException');
  });
});

describe('the API handler (HTTP API, payload format 2.0)', () => {
  let store: MemoryThreadStore;
  let outbound: RecordingQueue;
  let threadId: string;

  const apiEvent = (overrides: { keyId?: string | undefined; body: string }): ApiEvent => {
    const raw = fixture('api-event-post.json').replaceAll('/v1/threads/REPLACED_BY_TEST/', `/v1/threads/${threadId}/`);
    const event = JSON.parse(raw) as ApiEvent;
    return {
      ...event,
      headers: { ...event.headers, 'Idempotency-Key': 'order-4411-shipped' },
      body: Buffer.from(overrides.body).toString('base64'),
      requestContext: { ...event.requestContext, authorizer: { lambda: { keyId: overrides.keyId ?? '' } } },
    };
  };

  beforeEach(async () => {
    const clock = new TestClock();
    store = new MemoryThreadStore(clock);
    outbound = new RecordingQueue();
    const identity = await store.ensureIdentity({ channel: 'telegram', accountId: 'bot', externalId: '1001', kind: 'direct' }, clock.now().toISOString());
    const thread = await store.ensureOpenThread(identity.contactId, clock.now().toISOString());
    await store.recordActivity(thread.id, {
      channel: 'telegram',
      at: clock.now().toISOString(),
      direction: 'inbound',
      route: { channel: 'telegram', accountId: 'bot', conversation: { externalId: '1001', kind: 'direct' }, lastInboundAt: clock.now().toISOString() },
    });
    threadId = thread.id;
  });

  it('turns the event into a request: decoded body, lower-case headers, the authorizer principal', () => {
    const request = toApiRequest(apiEvent({ keyId: 'key_abc', body: fixture('post-text.json') }));

    expect(request).toMatchObject({
      method: 'POST',
      path: `/v1/threads/${threadId}/messages`,
      body: fixture('post-text.json'),
      principal: { keyId: 'key_abc' },
      query: {},
    });
    expect(request.headers['idempotency-key']).toBe('order-4411-shipped');
    expect(Object.keys(request.headers).every((name) => name === name.toLowerCase())).toBe(true);
  });

  it('answers with the router: 202 and the queued message, authored by the key', async () => {
    const handler = createApiHandler({ store, outbound, media: new MemoryMediaStore(), clock: new TestClock(), log: collectingLog(), capabilities: (c) => CAPABILITIES[c] });

    const result = await handler(apiEvent({ keyId: 'key_abc', body: fixture('post-text.json') }));

    expect(result.statusCode).toBe(202);
    expect(result.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8' });
    expect(JSON.parse(result.body ?? '')).toMatchObject({ status: 'queued', author: { role: 'agent', id: 'key_abc' } });
    expect(outbound.sent).toHaveLength(1);
  });

  it("by default asks the connector registry what a channel can carry", async () => {
    const handler = createApiHandler({ store, outbound, media: new MemoryMediaStore(), clock: new TestClock(), log: collectingLog() });

    const result = await handler(apiEvent({ keyId: 'key_abc', body: fixture('post-text.json') }));

    expect(result.statusCode).toBe(202);
    expect(outbound.sent).toHaveLength(1);
  });

  it('tells whether a registered account is configured when given the secrets the local runtime passes', async () => {
    const secrets = {
      get: async (_channel: string, accountId: string) => (accountId === '7001' ? { webhookSecret: 's' } : undefined),
      put: async () => {},
    };
    const handler = createApiHandler({ store, outbound, media: new MemoryMediaStore(), clock: new TestClock(), log: collectingLog(), secrets });
    const register = (accountId: string) => {
      const event = apiEvent({ keyId: 'key_abc', body: JSON.stringify({ channel: 'telegram', accountId }) });
      return handler({ ...event, rawPath: '/v1/accounts', requestContext: { ...event.requestContext, http: { ...event.requestContext.http, path: '/v1/accounts' } } });
    };

    const answers = [await register('7001'), await register('7002')];

    expect(answers.map((a) => a.statusCode)).toEqual([201, 201]);
    expect(answers.map((a) => JSON.parse(a.body ?? '').configured)).toEqual([true, false]);
  });

  it('without an authorizer principal, checks the bearer key itself', async () => {
    const handler = createApiHandler({ store, outbound, media: new MemoryMediaStore(), clock: new TestClock(), log: collectingLog(), capabilities: (c) => CAPABILITIES[c] });

    const result = await handler(apiEvent({ keyId: undefined, body: fixture('post-text.json') }));

    expect(result.statusCode).toBe(401);
    expect(outbound.sent).toEqual([]);
  });

  it("answers a message's media as a base64 body flagged for API Gateway to decode", async () => {
    const media = new MemoryMediaStore();
    const png = Buffer.from('89504e470d0a1a0a', 'hex');
    await media.put('telegram/bot/k', png, { contentType: 'image/png' });
    await store.insertMessage({
      id: 'msg_photo',
      threadId,
      direction: 'inbound',
      channel: 'telegram',
      accountId: 'bot',
      externalId: '1001:7',
      occurredAt: '2026-11-26T10:00:00.000Z',
      author: { role: 'customer' },
      content: { type: 'image', media: { id: 'AgAC' } },
      status: 'received',
      mediaCopy: { key: 'telegram/bot/k', contentType: 'image/png', size: png.length, copiedAt: '2026-11-26T10:00:01.000Z' },
    });
    const handler = createApiHandler({ store, outbound, media, clock: new TestClock(), log: collectingLog() });
    const event = apiEvent({ keyId: 'key_abc', body: '' });
    const path = `/v1/threads/${threadId}/messages/msg_photo/media`;

    const result = await handler({
      ...event,
      rawPath: path,
      body: undefined,
      isBase64Encoded: false,
      requestContext: { ...event.requestContext, http: { ...event.requestContext.http, method: 'GET', path } },
    } as ApiEvent);

    expect(result).toMatchObject({ statusCode: 200, isBase64Encoded: true, headers: { 'content-type': 'image/png' } });
    expect(Buffer.from(result.body ?? '', 'base64')).toEqual(png);
  });
});
