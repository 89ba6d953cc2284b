/**
 * The thread writer: applies connector events to contacts, threads and messages. Every step is idempotent,
 * so a redelivered event (the provider retried, the bus retried, the queue redelivered) changes nothing
 * twice, and a writer that died halfway is completed by the next delivery.
 */
import type { ChannelCapabilities } from '../connector.ts';
import type { Channel } from '../content.ts';
import type { IdentityUnreachableEvent, MessageEditedEvent, MessageReceivedEvent, MessageStatusEvent, ParleyEvent } from '../events.ts';
import { onceEvent } from '../events/outbox.ts';
import { newMessageId } from '../message-ids.ts';
import type { Log } from '../ports.ts';
import { ConflictError, NEW_RECORD, retryOnConflict, type Versioned } from '../shared/store.ts';
import { addSeconds, millis } from '../shared/time.ts';
import { adoptVerifiedPhone } from './contacts.ts';
import { normalizePhone, resolveIdentity, withIdentity } from './identities.ts';
import { advanceStatus, editContent } from './messages.ts';
import { SYSTEM, type Author, type Identity } from './model.ts';
import type { ConversationStore, StoredMessage, StoredThread } from './ports.ts';
import { applyInbound, applyOutbound } from './threads.ts';

/** How long a status for an unknown message is retried before it is taken for one sent outside Parley. */
const STATUS_PATIENCE_MS = 2 * 60_000;

export interface ThreadWriterDeps {
  readonly store: ConversationStore;
  readonly log: Log;
  readonly clock: { now(): Date };
  /** What a channel declares (its messaging window); undefined for a channel without a connector here. */
  readonly capabilities: (channel: Channel) => Pick<ChannelCapabilities, 'messagingWindowHours'> | undefined;
  /** Message retention: messages (and their pointers) expire this many days after they were written. */
  readonly retentionDays?: number;
}

export type WriteOutcome =
  | { readonly kind: 'stored'; readonly threadId: string; readonly messageId: string }
  | { readonly kind: 'duplicate'; readonly threadId: string; readonly messageId: string }
  | { readonly kind: 'updated'; readonly threadId: string; readonly messageId: string }
  | { readonly kind: 'unchanged'; readonly reason: string }
  | { readonly kind: 'skipped'; readonly reason: string };

export const applyEvent = async (event: ParleyEvent, deps: ThreadWriterDeps): Promise<WriteOutcome> => {
  switch (event.type) {
    case 'message.received':
    case 'message.edited':
      return receive(event, deps);
    case 'message.status':
      return updateStatus(event, deps);
    case 'identity.unreachable':
      return markUnreachable(event, deps);
    case 'provider.action.requested':
      return { kind: 'skipped', reason: 'provider actions are carried out by the outbound sender' };
  }
};

const authorOf = (event: MessageReceivedEvent | MessageEditedEvent, contactId: string): Author => ({
  role: event.direction === 'inbound' ? 'customer' : 'agent',
  ...(event.direction === 'inbound' && event.conversation.kind === 'direct' && { id: contactId }),
  externalUserId: event.sender.externalUserId,
  ...(event.sender.displayName !== undefined && { displayName: event.sender.displayName }),
});

const displayNameOf = (event: MessageReceivedEvent | MessageEditedEvent): string | undefined =>
  event.conversation.kind === 'direct' ? event.sender.displayName : event.conversation.title;

/** The thread a message of this identity goes to: its contact's, or, after a merge, the survivor's. */
const liveThread = async (store: ConversationStore, threadId: string): Promise<Versioned<StoredThread>> => {
  let id = threadId;
  for (let hops = 0; hops < 10; hops++) {
    const thread = await store.getThread(id);
    if (!thread) throw new Error(`thread ${id} does not exist`);
    if (thread.value.mergedInto === undefined) return thread;
    id = thread.value.mergedInto;
  }
  throw new Error(`thread ${threadId} is merged in a loop`);
};

/**
 * A thread belongs to the conversation's identity: the customer in a direct chat, the group in a group chat
 * (whose members appear as the messages' authors, and find the group through a participant record).
 */
