import { describe, expect, it } from 'vitest';
import { assertTelegramRequest, telegramRequestViolations } from '../../helpers/telegram-spec.ts';

const keyboard = { inline_keyboard: [[{ text: 'Express', callback_data: 'ship:exp:A-1029' }]] };

describe('telegram spec check (test helper)', () => {
  it('accepts bodies the Bot API documents', () => {
    expect(telegramRequestViolations('sendMessage', { chat_id: 5550101234, text: 'hi', reply_markup: keyboard })).toEqual([]);
    expect(
      telegramRequestViolations('sendMessage', { chat_id: '@acme_announce', text: 'hi', reply_parameters: { message_id: 3 } }),
    ).toEqual([]);
    expect(telegramRequestViolations('sendLocation', { chat_id: -1001, latitude: 37, longitude: 127.5 })).toEqual([]);
    expect(telegramRequestViolations('answerCallbackQuery', { callback_query_id: '4122334455667788990' })).toEqual([]);
    expect(() => assertTelegramRequest('sendPhoto', { chat_id: 1, photo: 'AgACfake', caption: 'x' })).not.toThrow();
  });

  it.each([
    ['an unknown method', 'sendTelepathy', { chat_id: 1 }, 'the Bot API has no method sendTelepathy'],
    [
      'an unknown parameter',
      'sendMessage',
      { chat_id: 1, text: 'hi', reply_to: 3 },
      'sendMessage.reply_to: sendMessage has no field reply_to',
    ],
    ['a missing required parameter', 'sendMessage', { chat_id: 1 }, 'sendMessage.text: required by sendMessage, missing'],
    ['a wrong scalar type', 'sendMessage', { chat_id: true, text: 'hi' }, 'sendMessage.chat_id: matches none of Integer | String'],
    ['a non-integer Integer', 'sendMessage', { chat_id: 1.5, text: 'hi' }, 'expected Integer, got number 1.5'],
    ['a number where a String is declared', 'sendMessage', { chat_id: 1, text: 42 }, 'sendMessage.text: expected String, got number 42'],
    ['a string Float', 'sendLocation', { chat_id: 1, latitude: '37.5', longitude: 127 }, 'sendLocation.latitude: expected Float'],
    [
      'a flat keyboard',
      'sendMessage',
      { chat_id: 1, text: 'hi', reply_markup: { inline_keyboard: [{ text: 'a', callback_data: 'b' }] } },
      'inline_keyboard[0]: expected Array of InlineKeyboardButton',
    ],
    [
      'an unknown nested field',
      'sendMessage',
      { chat_id: 1, text: 'hi', reply_markup: { inline_keyboard: [[{ text: 'a', payload: 'b' }]] } },
      'InlineKeyboardButton has no field payload',
    ],
    [
      'a missing nested required field',
      'sendMessage',
      { chat_id: 1, text: 'hi', reply_markup: { inline_keyboard: [[{ callback_data: 'b' }]] } },
      'text: required by InlineKeyboardButton, missing',
    ],
    [
      'a wrong nested type',
      'sendMessage',
      { chat_id: 1, text: 'hi', reply_parameters: { message_id: '1207' } },
      'sendMessage.reply_parameters.message_id: expected Integer, got string "1207"',
    ],
    [
      'an object where a String is declared',
      'sendPhoto',
      { chat_id: 1, photo: { url: 'https://x' } },
      'InputFile cannot be sent in a JSON body',
    ],
  ])('rejects %s', (_name, method, body, violation) => {
    const violations = telegramRequestViolations(method, body);
    expect(violations.join('\n')).toContain(violation);
    expect(() => assertTelegramRequest(method, body)).toThrow(/invalid/);
  });
});
