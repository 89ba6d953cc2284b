/**
 * Telegram `Update` → Parley events. Pure and allocation-light: it runs once per webhook and is
 * benchmarked, so it reads the already-parsed update and compiles nothing per call.
 */
import type { Content, MediaRef, TextEntity } from '../../domain/content.ts';
import { EVENT_SCHEMA_VERSION, EVENT_TYPES } from '../../domain/events.ts';
import type { ConversationRef, MessageEditedEvent, MessageReceivedEvent, ParleyEvent, Sender } from '../../domain/events.ts';
import { deterministicId } from '../../domain/ids.ts';
import type { NormalizeContext, NormalizeResult } from '../connector.ts';
import type {
  TelegramCallbackQuery,
  TelegramChat,
  TelegramChatMemberUpdated,
  TelegramMediaFile,
  TelegramMessage,
  TelegramMessageEntity,
  TelegramPhotoSize,
  TelegramUpdate,
  TelegramUser,
} from './telegram.schema.ts';

/** The provider action asked for after every button tap. */
export const ANSWER_CALLBACK_QUERY = 'answerCallbackQuery';

/**
 * Message fields that describe a message rather than being its content. A field outside this set and
 * outside the handled content types names the content (poll, dice, game, ...) of an unsupported message.
 * `forward_*` are the pre-7.0 forward fields, still set by some servers.
 * @see https://core.telegram.org/bots/api#message
 */
export const MESSAGE_METADATA_KEYS: ReadonlySet<string> = new Set([
  'message_id',
  'message_thread_id',
  'direct_messages_topic',
  'from',
  'sender_chat',
  'sender_boost_count',
  'sender_business_bot',
  'sender_tag',
  'date',
  'guest_query_id',
  'business_connection_id',
  'chat',
  'forward_origin',
  'is_topic_message',
  'is_automatic_forward',
  'reply_to_message',
  'external_reply',
  'quote',
  'reply_to_story',
  'reply_to_checklist_task_id',
  'reply_to_poll_option_id',
  'via_bot',
  'guest_bot_caller_user',
  'guest_bot_caller_chat',
  'edit_date',
  'has_protected_content',
  'is_from_offline',
  'is_paid_post',
  'media_group_id',
  'author_signature',
  'paid_star_count',
  'entities',
  'link_preview_options',
  'suggested_post_info',
  'effect_id',
  'caption',
  'caption_entities',
  'show_caption_above_media',
  'has_media_spoiler',
  'reply_markup',
  'forward_from',
  'forward_from_chat',
  'forward_from_message_id',
  'forward_signature',
  'forward_sender_name',
  'forward_date',
]);

/**
 * Service messages: things that happened in a chat (members joined, a topic opened, a payment settled),
 * not something a customer said. They are logged as ignored rather than stored as unsupported messages.
 * This is every field the Bot API documents as "Service message", plus the older chat-management fields
 * that predate that wording.
 * @see https://core.telegram.org/bots/api#message
 */
export const SERVICE_MESSAGE_KEYS: ReadonlySet<string> = new Set([
  'new_chat_members',
  'left_chat_member',
  'new_chat_title',
  'new_chat_photo',
  'migrate_to_chat_id',
  'migrate_from_chat_id',
  'pinned_message',
  'connected_website',
  'chat_owner_left',
  'chat_owner_changed',
  'delete_chat_photo',
  'group_chat_created',
  'supergroup_chat_created',
  'channel_chat_created',
  'message_auto_delete_timer_changed',
  'successful_payment',
  'refunded_payment',
  'users_shared',
  'chat_shared',
  'gift',
  'unique_gift',
  'gift_upgrade_sent',
  'write_access_allowed',
  'proximity_alert_triggered',
  'boost_added',
  'chat_background_set',
  'checklist_tasks_done',
  'checklist_tasks_added',
  'direct_message_price_changed',
  'forum_topic_created',
  'forum_topic_edited',
  'forum_topic_closed',
  'forum_topic_reopened',
  'general_forum_topic_hidden',
  'general_forum_topic_unhidden',
  'giveaway_created',
  'giveaway_completed',
  'managed_bot_created',
  'paid_message_price_changed',
  'poll_option_added',
  'poll_option_deleted',
  'suggested_post_approved',
  'suggested_post_approval_failed',
  'suggested_post_declined',
  'suggested_post_paid',
  'suggested_post_refunded',
  'video_chat_scheduled',
  'video_chat_started',
  'video_chat_ended',
  'video_chat_participants_invited',
  'web_app_data',
]);