const receive = async (event: MessageReceivedEvent | MessageEditedEvent, deps: ThreadWriterDeps, latest = false): Promise<WriteOutcome> => {
  const { store } = deps;
  const { channel, accountId, conversation } = event;
  // A first look may be a second behind (half the cost): the pointer's conditional write decides anyway, and
  // after losing that race the pointer is read for certain.
  const pointer = await store.getPointer(channel, accountId, event.externalMessageId, { latest });
  const known = pointer && (await store.getMessage(pointer.threadId, pointer.messageId));
  if (known) {
    // Redelivered: the thread may have missed it if the first writer died after storing the message.
    if (known.value.direction === 'inbound') await recordActivity(event, known.value, deps);
    if (event.type === 'message.edited') return applyEdit(event, known, deps);
    return { kind: 'duplicate', threadId: known.value.threadId, messageId: known.value.id };
  }

  let { identity } = await resolveIdentity(
    store,
    {
      channel,
      accountId,
      externalUserId: conversation.externalId,
      kind: conversation.kind,
      ...(displayNameOf(event) !== undefined && { displayName: displayNameOf(event) }),
      ...(event.sender.verifiedPhone !== undefined && conversation.kind === 'direct' && { verifiedPhone: event.sender.verifiedPhone }),
    },
    // A new thread starts when its first message was written, not when Parley happened to receive it.
    millis(event.occurredAt) < millis(event.receivedAt) ? event.occurredAt : event.receivedAt,
  );
  const vouched = conversation.kind === 'direct' && event.direction === 'inbound' ? event.sender.verifiedPhone : undefined;
  if (vouched !== undefined && identity.value.verifiedPhone !== normalizePhone(vouched)) {
    // A phone the provider vouches for, new on this identity (a Telegram user sharing their own contact): the
    // contact takes it, or joins the contact that already has it, and this message lands in that thread.
    const outcome = await adoptVerifiedPhone(store, identity.value.contactId, vouched, SYSTEM, event.receivedAt);
    if (outcome === 'merged') identity = (await store.getIdentity(identity.value)) ?? identity;
  }
  if (identity.value.unreachable && event.direction === 'inbound' && millis(event.occurredAt) > millis(identity.value.unreachable.since)) {
    // Writing again proves they can be reached again (they unblocked the bot).
    await markReachable(identity.value, deps);
  }
  const thread = await liveThread(store, identity.value.threadId);
  const occurredAt = new Date(event.occurredAt);
  const message: StoredMessage = {
    // An echo of Parley's own message lands on that message (its provider id is pointed at it), even when the
    // echo overtakes the sender recording the send.
    id:
      pointer?.messageId ??
      ((event.type === 'message.received' && event.direction === 'outbound' && event.originMessageId) ||
        newMessageId(occurredAt, new Date(event.receivedAt), channel, accountId, event.externalMessageId)),
    threadId: pointer?.threadId ?? thread.value.id,
    contactId: identity.value.contactId,
    direction: event.direction,
    channel,
    accountId,
    externalId: event.externalMessageId,
    occurredAt: event.occurredAt,
    ...(event.type === 'message.edited' && { editedAt: event.editedAt }),
    author: authorOf(event, identity.value.contactId),
    content: event.content,
    ...(event.replyTo && { replyTo: event.replyTo }),
    status: event.direction === 'inbound' ? 'received' : 'sent',
    ...(deps.retentionDays !== undefined && { expiresAt: addSeconds(event.receivedAt, deps.retentionDays * 86_400) }),
  };

  // The pointer decides which of two concurrent writers' message this provider id is.
  if (!pointer) {
    try {
      await store.commit([
        {
          kind: 'pointer',
          op: 'put',
          value: {
            channel,
            accountId,
            externalId: event.externalMessageId,
            threadId: message.threadId,
            messageId: message.id,
            ...(message.expiresAt !== undefined && { expiresAt: message.expiresAt }),
          },
          version: NEW_RECORD,
        },
      ]);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      return receive(event, deps, true); // the other writer's message: follow its pointer
    }
  }
  let stored = message;
  let inserted = true;
  try {
    await store.commit([
      {
        kind: 'message',
        op: 'put',
        value: message,
        version: NEW_RECORD,
        events: [
          onceEvent(message.direction === 'inbound' ? 'message.received' : 'message.created', event.receivedAt, [
            message.threadId,
            message.id,
          ]),
        ],
      },
    ]);
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    const existing = await store.getMessage(message.threadId, message.id);
    if (!existing) throw error;
    stored = existing.value;
    inserted = false;
  }
  if (stored.direction === 'inbound') await recordActivity(event, stored, deps, stored.threadId === thread.value.id ? thread : undefined);
  else if (inserted) await recordAgentActivity(stored, deps);
  if (conversation.kind === 'group' && event.direction === 'inbound') await recordParticipant(event, stored.threadId, deps);
  if (!inserted && event.type === 'message.edited') {
    const existing = await store.getMessage(stored.threadId, stored.id);
    if (existing) return applyEdit(event, existing, deps);
  }
  return { kind: inserted ? 'stored' : 'duplicate', threadId: stored.threadId, messageId: stored.id };
};

