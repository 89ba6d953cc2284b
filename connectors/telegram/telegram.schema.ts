/**
 * The parts of the Telegram Bot API `Update` that Parley reads, as zod schemas, and the parser that turns a
 * webhook body into one. Every object is loose: Telegram adds fields in most Bot API releases, and an unknown
 * field must never cost a customer's message. Only what the normalizer reads is required, so a missing
 * optional nicety (a user's `first_name`) does not either.
 *
 * @see https://core.telegram.org/bots/api#update
 */
import * as z from 'zod';
import type { ParseResult } from '../connector.ts';

/** Telegram ids have at most 52 significant bits: safe as JS numbers, kept as strings once normalized. */
const telegramId = z.int();

/** @see https://core.telegram.org/bots/api#user */
export const TelegramUserSchema = z.looseObject({
  id: telegramId,
  is_bot: z.boolean().optional(),
  first_name: z.string().optional(),
  last_name: z.string().optional(),
  username: z.string().optional(),
  language_code: z.string().optional(),
});

/**
 * `type` stays a plain string: a chat type Telegram adds later should reach the normalizer, not fail parsing.
 * @see https://core.telegram.org/bots/api#chat
 */
export const TelegramChatSchema = z.looseObject({
  id: telegramId,
  type: z.string(),
  title: z.string().optional(),
  username: z.string().optional(),
  first_name: z.string().optional(),
  last_name: z.string().optional(),
});

/** Offsets and lengths are in UTF-16 code units. @see https://core.telegram.org/bots/api#messageentity */
export const TelegramMessageEntitySchema = z.looseObject({
  type: z.string(),
  offset: z.int().nonnegative(),
  length: z.int().nonnegative(),
  url: z.string().optional(),
  user: TelegramUserSchema.optional(),
});

const fileSize = z.int().nonnegative().optional();

/** @see https://core.telegram.org/bots/api#photosize */
export const TelegramPhotoSizeSchema = z.looseObject({
  file_id: z.string().min(1),
  file_unique_id: z.string(),
  width: z.int(),
  height: z.int(),
  file_size: fileSize,
});

/** @see https://core.telegram.org/bots/api#document */
export const TelegramDocumentSchema = z.looseObject({
  file_id: z.string().min(1),
  file_unique_id: z.string(),
  file_name: z.string().optional(),
  mime_type: z.string().optional(),
  file_size: fileSize,
});

/**
 * The fields shared by Animation, Audio, Video, VideoNote and Voice; each has a subset.
 * @see https://core.telegram.org/bots/api#video
 */
export const TelegramMediaFileSchema = z.looseObject({
  file_id: z.string().min(1),
  file_unique_id: z.string(),
  width: z.int().optional(),
  height: z.int().optional(),
  /** VideoNote: diameter of the round video. */
  length: z.int().optional(),
  duration: z.number().nonnegative().optional(),
  file_name: z.string().optional(),
  mime_type: z.string().optional(),
  file_size: fileSize,
});

/** @see https://core.telegram.org/bots/api#sticker */
export const TelegramStickerSchema = z.looseObject({
  file_id: z.string().min(1),
  file_unique_id: z.string(),
  width: z.int().optional(),
  height: z.int().optional(),
  is_animated: z.boolean().optional(),
  is_video: z.boolean().optional(),
  emoji: z.string().optional(),
  file_size: fileSize,
});

/** @see https://core.telegram.org/bots/api#location */
export const TelegramLocationSchema = z.looseObject({
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
});

/** @see https://core.telegram.org/bots/api#venue */
export const TelegramVenueSchema = z.looseObject({
  location: TelegramLocationSchema,
  title: z.string(),
  address: z.string(),
});

/** @see https://core.telegram.org/bots/api#contact */
export const TelegramContactSchema = z.looseObject({
  phone_number: z.string(),
  first_name: z.string(),
  last_name: z.string().optional(),
  user_id: telegramId.optional(),
});

/** @see https://core.telegram.org/bots/api#inlinekeyboardmarkup */
export const TelegramInlineKeyboardSchema = z.looseObject({
  inline_keyboard: z.array(z.array(z.looseObject({ text: z.string(), callback_data: z.string().optional() }))),
});

/**
 * A message, with only the fields Parley reads declared. The others (poll, dice, service fields, ...) pass
 * through untouched, which is how the normalizer names what it does not support.
 * @see https://core.telegram.org/bots/api#message
 */