/** The largest instant a JS Date can hold, in ms. */
const MAX_DATE_MS = 8.64e15;

/** Telegram dates are Unix seconds. */
const isoFromSeconds = (seconds: number | undefined, fallback: string): string => {
  if (seconds === undefined) return fallback;
  const ms = seconds * 1000;
  return Math.abs(ms) <= MAX_DATE_MS ? new Date(ms).toISOString() : fallback;
};

const fullName = (first: string | undefined, last: string | undefined): string | undefined => {
  const name = first && last ? `${first} ${last}` : first || last;
  return name || undefined;
};

/** `message_id` is unique per chat only, so the chat id is part of every message id. */
export const telegramMessageId = (chatId: number | string, messageId: number): string => `${chatId}:${messageId}`;

const userSender = (user: TelegramUser): Sender => {
  const sender: Sender = { externalUserId: String(user.id) };
  const name = fullName(user.first_name, user.last_name);
  if (name !== undefined) sender.displayName = name;
  if (user.username) sender.username = user.username;
  if (user.language_code) sender.languageCode = user.language_code;
  if (user.is_bot !== undefined) sender.isBot = user.is_bot;
  return sender;
};

const chatSender = (chat: TelegramChat): Sender => {
  const sender: Sender = { externalUserId: String(chat.id) };
  const name = chat.title || fullName(chat.first_name, chat.last_name);
  if (name !== undefined) sender.displayName = name;
  if (chat.username) sender.username = chat.username;
  return sender;
};

/**
 * A message sent on behalf of a chat (a channel post, an anonymous group admin, a channel's automatic
 * forward into its discussion group) carries `sender_chat`; its `from` is then a placeholder user shared by
 * everyone who posts that way, so the chat is the sender.
 * @see https://core.telegram.org/bots/api#message
 */
const senderOf = (message: TelegramMessage): Sender => {
  if (message.sender_chat) return chatSender(message.sender_chat);
  if (message.from) {
    const sender = userSender(message.from);
    // A contact whose user_id is the sender's own: Telegram's "share my phone number" (a keyboard button with
    // request_contact), the one phone number Telegram vouches for as theirs. Anyone else's card is not.
    if (message.contact?.phone_number && message.contact.user_id === message.from.id) sender.verifiedPhone = message.contact.phone_number;
    return sender;
  }
  return chatSender(message.chat);
};

const conversationKind = (chatType: string): ConversationRef['kind'] => {
  switch (chatType) {
    case 'private':
      return 'direct';
    case 'channel':
      return 'broadcast';
    default:
      // group, supergroup, and any type added later: never mistake several people for one customer.
      return 'group';
  }
};

const conversationOf = (chat: TelegramChat): ConversationRef => {
  const conversation: ConversationRef = { externalId: String(chat.id), kind: conversationKind(chat.type) };
  if (chat.title) conversation.title = chat.title;
  return conversation;
};

/** Offsets and lengths are UTF-16 code units, as in JS strings: copied untouched. */
const entitiesOf = (entities: readonly TelegramMessageEntity[] | undefined): TextEntity[] | undefined => {
  if (entities === undefined || entities.length === 0) return undefined;
  const mapped: TextEntity[] = [];
  for (const entity of entities) {
    if (entity.length === 0 || entity.type === '') continue;
    const out: TextEntity = { type: entity.type, offset: entity.offset, length: entity.length };
    if (entity.url !== undefined) out.url = entity.url;
    if (entity.user !== undefined) out.userId = String(entity.user.id);
    mapped.push(out);
  }
  return mapped.length > 0 ? mapped : undefined;
};

interface FileFields {
  readonly file_id: string;
  readonly file_unique_id: string;
  readonly file_size?: number | undefined;
  readonly file_name?: string | undefined;
  readonly mime_type?: string | undefined;
  readonly width?: number | undefined;
  readonly height?: number | undefined;
  readonly duration?: number | undefined;
}

