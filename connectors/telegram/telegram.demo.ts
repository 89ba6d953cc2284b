/**
 * The sample conversation `npm run demo` plays on Telegram: webhook requests as Telegram would send them
 * (documented Update shapes, the secret header), for a customer writing about a late order.
 * @see https://core.telegram.org/bots/api#update
 */
import type { ChannelDemo, DemoRequest } from '../demo-types.ts';
import type { Credentials } from '../../domain/ports.ts';

const customer = { id: 5550101234, is_bot: false, first_name: 'Mina', last_name: 'Park', username: 'mina_p', language_code: 'ko' };
const chat = { id: customer.id, first_name: 'Mina', last_name: 'Park', username: 'mina_p', type: 'private' };

const request = (credentials: Credentials, update: object): DemoRequest => ({
  headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': credentials.webhookSecret ?? '' },
  body: JSON.stringify(update),
});

export const telegramDemo: ChannelDemo = {
  customer: { externalUserId: String(customer.id), name: 'Mina Park' },
  opening: (credentials, run) => {
    const now = Math.floor(Date.now() / 1000);
    const base = 800_000_000 + (run % 100_000) * 10;
    return [
      request(credentials, {
        update_id: base + 1,
        message: { message_id: base + 1, from: customer, chat, date: now, text: 'Hi! My order A-1029 has not arrived yet 📦' },
      }),
      request(credentials, {
        update_id: base + 2,
        message: {
          message_id: base + 2,
          from: customer,
          chat,
          date: now,
          photo: [
            { file_id: 'AgACAgQAAxkBAAIBdemo-s', file_unique_id: 'AQADdemo01s', file_size: 1433, width: 90, height: 67 },
            { file_id: 'AgACAgQAAxkBAAIBdemo-x', file_unique_id: 'AQADdemo01x', file_size: 98421, width: 1280, height: 960 },
          ],
          caption: 'The tracking page has shown this for a week',
        },
      }),
    ];
  },
  customerText: (credentials, text, id) =>
    request(credentials, { update_id: id, message: { message_id: id, from: customer, chat, date: Math.floor(Date.now() / 1000), text } }),
  afterReply: (credentials, run, reply) => {
    const base = 800_000_000 + (run % 100_000) * 10;
    const messageId = Number(reply.externalId?.split(':')[1] ?? 0);
    const tapped = reply.content.type === 'text' ? reply.content.quickReplies?.[0] : undefined;
    if (!tapped) return [];
    return [
      request(credentials, {
        update_id: base + 3,
        callback_query: {
          id: `${base}77`,
          from: customer,
          message: {
            message_id: messageId,
            from: { id: 7712345678, is_bot: true, first_name: 'ACME Support' },
            chat,
            date: Math.floor(Date.now() / 1000),
            text: reply.content.type === 'text' ? reply.content.text : '',
            reply_markup: { inline_keyboard: [[{ text: tapped.text, callback_data: tapped.payload }]] },
          },
          chat_instance: '-3141592653589793238',
          data: tapped.payload,
        },
      }),
    ];
  },
};
