/**
 * The conversation store on the shared table: contacts, identities, threads, notes, group participants,
 * messages and their provider-id pointers. Item layouts and access patterns are in docs/data-model.md.
 */
import * as z from 'zod';
import type { Channel } from '../../../domain/content.ts';
import {
  ContactSchema,
  IdentitySchema,
  MessageSchema,
  NoteSchema,
  ThreadSchema,
  THREAD_STATUSES,
  type Contact,
  type Identity,
  type IdentityKey,
  type Note,
  type Thread,
} from '../../../domain/conversations/model.ts';
import type {
  ConversationStore,
  ConversationWrite,
  MessagePointer,
  StoredMessage,
  StoredThread,
  ThreadQuery,
} from '../../../domain/conversations/ports.ts';
import type { Clock } from '../../../domain/ports.ts';
import { millis } from '../../../domain/shared/time.ts';
import { InvalidCursorError } from '../../../domain/errors.ts';
import type { Page, Versioned } from '../../../domain/shared/store.ts';
import { TABLE_KEYS } from '../../../topology/table.ts';
import {
  checkLimit,
  decodeCursor,
  type DynamoTable,
  encodeCursor,
  key,
  KIND_ATTRIBUTE,
  versionOf,
  type Item,
  type Key,
  type TableWrite,
} from './table.ts';

const TTL = TABLE_KEYS.ttlAttribute;

// ---- keys ----

export const contactKey = (id: string): Key => ({ pk: key('CONTACT', id), sk: 'CONTACT' });
export const identityKey = (k: IdentityKey): Key => ({ pk: key('IDENTITY', k.channel, k.accountId, k.externalUserId), sk: 'IDENTITY' });
export const threadKey = (id: string): Key => ({ pk: key('THREAD', id), sk: 'THREAD' });
export const messageKey = (threadId: string, id: string): Key => ({ pk: key('THREAD', threadId), sk: key('MSG', id) });
const noteKey = (threadId: string, id: string): Key => ({ pk: key('THREAD', threadId), sk: key('NOTE', id) });
export const pointerKey = (channel: Channel, accountId: string, externalId: string): Key => ({
  pk: key('EXTMSG', channel, accountId, externalId),
  sk: 'EXTMSG',
});
const participantKey = (channel: Channel, externalUserId: string, threadId: string): Key => ({
  pk: key('PARTICIPANT', channel, externalUserId),
  sk: key('THREAD', threadId),
});
const inboxPk = (status: string): string => key('INBOX', status);

// ---- stored shapes ----

const StoredMessageSchema = MessageSchema.extend({
  claim: z.object({ token: z.string(), until: z.string() }).optional(),
  acceptedAt: z.string().optional(),
  deliveredBy: z.string().optional(),
  expiresAt: z.string().optional(),
  contactId: z.string().optional(),
});
export const StoredThreadSchema = ThreadSchema.extend({ counted: z.array(z.string()).optional() });
const PointerSchema = z.object({
  channel: z.string(),
  accountId: z.string(),
  externalId: z.string(),
  threadId: z.string(),
  messageId: z.string(),
  expiresAt: z.string().optional(),
});
const ParticipantSchema = z.object({ threadId: z.string() });

/** Epoch seconds for DynamoDB's TTL sweep, which may lag by days: reads decide expiry themselves. */
const ttlOf = (expiresAt: string | undefined): Item => (expiresAt === undefined ? {} : { [TTL]: Math.ceil(millis(expiresAt) / 1000) });

/** The inbox index: open work by status, newest activity first. A merged thread is read through its survivor, so it leaves the index. */
const inboxKeys = (thread: Thread): Item =>
  thread.mergedInto !== undefined
    ? {}
    : { gsi1pk: inboxPk(thread.status), gsi1sk: `${new Date(millis(thread.updatedAt)).toISOString()}#${thread.id}` };

/** Contacts by phone and email (gsi2, gsi3), for active contacts only. */
const contactLookupKeys = (contact: Contact): Item => ({
  ...(contact.state === 'active' &&
    contact.phone !== undefined && { gsi2pk: key('PHONE', contact.phone), gsi2sk: key('CONTACT', contact.id) }),
  ...(contact.state === 'active' &&
    contact.email !== undefined && { gsi3pk: key('EMAIL', contact.email.toLowerCase()), gsi3sk: key('CONTACT', contact.id) }),
});

