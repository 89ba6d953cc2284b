import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Button, OutboundContent, QuickReply } from '../../../domain/content.ts';
import {
  AuthenticationError,
  InvalidRequestError,
  PermanentProviderError,
  RateLimitedError,
  RetryableProviderError,
} from '../../../domain/provider-errors.ts';
import { quickRepliesAsText, type SendContext, type SendRequest } from '../../../connectors/connector.ts';
import { messengerConnector } from '../../../connectors/messenger/index.ts';
import { callGraph } from '../../../connectors/meta/meta.graph-api.ts';
import { planMetaSend } from '../../../connectors/meta/meta.messaging.sender.ts';
import { MESSENGER_SEND_PROFILE } from '../../../connectors/messenger/messenger.sender.ts';
import { startFakeGraph, type FakeGraph } from '../../helpers/messenger-fake-graph.ts';
import { MESSENGER_TEST_CREDENTIALS } from './messenger.kit.ts';
import { failureOf } from '../../helpers/provider-failure.ts';

const PAGE = '106512345678901';
const PSID = '7123456789012345';
const TOKEN = MESSENGER_TEST_CREDENTIALS['pageAccessToken']!;
const sender = messengerConnector.sender;

let fake: FakeGraph;
beforeAll(async () => {
  fake = await startFakeGraph();
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => fake.reset());

const context = (overrides: Partial<SendContext> = {}) =>
  ({
    credentials: MESSENGER_TEST_CREDENTIALS,
    apiBaseUrl: fake.baseUrl,
    fetch: globalThis.fetch,
    onPartSent: vi.fn(async (_id: string) => {}),
    ...overrides,
  }) as SendContext & { onPartSent: ReturnType<typeof vi.fn> };

const request = (content: OutboundContent, extra: Partial<SendRequest> = {}): SendRequest => ({
  messageId: 'msg_mmpdc0a0mmpdc0a1_Zk3h2bTq9xWc1LpA',
  content,
  recipient: { accountId: PAGE, conversation: { externalId: PSID, kind: 'direct' } },
  sentParts: [],
  ...extra,
});

const colors: QuickReply[] = [
  { text: 'Red', payload: 'COLOR_RED' },
  { text: 'A very long label for green', payload: 'COLOR_GREEN' },
];

describe('messenger sender: requests', () => {
  it('posts the text to /v23.0/<page id>/messages with the Page token as Bearer, RESPONSE, and the metadata', async () => {
    const ctx = context();
    const result = await sender.send(request({ type: 'text', text: 'Pick a color:', quickReplies: colors }), ctx);

    expect(fake.calls).toEqual([
      {
        method: 'POST',
        path: `/v23.0/${PAGE}/messages`,
        authorization: `Bearer ${TOKEN}`,
        contentType: 'application/json',
        body: {
          recipient: { id: PSID },
          messaging_type: 'RESPONSE',
          message: {
            text: 'Pick a color:',
            quick_replies: [
              { content_type: 'text', title: 'Red', payload: 'COLOR_RED' },
              { content_type: 'text', title: 'A very long label f…', payload: 'COLOR_GREEN' },
            ],
            metadata: 'msg_mmpdc0a0mmpdc0a1_Zk3h2bTq9xWc1LpA',
          },
        },
      },
    ]);
    expect(result.externalIds).toEqual(['m_fake_1']);
    expect(ctx.onPartSent).toHaveBeenCalledExactlyOnceWith('m_fake_1', false);
    expect(fake.calls[0]?.path).not.toContain(TOKEN);
  });

  it('uses /me/messages when no Page id is configured', async () => {
    await sender.send(request({ type: 'text', text: 'Hi' }), context({ credentials: { pageAccessToken: TOKEN } }));
    expect(fake.calls[0]?.path).toBe('/v23.0/me/messages');
  });

  it('keeps 13 quick replies as buttons and lists 14 in the text', async () => {
    const replies = (n: number) => Array.from({ length: n }, (_, i) => ({ text: `Option ${i + 1}`, payload: `opt:${i + 1}` }));
    await sender.send(request({ type: 'text', text: 'Pick', quickReplies: replies(13) }), context());
    await sender.send(request({ type: 'text', text: 'Pick', quickReplies: replies(14) }), context());
    const [kept, listed] = fake.calls.map((call) => call.body['message'] as Record<string, unknown>);
    expect(kept?.['quick_replies']).toHaveLength(13);
    expect(listed).toEqual({ text: quickRepliesAsText('Pick', replies(14)), metadata: 'msg_mmpdc0a0mmpdc0a1_Zk3h2bTq9xWc1LpA' });
  });

  it('lists quick replies whose payload exceeds 1000 bytes in the text', async () => {
    await sender.send(request({ type: 'text', text: 'Pick', quickReplies: [{ text: 'Long', payload: 'é'.repeat(501) }] }), context());
    expect((fake.calls[0]?.body['message'] as Record<string, unknown>)['quick_replies']).toBeUndefined();
  });

  it('splits a text over 2000 characters, quick replies on the last part, resuming after parts already sent', async () => {
    const text = `${'a'.repeat(1999)}😀${'b'.repeat(10)}`;
    const ctx = context();
    const full = await sender.send(request({ type: 'text', text, quickReplies: colors }), ctx);
    const messages = fake.calls.map((call) => call.body['message'] as Record<string, unknown>);
    expect(messages.map((m) => m['text'])).toEqual(['a'.repeat(1999), `😀${'b'.repeat(10)}`]);
    expect(messages[0]).not.toHaveProperty('quick_replies');
    expect(messages[1]).toHaveProperty('quick_replies');
    expect(full.externalIds).toEqual(['m_fake_1', 'm_fake_2']);

    fake.reset();
    const resumed = await sender.send(request({ type: 'text', text }, { sentParts: ['m_earlier'] }), context());
    expect(fake.calls).toHaveLength(1);
    expect(resumed.externalIds).toEqual(['m_earlier', 'm_fake_1']);
  });

  it.each(['image', 'video', 'audio', 'file'] as const)('sends %s by URL, reusable, with the caption as a following text', async (type) => {
    const result = await sender.send(request({ type, media: { url: 'https://cdn.acme.example/a' }, caption: 'Your receipt' }), context());
    expect(fake.calls.map((call) => call.body['message'] as Record<string, unknown>)).toEqual([
      {
        attachment: { type, payload: { url: 'https://cdn.acme.example/a', is_reusable: true } },
        metadata: 'msg_mmpdc0a0mmpdc0a1_Zk3h2bTq9xWc1LpA',
      },
      { text: 'Your receipt', metadata: 'msg_mmpdc0a0mmpdc0a1_Zk3h2bTq9xWc1LpA' },
    ]);
    expect(result.externalIds).toHaveLength(2);
  });

  it('sends a saved attachment by attachment_id, and a location as text with a map link', async () => {
    await sender.send(request({ type: 'image', media: { id: '1857777774821032' } }), context());
    await sender.send(request({ type: 'location', latitude: 37.497942, longitude: 127.027621, name: 'ACME Gangnam' }), context());
    const [image, location] = fake.calls.map((call) => call.body['message'] as Record<string, unknown>);
    expect(image?.['attachment']).toEqual({ type: 'image', payload: { attachment_id: '1857777774821032' } });
    expect(location?.['text']).toBe('ACME Gangnam\nhttps://maps.google.com/?q=37.497942,127.027621');
  });

  it('refuses a sticker without a URL, calling nothing', async () => {
    await expect(sender.send(request({ type: 'sticker', media: { id: 'CAACfake' } }), context())).rejects.toBeInstanceOf(
      InvalidRequestError,
    );
    expect(fake.calls).toHaveLength(0);
  });

  it('has no provider actions', async () => {
    await expect(sender.perform('typing_on', {}, context())).rejects.toBeInstanceOf(InvalidRequestError);
  });
});

const METADATA = 'msg_mmpdc0a0mmpdc0a1_Zk3h2bTq9xWc1LpA';
const messages = () => fake.calls.map((call) => call.body['message'] as Record<string, unknown>);
const track: Button[] = [
  { type: 'postback', text: 'Track my order', payload: 'TRACK_42' },
  { type: 'url', text: 'Open the order', url: 'https://acme.example/o/42' },
];

describe('messenger sender: buttons', () => {
  it('sends up to 3 fitting buttons as a button template', async () => {
    await sender.send(request({ type: 'text', text: 'Order 42 shipped', buttons: track }), context());
    expect(fake.calls.map((call) => call.body)).toEqual([
      {
        recipient: { id: PSID },
        messaging_type: 'RESPONSE',
        message: {
          attachment: {
            type: 'template',
            payload: {
              template_type: 'button',
              text: 'Order 42 shipped',
              buttons: [
                { type: 'postback', title: 'Track my order', payload: 'TRACK_42' },
                { type: 'web_url', url: 'https://acme.example/o/42', title: 'Open the order' },
              ],
            },
          },
          metadata: METADATA,
        },
      },
    ]);
  });

  it('sends what does not fit the template text (640) first as plain text, resuming after parts already sent', async () => {
    const text = `${'a'.repeat(600)} ${'b'.repeat(100)}`;
    const full = await sender.send(request({ type: 'text', text, buttons: track }), context());
    expect(messages()[0]).toEqual({ text: 'a'.repeat(600), metadata: METADATA });
    expect(messages()[1]).toMatchObject({ attachment: { payload: { template_type: 'button', text: 'b'.repeat(100) } } });
    expect(full.externalIds).toHaveLength(2);
    fake.reset();
    await sender.send(request({ type: 'text', text, buttons: track }, { sentParts: ['m_earlier'] }), context());
    expect(messages()).toHaveLength(1);
    expect(messages()[0]).toHaveProperty('attachment');
  });

  it('offers postbacks as quick replies and writes links out when there are more than 3 buttons or a label over 20', async () => {
    const four: Button[] = [
      ...track,
      { type: 'postback', text: 'Cancel', payload: 'CANCEL_42' },
      { type: 'postback', text: 'Help', payload: 'HELP' },
    ];
    await sender.send(request({ type: 'text', text: 'Order 42 shipped', buttons: four }), context());
    await sender.send(
      request({
        type: 'text',
        text: 'Order 42',
        buttons: [{ type: 'url', text: 'Open the order page now', url: 'https://acme.example/o/42' }],
      }),
      context(),
    );
    expect(messages()).toEqual([
      {
        text: 'Order 42 shipped\n\nOpen the order: https://acme.example/o/42',
        quick_replies: [
          { content_type: 'text', title: 'Track my order', payload: 'TRACK_42' },
          { content_type: 'text', title: 'Cancel', payload: 'CANCEL_42' },
          { content_type: 'text', title: 'Help', payload: 'HELP' },
        ],
        metadata: METADATA,
      },
      { text: 'Order 42\n\nOpen the order page now: https://acme.example/o/42', metadata: METADATA },
    ]);
  });

  it('numbers postbacks whose payload is over 1000 bytes, which neither a button nor a quick reply carries', async () => {
    await sender.send(
      request({ type: 'text', text: 'Pick', buttons: [{ type: 'postback', text: 'Long', payload: 'é'.repeat(501) }] }),
      context(),
    );
    expect(messages()).toEqual([{ text: quickRepliesAsText('Pick', [{ text: 'Long', payload: 'é'.repeat(501) }]), metadata: METADATA }]);
  });
});

describe('messenger sender: lists', () => {
  const list = (sections: Extract<OutboundContent, { type: 'list' }>['sections']): OutboundContent => ({
    type: 'list',
    text: 'Pick a size',
    sections,
  });

  it('sends a list of plain items as quick replies', async () => {
    await sender.send(
      request(
        list([
          {
            items: [
              { title: 'Medium', payload: 'size_m' },
              { title: 'Large', payload: 'size_l' },
            ],
          },
        ]),
      ),
      context(),
    );
    expect(messages()).toEqual([
      {
        text: 'Pick a size',
        quick_replies: [
          { content_type: 'text', title: 'Medium', payload: 'size_m' },
          { content_type: 'text', title: 'Large', payload: 'size_l' },
        ],
        metadata: METADATA,
      },
    ]);
  });

  it('numbers a list with descriptions, section titles or long titles, with a quick reply per number; more than 13 items as text alone', async () => {
    await sender.send(
      request(
        list([
          { title: 'Jackets', items: [{ title: 'Medium (M)', description: 'Chest 96-101 cm', payload: 'size_m' }] },
          { title: 'Shirts', items: [{ title: 'Slim fit', payload: 'slim' }] },
        ]),
      ),
      context(),
    );
    await sender.send(request(list([{ items: [{ title: 'A label of twenty-one', payload: 'x' }] }])), context());
    await sender.send(
      request(list([{ items: Array.from({ length: 14 }, (_, i) => ({ title: `Size ${i + 1}`, payload: `s${i + 1}` })) }])),
      context(),
    );
    const [described, long, many] = messages();
    expect(described).toEqual({
      text: 'Pick a size\n\nJackets\n1. Medium (M) – Chest 96-101 cm\n\nShirts\n2. Slim fit',
      quick_replies: [
        { content_type: 'text', title: '1. Medium (M)', payload: 'size_m' },
        { content_type: 'text', title: '2. Slim fit', payload: 'slim' },
      ],
      metadata: METADATA,
    });
    expect(long).toEqual({
      text: 'Pick a size\n\n1. A label of twenty-one',
      quick_replies: [{ content_type: 'text', title: '1. A label of twent…', payload: 'x' }],
      metadata: METADATA,
    });
    expect(many?.['quick_replies']).toBeUndefined();
    expect(many?.['text']).toMatch(/\n14\. Size 14$/);
  });
});

describe('messenger sender: message tags', () => {
  it.each([
    ['human_agent', 'HUMAN_AGENT'],
    ['account_update', 'ACCOUNT_UPDATE'],
    ['confirmed_event_update', 'CONFIRMED_EVENT_UPDATE'],
    ['post_purchase_update', 'POST_PURCHASE_UPDATE'],
  ] as const)('sends with %s as MESSAGE_TAG %s on every part of the message', async (messageTag, tag) => {
    await sender.send(request({ type: 'text', text: `${'a'.repeat(1999)} b`, buttons: track }, { messageTag }), context());
    expect(fake.calls).toHaveLength(2);
    for (const call of fake.calls) expect(call.body).toMatchObject({ messaging_type: 'MESSAGE_TAG', tag });
  });

  it('refuses template content, which Messenger does not have, calling nothing', async () => {
    const error = await failureOf(sender.send(request({ type: 'template', name: 'order_update', language: 'en_US' }), context()));
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(fake.calls).toHaveLength(0);
  });
});

describe('messenger: what a rendered choice sends back', () => {
  const CONTEXT = { accountId: PAGE, receivedAt: '2026-03-14T01:00:00.000Z' };
  /** A recorded tap (a fixture) with what this sender rendered swapped in: what Messenger would send. */
  const tapped = (fixture: string, tap: Record<string, unknown>) => {
    const body = JSON.parse(readFileSync(new URL(`../../fixtures/messenger/${fixture}.json`, import.meta.url), 'utf8')) as {
      entry: { messaging: Record<string, unknown>[] }[];
    };
    Object.assign(body.entry[0]!.messaging[0]!, tap);
    const parsed = messengerConnector.parse(Buffer.from(JSON.stringify(body)));
    if (parsed.kind !== 'ok') throw new Error(parsed.reason);
    const [received] = messengerConnector.normalize(parsed.payload, CONTEXT).events;
    return received?.type === 'message.received' ? received.content : undefined;
  };

  it('a postback button and a list item offered as a quick reply come back as reply content with their payload', () => {
    const [template] = planMetaSend(request({ type: 'text', text: 'Order 42', buttons: track }), MESSENGER_SEND_PROFILE, PAGE);
    const button = (template?.body['message'] as { attachment: { payload: { buttons: { title: string; payload: string }[] } } }).attachment
      .payload.buttons[0]!;
    expect(tapped('postback', { postback: { mid: 'm_tap_1', title: button.title, payload: button.payload } })).toEqual({
      type: 'reply',
      text: 'Track my order',
      payload: 'TRACK_42',
    });

    const [list] = planMetaSend(
      request({ type: 'list', text: 'Size?', sections: [{ items: [{ title: 'Medium', payload: 'size_m' }] }] }),
      MESSENGER_SEND_PROFILE,
      PAGE,
    );
    const reply = (list?.body['message'] as { quick_replies: { title: string; payload: string }[] }).quick_replies[0]!;
    expect(tapped('quick-reply', { message: { mid: 'm_tap_2', text: reply.title, quick_reply: { payload: reply.payload } } })).toEqual({
      type: 'reply',
      text: 'Medium',
      payload: 'size_m',
    });
  });
});

describe('messenger sender: errors', () => {
  const text = request({ type: 'text', text: 'Hello' });
  const graphError = (code: number, subcode: number | undefined, message: string) => ({
    error: { message, type: 'OAuthException', code, ...(subcode !== undefined && { error_subcode: subcode }), fbtrace_id: 'AbC123' },
  });

  it.each([
    [400, 10, 2018278, '(#10) This message is sent outside of allowed window.', PermanentProviderError, false, '10/2018278'],
    [400, 551, 1545041, "(#551) This person isn't available right now.", PermanentProviderError, true, '551/1545041'],
    [400, 100, 2018001, '(#100) No matching user found', PermanentProviderError, true, '100/2018001'],
    [400, 190, undefined, 'Error validating access token: Session has expired', AuthenticationError, undefined, '190'],
    [500, 2, undefined, 'An unexpected error has occurred. Please retry your request later.', RetryableProviderError, undefined, '2'],
    [500, 1, undefined, 'An unknown error occurred', RetryableProviderError, undefined, '1'],
    [400, 100, undefined, '(#100) Invalid parameter', InvalidRequestError, undefined, '100'],
  ] as const)('HTTP %i code %i/%s → %s', async (status, code, subcode, message, type, unreachable, codeText) => {
    fake.answerNext({ status, body: graphError(code, subcode, message) });
    const error = await failureOf(sender.send(text, context()));
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({ code: codeText, message });
    if (unreachable !== undefined) expect(error).toMatchObject({ recipientUnreachable: unreachable });
  });

  it.each([4, 17, 32, 613])('code %i is a rate limit, waiting what X-Business-Use-Case-Usage says', async (code) => {
    fake.answerNext({
      status: 400,
      body: graphError(code, undefined, '(#613) Calls to this api have exceeded the rate limit.'),
      headers: {
        'x-business-use-case-usage': JSON.stringify({
          [PAGE]: [{ type: 'messenger', call_count: 100, estimated_time_to_regain_access: 3 }],
        }),
      },
    });
    const error = await failureOf(sender.send(text, context()));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ code: String(code), retryAfterSeconds: 180 });
  });

  it('waits 60 s on a rate limit that names no wait', async () => {
    fake.answerNext({ status: 400, body: graphError(4, undefined, '(#4) Application request limit reached') });
    expect(await failureOf(sender.send(text, context()))).toMatchObject({ retryAfterSeconds: 60 });
  });

  it('turns a proxy 502 page into a retryable failure, and an unreadable 200 too', async () => {
    fake.answerNext({ status: 502, body: '<html>Bad Gateway</html>' });
    fake.answerNext({ status: 200, body: '<html>ok?</html>' });
    expect(await failureOf(sender.send(text, context()))).toMatchObject({ code: '502' });
    expect(await failureOf(sender.send(text, context()))).toBeInstanceOf(RetryableProviderError);
  });

  it('stops without retrying when Graph accepts but names no message id', async () => {
    fake.answerNext({ status: 200, body: { recipient_id: PSID } });
    expect(await failureOf(sender.send(text, context()))).toBeInstanceOf(PermanentProviderError);
  });

  it('keeps the parts that went out when a later part is refused', async () => {
    const long = `${'x'.repeat(1990)} ${'y'.repeat(100)}`;
    fake.answerNext({ status: 200, body: { recipient_id: PSID, message_id: 'm_part_1' } });
    fake.answerNext({ status: 400, body: graphError(613, undefined, 'slow down') });
    const ctx = context();
    expect(await failureOf(sender.send(request({ type: 'text', text: long }), ctx))).toBeInstanceOf(RateLimitedError);
    expect(ctx.onPartSent.mock.calls).toEqual([['m_part_1', true]]);
  });

  it('turns a refused connection and a timeout into retryable failures that never show the token', async () => {
    const closed = await startFakeGraph();
    const closedUrl = closed.baseUrl;
    await closed.close();
    fake.answerNext({ status: 200, body: null, hang: true });

    const refused = await failureOf(sender.send(text, context({ apiBaseUrl: closedUrl })));
    const timedOut = await failureOf(
      callGraph({
        apiBaseUrl: fake.baseUrl,
        path: 'me/messages',
        accessToken: TOKEN,
        body: {},
        fetch: globalThis.fetch,
        what: 'Messenger send',
        timeoutMs: 100,
      }),
    );
    expect(refused).toMatchObject({ message: 'Messenger send request failed: ECONNREFUSED' });
    expect(timedOut).toBeInstanceOf(RetryableProviderError);
    expect(timedOut.message).toMatch(/timed out/);
    for (const error of [refused, timedOut]) expect(JSON.stringify({ ...error, message: error.message })).not.toContain(TOKEN);
  });

  it('refuses to call without a Page token', async () => {
    expect(await failureOf(sender.send(text, context({ credentials: { pageId: PAGE } })))).toBeInstanceOf(AuthenticationError);
    expect(fake.calls).toHaveLength(0);
  });
});
