import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OutboundContent } from '../../../domain/content.ts';
import { ParleyEventSchema } from '../../../domain/events.ts';
import {
  AuthenticationError,
  InvalidRequestError,
  PermanentProviderError,
  RateLimitedError,
  RetryableProviderError,
} from '../../../domain/provider-errors.ts';
import { lineConnector } from '../../../connectors/line/index.ts';
import { classifyLineError, lineRetryKey } from '../../../connectors/line/line.api.ts';
import { LINE_CAPABILITIES } from '../../../connectors/line/line.capabilities.ts';
import { lineDemo } from '../../../connectors/line/line.demo.ts';
import { createLineSandbox } from '../../../connectors/line/line.sandbox.ts';
import type { Message } from '../../../domain/model.ts';
import { assertLineRequest, lineMessagingSchemaViolations, lineWebhookViolations } from '../../helpers/line-spec.ts';

const parse = (body: string) => lineConnector.parse(Buffer.from(body, 'utf8'));
const CONTEXT = { accountId: 'line-default', receivedAt: '2026-03-14T03:00:00.000Z' };

describe('line connector', () => {
  it('declares its channel, API origin, credential names and environment variables of the contract', () => {
    expect(lineConnector.channel).toBe('line');
    expect(lineConnector.defaultApiBaseUrl).toBe('https://api.line.me');
    expect(lineConnector.credentialNames).toEqual({ inbound: ['channelSecret'], outbound: ['channelAccessToken'] });
    expect(lineConnector.environment).toEqual({
      credentials: { channelSecret: 'LINE_CHANNEL_SECRET', channelAccessToken: 'LINE_CHANNEL_ACCESS_TOKEN' },
      apiBaseUrl: 'LINE_API_BASE_URL',
    });
    expect(lineConnector.handshake).toBeUndefined();
    expect(lineConnector.sender.capabilities).toBe(LINE_CAPABILITIES);
  });

  it('cannot name the account from credentials: the body’s destination does', () => {
    expect(lineConnector.accountIdOf({ channelSecret: '8c2f1a0e9b7d6c5f4e3a2b1c0d9e8f7a', channelAccessToken: 'x' })).toBeUndefined();
  });

  it('makes fresh development credentials shaped like real ones, that verify what they sign', () => {
    const first = lineConnector.devCredentials();
    const second = lineConnector.devCredentials();
    expect(first['channelSecret']).toMatch(/^[0-9a-f]{32}$/);
    expect(first['channelAccessToken']).toMatch(/^[A-Za-z0-9+/]{172}$/);
    expect(second).not.toEqual(first);
  });
});