/** Counts a customer's message on its thread (once, however often it is delivered). */
const recordActivity = (
  event: MessageReceivedEvent | MessageEditedEvent,
  message: StoredMessage,
  deps: ThreadWriterDeps,
  /** The thread as this writer just read it, saving a read on the first attempt. */
  read?: Versioned<StoredThread>,
) => {
  let first = read;
  return retryOnConflict(async () => {
    const thread = first ?? (await liveThread(deps.store, message.threadId));
    first = undefined;
    const windowHours = deps.capabilities(message.channel)?.messagingWindowHours;
    const change = applyInbound(thread.value, {
      messageId: message.id,
      channel: message.channel,
      accountId: message.accountId,
      conversation: event.conversation,
      occurredAt: message.occurredAt,
      at: event.receivedAt,
      ...(event.type === 'message.received' && event.replyHandle && { replyHandle: event.replyHandle }),
      ...(windowHours !== undefined && { windowHours }),
    });
    if (!change.changed) return;
    await deps.store.commit([
      {
        kind: 'thread',
        op: 'put',
        value: change.thread,
        version: thread.version,
        ...(change.changes.length > 0 && {
          events: [onceEvent('thread.updated', event.receivedAt, [thread.value.id, 'reopened', message.id], { changes: change.changes })],
        }),
      },
    ]);
  });
};

/** An echo of a message the business sent from elsewhere (the Messenger inbox, the WhatsApp app). */
const recordAgentActivity = (message: StoredMessage, deps: ThreadWriterDeps) =>
  retryOnConflict(async () => {
    const thread = await liveThread(deps.store, message.threadId);
    const change = applyOutbound(thread.value, { channel: message.channel, at: message.occurredAt, byAgent: true });
    await deps.store.commit([{ kind: 'thread', op: 'put', value: change.thread, version: thread.version }]);
  });

const recordParticipant = async (event: MessageReceivedEvent | MessageEditedEvent, threadId: string, deps: ThreadWriterDeps) => {
  try {
    await deps.store.commit([
      {
        kind: 'participant',
        op: 'put',
        value: { channel: event.channel, externalUserId: event.sender.externalUserId, threadId },
        version: NEW_RECORD,
      },
    ]);
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error; // already a participant
  }
};

const applyEdit = (event: MessageEditedEvent, known: Versioned<StoredMessage>, deps: ThreadWriterDeps): Promise<WriteOutcome> =>
  retryOnConflict(async () => {
    const current = (await deps.store.getMessage(known.value.threadId, known.value.id)) ?? known;
    const change = editContent(current.value, event.content, event.editedAt);
    if (!change.changed) return { kind: 'unchanged', reason: 'a later edit is already stored' } as const;
    await deps.store.commit([{ kind: 'message', op: 'put', value: change.message, version: current.version, events: change.events }]);
    return { kind: 'updated', threadId: current.value.threadId, messageId: current.value.id } as const;
  });

