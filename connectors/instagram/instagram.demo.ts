/**
 * The sample conversation `npm run demo` plays on Instagram: webhook requests as Instagram sends them
 * (object `instagram`, `X-Hub-Signature-256` with the Instagram app secret), for a customer replying to a
 * story, then seeing the agent's answer and tapping its first quick reply.
 * @see https://developers.facebook.com/docs/instagram-platform/webhooks/examples
 */
import { createHmac } from 'node:crypto';
import type { Credentials } from '../../domain/ports.ts';
import type { ChannelDemo, DemoRequest } from '../demo-types.ts';

const IGSID = '1234567890123456';

const request = (credentials: Credentials, messaging: object[]): DemoRequest => {
  const body = JSON.stringify({ object: 'instagram', entry: [{ time: Date.now(), id: credentials['accountId'] ?? '', messaging }] });
  const signature = createHmac('sha256', credentials['appSecret'] ?? '')
    .update(body, 'utf8')
    .digest('hex');
  return { headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${signature}` }, body };
};

const fromCustomer = (credentials: Credentials, timestamp: number, payload: object) => ({
  sender: { id: IGSID },
  recipient: { id: credentials['accountId'] ?? '' },
  timestamp,
  ...payload,
});

export const instagramDemo: ChannelDemo = {
  customer: { externalUserId: IGSID, name: 'Yuna Kim' },
  opening: (credentials, run) => {
    const now = Date.now();
    return [
      request(credentials, [
        fromCustomer(credentials, now, {
          message: {
            mid: `aWdfZAG1faXRlbTpkZW1vXzE_${run}`,
            text: 'Is this jacket still available in size S?',
            reply_to: {
              story: {
                id: '18088888888888888',
                url: 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=18088888888888888&signature=demo',
              },
            },
          },
        }),
      ]),
    ];
  },
  customerText: (credentials, text, id) =>
    request(credentials, [fromCustomer(credentials, Date.now(), { message: { mid: `aWdfZAG1faXRlbTpjbGk_${id}`, text } })]),
  afterReply: (credentials, run, reply) => {
    const now = Date.now();
    const tapped = reply.content.type === 'text' ? reply.content.quickReplies?.[0] : undefined;
    const messaging: object[] = [];
    if (reply.externalId) messaging.push(fromCustomer(credentials, now, { read: { mid: reply.externalId } }));
    if (tapped) {
      messaging.push(
        fromCustomer(credentials, now + 1, {
          message: { mid: `aWdfZAG1faXRlbTpkZW1vXzI_${run}`, text: tapped.text, quick_reply: { payload: tapped.payload } },
        }),
      );
    }
    return messaging.length > 0 ? [request(credentials, messaging)] : [];
  },
};