/** A conversation write as the table writes it (the routing store commits these together with its own). */
export const toTableWrite = (write: ConversationWrite): TableWrite => {
  const events = write.events;
  if (write.op === 'delete') {
    const itemKey = (() => {
      switch (write.kind) {
        case 'contact':
          return contactKey(write.key.id);
        case 'identity':
          return identityKey(write.key);
        case 'thread':
          return threadKey(write.key.id);
        case 'message':
          return messageKey(write.key.threadId, write.key.id);
        case 'pointer':
          return pointerKey(write.key.channel, write.key.accountId, write.key.externalId);
        case 'note':
          return noteKey(write.key.threadId, write.key.id);
        case 'participant':
          return participantKey(write.key.channel, write.key.externalUserId, write.key.threadId);
      }
    })();
    return { op: 'delete', key: itemKey, version: write.version, label: `${write.kind} ${itemKey.pk}` };
  }
  const item: Item & Key = (() => {
    switch (write.kind) {
      case 'contact':
        return { ...contactKey(write.value.id), [KIND_ATTRIBUTE]: 'contact', ...write.value, ...contactLookupKeys(write.value) };
      case 'identity':
        return { ...identityKey(write.value), [KIND_ATTRIBUTE]: 'identity', ...write.value };
      case 'thread':
        return { ...threadKey(write.value.id), [KIND_ATTRIBUTE]: 'thread', ...write.value, ...inboxKeys(write.value) };
      case 'message':
        return {
          ...messageKey(write.value.threadId, write.value.id),
          [KIND_ATTRIBUTE]: 'message',
          ...MessageSchema.strip().parse(write.value),
          ...(write.value.claim && { claim: write.value.claim }),
          ...(write.value.acceptedAt && { acceptedAt: write.value.acceptedAt }),
          ...(write.value.deliveredBy && { deliveredBy: write.value.deliveredBy }),
          ...(write.value.expiresAt && { expiresAt: write.value.expiresAt }),
          ...(write.value.contactId && { contactId: write.value.contactId }),
          ...ttlOf(write.value.expiresAt),
        };
      case 'pointer':
        return {
          ...pointerKey(write.value.channel, write.value.accountId, write.value.externalId),
          [KIND_ATTRIBUTE]: 'pointer',
          ...write.value,
          ...ttlOf(write.value.expiresAt),
        };
      case 'note':
        return { ...noteKey(write.value.threadId, write.value.id), [KIND_ATTRIBUTE]: 'note', ...write.value };
      case 'participant':
        return {
          ...participantKey(write.value.channel, write.value.externalUserId, write.value.threadId),
          [KIND_ATTRIBUTE]: 'participant',
          ...write.value,
        };
    }
  })();
  return { op: 'put', item, version: write.version, ...(events && { events }), label: `${write.kind} ${item.pk}` };
};

/** Parses an item as stored by {@link toTableWrite}; unknown attributes (keys, index keys, version) are dropped. */
export const RECORD_SCHEMAS = {
  contact: ContactSchema,
  identity: IdentitySchema,
  thread: ThreadSchema,
  message: StoredMessageSchema,
  note: NoteSchema,
} as const;

const versioned = <T>(schema: z.ZodType<T>, item: Item): Versioned<T> => ({ value: schema.parse(item), version: versionOf(item) });

/** A partition's position in a merged listing: null before its first item, else after the item it names. */
type Position = string | null;
const PositionSchema = z.union([z.string().min(1), z.null()]);
const PartitionCursorSchema = z.record(z.string(), PositionSchema);
const MessageCursorSchema = z.strictObject({ t: PartitionCursorSchema, o: z.enum(['oldest', 'newest']) });
const ExpirySchema = z.object({ expiresAt: z.string().optional() });
const NoteCursorSchema = z.strictObject({ sk: z.string().min(1) });

export interface DynamoConversationStoreOptions {
  readonly table: DynamoTable;
  /** Decides which messages have expired. */
  readonly clock: Clock;
}

export class DynamoConversationStore implements ConversationStore {
  private readonly table: DynamoTable;
  private readonly clock: Clock;

  constructor(options: DynamoConversationStoreOptions) {
    this.table = options.table;
    this.clock = options.clock;
  }

