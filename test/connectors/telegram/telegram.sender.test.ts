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
import { telegramConnector } from '../../../connectors/telegram/index.ts';
import { callTelegram } from '../../../connectors/telegram/telegram.api.ts';
import type { TelegramUpdate } from '../../../connectors/telegram/telegram.schema.ts';
import { planTelegramCalls } from '../../../connectors/telegram/telegram.sender.ts';
import { startFakeTelegram, type FakeTelegram } from '../../helpers/fake-telegram.ts';
import { assertTelegramRequest } from '../../helpers/telegram-spec.ts';
import { failureOf } from '../../helpers/provider-failure.ts';

const TOKEN = '7712345678:AAtest-token_for-parley';
const CHAT = '5550101234';
const sender = telegramConnector.sender;

let fake: FakeTelegram;
beforeAll(async () => {
  fake = await startFakeTelegram();
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  const calls = [...fake.calls];
  fake.reset();
  // Every body the sender built in these tests must be one the Bot API documents.
  for (const call of calls) assertTelegramRequest(call.method, call.body);
});

const context = (overrides: Partial<SendContext> = {}): SendContext & { onPartSent: ReturnType<typeof vi.fn> } =>
  ({
    credentials: { botToken: TOKEN },
    apiBaseUrl: fake.baseUrl,
    fetch: globalThis.fetch,
    onPartSent: vi.fn(async (_id: string) => {}),
    ...overrides,
  }) as SendContext & { onPartSent: ReturnType<typeof vi.fn> };

const sendRequest = (content: OutboundContent, extra: Partial<SendRequest> = {}): SendRequest => ({
  content,
  recipient: { accountId: '7712345678', conversation: { externalId: CHAT, kind: 'direct' } },
  sentParts: [],
  ...extra,
});

const shipping: QuickReply[] = [
  { text: 'Standard', payload: 'ship:std:A-1029' },
  { text: 'Express 🚀', payload: 'ship:exp:A-1029' },
];

