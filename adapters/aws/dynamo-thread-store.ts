/**
 * The thread store on one DynamoDB table (single-table design; every item layout and access pattern is in
 * docs/data-model.md). Every write is one conditional PutItem or UpdateItem: no transactions, because
 * dynalite (the local engine) has none and single-item writes cost less. Where an operation writes two items,
 * the first write is the one that decides (it carries the uniqueness condition) and the second is derivable
 * from the first, so repeating the operation after a crash between them completes it. Every read is a
 * GetItem, a BatchGetItem or a Query; nothing scans.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { ChannelSchema, type Channel, type Content } from '../../domain/content.ts';
import { InvalidCursorError } from '../../domain/errors.ts';
import { ConversationRefSchema } from '../../domain/events.ts';
import { randomId } from '../../domain/ids.ts';
import { AccountSchema, MessageSchema, ThreadSchema, type Account, type MediaCopy, type Message, type MessageStatus, type Thread } from '../../domain/model.ts';
import {
  systemClock,
  type ApiKeyRecord,
  type ClaimResult,
  type SendingClaim,
  type Clock,
  type IdempotencyClaim,
  type IdempotencyRecord,
  type Identity,
  type IdentityInput,
  type InsertResult,
  type NewMessage,
  type Page,
  type StatusChange,
  type ThreadActivity,
  type ThreadStore,
} from '../../domain/ports.ts';
import { TABLE_KEYS } from '../../topology/table.ts';

// Typed against the shared key schema, so renaming a key in topology/table.ts fails to compile here.
const PK: typeof TABLE_KEYS.partitionKey = 'pk';
const SK: typeof TABLE_KEYS.sortKey = 'sk';
const GSI1: (typeof TABLE_KEYS.indexes)[0]['name'] = 'gsi1';

/** BatchGetItem reads at most 100 keys, which bounds a participant page. */
export const MAX_PAGE_SIZE = 100;

/** Tries of an optimistic read-modify-write before giving up (the queue then redelivers). */
const MAX_ATTEMPTS = 8;

/**
 * Forward-only delivery statuses. A status applies only over a lower rank; `failed` (25) therefore only
 * follows `queued` or `sent`, while a `delivered` or `read` report still wins over an earlier failure
 * (the provider knows better than a timed-out send). Inbound messages (`received`) have no rank, so no
 * status change ever applies to them.
 */
export const STATUS_RANK = { queued: 10, sent: 20, failed: 25, delivered: 30, read: 40 } as const satisfies Record<
  Exclude<MessageStatus, 'received'>,
  number
>;

export interface DynamoThreadStoreOptions {
  /**
   * A document client created with `marshallOptions.removeUndefinedValues: true` (see
   * {@link createDocumentClient}): domain objects carry optional fields as `undefined`, which the
   * marshaller otherwise rejects.
   */
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Decides whether an idempotency record has expired. */
  readonly clock?: Clock;
}

/** The document client this store expects, over a plain DynamoDB client. */
export const createDocumentClient = (client: DynamoDBClient): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });

// ---- keys ------------------------------------------------------------------------------------------------

/** Free-form parts are escaped so that '#' inside an id can never make two keys collide. */
const part = (value: string): string => value.replaceAll('%', '%25').replaceAll('#', '%23');
const key = (prefix: string, ...parts: readonly string[]): string => [prefix, ...parts.map(part)].join('#');

type Key = { readonly pk: string; readonly sk: string };
const identityKey = (channel: Channel, accountId: string, externalId: string): Key => ({
  pk: key('IDENTITY', channel, accountId, externalId),
  sk: 'IDENTITY',
});
const contactKey = (contactId: string): Key => ({ pk: key('CONTACT', contactId), sk: 'CONTACT' });
const threadKey = (threadId: string): Key => ({ pk: key('THREAD', threadId), sk: 'THREAD' });
const messageKey = (threadId: string, messageId: string): Key => ({
  pk: key('THREAD', threadId),
  sk: key('MSG', messageId),
});
const pointerKey = (channel: Channel, accountId: string, externalId: string): Key => ({
  pk: key('EXTMSG', channel, accountId, externalId),
  sk: 'EXTMSG',
});
const participantPk = (channel: Channel, externalUserId: string): string => key('PARTICIPANT', channel, externalUserId);
const apiKeyKey = (keyHash: string): Key => ({ pk: key('APIKEY', keyHash), sk: 'APIKEY' });
/** Every account in one partition: a deployment has a handful, and listing them is one Query. */
const ACCOUNTS_PK = 'ACCOUNTS';
const accountKey = (channel: Channel, accountId: string): Key => ({ pk: ACCOUNTS_PK, sk: key(channel, accountId) });
const idempotencyKey = (scope: string, clientKey: string): Key => ({
  pk: key('IDEMPOTENCY', scope, clientKey),
  sk: 'IDEMPOTENCY',
});

