/**
 * Applies connector events to contacts, threads and messages. Every step is idempotent, so a
 * redelivered event (the provider retried, the bus retried, the queue redelivered) changes nothing twice.
 */
import type {
  IdentityUnreachableEvent,
  MessageEditedEvent,
  MessageReceivedEvent,
  MessageStatusEvent,
  ParleyEvent,
} from './events.ts';
import { newMessageId } from './message-ids.ts';
import type { Author, Message } from './model.ts';
import type { Log, ThreadActivity, ThreadStore } from './ports.ts';

/** How long a status for an unknown message is retried before it is taken for one sent outside Parley. */
const STATUS_PATIENCE_MS = 2 * 60_000;

export interface ThreadWriterDeps {
  readonly store: ThreadStore;
  readonly log: Log;
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
      return receive(event, deps);
    case 'message.edited':
      return edit(event, deps);
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

/**
 * A thread belongs to the conversation's identity: the customer in a direct chat, the group in a group
 * chat (whose members appear as the messages' authors).
 */
const receive = async (
  event: MessageReceivedEvent | MessageEditedEvent,
  { store }: ThreadWriterDeps,
): Promise<WriteOutcome> => {
  const { channel, accountId, conversation } = event;
  // A redelivery changes nothing, and in particular does not reopen a thread resolved since.
  const known = await store.findMessageByExternalId(channel, accountId, event.externalMessageId);
  if (known) {
    await store.recordActivity(known.threadId, activityOf(event, known.occurredAt));
    if (event.type === 'message.edited') return applyEdit(event, known, store);
    return { kind: 'duplicate', threadId: known.threadId, messageId: known.id };
  }
  const identity = await store.ensureIdentity(
    {
      channel,
      accountId,
      externalId: conversation.externalId,
      kind: conversation.kind,
      ...(displayNameOf(event) !== undefined && { displayName: displayNameOf(event) }),
    },
    event.receivedAt,
  );
  // A new thread starts when its first message was written, not when Parley happened to receive it.
  if (identity.unreachable && event.direction === 'inbound' && event.occurredAt > identity.unreachable.since) {
    // Writing again proves they can be reached again (they unblocked the bot).
    await store.markIdentityReachable(channel, accountId, conversation.externalId, event.occurredAt);
  }
  const thread = await store.ensureOpenThread(identity.contactId, event.occurredAt);
  const occurredAt = new Date(event.occurredAt);
  const message: Message = {
    // An echo of Parley's own message lands on that message: its provider id is pointed at it, and
    // nothing is added, even when the echo overtakes the sender recording the send.
    id:
      (event.type === 'message.received' && event.direction === 'outbound' && event.originMessageId) ||
      newMessageId(occurredAt, new Date(event.receivedAt), channel, accountId, event.externalMessageId),
    threadId: thread.id,
    direction: event.direction,
    channel,
    accountId,
    externalId: event.externalMessageId,
    occurredAt: event.occurredAt,
    ...(event.type === 'message.edited' && { editedAt: event.editedAt }),
    author: authorOf(event, identity.contactId),
    content: event.content,
    ...(event.replyTo && { replyTo: event.replyTo }),
    status: event.direction === 'inbound' ? 'received' : 'sent',
  };
  const { inserted, message: stored } = await store.insertMessage(message);
  // Always recorded, even for a duplicate: a crash after the insert must not lose the thread's activity.
  await store.recordActivity(stored.threadId, activityOf(event, stored.occurredAt));
  // Stored concurrently by the original's own event: the edit still applies.
  if (!inserted && event.type === 'message.edited') return applyEdit(event, stored, store);
  return { kind: inserted ? 'stored' : 'duplicate', threadId: stored.threadId, messageId: stored.id };
};

const activityOf = (event: MessageReceivedEvent | MessageEditedEvent, at: string): ThreadActivity => ({
  channel: event.channel,
  at,
  direction: event.direction,
  participant: { externalUserId: event.sender.externalUserId },
  ...(event.direction === 'inbound' && {
    route: {
      channel: event.channel,
      accountId: event.accountId,
      conversation: event.conversation,
      lastInboundAt: event.occurredAt,
      ...(event.type === 'message.received' && event.replyHandle && { replyHandle: event.replyHandle }),
    },
  }),
});

const applyEdit = async (event: MessageEditedEvent, message: Message, store: ThreadStore): Promise<WriteOutcome> => {
  const changed = await store.editMessage(message.threadId, message.id, event.content, event.editedAt);
  return changed
    ? { kind: 'updated', threadId: message.threadId, messageId: message.id }
    : { kind: 'unchanged', reason: 'a later edit is already stored' };
};

const displayNameOf = (event: MessageReceivedEvent | MessageEditedEvent): string | undefined =>
  event.conversation.kind === 'direct' ? event.sender.displayName : event.conversation.title;

/** An edit replaces the stored content. An edit of a message never seen stores it, edited. */
const edit = (event: MessageEditedEvent, deps: ThreadWriterDeps): Promise<WriteOutcome> => receive(event, deps);

const updateStatus = async (event: MessageStatusEvent, { store, log }: ThreadWriterDeps): Promise<WriteOutcome> => {
  const message = await store.findMessageByExternalId(event.channel, event.accountId, event.externalMessageId);
  if (!message) {
    // A status can overtake the sender recording the provider's id: retry a young one (the queue
    // redelivers it), and only then conclude it belongs to a message sent outside Parley.
    if (Date.now() - Date.parse(event.receivedAt) < STATUS_PATIENCE_MS) {
      throw new Error(`status ${event.status} for ${event.externalMessageId}, not (yet) a known message; retrying`);
    }
    log.info('status for an unknown message', { channel: event.channel, externalMessageId: event.externalMessageId });
    return { kind: 'skipped', reason: 'unknown message' };
  }
  const advanced = await store.advanceStatus(message.threadId, message.id, {
    status: event.status,
    at: event.occurredAt,
    ...(event.error && { failure: { kind: 'permanent', code: event.error.code, message: event.error.message } }),
  });
  return advanced
    ? { kind: 'updated', threadId: message.threadId, messageId: message.id }
    : { kind: 'unchanged', reason: `already at or past ${event.status}` };
};

const markUnreachable = async (event: IdentityUnreachableEvent, { store }: ThreadWriterDeps): Promise<WriteOutcome> => {
  await store.markIdentityUnreachable(event.channel, event.accountId, event.externalUserId, event.reason, event.occurredAt);
  return { kind: 'unchanged', reason: 'identity marked unreachable' };
};
