/**
 * The sample conversation `npm run demo` plays on Messenger: webhook requests as Messenger sends them
 * (documented `entry[].messaging[]` shapes, `X-Hub-Signature-256` with the app secret), for a customer
 * asking about a late order, then tapping the agent's first quick reply once Messenger delivered and the
 * customer read it.
 * @see https://developers.facebook.com/docs/messenger-platform/reference/webhook-events
 */
import { createHmac } from 'node:crypto';
import type { Credentials } from '../../domain/ports.ts';
import type { ChannelDemo, DemoRequest } from '../demo-types.ts';

const PSID = '7123456789012345';

const request = (credentials: Credentials, messaging: object[]): DemoRequest => {
  const pageId = credentials['pageId'] ?? '';
  const body = JSON.stringify({ object: 'page', entry: [{ id: pageId, time: Date.now(), messaging }] });
  const signature = createHmac('sha256', credentials['appSecret'] ?? '')
    .update(body, 'utf8')
    .digest('hex');
  return { headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${signature}` }, body };
};

const fromCustomer = (credentials: Credentials, timestamp: number, payload: object) => ({
  sender: { id: PSID },
  recipient: { id: credentials['pageId'] ?? '' },
  timestamp,
  ...payload,
});

export const messengerDemo: ChannelDemo = {
  customer: { externalUserId: PSID, name: 'Lucía Fernández' },
  opening: (credentials, run) => {
    const now = Date.now();
    return [
      request(credentials, [
        fromCustomer(credentials, now, { message: { mid: `m_demo_${run}_1`, text: 'Hola! My order A-1029 has not arrived yet 📦' } }),
        fromCustomer(credentials, now + 1, {
          message: {
            mid: `m_demo_${run}_2`,
            attachments: [{ type: 'image', payload: { url: 'https://scontent.xx.fbcdn.net/v/t1.15752-9/demo_tracking_n.jpg' } }],
          },
        }),
      ]),
    ];
  },
  customerText: (credentials, text, id) =>
    request(credentials, [fromCustomer(credentials, Date.now(), { message: { mid: `m_cli_${id}`, text } })]),
  afterReply: (credentials, run, reply) => {
    const now = Date.now();
    const mid = reply.externalId;
    const tapped = reply.content.type === 'text' ? reply.content.quickReplies?.[0] : undefined;
    const requests: DemoRequest[] = [];
    if (mid) {
      requests.push(
        request(credentials, [
          { sender: { id: PSID }, recipient: { id: credentials['pageId'] ?? '' }, delivery: { mids: [mid], watermark: now } },
          fromCustomer(credentials, now + 1, { read: { watermark: now } }),
        ]),
      );
    }
    if (tapped) {
      requests.push(
        request(credentials, [
          fromCustomer(credentials, now + 2, {
            message: { mid: `m_demo_${run}_3`, text: tapped.text, quick_reply: { payload: tapped.payload } },
          }),
        ]),
      );
    }
    return requests;
  },
};
