/**
 * The webhook body Messenger (`object: "page"`) and Instagram (`object: "instagram"`) send for direct
 * messages, as zod schemas, and the parser both connectors use. Neither platform publishes a
 * machine-readable definition; these shapes come from the reference pages named on each schema.
 *
 * Every object is loose (Meta adds fields without notice) and each `messaging[]`/`standby[]` item is
 * parsed on its own: one unreadable item is reported and skipped, never costing the other items of a
 * batch (one POST may carry up to 1000 updates for several Pages or accounts).
 *
 * @see https://developers.facebook.com/docs/messenger-platform/reference/webhook-events
 * @see https://developers.facebook.com/docs/instagram-platform/webhooks/examples
 * @see https://developers.facebook.com/docs/graph-api/webhooks/getting-started#event-notifications
 */
import * as z from 'zod';
import type { ParseResult } from '../connector.ts';

/** Meta ids are JSON strings; `app_id` is a number. Both are kept as strings. */
const metaId = z.union([z.string().min(1), z.number()]).transform(String);
/** Event timestamps are Unix milliseconds. */
const millis = z.number().finite();

const party = z.looseObject({ id: metaId });

/**
 * `payload` differs per attachment type: `url` for media, `sticker_id` on Messenger stickers,
 * `title`/`ig_post_media_id` on Instagram post shares, `reel_video_id` on reels, `coordinates` on legacy
 * Messenger locations. A `fallback` attachment may have no payload at all.
 * @see https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages
 * @see https://developers.facebook.com/docs/instagram-platform/webhooks/examples
 */
export const MetaAttachmentSchema = z.looseObject({
  type: z.string().min(1),
  payload: z
    .looseObject({
      url: z.string().optional(),
      title: z.string().optional(),
      sticker_id: metaId.optional(),
      ig_post_media_id: metaId.optional(),
      reel_video_id: metaId.optional(),
      coordinates: z.looseObject({ lat: z.number().min(-90).max(90), long: z.number().min(-180).max(180) }).optional(),
    })
    .nullish(),
});

/**
 * `message`: a customer's message or, with `is_echo`, one the business sent. `reply_to` quotes a message
 * (`mid`) or, on Instagram, a story (`story`).
 * @see https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages
 * @see https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/message-echoes
 */
export const MetaMessageSchema = z.looseObject({
  mid: z.string().min(1),
  text: z.string().optional(),
  is_echo: z.boolean().optional(),
  app_id: metaId.optional(),
  metadata: z.string().optional(),
  is_deleted: z.boolean().optional(),
  is_unsupported: z.boolean().optional(),
  quick_reply: z.looseObject({ payload: z.string() }).optional(),
  reply_to: z
    .looseObject({
      mid: z.string().min(1).optional(),
      story: z.looseObject({ id: metaId.optional(), url: z.string().optional() }).optional(),
    })
    .optional(),
  attachments: z.array(MetaAttachmentSchema).optional(),
});

/** @see https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messaging_postbacks */
export const MetaPostbackSchema = z.looseObject({
  mid: z.string().min(1).optional(),
  title: z.string().optional(),
  // Postbacks delivered on `standby` carry no payload.
  payload: z.string().optional(),
});

/** @see https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/message-reactions */
export const MetaReactionSchema = z.looseObject({
  mid: z.string().min(1),
  action: z.string(),
  reaction: z.string().optional(),
  emoji: z.string().optional(),
});

/**
 * Messenger: `watermark` (every message sent before it was read). Instagram `messaging_seen`: the `mid`
 * of the message seen.
 * @see https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/message-reads
 */
export const MetaReadSchema = z.looseObject({ watermark: millis.optional(), mid: z.string().min(1).optional() });

/** @see https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/message-deliveries */
export const MetaDeliverySchema = z.looseObject({ mids: z.array(z.string().min(1)).optional(), watermark: millis.optional() });

/** @see https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/message-edits */
export const MetaMessageEditSchema = z.looseObject({
  mid: z.string().min(1),
  text: z.string().optional(),
  num_edit: z.number().optional(),
});

/**
 * One item of `entry[].messaging[]` or `entry[].standby[]`: the two parties, a time, and exactly one
 * payload key. `timestamp` is missing on some delivery events (their watermark is used instead).
 * @see https://developers.facebook.com/docs/messenger-platform/reference/webhook-events
 */
export const MetaMessagingEventSchema = z.looseObject({
  sender: party,
  recipient: party,
  timestamp: millis.optional(),
  message: MetaMessageSchema.optional(),
  postback: MetaPostbackSchema.optional(),
  reaction: MetaReactionSchema.optional(),
  read: MetaReadSchema.optional(),
  delivery: MetaDeliverySchema.optional(),
  message_edit: MetaMessageEditSchema.optional(),
});