describe('line parse', () => {
  it('answers malformed only for bodies that are not JSON', () => {
    expect(parse('')).toEqual({ kind: 'malformed', reason: 'body is not JSON' });
    expect(parse('{"destination":"U1","events":[')).toEqual({ kind: 'malformed', reason: 'body is not JSON' });
  });

  it('ignores JSON without a LINE envelope', () => {
    for (const body of [
      '[]',
      '"text"',
      'null',
      '42',
      '{"destination":"U1"}',
      '{"events":[]}',
      '{"destination":5,"events":[]}',
      '{"destination":"U1","events":{}}',
    ]) {
      expect(parse(body), body).toMatchObject({ kind: 'ignored' });
    }
  });

  it('keeps events it cannot read yet for the normalizer to judge one by one', () => {
    const result = parse('{"destination":"U4af4980629c0a3b6b4f3c4d5e6f7a8b9","events":[1,{"type":"x"}],"future":true}');
    expect(result.kind === 'ok' && result.payload.events).toEqual([1, { type: 'x' }]);
  });

  it('never throws, and never yields an invalid event, on random bodies', () => {
    const anyEvent = fc.record(
      {
        type: fc.constantFrom(
          'message',
          'postback',
          'unsend',
          'follow',
          'unfollow',
          'join',
          'leave',
          'memberJoined',
          'memberLeft',
          'beacon',
        ),
        webhookEventId: fc.string(),
        timestamp: fc.oneof(fc.integer(), fc.double()),
        source: fc.record(
          { type: fc.constantFrom('user', 'group', 'room', 'other'), userId: fc.string(), groupId: fc.string(), roomId: fc.string() },
          { requiredKeys: ['type'] },
        ),
        message: fc.record(
          {
            type: fc.constantFrom('text', 'image', 'video', 'audio', 'file', 'location', 'sticker', 'x'),
            id: fc.string(),
            text: fc.string(),
            latitude: fc.double(),
            longitude: fc.double(),
            packageId: fc.string(),
            stickerId: fc.string(),
            fileSize: fc.integer(),
            duration: fc.double(),
            emojis: fc.array(fc.record({ index: fc.integer(), length: fc.integer() })),
          },
          { requiredKeys: ['type'] },
        ),
        postback: fc.record({ data: fc.string(), params: fc.dictionary(fc.string(), fc.jsonValue()) }, { requiredKeys: [] }),
        unsend: fc.record({ messageId: fc.string() }),
      },
      { requiredKeys: ['type'] },
    );
    fc.assert(
      fc.property(
        fc.oneof(fc.jsonValue(), fc.record({ destination: fc.string(), events: fc.array(fc.oneof(anyEvent, fc.jsonValue())) })),
        (value) => {
          const parsed = lineConnector.parse(Buffer.from(JSON.stringify(value) ?? 'null', 'utf8'));
          if (parsed.kind !== 'ok') return;
          for (const event of lineConnector.normalize(parsed.payload, CONTEXT).events) ParleyEventSchema.parse(event);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('classifyLineError', () => {
  it('keeps LINE’s status as the code and its message as the message', () => {
    expect(classifyLineError(429, undefined)).toBeInstanceOf(RateLimitedError);
    expect(classifyLineError(429, { message: 'You have reached your monthly limit.' })).toBeInstanceOf(PermanentProviderError);
    expect(classifyLineError(401, { message: 'Authentication failed' })).toBeInstanceOf(AuthenticationError);
    expect(classifyLineError(403, undefined)).toMatchObject({ code: '403', message: 'HTTP 403' });
    expect(classifyLineError(502, undefined)).toBeInstanceOf(RetryableProviderError);
    expect(classifyLineError(409, { message: 'Conflict' })).toBeInstanceOf(InvalidRequestError);
    expect(classifyLineError(429, undefined, ' 12 ')).toMatchObject({ retryAfterSeconds: 12 });
    expect(classifyLineError(429, undefined, 'Wed, 21 Oct 2026 07:28:00 GMT')).toMatchObject({ retryAfterSeconds: 5 });
  });
});

/** A fetch that hands each request to a sandbox, as the local runtime mounts it. */
const sandboxFetch =
  (sandbox = createLineSandbox()): typeof globalThis.fetch =>
  async (input, init) => {
    const url = new URL(String(input));
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const body = Buffer.from(String(init?.body ?? ''));
    const operation = url.pathname.endsWith('/push') ? 'push' : 'reply';
    assertLineRequest(operation, JSON.parse(body.toString('utf8')), headers);
    const answer = sandbox.handle({ method: init?.method ?? 'GET', path: url.pathname, body, headers } as Parameters<
      typeof sandbox.handle
    >[0]);
    return new Response(JSON.stringify(answer.body), { status: answer.statusCode });
  };

describe('line sandbox', () => {
  it('answers every message the sender makes with sentMessages LINE’s document allows', async () => {
    const sandbox = createLineSandbox();
    const fetch = sandboxFetch(sandbox);
    const context = {
      credentials: { channelAccessToken: 'sandbox' },
      apiBaseUrl: 'http://sandbox.local',
      fetch,
      onPartSent: async () => {},
    };
    const recipient = {
      accountId: 'U4af4980629c0a3b6b4f3c4d5e6f7a8b9',
      conversation: { externalId: 'U1a2b3c4d5e6f708192a3b4c5d6e7f801', kind: 'direct' as const },
    };
    const contents: OutboundContent[] = [
      { type: 'text', text: 'Hello', quickReplies: [{ text: 'Yes', payload: 'yes' }] },
      { type: 'image', media: { url: 'https://cdn.acme.example/p.jpg' }, caption: 'Photo' },
      { type: 'video', media: { url: 'https://cdn.acme.example/v.mp4' } },
      { type: 'audio', media: { url: 'https://cdn.acme.example/a.m4a', durationSeconds: 3 } },
      { type: 'file', media: { url: 'https://cdn.acme.example/f.pdf' } },
      { type: 'sticker', media: { id: '446:1988' } },
      { type: 'location', latitude: 35.6, longitude: 139.7 },
      {
        type: 'text',
        text: 'Pick one',
        buttons: [
          { type: 'postback', text: 'Yes', payload: 'yes' },
          { type: 'url', text: 'Terms', url: 'https://acme.example/terms' },
        ],
      },
      {
        type: 'list',
        text: 'Which branch?',
        sections: [{ title: 'Tokyo', items: [{ title: 'Shibuya', description: 'Open late', payload: 'b:1' }] }],
      },
    ];
    let n = 0;
    for (const content of contents) {
      const result = await lineConnector.sender.send({ messageId: `msg_${n++}`, content, recipient, sentParts: [] }, context);
      expect(result.externalIds.length, content.type).toBeGreaterThan(0);
      expect(result.externalIds.every((id) => /^\d{18}$/.test(id))).toBe(true);
    }
    const answer = sandbox.handle({
      method: 'POST',
      path: '/v2/bot/message/reply',
      body: Buffer.from('{"replyToken":"r","messages":[{"type":"text","text":"hi"}]}'),
    });
    // PushMessageResponse in LINE's document refers to a boolean by mistake; ReplyMessageResponse has the documented shape.
    expect(lineMessagingSchemaViolations('ReplyMessageResponse', answer.body)).toEqual([]);
  });

  it('answers a repeated retry key with 409 and the first sentMessages, as LINE does', () => {
    const sandbox = createLineSandbox();
    const request = {
      method: 'POST',
      path: '/v2/bot/message/push',
      body: Buffer.from('{"to":"U1","messages":[{"type":"text","text":"hi"}]}'),
      headers: { 'x-line-retry-key': lineRetryKey('m', 0) },
    };
    const first = sandbox.handle(request as Parameters<typeof sandbox.handle>[0]);
    const again = sandbox.handle(request as Parameters<typeof sandbox.handle>[0]);
    expect(first.statusCode).toBe(200);
    expect(again.statusCode).toBe(409);
    expect((again.body as { sentMessages: unknown }).sentMessages).toEqual((first.body as { sentMessages: unknown }).sentMessages);
  });

  it('refuses what LINE refuses outright', () => {
    const sandbox = createLineSandbox();
    expect(sandbox.handle({ method: 'POST', path: '/v2/bot/message/multicast', body: Buffer.from('{}') }).statusCode).toBe(404);
    expect(sandbox.handle({ method: 'POST', path: '/v2/bot/message/push', body: Buffer.from('{') }).statusCode).toBe(400);
    expect(
      sandbox.handle({ method: 'POST', path: '/v2/bot/message/push', body: Buffer.from('{"to":"U1","messages":[]}') }).statusCode,
    ).toBe(400);
    expect(
      sandbox.handle({ method: 'POST', path: '/v2/bot/message/reply', body: Buffer.from('{"messages":[{"type":"text","text":"x"}]}') })
        .statusCode,
    ).toBe(400);
  });
});

describe('line demo', () => {
  it('plays signed webhooks of LINE’s documented shape that normalize to the customer’s messages and tap', () => {
    const credentials = lineConnector.devCredentials();
    const opening = lineDemo.opening(credentials, 7);
    const reply = {
      id: 'msg_1',
      content: { type: 'text', text: 'Which option?', quickReplies: [{ text: 'Express', payload: 'ship:exp' }] },
    } as unknown as Message;
    const requests = [...opening, ...lineDemo.afterReply(credentials, 7, reply)];
    const events = requests.flatMap((request) => {
      const rawBody = Buffer.from(request.body, 'utf8');
      expect(lineConnector.verify({ method: 'POST', headers: request.headers, query: {}, rawBody }, credentials)).toBe(true);
      expect(lineWebhookViolations(JSON.parse(request.body))).toEqual([]);
      const parsed = lineConnector.parse(rawBody);
      if (parsed.kind !== 'ok') throw new Error(parsed.reason);
      return lineConnector.normalize(parsed.payload, CONTEXT).events;
    });
    expect(events.map((e) => (e.type === 'message.received' ? e.content.type : e.type))).toEqual(['text', 'image', 'reply']);
    const text = events[0]?.type === 'message.received' && events[0].content.type === 'text' ? events[0].content : undefined;
    expect(text?.entities?.map((e) => text.text.slice(e.offset, e.offset + e.length))).toEqual(['(box)']);
    expect(events.every((e) => e.type !== 'message.received' || e.sender.externalUserId === lineDemo.customer.externalUserId)).toBe(true);
  });
});
