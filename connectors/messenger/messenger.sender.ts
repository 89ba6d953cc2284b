/**
 * Outbound Messenger: `POST /v23.0/{page-id}/messages` with the Page access token, `messaging_type:
 * RESPONSE`, and Parley's message id in `message.metadata`, which Messenger returns in the echo of the
 * message (the normalizer puts it in the echo event's `originMessageId`).
 * @see https://developers.facebook.com/docs/messenger-platform/reference/send-api
 * @see https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/message-echoes
 */
import { createMetaSender, type MetaSendProfile } from '../meta/meta.messaging.sender.ts';
import { utf16Length } from '../text.ts';
import { MESSENGER_CAPABILITIES } from './messenger.capabilities.ts';

export const MESSENGER_SEND_PROFILE: MetaSendProfile = {
  what: 'Messenger send',
  capabilities: MESSENGER_CAPABILITIES,
  tokenCredential: 'pageAccessToken',
  accountCredential: 'pageId',
  measure: utf16Length,
  messagingType: true,
  metadata: true,
  attachmentIds: true,
};

export const messengerSender = createMetaSender(MESSENGER_SEND_PROFILE);
