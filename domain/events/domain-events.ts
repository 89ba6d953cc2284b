/**
 * Domain events, version 1: what Parley itself did, with Parley's ids. Connector events
 * (`domain/events.ts`, source `parley.connectors`) say what a provider reported; these say what changed in
 * Parley's records as a result (a message stored, a thread reopened, two contacts merged). Integrators
 * receive them as signed webhooks; assignment and other features react to them on the bus.
 *
 * Every state change records its events in the same write (the outbox, `domain/events/outbox.ts`); a relay
 * publishes them, at least once, each with a stable `id`, so a consumer that remembers the ids it handled
 * sees each event once in effect. On EventBridge each is one entry with `Source` = {@link DOMAIN_EVENT_SOURCE},
 * `DetailType` = its `type` and `Detail` = the event. JSON Schema: `docs/schemas/parley-domain-event.v1.json`.
 */
import * as z from 'zod';
import { ChannelSchema } from '../content.ts';
import { AccountSchema } from '../model.ts';
import {
  ActorSchema,
  ContactSchema,
  IdentityKeySchema,
  MessageSchema,
  MESSAGE_STATUSES,
  ThreadSchema,
  type Contact,
  type Message,
  type Thread,
} from '../conversations/model.ts';
import { IsoInstantSchema } from '../shared/time.ts';
import { AgentSchema, ASSIGN_REASONS, AvailabilitySchema, CONTROL_ACTIONS, ControlSchema, UNASSIGN_REASONS } from '../routing/model.ts';
import { ConsentEntrySchema } from '../delivery/model.ts';

export const DOMAIN_EVENT_SOURCE = 'parley.domain';
export const DOMAIN_EVENT_SCHEMA_VERSION = 1;

const envelope = <T extends string, D extends z.ZodType>(type: T, data: D, description: string) =>
  z
    .object({
      id: z.string().min(1).describe('Stable: a republished event keeps its id, so consumers can drop repeats'),
      type: z.literal(type),
      schemaVersion: z.literal(DOMAIN_EVENT_SCHEMA_VERSION),
      createdAt: IsoInstantSchema.describe('When the change happened'),
      data,
    })
    .describe(description);

const messageData = z.object({ message: MessageSchema, threadId: z.string(), contactId: z.string() });
const threadData = z.object({
  thread: ThreadSchema,
  changes: z.array(z.string()).describe('The thread fields this change touched'),
});