const mediaRefOf = (file: FileFields): MediaRef => {
  const media: MediaRef = { id: file.file_id };
  if (file.file_unique_id) media.uniqueId = file.file_unique_id;
  if (file.file_name !== undefined) media.fileName = file.file_name;
  if (file.mime_type !== undefined) media.mimeType = file.mime_type;
  if (file.file_size !== undefined) media.size = file.file_size;
  if (file.width !== undefined && file.width > 0) media.width = file.width;
  if (file.height !== undefined && file.height > 0) media.height = file.height;
  if (file.duration !== undefined) media.durationSeconds = file.duration;
  return media;
};

/**
 * The largest size of a photo: by pixel count, then by bytes. Telegram lists sizes smallest first, so on a
 * tie the later one wins.
 * @see https://core.telegram.org/bots/api#message (photo: "available sizes of the photo")
 */
export const largestPhotoSize = (sizes: readonly TelegramPhotoSize[]): TelegramPhotoSize | undefined => {
  let best: TelegramPhotoSize | undefined;
  for (const size of sizes) {
    if (best === undefined) {
      best = size;
      continue;
    }
    const area = size.width * size.height;
    const bestArea = best.width * best.height;
    if (area > bestArea || (area === bestArea && (size.file_size ?? 0) >= (best.file_size ?? 0))) best = size;
  }
  return best;
};

type MediaContentType = 'image' | 'audio' | 'video' | 'file';

const mediaContent = (type: MediaContentType, media: MediaRef, message: TelegramMessage): Content => {
  const caption = message.caption;
  if (!caption) return { type, media };
  const captionEntities = entitiesOf(message.caption_entities);
  return captionEntities ? { type, media, caption, captionEntities } : { type, media, caption };
};

/** Stickers come in three formats, told apart by two flags. @see https://core.telegram.org/bots/api#sticker */
const stickerMimeType = (sticker: NonNullable<TelegramMessage['sticker']>): string =>
  sticker.is_animated ? 'application/x-tgsticker' : sticker.is_video ? 'video/webm' : 'image/webp';

const unsupported = (providerType: string): Content => ({ type: 'unsupported', providerType });

type Extracted =
  | { readonly kind: 'content'; readonly content: Content }
  | { readonly kind: 'service'; readonly key: string }
  | { readonly kind: 'empty' };

const found = (content: Content): Extracted => ({ kind: 'content', content });

/**
 * What a message says. Checked in an order that respects Telegram's backward-compatibility duplicates: an
 * animation also sets `document`, and a venue also sets `location`.
 */
const contentOf = (message: TelegramMessage): Extracted => {
  if (message.text !== undefined) {
    if (message.text === '') return found(unsupported('text'));
    const entities = entitiesOf(message.entities);
    // The text is kept byte-exact: entity offsets index into it, and the contract forbids normalization.
    return found(entities ? { type: 'text', text: message.text, entities } : { type: 'text', text: message.text });
  }
  if (message.photo !== undefined) {
    const largest = largestPhotoSize(message.photo);
    return found(largest ? mediaContent('image', mediaRefOf(largest), message) : unsupported('photo'));
  }
  if (message.animation !== undefined) return found(mediaContent('video', mediaRefOf(message.animation), message));
  if (message.document !== undefined) return found(mediaContent('file', mediaRefOf(message.document), message));
  if (message.sticker !== undefined) {
    const sticker = message.sticker;
    const media = mediaRefOf(sticker);
    media.mimeType = stickerMimeType(sticker);
    return found(sticker.emoji ? { type: 'sticker', media, emoji: sticker.emoji } : { type: 'sticker', media });
  }
  if (message.video !== undefined) return found(mediaContent('video', mediaRefOf(message.video), message));
  if (message.video_note !== undefined) {
    const note: TelegramMediaFile = message.video_note;
    // A video note is a round video: `length` is its diameter.
    const media = mediaRefOf({ ...note, width: note.length, height: note.length });
    return found(mediaContent('video', media, message));
  }
  if (message.audio !== undefined) return found(mediaContent('audio', mediaRefOf(message.audio), message));
  if (message.voice !== undefined) return found(mediaContent('audio', mediaRefOf(message.voice), message));
  if (message.venue !== undefined) {
    const { location, title, address } = message.venue;
    const content: Content = { type: 'location', latitude: location.latitude, longitude: location.longitude };
    if (title) content.name = title;
    if (address) content.address = address;
    return found(content);
  }
  if (message.location !== undefined) {
    return found({ type: 'location', latitude: message.location.latitude, longitude: message.location.longitude });
  }
  if (message.contact !== undefined) {
    const contact = message.contact;
    const content: Content = {
      type: 'contact',
      name: fullName(contact.first_name, contact.last_name) ?? contact.phone_number,
      phoneNumbers: contact.phone_number ? [contact.phone_number] : [],
    };
    if (contact.user_id !== undefined) content.externalUserId = String(contact.user_id);
    if (content.name === '') return found(unsupported('contact'));
    return found(content);
  }
  let other: string | undefined;
  for (const key of Object.keys(message)) {
    if (SERVICE_MESSAGE_KEYS.has(key)) return { kind: 'service', key };
    if (other === undefined && !MESSAGE_METADATA_KEYS.has(key)) other = key;
  }
  return other === undefined ? { kind: 'empty' } : found(unsupported(other));
};

