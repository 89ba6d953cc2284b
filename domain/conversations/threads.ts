/**
 * The rules of a thread's life, as pure functions from a thread to the next: what a customer's message, an
 * agent's message or a status change does to it. Stores only keep the result.
 */
import type { Channel } from '../content.ts';
import type { ConversationRef, ReplyHandle } from '../events.ts';
import { addSeconds, later, millis } from '../shared/time.ts';
import type { ChannelRoute, Thread, ThreadStatus } from './model.ts';

/** A thread as stored: the public record plus the inbound messages it has counted (so a retry counts none twice). */
export interface StoredThread extends Thread {
  readonly counted?: readonly string[];
}

/** How many recently counted inbound messages a thread remembers. */
const COUNTED_MEMORY = 8;

/**
 * What a thread remembers of a counted message: the end of its id (the part hashed from its provider ids),
 * short, because the thread record is rewritten with every message and must stay within one write unit.
 */
export const countedMark = (messageId: string): string => messageId.slice(-12);

export const newThread = (id: string, contactId: string, at: string): StoredThread => ({
  id,
  contactId,
  status: 'open',
  channels: [],
  routes: [],
  assignee: null,
  control: { holder: 'none', since: at },
  tags: [],
  attributes: {},
  unread: 0,
  createdAt: at,
  updatedAt: at,
  lastMessageAt: at,
});

export interface InboundActivity {
  readonly messageId: string;
  readonly channel: Channel;
  readonly accountId: string;
  readonly conversation: ConversationRef;
  /** When the customer wrote it. */
  readonly occurredAt: string;
  /** When Parley learned of it: the thread's `updatedAt`. */
  readonly at: string;
  readonly replyHandle?: ReplyHandle;
  /** The channel's messaging window after a customer message; absent: it has none. */
  readonly windowHours?: number;
}

export interface ThreadChange {
  readonly thread: StoredThread;
  /** Public fields whose change is news (`thread.updated`): status, assignee, tags, attributes, control. */
  readonly changes: readonly string[];
  /** False when the thread is exactly as before (nothing to write). */
  readonly changed: boolean;
}

const unchanged = (thread: StoredThread): ThreadChange => ({ thread, changes: [], changed: false });

/** Routes most recent first, one per channel; a channel's route is replaced only by a newer one. */
const withRoute = (routes: readonly ChannelRoute[], route: ChannelRoute): ChannelRoute[] => {
  const existing = routes.find((r) => r.channel === route.channel);
  if (existing && millis(existing.lastInboundAt) > millis(route.lastInboundAt)) return [...routes];
  return [route, ...routes.filter((r) => r.channel !== route.channel)].sort((a, b) => millis(b.lastInboundAt) - millis(a.lastInboundAt));
};

/**
 * A customer's message: the channel joins the thread, its route (and messaging window) moves forward, the
 * message counts as unread, and a resolved or snoozed thread reopens (the same thread: the customer's history
 * stays in one place). Applying the same message twice changes nothing.
 */
export const applyInbound = (thread: StoredThread, activity: InboundActivity): ThreadChange => {
  const mark = countedMark(activity.messageId);
  if (thread.counted?.includes(mark)) return unchanged(thread);
  const route: ChannelRoute = {
    channel: activity.channel,
    accountId: activity.accountId,
    conversation: activity.conversation,
    lastInboundAt: activity.occurredAt,
    ...(activity.replyHandle && { replyHandle: activity.replyHandle }),
    ...(activity.windowHours !== undefined && { windowExpiresAt: addSeconds(activity.occurredAt, activity.windowHours * 3600) }),
  };
  const reopen = thread.status === 'resolved' || thread.status === 'snoozed';
  const newest = thread.lastCustomerMessageAt === undefined || millis(activity.occurredAt) >= millis(thread.lastCustomerMessageAt);
  const { snoozedUntil: _snoozedUntil, ...rest } = thread;
  const next: StoredThread = {
    ...(reopen ? rest : thread),
    status: reopen ? 'open' : thread.status,
    channels: thread.channels.includes(activity.channel) ? thread.channels : [...thread.channels, activity.channel],
    routes: withRoute(thread.routes, route),
    ...(newest && { lastInboundChannel: activity.channel }),
    unread: thread.unread + 1,
    lastMessageAt: later(thread.lastMessageAt, activity.occurredAt),
    lastCustomerMessageAt:
      thread.lastCustomerMessageAt === undefined ? activity.occurredAt : later(thread.lastCustomerMessageAt, activity.occurredAt),
    updatedAt: later(thread.updatedAt, activity.at),
    counted: [...(thread.counted ?? []), mark].slice(-COUNTED_MEMORY),
  };
  return { thread: next, changes: reopen ? ['status'] : [], changed: true };
};

/**
 * How close together an agent's messages may be recorded once: a thread is rewritten (and moves in the inbox)
 * for an agent's message only when something besides the time changes, or the last record is older than this.
 */
export const OUTBOUND_COALESCE_MS = 60_000;

/**
 * An agent's (or a notification's) message on a channel: the first one after the thread opened is its first
 * response, and the customer's messages count as answered. A burst of replies is recorded once a minute.
 */
