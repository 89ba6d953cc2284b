import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { SendContext, SendRequest } from '../../../connectors/connector.ts';
import { kakaotalkConnector } from '../../../connectors/kakaotalk/index.ts';
import { callbackTarget } from '../../../connectors/kakaotalk/kakaotalk.api.ts';
import { PARLEY_PAYLOAD_KEY } from '../../../connectors/kakaotalk/kakaotalk.normalize.ts';
import {
  skillResponseOf,
  textResponse,
  type KakaoReplyContent,
  type KakaoTemplateResponse,
} from '../../../connectors/kakaotalk/kakaotalk.response.ts';
import type { KakaoSkillPayload } from '../../../connectors/kakaotalk/kakaotalk.schema.ts';
import { KAKAO_EVENT_NAME, NO_DELIVERY_PATH, postCallbackAnswer } from '../../../connectors/kakaotalk/kakaotalk.sender.ts';
import type { Recipient } from '../../../domain/connector.ts';
import type { OutboundContent } from '../../../domain/content.ts';
import {
  AuthenticationError,
  InvalidRequestError,
  PermanentProviderError,
  RateLimitedError,
  RetryableProviderError,
} from '../../../domain/provider-errors.ts';
import { fakeKakao, type FakeKakao } from '../../helpers/kakaotalk-fake.ts';
import { BOT_ID, KAKAO_TEST_CREDENTIALS } from './kakaotalk.kit.ts';

const { sender } = kakaotalkConnector;
const USER_KEY = '0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b';
const API = 'http://kakao.test';
const CALLBACK_URL = 'https://bot-api.kakao.com/v1/bots/65f1a2b3c4d5e6f708192a3b/callback/Xk3t9QmZr2Lw8Vb1';
const recipient: Recipient = { accountId: BOT_ID, conversation: { externalId: USER_KEY, kind: 'direct' } };
const inAMinute = () => new Date(Date.now() + 60_000).toISOString();

const setup = (credentials = KAKAO_TEST_CREDENTIALS) => {
  const kakao: FakeKakao = fakeKakao();
  const sentParts: string[] = [];
  const context: SendContext = {
    credentials,
    apiBaseUrl: API,
    fetch: kakao.fetch,
    onPartSent: async (id) => void sentParts.push(id),
  };
  return { kakao, context, sentParts };
};

const request = (content: OutboundContent, overrides: Partial<SendRequest> = {}): SendRequest => ({
  messageId: 'msg_1',
  content,
  recipient,
  sentParts: [],
  ...overrides,
});

