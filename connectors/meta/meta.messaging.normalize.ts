/**
 * Messenger and Instagram `messaging[]`/`standby[]` items → Parley events. The two platforms share the
 * Messenger Platform's event format; where they differ (Instagram's `messaging_seen` names a message,
 * Messenger's `read` only a watermark; Instagram alone has story mentions and unsends) the differences
 * are in the payload, so one normalizer serves both.
 *
 * Decisions, per event kind:
 * - Every entry × (`messaging[]` then `standby[]`) × item is read, never only the first. `standby` items
 *   (another app owns the thread under the handover protocol) are normalized exactly like `messaging`
 *   ones: the customer's message is the same message, and Parley should show it either way.
 * - `accountId` is the Page / Instagram account the item belongs to: `recipient.id` for what the customer
 *   did, `sender.id` for echoes (the business is the sender). One POST may carry several accounts' entries,
 *   so the webhook URL's account (`context.accountId`) is not used for them; the webhook path keeps only the
 *   events of accounts whose own credentials verify the request (`domain/ingest.ts`).
 * - The App Dashboard "Test" button sends a sample `messages` item as `changes[].value` of an entry with id
 *   `"0"` (string timestamps in seconds, made-up ids). It is normalized like a real message, in the account
 *   whose credentials verified it (`context.accountId`): the sample's recipient names no real account, and a
 *   new user clicking "Test" should see the message arrive. Its ids are the sample's, so clicking twice
 *   stores it once. Any other `changes[]` item is not a messaging notification: listed in `ignored`.
 * - A message with several attachments becomes one event per attachment; the first keeps the `mid`, the
 *   others get `mid#2`, `mid#3`… The Messenger sticker transition (an `image` with `sticker_id` and a
 *   `sticker` attachment for the same sticker) and Instagram post shares (`share` + `ig_post`) are
 *   deduplicated by sticker id, media id or URL first.
 * - Quick replies and postbacks (Instagram ice breakers included) become `reply` content.
 * - Reactions become `reaction` content; an `unreact` has an empty emoji.
 * - `read` with a `mid` (Instagram) is a `read` status of that message. A Messenger `read` carries only a
 *   watermark: every message sent to that customer before that instant was read. The event format has no
 *   "everything up to" status and normalize sees one body only, so a watermark becomes `read` statuses for
 *   the business's messages to that customer that the same body names (echoes and `delivery.mids` at or
 *   before the watermark), and is otherwise listed in `ignored`. Messenger sends `delivery` events (which do
 *   name their `mids`) before reads, so those messages still reach `delivered`.
 * - `delivery.mids` become one `delivered` status each; a delivery without `mids` is ignored likewise.
 * - Echoes (`is_echo`) are `message.received` with direction `outbound`. Their `metadata` (which Parley's
 *   sender sets to Parley's own message id) is put in `originMessageId`, so the store can recognize its own
 *   message even when the echo arrives before the send response was recorded.
 * - `message_edit` becomes `message.edited` with the new text. Instagram's unsend (`is_deleted`) becomes
 *   `message.edited` whose content is `unsupported` (`message_unsend`): the stored text is replaced, as the
 *   customer asked by unsending it, and the thread keeps a trace that a message was there.
 * - Referrals (ads, m.me / ig.me links), opt-ins, handover and policy events carry no customer message:
 *   listed in `ignored`.
 * - Story mentions are `unsupported` (`story_mention`): Meta forbids storing story media, and Parley's
 *   media worker copies every media URL it is given. A story reply is the reply's text with
 *   `replyTo: story:<story id>`.
 *
 * @see https://developers.facebook.com/docs/messenger-platform/reference/webhook-events
 * @see https://developers.facebook.com/docs/messenger-platform/handover-protocol (standby)
 * @see https://developers.facebook.com/docs/instagram-platform/webhooks/examples
 * @see https://developers.facebook.com/docs/messenger-platform/instagram/features/story-mention
 */
import type { Channel, Content, MediaRef } from '../../domain/content.ts';
import { EVENT_SCHEMA_VERSION, EVENT_TYPES } from '../../domain/events.ts';
import type { MessageEditedEvent, MessageReceivedEvent, ParleyEvent, Sender } from '../../domain/events.ts';
import { deterministicId } from '../../domain/ids.ts';
import type { NormalizeContext, NormalizeResult } from '../connector.ts';
import type {
  MetaAttachment,
  MetaMessage,
  MetaMessagingEntry,
  MetaMessagingEvent,
  MetaMessagingItem,
  MetaMessagingPayload,
} from './meta.messaging.schema.ts';

