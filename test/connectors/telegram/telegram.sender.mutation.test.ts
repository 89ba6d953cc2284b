/**
 * connectors/telegram/telegram.sender.ts at its edges: which chat ids and quoted message ids become numbers
 * and `reply_parameters`, the bodies at each limit (a one-byte payload, a caption of exactly 1024), where
 * a quote goes on media and locations, and the failures the integrator reads.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { OutboundContent } from '../../../domain/content.ts';
import type { SendContext, SendRequest } from '../../../connectors/connector.ts';
import { telegramConnector } from '../../../connectors/telegram/index.ts';
import { planTelegramCalls } from '../../../connectors/telegram/telegram.sender.ts';
import { startFakeTelegram, type FakeTelegram } from '../../helpers/fake-telegram.ts';
import { failureOf } from '../../helpers/provider-failure.ts';

const CHAT = '5550101234';
const sender = telegramConnector.sender;

const request = (content: OutboundContent, chat = CHAT, replyTo?: string): SendRequest => ({
  content,
  recipient: { accountId: '7712345678', conversation: { externalId: chat, kind: 'direct' } },
  sentParts: [],
  ...(replyTo !== undefined && { replyTo: { externalMessageId: replyTo } }),
});
const hi: OutboundContent = { type: 'text', text: 'Hi' };
const plan = (content: OutboundContent, chat = CHAT, replyTo?: string) => planTelegramCalls(request(content, chat, replyTo));
const invalid = (content: OutboundContent, message: string) =>
  expect(() => plan(content)).toThrow(expect.objectContaining({ kind: 'invalid_request', message }));

describe('telegram plan: chat ids and quotes', () => {
  it('sends numeric chat ids as numbers, and a @username or anything else as the string it is', () => {
    const chatIds = ['5550101234', '-1001234567890', '@acme_support', 'a123', '123a', '99999999999999999999'].map(
      (chat) => plan(hi, chat)[0]?.params['chat_id'],
    );
    expect(chatIds).toEqual([5550101234, -1001234567890, '@acme_support', 'a123', '123a', '99999999999999999999']);
  });

  it('quotes a message of another chat with its chat id, and one of the same chat without', () => {
    expect(plan(hi, CHAT, '-1001234567890:55')).toEqual([
      {
        method: 'sendMessage',
        params: {
          chat_id: 5550101234,
          text: 'Hi',
          reply_parameters: { message_id: 55, chat_id: -1001234567890, allow_sending_without_reply: true },
        },
      },
    ]);
    expect(plan(hi, CHAT, `${CHAT}:55`)[0]?.params['reply_parameters']).toEqual({ message_id: 55, allow_sending_without_reply: true });
  });

  it('quotes nothing for an id that is no Telegram message id', () => {
    for (const replyTo of [
      'callback:4122334455',
      ':55',
      `x${CHAT}:55`,
      `${CHAT}x:55`,
      `${CHAT}:55x`,
      `${CHAT}:x55`,
      `${CHAT}:0`,
      `${CHAT}:9007199254740993`,
    ]) {
      expect(plan(hi, CHAT, replyTo), replyTo).toEqual([{ method: 'sendMessage', params: { chat_id: 5550101234, text: 'Hi' } }]);
    }
  });

  it('quotes on a photo and on a location, and sends a name without address as a plain location', () => {
    const quote = { message_id: 55, allow_sending_without_reply: true };
    expect(plan({ type: 'image', media: { id: 'AgACAgIAAxkBAAIB' } }, CHAT, `${CHAT}:55`)).toEqual([
      { method: 'sendPhoto', params: { chat_id: 5550101234, photo: 'AgACAgIAAxkBAAIB', reply_parameters: quote } },
    ]);
    expect(plan({ type: 'image', media: { id: 'AgACAgIAAxkBAAIB' } })).toEqual([
      { method: 'sendPhoto', params: { chat_id: 5550101234, photo: 'AgACAgIAAxkBAAIB' } },
    ]);
    expect(plan({ type: 'location', latitude: 37.5, longitude: 127.0, name: 'ACME Gangnam' }, CHAT, `${CHAT}:55`)).toEqual([
      { method: 'sendLocation', params: { chat_id: 5550101234, latitude: 37.5, longitude: 127.0, reply_parameters: quote } },
    ]);
    expect(plan({ type: 'location', latitude: 37.5, longitude: 127.0, address: '396 Gangnam-daero' })).toEqual([
      { method: 'sendLocation', params: { chat_id: 5550101234, latitude: 37.5, longitude: 127.0 } },
    ]);
  });
});

describe('telegram plan: limits', () => {
  it('puts a one-byte payload on a button, and no keyboard for an empty list of quick replies', () => {
    expect(plan({ type: 'text', text: 'OK?', quickReplies: [{ text: 'Yes', payload: 'y' }] })[0]?.params['reply_markup']).toEqual({
      inline_keyboard: [[{ text: 'Yes', callback_data: 'y' }]],
    });
    expect(plan({ type: 'text', text: 'OK?', quickReplies: [] })).toEqual([
      { method: 'sendMessage', params: { chat_id: 5550101234, text: 'OK?' } },
    ]);
  });

  it('takes 100 quick replies as a keyboard of 100 rows', () => {
    const quickReplies = Array.from({ length: 100 }, (_, i) => ({ text: `Slot ${i}`, payload: `s${i}` }));
    const markup = plan({ type: 'text', text: 'Pick', quickReplies })[0]?.params['reply_markup'] as { inline_keyboard: unknown[] };
    expect(markup.inline_keyboard).toHaveLength(100);
  });

  it('keeps a caption of exactly 1024 characters on the photo, and sends a longer one after it', () => {
    const media = { id: 'AgACAgIAAxkBAAIB' };
    expect(plan({ type: 'image', media, caption: 'c'.repeat(1024) })).toEqual([
      { method: 'sendPhoto', params: { chat_id: 5550101234, photo: media.id, caption: 'c'.repeat(1024) } },
    ]);
    expect(plan({ type: 'image', media, caption: 'c'.repeat(1025) })).toEqual([
      { method: 'sendPhoto', params: { chat_id: 5550101234, photo: media.id } },
      { method: 'sendMessage', params: { chat_id: 5550101234, text: 'c'.repeat(1025) } },
    ]);
  });

  it('refuses, saying why, media without id or URL and provider templates', () => {
    invalid({ type: 'file', media: {} as never }, 'media needs an id or a url');
    invalid({ type: 'template', name: 'order_update', language: 'en' }, 'Telegram has no provider-approved templates');
  });
});

describe('telegram sender: failures the integrator reads', () => {
  let fake: FakeTelegram;
  beforeAll(async () => {
    fake = await startFakeTelegram();
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(() => fake.reset());

  const context = () =>
    ({
      credentials: { botToken: '7712345678:AAtest' },
      apiBaseUrl: fake.baseUrl,
      fetch: globalThis.fetch,
      onPartSent: vi.fn(async () => {}),
    }) as SendContext & {
      onPartSent: ReturnType<typeof vi.fn>;
    };

  it('stops, permanently and saying why, when Telegram accepts a message but names no message_id', async () => {
    fake.answerNext({ status: 200, body: { ok: true, result: { date: 1, chat: { id: 5550101234, type: 'private' } } } });
    const ctx = context();
    expect(await failureOf(sender.send(request(hi), ctx))).toMatchObject({
      kind: 'permanent',
      message: 'Telegram accepted sendMessage but returned no message_id',
    });
    expect(ctx.onPartSent).not.toHaveBeenCalled();
  });

  it('refuses to answer a button tap without its id, and actions it does not have, without calling', async () => {
    for (const params of [{}, { callback_query_id: '' }, { callback_query_id: 4122334455 }]) {
      await expect(sender.perform('answerCallbackQuery', params, context())).rejects.toMatchObject({
        kind: 'invalid_request',
        message: 'answerCallbackQuery needs a callback_query_id',
      });
    }
    await expect(sender.perform('sendChatAction', {}, context())).rejects.toMatchObject({
      message: 'Telegram has no action sendChatAction',
    });
    expect(fake.calls).toEqual([]);
  });
});
