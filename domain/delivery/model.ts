/**
 * The records of proactive delivery, as zod schemas (types are inferred from them; the OpenAPI document and the
 * domain events' JSON Schema are generated from them): the consent ledger, the template registry, campaigns and
 * their recipients, pacing turns and notifications. The rules over them are in the files beside this one.
 */
import * as z from 'zod';
import { ChannelSchema, TemplateParameterSchema, type Channel, type OutboundContent } from '../content.ts';
import { ActorSchema } from '../conversations/model.ts';
import { FailureSchema, MESSAGE_STATUSES, PurposeSchema, type Purpose } from '../model.ts';
import { IsoInstantSchema } from '../shared/time.ts';

// ---- consent ----

export const CONSENT_STATUSES = ['opted_in', 'opted_out'] as const;

export const ConsentEntrySchema = z
  .object({
    id: z.string(),
    contactId: z.string(),
    channel: ChannelSchema.optional().describe('The channel it applies to; absent: every channel'),
    purpose: PurposeSchema,
    status: z.enum(CONSENT_STATUSES),
    source: z.string().min(1).max(100).describe('Where it came from: `api`, `keyword` (the customer wrote an opt-out word), a form, …'),
    detail: z.string().max(200).optional().describe('For a keyword: what the customer wrote'),
    by: ActorSchema,
    at: IsoInstantSchema.describe('When the contact gave or withdrew it'),
    recordedAt: IsoInstantSchema,
  })
  .meta({ id: 'ConsentEntry' });
export type ConsentEntry = z.infer<typeof ConsentEntrySchema>;

/** The scope a consent state is kept for: a purpose on one channel, or on every channel. */
export interface ConsentScope {
  readonly contactId: string;
  readonly channel?: Channel | undefined;
  readonly purpose: Purpose;
}

// ---- templates ----

export const TEMPLATE_CATEGORIES = ['marketing', 'utility', 'authentication'] as const;
export const TEMPLATE_STATES = ['approved', 'pending', 'rejected', 'paused', 'disabled'] as const;
export const TEMPLATE_BUTTON_TYPES = ['quick_reply', 'url', 'phone_number', 'copy_code', 'otp', 'flow', 'other'] as const;

export const TemplateSchema = z
  .object({
    channel: ChannelSchema,
    accountId: z.string().min(1),
    name: z.string().regex(/^[a-z0-9_]{1,512}$/),
    language: z.string().regex(/^[a-z]{2,3}(_[A-Za-z0-9]{2,8})?$/),
    category: z
      .enum(TEMPLATE_CATEGORIES)
      .describe("Marketing templates need the contact's marketing opt-in, whatever the request's purpose"),
    status: z.enum(TEMPLATE_STATES),
    header: z
      .object({ format: z.enum(['text', 'image', 'video', 'document', 'location']), parameters: z.int().min(0).max(1) })
      .optional()
      .describe('A text header with `{{1}}`, or a media header, takes one parameter'),
    body: z
      .union([
        z.object({ kind: z.literal('positional'), count: z.int().min(0).max(100) }),
        z.object({ kind: z.literal('named'), names: z.array(z.string().regex(/^[a-z0-9_]{1,64}$/)).max(100) }),
      ])
      .describe('The body placeholders: `{{1}}`…`{{n}}`, or named ones'),
    buttons: z
      .array(
        z.object({
          index: z.int().min(0).max(9),
          type: z.enum(TEMPLATE_BUTTON_TYPES),
          dynamic: z.boolean().describe('A URL button with a placeholder: takes a `urlSuffix`'),
        }),
      )
      .max(10),
    source: z.enum(['provider', 'api']).describe('Read from the provider, or registered through the API'),
    updatedAt: IsoInstantSchema,
  })
  .meta({ id: 'Template' });
export type Template = z.infer<typeof TemplateSchema>;

// ---- recipients and campaigns ----

export const RecipientRefSchema = z
  .union([
    z.strictObject({
      channel: ChannelSchema,
      externalUserId: z
        .string()
        .min(1)
        .max(256)
        .describe("The person's id on the channel; for WhatsApp, their phone number (E.164 or digits)"),
      accountId: z
        .string()
        .min(1)
        .max(64)
        .optional()
        .describe("The business account to write from; default: the channel's default account"),
    }),
    z.strictObject({ contactId: z.string().min(1).max(200) }),
  ])
  .meta({ id: 'RecipientRef' });
export type RecipientRef = z.infer<typeof RecipientRefSchema>;

export const CAMPAIGN_STATES = ['draft', 'scheduled', 'running', 'completed', 'cancelled'] as const;
export const RECIPIENT_STATES = ['pending', 'queued', 'sent', 'delivered', 'read', 'failed', 'skipped', 'cancelled'] as const;
export type RecipientState = (typeof RECIPIENT_STATES)[number];