  async getContact(id: string): Promise<Versioned<Contact> | undefined> {
    const item = await this.table.get(contactKey(id));
    return item && versioned(ContactSchema, item);
  }

  async findContacts(by: { readonly phone: string } | { readonly email: string }): Promise<Contact[]> {
    const [index, pk] = 'phone' in by ? ['gsi2', key('PHONE', by.phone)] : ['gsi3', key('EMAIL', by.email.toLowerCase())];
    const { items } = await this.table.query({
      IndexName: index,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': `${index}pk` },
      ExpressionAttributeValues: { ':pk': pk },
      Limit: 50,
    });
    // The index is eventually consistent: the contact is read again, and dropped if it has moved on.
    const contacts = await this.table.batchGet(items.map((item) => contactKey(ContactSchema.shape.id.parse(item.id))));
    return contacts
      .map((item) => ContactSchema.parse(item))
      .filter((c) => c.state === 'active' && ('phone' in by ? c.phone === by.phone : c.email?.toLowerCase() === by.email.toLowerCase()))
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
  }

  async getIdentity(identity: IdentityKey, options: { readonly latest?: boolean } = {}): Promise<Versioned<Identity> | undefined> {
    const item = await this.table.get(identityKey(identity), { eventually: options.latest === false });
    return item && versioned(IdentitySchema, item);
  }

  async getThread(id: string): Promise<Versioned<StoredThread> | undefined> {
    const item = await this.table.get(threadKey(id));
    return item && versioned(StoredThreadSchema, item);
  }

  /**
   * One Query per status partition of the inbox index, merged newest first. The cursor is each partition's
   * position, so a thread that becomes active while a caller pages moves to the top, where a fresh listing
   * shows it. Filters other than status and `updatedSince` are applied to the index entries (projection ALL).
   */
  async listThreads(query: ThreadQuery): Promise<Page<Thread>> {
    checkLimit(query.limit);
    const statuses = [...new Set(query.statuses ?? THREAD_STATUSES)].sort();
    const matches = (thread: Thread): boolean =>
      (query.assignee === undefined || (query.assignee === 'none' ? thread.assignee === null : thread.assignee === query.assignee)) &&
      (query.channel === undefined || thread.channels.includes(query.channel)) &&
      (query.tag === undefined || thread.tags.includes(query.tag)) &&
      (query.updatedSince === undefined || millis(thread.updatedAt) >= millis(query.updatedSince)) &&
      (query.updatedBefore === undefined || millis(thread.updatedAt) < millis(query.updatedBefore)) &&
      statuses.includes(thread.status);

    if (query.contactId !== undefined) {
      // One contact has one thread (a merged contact's is read through its survivor's): a direct read.
      if (query.cursor !== undefined) throw new InvalidCursorError(query.cursor);
      const contact = await this.getContact(query.contactId);
      const thread = contact && (await this.getThread(contact.value.threadId));
      return { items: thread && thread.value.mergedInto === undefined && matches(thread.value) ? [thread.value] : [] };
    }

    const positions: Record<string, Position> =
      query.cursor === undefined
        ? Object.fromEntries(statuses.map((s) => [s, null]))
        : decodeCursor(
            query.cursor,
            PartitionCursorSchema,
            (c) => Object.keys(c).length > 0 && Object.keys(c).every((s) => statuses.includes(s as Thread['status'])),
          );
    const since = query.updatedSince === undefined ? undefined : new Date(millis(query.updatedSince)).toISOString();
    const before = query.updatedBefore === undefined ? undefined : new Date(millis(query.updatedBefore)).toISOString();
    // An empty window: DynamoDB refuses a BETWEEN whose bounds are reversed (ValidationException).
    if (since !== undefined && before !== undefined && since >= before) return { items: [] };
    const range =
      since !== undefined && before !== undefined
        ? { condition: '#pk = :pk AND #sk BETWEEN :since AND :before', values: { ':since': since, ':before': before } }
        : since !== undefined
          ? { condition: '#pk = :pk AND #sk >= :since', values: { ':since': since } }
          : before !== undefined
            ? { condition: '#pk = :pk AND #sk < :before', values: { ':before': before } }
            : { condition: '#pk = :pk', values: {} };
    const page = await mergePartitions({
      positions,
      limit: query.limit,
      order: 'descending',
      sortKey: (item) => String(item.gsi1sk),
      positionOf: (item) => encodeCursor(inboxIndexKey(item)),
      read: (status, position, limit) =>
        this.table.query({
          IndexName: 'gsi1',
          KeyConditionExpression: range.condition,
          ExpressionAttributeNames: { '#pk': 'gsi1pk', ...(range.condition.includes('#sk') && { '#sk': 'gsi1sk' }) },
          ExpressionAttributeValues: { ':pk': inboxPk(status), ...range.values },
          ScanIndexForward: false,
          Limit: limit,
          // A position outside this partition or time window is not this listing's: DynamoDB would refuse it (ValidationException).
          ...(position !== null && {
            ExclusiveStartKey: decodeCursor(
              position,
              InboxIndexKeySchema,
              (k) =>
                k.gsi1pk === inboxPk(status) && (since === undefined || k.gsi1sk >= since) && (before === undefined || k.gsi1sk < before),
            ),
          }),
        }),
      keep: (item) => matches(ThreadSchema.parse(item)),
    });
    return {
      items: page.items.map((item) => ThreadSchema.parse(item)),
      ...(page.next && { nextCursor: encodeCursor(page.next) }),
    };
  }

