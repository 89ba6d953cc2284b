import type { ChannelCapabilities } from '../connector.ts';

/** Reply buttons: at most 3, titles ≤ 20 characters, ids ≤ 256. @see https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/interactive-reply-buttons-messages */
export const WHATSAPP_MAX_BUTTONS = 3;
export const WHATSAPP_MAX_BUTTON_TITLE = 20;
export const WHATSAPP_MAX_BUTTON_ID = 256;
/**
 * List messages: at most 10 sections and 10 rows in all, row titles ≤ 24, ids ≤ 200, descriptions ≤ 72,
 * section titles ≤ 24 (required once there are two sections), the button that opens the list ≤ 20; the
 * vendored OpenAPI document (test/specs/whatsapp) states the same lengths.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/interactive-list-messages
 */
export const WHATSAPP_MAX_ROWS = 10;
export const WHATSAPP_MAX_SECTIONS = 10;
export const WHATSAPP_MAX_ROW_TITLE = 24;
export const WHATSAPP_MAX_ROW_ID = 200;
export const WHATSAPP_MAX_ROW_DESCRIPTION = 72;
/** The body of an interactive message is shorter than a text message. */
export const WHATSAPP_MAX_INTERACTIVE_BODY = 1024;

/**
 * What the WhatsApp Cloud API carries.
 * - Text ≤ 4096 characters, captions ≤ 1024 (image, video, document; audio and stickers take none).
 * - Quick replies: up to 3 become reply buttons, up to 10 a list message; more become a numbered text list.
 * - Buttons: up to 3 postbacks with titles ≤ 20 are reply buttons (which, unlike quick replies elsewhere,
 *   stay in the chat); more become a list message or a numbered text. Links are written out in the text:
 *   the vendored OpenAPI document (v23.0) has no `cta_url` interactive message.
 * - Lists: a list message within the limits above, else a numbered text with the descriptions.
 * - Templates: approved message templates, with header, body (positional or named) and button parameters.
 * - The 24-hour customer service window: outside it only templates are delivered (error 131047). WhatsApp
 *   has no message tags; templates are its way out of the window.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/text-messages
 * @see https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates
 * @see https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
 */
export const WHATSAPP_CAPABILITIES: ChannelCapabilities = {
  outboundTypes: ['text', 'image', 'audio', 'video', 'file', 'sticker', 'location', 'list', 'template'],
  maxTextLength: 4096,
  maxCaptionLength: 1024,
  quickReplies: { max: WHATSAPP_MAX_ROWS, maxPayloadBytes: WHATSAPP_MAX_ROW_ID, maxLabelLength: WHATSAPP_MAX_ROW_TITLE },
  buttons: { max: WHATSAPP_MAX_BUTTONS, maxLabelLength: WHATSAPP_MAX_BUTTON_TITLE, url: false },
  lists: { maxItems: WHATSAPP_MAX_ROWS, maxSections: WHATSAPP_MAX_SECTIONS },
  messageTags: [],
  messagingWindowHours: 24,
  usersByPhone: true,
  afterWindow: { templates: true, tags: [] },
  proactive: { kind: 'free' },
  // 80 messages/s per number by default (130429 above it); 60 + a burst of 20 never exceeds 80 in any second.
  throughput: { perSecond: 60, burst: 20 },
  inboundTypes: ['text', 'image', 'audio', 'video', 'file', 'sticker', 'location', 'contact', 'reply', 'reaction', 'unsupported'],
};