type MessageUpdateKind = 'message' | 'edited_message' | 'channel_post' | 'edited_channel_post';

const eventIdOf = (context: NormalizeContext, updateId: string, part: string): string =>
  deterministicId('evt', 'telegram', context.accountId, updateId, part);

// Events are built as whole object literals, without spreads: normalize is on the hot path, and V8 builds
// a literal of fixed shape several times faster than one assembled from spread pieces.

const normalizeMessage = (
  kind: MessageUpdateKind,
  message: TelegramMessage,
  updateId: string,
  context: NormalizeContext,
  result: { events: ParleyEvent[]; ignored: string[] },
): void => {
  const extracted = contentOf(message);
  const externalMessageId = telegramMessageId(message.chat.id, message.message_id);
  switch (extracted.kind) {
    case 'service':
      result.ignored.push(`update ${updateId}: ${kind} ${externalMessageId} is a service message (${extracted.key})`);
      return;
    case 'empty':
      result.ignored.push(`update ${updateId}: ${kind} ${externalMessageId} has no content`);
      return;
    case 'content':
      break;
  }
  // A channel post is the business broadcasting, not a customer writing.
  const direction = kind === 'channel_post' || kind === 'edited_channel_post' ? 'outbound' : 'inbound';
  const replyTo = message.reply_to_message
    ? { externalMessageId: telegramMessageId(message.chat.id, message.reply_to_message.message_id) }
    : undefined;
  let event: MessageReceivedEvent | MessageEditedEvent;
  if (kind === 'edited_message' || kind === 'edited_channel_post') {
    event = {
      schemaVersion: EVENT_SCHEMA_VERSION,
      eventId: eventIdOf(context, updateId, kind),
      channel: 'telegram',
      accountId: context.accountId,
      providerEventId: updateId,
      occurredAt: isoFromSeconds(message.date, context.receivedAt),
      receivedAt: context.receivedAt,
      type: EVENT_TYPES.messageEdited,
      direction,
      externalMessageId,
      editedAt: isoFromSeconds(message.edit_date, context.receivedAt),
      sender: senderOf(message),
      conversation: conversationOf(message.chat),
      content: extracted.content,
    };
  } else {
    event = {
      schemaVersion: EVENT_SCHEMA_VERSION,
      eventId: eventIdOf(context, updateId, kind),
      channel: 'telegram',
      accountId: context.accountId,
      providerEventId: updateId,
      occurredAt: isoFromSeconds(message.date, context.receivedAt),
      receivedAt: context.receivedAt,
      type: EVENT_TYPES.messageReceived,
      direction,
      externalMessageId,
      sender: senderOf(message),
      conversation: conversationOf(message.chat),
      content: extracted.content,
    };
  }
  if (replyTo !== undefined) event.replyTo = replyTo;
  result.events.push(event);
};

/** The label of the tapped button, looked up on the keyboard it was on. */
const buttonLabel = (query: TelegramCallbackQuery, data: string): string | undefined => {
  const rows = query.message?.reply_markup?.inline_keyboard;
  if (rows === undefined) return undefined;
  for (const row of rows) {
    for (const button of row) if (button.callback_data === data) return button.text;
  }
  return undefined;
};

/**
 * A button tap becomes a `reply` message plus a request to call answerCallbackQuery, without which the
 * customer's client keeps showing a spinner on the button. A callback query has no date of its own.
 * @see https://core.telegram.org/bots/api#callbackquery
 * @see https://core.telegram.org/bots/api#answercallbackquery
 */