export type MetaMessagingChannel = Extract<Channel, 'messenger' | 'instagram'>;

/** The content type an unsent Instagram message is replaced with. */
export const UNSENT_PROVIDER_TYPE = 'message_unsend';

/** 9999-12-31T23:59:59.999Z: later instants have no plain ISO 8601 form (`+010000-…`). */
const MAX_ISO_MS = 253_402_300_799_999;

/** Meta timestamps are Unix milliseconds; an absurd one falls back to the time of receipt. */
const isoFromMillis = (ms: number | undefined, fallback: string): string =>
  ms !== undefined && Number.isFinite(ms) && ms >= 0 && ms <= MAX_ISO_MS ? new Date(Math.trunc(ms)).toISOString() : fallback;

const isHttpUrl = (value: string | undefined): value is string => {
  if (value === undefined || !URL.canParse(value)) return false;
  const protocol = new URL(value).protocol;
  return protocol === 'https:' || protocol === 'http:';
};

interface Result {
  readonly events: ParleyEvent[];
  readonly ignored: string[];
}

/** Messages the business sent, per `account:customer`, that a body names (echoes, deliveries), with their time. */
type KnownOutbound = ReadonlyMap<string, readonly { readonly mid: string; readonly at: number }[]>;

interface ItemContext {
  readonly channel: MetaMessagingChannel;
  readonly context: NormalizeContext;
  /** Computed on the first read watermark only: most bodies have none. */
  readonly outbound: () => KnownOutbound;
  readonly entry: MetaMessagingEntry;
  /** `messaging` or `standby`, for the log. */
  readonly source: string;
  readonly index: number;
}

const where = (item: ItemContext): string => `entry ${item.entry.id} ${item.source}[${item.index}]`;

const eventIdOf = (item: ItemContext, accountId: string, ...parts: string[]): string =>
  deterministicId('evt', item.channel, accountId, ...parts);

const mediaRef = (url: string, id?: string): MediaRef => (id === undefined ? { url } : { id, url });

/** One part of a message's content, with the key used to drop Meta's duplicate attachments. */
interface Part {
  readonly content: Content;
  readonly key: string | undefined;
}

/**
 * One attachment's content. Shares and reels are the shared media itself, titled by their caption.
 * @see https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages
 * @see https://developers.facebook.com/docs/instagram-platform/webhooks/new (share → ig_post)
 */
const attachmentPart = (attachment: MetaAttachment): Part => {
  const payload = attachment.payload ?? undefined;
  const url = payload?.url;
  const unsupported = (): Part => ({ content: { type: 'unsupported', providerType: attachment.type }, key: undefined });
  switch (attachment.type) {
    case 'image':
    case 'sticker': {
      const stickerId = payload?.sticker_id;
      if (stickerId !== undefined || attachment.type === 'sticker') {
        // Until 30 Aug 2026 a Messenger sticker comes twice: as an image with sticker_id and as a sticker.
        if (!isHttpUrl(url))
          return stickerId === undefined
            ? unsupported()
            : { content: { type: 'sticker', media: { id: stickerId } }, key: `sticker:${stickerId}` };
        return {
          content: { type: 'sticker', media: mediaRef(url, stickerId) },
          key: stickerId === undefined ? `url:${url}` : `sticker:${stickerId}`,
        };
      }
      return isHttpUrl(url) ? { content: { type: 'image', media: { url } }, key: `url:${url}` } : unsupported();
    }
    case 'video':
    case 'audio':
    case 'file':
      return isHttpUrl(url) ? { content: { type: attachment.type, media: { url } }, key: `url:${url}` } : unsupported();
    case 'share':
    case 'ig_post':
    case 'post': {
      if (!isHttpUrl(url)) return unsupported();
      const mediaId = payload?.ig_post_media_id;
      const content: Content = { type: 'image', media: mediaRef(url, mediaId) };
      if (payload?.title) content.caption = payload.title;
      return { content, key: mediaId === undefined ? `url:${url}` : `post:${mediaId}` };
    }
    case 'ig_reel':
    case 'reel': {
      if (!isHttpUrl(url)) return unsupported();
      const videoId = payload?.reel_video_id;
      const content: Content = { type: 'video', media: mediaRef(url, videoId) };
      if (payload?.title) content.caption = payload.title;
      return { content, key: videoId === undefined ? `url:${url}` : `reel:${videoId}` };
    }
    case 'location': {
      const point = payload?.coordinates;
      if (point === undefined) return unsupported();
      const content: Content = { type: 'location', latitude: point.lat, longitude: point.long };
      if (payload?.title) content.name = payload.title;
      return { content, key: undefined };
    }
    default:
      // story_mention (Meta forbids storing story media), fallback, appointment_booking, and types to come.
      return unsupported();
  }
};

