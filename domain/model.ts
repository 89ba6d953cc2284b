/**
 * The records the integrator API shows: threads and their messages. Stored by the thread store,
 * read through `/v1`, and the source of the OpenAPI document's schemas.
 */
import * as z from 'zod';
import { ChannelSchema, ContentSchema } from './content.ts';
import { ConversationRefSchema, DELIVERY_STATUSES, ReplyHandleSchema } from './events.ts';

const isoInstant = z.iso.datetime({ offset: false });

export const THREAD_STATUSES = ['open', 'pending', 'snoozed', 'resolved'] as const;
export type ThreadStatus = (typeof THREAD_STATUSES)[number];

/** Where a reply on one channel goes: the account and the provider's conversation last used there. */
export const ChannelRouteSchema = z
  .object({
    channel: ChannelSchema,
    accountId: z.string().min(1),
    conversation: ConversationRefSchema,
    lastInboundAt: isoInstant,
    replyHandle: ReplyHandleSchema.optional().describe("The customer's last one-time reply handle, while it may still be valid"),
  })
  .meta({ id: 'ChannelRoute' });
export type ChannelRoute = z.infer<typeof ChannelRouteSchema>;

export const ThreadSchema = z
  .object({
    id: z.string(),
    contactId: z.string(),
    status: z.enum(THREAD_STATUSES),
    channels: z.array(ChannelSchema).describe('Every channel seen in this thread'),
    routes: z.array(ChannelRouteSchema).describe('Where replies go, per channel; the most recent first'),
    createdAt: isoInstant,
    lastMessageAt: isoInstant,
  })
  .meta({ id: 'Thread' });
export type Thread = z.infer<typeof ThreadSchema>;

export const AuthorSchema = z
  .object({
    role: z.enum(['customer', 'agent', 'bot', 'system']),
    id: z.string().optional().describe('Contact id for customers; the agent or key id for agents'),
    externalUserId: z.string().optional().describe("The author's id on the channel"),
    displayName: z.string().optional(),
  })
  .meta({ id: 'Author' });
export type Author = z.infer<typeof AuthorSchema>;

export const MESSAGE_STATUSES = ['received', ...DELIVERY_STATUSES] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export const FailureSchema = z
  .object({
    kind: z.enum(['retryable', 'permanent', 'authentication', 'rate_limited', 'invalid_request']),
    code: z.string().optional().describe("The provider's error code"),
    message: z.string(),
    attempts: z.int().positive().optional(),
  })
  .meta({ id: 'Failure' });
export type Failure = z.infer<typeof FailureSchema>;

/**
 * Parley's own copy of a message's media (S3 in AWS, the data dir locally), made by the media copier
 * because provider URLs expire (WhatsApp's within minutes). Kept beside the content, not inside it, so an
 * edit that replaces the content keeps it, and integrators cannot set it through the content they send.
 */
export const MediaCopySchema = z
  .object({
    key: z.string().min(1).describe("The object's key in Parley's media storage"),
    contentType: z.string().min(1),
    size: z.int().nonnegative().describe('Size in bytes'),
    copiedAt: isoInstant,
  })
  .meta({ id: 'MediaCopy' });
export type MediaCopy = z.infer<typeof MediaCopySchema>;

/**
 * Why an outbound message may be delivered outside the channel's messaging window: Meta's message tags,
 * named neutrally. `human_agent`: a person answering within 7 days of the customer's last message.
 * @see https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags
 */
export const MESSAGE_TAGS = ['human_agent', 'account_update', 'confirmed_event_update', 'post_purchase_update'] as const;
export const MessageTagSchema = z.enum(MESSAGE_TAGS).meta({ id: 'MessageTag' });
export type MessageTag = z.infer<typeof MessageTagSchema>;

/** Why a business writes first: what the customer needs to know (an order shipped), or promotion. */
export const PURPOSES = ['transactional', 'marketing'] as const;
export const PurposeSchema = z.enum(PURPOSES).meta({ id: 'Purpose' });
export type Purpose = z.infer<typeof PurposeSchema>;

/**
 * What makes an outbound message a proactive one (a notification, alone or in a campaign): it is sent on the
 * proactive lane, paced and behind replies to waiting customers (see domain/delivery/).
 */
export const NotificationMetaSchema = z
  .object({
    purpose: PurposeSchema,
    campaignId: z.string().optional().describe('The campaign it belongs to'),
    recipient: z.int().nonnegative().optional().describe("Its recipient's position in the campaign"),
    to: z.string().optional().describe('The channel id it goes to, for a customer who has never written on that channel'),
  })
  .meta({ id: 'NotificationMeta' });
export type NotificationMeta = z.infer<typeof NotificationMetaSchema>;

export const MessageSchema = z
  .object({
    id: z.string(),
    threadId: z.string(),
    direction: z.enum(['inbound', 'outbound']),
    channel: ChannelSchema,
    accountId: z.string(),
    externalId: z.string().optional().describe("The provider's message id (the first, when a long text was split)"),
    externalIds: z.array(z.string()).optional().describe('Every provider message id, when one message became several'),
    occurredAt: isoInstant,
    editedAt: isoInstant.optional().describe('When the content was last edited; `occurredAt` stays when it was first sent'),
    history: z
      .array(z.object({ content: ContentSchema, replacedAt: isoInstant.describe('When an edit replaced it') }))
      .optional()
      .describe('Earlier contents of an edited message, oldest first'),
    author: AuthorSchema,
    content: ContentSchema,
    replyTo: z.object({ externalMessageId: z.string() }).optional(),
    messageTag: MessageTagSchema.optional().describe('Outbound: the message tag it was sent with, where the channel has them'),
    notification: NotificationMetaSchema.optional().describe('Outbound: set on notifications and campaign messages'),
    status: z.enum(MESSAGE_STATUSES),
    failure: FailureSchema.optional(),
    mediaCopy: MediaCopySchema.optional().describe(
      "Present once the media is copied into Parley's storage: fetch it from `GET /v1/threads/{threadId}/messages/{messageId}/media`",
    ),
  })
  .meta({ id: 'Message' });
export type Message = z.infer<typeof MessageSchema>;

/** Account ids the API accepts: they become a URL path segment (`/webhooks/{channel}/{accountId}`) and a key part. */
export const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * A channel account registered through the integrator API: a bot, page or phone number Parley serves.
 * Registering records it; its credentials live in the secret store, not here.
 */
export const AccountSchema = z
  .object({
    channel: ChannelSchema,
    accountId: z.string().regex(ACCOUNT_ID_PATTERN).describe("The account's id on the channel (bot id, page id, phone number id, ...)"),
    name: z.string().min(1).max(200).optional().describe('A name for people'),
    createdAt: isoInstant.describe('When it was first registered'),
  })
  .meta({ id: 'Account' });
export type Account = z.infer<typeof AccountSchema>;
