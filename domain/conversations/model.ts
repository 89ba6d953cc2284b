/**
 * One customer, one history: contacts with their channel identities, the one thread per contact, and the
 * records the integrator API shows. Types are inferred from these schemas; the OpenAPI document and the
 * domain events' JSON Schema are generated from them.
 */
import * as z from 'zod';
import { ChannelSchema } from '../content.ts';
import { ConversationRefSchema, ReplyHandleSchema } from '../events.ts';
import { IsoInstantSchema } from '../shared/time.ts';

export { AuthorSchema, FailureSchema, MediaCopySchema, MessageSchema, MessageTagSchema, MESSAGE_STATUSES } from '../model.ts';
export type { Author, Failure, MediaCopy, Message, MessageStatus, MessageTag } from '../model.ts';

/** Who made a change: a person or program behind an API key, an agent, the system itself, or a customer. */
export const ActorSchema = z
  .object({
    type: z.enum(['api_key', 'agent', 'system', 'customer']),
    id: z.string().optional().describe('The API key id, agent id or contact id'),
  })
  .meta({ id: 'Actor' });
export type Actor = z.infer<typeof ActorSchema>;

export const SYSTEM: Actor = { type: 'system' };

/** Free-form data an integrator keeps on a contact or thread. */
export const AttributesSchema = z
  .record(z.string().min(1).max(64), z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]))
  .refine((a) => Object.keys(a).length <= 50, { message: 'at most 50 attributes' })
  .meta({ id: 'Attributes' });
export type Attributes = z.infer<typeof AttributesSchema>;

/** One person (or group) on one account of one channel: the key under which the provider knows them. */
export const IdentityKeySchema = z.object({
  channel: ChannelSchema,
  accountId: z.string().min(1),
  externalUserId: z.string().min(1).describe("The provider's id of the person, group or chat"),
});
export type IdentityKey = z.infer<typeof IdentityKeySchema>;

/** Why an identity belongs to its contact, and who decided. */
export const LinkSchema = z.object({
  reason: z.enum(['first_contact', 'verified_phone', 'api_link', 'merge']),
  by: ActorSchema,
  at: IsoInstantSchema,
});
export type Link = z.infer<typeof LinkSchema>;

export const IdentitySchema = IdentityKeySchema.extend({
  kind: ConversationRefSchema.shape.kind,
  displayName: z.string().optional(),
  /** A phone number the provider vouches for as this person's (a WhatsApp number). */
  verifiedPhone: z.string().optional(),
  contactId: z.string(),
  threadId: z.string().describe("The contact's thread, where this identity's messages go"),
  unreachable: z.object({ reason: z.string(), since: IsoInstantSchema }).optional(),
  link: LinkSchema,
  createdAt: IsoInstantSchema,
}).meta({ id: 'Identity' });
export type Identity = z.infer<typeof IdentitySchema>;

/** What the API shows of an identity, inside its contact. */
export const ContactIdentitySchema = IdentitySchema.pick({
  channel: true,
  accountId: true,
  externalUserId: true,
  kind: true,
  displayName: true,
  link: true,
  unreachable: true,
}).meta({ id: 'ContactIdentity' });
export type ContactIdentity = z.infer<typeof ContactIdentitySchema>;

/** A merge as recorded on the surviving contact: enough to undo it. */
export const MergeRecordSchema = z
  .object({
    contactId: z.string().describe('The contact merged into this one'),
    threadId: z.string().describe("Its thread, now read as part of the survivor's thread"),
    identities: z.array(IdentityKeySchema).describe('The identities it brought'),
    profile: z.object({
      name: z.string().optional(),
      phone: z.string().optional(),
      email: z.string().optional(),
      locale: z.string().optional(),
    }),
    filled: z
      .array(z.enum(['name', 'phone', 'email', 'locale']))
      .optional()
      .describe("The survivor's profile fields the merge filled in; unmerging empties those that still hold the merged contact's values"),
    reason: z.string(),
    by: ActorSchema,
    at: IsoInstantSchema,
  })
  .meta({ id: 'MergeRecord' });
export type MergeRecord = z.infer<typeof MergeRecordSchema>;

export const CONTACT_STATES = ['active', 'merged', 'erased'] as const;