const normalizeCallbackQuery = (
  query: TelegramCallbackQuery,
  updateId: string,
  context: NormalizeContext,
  result: { events: ParleyEvent[]; ignored: string[] },
): void => {
  const chat = query.message?.chat;
  // A button on an inline-mode message comes without the message: the tapping user's private chat is the
  // only conversation known.
  const conversation: ConversationRef = chat ? conversationOf(chat) : { externalId: String(query.from.id), kind: 'direct' };
  const content: Content =
    query.data !== undefined
      ? { type: 'reply', text: buttonLabel(query, query.data) ?? query.data, payload: query.data }
      : unsupported(query.game_short_name !== undefined ? 'callback_game' : 'callback_query');
  const tap: MessageReceivedEvent = {
    schemaVersion: EVENT_SCHEMA_VERSION,
    eventId: eventIdOf(context, updateId, 'callback_query'),
    channel: 'telegram',
    accountId: context.accountId,
    providerEventId: updateId,
    occurredAt: context.receivedAt,
    receivedAt: context.receivedAt,
    type: EVENT_TYPES.messageReceived,
    direction: 'inbound',
    externalMessageId: `callback:${query.id}`,
    sender: userSender(query.from),
    conversation,
    content,
  };
  if (query.message && chat) tap.replyTo = { externalMessageId: telegramMessageId(chat.id, query.message.message_id) };
  result.events.push(tap, {
    schemaVersion: EVENT_SCHEMA_VERSION,
    eventId: eventIdOf(context, updateId, ANSWER_CALLBACK_QUERY),
    channel: 'telegram',
    accountId: context.accountId,
    providerEventId: updateId,
    occurredAt: context.receivedAt,
    receivedAt: context.receivedAt,
    type: EVENT_TYPES.providerAction,
    action: ANSWER_CALLBACK_QUERY,
    params: { callback_query_id: query.id },
  });
};

/**
 * The bot's own membership changed. In a private chat, `kicked` is how Telegram says the user blocked the
 * bot; nothing sent to them will arrive until they restart it.
 * @see https://core.telegram.org/bots/api#chatmemberupdated
 */
const normalizeMyChatMember = (
  change: TelegramChatMemberUpdated,
  updateId: string,
  context: NormalizeContext,
  result: { events: ParleyEvent[]; ignored: string[] },
): void => {
  const status = change.new_chat_member.status;
  if (change.chat.type === 'private' && status === 'kicked') {
    result.events.push({
      schemaVersion: EVENT_SCHEMA_VERSION,
      eventId: eventIdOf(context, updateId, 'my_chat_member'),
      channel: 'telegram',
      accountId: context.accountId,
      providerEventId: updateId,
      occurredAt: isoFromSeconds(change.date, context.receivedAt),
      receivedAt: context.receivedAt,
      type: EVENT_TYPES.identityUnreachable,
      externalUserId: String(change.chat.id),
      reason: 'blocked the bot',
    });
    return;
  }
  result.ignored.push(`update ${updateId}: my_chat_member: bot is now ${status} in ${change.chat.type} chat ${change.chat.id}`);
};

/**
 * The events an update means. Never throws for a parsed update; what it cannot use is listed in `ignored`.
 * @see https://core.telegram.org/bots/api#update
 */
export const normalizeTelegramUpdate = (update: TelegramUpdate, context: NormalizeContext): NormalizeResult => {
  const result = { events: [] as ParleyEvent[], ignored: [] as string[] };
  const updateId = String(update.update_id);
  if (update.message) normalizeMessage('message', update.message, updateId, context, result);
  else if (update.edited_message) normalizeMessage('edited_message', update.edited_message, updateId, context, result);
  else if (update.channel_post) normalizeMessage('channel_post', update.channel_post, updateId, context, result);
  else if (update.edited_channel_post) {
    normalizeMessage('edited_channel_post', update.edited_channel_post, updateId, context, result);
  } else if (update.callback_query) normalizeCallbackQuery(update.callback_query, updateId, context, result);
  else if (update.my_chat_member) normalizeMyChatMember(update.my_chat_member, updateId, context, result);
  else {
    const type = Object.keys(update).find((key) => key !== 'update_id');
    result.ignored.push(type === undefined ? `update ${updateId}: no content` : `update ${updateId}: ${type} updates are not handled`);
  }
  return result;
};
