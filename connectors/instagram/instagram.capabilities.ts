import type { ChannelCapabilities } from '../connector.ts';

/**
 * What Instagram (Instagram API with Instagram Login) carries.
 * - Text: "must be UTF-8 and be 1000 bytes or less", so it is measured in UTF-8 bytes (a Korean text fits
 *   about 333 characters); longer texts are split. A caption follows its media as text.
 *   @see https://developers.facebook.com/docs/messenger-platform/instagram/features/send-message
 *   @see https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/messaging-api
 * - Quick replies: at most 13, title 20 characters, payload 1000; beyond that a numbered list in the text.
 *   @see https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/messaging-api/quick-replies
 * - Media by URL only (image, video, audio, PDF file); a location is sent as text with a map link.
 * - 24-hour window after the customer's last message (the `HUMAN_AGENT` tag, 7 days, is not used yet).
 */
export const INSTAGRAM_CAPABILITIES: ChannelCapabilities = {
  outboundTypes: ['text', 'image', 'video', 'audio', 'file', 'location'],
  maxTextLength: 1000,
  maxCaptionLength: 1000,
  quickReplies: { max: 13, maxPayloadBytes: 1000, maxLabelLength: 20 },
  messagingWindowHours: 24,
  inboundTypes: ['text', 'image', 'video', 'audio', 'file', 'reply', 'reaction', 'unsupported'],
};