describe('kakaotalk sender: Event API', () => {
  it('sends a text as an event to the user, with the KakaoAK key', async () => {
    const { kakao, context, sentParts } = setup();
    const result = await sender.send(request({ type: 'text', text: '배송이 내일 도착해요.' }), context);
    expect(kakao.calls).toEqual([
      {
        url: `${API}/v2/bots/${BOT_ID}/talk`,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `KakaoAK ${KAKAO_TEST_CREDENTIALS['restApiKey']}` },
        body: { event: { name: KAKAO_EVENT_NAME, data: { text: '배송이 내일 도착해요.' } }, user: [{ type: 'botUserKey', id: USER_KEY }] },
      },
    ]);
    expect(result.externalIds).toEqual(['task:task-1']);
    expect(sentParts).toEqual(['task:task-1']);
  });

  it('uses the configured event name, and the route account as bot id when none is configured', async () => {
    const { kakao, context } = setup({ restApiKey: 'k', eventName: 'agent_reply' });
    await sender.send(request({ type: 'text', text: 'Hi' }), context);
    expect(kakao.calls[0]?.url).toBe(`${API}/v2/bots/${BOT_ID}/talk`);
    expect(kakao.calls[0]?.body).toMatchObject({ event: { name: 'agent_reply' } });
  });

  it('sends a long text in 1000-character parts, one event each, resuming after the parts already sent', async () => {
    const { kakao, context } = setup();
    const text = `${'가'.repeat(1000)}\n${'나'.repeat(1000)}\n${'다'.repeat(10)}`;
    const result = await sender.send(request({ type: 'text', text }, { sentParts: ['task:earlier'] }), context);
    expect(kakao.calls.map((c) => (c.body as { event: { data: { text: string } } }).event.data.text)).toEqual([
      '나'.repeat(1000),
      '다'.repeat(10),
    ]);
    expect(result.externalIds).toEqual(['task:earlier', 'task:task-1', 'task:task-2']);
  });

  it('writes quick replies into the text: an event block cannot show them', async () => {
    const { kakao, context } = setup();
    await sender.send(request({ type: 'text', text: 'Pick one', quickReplies: [{ text: 'Yes', payload: 'y' }] }), context);
    expect(kakao.calls[0]?.body).toMatchObject({ event: { data: { text: 'Pick one\n\n1. Yes' } } });
  });

  it('refuses permanently, without calling Kakao, when no REST API key is configured', async () => {
    const { kakao, context } = setup({ skillSecret: 's', botId: BOT_ID });
    const error = await sender.send(request({ type: 'text', text: 'Hi' }), context).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect(error).toMatchObject({ code: NO_DELIVERY_PATH, recipientUnreachable: false });
    expect((error as Error).message).toMatch(/Event API/);
    expect(kakao.calls).toEqual([]);
  });

  it('refuses content other than text', async () => {
    const { context } = setup();
    await expect(sender.send(request({ type: 'image', media: { url: 'https://x.test/a.png' } }), context)).rejects.toBeInstanceOf(
      InvalidRequestError,
    );
  });

  it.each([
    [{ status: 401, body: { message: 'invalid key' } }, AuthenticationError],
    [{ status: 403, body: {} }, AuthenticationError],
    [{ status: 400, body: { message: 'bad event' } }, InvalidRequestError],
    [{ status: 500, body: 'oops' }, RetryableProviderError],
    [{ status: 200, body: '<html>' }, RetryableProviderError],
    [{ status: 200, body: { taskId: 't', status: 'FAIL', message: 'no event block' } }, PermanentProviderError],
    [{ status: 0, body: null, networkError: true }, RetryableProviderError],
  ] as const)('classifies %j', async (answer, type) => {
    const { kakao, context } = setup();
    kakao.answerNext(answer);
    const error = await sender.send(request({ type: 'text', text: 'Hi' }), context).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).not.toContain(KAKAO_TEST_CREDENTIALS['restApiKey']);
  });

  it('waits as long as Retry-After says on 429, else 5 s', async () => {
    const { kakao, context } = setup();
    kakao.answerNext({ status: 429, body: {}, headers: { 'retry-after': '12' } });
    kakao.answerNext({ status: 429, body: {} });
    const first = await sender.send(request({ type: 'text', text: 'Hi' }), context).catch((e: unknown) => e);
    const second = await sender.send(request({ type: 'text', text: 'Hi' }), context).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(RateLimitedError);
    expect(first).toMatchObject({ retryAfterSeconds: 12 });
    expect(second).toMatchObject({ retryAfterSeconds: 5 });
  });
});

