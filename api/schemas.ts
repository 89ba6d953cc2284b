/**
 * The integrator API's request and response shapes, as zod schemas built from the domain's own. The
 * router validates with them and `openapi.ts` publishes them, so the document cannot drift from what
 * the API accepts and answers.
 */
import * as z from 'zod';
import { ChannelSchema, ContentSchema, OUTBOUND_CONTENT_TYPES, type ContentType, type OutboundContent } from '../domain/content.ts';
import { AccountSchema, ACCOUNT_ID_PATTERN, MessageSchema, MessageTagSchema, ThreadSchema } from '../domain/model.ts';

/** At most this many quick replies on one outbound text (each channel shows its own maximum natively). */
export const MAX_QUICK_REPLIES = 100;

/** Largest request body accepted, in bytes; larger ones are answered 413 without being parsed. */
export const MAX_API_BODY_BYTES = 256 * 1024;

export const PAGE_LIMIT = { min: 1, max: 100, default: 50 } as const;

/** How long an idempotency key keeps answering with its first response. */
export const IDEMPOTENCY_TTL_HOURS = 24;

/** Every error code the API answers with, and its HTTP status. */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_cursor: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  idempotency_key_reused: 409,
  idempotency_key_in_use: 409,
  credentials_managed_elsewhere: 409,
  account_reserved: 409,
  already_exists: 409,
  agent_unavailable: 409,
  agent_at_capacity: 409,
  capacity_below_load: 409,
  agent_has_threads: 409,
  invalid_control_change: 409,
  not_assigned: 409,
  thread_not_open: 409,
  control_held: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  invalid_status_change: 422,
  rate_limited: 429,
  media_not_copied: 404,
  media_too_large: 413,
  unsupported_content: 422,
  channel_not_in_thread: 422,
  channel_unavailable: 422,
  unknown_channel: 422,
  outside_messaging_window: 422,
  no_consent: 422,
  invalid_template: 422,
  templates_unavailable: 422,
  internal: 500,
  unavailable: 503,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;
const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

export const ErrorSchema = z
  .object({
    code: z.enum(ERROR_CODES).describe('Machine-readable; stable across releases'),
    message: z.string().describe('For people; may change'),
    details: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('More about the error; for invalid_request, `issues` lists each problem with its path'),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof ErrorSchema>;

type ContentOption = (typeof ContentSchema.options)[number];
type OptionFor<T extends ContentType> = Extract<ContentOption, { shape: { type: z.ZodLiteral<T> } }>;
/** The content union's member for one type, so the outbound union reuses the very same schemas. */
const option = <T extends ContentType>(type: T): OptionFor<T> => {
  const found = ContentSchema.options.find((o) => o.shape.type.value === type);
  if (!found) throw new Error(`ContentSchema has no ${type} member`);
  return found as OptionFor<T>;
};

/** Content an integrator may send: the members of {@link ContentSchema} named in `OUTBOUND_CONTENT_TYPES`. */
export const OutboundContentSchema = z
  .discriminatedUnion('type', [
    option('text'),
    option('image'),
    option('audio'),
    option('video'),
    option('file'),
    option('sticker'),
    option('location'),
    option('list'),
    option('template'),
  ])
  .meta({ id: 'OutboundContent', description: `Content an agent can send: ${OUTBOUND_CONTENT_TYPES.join(', ')}` });
// Compile-time proof that the union above is exactly the domain's outbound content.
const _outboundMatchesDomain: z.ZodType<OutboundContent> = OutboundContentSchema;
void _outboundMatchesDomain;

export const PostMessageRequestSchema = z
  .strictObject({
    content: OutboundContentSchema,
    channel: ChannelSchema.optional().describe("One of the thread's channels; by default the channel the customer wrote on most recently"),
    messageTag: MessageTagSchema.optional().describe(
      "Sends with this message tag, for channels that have them (Messenger, Instagram): `human_agent` lets a person answer up to 7 days after the customer's last message. Refused on channels without tags",
    ),
  })
  // A bound on what is sent; stored messages of old are read without it.
  .refine((request) => request.content.type !== 'text' || (request.content.quickReplies?.length ?? 0) <= MAX_QUICK_REPLIES, {
    message: `at most ${MAX_QUICK_REPLIES} quick replies`,
    path: ['content', 'quickReplies'],
  })
  .meta({ id: 'PostMessageRequest' });
export type PostMessageRequest = z.infer<typeof PostMessageRequestSchema>;

/**
 * A registration. `channel` is any string here, so that a channel this deployment does not serve is
 * answered `unknown_channel` (422) rather than as a malformed body.
 */
export const RegisterAccountRequestSchema = z
  .strictObject({
    channel: z.string().min(1).describe('A channel enabled on this deployment'),
    accountId: z
      .string()
      .regex(ACCOUNT_ID_PATTERN, 'letters, digits, `_`, `.` or `-`, at most 64')
      .describe("The account's id on the channel (bot id, page id, phone number id, ...)"),
    name: AccountSchema.shape.name,
    credentials: z
      .record(z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,63}$/, 'a credential name such as `appSecret`'), z.string().min(1).max(4096))
      .optional()
      .describe(
        "The account's own credentials, by the channel's credential names (docs/channels.md): at least those its webhooks need. Kept in the deployment's secret store (Secrets Manager in AWS), never answered back; sending them again replaces them. Not accepted for the `default` account, whose credentials the deployment sets",
      ),
  })
  .meta({ id: 'RegisterAccountRequest' });
