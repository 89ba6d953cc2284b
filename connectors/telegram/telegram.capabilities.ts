import { MAX_BUTTONS } from '../../domain/content.ts';
import type { ChannelCapabilities } from '../connector.ts';

/**
 * The most buttons Parley puts on one inline keyboard. Telegram documents no maximum; this keeps a keyboard
 * usable on a phone and holds every item a Parley list may have.
 */
const KEYBOARD_MAX_BUTTONS = 100;

/**
 * What Telegram carries.
 * - Text: 1–4096 characters, captions 0–1024 (counted here in UTF-16 code units, never fewer than
 *   Telegram's count). @see https://core.telegram.org/bots/api#sendmessage
 * - Quick replies are inline keyboard buttons, one per row. `callback_data` is 1–64 **bytes**
 *   (@see https://core.telegram.org/bots/api#inlinekeyboardbutton). Telegram documents no maximum number
 *   of buttons or label length; Parley keeps keyboards to 100 buttons and labels to 64 characters so they
 *   stay usable on a phone, and shortens longer labels.
 * - Buttons are inline keyboard buttons too, one per row: `callback_data` for postbacks, `url` for links,
 *   every button Parley allows. A longer label or a payload over 64 bytes degrades them: postbacks to quick
 *   replies (so to a numbered list when a payload is too long), links written out in the text.
 * - Lists: an inline keyboard with one row per item; section titles and descriptions, which a button
 *   cannot show, go into the text as a numbered list above it. Payloads over 64 bytes make it a numbered text.
 * - No provider templates and no message tags.
 * - No messaging window: a bot may write at any time to anyone who has not blocked it.
 */
export const TELEGRAM_CAPABILITIES: ChannelCapabilities = {
  outboundTypes: ['text', 'image', 'file', 'location', 'sticker', 'audio', 'video', 'list'],
  maxTextLength: 4096,
  maxCaptionLength: 1024,
  quickReplies: { max: KEYBOARD_MAX_BUTTONS, maxPayloadBytes: 64, maxLabelLength: 64 },
  buttons: { max: MAX_BUTTONS, maxLabelLength: 64, url: true },
  // Sections are headings in the text: every section Parley allows.
  lists: { maxItems: KEYBOARD_MAX_BUTTONS, maxSections: 10 },
  messageTags: [],
  proactive: { kind: 'free' },
  // The Bot FAQ: about 30 messages/s overall and about 1 per second in one chat; 25 + a burst of 5 never
  // exceeds 30 in any second, and one chat gets a long text's parts at once (up to 3), then one a second.
  throughput: { perSecond: 25, burst: 5, perConversation: { perSecond: 1, burst: 3 } },
  inboundTypes: ['text', 'image', 'video', 'audio', 'file', 'sticker', 'location', 'contact', 'reply', 'unsupported'],
};
