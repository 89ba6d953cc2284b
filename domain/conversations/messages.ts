/**
 * The rules of a message's life: delivery statuses only move forward, an edit keeps what it replaced, and
 * the events each change publishes.
 */
import type { Content } from '../content.ts';
import { onceEvent, type PendingEvent } from '../events/outbox.ts';
import { millis } from '../shared/time.ts';
import type { Failure, MessageStatus } from './model.ts';
import type { StoredMessage } from './ports.ts';

/**
 * Forward-only delivery statuses. A status applies only over a lower rank; `failed` (25) therefore only
 * follows `queued` or `sent`, while a `delivered` or `read` report still wins over an earlier failure (the
 * provider knows better than a timed-out send). Inbound messages (`received`) have no rank: no status change
 * ever applies to them.
 */
export const STATUS_RANK = { queued: 10, sent: 20, failed: 25, delivered: 30, read: 40 } as const satisfies Record<
  Exclude<MessageStatus, 'received'>,
  number
>;

export type DeliveryStatus = keyof typeof STATUS_RANK;

export interface StatusChange {
  readonly status: DeliveryStatus;
  readonly at: string;
  /** The provider's ids of what was sent (the first names the message). */
  readonly externalIds?: readonly string[];
  readonly failure?: Failure;
}

export interface MessageChange {
  readonly message: StoredMessage;
  readonly events: readonly PendingEvent[];
  /** False when the message stays exactly as it was. */
  readonly changed: boolean;
}

const none = (message: StoredMessage): MessageChange => ({ message, events: [], changed: false });

/** True when `status` may replace the message's current status. */
export const canAdvance = (current: MessageStatus, status: DeliveryStatus): boolean =>
  current !== 'received' && STATUS_RANK[status] > STATUS_RANK[current];

/**
 * Moves the status forward, recording the provider's ids and the failure (a later success clears an earlier
 * failure's details). Publishes `message.status`, and `message.sent` or `message.failed` for those.
 */
export const advanceStatus = (message: StoredMessage, change: StatusChange): MessageChange => {
  if (!canAdvance(message.status, change.status)) return none(message);
  const { failure: _failure, claim: _claim, ...rest } = message;
  const externalIds = change.externalIds ?? [];
  const next: StoredMessage = {
    ...rest,
    status: change.status,
    ...(externalIds.length > 0 && { externalId: externalIds[0], externalIds: [...externalIds] }),
    ...(change.failure !== undefined
      ? { failure: change.failure }
      : change.status === 'failed' && message.failure
        ? { failure: message.failure }
        : {}),
    // A message stops being anyone's to send once it left `queued`.
    ...(change.status === 'failed' || change.status === 'sent' ? {} : message.claim && { claim: message.claim }),
  };
  const subject = [message.threadId, message.id, change.status];
  const events = [
    onceEvent('message.status', change.at, subject, { status: change.status, previousStatus: message.status }),
    ...(change.status === 'sent' ? [onceEvent('message.sent', change.at, subject)] : []),
    ...(change.status === 'failed' ? [onceEvent('message.failed', change.at, subject)] : []),
  ];
  return { message: next, events, changed: true };
};

/**
 * Replaces the content when the edit is newer than the last one applied; the replaced content goes to the
 * message's history. `occurredAt` (when it was first sent) never changes.
 */
export const editContent = (message: StoredMessage, content: Content, editedAt: string): MessageChange => {
  const lastChange = message.editedAt ?? message.occurredAt;
  if (message.editedAt !== undefined && millis(editedAt) <= millis(message.editedAt)) return none(message);
  if (JSON.stringify(content) === JSON.stringify(message.content)) {
    return message.editedAt === undefined || millis(editedAt) > millis(lastChange)
      ? { message: { ...message, editedAt }, events: [], changed: true }
      : none(message);
  }
  const next: StoredMessage = {
    ...message,
    content,
    editedAt,
    history: [...(message.history ?? []), { content: message.content, replacedAt: editedAt }],
  };
  return { message: next, events: [onceEvent('message.edited', editedAt, [message.threadId, message.id, editedAt])], changed: true };
};