/** The parts of a message, in order, without duplicates. */
const partsOf = (message: MetaMessage): Content[] => {
  const parts: Content[] = [];
  const seen = new Set<string>();
  const media: Content[] = [];
  for (const attachment of message.attachments ?? []) {
    // A link the customer typed arrives as its text plus a `fallback` preview of the same link.
    if (attachment.type === 'fallback' && message.text) continue;
    const part = attachmentPart(attachment);
    if (part.key !== undefined) {
      if (seen.has(part.key)) continue;
      seen.add(part.key);
    }
    media.push(part.content);
  }
  const text = message.text;
  if (text !== undefined && text !== '') {
    if (message.quick_reply !== undefined) parts.push({ type: 'reply', text, payload: message.quick_reply.payload });
    else {
      const only = media.length === 1 ? media[0] : undefined;
      if (
        only !== undefined &&
        (only.type === 'image' || only.type === 'video' || only.type === 'audio' || only.type === 'file') &&
        only.caption === undefined
      ) {
        return [{ ...only, caption: text }];
      }
      parts.push({ type: 'text', text });
    }
  }
  parts.push(...media);
  if (parts.length === 0 && message.is_unsupported) parts.push({ type: 'unsupported', providerType: 'is_unsupported' });
  return parts;
};

const partId = (mid: string, index: number): string => (index === 0 ? mid : `${mid}#${index + 1}`);

const normalizeMessage = (item: ItemContext, event: MetaMessagingEvent, message: MetaMessage, result: Result): void => {
  const { context } = item;
  const echo = message.is_echo === true;
  // For echoes the business is the sender and the customer the recipient.
  const accountId = echo ? event.sender.id : event.recipient.id;
  const customerId = echo ? event.recipient.id : event.sender.id;
  const occurredAt = isoFromMillis(event.timestamp, context.receivedAt);
  if (message.is_deleted) {
    const unsend: MessageEditedEvent = {
      schemaVersion: EVENT_SCHEMA_VERSION,
      eventId: eventIdOf(item, accountId, 'unsend', message.mid),
      channel: item.channel,
      accountId,
      occurredAt,
      receivedAt: context.receivedAt,
      type: EVENT_TYPES.messageEdited,
      direction: echo ? 'outbound' : 'inbound',
      externalMessageId: message.mid,
      editedAt: occurredAt,
      sender: { externalUserId: event.sender.id },
      conversation: { externalId: customerId, kind: 'direct' },
      content: { type: 'unsupported', providerType: UNSENT_PROVIDER_TYPE },
    };
    result.events.push(unsend);
    return;
  }
  const parts = partsOf(message);
  if (parts.length === 0) {
    result.ignored.push(`${where(item)}: message ${message.mid} has no content`);
    return;
  }
  const sender: Sender = { externalUserId: event.sender.id };
  const story = message.reply_to?.story;
  const replyTo = message.reply_to?.mid
    ? { externalMessageId: message.reply_to.mid }
    : story?.id !== undefined
      ? { externalMessageId: `story:${story.id}` }
      : undefined;
  parts.forEach((content, index) => {
    const externalMessageId = partId(message.mid, index);
    const received: MessageReceivedEvent = {
      schemaVersion: EVENT_SCHEMA_VERSION,
      eventId: eventIdOf(item, accountId, echo ? 'echo' : 'message', externalMessageId),
      channel: item.channel,
      accountId,
      occurredAt,
      receivedAt: context.receivedAt,
      type: EVENT_TYPES.messageReceived,
      direction: echo ? 'outbound' : 'inbound',
      externalMessageId,
      sender,
      conversation: { externalId: customerId, kind: 'direct' },
      content,
    };
    if (echo && message.metadata) received.originMessageId = message.metadata;
    if (replyTo !== undefined && index === 0) received.replyTo = replyTo;
    result.events.push(received);
  });
};

/** A customer-side event (postback, reaction): inbound, from the sender, to the recipient account. */
const inbound = (
  item: ItemContext,
  event: MetaMessagingEvent,
  kind: string,
  externalMessageId: string,
  content: Content,
): MessageReceivedEvent => ({
  schemaVersion: EVENT_SCHEMA_VERSION,
  eventId: eventIdOf(item, event.recipient.id, kind, externalMessageId),
  channel: item.channel,
  accountId: event.recipient.id,
  occurredAt: isoFromMillis(event.timestamp, item.context.receivedAt),
  receivedAt: item.context.receivedAt,
  type: EVENT_TYPES.messageReceived,
  direction: 'inbound',
  externalMessageId,
  sender: { externalUserId: event.sender.id },
  conversation: { externalId: event.sender.id, kind: 'direct' },
  content,
});

