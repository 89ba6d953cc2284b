/**
 * The sample conversation `npm run demo` plays on WhatsApp: webhook requests as Meta sends them (documented
 * `messages` notifications, non-ASCII escaped as `\u00e9`, signed with the app secret), for a customer
 * writing about a late order, then the statuses of the agent's reply and a tap on one of its buttons.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages
 */
import { createHmac } from 'node:crypto';
import type { Credentials } from '../../domain/ports.ts';
import type { ChannelDemo, DemoRequest } from '../demo-types.ts';

const CUSTOMER = { waId: '5511955501234', name: 'Ana Souza' };

/** JSON the way Meta writes it: every character outside ASCII escaped, so the signature covers the escapes. */
const metaJson = (value: unknown): string =>
  JSON.stringify(value).replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);

const request = (credentials: Credentials, value: Record<string, unknown>): DemoRequest => {
  const body = metaJson({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: credentials['phoneNumberId'] ?? '' },
              ...value,
            },
          },
        ],
      },
    ],
  });
  const signature = createHmac('sha256', credentials['appSecret'] ?? '')
    .update(body, 'utf8')
    .digest('hex');
  return { headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${signature}` }, body };
};

const contacts = [{ profile: { name: CUSTOMER.name }, wa_id: CUSTOMER.waId }];
const seconds = () => String(Math.floor(Date.now() / 1000));

export const whatsappDemo: ChannelDemo = {
  customer: { externalUserId: CUSTOMER.waId, name: CUSTOMER.name },
  opening: (credentials, run) => [
    request(credentials, {
      contacts,
      messages: [
        {
          from: CUSTOMER.waId,
          id: `wamid.DEMO${run}A`,
          timestamp: seconds(),
          type: 'text',
          text: { body: 'Olá! Meu pedido A-1029 ainda não chegou 📦' },
        },
        {
          from: CUSTOMER.waId,
          id: `wamid.DEMO${run}B`,
          timestamp: seconds(),
          type: 'image',
          image: {
            caption: 'A página de rastreio está assim há uma semana',
            mime_type: 'image/jpeg',
            sha256: 'SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=',
            id: `10033834213${run % 100_000}`,
          },
        },
      ],
    }),
  ],
  customerText: (credentials, text, id) =>
    request(credentials, {
      contacts,
      messages: [{ from: CUSTOMER.waId, id: `wamid.CLI${id}`, timestamp: seconds(), type: 'text', text: { body: text } }],
    }),
  afterReply: (credentials, run, reply) => {
    const wamid = reply.externalId;
    if (wamid === undefined) return [];
    const statuses = ['sent', 'delivered', 'read'].map((status) => ({
      id: wamid,
      status,
      timestamp: seconds(),
      recipient_id: CUSTOMER.waId,
    }));
    const tapped = reply.content.type === 'text' ? reply.content.quickReplies?.[0] : undefined;
    const requests = [request(credentials, { statuses })];
    if (tapped) {
      requests.push(
        request(credentials, {
          contacts,
          messages: [
            {
              context: { from: '15550783881', id: wamid },
              from: CUSTOMER.waId,
              id: `wamid.DEMO${run}C`,
              timestamp: seconds(),
              type: 'interactive',
              interactive: { type: 'button_reply', button_reply: { id: tapped.payload, title: tapped.text } },
            },
          ],
        }),
      );
    }
    return requests;
  },
};