describe('telegram sender: text', () => {
  it('posts sendMessage as JSON to /bot<token>/sendMessage with the quick replies as an inline keyboard', async () => {
    // Act
    const ctx = context();
    const result = await sender.send(sendRequest({ type: 'text', text: 'Choose shipping', quickReplies: shipping }), ctx);

    // Assess
    expect(fake.calls).toHaveLength(1);
    const [call] = fake.calls;
    expect(call).toEqual({
      token: TOKEN,
      method: 'sendMessage',
      contentType: 'application/json',
      body: {
        chat_id: 5550101234,
        text: 'Choose shipping',
        reply_markup: {
          inline_keyboard: [
            [{ text: 'Standard', callback_data: 'ship:std:A-1029' }],
            [{ text: 'Express 🚀', callback_data: 'ship:exp:A-1029' }],
          ],
        },
      },
    });
    expect(result.externalIds).toEqual(['5550101234:5000']);
    expect(ctx.onPartSent).toHaveBeenCalledExactlyOnceWith('5550101234:5000', false);
  });

  it('quotes the message replied to, and sends anyway if it was deleted', async () => {
    await sender.send(sendRequest({ type: 'text', text: 'Sure' }, { replyTo: { externalMessageId: `${CHAT}:1209` } }), context());
    expect(fake.calls[0]?.body).toEqual({
      chat_id: 5550101234,
      text: 'Sure',
      reply_parameters: { message_id: 1209, allow_sending_without_reply: true },
    });
  });

  it('does not quote what is not a Telegram message (a button tap)', async () => {
    await sender.send(sendRequest({ type: 'text', text: 'Noted' }, { replyTo: { externalMessageId: 'callback:4122334455' } }), context());
    expect(fake.calls[0]?.body).toEqual({ chat_id: 5550101234, text: 'Noted' });
  });

  it('sends to groups and channels by their negative ids', async () => {
    const request = sendRequest({ type: 'text', text: 'Hello all' });
    const group = {
      ...request,
      recipient: { ...request.recipient, conversation: { externalId: '-1001987654321', kind: 'group' as const } },
    };
    const result = await sender.send(group, context());
    expect(fake.calls[0]?.body['chat_id']).toBe(-1001987654321);
    expect(result.externalIds[0]).toMatch(/^-1001987654321:\d+$/);
  });

  it('splits a long text, never inside a surrogate pair, with the keyboard on the last part only', async () => {
    // Prepare: no whitespace, and an emoji straddling the 4096 limit.
    const text = `${'a'.repeat(4095)}😀${'b'.repeat(10)}`;
    const ctx = context();

    // Act
    const result = await sender.send(
      sendRequest({ type: 'text', text, quickReplies: shipping }, { replyTo: { externalMessageId: `${CHAT}:1209` } }),
      ctx,
    );

    // Assess
    const texts = fake.calls.map((call) => call.body['text'] as string);
    expect(texts).toEqual(['a'.repeat(4095), `😀${'b'.repeat(10)}`]);
    expect(fake.calls[0]?.body).toHaveProperty('reply_parameters');
    expect(fake.calls[0]?.body).not.toHaveProperty('reply_markup');
    expect(fake.calls[1]?.body).not.toHaveProperty('reply_parameters');
    expect(fake.calls[1]?.body).toHaveProperty('reply_markup');
    expect(result.externalIds).toEqual(['5550101234:5000', '5550101234:5001']);
    expect(ctx.onPartSent.mock.calls).toEqual([
      ['5550101234:5000', true],
      ['5550101234:5001', false],
    ]);
  });

  it('resumes after the parts an earlier attempt already sent', async () => {
    // Prepare: three parts; the first went out before a failure.
    const text = ['first', 'second', 'third'].map((word) => word.padEnd(3000, '.')).join('\n');
    const request = sendRequest({ type: 'text', text });
    const plan = planTelegramCalls(request).map((call) => call.params['text']);
    expect(plan).toHaveLength(3);

    // Act
    const result = await sender.send({ ...request, sentParts: ['5550101234:900'] }, context());

    // Assess
    expect(fake.calls.map((call) => call.body['text'])).toEqual(plan.slice(1));
    expect(result.externalIds).toEqual(['5550101234:900', '5550101234:5000', '5550101234:5001']);
  });

  it('keeps the parts that went out when a later part is refused, and finishes on the retry', async () => {
    // Prepare
    const text = ['one', 'two', 'three'].map((word) => word.padEnd(3000, '.')).join('\n');
    const request = sendRequest({ type: 'text', text });
    fake.answerNext({ status: 200, body: { ok: true, result: { message_id: 71, date: 1, chat: { id: 5550101234, type: 'private' } } } });
    fake.answerNext({
      status: 429,
      body: { ok: false, error_code: 429, description: 'Too Many Requests: retry after 3', parameters: { retry_after: 3 } },
    });
    const firstAttempt = context();

    // Act
    const failure = await failureOf(sender.send(request, firstAttempt));
    const sent = firstAttempt.onPartSent.mock.calls.map(([id]) => id as string);
    const retry = await sender.send({ ...request, sentParts: sent }, context());

    // Assess
    expect(failure).toBeInstanceOf(RateLimitedError);
    expect(sent).toEqual(['5550101234:71']);
    expect(retry.externalIds).toEqual(['5550101234:71', '5550101234:5000', '5550101234:5001']);
    expect(fake.calls.map((call) => (call.body['text'] as string).slice(0, 5))).toEqual(['one..', 'two..', 'two..', 'three']);
  });

  it('lists quick replies in the text when a payload exceeds 64 bytes', async () => {
    // 22 Hangul syllables: 22 characters but 66 UTF-8 bytes.
    const replies: QuickReply[] = [
      { text: 'Yes', payload: 'ok' },
      { text: 'Long', payload: '확'.repeat(22) },
    ];
    await sender.send(sendRequest({ type: 'text', text: 'Confirm?', quickReplies: replies }), context());
    expect(fake.calls[0]?.body).toEqual({ chat_id: 5550101234, text: quickRepliesAsText('Confirm?', replies) });
  });

  it('lists quick replies in the text when there are more than a keyboard holds', async () => {
    const replies = Array.from({ length: 101 }, (_, i) => ({ text: `Option ${i + 1}`, payload: `opt:${i + 1}` }));
    await sender.send(sendRequest({ type: 'text', text: 'Pick one', quickReplies: replies }), context());
    expect(fake.calls[0]?.body).not.toHaveProperty('reply_markup');
    expect(fake.calls[0]?.body['text']).toBe(quickRepliesAsText('Pick one', replies));
  });

  it('keeps a 64-byte payload as a button and shortens an overlong label', async () => {
    const label = `${'L'.repeat(62)}😀tail`;
    await sender.send(sendRequest({ type: 'text', text: 'Go', quickReplies: [{ text: label, payload: 'p'.repeat(64) }] }), context());
    const button = (fake.calls[0]?.body['reply_markup'] as { inline_keyboard: { text: string }[][] }).inline_keyboard[0]?.[0];
    expect(button).toEqual({ text: `${'L'.repeat(62)}…`, callback_data: 'p'.repeat(64) });
  });
});