/**
 * The App Dashboard "Test" button's sample for the `messages` field (Messenger and Instagram alike): the same
 * item as a real one, but inside `entry[].changes[].value` of an entry with id `"0"`, its `timestamp` a
 * string of Unix seconds, its ids made up (sender `12334`, recipient `23245`). Meta publishes no schema of
 * the samples; this is the shape the dashboard sends.
 * @see https://developers.facebook.com/docs/instagram-platform/webhooks#event-notifications
 */
export const MetaTestMessageSchema = MetaMessagingEventSchema.extend({
  timestamp: z
    .union([
      millis,
      z
        .string()
        .regex(/^\d{1,11}$/)
        .transform((seconds) => Number(seconds) * 1000),
    ])
    .optional(),
});

export type MetaMessagingEvent = z.infer<typeof MetaMessagingEventSchema>;
export type MetaMessage = z.infer<typeof MetaMessageSchema>;
export type MetaAttachment = z.infer<typeof MetaAttachmentSchema>;

/** An item that could be read, or the reason it could not. */
export type MetaMessagingItem = { readonly ok: true; readonly event: MetaMessagingEvent } | { readonly ok: false; readonly reason: string };

/** One `changes[]` item: its field and, for a `messages` sample, the item it carries. */
export interface MetaChange {
  readonly field: string;
  /** Set for field `messages` only, read with {@link MetaTestMessageSchema}. */
  readonly item?: MetaMessagingItem;
}

export interface MetaMessagingEntry {
  /** The Page id (Messenger) or Instagram professional account id; `"0"` in the App Dashboard's samples. */
  readonly id: string;
  readonly time?: number;
  readonly messaging: readonly MetaMessagingItem[];
  readonly standby: readonly MetaMessagingItem[];
  /** `changes[]` items: the App Dashboard's "Test" button sends those instead of `messaging`. */
  readonly changes: readonly MetaChange[];
}

/** A parsed webhook body of one of the two messaging platforms. */
export interface MetaMessagingPayload {
  readonly object: string;
  readonly entry: readonly MetaMessagingEntry[];
}

const EnvelopeSchema = z.looseObject({
  object: z.string(),
  entry: z.array(
    z.looseObject({
      id: metaId,
      time: z.number().optional(),
      messaging: z.array(z.unknown()).optional(),
      standby: z.array(z.unknown()).optional(),
      changes: z.array(z.unknown()).optional(),
    }),
  ),
});

const describeIssue = (issue: z.core.$ZodIssue): string => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`;

const readItem = (item: unknown, schema: typeof MetaMessagingEventSchema | typeof MetaTestMessageSchema): MetaMessagingItem => {
  const result = schema.safeParse(item);
  if (result.success) return { ok: true, event: result.data };
  const first = result.error.issues[0];
  return { ok: false, reason: first ? describeIssue(first) : 'invalid' };
};

const readItems = (items: readonly unknown[] | undefined): MetaMessagingItem[] =>
  (items ?? []).map((item) => readItem(item, MetaMessagingEventSchema));

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const readChange = (change: unknown): MetaChange => {
  const field = isRecord(change) && typeof change['field'] === 'string' ? change['field'] : '(no field)';
  if (field !== 'messages' || !isRecord(change)) return { field };
  return { field, item: readItem(change['value'], MetaTestMessageSchema) };
};

/**
 * Parses a webhook body of the given `object` (`page` or `instagram`). Only a body that is not JSON is
 * `malformed`: Meta retries any non-2xx answer for hours and unsubscribes an app whose webhook keeps
 * failing, and a retry cannot make a bad body good, so well-formed JSON that is not a messaging
 * notification is `ignored`.
 * @see https://developers.facebook.com/docs/messenger-platform/webhooks#requirements
 */
export const parseMetaMessaging = (rawBody: Buffer, object: string): ParseResult<MetaMessagingPayload> => {
  let json: unknown;
  try {
    json = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return { kind: 'malformed', reason: 'body is not JSON' };
  }
  const result = EnvelopeSchema.safeParse(json);
  if (!result.success) {
    const first = result.error.issues[0];
    return { kind: 'ignored', reason: `not a Meta webhook notification: ${first ? describeIssue(first) : 'invalid'}` };
  }
  const envelope = result.data;
  if (envelope.object !== object) {
    return { kind: 'ignored', reason: `webhook for object "${envelope.object}", expected "${object}"` };
  }
  return {
    kind: 'ok',
    payload: {
      object: envelope.object,
      entry: envelope.entry.map((entry) => ({
        id: entry.id,
        ...(entry.time !== undefined && { time: entry.time }),
        messaging: readItems(entry.messaging),
        standby: readItems(entry.standby),
        changes: (entry.changes ?? []).map(readChange),
      })),
    },
  };
};