/** Every domain event type, with what its `data` holds. */
export const DomainEventSchemas = {
  'message.received': envelope('message.received', messageData, 'A customer message was stored in its thread'),
  'message.created': envelope('message.created', messageData, 'An outbound message (reply, notification) was accepted and queued'),
  'message.sent': envelope('message.sent', messageData, 'The provider accepted an outbound message'),
  'message.status': envelope(
    'message.status',
    messageData.extend({ status: z.enum(MESSAGE_STATUSES), previousStatus: z.enum(MESSAGE_STATUSES).optional() }),
    "An outbound message's delivery status moved forward (sent, delivered, read, failed)",
  ),
  'message.failed': envelope('message.failed', messageData, 'An outbound message could not be delivered; `message.failure` says why'),
  'message.edited': envelope('message.edited', messageData, "A message's content changed; its previous content is in `message.history`"),
  'thread.created': envelope('thread.created', threadData, "A contact's thread was opened"),
  'thread.updated': envelope('thread.updated', threadData, 'A thread changed: status, assignee, tags, attributes or control'),
  'thread.assigned': envelope(
    'thread.assigned',
    z.object({
      thread: ThreadSchema,
      agentId: z.string(),
      previousAgentId: z.string().nullable().describe('Who held it before (a transfer), or null'),
      reason: z
        .enum(ASSIGN_REASONS)
        .describe("routing: the assigner chose; affinity: the customer's previous agent; manual, transfer, control: through the API"),
      by: ActorSchema,
    }),
    'An agent was given a thread; it counts in their load until resolved or released',
  ),
  'thread.unassigned': envelope(
    'thread.unassigned',
    z.object({ thread: ThreadSchema, agentId: z.string(), reason: z.enum(UNASSIGN_REASONS), by: ActorSchema }),
    'A thread left its agent (released, unanswered in time, transferred, taken over by automation); unless automation took it, it waits for an agent again',
  ),
  'thread.transferred': envelope(
    'thread.transferred',
    z.object({
      thread: ThreadSchema,
      from: z.object({ agentId: z.string().nullable(), teamId: z.string().nullable() }),
      to: z.object({ agentId: z.string().nullable(), teamId: z.string().nullable() }),
      note: z.string().optional().describe('What the previous owner wrote for the next (also an internal note of the thread)'),
      by: ActorSchema,
    }),
    'A thread was handed to another agent or team',
  ),
  'thread.control.changed': envelope(
    'thread.control.changed',
    z.object({ thread: ThreadSchema, previous: ControlSchema, action: z.enum(CONTROL_ACTIONS), by: ActorSchema }),
    'Who may answer the thread changed (automation, a human, nobody), or control was offered; `thread.control` is the new state',
  ),
  'agent.availability.changed': envelope(
    'agent.availability.changed',
    z.object({ agent: AgentSchema, previous: AvailabilitySchema }),
    'An agent went online, away or offline',
  ),
  'agent.updated': envelope(
    'agent.updated',
    z.object({ agent: AgentSchema, changes: z.array(z.string()) }),
    "An agent's name, capacity or skills changed",
  ),
  'contact.created': envelope('contact.created', z.object({ contact: ContactSchema }), 'A new contact (a first message from someone)'),
  'contact.updated': envelope(
    'contact.updated',
    z.object({ contact: ContactSchema, changes: z.array(z.string()) }),
    "A contact's profile or identities changed",
  ),
  'contact.merged': envelope(
    'contact.merged',
    z.object({
      contact: ContactSchema.describe('The surviving contact'),
      mergedContactId: z.string(),
      reason: z.string(),
      by: ActorSchema,
    }),
    'Two contacts became one; the survivor holds both identities and both histories',
  ),
  'contact.unmerged': envelope(
    'contact.unmerged',
    z.object({ contact: ContactSchema, restoredContactId: z.string(), by: ActorSchema }),
    'A merge was undone; both contacts are back as they were',
  ),
  'contact.erased': envelope(
    'contact.erased',
    z.object({ contactId: z.string(), by: ActorSchema, identities: z.array(IdentityKeySchema.pick({ channel: true, accountId: true })) }),
    "A contact's personal data was erased (profile, identities, message content and media)",
  ),
  'identity.linked': envelope(
    'identity.linked',
    z.object({ contactId: z.string(), identity: IdentityKeySchema, reason: z.string(), by: ActorSchema }),
    'A channel identity joined a contact',
  ),
  'account.registered': envelope('account.registered', z.object({ account: AccountSchema }), 'A channel account was registered'),
  'consent.changed': envelope(
    'consent.changed',
    z.object({
      consent: ConsentEntrySchema,
      current: z.boolean().describe('False when a later change of the same scope was recorded first: this one is history only'),
    }),
    'A contact opted in or out (through the API, or by writing an opt-out word such as STOP); the ledger keeps every change',
  ),
  'channel.identity.unreachable': envelope(
    'channel.identity.unreachable',
    z.object({ contactId: z.string(), identity: IdentityKeySchema, reason: z.string() }),
    'A customer can no longer be reached on a channel (blocked the bot, unfollowed)',
  ),
} as const;

export type DomainEventType = keyof typeof DomainEventSchemas;
export const DOMAIN_EVENT_TYPES = Object.keys(DomainEventSchemas) as DomainEventType[];

export const DomainEventSchema = z
  .discriminatedUnion(
    'type',
    Object.values(DomainEventSchemas) as unknown as [
      (typeof DomainEventSchemas)[DomainEventType],
      ...(typeof DomainEventSchemas)[DomainEventType][],
    ],
  )
  .meta({ id: 'DomainEvent', title: 'Parley domain event, v1' });

export type DomainEvent = { [T in DomainEventType]: z.infer<(typeof DomainEventSchemas)[T]> }[DomainEventType];
export type DomainEventOf<T extends DomainEventType> = z.infer<(typeof DomainEventSchemas)[T]>;

export const isDomainEventType = (value: string): value is DomainEventType => Object.hasOwn(DomainEventSchemas, value);

export type { Contact, Message, Thread };
export { ChannelSchema };
