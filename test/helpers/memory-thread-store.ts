/**
 * The whole {@link ThreadStore} port in memory, for tests of code that uses a store (the API, the thread
 * writer) without a database. It keeps the port's promises as the DynamoDB store does: inserts are
 * idempotent, statuses only move forward, listings page with opaque cursors and reject foreign ones, and
 * an idempotency key is claimed once until it expires. Everything returned is a copy, so a caller that
 * mutates a result cannot change what is stored.
 */
import type { Channel, Content } from '../../domain/content.ts';
import { InvalidCursorError } from '../../domain/errors.ts';
import { randomId } from '../../domain/ids.ts';
import type { Account, MediaCopy, Message, MessageStatus, Thread } from '../../domain/model.ts';
import type {
  ApiKeyRecord,
  ClaimResult,
  Clock,
  SendingClaim,
  IdempotencyClaim,
  IdempotencyRecord,
  Identity,
  IdentityInput,
  InsertResult,
  NewMessage,
  Page,
  StatusChange,
  ThreadActivity,
  ThreadStore,
} from '../../domain/ports.ts';

/** Forward-only ranks: a change applies only over a lower rank, and `received` (inbound) has none. */
const STATUS_RANK: Record<Exclude<MessageStatus, 'received'>, number> = {
  queued: 10,
  sent: 20,
  failed: 25,
  delivered: 30,
  read: 40,
};

const MAX_PAGE_SIZE = 100;

const ms = (instant: string): number => new Date(instant).getTime();
const copy = <T>(value: T): T => structuredClone(value);
const k = (...parts: readonly string[]): string => parts.join('\u001f');

interface Participation {
  readonly threadId: string;
  readonly lastActivityMs: number;
}

export class MemoryThreadStore implements ThreadStore {
  readonly identities = new Map<string, Identity>();
  /** Contact id → its open (or last) thread id. */
  readonly openThreads = new Map<string, string>();
  readonly threads = new Map<string, Thread>();
  /** Thread id → message id → message. */
  readonly messages = new Map<string, Map<string, Message>>();
  /** (channel, account, provider id) → where the message is. */
  readonly pointers = new Map<string, { readonly threadId: string; readonly messageId: string }>();
  /** (channel, external user id) → thread id → participation. */
  readonly participants = new Map<string, Map<string, Participation>>();
  readonly apiKeys = new Map<string, ApiKeyRecord>();
  /** `<channel>#<accountId>` → account, as the DynamoDB store's sort key orders them. */
  readonly accounts = new Map<string, Account>();
  readonly idempotency = new Map<string, { readonly record: IdempotencyRecord; readonly expiresAtMs: number }>();

  constructor(private readonly clock: Clock = { now: () => new Date() }) {}

  // ---- identities and contacts ----

  async ensureIdentity(input: IdentityInput, _now: string): Promise<Identity> {
    const id = k(input.channel, input.accountId, input.externalId);
    const stored = this.identities.get(id);
    if (stored) {
      if (input.displayName !== undefined && input.displayName !== stored.displayName) {
        this.identities.set(id, { ...stored, displayName: input.displayName });
      }
      return copy(this.identities.get(id) ?? stored);
    }
    const identity: Identity = {
      channel: input.channel,
      accountId: input.accountId,
      externalId: input.externalId,
      contactId: randomId('ct'),
      kind: input.kind,
      ...(input.displayName !== undefined && { displayName: input.displayName }),
    };
    this.identities.set(id, identity);
    return copy(identity);
  }

  async getIdentity(channel: Channel, accountId: string, externalId: string): Promise<Identity | undefined> {
    const identity = this.identities.get(k(channel, accountId, externalId));
    return identity && copy(identity);
  }

  async markIdentityUnreachable(channel: Channel, accountId: string, externalId: string, reason: string, at: string): Promise<void> {
    const id = k(channel, accountId, externalId);
    const identity = this.identities.get(id);
    if (!identity) return;
    // The earliest report wins: later reports of the same block change nothing.
    if (identity.unreachable && ms(identity.unreachable.since) <= ms(at)) return;
    this.identities.set(id, { ...identity, unreachable: { reason, since: at } });
  }