  async listParticipantThreads(channel: Channel, externalUserId: string): Promise<string[]> {
    const { items } = await this.table.query({
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'pk' },
      ExpressionAttributeValues: { ':pk': key('PARTICIPANT', channel, externalUserId) },
      ConsistentRead: true,
      Limit: 100,
    });
    return items.map((item) => ParticipantSchema.parse(item).threadId);
  }

  async listNotes(threadId: string, limit: number, cursor?: string): Promise<Page<Note>> {
    checkLimit(limit);
    const pk = threadKey(threadId).pk;
    const from = cursor === undefined ? undefined : decodeCursor(cursor, NoteCursorSchema, (c) => c.sk.startsWith('NOTE#')).sk;
    const { items } = await this.table.query({
      KeyConditionExpression: from === undefined ? '#pk = :pk AND begins_with(#sk, :prefix)' : '#pk = :pk AND #sk > :from',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': pk, ...(from === undefined ? { ':prefix': 'NOTE#' } : { ':from': from }) },
      ConsistentRead: true,
      Limit: limit + 1,
    });
    const notes = items.filter((item) => String(item.sk).startsWith('NOTE#'));
    const page = notes.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map((item) => NoteSchema.parse(item)),
      ...(notes.length > limit && last && { nextCursor: encodeCursor({ sk: String(last.sk) }) }),
    };
  }

  async getMessage(threadId: string, messageId: string): Promise<Versioned<StoredMessage> | undefined> {
    const item = await this.table.get(messageKey(threadId, messageId));
    if (!item) return undefined;
    const stored = versioned(StoredMessageSchema, item);
    return this.expired(stored.value) ? undefined : stored;
  }

  async getPointer(
    channel: Channel,
    accountId: string,
    externalId: string,
    options: { readonly latest?: boolean } = {},
  ): Promise<MessagePointer | undefined> {
    const item = await this.table.get(pointerKey(channel, accountId, externalId), { eventually: options.latest === false });
    if (!item) return undefined;
    const pointer = PointerSchema.parse(item) as MessagePointer;
    return this.expired(pointer) ? undefined : pointer;
  }

  /**
   * One Query per thread partition (`MSG#` items; message ids sort chronologically across threads), merged.
   * The cursor holds each thread's position: the last message returned from it.
   */
  async listMessages(
    threadIds: readonly string[],
    limit: number,
    cursor?: string,
    order: 'oldest' | 'newest' = 'oldest',
  ): Promise<Page<StoredMessage>> {
    checkLimit(limit);
    const ids = [...new Set(threadIds)].sort();
    const positions: Record<string, Position> =
      cursor === undefined
        ? Object.fromEntries(ids.map((id) => [id, null]))
        : decodeCursor(
            cursor,
            MessageCursorSchema,
            (c) =>
              c.o === order &&
              Object.keys(c.t).length > 0 &&
              Object.entries(c.t).every(([id, position]) => ids.includes(id) && (position === null || position.startsWith('MSG#'))),
          ).t;
    const forward = order === 'oldest';
    const page = await mergePartitions({
      positions,
      limit,
      order: forward ? 'ascending' : 'descending',
      sortKey: (item) => String(item.sk),
      positionOf: (item) => String(item.sk),
      read: (threadId, position, pageLimit) =>
        this.table.query({
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          // Expired before DynamoDB's TTL sweep removed them: never returned.
          FilterExpression: 'attribute_not_exists(#ttl) OR #ttl > :now',
          ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#ttl': TTL },
          ExpressionAttributeValues: {
            ':pk': threadKey(threadId).pk,
            ':prefix': 'MSG#',
            ':now': Math.floor(this.clock.now().getTime() / 1000),
          },
          ScanIndexForward: forward,
          ConsistentRead: true,
          Limit: pageLimit,
          ...(position !== null && { ExclusiveStartKey: { pk: threadKey(threadId).pk, sk: position } }),
        }),
      keep: (item) => !this.expired(ExpirySchema.parse(item)),
    });
    return {
      items: page.items.map((item) => StoredMessageSchema.parse(item)),
      ...(page.next && { nextCursor: encodeCursor({ t: page.next, o: order }) }),
    };
  }

  async commit(writes: readonly ConversationWrite[]): Promise<void> {
    await this.table.commit(writes.map(toTableWrite));
  }

  private expired(record: { readonly expiresAt?: string | undefined }): boolean {
    return record.expiresAt !== undefined && millis(record.expiresAt) <= this.clock.now().getTime();
  }
}