describe('telegram sender: buttons and lists', () => {
  const track = { type: 'url', text: 'Track parcel', url: 'https://acme.example/t/A-1029' } as const;
  const buttons: Button[] = [
    { type: 'postback', text: 'Reschedule', payload: 'resched:A-1029' },
    { type: 'postback', text: 'Leave at the door', payload: 'door:A-1029' },
    track,
  ];

  it('sends buttons as an inline keyboard, one per row: callback_data for postbacks, url for links', async () => {
    const result = await sender.send(sendRequest({ type: 'text', text: 'Your parcel arrives tomorrow.', buttons }), context());
    expect(fake.calls.map((call) => [call.method, call.body])).toEqual([
      [
        'sendMessage',
        {
          chat_id: 5550101234,
          text: 'Your parcel arrives tomorrow.',
          reply_markup: {
            inline_keyboard: [
              [{ text: 'Reschedule', callback_data: 'resched:A-1029' }],
              [{ text: 'Leave at the door', callback_data: 'door:A-1029' }],
              [{ text: 'Track parcel', url: 'https://acme.example/t/A-1029' }],
            ],
          },
        },
      ],
    ]);
    expect(result.externalIds).toEqual(['5550101234:5000']);
  });

  it('keeps all ten buttons Parley allows, on the last part of a long text', async () => {
    const ten: Button[] = Array.from({ length: 10 }, (_, i) => ({ type: 'postback', text: `Slot ${i + 1}`, payload: `slot:${i + 1}` }));
    await sender.send(sendRequest({ type: 'text', text: `${'a'.repeat(4096)} Pick one`, buttons: ten }), context());
    expect(fake.calls).toHaveLength(2);
    expect(fake.calls[0]?.body).not.toHaveProperty('reply_markup');
    expect((fake.calls[1]?.body['reply_markup'] as { inline_keyboard: unknown[] }).inline_keyboard).toHaveLength(10);
  });

  it('writes links out and numbers the postbacks when a payload is over 64 bytes, as for quick replies', async () => {
    const long: Button[] = [{ type: 'postback', text: 'Yes', payload: '가'.repeat(22) }, track];
    await sender.send(sendRequest({ type: 'text', text: 'Sure?', buttons: long }), context());
    expect(fake.calls[0]?.body).toEqual({ chat_id: 5550101234, text: 'Sure?\n\nTrack parcel: https://acme.example/t/A-1029\n\n1. Yes' });
  });

  it('degrades a label over 64 characters: postbacks to a keyboard of quick replies, links written out', async () => {
    const label = 'Please leave the parcel with my neighbour at number 12, she is home';
    await sender.send(
      sendRequest({ type: 'text', text: 'Sure?', buttons: [{ type: 'postback', text: label, payload: 'neighbour' }, track] }),
      context(),
    );
    expect(fake.calls[0]?.body).toEqual({
      chat_id: 5550101234,
      text: 'Sure?\n\nTrack parcel: https://acme.example/t/A-1029',
      reply_markup: { inline_keyboard: [[{ text: `${label.slice(0, 63)}…`, callback_data: 'neighbour' }]] },
    });
  });

  it('sends a list as an inline keyboard, one row per item, under the list text', async () => {
    const list: OutboundContent = {
      type: 'list',
      text: 'Which branch?',
      buttonText: 'Branches',
      sections: [
        { items: [{ title: 'Gangnam', payload: 'branch:gangnam' }] },
        { items: [{ title: 'Hongdae', payload: 'branch:hongdae' }] },
      ],
    };
    await sender.send(sendRequest(list), context());
    expect(fake.calls[0]?.body).toEqual({
      chat_id: 5550101234,
      text: 'Which branch?',
      reply_markup: {
        inline_keyboard: [[{ text: 'Gangnam', callback_data: 'branch:gangnam' }], [{ text: 'Hongdae', callback_data: 'branch:hongdae' }]],
      },
    });
  });

  it('puts section titles and descriptions, which buttons cannot show, into the text above the keyboard', async () => {
    const list: OutboundContent = {
      type: 'list',
      text: 'Choose a delivery slot',
      sections: [
        {
          title: 'Morning',
          items: [
            { title: '8–10', description: 'The driver calls ahead', payload: 's1' },
            { title: '10–12', payload: 's2' },
          ],
        },
        { title: 'Afternoon', items: [{ title: '14–16', payload: 's3' }] },
      ],
    };
    await sender.send(sendRequest(list, { replyTo: { externalMessageId: `${CHAT}:1209` } }), context());
    expect(fake.calls[0]?.body).toEqual({
      chat_id: 5550101234,
      text: 'Choose a delivery slot\n\nMorning\n1. 8–10 – The driver calls ahead\n2. 10–12\n\nAfternoon\n3. 14–16',
      reply_parameters: { message_id: 1209, allow_sending_without_reply: true },
      reply_markup: {
        inline_keyboard: [
          [{ text: '8–10', callback_data: 's1' }],
          [{ text: '10–12', callback_data: 's2' }],
          [{ text: '14–16', callback_data: 's3' }],
        ],
      },
    });
  });

  it('sends a list as a numbered text when a payload is over 64 bytes', async () => {
    const list: OutboundContent = {
      type: 'list',
      text: 'Pick one',
      sections: [
        {
          items: [
            { title: 'A', payload: 'a' },
            { title: 'B', payload: 'b'.repeat(65) },
          ],
        },
      ],
    };
    await sender.send(sendRequest(list), context());
    expect(fake.calls[0]?.body).toEqual({ chat_id: 5550101234, text: 'Pick one\n\n1. A\n2. B' });
  });

  it('refuses a provider template, which Telegram does not have, before calling it', async () => {
    await expect(sender.send(sendRequest({ type: 'template', name: 'shipping_update', language: 'en' }), context())).rejects.toBeInstanceOf(
      InvalidRequestError,
    );
    expect(fake.calls).toHaveLength(0);
  });
});

