/**
 * Records for the store suites, shaped as the domain makes them (ids as `identities.ts`, `inbound.ts` and the
 * API make them) and validated by the domain's schemas, so a fixture cannot drift from the model.
 */
import { randomUUID } from 'node:crypto';
import type { Channel } from '../../../domain/content.ts';
import {
  ContactSchema,
  IdentitySchema,
  MessageSchema,
  NoteSchema,
  ThreadSchema,
  type Contact,
  type Identity,
  type Note,
  type ThreadStatus,
} from '../../../domain/conversations/model.ts';
import type { MessagePointer, StoredMessage, StoredThread } from '../../../domain/conversations/ports.ts';
import { newThread } from '../../../domain/conversations/threads.ts';
import { newMessageId } from '../../../domain/message-ids.ts';

export const uid = (prefix: string): string => `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 22)}`;

/** An instant `seconds` after 2026-03-14T09:00:00Z. */
export const at = (seconds: number): string => new Date(Date.UTC(2026, 2, 14, 9, 0, 0) + seconds * 1000).toISOString();

export const contactRecord = (overrides: Partial<Contact> = {}): Contact =>
  ContactSchema.parse({
    id: uid('ct'),
    state: 'active',
    name: 'Ann Lee',
    attributes: {},
    identities: [],
    threadId: uid('th'),
    merges: [],
    createdAt: at(0),
    updatedAt: at(0),
    ...overrides,
  });

export const identityRecord = (overrides: Partial<Identity> = {}): Identity =>
  IdentitySchema.parse({
    channel: 'telegram',
    accountId: '7712345678',
    externalUserId: String(100_000 + Math.floor(Math.random() * 900_000)),
    kind: 'direct',
    displayName: 'Ann',
    contactId: uid('ct'),
    threadId: uid('th'),
    link: { reason: 'first_contact', by: { type: 'system' }, at: at(0) },
    createdAt: at(0),
    ...overrides,
  });

export interface ThreadShape {
  readonly id?: string;
  readonly contactId?: string;
  readonly status?: ThreadStatus;
  readonly updatedAt?: string;
  readonly channels?: readonly Channel[];
  readonly tags?: readonly string[];
  readonly assignee?: string | null;
  readonly mergedInto?: string;
  readonly mergedThreads?: readonly string[];
}

/** A thread with the given activity: a customer wrote on `channels[0]` at `updatedAt`. */
export const threadRecord = (shape: ThreadShape = {}): StoredThread => {
  const id = shape.id ?? uid('th');
  const updatedAt = shape.updatedAt ?? at(0);
  const channels = shape.channels ?? ['telegram'];
  const base = newThread(id, shape.contactId ?? uid('ct'), at(-3600));
  const status = shape.status ?? 'open';
  return {
    ...ThreadSchema.parse({
      ...base,
      status,
      ...(status === 'snoozed' && { snoozedUntil: at(86_400) }),
      ...(status === 'resolved' && { resolvedAt: updatedAt }),
      channels,
      routes: channels.map((channel) => ({
        channel,
        accountId: 'acct-1',
        conversation: { externalId: `${channel}-chat-${id}`, kind: 'direct' },
        lastInboundAt: updatedAt,
      })),
      lastInboundChannel: channels[0],
      assignee: shape.assignee ?? null,
      tags: shape.tags ?? [],
      unread: 1,
      ...(shape.mergedInto !== undefined && { mergedInto: shape.mergedInto }),
      ...(shape.mergedThreads !== undefined && { mergedThreads: shape.mergedThreads }),
      updatedAt,
      lastMessageAt: updatedAt,
      lastCustomerMessageAt: updatedAt,
    }),
    counted: ['msg_counted'],
  };
};

export interface MessageShape {
  readonly threadId: string;
  /** Seconds after {@link at}(0): the message's time, which its id sorts by. */
  readonly second: number;
  readonly text?: string;
  readonly direction?: 'inbound' | 'outbound';
  readonly externalId?: string;
  readonly expiresAt?: string;
  readonly contactId?: string;
}

/** A customer's text message (or an agent's queued reply), with an id made as the thread writer makes it. */
export const messageRecord = (shape: MessageShape): StoredMessage => {
  const occurredAt = at(shape.second);
  const direction = shape.direction ?? 'inbound';
  const externalId = shape.externalId ?? uid('wamid');
  const message = MessageSchema.parse({
    id: newMessageId(new Date(occurredAt), new Date(occurredAt), 'telegram', '7712345678', externalId),
    threadId: shape.threadId,
    direction,
    channel: 'telegram',
    accountId: '7712345678',
    ...(direction === 'inbound' && { externalId }),
    occurredAt,
    author: direction === 'inbound' ? { role: 'customer', externalUserId: '42', displayName: 'Ann' } : { role: 'agent', id: 'key_1' },
    content: { type: 'text', text: shape.text ?? `message at ${shape.second}s` },
    status: direction === 'inbound' ? 'received' : 'queued',
  });
  return {
    ...message,
    ...(shape.expiresAt !== undefined && { expiresAt: shape.expiresAt }),
    ...(shape.contactId !== undefined && { contactId: shape.contactId }),
  };
};

export const pointerOf = (message: StoredMessage): MessagePointer => ({
  channel: message.channel,
  accountId: message.accountId,
  externalId: message.externalId ?? message.id,
  threadId: message.threadId,
  messageId: message.id,
  ...(message.expiresAt !== undefined && { expiresAt: message.expiresAt }),
});

/** A note with an id that sorts by time, as the API makes them. */
export const noteRecord = (threadId: string, second: number, text = `note at ${second}s`): Note =>
  NoteSchema.parse({
    id: `note_${Date.parse(at(second)).toString(36).padStart(9, '0')}_${randomUUID().slice(0, 8)}`,
    threadId,
    text,
    author: { type: 'agent', id: 'agent-7' },
    createdAt: at(second),
  });