export type RegisterAccountRequest = z.infer<typeof RegisterAccountRequestSchema>;

export const RegisteredAccountSchema = AccountSchema.extend({
  webhookUrl: z.string().describe("The path the provider's webhooks for this account go to, below the webhook base URL"),
  configured: z
    .boolean()
    .optional()
    .describe("Whether the account's inbound credentials are in place; absent where this deployment cannot tell"),
}).meta({ id: 'RegisteredAccount' });
export type RegisteredAccount = z.infer<typeof RegisteredAccountSchema>;

export const AccountListSchema = z
  .object({ items: z.array(RegisteredAccountSchema).describe('Ordered by channel, then account id') })
  .meta({ id: 'AccountList' });

export const AccountListQuerySchema = z.object({
  channel: ChannelSchema.optional().describe('Only the accounts of this channel'),
});

export const ThreadPageSchema = z
  .object({
    items: z.array(ThreadSchema),
    nextCursor: z.string().optional().describe('Present when there is more: pass it as `cursor` for the next page'),
  })
  .meta({ id: 'ThreadPage' });

export const MessagePageSchema = z
  .object({
    items: z.array(MessageSchema).describe('Oldest first'),
    nextCursor: z.string().optional().describe('Present when there is more: pass it as `cursor` for the next page'),
  })
  .meta({ id: 'MessagePage' });

// Query strings arrive as text: `limit` is coerced, then held to its range.
const limit = z.coerce.number<string>().int().min(PAGE_LIMIT.min).max(PAGE_LIMIT.max).default(PAGE_LIMIT.default).describe('Page size');
const cursor = z.string().min(1).optional().describe("The previous page's `nextCursor`");

export const ThreadListQuerySchema = z.object({
  channel: ChannelSchema,
  externalUserId: z.string().min(1).describe("The person's id on that channel (Telegram user id, LINE userId, ...)"),
  limit,
  cursor,
});

export const MessageListQuerySchema = z.object({ limit, cursor });

/** Printable ASCII without spaces, up to 255 characters: room for a UUID or a caller's own request id. */
export const IdempotencyKeySchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
  .describe(
    `Makes a retry safe: the same key with the same request answers with the first response, for ${IDEMPOTENCY_TTL_HOURS} hours; with another request, 409`,
  );

export const ThreadIdSchema = z.string().min(1).describe('A thread id');
export const MessageIdSchema = z.string().min(1).describe('A message id');

/**
 * Largest media the API answers inline. A Lambda response carries at most 6 MB, and binary bodies are
 * base64-encoded (4/3 larger); the local runtime keeps the same limit so both behave alike.
 */
export const MAX_INLINE_MEDIA_BYTES = 4 * 1024 * 1024;

/** How long a download link to larger media lives: long enough to start a download, short enough to be spent. */
export const MEDIA_LINK_SECONDS = 300;

export const MediaLinkSchema = z
  .object({
    url: z.string().describe('A link to the media, valid without credentials until `expiresAt`; the `Location` header holds it too'),
    expiresAt: z.string().describe('When the link stops working, ISO 8601 UTC'),
    size: z.int().nonnegative().describe('Size in bytes'),
    contentType: z.string(),
  })
  .meta({ id: 'MediaLink' });