describe('kakaotalk sender: callback', () => {
  const CALLBACK_PATH = `${API}/v1/bots/65f1a2b3c4d5e6f708192a3b/callback/Xk3t9QmZr2Lw8Vb1`;
  const EVENT_API = `${API}/v2/bots/${BOT_ID}/talk`;
  const withHandle = (value = CALLBACK_URL, expiresAt = inAMinute()): Recipient => ({ ...recipient, replyHandle: { value, expiresAt } });

  it('posts the answer once as a SkillResponse to the reply handle, rebased on the API origin, free of the Event API', async () => {
    const { kakao, context, sentParts } = setup();
    const content: OutboundContent = {
      type: 'text',
      text: '환불은 3영업일 걸려요.',
      quickReplies: [{ text: '고마워요', payload: 'thanks' }],
    };
    const result = await sender.send(request(content, { recipient: withHandle() }), context);
    expect(kakao.calls).toEqual([
      {
        url: CALLBACK_PATH,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: {
          version: '2.0',
          template: {
            outputs: [{ simpleText: { text: '환불은 3영업일 걸려요.' } }],
            quickReplies: [{ label: '고마워요', action: 'message', messageText: '고마워요', extra: { parleyPayload: 'thanks' } }],
          },
        },
      },
    ]);
    expect(result.externalIds).toEqual(['callback:task:task-1']);
    expect(sentParts).toEqual(['callback:task:task-1']);

    // A retry after the callback went through: the message is sent, nothing is posted again.
    const retried = await sender.send(request(content, { recipient: withHandle(), sentParts: ['callback:task:task-1'] }), context);
    expect(retried.externalIds).toEqual(['callback:task:task-1']);
    expect(kakao.calls).toHaveLength(1);
  });

  it('falls back to the Event API when Kakao refuses the callback as spent: the URL is single use', async () => {
    const { kakao, context, sentParts } = setup();
    kakao.answerNext({ status: 200, body: { taskId: 't', status: 'FAIL', message: 'callback already used' } });
    const result = await sender.send(request({ type: 'text', text: 'Second reply' }, { recipient: withHandle() }), context);
    expect(kakao.calls.map((c) => c.url)).toEqual([CALLBACK_PATH, EVENT_API]);
    expect(result.externalIds).toEqual(['task:task-1']);
    expect(sentParts).toEqual(['task:task-1']);
  });

  it('refuses with the documented error when the callback is spent and no Event API is configured', async () => {
    const { kakao, context } = setup({ skillSecret: 's', botId: BOT_ID });
    kakao.answerNext({ status: 400, body: { status: 'FAIL', message: 'expired' } });
    const error = await sender.send(request({ type: 'text', text: 'Late' }, { recipient: withHandle() }), context).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect(error).toMatchObject({ code: NO_DELIVERY_PATH });
    expect(kakao.calls.map((c) => c.url)).toEqual([CALLBACK_PATH]);
  });

  it('keeps a callback that failed for want of an answer retryable, without reaching for the Event API', async () => {
    const { kakao, context, sentParts } = setup();
    kakao.answerNext({ status: 503, body: {} });
    const error = await sender.send(request({ type: 'text', text: 'Hi' }, { recipient: withHandle() }), context).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableProviderError);
    expect(kakao.calls.map((c) => c.url)).toEqual([CALLBACK_PATH]);
    expect(sentParts).toEqual([]);
  });

  it('uses the Event API when the reply handle has expired', async () => {
    const { kakao, context } = setup();
    await sender.send(
      request({ type: 'text', text: 'Hi' }, { recipient: withHandle(CALLBACK_URL, new Date(Date.now() - 1000).toISOString()) }),
      context,
    );
    expect(kakao.calls.map((c) => c.url)).toEqual([EVENT_API]);
  });

  it('never calls a reply handle that is not https on a kakao.com host, and uses the Event API instead', async () => {
    const { kakao, context } = setup();
    const rejected = [
      'http://bot-api.kakao.com/cb',
      'https://evil.example/cb',
      'https://kakao.com.evil.example/cb',
      'https://u:p@bot-api.kakao.com/cb',
      'not a url',
    ];
    for (const value of rejected) {
      await sender.send(request({ type: 'text', text: 'x' }, { recipient: withHandle(value) }), context);
      const error = await postCallbackAnswer({ value, expiresAt: inAMinute() }, textResponse('x'), context).catch((e: unknown) => e);
      expect(error, value).toBeInstanceOf(PermanentProviderError);
      expect(error, value).toMatchObject({ code: 'callback_url_rejected' });
    }
    expect(kakao.calls.map((c) => c.url)).toEqual(rejected.map(() => EVENT_API));
  });

  it('refuses to post to an expired callback, without calling', async () => {
    const { kakao, context } = setup();
    const error = await postCallbackAnswer(
      { value: CALLBACK_URL, expiresAt: new Date(Date.now() - 1).toISOString() },
      textResponse('late'),
      context,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect(error).toMatchObject({ code: 'callback_expired' });
    expect(kakao.calls).toEqual([]);
  });

  it('keeps the callback URL as Kakao gave it when the API origin is the real one', () => {
    expect(callbackTarget(CALLBACK_URL, 'https://bot-api.kakao.com/')).toBe(CALLBACK_URL);
    expect(callbackTarget(`${CALLBACK_URL}?token=a`, 'http://127.0.0.1:3000/sandbox/kakaotalk')).toBe(
      'http://127.0.0.1:3000/sandbox/kakaotalk/v1/bots/65f1a2b3c4d5e6f708192a3b/callback/Xk3t9QmZr2Lw8Vb1?token=a',
    );
  });

  it('has no provider actions: the callback comes as the reply handle', async () => {
    const { kakao, context } = setup();
    await expect(sender.perform('kakaoCallback', { callbackUrl: CALLBACK_URL, text: 'x' }, context)).rejects.toBeInstanceOf(
      InvalidRequestError,
    );
    expect(kakao.calls).toEqual([]);
  });
});

