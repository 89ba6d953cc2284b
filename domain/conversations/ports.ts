/**
 * The conversation store, by aggregate: contacts, identities, threads (with their notes and group
 * participants) and messages (with the provider-id pointers that find them). Reads return records with their
 * versions; every change is decided in `domain/` and written through {@link ConversationStore.commit}, all or
 * nothing, each record only if it still has the version read.
 */
import type { Channel } from '../content.ts';
import type { PendingEvent } from '../events/outbox.ts';
import type { Page, Versioned, Write } from '../shared/store.ts';
import type { Contact, Identity, IdentityKey, Message, Note, Thread, ThreadStatus } from './model.ts';
import type { StoredThread } from './threads.ts';

export type { StoredThread };

/** A message as stored: the public record plus what only the store and the sender need. */
export interface StoredMessage extends Message {
  /** A sender's exclusive right to send this queued message, until `until` (see domain/delivery/outbound.ts). */
  readonly claim?: { readonly token: string; readonly until: string };
  /** When the provider accepted it: from then on it is never sent again, whatever happens to the status write. */
  readonly acceptedAt?: string;
  /**
   * The delivery job that owns sending it (domain/delivery/outbound.ts): the first to claim it. Another job for the
   * same message (the outbox relay's, when the API queued one at once) then stands aside.
   */
  readonly deliveredBy?: string;
  /** Retention: after this instant the message is gone (TTL in AWS) and reads no longer return it. */
  readonly expiresAt?: string;
  /** The contact the message belongs to, for its events. */
  readonly contactId?: string;
}

/** Where a provider's message id points: the message it names. */
export interface MessagePointer {
  readonly channel: Channel;
  readonly accountId: string;
  readonly externalId: string;
  readonly threadId: string;
  readonly messageId: string;
  readonly expiresAt?: string;
}

/** A member of a group conversation who wrote in it: their own id finds the group's thread. */
export interface Participant {
  readonly channel: Channel;
  readonly externalUserId: string;
  readonly threadId: string;
}

export type ConversationWrite =
  | Write<'contact', Contact, { readonly id: string }>
  | Write<'identity', Identity, IdentityKey>
  | Write<'thread', StoredThread, { readonly id: string }>
  | Write<'message', StoredMessage, { readonly threadId: string; readonly id: string }>
  | Write<'pointer', MessagePointer, Pick<MessagePointer, 'channel' | 'accountId' | 'externalId'>>
  | Write<'note', Note, { readonly threadId: string; readonly id: string }>
  | Write<'participant', Participant, Participant>;

export interface ThreadQuery {
  /** Statuses to list; all four when absent. */
  readonly statuses?: readonly ThreadStatus[];
  /** An agent id, or `none` for unassigned threads. */
  readonly assignee?: string;
  readonly channel?: Channel;
  readonly tag?: string;
  readonly contactId?: string;
  /** Only threads with activity at or after this instant. */
  readonly updatedSince?: string;
  /** Only threads with no activity since this instant (the lifecycle sweep's idle threads). */
  readonly updatedBefore?: string;
  readonly limit: number;
  readonly cursor?: string;
}

export interface ConversationStore {
  getContact(id: string): Promise<Versioned<Contact> | undefined>;
  /** Contacts whose phone (E.164) or email (lower case) is this; merged and erased contacts are left out. */
  findContacts(by: { readonly phone: string } | { readonly email: string }): Promise<Contact[]>;
  /**
   * The identity. `latest: false` allows a read that may miss the last second's changes (half the cost in AWS),
   * for lookups whose writes are decided by versions anyway.
   */
  getIdentity(key: IdentityKey, options?: { readonly latest?: boolean }): Promise<Versioned<Identity> | undefined>;

  getThread(id: string): Promise<Versioned<StoredThread> | undefined>;
  /** Newest activity first. Throws `InvalidCursorError` for a cursor it did not issue for this query. */
  listThreads(query: ThreadQuery): Promise<Page<Thread>>;
  /** Threads of group conversations this person wrote in (their direct thread is found through their identity). */
  listParticipantThreads(channel: Channel, externalUserId: string): Promise<string[]>;
  listNotes(threadId: string, limit: number, cursor?: string): Promise<Page<Note>>;

  getMessage(threadId: string, messageId: string): Promise<Versioned<StoredMessage> | undefined>;
  /** Where a provider's message id points; `latest: false` as for {@link getIdentity}. */
  getPointer(
    channel: Channel,
    accountId: string,
    externalId: string,
    options?: { readonly latest?: boolean },
  ): Promise<MessagePointer | undefined>;
  /**
   * Messages of one thread and of the threads merged into it, oldest first, as one sequence. Expired messages
   * are never returned. Throws `InvalidCursorError` for a cursor it did not issue for these threads.
   */
  listMessages(threadIds: readonly string[], limit: number, cursor?: string, order?: 'oldest' | 'newest'): Promise<Page<StoredMessage>>;

  /**
   * Writes every record, or none: each put only if the record still has `version` (absent for
   * {@link NEW_RECORD}), each delete likewise. Throws `ConflictError` when one does not.
   */
  commit(writes: readonly ConversationWrite[]): Promise<void>;
}

export type { PendingEvent };