  async markIdentityReachable(channel: Channel, accountId: string, externalId: string, at: string): Promise<void> {
    const id = k(channel, accountId, externalId);
    const identity = this.identities.get(id);
    if (!identity?.unreachable || ms(identity.unreachable.since) >= ms(at)) return;
    const { unreachable: _cleared, ...rest } = identity;
    this.identities.set(id, rest);
  }

  // ---- threads ----

  async ensureOpenThread(contactId: string, now: string): Promise<Thread> {
    const openId = this.openThreads.get(contactId);
    const open = openId === undefined ? undefined : this.threads.get(openId);
    if (open && open.status !== 'resolved') return copy(open);
    if (open) {
      open.status = 'open';
      return copy(open);
    }
    const thread: Thread = {
      id: randomId('th'),
      contactId,
      status: 'open',
      channels: [],
      routes: [],
      createdAt: now,
      lastMessageAt: now,
    };
    this.threads.set(thread.id, thread);
    this.openThreads.set(contactId, thread.id);
    return copy(thread);
  }

  async getThread(threadId: string): Promise<Thread | undefined> {
    const thread = this.threads.get(threadId);
    return thread && copy(thread);
  }

  /** For tests that need a thread in a given state (resolved, several routes) without replaying events. */
  putThread(thread: Thread): void {
    this.threads.set(thread.id, copy(thread));
  }

  async recordActivity(threadId: string, activity: ThreadActivity): Promise<void> {
    const thread = this.threads.get(threadId);
    if (!thread) throw new Error(`thread ${threadId} does not exist`);
    const channels = thread.channels.includes(activity.channel) ? thread.channels : [...thread.channels, activity.channel];
    let routes = thread.routes;
    const route = activity.route;
    if (route) {
      const existing = routes.find((r) => r.channel === route.channel);
      if (!existing || ms(route.lastInboundAt) >= ms(existing.lastInboundAt)) {
        routes = [route, ...routes.filter((r) => r.channel !== route.channel)].sort(
          (a, b) => ms(b.lastInboundAt) - ms(a.lastInboundAt),
        );
      }
    }
    const lastMessageAt = ms(activity.at) > ms(thread.lastMessageAt) ? activity.at : thread.lastMessageAt;
    this.threads.set(threadId, { ...thread, channels, routes: copy(routes), lastMessageAt });

    if (activity.participant) {
      const pk = k(activity.channel, activity.participant.externalUserId);
      const byThread = this.participants.get(pk) ?? new Map<string, Participation>();
      const previous = byThread.get(threadId);
      const atMs = ms(activity.at);
      if (!previous || previous.lastActivityMs < atMs) byThread.set(threadId, { threadId, lastActivityMs: atMs });
      this.participants.set(pk, byThread);
    }
  }