describe('kakaotalk sender: buttons and lists', () => {
  const CALLBACK_PATH = `${API}/v1/bots/65f1a2b3c4d5e6f708192a3b/callback/Xk3t9QmZr2Lw8Vb1`;
  const withHandle = (): Recipient => ({ ...recipient, replyHandle: { value: CALLBACK_URL, expiresAt: inAMinute() } });
  const buttons: OutboundContent = {
    type: 'text',
    text: '택배가 내일 도착해요.',
    buttons: [
      { type: 'postback', text: '내일 다시 배송', payload: 'resched:A-1029' },
      { type: 'url', text: '배송 조회', url: 'https://acme.example/t/A-1029' },
    ],
  };
  const list: OutboundContent = {
    type: 'list',
    text: '시간을 골라 주세요',
    sections: [
      {
        title: '오전',
        items: [
          { title: '9–12시', description: '기사님이 미리 전화드려요', payload: 's1' },
          { title: '12–14시', payload: 's2' },
        ],
      },
    ],
  };

  it('answers through the callback with the buttons on a text card', async () => {
    const { kakao, context } = setup();
    const result = await sender.send(request(buttons, { recipient: withHandle() }), context);
    // The card's exact shape is buttonsResponse's (kakaotalk.response.test.ts); here: it is what the callback carries.
    expect(kakao.calls.map((call) => [call.url, call.body])).toEqual([[CALLBACK_PATH, skillResponseOf(buttons as KakaoReplyContent)]]);
    expect(kakao.calls[0]?.body).toMatchObject({ template: { outputs: [{ textCard: { description: '택배가 내일 도착해요.' } }] } });
    expect(result.externalIds).toEqual(['callback:task:task-1']);
  });

  it('answers a list through the callback as a numbered text with a quick reply per number when its items have descriptions', async () => {
    const { kakao, context } = setup();
    await sender.send(request(list, { recipient: withHandle() }), context);
    expect(kakao.calls[0]?.body).toMatchObject({
      version: '2.0',
      template: {
        outputs: [{ simpleText: { text: '시간을 골라 주세요\n\n오전\n1. 9–12시 – 기사님이 미리 전화드려요\n2. 12–14시' } }],
        quickReplies: [{ label: '1. 9–12시' }, { label: '2. 12–14시' }],
      },
    });
  });

  it('writes buttons and lists into the text through the Event API, whose event data carries text only', async () => {
    const { kakao, context } = setup();
    await sender.send(request(buttons), context);
    await sender.send(request(list, { messageId: 'msg_2' }), context);
    expect(kakao.calls.map((call) => (call.body as { event: { data: unknown } }).event.data)).toEqual([
      { text: '택배가 내일 도착해요.\n\n배송 조회: https://acme.example/t/A-1029\n\n1. 내일 다시 배송' },
      { text: '시간을 골라 주세요\n\n오전\n1. 9–12시 – 기사님이 미리 전화드려요\n2. 12–14시' },
    ]);
  });

  it('refuses a provider template before calling Kakao', async () => {
    const { kakao, context } = setup();
    await expect(sender.send(request({ type: 'template', name: 'shipping_update', language: 'ko' }), context)).rejects.toBeInstanceOf(
      InvalidRequestError,
    );
    expect(kakao.calls).toEqual([]);
  });
});

describe('kakaotalk sender: what a tap sends back', () => {
  const TAPPED = JSON.parse(
    readFileSync(new URL('../../fixtures/kakaotalk/quick-reply-parley.json', import.meta.url), 'utf8'),
  ) as KakaoSkillPayload;

  /** Every `message` button or quick reply in a SkillResponse: what the tap says, and the extra it hands the skill. */
  const tappable = (response: KakaoTemplateResponse) =>
    [
      ...response.template.outputs.flatMap((output) => ('textCard' in output ? output.textCard.buttons : [])),
      ...(response.template.quickReplies ?? []),
    ].flatMap((button) => (button.action === 'message' ? [button] : []));

  it.each<[string, KakaoReplyContent, string[]]>([
    [
      'a card button',
      { type: 'text', text: 'Pick', buttons: [{ type: 'postback', text: '특급 배송', payload: 'ship:exp:A-1029' }] },
      ['ship:exp:A-1029'],
    ],
    [
      'a button turned quick reply',
      {
        type: 'text',
        text: 'Pick',
        buttons: Array.from({ length: 4 }, (_, i) => ({ type: 'postback', text: `${i}`, payload: `{"slot":${i}}` }) as const),
      },
      ['{"slot":0}', '{"slot":1}', '{"slot":2}', '{"slot":3}'],
    ],
    ['a list item', { type: 'list', text: 'Pick', sections: [{ items: [{ title: '강남점', payload: 'branch:1' }] }] }, ['branch:1']],
  ])('%s comes back as reply content with the same payload', (_name, content, payloads) => {
    const buttons = tappable(skillResponseOf(content));
    expect(buttons.map((button) => button.extra[PARLEY_PAYLOAD_KEY])).toEqual(payloads);
    for (const button of buttons) {
      // The skill call Kakao makes on a tap: the button's text as the utterance, its extra as clientExtra.
      const call = {
        ...TAPPED,
        userRequest: { ...TAPPED.userRequest, utterance: button.messageText },
        action: { ...TAPPED.action!, clientExtra: button.extra },
      };
      const parsed = kakaotalkConnector.parse(Buffer.from(JSON.stringify(call)));
      if (parsed.kind !== 'ok') throw new Error(parsed.reason);
      const [event] = kakaotalkConnector.normalize(parsed.payload, { accountId: BOT_ID, receivedAt: '2026-03-14T01:00:00.000Z' }).events;
      expect(event).toMatchObject({
        type: 'message.received',
        content: { type: 'reply', text: button.messageText, payload: button.extra[PARLEY_PAYLOAD_KEY] },
      });
    }
  });
});