describe('telegram sender: what a tap sends back', () => {
  const CALLBACK = JSON.parse(
    readFileSync(new URL('../../fixtures/telegram/callback-query.json', import.meta.url), 'utf8'),
  ) as TelegramUpdate;

  it.each<[string, OutboundContent]>([
    [
      'a button',
      {
        type: 'text',
        text: 'Pick one',
        buttons: [
          { type: 'postback', text: 'Express 🚀', payload: 'ship:exp:A-1029' },
          { type: 'url', text: 'Track', url: 'https://acme.example/t' },
        ],
      },
    ],
    [
      'a list item',
      {
        type: 'list',
        text: 'Pick one',
        sections: [{ title: 'Seoul', items: [{ title: 'Gangnam', description: 'Open late', payload: '{"branch":1}' }] }],
      },
    ],
  ])('%s comes back as reply content with its label and payload', (_name, content) => {
    const [call] = planTelegramCalls(sendRequest(content));
    const keyboard = call?.params['reply_markup'] as { inline_keyboard: { text: string; callback_data?: string }[][] };
    const taps = keyboard.inline_keyboard.flat().filter((button) => button.callback_data !== undefined);
    expect(taps).not.toHaveLength(0);
    for (const button of taps) {
      // The update Telegram sends: the message as sent, with its keyboard, and the tapped button's data.
      const update = {
        ...CALLBACK,
        callback_query: {
          ...CALLBACK.callback_query!,
          message: { ...CALLBACK.callback_query!.message!, text: String(call?.params['text']), reply_markup: keyboard },
          data: button.callback_data,
        },
      };
      const parsed = telegramConnector.parse(Buffer.from(JSON.stringify(update)));
      if (parsed.kind !== 'ok') throw new Error(parsed.reason);
      const [event] = telegramConnector.normalize(parsed.payload, {
        accountId: '7712345678',
        receivedAt: '2026-03-14T01:00:00.000Z',
      }).events;
      expect(event).toMatchObject({
        type: 'message.received',
        content: { type: 'reply', text: button.text, payload: button.callback_data },
      });
    }
  });
});