export const TelegramMessageSchema = z.looseObject({
  message_id: z.int(),
  from: TelegramUserSchema.optional(),
  sender_chat: TelegramChatSchema.optional(),
  chat: TelegramChatSchema,
  date: z.int(),
  edit_date: z.int().optional(),
  // The replied-to message never nests further replies, and only its id is read.
  reply_to_message: z.looseObject({ message_id: z.int() }).optional(),
  text: z.string().optional(),
  entities: z.array(TelegramMessageEntitySchema).optional(),
  caption: z.string().optional(),
  caption_entities: z.array(TelegramMessageEntitySchema).optional(),
  photo: z.array(TelegramPhotoSizeSchema).optional(),
  document: TelegramDocumentSchema.optional(),
  animation: TelegramMediaFileSchema.optional(),
  audio: TelegramMediaFileSchema.optional(),
  video: TelegramMediaFileSchema.optional(),
  video_note: TelegramMediaFileSchema.optional(),
  voice: TelegramMediaFileSchema.optional(),
  sticker: TelegramStickerSchema.optional(),
  location: TelegramLocationSchema.optional(),
  venue: TelegramVenueSchema.optional(),
  contact: TelegramContactSchema.optional(),
  reply_markup: TelegramInlineKeyboardSchema.optional(),
});

/**
 * A `MaybeInaccessibleMessage`: an old message arrives as `{chat, message_id, date: 0}` only.
 * @see https://core.telegram.org/bots/api#maybeinaccessiblemessage
 */
export const TelegramCallbackMessageSchema = z.looseObject({
  message_id: z.int(),
  chat: TelegramChatSchema,
  reply_markup: TelegramInlineKeyboardSchema.optional(),
});

/** @see https://core.telegram.org/bots/api#callbackquery */
export const TelegramCallbackQuerySchema = z.looseObject({
  id: z.string().min(1),
  from: TelegramUserSchema,
  message: TelegramCallbackMessageSchema.optional(),
  data: z.string().optional(),
  game_short_name: z.string().optional(),
});

/** @see https://core.telegram.org/bots/api#chatmemberupdated */
export const TelegramChatMemberUpdatedSchema = z.looseObject({
  chat: TelegramChatSchema,
  from: TelegramUserSchema.optional(),
  date: z.int(),
  old_chat_member: z.looseObject({ status: z.string() }).optional(),
  new_chat_member: z.looseObject({ status: z.string() }),
});

/**
 * One webhook POST carries one update with at most one of the optional fields.
 * @see https://core.telegram.org/bots/api#update
 */
export const TelegramUpdateSchema = z.looseObject({
  update_id: z.int(),
  message: TelegramMessageSchema.optional(),
  edited_message: TelegramMessageSchema.optional(),
  channel_post: TelegramMessageSchema.optional(),
  edited_channel_post: TelegramMessageSchema.optional(),
  callback_query: TelegramCallbackQuerySchema.optional(),
  my_chat_member: TelegramChatMemberUpdatedSchema.optional(),
});

export type TelegramUpdate = z.infer<typeof TelegramUpdateSchema>;
export type TelegramMessage = z.infer<typeof TelegramMessageSchema>;
export type TelegramUser = z.infer<typeof TelegramUserSchema>;
export type TelegramChat = z.infer<typeof TelegramChatSchema>;
export type TelegramMessageEntity = z.infer<typeof TelegramMessageEntitySchema>;
export type TelegramPhotoSize = z.infer<typeof TelegramPhotoSizeSchema>;
export type TelegramMediaFile = z.infer<typeof TelegramMediaFileSchema>;
export type TelegramCallbackQuery = z.infer<typeof TelegramCallbackQuerySchema>;
export type TelegramChatMemberUpdated = z.infer<typeof TelegramChatMemberUpdatedSchema>;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const describeIssue = (issue: z.core.$ZodIssue): string => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`;

/**
 * Parses a webhook body. Anything that is JSON but not a usable update is `ignored`, not `malformed`:
 * Telegram retries a non-2xx answer for up to a day, and a retry cannot make a bad update good.
 * @see https://core.telegram.org/bots/api#setwebhook
 */
export const parseTelegramUpdate = (rawBody: Buffer): ParseResult<TelegramUpdate> => {
  let json: unknown;
  try {
    json = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return { kind: 'malformed', reason: 'body is not JSON' };
  }
  if (!isRecord(json)) return { kind: 'ignored', reason: 'not a Telegram update: body is not a JSON object' };
  if (!Number.isSafeInteger(json['update_id'])) {
    return { kind: 'ignored', reason: 'not a Telegram update: no integer update_id' };
  }
  const result = TelegramUpdateSchema.safeParse(json);
  if (!result.success) {
    const first = result.error.issues[0];
    return {
      kind: 'ignored',
      reason: `update ${String(json['update_id'])} is not readable: ${first ? describeIssue(first) : 'invalid'}`,
    };
  }
  return { kind: 'ok', payload: result.data };
};
