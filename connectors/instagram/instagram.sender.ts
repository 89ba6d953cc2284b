/**
 * Outbound Instagram: `POST https://graph.instagram.com/v23.0/{ig-account-id}/messages` with the Instagram
 * user access token as a Bearer token. Instagram documents no `metadata` echo field, so its echoes are
 * matched to sent messages by `mid` (the send answer's `message_id`).
 * @see https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/messaging-api
 */
import { createMetaSender, type MetaSendProfile } from '../meta/meta.messaging.sender.ts';
import { utf8Length } from '../text.ts';
import { INSTAGRAM_CAPABILITIES } from './instagram.capabilities.ts';

export const INSTAGRAM_SEND_PROFILE: MetaSendProfile = {
  what: 'Instagram send',
  capabilities: INSTAGRAM_CAPABILITIES,
  tokenCredential: 'accessToken',
  accountCredential: 'accountId',
  measure: utf8Length,
  messagingType: false,
  metadata: false,
  attachmentIds: false,
};

export const instagramSender = createMetaSender(INSTAGRAM_SEND_PROFILE);
