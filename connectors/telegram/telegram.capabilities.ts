import type { ChannelCapabilities } from '../connector.ts';

/**
 * What Telegram carries.
 * - Text: 1–4096 characters, captions 0–1024 (counted here in UTF-16 code units, never fewer than
 *   Telegram's count). @see https://core.telegram.org/bots/api#sendmessage
 * - Quick replies are inline keyboard buttons, one per row. `callback_data` is 1–64 **bytes**
 *   (@see https://core.telegram.org/bots/api#inlinekeyboardbutton). Telegram documents no maximum number
 *   of buttons or label length; Parley keeps keyboards to 100 buttons and labels to 64 characters so they
 *   stay usable on a phone, and shortens longer labels.
 * - No messaging window: a bot may write at any time to anyone who has not blocked it.
 */
export const TELEGRAM_CAPABILITIES: ChannelCapabilities = {
  outboundTypes: ['text', 'image', 'file', 'location', 'sticker', 'audio', 'video'],
  maxTextLength: 4096,
  maxCaptionLength: 1024,
  quickReplies: { max: 100, maxPayloadBytes: 64, maxLabelLength: 64 },
  inboundTypes: ['text', 'image', 'video', 'audio', 'file', 'sticker', 'location', 'contact', 'reply', 'unsupported'],
};
