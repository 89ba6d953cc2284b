/**
 * The Instagram connector (Instagram API with Instagram Login): Meta's GET handshake,
 * `X-Hub-Signature-256` with the **Instagram app secret** (not the Meta app's), `entry[] × messaging[]`
 * notifications of object `instagram`, and the Send API on graph.instagram.com.
 * @see https://developers.facebook.com/docs/instagram-platform/webhooks
 * @see https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/messaging-api
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Connector } from '../connector.ts';
import { INSTAGRAM_INBOUND } from './instagram.inbound.ts';
import { downloadInstagramMedia } from './instagram.media.ts';
import { createMetaMessagingSandbox } from '../meta/meta.messaging.sandbox.ts';
import type { InstagramWebhook } from './instagram.schema.ts';
import { instagramSender } from './instagram.sender.ts';

export type { InstagramWebhook } from './instagram.schema.ts';

/**
 * Credentials: `appSecret` (the Instagram app secret of the Instagram product settings) signs inbound
 * requests and `verifyToken` answers the handshake; `accessToken` (Instagram user token) sends for the
 * professional account `accountId` (the `user_id` of `GET /me?fields=user_id`, which webhooks carry as
 * `entry.id`), which names the account.
 */
export const instagramConnector: Connector<InstagramWebhook> = {
  ...INSTAGRAM_INBOUND,
  // Shaped like the real thing: a 32-hex app secret, an `IGAA…` user token, a 17-digit account id.
  devCredentials: () => ({
    appSecret: randomBytes(16).toString('hex'),
    verifyToken: randomBytes(18).toString('base64url'),
    accessToken: `IGAA${randomBytes(96).toString('base64url').replace(/[-_]/g, '').slice(0, 120)}`,
    accountId: `1784${randomInt(1_000_000, 9_999_999)}${randomInt(100_000, 999_999)}`,
  }),
  sender: instagramSender,
  downloadMedia: downloadInstagramMedia,
  sandbox: createMetaMessagingSandbox('Instagram', 'aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxsandbox'),
};
