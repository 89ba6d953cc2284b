import type { ChannelCapabilities } from '../connector.ts';

/**
 * What Messenger carries.
 * - Text: up to 2000 characters per message (counted in UTF-16 code units; longer texts are split).
 *   Attachments have no caption: a caption follows as a text message, under the same limit.
 *   @see https://developers.facebook.com/docs/messenger-platform/reference/send-api#message
 * - Quick replies: at most 13, title 20 characters (longer titles are shortened), payload 1000 characters
 *   (checked here in UTF-8 bytes, never more than Messenger's count). More, or longer payloads, become a
 *   numbered list in the text. @see https://developers.facebook.com/docs/messenger-platform/reference/buttons/quick-replies
 * - Media by URL (or a saved `attachment_id`); a location is sent as text with a map link (the Send API
 *   has no location message); stickers cannot be sent by id, so they are not offered.
 * - 24-hour window after the customer's last message (`messaging_type: RESPONSE`). The `HUMAN_AGENT` tag
 *   (7 days) needs App Review and is not used yet.
 *   @see https://developers.facebook.com/docs/messenger-platform/policy/policy-overview#24hours_window
 */
export const MESSENGER_CAPABILITIES: ChannelCapabilities = {
  outboundTypes: ['text', 'image', 'video', 'audio', 'file', 'location'],
  maxTextLength: 2000,
  maxCaptionLength: 2000,
  quickReplies: { max: 13, maxPayloadBytes: 1000, maxLabelLength: 20 },
  messagingWindowHours: 24,
  inboundTypes: ['text', 'image', 'video', 'audio', 'file', 'sticker', 'location', 'reply', 'reaction', 'unsupported'],
};
