/**
 * The normalized event format, version 1. Every connector turns its provider's webhook into these;
 * everything downstream of the bus reads only these. Consumers validate what they read with
 * {@link ParleyEventSchema}; `docs/events.md` and `docs/schemas/parley-event.v1.json` describe it for
 * people and for other languages.
 *
 * On EventBridge each event is one entry with `Source` = {@link EVENT_SOURCE}, `DetailType` = the event's
 * `type`, and `Detail` = the event itself.
 */
import * as z from 'zod';
import { ChannelSchema, ContentSchema } from './content.ts';

export const EVENT_SCHEMA_VERSION = 1;

/** EventBridge `source` of every event a connector emits. */
export const EVENT_SOURCE = 'parley.connectors';

/** EventBridge `detail-type`s, one per event type. */
export const EVENT_TYPES = {
  messageReceived: 'message.received',
  messageEdited: 'message.edited',
  messageStatus: 'message.status',
  identityUnreachable: 'identity.unreachable',
  providerAction: 'provider.action.requested',
} as const;
export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

const isoInstant = z.iso.datetime({ offset: false }).describe('ISO 8601 instant in UTC');

/** Who sent a message, as the channel identifies them. */
export const SenderSchema = z
  .object({
    externalUserId: z.string().min(1).describe("The provider's id of the person (or bot, or channel) who sent it"),
    displayName: z.string().optional(),
    username: z.string().optional(),
    languageCode: z.string().optional(),
    isBot: z.boolean().optional(),
    verifiedPhone: z
      .string()
      .optional()
      .describe("The sender's own phone number (E.164) when the provider vouches for it (a WhatsApp number is its user's id)"),
  })
  .meta({ id: 'Sender' });
export type Sender = z.infer<typeof SenderSchema>;

/** Where a message was said: the provider's conversation it belongs to, and where replies go. */
export const ConversationRefSchema = z
  .object({
    externalId: z.string().min(1).describe("The provider's conversation id (Telegram chat.id, LINE groupId, ...)"),
    kind: z
      .enum(['direct', 'group', 'broadcast'])
      .describe('direct: one customer; group: several members share it; broadcast: a channel the business posts to'),
    title: z.string().optional(),
  })
  .meta({ id: 'ConversationRef' });
export type ConversationRef = z.infer<typeof ConversationRefSchema>;

/**
 * A one-time way to answer this message that the provider hands out with it and that expires soon (a LINE
 * reply token, a KakaoTalk callback URL). Opaque to everything but the channel's sender.
 */
export const ReplyHandleSchema = z
  .object({
    value: z.string().min(1),
    expiresAt: isoInstant,
  })
  .meta({ id: 'ReplyHandle' });
export type ReplyHandle = z.infer<typeof ReplyHandleSchema>;

/** The message a message answers, by the provider's id. */
export const ReplyContextSchema = z.object({ externalMessageId: z.string().min(1) }).meta({ id: 'ReplyContext' });

const envelope = {
  schemaVersion: z.literal(EVENT_SCHEMA_VERSION),
  eventId: z.string().min(1).describe('Deterministic from the provider ids: a redelivered webhook yields the same id'),
  channel: ChannelSchema,
  accountId: z.string().min(1).describe('The business account on the channel (bot, phone number id, page, LINE channel)'),
  providerEventId: z.string().min(1).optional().describe("The provider's id of the webhook event (Telegram update_id)"),
  occurredAt: isoInstant.describe('When the provider says it happened'),
  receivedAt: isoInstant.describe('When Parley received the webhook'),
};

/** A message posted in a conversation: by a customer (`inbound`) or an echo of the business's own (`outbound`). */
export const MessageReceivedSchema = z
  .object({
    ...envelope,
    type: z.literal(EVENT_TYPES.messageReceived),
    direction: z.enum(['inbound', 'outbound']),
    externalMessageId: z.string().min(1).describe('Unique per account: the idempotency key of the stored message'),
    sender: SenderSchema,
    conversation: ConversationRefSchema,
    content: ContentSchema,
    replyTo: ReplyContextSchema.optional(),
    replyHandle: ReplyHandleSchema.optional(),
    originMessageId: z
      .string()
      .min(1)
      .optional()
      .describe("On an echo: Parley's id of the message echoed, when the provider carries it back (Messenger metadata)"),
  })
  .meta({ id: 'MessageReceivedEvent' });

/** A customer edited a message already received. Replaces the stored content; never adds a message. */
export const MessageEditedSchema = z
  .object({
    ...envelope,
    type: z.literal(EVENT_TYPES.messageEdited),
    direction: z.enum(['inbound', 'outbound']),
    externalMessageId: z.string().min(1),
    editedAt: isoInstant,
    sender: SenderSchema,
    conversation: ConversationRefSchema,
    content: ContentSchema,
    replyTo: ReplyContextSchema.optional(),
  })
  .meta({ id: 'MessageEditedEvent' });

export const DELIVERY_STATUSES = ['queued', 'sent', 'delivered', 'read', 'failed'] as const;

/** The provider reports what became of a message the business sent. */
export const MessageStatusSchema = z
  .object({
    ...envelope,
    type: z.literal(EVENT_TYPES.messageStatus),
    externalMessageId: z.string().min(1),
    status: z.enum(['sent', 'delivered', 'read', 'failed']),
    recipient: z.object({ externalUserId: z.string().min(1) }).optional(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  })
  .meta({ id: 'MessageStatusEvent' });

/** The customer can no longer be reached on this channel (blocked the bot, unfollowed). */
export const IdentityUnreachableSchema = z
  .object({
    ...envelope,
    type: z.literal(EVENT_TYPES.identityUnreachable),
    externalUserId: z.string().min(1),
    reason: z.string().min(1),
  })
  .meta({ id: 'IdentityUnreachableEvent' });

/**
 * A call the provider expects in answer to a webhook (Telegram's answerCallbackQuery). Routed to the
 * outbound queue and carried out by the channel's sender, so the webhook is acknowledged at once and the
 * call is retried like any other outbound request.
 */
export const ProviderActionSchema = z
  .object({
    ...envelope,
    type: z.literal(EVENT_TYPES.providerAction),
    action: z.string().min(1).describe("The connector's name for the call"),
    params: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'ProviderActionEvent' });

export const ParleyEventSchema = z
  .discriminatedUnion('type', [
    MessageReceivedSchema,
    MessageEditedSchema,
    MessageStatusSchema,
    IdentityUnreachableSchema,
    ProviderActionSchema,
  ])
  .meta({ id: 'ParleyEvent', title: 'Parley normalized event, v1' });

export type ParleyEvent = z.infer<typeof ParleyEventSchema>;
export type MessageReceivedEvent = z.infer<typeof MessageReceivedSchema>;
export type MessageEditedEvent = z.infer<typeof MessageEditedSchema>;
export type MessageStatusEvent = z.infer<typeof MessageStatusSchema>;
export type IdentityUnreachableEvent = z.infer<typeof IdentityUnreachableSchema>;
export type ProviderActionEvent = z.infer<typeof ProviderActionSchema>;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