const statusEvent = (
  item: ItemContext,
  event: MetaMessagingEvent,
  status: 'delivered' | 'read',
  mid: string,
  atMillis: number | undefined,
  /** Set for statuses derived from a watermark: two watermarks may cover the same message. */
  watermark?: number,
): ParleyEvent => ({
  schemaVersion: EVENT_SCHEMA_VERSION,
  eventId:
    watermark === undefined
      ? eventIdOf(item, event.recipient.id, status, mid)
      : eventIdOf(item, event.recipient.id, status, mid, String(watermark)),
  channel: item.channel,
  accountId: event.recipient.id,
  occurredAt: isoFromMillis(atMillis, item.context.receivedAt),
  receivedAt: item.context.receivedAt,
  type: EVENT_TYPES.messageStatus,
  externalMessageId: mid,
  status,
  recipient: { externalUserId: event.sender.id },
});

const PAYLOAD_KEYS = ['message', 'postback', 'reaction', 'read', 'delivery', 'message_edit'] as const;
const KNOWN_ENVELOPE_KEYS: ReadonlySet<string> = new Set(['sender', 'recipient', 'timestamp', ...PAYLOAD_KEYS]);

const normalizeEvent = (item: ItemContext, event: MetaMessagingEvent, result: Result): void => {
  if (event.message) {
    normalizeMessage(item, event, event.message, result);
    return;
  }
  if (event.postback) {
    const { postback } = event;
    const payload = postback.payload ?? '';
    const title = postback.title ?? payload;
    // Postbacks had no mid before 2020; a tap is then identified by who tapped what, when.
    const id = postback.mid ?? `postback:${event.sender.id}:${String(event.timestamp ?? 0)}:${payload}`;
    result.events.push(inbound(item, event, 'postback', id, { type: 'reply', text: title, payload }));
    return;
  }
  if (event.reaction) {
    const { reaction } = event;
    const emoji = reaction.action === 'unreact' ? '' : (reaction.emoji ?? reaction.reaction ?? '');
    // Reactions have no id of their own: who reacted to which message, how, and when identifies one.
    const id = `reaction:${event.sender.id}:${reaction.mid}:${reaction.action}:${String(event.timestamp ?? 0)}`;
    result.events.push(inbound(item, event, 'reaction', id, { type: 'reaction', emoji, targetExternalId: reaction.mid }));
    return;
  }
  if (event.read) {
    const { read } = event;
    if (read.mid !== undefined) {
      result.events.push(statusEvent(item, event, 'read', read.mid, event.timestamp));
      return;
    }
    const watermark = read.watermark ?? event.timestamp;
    const covered = (item.outbound().get(`${event.recipient.id}:${event.sender.id}`) ?? []).filter(
      (sent) => watermark !== undefined && sent.at <= watermark,
    );
    for (const sent of covered) result.events.push(statusEvent(item, event, 'read', sent.mid, event.timestamp ?? watermark, watermark));
    if (covered.length === 0) {
      result.ignored.push(
        `${where(item)}: read watermark ${String(read.watermark)} from ${event.sender.id} names no message (every earlier message was read)`,
      );
    }
    return;
  }
  if (event.delivery) {
    const { delivery } = event;
    const mids = [...new Set(delivery.mids ?? [])];
    if (mids.length === 0) {
      result.ignored.push(`${where(item)}: delivery watermark ${String(delivery.watermark)} from ${event.sender.id} names no message`);
      return;
    }
    for (const mid of mids) {
      result.events.push(statusEvent(item, event, 'delivered', mid, event.timestamp ?? delivery.watermark, delivery.watermark));
    }
    return;
  }
  if (event.message_edit) {
    const edit = event.message_edit;
    if (edit.text === undefined) {
      result.ignored.push(`${where(item)}: edit of ${edit.mid} has no text`);
      return;
    }
    const at = isoFromMillis(event.timestamp, item.context.receivedAt);
    const edited: MessageEditedEvent = {
      schemaVersion: EVENT_SCHEMA_VERSION,
      eventId: eventIdOf(item, event.recipient.id, 'edit', edit.mid, String(edit.num_edit ?? event.timestamp ?? 0)),
      channel: item.channel,
      accountId: event.recipient.id,
      occurredAt: at,
      receivedAt: item.context.receivedAt,
      type: EVENT_TYPES.messageEdited,
      direction: 'inbound',
      externalMessageId: edit.mid,
      editedAt: at,
      sender: { externalUserId: event.sender.id },
      conversation: { externalId: event.sender.id, kind: 'direct' },
      content: edit.text === '' ? { type: 'unsupported', providerType: 'message_edit' } : { type: 'text', text: edit.text },
    };
    result.events.push(edited);
    return;
  }
  const kind = Object.keys(event).find((key) => !KNOWN_ENVELOPE_KEYS.has(key));
  result.ignored.push(
    kind === undefined
      ? `${where(item)}: no event in the item`
      : `${where(item)}: ${kind} events carry no customer message and are not handled`,
  );
};

