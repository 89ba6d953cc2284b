/**
 * LINE webhook body → Parley events. One body carries any number of events, from any number of users and
 * groups: each is read on its own, in order, and one that cannot be read is listed in `ignored` without
 * costing the others. Pure; runs once per webhook and is benchmarked.
 * @see https://developers.line.biz/en/reference/messaging-api/#webhook-event-objects
 */
import type { Content, MediaRef, TextEntity } from '../../domain/content.ts';
import { EVENT_SCHEMA_VERSION, EVENT_TYPES } from '../../domain/events.ts';
import type { ConversationRef, MessageReceivedEvent, ParleyEvent, ReplyHandle, Sender } from '../../domain/events.ts';
import { deterministicId } from '../../domain/ids.ts';
import { LINE_BOT_USER_ID } from './line.bot-info.ts';
import type { NormalizeContext, NormalizeResult } from '../connector.ts';
import {
  LINE_HANDLED_EVENT_TYPES,
  LineEventSchema,
  type LineMessageContent,
  type LineMessageEvent,
  type LinePostbackEvent,
  type LineSource,
  type LineWebhook,
} from './line.schema.ts';

/** The largest instant a JS Date can hold, in ms. */
const MAX_DATE_MS = 8.64e15;

/** LINE timestamps are milliseconds. */
const isoFromMillis = (ms: number, fallback: string): string => (Math.abs(ms) <= MAX_DATE_MS ? new Date(ms).toISOString() : fallback);

/**
 * A sticker has no file to fetch: Parley names it `<packageId>:<stickerId>`, which is also what the sender
 * reads to send one.
 * @see https://developers.line.biz/en/reference/messaging-api/#wh-sticker
 */
export const lineStickerMediaId = (packageId: string, stickerId: string): string => `${packageId}:${stickerId}`;

/**
 * How long after the event Parley still answers with its reply token. LINE asks that a token be used within
 * about a minute and accepts it once; the margin covers the queue and the call itself. A token LINE refuses
 * costs only the fallback to push.
 * @see https://developers.line.biz/en/reference/messaging-api/#send-reply-message
 */
export const LINE_REPLY_TOKEN_LIFETIME_MS = 50_000;

/** The id of the `reply` message a postback becomes: postbacks have no message id of their own. */
export const linePostbackMessageId = (webhookEventId: string): string => `postback:${webhookEventId}`;

/**
 * Where an event happened: a user's one-to-one chat, or a group or multi-person chat ("room"), both of which
 * several people share.
 * @see https://developers.line.biz/en/reference/messaging-api/#source-group
 */
const conversationOf = (source: LineSource): ConversationRef | undefined => {
  switch (source.type) {
    case 'user':
      return source.userId ? { externalId: source.userId, kind: 'direct' } : undefined;
    case 'group':
      return source.groupId ? { externalId: source.groupId, kind: 'group' } : undefined;
    case 'room':
      return source.roomId ? { externalId: source.roomId, kind: 'group' } : undefined;
    default:
      return undefined;
  }
};

/**
 * The person who spoke. In groups and rooms LINE leaves `userId` out for users not on LINE for iOS or
 * Android; the conversation then stands in for the sender, as Telegram's anonymous admins do.
 * The webhook carries no display name (that needs the profile API).
 */
const senderOf = (source: LineSource, conversation: ConversationRef): Sender => ({
  externalUserId: source.userId ?? conversation.externalId,
});

/**
 * LINE emoji (shown in received text as a placeholder such as `(hello)`) and mentions, as entities. Indexes
 * are copied untouched: LINE counts UTF-16 code units, as JS strings do. Entities that do not fit the text
 * are dropped rather than passed on to break a renderer.
 * @see https://developers.line.biz/en/reference/messaging-api/#wh-text
 */