describe('telegram sender: media and location', () => {
  it.each([
    ['image', 'sendPhoto', 'photo'],
    ['file', 'sendDocument', 'document'],
    ['audio', 'sendAudio', 'audio'],
    ['video', 'sendVideo', 'video'],
  ] as const)('sends %s with %s by file_id, with its caption', async (type, method, field) => {
    await sender.send(sendRequest({ type, media: { id: 'AgACfake-file' }, caption: 'Your receipt' }), context());
    expect(fake.calls).toEqual([
      expect.objectContaining({ method, body: { chat_id: 5550101234, [field]: 'AgACfake-file', caption: 'Your receipt' } }),
    ]);
  });

  it('sends media by URL when it has no Telegram file id', async () => {
    await sender.send(sendRequest({ type: 'image', media: { url: 'https://cdn.acme.example/box.jpg' } }), context());
    expect(fake.calls[0]).toMatchObject({ method: 'sendPhoto', body: { chat_id: 5550101234, photo: 'https://cdn.acme.example/box.jpg' } });
  });

  it('sends a caption too long for a photo as text after it', async () => {
    const caption = 'c'.repeat(1025);
    const result = await sender.send(sendRequest({ type: 'image', media: { id: 'AgACfake' }, caption }), context());
    expect(fake.calls.map((call) => [call.method, call.body])).toEqual([
      ['sendPhoto', { chat_id: 5550101234, photo: 'AgACfake' }],
      ['sendMessage', { chat_id: 5550101234, text: caption }],
    ]);
    expect(result.externalIds).toHaveLength(2);
  });

  it('sends a sticker', async () => {
    await sender.send(sendRequest({ type: 'sticker', media: { id: 'CAACfake' } }), context());
    expect(fake.calls[0]).toMatchObject({ method: 'sendSticker', body: { chat_id: 5550101234, sticker: 'CAACfake' } });
  });

  it('sends a bare point as a location and a named, addressed place as a venue', async () => {
    await sender.send(sendRequest({ type: 'location', latitude: 37.497942, longitude: 127.027621 }), context());
    await sender.send(
      sendRequest({ type: 'location', latitude: 37.497942, longitude: 127.027621, name: 'ACME Gangnam', address: '396 Gangnam-daero' }),
      context(),
    );
    expect(fake.calls.map((call) => [call.method, call.body])).toEqual([
      ['sendLocation', { chat_id: 5550101234, latitude: 37.497942, longitude: 127.027621 }],
      [
        'sendVenue',
        { chat_id: 5550101234, latitude: 37.497942, longitude: 127.027621, title: 'ACME Gangnam', address: '396 Gangnam-daero' },
      ],
    ]);
  });
});

