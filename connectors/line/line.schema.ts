/**
 * The parts of a LINE webhook body that Parley reads, as zod schemas, and the parser that turns a body into
 * one. The envelope (`destination`, `events[]`) is checked when parsing; each event is checked on its own
 * when normalizing, so one unreadable or unknown event never costs the others in the same batch.
 * Every object is loose: LINE adds fields and event types without notice.
 *
 * @see https://developers.line.biz/en/reference/messaging-api/#webhook-event-objects
 * @see https://github.com/line/line-openapi/blob/main/webhook.yml
 */
import * as z from 'zod';
import type { ParseResult } from '../connector.ts';

/**
 * `user`, `group` or `room`. In groups and rooms `userId` is only sent on message events, and only for users
 * of LINE for iOS and Android.
 * @see https://developers.line.biz/en/reference/messaging-api/#source-user
 */
export const LineSourceSchema = z.looseObject({
  type: z.string(),
  userId: z.string().min(1).optional(),
  groupId: z.string().min(1).optional(),
  roomId: z.string().min(1).optional(),
});

/** @see https://developers.line.biz/en/reference/messaging-api/#common-properties */
const common = {
  /** Milliseconds since the epoch; kept as the original event's time on redelivery. */
  timestamp: z.int(),
  mode: z.string().optional(),
  /** A ULID, the same on every redelivery of the event. */
  webhookEventId: z.string().min(1),
  deliveryContext: z.looseObject({ isRedelivery: z.boolean() }).optional(),
  source: LineSourceSchema.optional(),
  replyToken: z.string().optional(),
};

/** Offsets count UTF-16 code units of `text` (LINE's servers index Java strings). */
const indexed = { index: z.int().nonnegative(), length: z.int().nonnegative() };

/** @see https://developers.line.biz/en/reference/messaging-api/#wh-text */
export const LineEmojiSchema = z.looseObject({ ...indexed, productId: z.string().optional(), emojiId: z.string().optional() });
export const LineMentioneeSchema = z.looseObject({
  ...indexed,
  type: z.string(),
  userId: z.string().optional(),
  isSelf: z.boolean().optional(),
});

/** `line`: the content is fetched from LINE by message id; `external`: LINE gives the URLs. */
export const LineContentProviderSchema = z.looseObject({
  type: z.string(),
  originalContentUrl: z.string().optional(),
  previewImageUrl: z.string().optional(),
});

/**
 * A message's content. `type` and `id` are always there; the rest depends on the type, so every other field
 * is optional here and the normalizer reads what the type promises.
 * @see https://developers.line.biz/en/reference/messaging-api/#message-event
 */
export const LineMessageContentSchema = z.looseObject({
  type: z.string(),
  id: z.string().min(1),
  text: z.string().optional(),
  emojis: z.array(LineEmojiSchema).optional(),
  mention: z.looseObject({ mentionees: z.array(LineMentioneeSchema) }).optional(),
  quoteToken: z.string().optional(),
  quotedMessageId: z.string().optional(),
  contentProvider: LineContentProviderSchema.optional(),
  imageSet: z.looseObject({ id: z.string(), index: z.int().optional(), total: z.int().optional() }).optional(),
  /** Milliseconds (video, audio). */
  duration: z.number().nonnegative().optional(),
  fileName: z.string().optional(),
  fileSize: z.int().nonnegative().optional(),
  title: z.string().optional(),
  address: z.string().optional(),
  latitude: z.number().min(-90).max(90).optional(),
  longitude: z.number().min(-180).max(180).optional(),
  packageId: z.string().optional(),
  stickerId: z.string().optional(),
  stickerResourceType: z.string().optional(),
  keywords: z.array(z.string()).optional(),
});

/** @see https://developers.line.biz/en/reference/messaging-api/#message-event */
export const LineMessageEventSchema = z.looseObject({ type: z.literal('message'), ...common, message: LineMessageContentSchema });

/** @see https://developers.line.biz/en/reference/messaging-api/#postback-event */
export const LinePostbackEventSchema = z.looseObject({
  type: z.literal('postback'),
  ...common,
  postback: z.looseObject({ data: z.string(), params: z.record(z.string(), z.unknown()).optional() }),
});

/** @see https://developers.line.biz/en/reference/messaging-api/#unsend-event */
export const LineUnsendEventSchema = z.looseObject({
  type: z.literal('unsend'),
  ...common,
  unsend: z.looseObject({ messageId: z.string().min(1) }),
});

/** @see https://developers.line.biz/en/reference/messaging-api/#follow-event */
export const LineFollowEventSchema = z.looseObject({
  type: z.literal('follow'),
  ...common,
  follow: z.looseObject({ isUnblocked: z.boolean() }).optional(),
});

const members = z.looseObject({ members: z.array(LineSourceSchema) });

/** Events whose fields Parley reads only to say why they are ignored, or only from the common part. */
export const LineOtherKnownEventSchema = z.looseObject({
  type: z.enum(['unfollow', 'join', 'leave', 'memberJoined', 'memberLeft']),
  ...common,
  joined: members.optional(),
  left: members.optional(),
});

/** The events Parley reads. Any other `type` is ignored by name, never treated as an error. */
export const LineEventSchema = z.discriminatedUnion('type', [
  LineMessageEventSchema,
  LinePostbackEventSchema,
  LineUnsendEventSchema,
  LineFollowEventSchema,
  LineOtherKnownEventSchema,
]);

/** The event types {@link LineEventSchema} reads. */
export const LINE_HANDLED_EVENT_TYPES: ReadonlySet<string> = new Set([
  'message',
  'postback',
  'unsend',
  'follow',
  'unfollow',
  'join',
  'leave',
  'memberJoined',
  'memberLeft',
]);

/**
 * The body of a webhook POST: the bot's user id and zero or more events. An empty `events` is LINE's
 * verification request ("Verify" in the console), answered 200 like any other.
 * @see https://developers.line.biz/en/reference/messaging-api/#request-body
 * @see https://developers.line.biz/en/docs/messaging-api/verify-webhook-url/
 */
export const LineWebhookSchema = z.looseObject({
  destination: z.string().min(1),
  events: z.array(z.unknown()),
});

export type LineWebhook = z.infer<typeof LineWebhookSchema>;
export type LineEvent = z.infer<typeof LineEventSchema>;
export type LineSource = z.infer<typeof LineSourceSchema>;
export type LineMessageContent = z.infer<typeof LineMessageContentSchema>;
export type LineMessageEvent = z.infer<typeof LineMessageEventSchema>;
export type LinePostbackEvent = z.infer<typeof LinePostbackEventSchema>;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Parses a webhook body. Only a body that is not JSON is `malformed`; JSON without a LINE envelope is
 * `ignored`, since with "Webhook redelivery" on LINE resends what was refused and a resend cannot fix it.
 * @see https://developers.line.biz/en/docs/messaging-api/receiving-messages/#webhook-redelivery
 */
export const parseLineWebhook = (rawBody: Buffer): ParseResult<LineWebhook> => {
  let json: unknown;
  try {
    json = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return { kind: 'malformed', reason: 'body is not JSON' };
  }
  if (!isRecord(json)) return { kind: 'ignored', reason: 'not a LINE webhook: body is not a JSON object' };
  const result = LineWebhookSchema.safeParse(json);
  if (!result.success) {
    return { kind: 'ignored', reason: 'not a LINE webhook: needs a string destination and an events array' };
  }
  return { kind: 'ok', payload: result.data };
};
