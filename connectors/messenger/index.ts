/**
 * The Facebook Messenger Platform connector: Meta's GET handshake, `X-Hub-Signature-256` with the app
 * secret, `entry[] × messaging[]|standby[]` notifications, and the Send API on graph.facebook.com.
 * @see https://developers.facebook.com/docs/messenger-platform/webhooks
 * @see https://developers.facebook.com/docs/messenger-platform/reference/send-api
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Connector } from '../connector.ts';
import { MESSENGER_INBOUND } from './messenger.inbound.ts';
import { downloadMessengerMedia } from './messenger.media.ts';
import { createMetaMessagingSandbox } from '../meta/meta.messaging.sandbox.ts';
import type { MessengerWebhook } from './messenger.schema.ts';
import { messengerSender } from './messenger.sender.ts';

export type { MessengerWebhook } from './messenger.schema.ts';

/**
 * Credentials: `appSecret` (the Meta app's secret) signs inbound requests and `verifyToken` answers the
 * handshake; `pageAccessToken` sends for the Page `pageId`, which names the account.
 */
export const messengerConnector: Connector<MessengerWebhook> = {
  ...MESSENGER_INBOUND,
  // Shaped like the real thing: a 32-hex app secret, an `EAA…` Page token, a 15-digit Page id.
  devCredentials: () => ({
    appSecret: randomBytes(16).toString('hex'),
    verifyToken: randomBytes(18).toString('base64url'),
    pageAccessToken: `EAA${randomBytes(96).toString('base64url').replace(/[-_]/g, '').slice(0, 120)}`,
    pageId: `${randomInt(100_000, 999_999)}${randomInt(100_000_000, 999_999_999)}`,
  }),
  sender: messengerSender,
  downloadMedia: downloadMessengerMedia,
  sandbox: createMetaMessagingSandbox('Messenger', 'm_sandbox_'),
};