  /** Newest activity first; the cursor is the position (activity time, thread id) of the last item. */
  async listThreadsByParticipant(channel: Channel, externalUserId: string, limit: number, cursor?: string): Promise<Page<Thread>> {
    checkLimit(limit);
    const listing = `participant:${k(channel, externalUserId)}`;
    const ordered = [...(this.participants.get(k(channel, externalUserId))?.values() ?? [])].sort(
      (a, b) => b.lastActivityMs - a.lastActivityMs || (a.threadId < b.threadId ? 1 : -1),
    );
    const after = cursor === undefined ? undefined : decodeCursor(cursor, listing);
    const start =
      after === undefined
        ? 0
        : ordered.findIndex(
            (p) => p.lastActivityMs < after.ms || (p.lastActivityMs === after.ms && p.threadId < after.id),
          );
    const rest = start < 0 ? [] : ordered.slice(start);
    const page = rest.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.flatMap((p) => {
        const thread = this.threads.get(p.threadId);
        return thread ? [copy(thread)] : [];
      }),
      ...(rest.length > limit && last && { nextCursor: encodeCursor(listing, last.lastActivityMs, last.threadId) }),
    };
  }

  // ---- messages ----

  async insertMessage(message: NewMessage): Promise<InsertResult> {
    if (message.externalId !== undefined) {
      const pointerId = k(message.channel, message.accountId, message.externalId);
      const pointer = this.pointers.get(pointerId);
      if (pointer) {
        const stored = this.messages.get(pointer.threadId)?.get(pointer.messageId);
        if (stored) return { inserted: false, message: copy(stored) };
        return this.put({ ...message, threadId: pointer.threadId, id: pointer.messageId });
      }
      this.pointers.set(pointerId, { threadId: message.threadId, messageId: message.id });
    }
    return this.put(message);
  }

  private put(message: Message): InsertResult {
    const inThread = this.messages.get(message.threadId) ?? new Map<string, Message>();
    const stored = inThread.get(message.id);
    if (stored) return { inserted: false, message: copy(stored) };
    inThread.set(message.id, copy(message));
    this.messages.set(message.threadId, inThread);
    for (const externalId of message.externalIds ?? []) this.pointTo(message, externalId);
    return { inserted: true, message: copy(message) };
  }

  private pointTo(message: Message, externalId: string): void {
    const pointerId = k(message.channel, message.accountId, externalId);
    if (!this.pointers.has(pointerId)) this.pointers.set(pointerId, { threadId: message.threadId, messageId: message.id });
  }

  async getMessage(threadId: string, messageId: string): Promise<Message | undefined> {
    const message = this.messages.get(threadId)?.get(messageId);
    return message && copy(message);
  }

  async findMessageByExternalId(channel: Channel, accountId: string, externalId: string): Promise<Message | undefined> {
    const pointer = this.pointers.get(k(channel, accountId, externalId));
    return pointer && this.getMessage(pointer.threadId, pointer.messageId);
  }

  /** Oldest first: message ids sort chronologically, as the DynamoDB sort key does. */
  async listMessages(threadId: string, limit: number, cursor?: string): Promise<Page<Message>> {
    checkLimit(limit);
    const listing = `messages:${threadId}`;
    const after = cursor === undefined ? undefined : decodeCursor(cursor, listing);
    const ordered = [...(this.messages.get(threadId)?.values() ?? [])].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const rest = after === undefined ? ordered : ordered.filter((m) => m.id > after.id);
    const page = rest.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(copy),
      ...(rest.length > limit && last && { nextCursor: encodeCursor(listing, 0, last.id) }),
    };
  }

  async editMessage(threadId: string, messageId: string, content: Content, editedAt: string): Promise<boolean> {
    const message = this.messages.get(threadId)?.get(messageId);
    if (!message) return false;
    if (message.editedAt !== undefined && ms(message.editedAt) >= ms(editedAt)) return false;
    this.messages.get(threadId)?.set(messageId, { ...message, content: copy(content), editedAt });
    return true;
  }

  async advanceStatus(threadId: string, messageId: string, change: StatusChange): Promise<boolean> {
    const message = this.messages.get(threadId)?.get(messageId);
    if (!message || message.status === 'received') return false;
    if (change.onlyIfQueued ? message.status !== 'queued' : STATUS_RANK[message.status] >= STATUS_RANK[change.status]) return false;
    const externalIds = change.externalIds ?? [];
    for (const externalId of externalIds) this.pointTo(message, externalId);
    const { failure: previous, ...rest } = message;
    // A later success supersedes an earlier failure's details.
    const failure = change.failure ?? (change.status === 'failed' ? previous : undefined);
    const updated: Message = {
      ...rest,
      status: change.status,
      ...(externalIds.length > 0 && { externalId: externalIds[0], externalIds: [...externalIds] }),
      ...(failure && { failure: copy(failure) }),
    };
    this.messages.get(threadId)?.set(messageId, updated);
    return true;
  }

  readonly claims = new Map<string, { token: string; untilMs: number }>();

  async claimForSending(threadId: string, messageId: string, claim: SendingClaim): Promise<ClaimResult> {
    const message = this.messages.get(threadId)?.get(messageId);
    if (message?.status !== 'queued') return 'not-queued';
    const held = this.claims.get(k(threadId, messageId));
    if (held && held.token !== claim.token && held.untilMs >= ms(claim.now)) return 'held-elsewhere';
    this.claims.set(k(threadId, messageId), { token: claim.token, untilMs: ms(claim.until) });
    return 'claimed';
  }

  async releaseSendingClaim(threadId: string, messageId: string, token: string): Promise<void> {
    if (this.claims.get(k(threadId, messageId))?.token === token) this.claims.delete(k(threadId, messageId));
  }

  async recordSentParts(threadId: string, messageId: string, externalIds: readonly string[]): Promise<void> {
    const message = this.messages.get(threadId)?.get(messageId);
    if (!message || externalIds.length === 0) return;
    for (const externalId of externalIds) this.pointTo(message, externalId);
    // Never shortens the list: a stale retry that knows fewer parts changes nothing.
    if ((message.externalIds?.length ?? 0) > externalIds.length) return;
    this.messages.get(threadId)?.set(messageId, { ...message, externalId: externalIds[0], externalIds: [...externalIds] });
  }

  async recordMediaCopy(threadId: string, messageId: string, copy: MediaCopy): Promise<boolean> {
    const message = this.messages.get(threadId)?.get(messageId);
    if (!message || message.mediaCopy?.key === copy.key) return false;
    this.messages.get(threadId)?.set(messageId, { ...message, mediaCopy: { ...copy } });
    return true;
  }

  // ---- API keys ----

  async findApiKey(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const record = this.apiKeys.get(keyHash);
    return record && copy(record);
  }

  async putApiKey(record: ApiKeyRecord): Promise<void> {
    const stored = this.apiKeys.get(record.keyHash);
    if (stored && stored.id !== record.id) throw new Error(`an API key with the same hash is already stored under another id than ${record.id}`);
    this.apiKeys.set(record.keyHash, copy(record));
  }

  // ---- channel accounts ----

  async putAccount(record: Account): Promise<Account> {
    const id = `${record.channel}#${record.accountId}`;
    const stored = this.accounts.get(id);
    const next: Account = stored ? { ...stored, ...(record.name !== undefined && { name: record.name }) } : copy(record);
    this.accounts.set(id, next);
    return copy(next);
  }

  async listAccounts(channel?: Channel): Promise<Account[]> {
    return [...this.accounts.entries()]
      .filter(([, account]) => channel === undefined || account.channel === channel)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, account]) => copy(account));
  }

  // ---- idempotency keys ----

  async claimIdempotencyKey(scope: string, key: string, record: IdempotencyRecord, expiresAt: string): Promise<IdempotencyClaim> {
    const id = k(scope, key);
    const stored = this.idempotency.get(id);
    if (stored && stored.expiresAtMs > this.clock.now().getTime()) return { claimed: false, existing: copy(stored.record) };
    this.idempotency.set(id, { record: copy(record), expiresAtMs: ms(expiresAt) });
    return { claimed: true };
  }
}

const checkLimit = (limit: number): void => {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new RangeError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}, but ${limit} was provided`);
  }
};

/** Cursors name their listing, so one listing's cursor is refused by another, as the DynamoDB store does. */
const encodeCursor = (listing: string, positionMs: number, id: string): string =>
  Buffer.from(JSON.stringify({ l: listing, ms: positionMs, id })).toString('base64url');

const decodeCursor = (cursor: string, listing: string): { readonly ms: number; readonly id: string } => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError(cursor);
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    !('l' in parsed && 'ms' in parsed && 'id' in parsed) ||
    parsed.l !== listing ||
    typeof parsed.ms !== 'number' ||
    typeof parsed.id !== 'string'
  ) {
    throw new InvalidCursorError(cursor);
  }
  return { ms: parsed.ms, id: parsed.id };
};