const entitiesOf = (message: LineMessageContent, text: string): TextEntity[] | undefined => {
  const entities: TextEntity[] = [];
  const fits = (index: number, length: number): boolean => length > 0 && index + length <= text.length;
  for (const emoji of message.emojis ?? []) {
    if (fits(emoji.index, emoji.length)) entities.push({ type: 'line_emoji', offset: emoji.index, length: emoji.length });
  }
  for (const mentionee of message.mention?.mentionees ?? []) {
    if (!fits(mentionee.index, mentionee.length)) continue;
    const entity: TextEntity = {
      type: mentionee.type === 'all' ? 'mention_all' : 'mention',
      offset: mentionee.index,
      length: mentionee.length,
    };
    if (mentionee.userId) entity.userId = mentionee.userId;
    entities.push(entity);
  }
  if (entities.length === 0) return undefined;
  return entities.sort((a, b) => a.offset - b.offset);
};

/**
 * Media content: `id` is the message id, the key of the content API
 * (`GET https://api-data.line.me/v2/bot/message/{id}/content`) for content LINE holds; content another
 * server holds (`contentProvider.type: external`) also has its URL.
 * @see https://developers.line.biz/en/reference/messaging-api/#get-content
 */
const mediaRefOf = (message: LineMessageContent): MediaRef => {
  const media: MediaRef = { id: message.id };
  const url = message.contentProvider?.type === 'external' ? message.contentProvider.originalContentUrl : undefined;
  if (url !== undefined && URL.canParse(url)) media.url = url;
  if (message.fileName) media.fileName = message.fileName;
  if (message.fileSize !== undefined) media.size = message.fileSize;
  if (message.duration !== undefined) media.durationSeconds = message.duration / 1000;
  return media;
};

const unsupported = (providerType: string): Content => ({ type: 'unsupported', providerType });

/** What a message says; a type LINE adds later arrives as `unsupported` under its own name. */
const contentOf = (message: LineMessageContent): Content => {
  switch (message.type) {
    case 'text': {
      const text = message.text;
      if (!text) return unsupported('text');
      // Byte-exact: entity offsets index into it, and the contract forbids normalization.
      const entities = entitiesOf(message, text);
      return entities ? { type: 'text', text, entities } : { type: 'text', text };
    }
    case 'image':
    case 'video':
    case 'audio':
      return { type: message.type, media: mediaRefOf(message) };
    case 'file':
      return { type: 'file', media: mediaRefOf(message) };
    case 'location': {
      if (message.latitude === undefined || message.longitude === undefined) return unsupported('location');
      const content: Content = { type: 'location', latitude: message.latitude, longitude: message.longitude };
      if (message.title) content.name = message.title;
      if (message.address) content.address = message.address;
      return content;
    }
    case 'sticker':
      if (!message.packageId || !message.stickerId) return unsupported('sticker');
      return { type: 'sticker', media: { id: lineStickerMediaId(message.packageId, message.stickerId) } };
    default:
      return unsupported(message.type || 'message');
  }
};

type Result = { events: ParleyEvent[]; ignored: string[] };

interface Envelope {
  readonly accountId: string;
  readonly webhookEventId: string;
  readonly occurredAt: string;
  readonly receivedAt: string;
  readonly replyHandle: ReplyHandle | undefined;
}

/**
 * The event's reply token as a reply handle, valid {@link LINE_REPLY_TOKEN_LIFETIME_MS} from the event's
 * time (the receipt time when the event's cannot be read). None for a redelivered event: its token was
 * issued with the first delivery, which was answered or has let it go stale, and a redelivery's `timestamp`
 * is the original event's.
 * @see https://developers.line.biz/en/docs/messaging-api/receiving-messages/#webhook-redelivery
 */
const replyHandleOf = (replyToken: string | undefined, occurredAt: string, isRedelivery: boolean | undefined): ReplyHandle | undefined => {
  if (!replyToken || isRedelivery === true) return undefined;
  const expiresMs = Date.parse(occurredAt) + LINE_REPLY_TOKEN_LIFETIME_MS;
  return Math.abs(expiresMs) <= MAX_DATE_MS ? { value: replyToken, expiresAt: new Date(expiresMs).toISOString() } : undefined;
};

const eventIdOf = (accountId: string, webhookEventId: string): string => deterministicId('evt', 'line', accountId, webhookEventId);

// Events are built as whole object literals: normalize is on the hot path, and V8 builds a literal of
// fixed shape faster than one assembled from spread pieces.

