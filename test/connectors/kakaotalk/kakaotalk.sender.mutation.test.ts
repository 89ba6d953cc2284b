/**
 * connectors/kakaotalk/kakaotalk.sender.ts at its edges: which way a reply goes when a callback was already
 * used or the Event API is half done, the ids Parley keeps when Kakao names no task, and the failures the
 * integrator reads (kind, code and message) when a reply cannot go out.
 */
import { describe, expect, it } from 'vitest';
import type { SendContext, SendRequest } from '../../../connectors/connector.ts';
import { kakaotalkConnector } from '../../../connectors/kakaotalk/index.ts';
import { textResponse } from '../../../connectors/kakaotalk/kakaotalk.response.ts';
import { NO_DELIVERY_PATH, postCallbackAnswer } from '../../../connectors/kakaotalk/kakaotalk.sender.ts';
import type { Recipient } from '../../../domain/connector.ts';
import type { OutboundContent } from '../../../domain/content.ts';
import { deterministicId } from '../../../domain/ids.ts';
import { fakeKakao } from '../../helpers/kakaotalk-fake.ts';
import { failureOf } from '../../helpers/provider-failure.ts';
import { BOT_ID, KAKAO_TEST_CREDENTIALS } from './kakaotalk.kit.ts';

const { sender } = kakaotalkConnector;
const USER_KEY = '0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b';
const API = 'http://kakao.test';
const CALLBACK_URL = 'https://bot-api.kakao.com/v1/bots/65f1a2b3c4d5e6f708192a3b/callback/Xk3t9QmZr2Lw8Vb1';
const CALLBACK_PATH = `${API}/v1/bots/65f1a2b3c4d5e6f708192a3b/callback/Xk3t9QmZr2Lw8Vb1`;
const EVENT_API = `${API}/v2/bots/${BOT_ID}/talk`;
const recipient: Recipient = { accountId: BOT_ID, conversation: { externalId: USER_KEY, kind: 'direct' } };
const withHandle: Recipient = {
  ...recipient,
  replyHandle: { value: CALLBACK_URL, expiresAt: new Date(Date.now() + 60_000).toISOString() },
};

const setup = (credentials = KAKAO_TEST_CREDENTIALS) => {
  const kakao = fakeKakao();
  const sentParts: string[] = [];
  const context: SendContext = { credentials, apiBaseUrl: API, fetch: kakao.fetch, onPartSent: async (id) => void sentParts.push(id) };
  return { kakao, context, sentParts };
};

const request = (content: OutboundContent, overrides: Partial<SendRequest> = {}): SendRequest => ({
  messageId: 'msg_1',
  content,
  recipient,
  sentParts: [],
  ...overrides,
});

const eventTexts = (calls: readonly { body: unknown }[]) =>
  calls.map((c) => (c.body as { event: { data: { text: string } } }).event.data.text);

describe('kakaotalk sender: which way a reply goes', () => {
  it('sends nothing more when an earlier attempt answered through the callback, however long the text', async () => {
    const { kakao, context } = setup();
    const long: OutboundContent = { type: 'text', text: `${'가'.repeat(1000)}\n${'나'.repeat(500)}` };
    const result = await sender.send(request(long, { recipient: withHandle, sentParts: ['callback:task:task-9'] }), context);
    expect(result.externalIds).toEqual(['callback:task:task-9']);
    expect(kakao.calls).toEqual([]);
  });

  it('resumes a half-sent Event API message through the Event API, even while a callback is valid', async () => {
    const { kakao, context } = setup();
    const long: OutboundContent = { type: 'text', text: `${'가'.repeat(1000)}\n${'나'.repeat(500)}` };
    const result = await sender.send(request(long, { recipient: withHandle, sentParts: ['task:task-0'] }), context);
    expect(kakao.calls.map((c) => c.url)).toEqual([EVENT_API]);
    expect(eventTexts(kakao.calls)).toEqual(['나'.repeat(500)]);
    expect(result.externalIds).toEqual(['task:task-0', 'task:task-1']);
  });

  it('keeps a callback Kakao rate-limited retryable as such, without paying for the Event API', async () => {
    const { kakao, context, sentParts } = setup();
    kakao.answerNext({ status: 429, body: {}, headers: { 'retry-after': '7' } });
    const error = await failureOf(sender.send(request({ type: 'text', text: 'Hi' }, { recipient: withHandle }), context));
    expect(error).toMatchObject({ kind: 'rate_limited', retryAfterSeconds: 7, message: 'Kakao callback: HTTP 429' });
    expect(kakao.calls.map((c) => c.url)).toEqual([CALLBACK_PATH]);
    expect(sentParts).toEqual([]);
  });

  it('uses the configured bot id over the route account for the Event API', async () => {
    const { kakao, context } = setup({ ...KAKAO_TEST_CREDENTIALS, botId: 'configured-bot' });
    await sender.send(request({ type: 'text', text: 'Hi' }), context);
    expect(kakao.calls.map((c) => c.url)).toEqual([`${API}/v2/bots/configured-bot/talk`]);
  });

  it('sends the text alone when a text comes with an empty list of quick replies', async () => {
    const { kakao, context } = setup();
    await sender.send(request({ type: 'text', text: 'Hi', quickReplies: [] }), context);
    expect(eventTexts(kakao.calls)).toEqual(['Hi']);
  });
});