// ---- stored shapes (validated on read) -------------------------------------------------------------------

const IdentityItemSchema = z.object({
  channel: ChannelSchema,
  accountId: z.string(),
  externalId: z.string(),
  contactId: z.string(),
  kind: ConversationRefSchema.shape.kind,
  displayName: z.string().optional(),
  unreachable: z.object({ reason: z.string(), since: z.string() }).optional(),
  /** Present from the identity's creation until its contact item exists. */
  contactPending: z.boolean().optional(),
});
const ContactItemSchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  openThreadId: z.string().optional(),
  openThreadAt: z.string().optional(),
});
const ThreadRevisionSchema = z.object({ rev: z.number() });
const PointerItemSchema = z.object({ threadId: z.string(), messageId: z.string() });
const ApiKeyItemSchema = z.object({ id: z.string(), keyHash: z.string(), name: z.string(), createdAt: z.string() });
const IdempotencyItemSchema = z.object({
  threadId: z.string(),
  messageId: z.string(),
  requestHash: z.string(),
  expiresAtMs: z.number(),
});
const ParticipantItemSchema = z.object({ threadId: z.string() });

type Item = Record<string, unknown>;

const isConditionFailure = (error: unknown): boolean => error instanceof ConditionalCheckFailedException;

/** Attribute names go through placeholders: `status`, `name` and friends are reserved words. */
const names = (...attributes: readonly string[]): Record<string, string> =>
  Object.fromEntries(attributes.map((attribute) => [`#${attribute}`, attribute]));

const millis = (instant: string): number => {
  const ms = Date.parse(instant);
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO 8601 instant: ${instant}`);
  return ms;
};

const pause = (attempt: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * 2 ** attempt));

// ---- cursors ---------------------------------------------------------------------------------------------

const encodeCursor = (lastKey: Item): string => Buffer.from(JSON.stringify(lastKey)).toString('base64url');

/**
 * Decodes a cursor this store issued for exactly this listing: the expected key attributes, all strings,
 * with the listing's own partition. Anything else is an {@link InvalidCursorError}, never a DynamoDB
 * ValidationException or another listing's page.
 */
const decodeCursor = (
  cursor: string,
  attributes: readonly string[],
  check: (key: Readonly<Record<string, string>>) => boolean,
): Record<string, string> => {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError(cursor);
  }
  const shape = z.strictObject(Object.fromEntries(attributes.map((name) => [name, z.string().min(1)])));
  const parsed = shape.safeParse(decoded);
  if (!parsed.success || !check(parsed.data)) throw new InvalidCursorError(cursor);
  return parsed.data;
};

const checkLimit = (limit: number): void => {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new RangeError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}, but ${limit} was provided`);
  }
};

/**
 * Queries one more item than asked, so `nextCursor` appears only when there is more (DynamoDB alone
 * returns a LastEvaluatedKey after a page that happens to end exactly at the last item). The cursor is the
 * key of the last item returned, with the index keys when the query ran on an index.
 */
const pageOf = (items: readonly Item[], limit: number, keyAttributes: readonly string[], lastEvaluated?: Item) => {
  if (items.length > limit) {
    const last = items[limit - 1] ?? {};
    return {
      items: items.slice(0, limit),
      nextCursor: encodeCursor(Object.fromEntries(keyAttributes.map((name) => [name, last[name]]))),
    };
  }
  // Fewer than asked but a LastEvaluatedKey: the 1 MB page limit cut the query short.
  return { items, ...(lastEvaluated && { nextCursor: encodeCursor(lastEvaluated) }) };
};

// ---- thread activity -------------------------------------------------------------------------------------

