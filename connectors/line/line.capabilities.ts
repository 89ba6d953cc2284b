import type { ChannelCapabilities } from '../connector.ts';

/**
 * What LINE carries.
 * - Text: at most 5,000 characters per message object (counted here in UTF-16 code units, never fewer than
 *   LINE's count); longer texts are split. @see https://developers.line.biz/en/reference/messaging-api/#text-message
 * - No captions: a caption follows its media as a text message (so the caption limit is the text limit).
 * - Images need HTTPS URLs (`originalContentUrl`, `previewImageUrl`); a MediaRef without a URL cannot be sent.
 *   Videos need a preview image and audio a duration, which Parley content does not always carry: without
 *   them, and for files (LINE bots cannot send files), the sender sends a text with the link instead.
 *   @see https://developers.line.biz/en/reference/messaging-api/#image-message
 * - Quick replies: at most 13 items, labels at most 20 characters (longer ones are shortened), postback
 *   `data` at most 300 characters. More items or longer data become a numbered list in the text.
 *   @see https://developers.line.biz/en/reference/messaging-api/#quick-reply
 *   @see https://developers.line.biz/en/reference/messaging-api/#postback-action
 * - Buttons: a buttons template, at most 4 actions (`postback`, `uri`), labels at most 20 characters, its
 *   text at most 160 characters without title or image (the start of a longer text goes first as a text
 *   message), and a required `altText` of at most 400 characters for notifications and clients that cannot
 *   show templates. More buttons, longer labels or postback data over 300 characters degrade: postbacks to
 *   quick replies (a numbered list when those cannot carry them either), links written out in the text.
 *   @see https://developers.line.biz/en/reference/messaging-api/#buttons
 *   @see https://developers.line.biz/en/reference/messaging-api/#template-messages
 *   @see https://developers.line.biz/en/reference/messaging-api/#uri-action
 * - Lists: no native list; quick replies when the items fit (13, titles of at most 20 characters, no
 *   descriptions or section titles), else a numbered text with the descriptions.
 * - No provider templates and no message tags.
 * - No messaging window: a push may go to anyone who has not blocked the account, any time (push counts
 *   against the monthly quota).
 */
export const LINE_CAPABILITIES: ChannelCapabilities = {
  outboundTypes: ['text', 'image', 'video', 'audio', 'file', 'location', 'sticker', 'list'],
  maxTextLength: 5000,
  maxCaptionLength: 5000,
  quickReplies: { max: 13, maxPayloadBytes: 300, maxLabelLength: 20 },
  buttons: { max: 4, maxLabelLength: 20, url: true },
  messageTags: [],
  // Push (no reply token) counts against the account's monthly quota, which Parley tracks.
  proactive: { kind: 'quota' },
  // LINE allows 2,000 requests/s on its send endpoints; Parley stays well below.
  throughput: { perSecond: 1000, burst: 200 },
  inboundTypes: ['text', 'image', 'video', 'audio', 'file', 'location', 'sticker', 'reply', 'unsupported'],
};
