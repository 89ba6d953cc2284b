import type { ChannelCapabilities } from '../connector.ts';

/**
 * What Instagram (Instagram API with Instagram Login) carries.
 * - Text: "must be UTF-8 and be 1000 bytes or less", so it is measured in UTF-8 bytes (a Korean text fits
 *   about 333 characters); longer texts are split. A caption follows its media as text.
 *   @see https://developers.facebook.com/docs/messenger-platform/instagram/features/send-message
 *   @see https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/messaging-api
 * - Quick replies: at most 13, title 20 characters, payload 1000; beyond that a numbered list in the text.
 *   @see https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/messaging-api/quick-replies
 * - Buttons: the button template, "text and up to three attached buttons" (`web_url` opening the in-app
 *   browser, `postback` coming back as `messaging_postbacks`). Its page refers to Messenger's button
 *   reference for the button properties (title "20 character limit", payload 1000) and names no text
 *   limit of its own, so Messenger's 640 applies, counted in UTF-8 bytes like Instagram's texts. Not shown
 *   on Instagram's web version. More buttons, or longer titles, degrade: postbacks to quick replies, links
 *   written out in the text.
 *   @see https://developers.facebook.com/documentation/instagram-platform/instagram-api-with-instagram-login/messaging-api/button-template
 *   @see https://developers.facebook.com/documentation/business-messaging/instagram-messaging/button-template
 * - Lists: no native list: quick replies when the items fit, else a numbered text with the descriptions.
 * - Media by URL only (image, video, audio, PDF file); a location is sent as text with a map link.
 * - 24-hour window after the customer's last message; the only tag, `HUMAN_AGENT`, lets a person answer
 *   within 7 days (needs the Human Agent feature).
 *   @see https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login
 */
export const INSTAGRAM_CAPABILITIES: ChannelCapabilities = {
  outboundTypes: ['text', 'image', 'video', 'audio', 'file', 'location', 'list'],
  maxTextLength: 1000,
  maxCaptionLength: 1000,
  quickReplies: { max: 13, maxPayloadBytes: 1000, maxLabelLength: 20 },
  buttons: { max: 3, maxLabelLength: 20, url: true },
  messageTags: ['human_agent'],
  messagingWindowHours: 24,
  afterWindow: { templates: false, tags: [{ tag: 'human_agent', withinHours: 7 * 24, entitlement: 'humanAgent' }] },
  proactive: { kind: 'free' },
  // 300 calls/s per professional account for text, links, reactions and stickers.
  throughput: { perSecond: 250, burst: 50 },
  inboundTypes: ['text', 'image', 'video', 'audio', 'file', 'reply', 'reaction', 'unsupported'],
};