const messageReceived = (
  envelope: Envelope,
  externalMessageId: string,
  sender: Sender,
  conversation: ConversationRef,
  content: Content,
): MessageReceivedEvent => ({
  schemaVersion: EVENT_SCHEMA_VERSION,
  eventId: eventIdOf(envelope.accountId, envelope.webhookEventId),
  channel: 'line',
  accountId: envelope.accountId,
  providerEventId: envelope.webhookEventId,
  occurredAt: envelope.occurredAt,
  receivedAt: envelope.receivedAt,
  type: EVENT_TYPES.messageReceived,
  direction: 'inbound',
  externalMessageId,
  sender,
  conversation,
  content,
});

/** `quotedMessageId`: the customer quoted an earlier message. @see https://developers.line.biz/en/reference/messaging-api/#wh-text */
const normalizeMessage = (
  event: LineMessageEvent,
  envelope: Envelope,
  conversation: ConversationRef,
  source: LineSource,
  result: Result,
): void => {
  const received = messageReceived(envelope, event.message.id, senderOf(source, conversation), conversation, contentOf(event.message));
  if (event.message.quotedMessageId) received.replyTo = { externalMessageId: event.message.quotedMessageId };
  if (envelope.replyHandle) received.replyHandle = envelope.replyHandle;
  result.events.push(received);
};

/**
 * The value a date/time picker returns, which is what the customer chose; rich-menu switches and plain
 * postbacks return none.
 * @see https://developers.line.biz/en/reference/messaging-api/#postback-params-object
 */
const pickedValue = (params: Readonly<Record<string, unknown>> | undefined): string | undefined => {
  for (const key of ['datetime', 'date', 'time'] as const) {
    const value = params?.[key];
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
};

/**
 * A tapped postback action (a quick reply Parley sent, a rich menu, a template button, a date/time picker)
 * becomes a `reply` whose payload is the action's `data`, exactly as set. LINE does not say which label was
 * tapped, so the text is the picked date/time when the action was a picker, else the data itself.
 * @see https://developers.line.biz/en/reference/messaging-api/#postback-event
 */
const normalizePostback = (
  event: LinePostbackEvent,
  envelope: Envelope,
  conversation: ConversationRef,
  source: LineSource,
  result: Result,
): void => {
  const { data, params } = event.postback;
  const content: Content = { type: 'reply', text: pickedValue(params) ?? data, payload: data };
  const received = messageReceived(
    envelope,
    linePostbackMessageId(envelope.webhookEventId),
    senderOf(source, conversation),
    conversation,
    content,
  );
  if (envelope.replyHandle) received.replyHandle = envelope.replyHandle;
  result.events.push(received);
};

/** Why each kind of membership event is not stored: none of them is something a customer said. */
const MEMBERSHIP_NOTES: Readonly<Record<string, string>> = {
  join: 'the LINE account joined',
  leave: 'the LINE account left or was removed from',
  memberJoined: 'members joined',
  memberLeft: 'members left',
};

const normalizeEvent = (raw: unknown, index: number, accountId: string, context: NormalizeContext, result: Result): void => {
  const record = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : undefined;
  const rawType = typeof record?.['type'] === 'string' ? record['type'] : undefined;
  const rawId = record?.['webhookEventId'];
  const where = typeof rawId === 'string' && rawId !== '' ? `event ${rawId}` : `event #${index}`;
  if (rawType === undefined || !LINE_HANDLED_EVENT_TYPES.has(rawType)) {
    result.ignored.push(`${where}: ${rawType === undefined ? 'has no type' : `${rawType} events are not handled`}`);
    return;
  }
  const parsed = LineEventSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    result.ignored.push(
      `${where} (${rawType}) is not readable: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`,
    );
    return;
  }
  const event = parsed.data;
  const label = `event ${event.webhookEventId} (${event.type})`;
  const source = event.source;
  const conversation = source ? conversationOf(source) : undefined;
  if (source === undefined || conversation === undefined) {
    result.ignored.push(`${label}: no user, group or room source`);
    return;
  }
  const occurredAt = isoFromMillis(event.timestamp, context.receivedAt);
  const envelope: Envelope = {
    accountId,
    webhookEventId: event.webhookEventId,
    occurredAt,
    receivedAt: context.receivedAt,
    replyHandle: replyHandleOf(event.replyToken, occurredAt, event.deliveryContext?.isRedelivery),
  };
  switch (event.type) {
    case 'message':
      normalizeMessage(event, envelope, conversation, source, result);
      return;
    case 'postback':
      normalizePostback(event, envelope, conversation, source, result);
      return;
    case 'unsend':
      // The customer took the message back; LINE asks that it be hidden. The port has no deletion event, so
      // the stored content is replaced by an `unsupported` "unsend" marker through an edit.
      // @see https://developers.line.biz/en/reference/messaging-api/#unsend-event
      result.events.push({
        schemaVersion: EVENT_SCHEMA_VERSION,
        eventId: eventIdOf(accountId, event.webhookEventId),
        channel: 'line',
        accountId,
        providerEventId: event.webhookEventId,
        occurredAt: envelope.occurredAt,
        receivedAt: context.receivedAt,
        type: EVENT_TYPES.messageEdited,
        direction: 'inbound',
        externalMessageId: event.unsend.messageId,
        editedAt: envelope.occurredAt,
        sender: senderOf(source, conversation),
        conversation,
        content: unsupported('unsend'),
      });
      return;
    case 'unfollow':
      // Blocked: LINE delivers nothing more to this user until they unblock (a `follow` with isUnblocked).
      // @see https://developers.line.biz/en/reference/messaging-api/#unfollow-event
      if (source.type !== 'user' || !source.userId) {
        result.ignored.push(`${label}: not from a user`);
        return;
      }
      result.events.push({
        schemaVersion: EVENT_SCHEMA_VERSION,
        eventId: eventIdOf(accountId, event.webhookEventId),
        channel: 'line',
        accountId,
        providerEventId: event.webhookEventId,
        occurredAt: envelope.occurredAt,
        receivedAt: context.receivedAt,
        type: EVENT_TYPES.identityUnreachable,
        externalUserId: source.userId,
        reason: 'blocked the LINE account (unfollow)',
      });
      return;
    case 'follow':
      // Nothing was said; the port has no "reachable again" event for an unblock.
      result.ignored.push(
        `${label}: ${conversation.externalId} ${event.follow?.isUnblocked ? 'unblocked the LINE account' : 'added the LINE account as a friend'}`,
      );
      return;
    case 'join':
    case 'leave':
    case 'memberJoined':
    case 'memberLeft':
      result.ignored.push(`${label}: ${MEMBERSHIP_NOTES[event.type]} ${source.type} ${conversation.externalId}`);
      return;
  }
};

