/**
 * The sample conversation `npm run demo` plays on LINE: signed webhook requests as LINE would send them
 * (documented CallbackRequest shapes, `x-line-signature`), for a customer writing about a late order.
 * @see https://developers.line.biz/en/reference/messaging-api/#webhook-event-objects
 */
import { createHash } from 'node:crypto';
import type { ChannelDemo, DemoRequest } from '../demo-types.ts';
import type { Credentials } from '../../domain/ports.ts';
import { LINE_SANDBOX_BOT_USER_ID } from './line.sandbox.ts';
import { lineSignature } from './line.verify.ts';

/**
 * The demo bot's user id, the `destination` of every request: the sandbox's bot, which the local runtime
 * learns as its default account's id (a body naming another bot would yield no event).
 */
const DESTINATION = LINE_SANDBOX_BOT_USER_ID;
const customer = { userId: 'U1a2b3c4d5e6f708192a3b4c5d6e7f801' };

/** A LINE emoji arrives in received text as a placeholder, here `(box)`. */
const OPENING_TEXT = 'Hi! My order A-1029 has not arrived yet (box)';

const ULID_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** A ULID-shaped webhookEventId, stable per run and step. */
const eventId = (run: number, step: number): string => {
  const digest = createHash('sha256').update(`line-demo:${run}:${step}`).digest();
  return Array.from({ length: 26 }, (_, i) => ULID_ALPHABET[digest.readUInt8(i) % 32]).join('');
};

const request = (credentials: Credentials, events: object[]): DemoRequest => {
  const body = JSON.stringify({ destination: DESTINATION, events });
  return {
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'x-line-signature': lineSignature(Buffer.from(body, 'utf8'), credentials.channelSecret ?? ''),
    },
    body,
  };
};

const common = (run: number, step: number) => ({
  webhookEventId: eventId(run, step),
  deliveryContext: { isRedelivery: false },
  timestamp: Date.now(),
  source: { type: 'user', userId: customer.userId },
  mode: 'active',
  replyToken: createHash('sha256').update(`reply:${run}:${step}`).digest('hex').slice(0, 32),
});

export const lineDemo: ChannelDemo = {
  customer: { externalUserId: customer.userId, name: 'Yui Tanaka' },
  opening: (credentials, run) => {
    const base = 700_000_000_000_000_000n + BigInt(run % 100_000) * 10n;
    return [
      request(credentials, [
        {
          type: 'message',
          ...common(run, 1),
          message: {
            type: 'text',
            id: String(base + 1n),
            quoteToken: 'q-demo-1',
            text: OPENING_TEXT,
            emojis: [{ index: OPENING_TEXT.indexOf('(box)'), length: 5, productId: '5ac1bfd5040ab15980c9b435', emojiId: '002' }],
          },
        },
        {
          type: 'message',
          ...common(run, 2),
          message: { type: 'image', id: String(base + 2n), quoteToken: 'q-demo-2', contentProvider: { type: 'line' } },
        },
      ]),
    ];
  },
  // Step 0 of the id: the demo's own events use steps 1 to 3.
  customerText: (credentials, text, id) =>
    request(credentials, [
      {
        type: 'message',
        ...common(id, 0),
        message: { type: 'text', id: String(600_000_000_000_000_000n + BigInt(id)), quoteToken: `q-cli-${id}`, text },
      },
    ]),
  afterReply: (credentials, run, reply) => {
    const tapped = reply.content.type === 'text' ? reply.content.quickReplies?.[0] : undefined;
    if (!tapped) return [];
    return [request(credentials, [{ type: 'postback', ...common(run, 3), postback: { data: tapped.payload } }])];
  },
};