export const applyOutbound = (
  thread: StoredThread,
  activity: { readonly channel: Channel; readonly at: string; readonly byAgent: boolean },
): ThreadChange => {
  const material =
    !thread.channels.includes(activity.channel) ||
    (activity.byAgent && (thread.unread > 0 || thread.firstResponseAt === undefined || thread.lastAgentMessageAt === undefined)) ||
    millis(activity.at) - millis(activity.byAgent ? (thread.lastAgentMessageAt ?? thread.lastMessageAt) : thread.lastMessageAt) >=
      OUTBOUND_COALESCE_MS;
  if (!material) return unchanged(thread);
  const next: StoredThread = {
    ...thread,
    channels: thread.channels.includes(activity.channel) ? thread.channels : [...thread.channels, activity.channel],
    lastMessageAt: later(thread.lastMessageAt, activity.at),
    updatedAt: later(thread.updatedAt, activity.at),
    ...(activity.byAgent && {
      unread: 0,
      lastAgentMessageAt: thread.lastAgentMessageAt === undefined ? activity.at : later(thread.lastAgentMessageAt, activity.at),
      ...(thread.firstResponseAt === undefined && { firstResponseAt: activity.at }),
    }),
  };
  return { thread: next, changes: [], changed: true };
};

export class ThreadRuleError extends Error {
  constructor(
    readonly code: 'invalid_status_change' | 'invalid_request',
    message: string,
  ) {
    super(message);
    this.name = 'ThreadRuleError';
  }
}

/**
 * An agent or integrator sets the status. `snoozed` needs a time in the future; resolving records when;
 * reopening keeps the earlier resolution time for the record (the KPI uses the latest).
 */
export const changeStatus = (thread: StoredThread, status: ThreadStatus, at: string, snoozedUntil?: string): ThreadChange => {
  if (status === 'snoozed') {
    if (snoozedUntil === undefined) throw new ThreadRuleError('invalid_status_change', 'snoozed needs snoozedUntil');
    if (millis(snoozedUntil) <= millis(at)) throw new ThreadRuleError('invalid_status_change', 'snoozedUntil must be in the future');
  } else if (snoozedUntil !== undefined) {
    throw new ThreadRuleError('invalid_status_change', 'snoozedUntil goes only with status snoozed');
  }
  if (thread.status === status && thread.snoozedUntil === snoozedUntil) return unchanged(thread);
  const { snoozedUntil: _previous, ...rest } = thread;
  const next: StoredThread = {
    ...rest,
    status,
    ...(status === 'snoozed' && { snoozedUntil }),
    ...(status === 'resolved' && { resolvedAt: at, unread: 0 }),
    updatedAt: later(thread.updatedAt, at),
  };
  return { thread: next, changes: ['status'], changed: true };
};

/** Tags added and removed (kept sorted, at most 50), attributes set (null removes one). */
export const changeLabels = (
  thread: StoredThread,
  change: {
    readonly addTags?: readonly string[];
    readonly removeTags?: readonly string[];
    readonly tags?: readonly string[];
    readonly attributes?: Readonly<Record<string, string | number | boolean | null>>;
  },
  at: string,
): ThreadChange => {
  const changes: string[] = [];
  let tags = change.tags !== undefined ? [...new Set(change.tags)] : [...thread.tags];
  tags = [...new Set([...tags.filter((t) => !(change.removeTags ?? []).includes(t)), ...(change.addTags ?? [])])].sort();
  if (tags.length > 50) throw new ThreadRuleError('invalid_request', 'a thread has at most 50 tags');
  if (tags.join('\u0000') !== [...thread.tags].sort().join('\u0000')) changes.push('tags');
  let attributes = { ...thread.attributes };
  if (change.attributes) {
    for (const [name, value] of Object.entries(change.attributes)) {
      if (value === null) delete attributes[name];
      else attributes[name] = value;
    }
    if (Object.keys(attributes).length > 50) throw new ThreadRuleError('invalid_request', 'a thread has at most 50 attributes');
    if (JSON.stringify(Object.entries(attributes).sort()) !== JSON.stringify(Object.entries(thread.attributes).sort()))
      changes.push('attributes');
    else attributes = thread.attributes;
  }
  if (changes.length === 0) return unchanged(thread);
  return { thread: { ...thread, tags, attributes, updatedAt: later(thread.updatedAt, at) }, changes, changed: true };
};

/** Snoozed threads whose time has come, and open ones idle for too long, as the lifecycle sweep sees them. */
export const lifecycleChange = (thread: StoredThread, now: string, autoResolveAfterHours: number | undefined): ThreadChange => {
  if (thread.status === 'snoozed' && thread.snoozedUntil !== undefined && millis(thread.snoozedUntil) <= millis(now)) {
    return changeStatus(thread, 'open', now);
  }
  if (
    autoResolveAfterHours !== undefined &&
    (thread.status === 'open' || thread.status === 'pending') &&
    millis(thread.lastMessageAt) + autoResolveAfterHours * 3_600_000 <= millis(now)
  ) {
    return changeStatus(thread, 'resolved', now);
  }
  return unchanged(thread);
};

/** The thread as the API and events show it: without what only the store keeps. */
export const publicThread = (thread: StoredThread): Thread => {
  const { counted: _counted, ...rest } = thread;
  return rest;
};