/**
 * The events a webhook body means, one Parley event at most per LINE event, in the body's order. Event ids
 * derive from `webhookEventId`, which a redelivery (`deliveryContext.isRedelivery`) repeats, so a
 * redelivered event lands on the records the first delivery made. An empty `events` is the console's
 * verification request: nothing to do. Events in `standby` mode (another channel holds chat control) are
 * kept like any other: the customer said it, even if this bot may not answer. Never throws for a parsed body.
 *
 * The account is `context.accountId`, the account whose credentials verified the body (the webhook path
 * learns a channel's bot user id through its access token). The body's `destination` only has to agree: a
 * body naming another bot is dropped whole, since a channel secret signs for its own bot alone and must not
 * put events into another account's threads. Only when the bot could not be learned (no access token) is
 * the context an account name rather than a bot user id; the events then land in that account, never in the
 * bot the body names.
 * @see https://developers.line.biz/en/reference/messaging-api/#request-body
 * @see https://developers.line.biz/en/docs/messaging-api/receiving-messages/#webhook-redelivery
 */
export const normalizeLineWebhook = (webhook: LineWebhook, context: NormalizeContext): NormalizeResult => {
  const result: Result = { events: [], ignored: [] };
  if (LINE_BOT_USER_ID.test(context.accountId) && webhook.destination !== context.accountId) {
    result.ignored.push(`destination ${webhook.destination} is not this account's bot ${context.accountId}: body dropped`);
    return result;
  }
  for (const [index, raw] of webhook.events.entries()) normalizeEvent(raw, index, context.accountId, context, result);
  return result;
};