describe('telegram sender: errors', () => {
  const text = sendRequest({ type: 'text', text: 'Hello' });

  it('turns 429 into a rate limit with the wait Telegram asked for', async () => {
    fake.answerNext({
      status: 429,
      body: { ok: false, error_code: 429, description: 'Too Many Requests: retry after 35', parameters: { retry_after: 35 } },
    });
    const error = await failureOf(sender.send(text, context()));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ retryAfterSeconds: 35, code: '429', message: 'Too Many Requests: retry after 35' });
  });

  it('turns 403 into a permanent failure: the customer is unreachable', async () => {
    fake.answerNext({ status: 403, body: { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' } });
    const error = await failureOf(sender.send(text, context()));
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect(error).toMatchObject({ recipientUnreachable: true, code: '403', message: 'Forbidden: bot was blocked by the user' });
  });

  it('turns 400 chat not found into an unreachable recipient, and other 400s into invalid requests', async () => {
    fake.answerNext({ status: 400, body: { ok: false, error_code: 400, description: 'Bad Request: chat not found' } });
    fake.answerNext({ status: 400, body: { ok: false, error_code: 400, description: "Bad Request: can't parse entities" } });
    const notFound = await failureOf(sender.send(text, context()));
    const invalid = await failureOf(sender.send(text, context()));
    expect(notFound).toBeInstanceOf(PermanentProviderError);
    expect(notFound).toMatchObject({ recipientUnreachable: true, code: '400' });
    expect(invalid).toBeInstanceOf(InvalidRequestError);
    expect(invalid).toMatchObject({ code: '400', message: "Bad Request: can't parse entities" });
  });

  it('turns a group upgraded to a supergroup into a permanent failure naming the new chat', async () => {
    fake.answerNext({
      status: 400,
      body: {
        ok: false,
        error_code: 400,
        description: 'Bad Request: group chat was upgraded to a supergroup chat',
        parameters: { migrate_to_chat_id: -1001987654321 },
      },
    });
    const error = await failureOf(sender.send(text, context()));
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect(error.message).toContain('-1001987654321');
  });

  it('turns 401 and 404 into authentication errors', async () => {
    fake.answerNext({ status: 401, body: { ok: false, error_code: 401, description: 'Unauthorized' } });
    fake.answerNext({ status: 404, body: { ok: false, error_code: 404, description: 'Not Found' } });
    expect(await failureOf(sender.send(text, context()))).toBeInstanceOf(AuthenticationError);
    expect(await failureOf(sender.send(text, context()))).toBeInstanceOf(AuthenticationError);
  });

  it('turns 5xx, even an HTML page from a proxy, into a retryable failure', async () => {
    fake.answerNext({ status: 500, body: { ok: false, error_code: 500, description: 'Internal Server Error' } });
    fake.answerNext({ status: 502, body: '<html><body>Bad Gateway</body></html>' });
    const first = await failureOf(sender.send(text, context()));
    const second = await failureOf(sender.send(text, context()));
    expect(first).toBeInstanceOf(RetryableProviderError);
    expect(first).toMatchObject({ code: '500' });
    expect(second).toBeInstanceOf(RetryableProviderError);
    expect(second).toMatchObject({ code: '502' });
  });

  it('turns a connection failure and a timeout into retryable failures that never show the token', async () => {
    // Prepare: a port nothing listens on, and a server that never answers.
    const closed = await startFakeTelegram();
    const closedUrl = closed.baseUrl;
    await closed.close();
    fake.answerNext({ status: 200, body: null, hang: true });

    // Act
    const refused = await failureOf(sender.send(text, context({ apiBaseUrl: closedUrl })));
    const timedOut = await failureOf(callTelegram('sendMessage', { chat_id: 1, text: 'x' }, context(), 100));

    // Assess
    expect(refused).toBeInstanceOf(RetryableProviderError);
    expect(refused.message).toBe('Telegram sendMessage request failed: ECONNREFUSED');
    expect(timedOut).toBeInstanceOf(RetryableProviderError);
    expect(timedOut.message).toMatch(/timed out/);
    for (const error of [refused, timedOut]) expect(JSON.stringify({ ...error, message: error.message })).not.toContain(TOKEN);
  });

  it('refuses to call without a bot token', async () => {
    const error = await failureOf(sender.send(text, context({ credentials: {} })));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(fake.calls).toHaveLength(0);
  });

  it('accepts an API base URL with a trailing slash', async () => {
    await sender.send(text, context({ apiBaseUrl: `${fake.baseUrl}/` }));
    expect(fake.calls).toHaveLength(1);
  });
});

describe('telegram sender: provider actions', () => {
  it('answers a callback query', async () => {
    await sender.perform('answerCallbackQuery', { callback_query_id: '4122334455667788990' }, context());
    expect(fake.calls).toEqual([
      expect.objectContaining({ method: 'answerCallbackQuery', body: { callback_query_id: '4122334455667788990' } }),
    ]);
  });

  it('refuses unknown actions and a callback answer without an id, calling nothing', async () => {
    await expect(sender.perform('sendTelepathy', {}, context())).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(sender.perform('answerCallbackQuery', {}, context())).rejects.toBeInstanceOf(InvalidRequestError);
    expect(fake.calls).toHaveLength(0);
  });
});