/** A template's placeholders for one recipient; they replace the campaign's own. */
export const RecipientParametersSchema = z
  .strictObject({
    header: TemplateParameterSchema.optional(),
    body: z
      .union([z.array(z.string().min(1).max(1024)).min(1), z.record(z.string().regex(/^[a-z0-9_]{1,64}$/), z.string().min(1).max(1024))])
      .optional(),
    buttons: z
      .array(
        z.object({
          index: z.int().min(0).max(9),
          payload: z.string().min(1).max(1000).optional(),
          urlSuffix: z.string().min(1).max(2000).optional(),
        }),
      )
      .optional(),
  })
  .meta({ id: 'RecipientParameters' });
export type RecipientParameters = z.infer<typeof RecipientParametersSchema>;

export const CampaignSchema = z
  .object({
    id: z.string(),
    status: z.enum(CAMPAIGN_STATES).describe('`completed`: every recipient was dispatched (their messages may still be on their way)'),
    name: z.string().max(200).optional(),
    purpose: PurposeSchema,
    channel: ChannelSchema.optional().describe('The channel contacts are written on; default: the one each wrote on last'),
    content: z.custom<OutboundContent>().describe('What each recipient gets (a template, with their parameters)'),
    ratePerSecond: z.number().positive(),
    scheduledAt: IsoInstantSchema.optional(),
    recipients: z.int().nonnegative().describe('How many recipients it has'),
    dispatched: z.int().nonnegative().describe('How many the dispatcher has handled, in order'),
    hop: z.int().nonnegative(),
    enqueuedHop: z.int().nonnegative(),
    pageAt: IsoInstantSchema.optional(),
    createdBy: ActorSchema,
    createdAt: IsoInstantSchema,
    updatedAt: IsoInstantSchema,
    startedAt: IsoInstantSchema.optional(),
    completedAt: IsoInstantSchema.optional(),
    cancelledAt: IsoInstantSchema.optional(),
  })
  .meta({ id: 'CampaignRecord' });
export type Campaign = z.infer<typeof CampaignSchema>;

export const CampaignRecipientSchema = z
  .object({
    campaignId: z.string(),
    seq: z.int().nonnegative().describe('Its position in the campaign'),
    to: RecipientRefSchema,
    parameters: RecipientParametersSchema.optional(),
    state: z.enum(RECIPIENT_STATES),
    messageId: z.string().optional(),
    threadId: z.string().optional(),
    contactId: z.string().optional(),
    channel: ChannelSchema.optional(),
    reason: z.object({ code: z.string(), message: z.string() }).optional().describe('Why it was skipped or failed'),
    updatedAt: IsoInstantSchema,
  })
  .meta({ id: 'CampaignRecipient' });
export type CampaignRecipient = z.infer<typeof CampaignRecipientSchema>;

/** Which recipient of a campaign a contact is: the first listed gets the message, the others are skipped. */
export interface RecipientMark {
  readonly campaignId: string;
  readonly contactId: string;
  readonly seq: number;
}

/** Per-state counts of one shard of a campaign's recipients (`pending` is what the others leave of the total). */
export interface CampaignCounter {
  readonly campaignId: string;
  readonly shard: number;
  readonly counts: Readonly<Partial<Record<RecipientState, number>>>;
}

/** The failure code of a campaign message the sender did not send because its campaign was cancelled. */
export const CAMPAIGN_CANCELLED = 'campaign_cancelled';

// ---- pacing and notifications ----

/** An account's (or a conversation's) place in its provider's rate (see pacing.ts). */
export interface PacingState {
  readonly key: string;
  /** The theoretical arrival time of the next call, epoch milliseconds. */
  readonly tat: number;
}

/** Finds a notification (a proactive message sent alone) by its id, which is its message's id. */
export interface NotificationPointer {
  readonly id: string;
  readonly threadId: string;
  readonly contactId: string;
  readonly createdAt: string;
}

export const NotificationSchema = z
  .object({
    id: z.string().describe("The notification's id, which is also its message's id (in `message.*` events)"),
    status: z.enum(MESSAGE_STATUSES).describe('`queued` → `sent` → `delivered` → `read`, or `failed`'),
    failure: FailureSchema.optional().describe('Why it failed'),
    purpose: PurposeSchema,
    channel: z.string(),
    accountId: z.string(),
    threadId: z.string(),
    contactId: z.string(),
    externalId: z.string().optional().describe("The provider's message id, once sent"),
    campaignId: z.string().optional(),
    createdAt: IsoInstantSchema,
  })
  .meta({ id: 'Notification' });
export type Notification = z.infer<typeof NotificationSchema>;