export const ContactSchema = z
  .object({
    id: z.string(),
    state: z.enum(CONTACT_STATES).describe('merged: folded into `mergedInto`; erased: its personal data was deleted'),
    name: z.string().max(200).optional(),
    phone: z.string().max(32).optional().describe('E.164, as the contact or a provider gave it'),
    phoneVerified: z.boolean().optional().describe('A provider vouched for the phone number'),
    email: z.string().max(254).optional(),
    locale: z.string().max(35).optional(),
    attributes: AttributesSchema,
    identities: z.array(ContactIdentitySchema),
    threadId: z.string().describe("The contact's one thread, across its channels"),
    mergedInto: z.string().optional(),
    merges: z.array(MergeRecordSchema).describe('Contacts merged into this one, newest last'),
    createdAt: IsoInstantSchema,
    updatedAt: IsoInstantSchema,
  })
  .meta({ id: 'Contact' });
export type Contact = z.infer<typeof ContactSchema>;

export const THREAD_STATUSES = ['open', 'pending', 'snoozed', 'resolved'] as const;
export const ThreadStatusSchema = z.enum(THREAD_STATUSES).meta({ id: 'ThreadStatus' });
export type ThreadStatus = z.infer<typeof ThreadStatusSchema>;

/** Where a reply on one channel goes: the account and the provider's conversation last used there. */
export const ChannelRouteSchema = z
  .object({
    channel: ChannelSchema,
    accountId: z.string().min(1),
    conversation: ConversationRefSchema,
    lastInboundAt: IsoInstantSchema,
    replyHandle: ReplyHandleSchema.optional().describe("The customer's last one-time reply handle, while it may still be valid"),
    windowExpiresAt: IsoInstantSchema.optional().describe(
      "When the channel's messaging window after the customer's last message closes (absent: the channel has none)",
    ),
  })
  .meta({ id: 'ChannelRoute' });
export type ChannelRoute = z.infer<typeof ChannelRouteSchema>;

/** Who may answer a thread now (in the manner of Sunshine Conversations' switchboard). */
export const ControlSchema = z
  .object({
    holder: z.enum(['none', 'automation', 'human']),
    id: z.string().optional().describe('The agent or automation that holds it'),
    offeredTo: z.enum(['automation', 'human']).optional().describe('An offer waiting to be accepted'),
    since: IsoInstantSchema,
  })
  .meta({ id: 'Control' });
export type Control = z.infer<typeof ControlSchema>;

export const TagSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[^\s,]+$/, 'a tag has no spaces or commas');

export const ThreadSchema = z
  .object({
    id: z.string(),
    contactId: z.string(),
    status: ThreadStatusSchema,
    snoozedUntil: IsoInstantSchema.optional(),
    channels: z.array(ChannelSchema).describe('Every channel seen in this thread'),
    routes: z.array(ChannelRouteSchema).describe('Where replies go, per channel; the most recent first'),
    lastInboundChannel: ChannelSchema.optional(),
    assignee: z.string().nullable().describe('The agent assigned, or null'),
    team: z.string().nullable().optional(),
    control: ControlSchema,
    tags: z.array(TagSchema),
    attributes: AttributesSchema,
    unread: z.int().nonnegative().describe('Customer messages since an agent last answered or read it'),
    mergedThreads: z.array(z.string()).optional().describe('Threads of merged contacts, read as part of this one'),
    mergedInto: z.string().optional().describe('Set when this thread was merged into another'),
    createdAt: IsoInstantSchema,
    updatedAt: IsoInstantSchema,
    lastMessageAt: IsoInstantSchema,
    lastCustomerMessageAt: IsoInstantSchema.optional(),
    lastAgentMessageAt: IsoInstantSchema.optional(),
    firstResponseAt: IsoInstantSchema.optional().describe("The first agent message after the thread's creation"),
    resolvedAt: IsoInstantSchema.optional(),
  })
  .meta({ id: 'Thread' });
export type Thread = z.infer<typeof ThreadSchema>;

/** An internal note: an entry of the thread for the team, never sent to the customer. */
export const NoteSchema = z
  .object({
    id: z.string(),
    threadId: z.string(),
    text: z.string().min(1).max(10_000),
    author: ActorSchema,
    createdAt: IsoInstantSchema,
  })
  .meta({ id: 'Note' });
export type Note = z.infer<typeof NoteSchema>;