/** The thread after an activity: channel added, the channel's route replaced if newer, last message kept latest. */
export const mergeActivity = (thread: Thread, activity: ThreadActivity): Thread => {
  const channels = thread.channels.includes(activity.channel) ? thread.channels : [...thread.channels, activity.channel];
  let routes = thread.routes;
  const route = activity.route;
  if (route) {
    const existing = routes.find((r) => r.channel === route.channel);
    if (!existing || millis(route.lastInboundAt) >= millis(existing.lastInboundAt)) {
      routes = [route, ...routes.filter((r) => r.channel !== route.channel)].sort(
        (a, b) => millis(b.lastInboundAt) - millis(a.lastInboundAt),
      );
    }
  }
  const lastMessageAt = millis(activity.at) > millis(thread.lastMessageAt) ? activity.at : thread.lastMessageAt;
  return { ...thread, channels, routes, lastMessageAt };
};

// ---- the store -------------------------------------------------------------------------------------------

/**
 * {@link ThreadStore} on DynamoDB. Reads that decide a write, and reads right after a write, are strongly
 * consistent; only the participant index (a GSI) is eventually consistent.
 *
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html
 */
export class DynamoThreadStore implements ThreadStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly clock: Clock;

  constructor(options: DynamoThreadStoreOptions) {
    if (options.client.config.translateConfig?.marshallOptions?.removeUndefinedValues !== true) {
      throw new Error('DynamoThreadStore needs a document client created with marshallOptions.removeUndefinedValues: true');
    }
    if (!options.tableName) throw new Error('DynamoThreadStore needs a table name');
    this.client = options.client;
    this.tableName = options.tableName;
    this.clock = options.clock ?? systemClock;
  }

  // ---- identities and contacts ----

  /** Also refreshes the stored display name when the input brings a different one. */
  async ensureIdentity(input: IdentityInput, now: string): Promise<Identity> {
    const itemKey = identityKey(input.channel, input.accountId, input.externalId);
    let stored = await this.getIdentityItem(itemKey);
    if (!stored) {
      // The identity is written first and carries the uniqueness; its contact follows. A crash in between
      // leaves `contactPending`, which the next call completes, and a lost race creates no stray contact.
      const created = {
        channel: input.channel,
        accountId: input.accountId,
        externalId: input.externalId,
        contactId: randomId('ct'),
        kind: input.kind,
        ...(input.displayName !== undefined && { displayName: input.displayName }),
        contactPending: true,
      } satisfies z.input<typeof IdentityItemSchema>;
      try {
        await this.put({ ...itemKey, ...created, createdAt: now }, `attribute_not_exists(${PK})`);
        stored = created;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        stored = await this.getIdentityItem(itemKey);
        if (!stored) throw new Error(`identity ${itemKey.pk} vanished after a conflicting create`);
      }
    }
    const { contactPending, ...identity } = stored;
    if (contactPending) {
      await this.putIfAbsent({ ...contactKey(identity.contactId), id: identity.contactId, createdAt: now });
      await this.update(itemKey, { remove: ['contactPending'] }, `attribute_exists(${PK})`);
    }
    if (input.displayName !== undefined && input.displayName !== identity.displayName) {
      await this.update(itemKey, { set: { displayName: input.displayName } }, `attribute_exists(${PK})`);
      return { ...identity, displayName: input.displayName };
    }
    return identity;
  }

  async getIdentity(channel: Channel, accountId: string, externalId: string): Promise<Identity | undefined> {
    const stored = await this.getIdentityItem(identityKey(channel, accountId, externalId));
    if (!stored) return undefined;
    const { contactPending: _pending, ...identity } = stored;
    return identity;
  }

  /** Keeps the earliest `since`: later reports of the same block change nothing. Unknown identities are ignored. */
  async markIdentityUnreachable(channel: Channel, accountId: string, externalId: string, reason: string, at: string): Promise<void> {
    const sinceMs = millis(at);
    await this.ignoringConditionFailure(
      this.update(
        identityKey(channel, accountId, externalId),
        { set: { unreachable: { reason, since: at }, unreachableMs: sinceMs } },
        `attribute_exists(${PK}) AND (attribute_not_exists(#unreachableMs) OR #unreachableMs > :sinceMs)`,
        { ':sinceMs': sinceMs },
      ),
    );
  }

  async markIdentityReachable(channel: Channel, accountId: string, externalId: string, at: string): Promise<void> {
    await this.ignoringConditionFailure(
      this.update(
        identityKey(channel, accountId, externalId),
        { remove: ['unreachable', 'unreachableMs'] },
        `attribute_exists(${PK}) AND #unreachableMs < :atMs`,
        { ':atMs': millis(at) },
      ),
    );
  }

  private async getIdentityItem(itemKey: Key) {
    const item = await this.get(itemKey);
    return item && IdentityItemSchema.parse(item);
  }

  // ---- threads ----

  /**
   * The contact item names its one open thread. Replacing that name is conditional on the name read
   * (none, or the resolved thread), so of two concurrent callers one wins and the other, on its next try,
   * finds the winner's thread. The thread item is written after the name, from values the contact item
   * holds (id, `openThreadAt`), so whoever finds the name without its item can write the same item.
   */
  async ensureOpenThread(contactId: string, now: string): Promise<Thread> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const item = await this.get(contactKey(contactId));
      if (!item) throw new Error(`contact ${contactId} does not exist`);
      const contact = ContactItemSchema.parse(item);
      if (contact.openThreadId !== undefined) {
        const open = await this.getThread(contact.openThreadId);
        if (!open) return this.createThread(contact.openThreadId, contactId, contact.openThreadAt ?? now);
        if (open.status !== 'resolved') return open;
        // The customer writes again: the same thread reopens, so their history stays in one place.
        try {
          await this.update(threadKey(open.id), { set: { status: 'open' } }, '#status = :resolved', { ':resolved': 'resolved' });
          return { ...open, status: 'open' };
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
          continue; // reopened (or changed) meanwhile: read again
        }
      }
      const threadId = randomId('th');
      try {
        await this.update(
          contactKey(contactId),
          { set: { openThreadId: threadId, openThreadAt: now } },
          `attribute_exists(${PK}) AND attribute_not_exists(#openThreadId)`,
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        await pause(attempt);
        continue;
      }
      return this.createThread(threadId, contactId, now);
    }
    throw new Error(`could not settle the open thread of contact ${contactId} after ${MAX_ATTEMPTS} tries`);
  }

  private async createThread(threadId: string, contactId: string, at: string): Promise<Thread> {
    const thread: Thread = {
      id: threadId,
      contactId,
      status: 'open',
      channels: [],
      routes: [],
      createdAt: at,
      lastMessageAt: at,
    };
    if (await this.putIfAbsent({ ...threadKey(threadId), ...thread, rev: 0 })) return thread;
    const stored = await this.getThread(threadId);
    if (!stored) throw new Error(`thread ${threadId} vanished after a conflicting create`);
    return stored;
  }

  async getThread(threadId: string): Promise<Thread | undefined> {
    const item = await this.get(threadKey(threadId));
    return item && ThreadSchema.parse(item);
  }

  /**
   * Read, merge, write back conditional on the revision read (optimistic locking): the merge keeps one
   * route per channel and never moves `lastMessageAt` back, which one UpdateItem cannot express. A repeated
   * activity merges to the same thread and writes nothing. Never changes the thread's status: an inbound
   * message after a resolution gets a new thread from {@link ensureOpenThread}.
   */
  async recordActivity(threadId: string, activity: ThreadActivity): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const item = await this.get(threadKey(threadId));
      if (!item) throw new Error(`thread ${threadId} does not exist`);
      const thread = ThreadSchema.parse(item);
      const { rev } = ThreadRevisionSchema.parse(item);
      const merged = mergeActivity(thread, activity);
      const { channels, routes, lastMessageAt } = merged;
      if (JSON.stringify({ channels, routes, lastMessageAt }) === JSON.stringify({ channels: thread.channels, routes: thread.routes, lastMessageAt: thread.lastMessageAt })) {
        break;
      }
      try {
        await this.update(threadKey(threadId), { set: { channels, routes, lastMessageAt, rev: rev + 1 } }, '#rev = :readRev', {
          ':readRev': rev,
        });
        break;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        if (attempt + 1 >= MAX_ATTEMPTS) {
          throw new Error(`could not record activity on thread ${threadId} after ${MAX_ATTEMPTS} tries`, { cause: error });
        }
        await pause(attempt);
      }
    }
    if (activity.participant) await this.recordParticipant(threadId, activity.channel, activity.participant.externalUserId, activity.at);
  }

  /** One item per (participant, thread); its index sort key moves forward with the latest activity only. */
  private async recordParticipant(threadId: string, channel: Channel, externalUserId: string, at: string): Promise<void> {
    const atMs = millis(at);
    const pk = participantPk(channel, externalUserId);
    await this.ignoringConditionFailure(
      this.update(
        { pk, sk: key('THREAD', threadId) },
        {
          set: {
            channel,
            externalUserId,
            threadId,
            lastActivityAt: at,
            lastActivityMs: atMs,
            gsi1pk: pk,
            gsi1sk: `${new Date(atMs).toISOString()}#${part(threadId)}`,
          },
        },
        'attribute_not_exists(#lastActivityMs) OR #lastActivityMs < :lastActivityMs',
      ),
    );
  }

  /**
   * Newest activity first, from the participant items on `gsi1`. The cursor is a position in that order:
   * a thread that becomes active while a caller pages moves to the top, where a fresh listing shows it.
   */
  async listThreadsByParticipant(channel: Channel, externalUserId: string, limit: number, cursor?: string): Promise<Page<Thread>> {
    checkLimit(limit);
    const pk = participantPk(channel, externalUserId);
    const keyAttributes = [PK, SK, 'gsi1pk', 'gsi1sk'];
    const startKey =
      cursor === undefined
        ? undefined
        : decodeCursor(cursor, keyAttributes, (k) => k.pk === pk && k.gsi1pk === pk && (k.sk ?? '').startsWith('THREAD#'));
    const answer = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: GSI1,
        KeyConditionExpression: '#gsi1pk = :pk',
        ExpressionAttributeNames: names('gsi1pk'),
        ExpressionAttributeValues: { ':pk': pk },
        ScanIndexForward: false,
        Limit: limit + 1,
        ExclusiveStartKey: startKey,
      }),
    );
    const page = pageOf(answer.Items ?? [], limit, keyAttributes, answer.LastEvaluatedKey);
    const threadIds = page.items.map((item) => ParticipantItemSchema.parse(item).threadId);
    const threads = (await this.batchGet(threadIds.map(threadKey))).map((item) => ThreadSchema.parse(item));
    const byId = new Map(threads.map((thread) => [thread.id, thread]));
    return {
      items: threadIds.flatMap((id) => byId.get(id) ?? []),
      ...(page.nextCursor !== undefined && { nextCursor: page.nextCursor }),
    };
  }

  // ---- messages ----

  /**
   * With a provider id, the pointer item (channel, account, provider id → thread, message) is written
   * first and decides which insert wins; the message follows at the pointer's ids. A later insert that
   * finds the pointer writes the message there if it is missing (the first insert crashed in between) and
   * otherwise returns the stored one. `inserted` is true for exactly the call whose write stored the message.
   */
  async insertMessage(message: NewMessage): Promise<InsertResult> {
    const valid = MessageSchema.parse(message);
    if (valid.externalId === undefined) return this.putMessage(valid);

    const pointer = pointerKey(valid.channel, valid.accountId, valid.externalId);
    const claimed = await this.putIfAbsent({ ...pointer, threadId: valid.threadId, messageId: valid.id });
    let result: InsertResult;
    if (claimed) {
      result = await this.putMessage(valid);
    } else {
      const item = await this.get(pointer);
      if (!item) throw new Error(`message pointer ${pointer.pk} vanished after a conflicting create`);
      const { threadId, messageId } = PointerItemSchema.parse(item);
      result = await this.putMessage({ ...valid, threadId, id: messageId });
    }
    const { externalIds = [] } = result.message;
    if (externalIds.length > 1) await this.claimPointers(result.message, externalIds.slice(1));
    return result;
  }

  private async putMessage(message: Message): Promise<InsertResult> {
    const item = { ...messageKey(message.threadId, message.id), ...message, ...hiddenMessageAttributes(message) };
    if (await this.putIfAbsent(item)) return { inserted: true, message };
    const stored = await this.getMessage(message.threadId, message.id);
    if (!stored) throw new Error(`message ${message.id} vanished after a conflicting create`);
    return { inserted: false, message: stored };
  }

  async getMessage(threadId: string, messageId: string): Promise<Message | undefined> {
    const item = await this.get(messageKey(threadId, messageId));
    return item && MessageSchema.parse(item);
  }

  async findMessageByExternalId(channel: Channel, accountId: string, externalId: string): Promise<Message | undefined> {
    const item = await this.get(pointerKey(channel, accountId, externalId));
    if (!item) return undefined;
    const { threadId, messageId } = PointerItemSchema.parse(item);
    return this.getMessage(threadId, messageId);
  }

  /** Message ids sort chronologically (domain/message-ids.ts), so the sort key order is the thread's order. */
  async listMessages(threadId: string, limit: number, cursor?: string): Promise<Page<Message>> {
    checkLimit(limit);
    const { pk } = threadKey(threadId);
    const keyAttributes = [PK, SK];
    const startKey =
      cursor === undefined ? undefined : decodeCursor(cursor, keyAttributes, (k) => k.pk === pk && (k.sk ?? '').startsWith('MSG#'));
    const answer = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :msg)',
        ExpressionAttributeNames: names(PK, SK),
        ExpressionAttributeValues: { ':pk': pk, ':msg': 'MSG#' },
        ScanIndexForward: true,
        ConsistentRead: true,
        Limit: limit + 1,
        ExclusiveStartKey: startKey,
      }),
    );
    const page = pageOf(answer.Items ?? [], limit, keyAttributes, answer.LastEvaluatedKey);
    return {
      items: page.items.map((item) => MessageSchema.parse(item)),
      ...(page.nextCursor !== undefined && { nextCursor: page.nextCursor }),
    };
  }

  /** Compares edits on a hidden epoch-millisecond attribute: ISO strings of different precision do not sort. */
  async editMessage(threadId: string, messageId: string, content: Content, editedAt: string): Promise<boolean> {
    const editedMs = millis(editedAt);
    return this.succeeded(
      this.update(
        messageKey(threadId, messageId),
        { set: { content, editedAt, editedMs } },
        `attribute_exists(${PK}) AND (attribute_not_exists(#editedMs) OR #editedMs < :editedMs)`,
      ),
    );
  }

  /**
   * One UpdateItem conditional on the stored rank ({@link STATUS_RANK}). Provider ids are pointed at the
   * message before the update, so a crash after it cannot leave a sent message that status reports
   * cannot find (a repeated call would return false and never write them).
   */
  async advanceStatus(threadId: string, messageId: string, change: StatusChange): Promise<boolean> {
    const externalIds = change.externalIds ?? [];
    if (externalIds.length > 0) {
      const message = await this.getMessage(threadId, messageId);
      if (!message) return false;
      await this.claimPointers(message, externalIds);
    }
    const set: Record<string, unknown> = { status: change.status, statusRank: STATUS_RANK[change.status] };
    const remove: string[] = [];
    if (externalIds.length > 0) Object.assign(set, { externalId: externalIds[0], externalIds: [...externalIds] });
    if (change.failure) set.failure = change.failure;
    // A later success supersedes an earlier failure's details.
    else if (change.status !== 'failed') remove.push('failure');
    const condition = change.onlyIfQueued
      ? `attribute_exists(${PK}) AND #statusRank = :queuedRank`
      : `attribute_exists(${PK}) AND #statusRank < :statusRank`;
    return this.succeeded(
      this.update(messageKey(threadId, messageId), { set, remove }, condition, change.onlyIfQueued ? { ':queuedRank': STATUS_RANK.queued } : {}),
    );
  }

  /** A conditional update of hidden claim attributes; the status is not touched. */
  async claimForSending(threadId: string, messageId: string, claim: SendingClaim): Promise<ClaimResult> {
    const claimed = await this.succeeded(
      this.update(
        messageKey(threadId, messageId),
        { set: { claimToken: claim.token, claimUntilMs: millis(claim.until) } },
        `attribute_exists(${PK}) AND #statusRank = :queuedRank AND (attribute_not_exists(#claimUntilMs) OR #claimUntilMs < :nowMs OR #claimToken = :token)`,
        { ':queuedRank': STATUS_RANK.queued, ':nowMs': millis(claim.now), ':token': claim.token },
      ),
    );
    if (claimed) return 'claimed';
    const message = await this.getMessage(threadId, messageId);
    return message?.status === 'queued' ? 'held-elsewhere' : 'not-queued';
  }

  async releaseSendingClaim(threadId: string, messageId: string, token: string): Promise<void> {
    await this.ignoringConditionFailure(
      this.update(messageKey(threadId, messageId), { remove: ['claimToken', 'claimUntilMs'] }, '#claimToken = :token', { ':token': token }),
    );
  }

  /** Never shortens the recorded list: a stale retry that knows fewer parts changes nothing. */
  async recordSentParts(threadId: string, messageId: string, externalIds: readonly string[]): Promise<void> {
    if (externalIds.length === 0) return;
    const message = await this.getMessage(threadId, messageId);
    if (!message) return;
    await this.claimPointers(message, externalIds);
    await this.ignoringConditionFailure(
      this.update(
        messageKey(threadId, messageId),
        { set: { externalId: externalIds[0], externalIds: [...externalIds] } },
        `attribute_exists(${PK}) AND (attribute_not_exists(#externalIds) OR size(#externalIds) <= :count)`,
        { ':count': externalIds.length },
      ),
    );
  }

  /** One conditional UpdateItem: a copy under the same key is recorded once; another key replaces it. */
  async recordMediaCopy(threadId: string, messageId: string, copy: MediaCopy): Promise<boolean> {
    return this.succeeded(
      this.update(
        messageKey(threadId, messageId),
        { set: { mediaCopy: { ...copy } } },
        `attribute_exists(${PK}) AND (attribute_not_exists(#mediaCopy) OR #mediaCopy.#key <> :copyKey)`,
        { ':copyKey': copy.key },
      ),
    );
  }

  /** Points provider ids at a message; an id already pointing elsewhere keeps its first owner. */
  private async claimPointers(message: Message, externalIds: readonly string[]): Promise<void> {
    await Promise.all(
      externalIds.map((externalId) =>
        this.putIfAbsent({
          ...pointerKey(message.channel, message.accountId, externalId),
          threadId: message.threadId,
          messageId: message.id,
        }),
      ),
    );
  }

  // ---- API keys ----

  async findApiKey(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const item = await this.get(apiKeyKey(keyHash));
    return item && ApiKeyItemSchema.parse(item);
  }

  /** Storing the same key again is fine; a different key id with the same hash is refused. */
  async putApiKey(record: ApiKeyRecord): Promise<void> {
    const { id, keyHash, name, createdAt } = record;
    try {
      await this.put({ ...apiKeyKey(keyHash), id, keyHash, name, createdAt }, `attribute_not_exists(${PK}) OR #id = :id`, {
        ':id': id,
      });
    } catch (error) {
      if (isConditionFailure(error)) throw new Error(`an API key with the same hash is already stored under another id than ${id}`);
      throw error;
    }
  }

  // ---- channel accounts ----

  /** One UpdateItem: `createdAt` is set only if absent, so a repeat keeps the first registration's. */
  async putAccount(record: Account): Promise<Account> {
    const { channel, accountId, name, createdAt } = AccountSchema.parse(record);
    const answer = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: accountKey(channel, accountId),
        UpdateExpression: `SET #channel = :channel, #accountId = :accountId, #createdAt = if_not_exists(#createdAt, :createdAt)${
          name === undefined ? '' : ', #name = :name'
        }`,
        ExpressionAttributeNames: names('channel', 'accountId', 'createdAt', ...(name === undefined ? [] : ['name'])),
        ExpressionAttributeValues: {
          ':channel': channel,
          ':accountId': accountId,
          ':createdAt': createdAt,
          ...(name !== undefined && { ':name': name }),
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return AccountSchema.parse(answer.Attributes);
  }

  /** A Query on the accounts partition, narrowed to one channel with `begins_with` on the sort key. */
  async listAccounts(channel?: Channel): Promise<Account[]> {
    const accounts: Account[] = [];
    let startKey: Item | undefined;
    do {
      const answer = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: channel === undefined ? '#pk = :pk' : '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: names(PK, ...(channel === undefined ? [] : [SK])),
          ExpressionAttributeValues: { ':pk': ACCOUNTS_PK, ...(channel !== undefined && { ':prefix': `${channel}#` }) },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      accounts.push(...(answer.Items ?? []).map((item) => AccountSchema.parse(item)));
      startKey = answer.LastEvaluatedKey;
    } while (startKey);
    return accounts;
  }

  // ---- idempotency keys ----

  /**
   * A conditional put that succeeds on a free key or over an expired record. `expiresAt` holds epoch
   * seconds for DynamoDB's TTL sweep, which may lag by days, so expiry is decided on the exact
   * `expiresAtMs` instead.
   * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html
   */
  async claimIdempotencyKey(
    scope: string,
    clientKey: string,
    record: IdempotencyRecord,
    expiresAt: string,
  ): Promise<IdempotencyClaim> {
    const itemKey = idempotencyKey(scope, clientKey);
    const expiresAtMs = millis(expiresAt);
    const { threadId, messageId, requestHash } = record;
    const item = {
      ...itemKey,
      scope,
      threadId,
      messageId,
      requestHash,
      expiresAtMs,
      [TABLE_KEYS.ttlAttribute]: Math.ceil(expiresAtMs / 1000),
    };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const nowMs = this.clock.now().getTime();
      const claimed = await this.succeeded(
        this.put(item, `attribute_not_exists(${PK}) OR #expiresAtMs <= :nowMs`, { ':nowMs': nowMs }),
      );
      if (claimed) return { claimed: true };
      const stored = await this.get(itemKey);
      // Gone or expired since the put: the key is free again, so claim it on the next try.
      if (stored) {
        const existing = IdempotencyItemSchema.parse(stored);
        if (existing.expiresAtMs > nowMs) {
          return {
            claimed: false,
            existing: { threadId: existing.threadId, messageId: existing.messageId, requestHash: existing.requestHash },
          };
        }
      }
    }
    throw new Error(`could not claim idempotency key ${itemKey.pk} after ${MAX_ATTEMPTS} tries`);
  }

  // ---- single-item primitives ----

  private async get(itemKey: Key): Promise<Item | undefined> {
    const answer = await this.client.send(new GetCommand({ TableName: this.tableName, Key: itemKey, ConsistentRead: true }));
    return answer.Item;
  }

  /** Names every `#attribute` the condition uses; values are `:attribute` of `set` unless given. */
  private async put(item: Item, condition: string, values: Item = {}): Promise<void> {
    const used = attributesIn(condition);
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: item,
        ConditionExpression: condition,
        ...(used.length > 0 && { ExpressionAttributeNames: names(...used) }),
        ...(Object.keys(values).length > 0 && { ExpressionAttributeValues: values }),
      }),
    );
  }

  /** True when this call created the item; false when it already existed. */
  private async putIfAbsent(item: Item): Promise<boolean> {
    return this.succeeded(this.put(item, `attribute_not_exists(${PK})`));
  }

  /**
   * `SET #a = :a, ...` and `REMOVE #b, ...` under a condition. A value placeholder `:x` in the condition
   * refers to the value set for `x` unless `values` gives it.
   */
  private async update(
    itemKey: Key,
    changes: { readonly set?: Item; readonly remove?: readonly string[] },
    condition: string,
    values: Item = {},
  ): Promise<void> {
    const set = Object.entries(changes.set ?? {});
    const remove = changes.remove ?? [];
    const clauses = [
      ...(set.length > 0 ? [`SET ${set.map(([name]) => `#${name} = :${name}`).join(', ')}`] : []),
      ...(remove.length > 0 ? [`REMOVE ${remove.map((name) => `#${name}`).join(', ')}`] : []),
    ];
    const setValues = Object.fromEntries(set.map(([name, value]) => [`:${name}`, value]));
    const clash = Object.keys(values).find((placeholder) => placeholder in setValues);
    if (clash) throw new Error(`${clash} is both a set value and a condition value`);
    const expressionValues = { ...setValues, ...values };
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: itemKey,
        UpdateExpression: clauses.join(' '),
        ConditionExpression: condition,
        ExpressionAttributeNames: names(...new Set([...set.map(([name]) => name), ...remove, ...attributesIn(condition)])),
        ...(Object.keys(expressionValues).length > 0 && { ExpressionAttributeValues: expressionValues }),
      }),
    );
  }

  private async batchGet(keys: readonly Key[]): Promise<Item[]> {
    const found: Item[] = [];
    let pending: Item[] = [...keys];
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_ATTEMPTS) throw new Error(`BatchGetItem left ${pending.length} key(s) unprocessed after ${MAX_ATTEMPTS} tries`);
      if (attempt > 0) await pause(attempt);
      const answer = await this.client.send(
        new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } }),
      );
      found.push(...(answer.Responses?.[this.tableName] ?? []));
      pending = answer.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    return found;
  }

  private async succeeded(write: Promise<void>): Promise<boolean> {
    try {
      await write;
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private async ignoringConditionFailure(write: Promise<void>): Promise<void> {
    await this.succeeded(write);
  }
}

/** Attributes a message item carries for conditions only; reads drop them (MessageSchema strips unknown keys). */
const hiddenMessageAttributes = (message: Message) => ({
  ...(message.status !== 'received' && { statusRank: STATUS_RANK[message.status] }),
  ...(message.editedAt !== undefined && { editedMs: millis(message.editedAt) }),
});

/** The `#name` placeholders an expression uses. */
const attributesIn = (expression: string): string[] => [...new Set([...expression.matchAll(/#(\w+)/g)].map((m) => m[1] ?? ''))];