/** The business's messages each customer was sent, as far as this body tells: for read watermarks. */
const knownOutbound = (payload: MetaMessagingPayload): KnownOutbound => {
  const known = new Map<string, { mid: string; at: number }[]>();
  const add = (key: string, mid: string, at: number | undefined): void => {
    if (at === undefined) return;
    const list = known.get(key) ?? [];
    if (!list.some((sent) => sent.mid === mid)) list.push({ mid, at });
    known.set(key, list);
  };
  for (const entry of payload.entry) {
    for (const parsed of [...entry.messaging, ...entry.standby]) {
      if (!parsed.ok) continue;
      const { event } = parsed;
      if (event.message?.is_echo) add(`${event.sender.id}:${event.recipient.id}`, event.message.mid, event.timestamp);
      const delivery = event.delivery;
      if (delivery)
        for (const mid of delivery.mids ?? []) add(`${event.recipient.id}:${event.sender.id}`, mid, delivery.watermark ?? event.timestamp);
    }
  }
  return known;
};

const normalizeItems = (
  channel: MetaMessagingChannel,
  context: NormalizeContext,
  outbound: () => KnownOutbound,
  entry: MetaMessagingEntry,
  source: string,
  items: readonly MetaMessagingItem[],
  result: Result,
): void => {
  items.forEach((parsed, index) => {
    const item: ItemContext = { channel, context, outbound, entry, source, index };
    if (!parsed.ok) result.ignored.push(`${where(item)} is not readable: ${parsed.reason}`);
    else normalizeEvent(item, parsed.event, result);
  });
};

/** The entry id of the App Dashboard's "Test" samples. */
const TEST_ENTRY_ID = '0';

/** A dashboard sample's item, its made-up business side replaced by the account that verified it. */
const asVerifyingAccount = (event: MetaMessagingEvent, accountId: string): MetaMessagingEvent =>
  event.message?.is_echo === true
    ? { ...event, sender: { ...event.sender, id: accountId } }
    : { ...event, recipient: { ...event.recipient, id: accountId } };

const normalizeChanges = (
  channel: MetaMessagingChannel,
  context: NormalizeContext,
  outbound: () => KnownOutbound,
  entry: MetaMessagingEntry,
  result: Result,
): void => {
  entry.changes.forEach((change, index) => {
    const item: ItemContext = { channel, context, outbound, entry, source: 'changes', index };
    if (entry.id !== TEST_ENTRY_ID || change.item === undefined) {
      result.ignored.push(`${where(item)} (field ${change.field}) is not a messaging notification`);
    } else if (!change.item.ok) {
      result.ignored.push(`${where(item)} is not readable: ${change.item.reason}`);
    } else {
      normalizeEvent(item, asVerifyingAccount(change.item.event, context.accountId), result);
    }
  });
};

/**
 * The events a Messenger or Instagram webhook body means. Pure; never throws for a parsed payload.
 * `context.accountId` is used for the App Dashboard's samples only: every real item names its own Page or
 * account.
 */
export const normalizeMetaMessaging = (
  channel: MetaMessagingChannel,
  payload: MetaMessagingPayload,
  context: NormalizeContext,
): NormalizeResult => {
  const result: Result = { events: [], ignored: [] };
  let known: KnownOutbound | undefined;
  const outbound = (): KnownOutbound => (known ??= knownOutbound(payload));
  for (const entry of payload.entry) {
    normalizeItems(channel, context, outbound, entry, 'messaging', entry.messaging, result);
    normalizeItems(channel, context, outbound, entry, 'standby', entry.standby, result);
    normalizeChanges(channel, context, outbound, entry, result);
    if (entry.messaging.length === 0 && entry.standby.length === 0 && entry.changes.length === 0) {
      result.ignored.push(`entry ${entry.id}: no messaging items`);
    }
  }
  return result;
};