describe('kakaotalk sender: ids without a task id', () => {
  it('derives each part id from the message id, the part number and its text, the same on every retry', async () => {
    const { kakao, context, sentParts } = setup();
    kakao.answerNext({ status: 200, body: { status: 'SUCCESS' } });
    kakao.answerNext({ status: 200, body: { status: 'SUCCESS' } });
    const text = `${'가'.repeat(1000)}\n다`;
    const result = await sender.send(request({ type: 'text', text }), context);
    const expected = [`msg_1\u001f0\u001f${'가'.repeat(1000)}`, 'msg_1\u001f1\u001f다'].map(
      (value) => `event:${deterministicId('kakao', value).slice('kakao_'.length)}`,
    );
    expect(result.externalIds).toEqual(expected);
    expect(sentParts).toEqual(expected);
  });

  it('uses the user key when the message has no Parley id', async () => {
    const { kakao, context } = setup();
    kakao.answerNext({ status: 200, body: { status: 'SUCCESS' } });
    const { messageId: _none, ...withoutId } = request({ type: 'text', text: 'Hi' });
    const result = await sender.send(withoutId, context);
    expect(result.externalIds).toEqual([`event:${deterministicId('kakao', `${USER_KEY}\u001f0\u001fHi`).slice('kakao_'.length)}`]);
  });

  it('names a callback answer without a task id by its URL', async () => {
    const { kakao, context } = setup();
    kakao.answerNext({ status: 200, body: { status: 'SUCCESS' } });
    const result = await sender.send(request({ type: 'text', text: 'Hi' }, { recipient: withHandle }), context);
    expect(result.externalIds).toEqual([`callback:${deterministicId('kakao', CALLBACK_URL).slice('kakao_'.length)}`]);
  });
});

describe('kakaotalk sender: failures the integrator reads', () => {
  it('refuses, naming the setting, when the bot id is unknown', async () => {
    for (const accountId of ['default', '']) {
      const { kakao, context } = setup({ skillSecret: 's', restApiKey: 'k' });
      const error = await failureOf(
        sender.send(request({ type: 'text', text: 'Hi' }, { recipient: { ...recipient, accountId } }), context),
      );
      expect(error).toMatchObject({
        kind: 'permanent',
        code: 'kakao_bot_id_unknown',
        message: 'the Kakao bot id is unknown: set KAKAO_BOT_ID to use the Event API',
      });
      expect(kakao.calls).toEqual([]);
    }
  });

  it('explains why no reply can go out when the Event API is not configured', async () => {
    const { context } = setup({ skillSecret: 's', botId: BOT_ID });
    expect(await failureOf(sender.send(request({ type: 'text', text: 'Hi' }), context))).toMatchObject({
      kind: 'permanent',
      code: NO_DELIVERY_PATH,
      message:
        "KakaoTalk cannot deliver this reply: a Kakao chatbot may only answer the user's own message (within 5 s, " +
        'or through its one-minute callback), and later replies need the Event API, which is not configured ' +
        '(set KAKAO_REST_API_KEY and add an event block; each message is charged)',
    });
  });

  it('names the Event API in its refusals, and the content it cannot carry', async () => {
    const { kakao, context } = setup();
    kakao.answerNext({ status: 400, body: { message: 'bad event' } });
    expect(await failureOf(sender.send(request({ type: 'text', text: 'Hi' }), context))).toMatchObject({
      kind: 'invalid_request',
      message: 'Kakao Event API: bad event',
    });
    expect(await failureOf(sender.send(request({ type: 'image', media: { url: 'https://x.test/a.png' } }), context))).toMatchObject({
      kind: 'invalid_request',
      message: 'KakaoTalk cannot carry image content from Parley',
    });
    await expect(sender.perform('kakaoCallback', {}, context)).rejects.toMatchObject({ message: 'KakaoTalk has no action kakaoCallback' });
  });

  it('treats a callback as expired from the very millisecond it expires, and says so', async () => {
    const { kakao, context } = setup();
    const expiresAt = '2026-03-14T01:01:00.000Z';
    const error = await failureOf(
      postCallbackAnswer({ value: CALLBACK_URL, expiresAt }, textResponse('late'), context, new Date(expiresAt)),
    );
    expect(error).toMatchObject({
      kind: 'permanent',
      code: 'callback_expired',
      message: 'Kakao callback expired at 2026-03-14T01:01:00.000Z; a callback URL is valid for one minute',
    });
    await postCallbackAnswer(
      { value: CALLBACK_URL, expiresAt },
      textResponse('just in time'),
      context,
      new Date(Date.parse(expiresAt) - 1),
    );
    expect(kakao.calls.map((c) => c.url)).toEqual([CALLBACK_PATH]);
  });

  it('says why it will not call a callback URL that is not Kakao’s', async () => {
    const { context } = setup();
    const error = await failureOf(
      postCallbackAnswer({ value: 'https://evil.example/cb', expiresAt: '2999-01-01T00:00:00.000Z' }, textResponse('x'), context),
    );
    expect(error).toMatchObject({
      code: 'callback_url_rejected',
      message: 'the callback URL is not an https URL on a kakao.com host; refusing to call it',
    });
  });
});