const updateStatus = async (event: MessageStatusEvent, deps: ThreadWriterDeps): Promise<WriteOutcome> => {
  const { store, log } = deps;
  const pointer = await store.getPointer(event.channel, event.accountId, event.externalMessageId);
  if (!pointer) {
    // A status can overtake the sender recording the provider's id: retry a young one (the queue redelivers
    // it), and only then conclude it belongs to a message sent outside Parley.
    if (deps.clock.now().getTime() - millis(event.receivedAt) < STATUS_PATIENCE_MS) {
      throw new Error(`status ${event.status} for ${event.externalMessageId}, not (yet) a known message; retrying`);
    }
    log.info('status for an unknown message', { channel: event.channel, externalMessageId: event.externalMessageId });
    return { kind: 'skipped', reason: 'unknown message' };
  }
  return retryOnConflict(async () => {
    const message = await store.getMessage(pointer.threadId, pointer.messageId);
    if (!message) return { kind: 'skipped', reason: 'the message no longer exists' } as const;
    const change = advanceStatus(message.value, {
      status: event.status,
      at: event.occurredAt,
      ...(event.error && { failure: { kind: 'permanent', code: event.error.code, message: event.error.message } }),
    });
    // Nothing to write: a status already reached (or passed) costs a read, not a write.
    if (!change.changed) return { kind: 'unchanged', reason: `already at or past ${event.status}` } as const;
    await store.commit([{ kind: 'message', op: 'put', value: change.message, version: message.version, events: change.events }]);
    return { kind: 'updated', threadId: message.value.threadId, messageId: message.value.id } as const;
  });
};

/** Keeps the earliest `since`: later reports of the same block change nothing. Unknown identities are ignored. */
const markUnreachable = async (event: IdentityUnreachableEvent, deps: ThreadWriterDeps): Promise<WriteOutcome> =>
  retryOnConflict(async () => {
    const identity = await deps.store.getIdentity({
      channel: event.channel,
      accountId: event.accountId,
      externalUserId: event.externalUserId,
    });
    if (!identity) return { kind: 'skipped', reason: 'unknown identity' } as const;
    const since = identity.value.unreachable?.since;
    if (since !== undefined && millis(since) <= millis(event.occurredAt))
      return { kind: 'unchanged', reason: 'already unreachable' } as const;
    const marked: Identity = { ...identity.value, unreachable: { reason: event.reason, since: event.occurredAt } };
    await commitIdentity(marked, identity.version, deps, [
      onceEvent(
        'channel.identity.unreachable',
        event.occurredAt,
        [event.channel, event.accountId, event.externalUserId, event.occurredAt],
        {
          contactId: marked.contactId,
          identity: { channel: marked.channel, accountId: marked.accountId, externalUserId: marked.externalUserId },
          reason: event.reason,
        },
      ),
    ]);
    return { kind: 'unchanged', reason: 'identity marked unreachable' } as const;
  });

const markReachable = (identity: Identity, deps: ThreadWriterDeps) =>
  retryOnConflict(async () => {
    const current = await deps.store.getIdentity(identity);
    if (!current?.value.unreachable) return;
    const { unreachable: _unreachable, ...reachable } = current.value;
    await commitIdentity(reachable, current.version, deps, []);
  });

/** An identity changed, with its entry on its contact (one transaction). */
export const commitIdentity = async (
  identity: Identity,
  version: number,
  deps: Pick<ThreadWriterDeps, 'store'>,
  events: ReturnType<typeof onceEvent>[],
) => {
  const contact = await deps.store.getContact(identity.contactId);
  await deps.store.commit([
    { kind: 'identity', op: 'put', value: identity, version },
    ...(contact
      ? [
          {
            kind: 'contact' as const,
            op: 'put' as const,
            value: withIdentity(contact.value, identity, contact.value.updatedAt),
            version: contact.version,
            events,
          },
        ]
      : []),
  ]);
};