/** The index key of an inbox entry: where the next page of its partition starts. */
const inboxIndexKey = (item: Item): Record<string, string> => ({
  pk: String(item.pk),
  sk: String(item.sk),
  gsi1pk: String(item.gsi1pk),
  gsi1sk: String(item.gsi1sk),
});
const InboxIndexKeySchema = z.strictObject({
  pk: z.string().min(1),
  sk: z.string().min(1),
  gsi1pk: z.string().min(1),
  gsi1sk: z.string().min(1),
});

interface MergeOptions {
  /** Where each partition resumes; a partition absent from it is exhausted. */
  readonly positions: Readonly<Record<string, Position>>;
  readonly limit: number;
  readonly order: 'ascending' | 'descending';
  readonly sortKey: (item: Item) => string;
  /** The position after an item, to resume its partition. */
  readonly positionOf: (item: Item) => string;
  readonly read: (partition: string, position: Position, limit: number) => Promise<{ items: Item[]; lastKey?: Item }>;
  /** Items the listing skips (filtered out, expired). */
  readonly keep: (item: Item) => boolean;
}

/**
 * A page of several partitions read as one sorted sequence: each partition is read from its position until it
 * holds more kept items than the page needs (or runs out), the heads are merged, and the next cursor records,
 * per partition, the position after the last item taken from it; exhausted partitions leave the cursor.
 */
const mergePartitions = async (options: MergeOptions): Promise<{ items: Item[]; next?: Record<string, Position> }> => {
  const heads = await Promise.all(
    Object.entries(options.positions).map(async ([partition, start]) => {
      const items: Item[] = [];
      let position = start;
      let done = false;
      while (items.length <= options.limit) {
        const page = await options.read(partition, position, options.limit + 1);
        for (const item of page.items) {
          position = options.positionOf(item);
          if (options.keep(item)) items.push(item);
        }
        if (!page.lastKey) {
          done = true;
          break;
        }
        // A page the filter emptied (expired messages) returns no item but still moves on: resume after it.
        position = options.positionOf(page.lastKey);
      }
      return { partition, start, items, done };
    }),
  );
  const sign = options.order === 'ascending' ? 1 : -1;
  const merged = heads
    .flatMap((head) => head.items.map((item) => ({ head, item, sortKey: options.sortKey(item) })))
    .sort((a, b) => (a.sortKey < b.sortKey ? -sign : a.sortKey > b.sortKey ? sign : 0));
  const taken = merged.slice(0, options.limit);
  const next: Record<string, Position> = {};
  for (const head of heads) {
    const consumed = taken.filter((t) => t.head === head);
    if (consumed.length === head.items.length && head.done) continue;
    const last = consumed.at(-1);
    next[head.partition] = last ? options.positionOf(last.item) : head.start;
  }
  return { items: taken.map((t) => t.item), ...(Object.keys(next).length > 0 && { next }) };
};
