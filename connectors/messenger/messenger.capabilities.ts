import type { ChannelCapabilities } from '../connector.ts';

/**
 * What Messenger carries.
 * - Text: up to 2000 characters per message (counted in UTF-16 code units; longer texts are split).
 *   Attachments have no caption: a caption follows as a text message, under the same limit.
 *   @see https://developers.facebook.com/docs/messenger-platform/reference/send-api#message
 * - Quick replies: at most 13, title 20 characters (longer titles are shortened), payload 1000 characters
 *   (checked here in UTF-8 bytes, never more than Messenger's count). More, or longer payloads, become a
 *   numbered list in the text. @see https://developers.facebook.com/docs/messenger-platform/reference/buttons/quick-replies
 * - Buttons: the button template, "a text message with up to three attached buttons" (`postback` and
 *   `web_url`), its text up to 640 characters (a longer text goes first as plain messages), button titles
 *   "20 character limit", postback payloads 1000. More buttons, or longer titles, degrade: postbacks to
 *   quick replies, links written out in the text.
 *   @see https://developers.facebook.com/documentation/business-messaging/messenger-platform/send-messages/template/button
 *   @see https://developers.facebook.com/documentation/business-messaging/messenger-platform/send-messages/buttons/postback
 * - Lists: no native list (the list template was deprecated): quick replies when the items fit, else a
 *   numbered text with the descriptions.
 * - Media by URL (or a saved `attachment_id`); a location is sent as text with a map link (the Send API
 *   has no location message); stickers cannot be sent by id, so they are not offered.
 * - 24-hour window after the customer's last message (`messaging_type: RESPONSE`). Outside it, the
 *   non-promotional message tags (`messaging_type: MESSAGE_TAG`): `HUMAN_AGENT` (a person answering within
 *   7 days; needs the Human Agent permission through App Review), `ACCOUNT_UPDATE`,
 *   `CONFIRMED_EVENT_UPDATE`, `POST_PURCHASE_UPDATE`.
 *   @see https://developers.facebook.com/docs/messenger-platform/policy/policy-overview#24hours_window
 *   @see https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags
 */
export const MESSENGER_CAPABILITIES: ChannelCapabilities = {
  outboundTypes: ['text', 'image', 'video', 'audio', 'file', 'location', 'list'],
  maxTextLength: 2000,
  maxCaptionLength: 2000,
  quickReplies: { max: 13, maxPayloadBytes: 1000, maxLabelLength: 20 },
  buttons: { max: 3, maxLabelLength: 20, url: true },
  messageTags: ['human_agent', 'account_update', 'confirmed_event_update', 'post_purchase_update'],
  messagingWindowHours: 24,
  afterWindow: {
    templates: false,
    tags: [
      { tag: 'human_agent', withinHours: 7 * 24, entitlement: 'humanAgent' },
      { tag: 'account_update' },
      { tag: 'confirmed_event_update' },
      { tag: 'post_purchase_update' },
    ],
  },
  proactive: { kind: 'free' },
  // The Send API allows 300 calls/s per Page for text (10/s for audio and video, left to its 613 answers).
  throughput: { perSecond: 250, burst: 50 },
  inboundTypes: ['text', 'image', 'video', 'audio', 'file', 'sticker', 'location', 'reply', 'reaction', 'unsupported'],
};