describe('kakaotalk connector', () => {
  it('declares its channel, API origin, credentials and environment as the contract says', () => {
    expect(kakaotalkConnector.channel).toBe('kakaotalk');
    expect(kakaotalkConnector.defaultApiBaseUrl).toBe('https://bot-api.kakao.com');
    expect(kakaotalkConnector.credentialNames).toEqual({ inbound: ['skillSecret'], outbound: [], optional: ['ackText', 'eventName'] });
    expect(kakaotalkConnector.environment).toEqual({
      credentials: { skillSecret: 'KAKAO_SKILL_SECRET', botId: 'KAKAO_BOT_ID', restApiKey: 'KAKAO_REST_API_KEY' },
      apiBaseUrl: 'KAKAO_API_BASE_URL',
    });
    expect(kakaotalkConnector.handshake).toBeUndefined();
  });

  it('names the account by the configured bot id only', () => {
    expect(kakaotalkConnector.accountIdOf({ skillSecret: 's', botId: BOT_ID })).toBe(BOT_ID);
    expect(kakaotalkConnector.accountIdOf({ skillSecret: 's' })).toBeUndefined();
    expect(kakaotalkConnector.accountIdOf({ skillSecret: 's', botId: '' })).toBeUndefined();
  });

  it('makes fresh development credentials that verify, and a sandbox that answers every call the sender makes', async () => {
    // Prepare
    const dev = kakaotalkConnector.devCredentials();
    expect(dev).not.toEqual(kakaotalkConnector.devCredentials());
    expect(dev['restApiKey']).toMatch(/^[0-9a-f]{32}$/);
    const call = { method: 'POST', headers: { 'x-parley-skill-secret': dev['skillSecret'] }, query: {}, rawBody: Buffer.from('{}') };
    expect(kakaotalkConnector.verify(call, dev)).toBe(true);
    expect(kakaotalkConnector.verify(call, KAKAO_TEST_CREDENTIALS)).toBe(false);
    const sandbox = kakaotalkConnector.sandbox!;
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const url = new URL(String(input));
      const answer = sandbox.handle({ method: init?.method ?? 'GET', path: url.pathname, body: Buffer.from(String(init?.body ?? '')) });
      return new Response(JSON.stringify(answer.body), { status: answer.statusCode });
    };
    const context: SendContext = { credentials: dev, apiBaseUrl: 'http://sandbox.local', fetch, onPartSent: async () => {} };
    // Act
    const viaEvent = await sender.send(request({ type: 'text', text: 'Hello', quickReplies: [{ text: 'Yes', payload: 'y' }] }), context);
    const viaCallback = await sender.send(
      request(
        { type: 'text', text: 'Hello' },
        { recipient: { ...recipient, replyHandle: { value: CALLBACK_URL, expiresAt: inAMinute() } } },
      ),
      context,
    );
    const card = await sender.send(
      request(
        {
          type: 'text',
          text: 'Pick',
          buttons: [
            { type: 'postback', text: 'Yes', payload: 'y' },
            { type: 'url', text: 'Terms', url: 'https://acme.example/terms' },
          ],
        },
        { recipient: { ...recipient, replyHandle: { value: CALLBACK_URL, expiresAt: inAMinute() } } },
      ),
      context,
    );
    const list = await sender.send(
      request({ type: 'list', text: 'Pick', sections: [{ items: [{ title: 'A', description: 'a', payload: 'a' }] }] }),
      context,
    );
    // Assess
    expect(viaEvent.externalIds).toHaveLength(1);
    expect(viaCallback.externalIds).toHaveLength(1);
    expect(card.externalIds).toEqual([expect.stringMatching(/^callback:task:sandbox-task-/)]);
    expect(list.externalIds).toHaveLength(1);
    expect(sandbox.handle({ method: 'POST', path: '/v2/bots/b/talk', body: Buffer.from('{"event":{}}') }).statusCode).toBe(400);
    expect(sandbox.handle({ method: 'POST', path: '/nope', body: Buffer.from('{}') }).statusCode).toBe(404);
  });
});
