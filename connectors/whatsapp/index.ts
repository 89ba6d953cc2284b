/**
 * The WhatsApp Cloud API connector: Meta's signed webhooks (`entry[] × changes[]`, messages and statuses of
 * every business number of the app on one callback URL) and the Graph API messages endpoint for sending.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/overview
 * @see https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Connector } from '../connector.ts';
import { WHATSAPP_INBOUND } from './whatsapp.inbound.ts';
import { downloadWhatsAppMedia } from './whatsapp.media.ts';
import { createWhatsAppSandbox } from './whatsapp.sandbox.ts';
import type { WhatsAppWebhook } from './whatsapp.schema.ts';
import { whatsappSender } from './whatsapp.sender.ts';

export type { WhatsAppWebhook } from './whatsapp.schema.ts';

/**
 * Credentials: `appSecret` signs inbound bodies and `verifyToken` answers the GET handshake;
 * `accessToken` sends, from the number `phoneNumberId`, which also names the account.
 */
export const whatsappConnector: Connector<WhatsAppWebhook> = {
  ...WHATSAPP_INBOUND,
  // Shaped like the real thing: a 32-hex app secret, an `EAA…` token, a 15-digit phone number id.
  devCredentials: () => ({
    appSecret: randomBytes(16).toString('hex'),
    verifyToken: randomBytes(18).toString('base64url'),
    accessToken: `EAA${randomBytes(60).toString('base64url').replace(/[-_]/g, 'Z')}`,
    phoneNumberId: String(randomInt(100_000_000_000_000, 281_474_976_710_655)),
  }),
  sender: whatsappSender,
  downloadMedia: downloadWhatsAppMedia,
  sandbox: createWhatsAppSandbox(),
};
