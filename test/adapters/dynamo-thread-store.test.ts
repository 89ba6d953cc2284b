/**
 * The DynamoDB thread store against a real engine (dynalite in process): conditions, races, crash
 * healing, ordering and paging as DynamoDB evaluates them.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoThreadStore } from '../../adapters/aws/dynamo-thread-store.ts';
import { ContentSchema, type Content } from '../../domain/content.ts';
import { InvalidCursorError } from '../../domain/errors.ts';
import { newMessageId } from '../../domain/message-ids.ts';
import { MessageSchema, type ChannelRoute, type Message } from '../../domain/model.ts';
import type { Clock } from '../../domain/ports.ts';
import { startDynalite, type Dynalite } from '../helpers/dynalite.ts';

let db: Dynalite;
let store: DynamoThreadStore;

/** Every DynamoDB operation the store under test sent, checked at the end: no Scan, no transaction. */
const operationsUsed = new Set<string>();

beforeAll(async () => {
  db = await startDynalite();
  // Its own client, so the test's raw reads and scans are not counted as the store's.
  const storeClient = db.newClient();
  storeClient.middlewareStack.add(
    (next, context) => async (args) => {
      operationsUsed.add(context.commandName ?? 'unknown');
      return next(args);
    },
    { step: 'initialize' },
  );
  store = new DynamoThreadStore({ client: storeClient, tableName: db.tableName });
});
afterAll(async () => {
  await db?.stop();
});

const uid = (prefix: string): string => `${prefix}-${randomUUID()}`;
const at = (seconds: number): string => new Date(Date.UTC(2026, 0, 1, 12, 0, seconds)).toISOString();

const rawGet = async (pk: string, sk: string) =>
  (await db.client.send(new GetCommand({ TableName: db.tableName, Key: { pk, sk }, ConsistentRead: true }))).Item;

/** Tests may scan; the store never does. */
const countContacts = async (): Promise<number> => {
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.client.send(
      new ScanCommand({
        TableName: db.tableName,
        FilterExpression: 'begins_with(pk, :p)',
        ExpressionAttributeValues: { ':p': 'CONTACT#' },
        ExclusiveStartKey: start,
      }),
    );
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return count;
};

const newContact = async (): Promise<string> => {
  const identity = await store.ensureIdentity(
    { channel: 'telegram', accountId: 'bot1', externalId: uid('user'), kind: 'direct' },
    at(0),
  );
  return identity.contactId;
};

const newThread = async () => store.ensureOpenThread(await newContact(), at(0));

const resolve = async (threadId: string): Promise<void> => {
  await db.client.send(
    new UpdateCommand({
      TableName: db.tableName,
      Key: { pk: `THREAD#${threadId}`, sk: 'THREAD' },
      UpdateExpression: 'SET #s = :resolved',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: { ':resolved': 'resolved' },
    }),
  );
};

/** An inbound message `seconds` after the test epoch, id built as the domain builds it. */
const inbound = (threadId: string, seconds: number, overrides: Partial<Message> = {}): Message => {
  const externalId = overrides.externalId ?? uid('ext');
  const occurredAt = at(seconds);
  return {
    id: newMessageId(new Date(occurredAt), new Date(occurredAt), 'telegram', 'bot1', externalId),
    threadId,
    direction: 'inbound',
    channel: 'telegram',
    accountId: 'bot1',
    externalId,
    occurredAt,
    author: { role: 'customer', externalUserId: 'u1' },
    content: { type: 'text', text: `message at ${seconds}s` },
    status: 'received',
    ...overrides,
  };
};

const outbound = (threadId: string, seconds: number): Message => {
  const occurredAt = at(seconds);
  return {
    id: newMessageId(new Date(occurredAt), new Date(occurredAt), randomUUID()),
    threadId,
    direction: 'outbound',
    channel: 'telegram',
    accountId: 'bot1',
    occurredAt,
    author: { role: 'agent', id: 'agent-1' },
    content: { type: 'text', text: 'How can I help?' },
    status: 'queued',
  };
};

const route = (conversationId: string, seconds: number, channel: ChannelRoute['channel'] = 'telegram'): ChannelRoute => ({
  channel,
  accountId: 'acct1',
  conversation: { externalId: conversationId, kind: 'direct' },
  lastInboundAt: at(seconds),
});

describe('construction', () => {
  it('refuses a document client that would reject undefined fields', () => {
    const plain = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    expect(() => new DynamoThreadStore({ client: plain, tableName: 't' })).toThrow(/removeUndefinedValues/);
    plain.destroy();
  });
});

describe('identities', () => {
  it('creates an identity with a contact once, and returns it unchanged afterwards', async () => {
    const input = { channel: 'line', accountId: 'ch1', externalId: uid('U'), kind: 'direct', displayName: 'Mina' } as const;

    const first = await store.ensureIdentity(input, at(0));
    const again = await store.ensureIdentity(input, at(5));

    expect(first).toEqual({ ...input, contactId: expect.stringMatching(/^ct_/) });
    expect(again).toEqual(first);
    expect(await store.getIdentity('line', 'ch1', input.externalId)).toEqual(first);
    expect(await rawGet(`CONTACT#${first.contactId}`, 'CONTACT')).toMatchObject({ id: first.contactId, createdAt: at(0) });
  });

  it('gives two concurrent first messages one identity and one contact', async () => {
    const before = await countContacts();
    const input = { channel: 'telegram', accountId: 'bot1', externalId: uid('race'), kind: 'direct' } as const;

    const results = await Promise.all([1, 2, 3, 4].map(() => store.ensureIdentity(input, at(0))));

    expect(new Set(results.map((r) => r.contactId)).size).toBe(1);
    expect(await countContacts()).toBe(before + 1);
  });

  it('creates the contact on the next call when a crash left the identity without one', async () => {
    const externalId = uid('crash');
    await db.client.send(
      new PutCommand({
        TableName: db.tableName,
        Item: {
          pk: `IDENTITY#kakaotalk#bot#${externalId}`,
          sk: 'IDENTITY',
          channel: 'kakaotalk',
          accountId: 'bot',
          externalId,
          contactId: 'ct_orphan',
          kind: 'direct',
          contactPending: true,
        },
      }),
    );

    const identity = await store.ensureIdentity({ channel: 'kakaotalk', accountId: 'bot', externalId, kind: 'direct' }, at(9));

    expect(identity.contactId).toBe('ct_orphan');
    expect(await rawGet('CONTACT#ct_orphan', 'CONTACT')).toMatchObject({ id: 'ct_orphan', createdAt: at(9) });
    expect(await rawGet(`IDENTITY#kakaotalk#bot#${externalId}`, 'IDENTITY')).not.toHaveProperty('contactPending');
  });

  it('refreshes a changed display name and keeps it when none is given', async () => {
    const base = { channel: 'telegram', accountId: 'bot1', externalId: uid('name'), kind: 'direct' } as const;
    await store.ensureIdentity({ ...base, displayName: 'Old' }, at(0));

    expect(await store.ensureIdentity({ ...base, displayName: 'New' }, at(1))).toMatchObject({ displayName: 'New' });
    expect(await store.ensureIdentity(base, at(2))).toMatchObject({ displayName: 'New' });
  });

  it('keeps ids containing # apart', async () => {
    const suffix = randomUUID();
    const a = await store.ensureIdentity({ channel: 'whatsapp', accountId: `x#${suffix}`, externalId: 'y', kind: 'direct' }, at(0));
    const b = await store.ensureIdentity({ channel: 'whatsapp', accountId: 'x', externalId: `${suffix}#y`, kind: 'direct' }, at(0));

    expect(a.contactId).not.toBe(b.contactId);
  });

  it('returns undefined for an unknown identity', async () => {
    expect(await store.getIdentity('telegram', 'bot1', uid('nobody'))).toBeUndefined();
  });

  it('marks an identity unreachable, keeping the earliest report', async () => {
    const externalId = uid('blocked');
    await store.ensureIdentity({ channel: 'telegram', accountId: 'bot1', externalId, kind: 'direct' }, at(0));

    await store.markIdentityUnreachable('telegram', 'bot1', externalId, 'blocked', at(20));
    await store.markIdentityUnreachable('telegram', 'bot1', externalId, 'blocked again', at(30));
    await store.markIdentityUnreachable('telegram', 'bot1', externalId, 'blocked', at(20));

    expect((await store.getIdentity('telegram', 'bot1', externalId))?.unreachable).toEqual({ reason: 'blocked', since: at(20) });
  });

  it('does not create an identity when marking an unknown one unreachable', async () => {
    const externalId = uid('ghost');

    await store.markIdentityUnreachable('telegram', 'bot1', externalId, 'blocked', at(1));

    expect(await store.getIdentity('telegram', 'bot1', externalId)).toBeUndefined();
  });
});

describe('open threads', () => {
  it('returns the same open thread, and reopens it when the customer writes after a resolution', async () => {
    const contactId = await newContact();

    const first = await store.ensureOpenThread(contactId, at(1));
    expect(first).toEqual({
      id: expect.stringMatching(/^th_/),
      contactId,
      status: 'open',
      channels: [],
      routes: [],
      createdAt: at(1),
      lastMessageAt: at(1),
    });
    expect(await store.ensureOpenThread(contactId, at(2))).toEqual(first);

    await resolve(first.id);
    const again = await store.ensureOpenThread(contactId, at(3));

    expect(again).toEqual({ ...first, status: 'open' });
    expect(await store.getThread(first.id)).toMatchObject({ status: 'open', createdAt: at(1) });
  });

  it('gives concurrent callers one open thread', async () => {
    const contactId = await newContact();

    const threads = await Promise.all([1, 2, 3, 4, 5].map(() => store.ensureOpenThread(contactId, at(1))));

    expect(new Set(threads.map((t) => t.id)).size).toBe(1);
  });

  it('gives concurrent callers the one reopened thread after a resolution', async () => {
    const contactId = await newContact();
    const resolved = await store.ensureOpenThread(contactId, at(1));
    await resolve(resolved.id);

    const threads = await Promise.all([1, 2, 3, 4].map(() => store.ensureOpenThread(contactId, at(2))));

    expect(threads.map((t) => [t.id, t.status])).toEqual(Array(4).fill([resolved.id, 'open']));
  });

  it('creates the thread item when a crash left the contact pointing at nothing', async () => {
    const contactId = await newContact();
    await db.client.send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: { pk: `CONTACT#${contactId}`, sk: 'CONTACT' },
        UpdateExpression: 'SET openThreadId = :t, openThreadAt = :at',
        ExpressionAttributeValues: { ':t': 'th_lost', ':at': at(4) },
      }),
    );

    const thread = await store.ensureOpenThread(contactId, at(8));

    expect(thread).toMatchObject({ id: 'th_lost', contactId, status: 'open', createdAt: at(4) });
    expect(await store.getThread('th_lost')).toEqual(thread);
  });

  it('refuses a contact that does not exist', async () => {
    await expect(store.ensureOpenThread(uid('ct'), at(0))).rejects.toThrow(/does not exist/);
  });

  it('returns undefined for an unknown thread', async () => {
    expect(await store.getThread(uid('th'))).toBeUndefined();
  });
});

describe('thread activity', () => {
  it('adds channels, keeps one route per channel with the latest first, and never moves back in time', async () => {
    const thread = await newThread();

    await store.recordActivity(thread.id, { channel: 'telegram', at: at(10), direction: 'inbound', route: route('chat-1', 10) });
    await store.recordActivity(thread.id, {
      channel: 'line',
      at: at(20),
      direction: 'inbound',
      route: route('U-line', 20, 'line'),
    });
    await store.recordActivity(thread.id, { channel: 'telegram', at: at(30), direction: 'inbound', route: route('chat-2', 30) });
    // A late redelivery of an older message changes neither the route nor the last activity.
    await store.recordActivity(thread.id, { channel: 'telegram', at: at(15), direction: 'inbound', route: route('chat-1', 15) });
    await store.recordActivity(thread.id, { channel: 'telegram', at: at(25), direction: 'outbound' });

    expect(await store.getThread(thread.id)).toMatchObject({
      channels: ['telegram', 'line'],
      routes: [route('chat-2', 30), route('U-line', 20, 'line')],
      lastMessageAt: at(30),
      status: 'open',
    });
  });

  it('writes nothing when the same activity is recorded again', async () => {
    const thread = await newThread();
    const activity = { channel: 'telegram', at: at(10), direction: 'inbound', route: route('c', 10) } as const;
    await store.recordActivity(thread.id, activity);
    const before = await rawGet(`THREAD#${thread.id}`, 'THREAD');

    await store.recordActivity(thread.id, activity);

    expect(await rawGet(`THREAD#${thread.id}`, 'THREAD')).toEqual(before);
  });

  it('keeps every concurrent activity', async () => {
    const thread = await newThread();
    const channels = ['telegram', 'line', 'whatsapp', 'messenger', 'instagram', 'kakaotalk'] as const;

    await Promise.all(
      channels.map((channel, i) =>
        store.recordActivity(thread.id, { channel, at: at(10 + i), direction: 'inbound', route: route(`c-${channel}`, 10 + i, channel) }),
      ),
    );

    const stored = await store.getThread(thread.id);
    expect([...(stored?.channels ?? [])].sort()).toEqual([...channels].sort());
    expect(stored?.routes.map((r) => r.channel)).toEqual([...channels].reverse());
    expect(stored?.lastMessageAt).toBe(at(15));
  });

  it('does not reopen a resolved thread', async () => {
    const thread = await newThread();
    await resolve(thread.id);

    await store.recordActivity(thread.id, { channel: 'telegram', at: at(40), direction: 'inbound' });

    expect(await store.getThread(thread.id)).toMatchObject({ status: 'resolved', lastMessageAt: at(40) });
  });

  it('fails for an unknown thread', async () => {
    await expect(store.recordActivity(uid('th'), { channel: 'telegram', at: at(1), direction: 'inbound' })).rejects.toThrow(
      /does not exist/,
    );
  });
});

describe('threads by participant', () => {
  it('lets every member of a group find the group thread', async () => {
    const group = await newThread();
    const alice = uid('alice');
    const bob = uid('bob');

    await store.recordActivity(group.id, { channel: 'line', at: at(1), direction: 'inbound', participant: { externalUserId: alice } });
    await store.recordActivity(group.id, { channel: 'line', at: at(2), direction: 'inbound', participant: { externalUserId: bob } });

    for (const member of [alice, bob]) {
      const page = await store.listThreadsByParticipant('line', member, 10);
      expect(page.items.map((t) => t.id)).toEqual([group.id]);
      expect(page.nextCursor).toBeUndefined();
    }
    expect((await store.listThreadsByParticipant('telegram', alice, 10)).items).toEqual([]);
  });

  it('lists newest activity first and pages with cursors', async () => {
    const user = uid('user');
    const threads = [await newThread(), await newThread(), await newThread()];
    const seconds = [30, 10, 20];
    for (const [i, thread] of threads.entries()) {
      await store.recordActivity(thread.id, {
        channel: 'telegram',
        at: at(seconds[i] ?? 0),
        direction: 'inbound',
        participant: { externalUserId: user },
      });
    }
    // An older activity on the newest thread does not move it.
    await store.recordActivity(threads[0]?.id ?? '', { channel: 'telegram', at: at(1), direction: 'inbound', participant: { externalUserId: user } });

    const first = await store.listThreadsByParticipant('telegram', user, 2);
    const second = await store.listThreadsByParticipant('telegram', user, 2, first.nextCursor);

    expect(first.items.map((t) => t.id)).toEqual([threads[0]?.id, threads[2]?.id]);
    expect(first.items[0]).toEqual(await store.getThread(threads[0]?.id ?? ''));
    expect(second.items.map((t) => t.id)).toEqual([threads[1]?.id]);
    expect(second.nextCursor).toBeUndefined();
  });

  it("refuses another participant's cursor", async () => {
    const a = uid('a');
    const thread = await newThread();
    const other = await newThread();
    for (const t of [thread, other]) {
      await store.recordActivity(t.id, { channel: 'telegram', at: at(1), direction: 'inbound', participant: { externalUserId: a } });
    }
    const { nextCursor } = await store.listThreadsByParticipant('telegram', a, 1);
    expect(nextCursor).toBeDefined();

    await expect(store.listThreadsByParticipant('telegram', uid('b'), 1, nextCursor)).rejects.toBeInstanceOf(InvalidCursorError);
  });
});

describe('messages', () => {
  it('stores every kind of content exactly as given', async () => {
    const thread = await newThread();
    const contents = ContentSchema.array().parse(
      JSON.parse(await readFile(new URL('../fixtures/store/contents.json', import.meta.url), 'utf8')),
    );

    for (const [i, content] of contents.entries()) {
      const message = inbound(thread.id, i, { content, replyTo: { externalMessageId: 'prev' } });
      expect(await store.insertMessage(message)).toEqual({ inserted: true, message });
      expect(await store.getMessage(thread.id, message.id)).toEqual(message);
    }
    const listed = await store.listMessages(thread.id, 100);
    expect(listed.items.map((m) => m.content)).toEqual(contents);
    for (const message of listed.items) expect(MessageSchema.strict().parse(message)).toEqual(message);
  });

  it('stores a provider message once and returns the first copy to a redelivery', async () => {
    const thread = await newThread();
    const first = inbound(thread.id, 1);
    // A redelivered webhook is received later, so the domain builds it another id.
    const redelivered = { ...first, id: newMessageId(new Date(at(1)), new Date(at(50)), 'again') };

    expect(await store.insertMessage(first)).toEqual({ inserted: true, message: first });
    expect(await store.insertMessage(redelivered)).toEqual({ inserted: false, message: first });
    expect(await store.insertMessage(first)).toEqual({ inserted: false, message: first });

    expect((await store.listMessages(thread.id, 10)).items).toEqual([first]);
    expect(await store.findMessageByExternalId('telegram', 'bot1', first.externalId ?? '')).toEqual(first);
  });

  it('stores a provider message once under concurrent inserts', async () => {
    const thread = await newThread();
    const message = inbound(thread.id, 1);
    const copies = [1, 2, 3, 4].map((n) => ({ ...message, id: newMessageId(new Date(at(1)), new Date(at(n)), String(n)) }));

    const results = await Promise.all(copies.map((copy) => store.insertMessage(copy)));

    expect(results.filter((r) => r.inserted)).toHaveLength(1);
    expect(new Set(results.map((r) => r.message.id)).size).toBe(1);
    expect((await store.listMessages(thread.id, 10)).items).toHaveLength(1);
  });

  it('writes the message on the next insert when a crash left only its provider-id pointer', async () => {
    const thread = await newThread();
    const message = inbound(thread.id, 1);
    await db.client.send(
      new PutCommand({
        TableName: db.tableName,
        Item: { pk: `EXTMSG#telegram#bot1#${message.externalId}`, sk: 'EXTMSG', threadId: thread.id, messageId: message.id },
      }),
    );
    expect(await store.findMessageByExternalId('telegram', 'bot1', message.externalId ?? '')).toBeUndefined();

    const redelivered = { ...message, id: newMessageId(new Date(at(1)), new Date(at(60)), 'later') };
    const result = await store.insertMessage(redelivered);

    expect(result).toEqual({ inserted: true, message });
    expect(await store.getMessage(thread.id, message.id)).toEqual(message);
    expect(await store.getMessage(thread.id, redelivered.id)).toBeUndefined();
  });

  it('keys a message without provider id by its id', async () => {
    const thread = await newThread();
    const message = outbound(thread.id, 1);

    expect(await store.insertMessage(message)).toEqual({ inserted: true, message });
    expect(await store.insertMessage({ ...message, content: { type: 'text', text: 'changed' } })).toEqual({
      inserted: false,
      message,
    });
  });

  it('refuses a message that is not a valid Message', async () => {
    const thread = await newThread();
    await expect(store.insertMessage({ ...inbound(thread.id, 1), occurredAt: 'yesterday' })).rejects.toThrow();
  });

  it('lists 25 messages oldest first in three pages of at most 10', async () => {
    const thread = await newThread();
    const messages = Array.from({ length: 25 }, (_, i) => inbound(thread.id, i));
    // Stored out of order: the order comes from the ids, not from arrival.
    for (const message of [...messages].reverse()) await store.insertMessage(message);

    const pages = [];
    let cursor: string | undefined;
    do {
      const page = await store.listMessages(thread.id, 10, cursor);
      pages.push(page.items);
      cursor = page.nextCursor;
    } while (cursor !== undefined);

    expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
    expect(pages.flat()).toEqual(messages);
  });

  it('gives no cursor when the last page is exactly full', async () => {
    const thread = await newThread();
    for (let i = 0; i < 4; i++) await store.insertMessage(inbound(thread.id, i));

    const first = await store.listMessages(thread.id, 2);
    const second = await store.listMessages(thread.id, 2, first.nextCursor);

    expect(first.nextCursor).toBeDefined();
    expect(second.items).toHaveLength(2);
    expect(second.nextCursor).toBeUndefined();
  });

  it('does not list the thread item or messages of other threads', async () => {
    const thread = await newThread();
    const other = await newThread();
    await store.insertMessage(inbound(other.id, 1));

    expect(await store.listMessages(thread.id, 10)).toEqual({ items: [] });
  });

  it('refuses cursors it did not issue for this thread', async () => {
    const thread = await newThread();
    const other = await newThread();
    for (let i = 0; i < 3; i++) await store.insertMessage(inbound(other.id, i));
    const { nextCursor } = await store.listMessages(other.id, 1);
    const forged = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url');

    for (const cursor of [
      'not-a-cursor',
      '',
      forged(null),
      forged({ pk: `THREAD#${thread.id}` }),
      forged({ pk: `THREAD#${thread.id}`, sk: 'THREAD' }),
      forged({ pk: `THREAD#${thread.id}`, sk: 'MSG#x', extra: 'y' }),
      forged({ pk: `THREAD#${thread.id}`, sk: 7 }),
      nextCursor,
    ]) {
      await expect(store.listMessages(thread.id, 10, cursor), `cursor ${cursor}`).rejects.toBeInstanceOf(InvalidCursorError);
    }
  });

  it('refuses a page size outside 1..100', async () => {
    await expect(store.listMessages('th_x', 0)).rejects.toBeInstanceOf(RangeError);
    await expect(store.listMessages('th_x', 101)).rejects.toBeInstanceOf(RangeError);
  });
});

describe('message status', () => {
  it('moves forward only, and records provider ids that status reports can find', async () => {
    const thread = await newThread();
    const message = outbound(thread.id, 1);
    await store.insertMessage(message);

    expect(await store.advanceStatus(thread.id, message.id, { status: 'sent', at: at(2), externalIds: ['p1', 'p2'] })).toBe(true);
    expect(await store.advanceStatus(thread.id, message.id, { status: 'read', at: at(4) })).toBe(true);
    expect(await store.advanceStatus(thread.id, message.id, { status: 'delivered', at: at(3) })).toBe(false);
    expect(await store.advanceStatus(thread.id, message.id, { status: 'read', at: at(4) })).toBe(false);

    const stored = { ...message, status: 'read', externalId: 'p1', externalIds: ['p1', 'p2'] };
    expect(await store.getMessage(thread.id, message.id)).toEqual(stored);
    expect(await store.findMessageByExternalId('telegram', 'bot1', 'p2')).toEqual(stored);
  });

  it('fails a message only from queued or sent, keeping the failure', async () => {
    const thread = await newThread();
    const failing = outbound(thread.id, 1);
    const delivered = outbound(thread.id, 2);
    await store.insertMessage(failing);
    await store.insertMessage(delivered);
    const failure = { kind: 'permanent', code: '403', message: 'Forbidden: bot was blocked by the user' } as const;

    await store.advanceStatus(thread.id, delivered.id, { status: 'delivered', at: at(3) });
    expect(await store.advanceStatus(thread.id, delivered.id, { status: 'failed', at: at(4), failure })).toBe(false);
    expect(await store.advanceStatus(thread.id, failing.id, { status: 'failed', at: at(4), failure })).toBe(true);
    expect(await store.advanceStatus(thread.id, failing.id, { status: 'sent', at: at(5) })).toBe(false);

    expect(await store.getMessage(thread.id, failing.id)).toEqual({ ...failing, status: 'failed', failure });
    expect(await store.getMessage(thread.id, delivered.id)).toMatchObject({ status: 'delivered' });
  });

  it('changes nothing on inbound or unknown messages', async () => {
    const thread = await newThread();
    const message = inbound(thread.id, 1);
    await store.insertMessage(message);

    expect(await store.advanceStatus(thread.id, message.id, { status: 'read', at: at(2) })).toBe(false);
    expect(await store.advanceStatus(thread.id, 'msg_missing', { status: 'sent', at: at(2) })).toBe(false);
    expect(await store.advanceStatus(thread.id, 'msg_missing', { status: 'sent', at: at(2), externalIds: ['z'] })).toBe(false);
    expect(await store.getMessage(thread.id, message.id)).toEqual(message);
    expect(await store.getMessage(thread.id, 'msg_missing')).toBeUndefined();
  });

  it('records sent parts without changing the status, and never forgets a part', async () => {
    const thread = await newThread();
    const message = outbound(thread.id, 1);
    await store.insertMessage(message);

    await store.recordSentParts(thread.id, message.id, ['part-1', 'part-2']);
    await store.recordSentParts(thread.id, message.id, ['part-1']);

    const stored = { ...message, externalId: 'part-1', externalIds: ['part-1', 'part-2'] };
    expect(await store.getMessage(thread.id, message.id)).toEqual(stored);
    expect(await store.findMessageByExternalId('telegram', 'bot1', 'part-2')).toEqual(stored);
  });
});

describe('sending claims', () => {
  const queued = async () => {
    const thread = await newThread();
    const message = outbound(thread.id, 1);
    await store.insertMessage(message);
    return message;
  };
  const claim = (token: string, nowSeconds: number) => ({ token, now: at(nowSeconds), until: at(nowSeconds + 30) });

  it('lets one holder claim a queued message until the claim lapses, and the same holder again', async () => {
    const m = await queued();
    expect(await store.claimForSending(m.threadId, m.id, claim('a', 1))).toBe('claimed');
    expect(await store.claimForSending(m.threadId, m.id, claim('b', 2))).toBe('held-elsewhere');
    expect(await store.claimForSending(m.threadId, m.id, claim('a', 3))).toBe('claimed');
    expect(await store.claimForSending(m.threadId, m.id, claim('b', 40))).toBe('claimed'); // a's claim lapsed at 33
  });

  it('frees a released claim, and refuses claims once the message left queued', async () => {
    const m = await queued();
    await store.claimForSending(m.threadId, m.id, claim('a', 1));
    await store.releaseSendingClaim(m.threadId, m.id, 'b'); // not b's to release
    expect(await store.claimForSending(m.threadId, m.id, claim('b', 2))).toBe('held-elsewhere');
    await store.releaseSendingClaim(m.threadId, m.id, 'a');
    expect(await store.claimForSending(m.threadId, m.id, claim('b', 2))).toBe('claimed');
    await store.advanceStatus(m.threadId, m.id, { status: 'sent', at: at(3), externalIds: [uid('ext')] });
    expect(await store.claimForSending(m.threadId, m.id, claim('c', 50))).toBe('not-queued');
    expect((await store.getMessage(m.threadId, m.id))?.status).toBe('sent');
  });

  it('applies an only-if-queued failure to a queued message and never to a sent one', async () => {
    const m = await queued();
    const failure = { kind: 'retryable' as const, message: 'could not be queued' };
    await store.advanceStatus(m.threadId, m.id, { status: 'sent', at: at(2) });
    expect(await store.advanceStatus(m.threadId, m.id, { status: 'failed', at: at(3), failure, onlyIfQueued: true })).toBe(false);
    expect((await store.getMessage(m.threadId, m.id))?.status).toBe('sent');
    const other = await queued();
    expect(await store.advanceStatus(other.threadId, other.id, { status: 'failed', at: at(3), failure, onlyIfQueued: true })).toBe(true);
  });
});

describe('edits', () => {
  it('applies only a later edit', async () => {
    const thread = await newThread();
    const message = inbound(thread.id, 1);
    await store.insertMessage(message);
    const v2: Content = { type: 'text', text: 'second' };
    const v3: Content = { type: 'text', text: 'third' };

    expect(await store.editMessage(thread.id, message.id, v2, '2026-01-01T12:01:00Z')).toBe(true);
    // Same instant written with more precision: not later, and the strings would sort wrongly.
    expect(await store.editMessage(thread.id, message.id, v3, '2026-01-01T12:01:00.000Z')).toBe(false);
    expect(await store.editMessage(thread.id, message.id, v3, '2026-01-01T12:00:59.500Z')).toBe(false);
    expect(await store.getMessage(thread.id, message.id)).toEqual({ ...message, content: v2, editedAt: '2026-01-01T12:01:00Z' });

    expect(await store.editMessage(thread.id, message.id, v3, '2026-01-01T12:01:00.5Z')).toBe(true);
    expect(await store.getMessage(thread.id, message.id)).toMatchObject({ content: v3 });
  });

  it('compares against the edit time a message was stored with', async () => {
    const thread = await newThread();
    const message = inbound(thread.id, 1, { editedAt: at(30) });
    await store.insertMessage(message);

    expect(await store.editMessage(thread.id, message.id, { type: 'text', text: 'older' }, at(20))).toBe(false);
    expect(await store.editMessage(thread.id, message.id, { type: 'text', text: 'newer' }, at(40))).toBe(true);
  });

  it('does not create a message by editing an unknown one', async () => {
    const thread = await newThread();

    expect(await store.editMessage(thread.id, 'msg_nope', { type: 'text', text: 'x' }, at(1))).toBe(false);
    expect(await store.getMessage(thread.id, 'msg_nope')).toBeUndefined();
  });
});

describe('API keys', () => {
  it('stores a key by hash, accepts the same key again and refuses another key with that hash', async () => {
    const record = { id: uid('key'), keyHash: uid('hash'), name: 'local', createdAt: at(0) };

    await store.putApiKey(record);
    await store.putApiKey(record);

    expect(await store.findApiKey(record.keyHash)).toEqual(record);
    await expect(store.putApiKey({ ...record, id: uid('other') })).rejects.toThrow(/same hash/);
    expect(await store.findApiKey(uid('hash'))).toBeUndefined();
  });
});

describe('channel accounts', () => {
  it('registers an account once: a repeat keeps the first createdAt and changes only the name', async () => {
    const accountId = uid('bot');
    const first = { channel: 'telegram', accountId, name: 'Support bot', createdAt: at(0) } as const;

    expect(await store.putAccount(first)).toEqual(first);
    expect(await store.putAccount(first)).toEqual(first);
    expect(await store.putAccount({ channel: 'telegram', accountId, name: 'Helpdesk', createdAt: at(30) })).toEqual({
      ...first,
      name: 'Helpdesk',
    });
    // Without a name, a repeat leaves the stored one.
    expect(await store.putAccount({ channel: 'telegram', accountId, createdAt: at(40) })).toEqual({ ...first, name: 'Helpdesk' });

    expect(await rawGet('ACCOUNTS', `telegram#${accountId}`)).toMatchObject({ accountId, name: 'Helpdesk', createdAt: at(0) });
  });

  it('lists accounts by channel and account id, of all channels or of one', async () => {
    const line = { channel: 'line', accountId: uid('U'), createdAt: at(1) } as const;
    const telegramB = { channel: 'telegram', accountId: `b-${randomUUID()}`, createdAt: at(2) } as const;
    const telegramA = { channel: 'telegram', accountId: `a-${randomUUID()}`, name: 'A', createdAt: at(3) } as const;
    for (const account of [telegramB, line, telegramA]) await store.putAccount(account);
    const mine = new Set([line.accountId, telegramA.accountId, telegramB.accountId]);

    const all = (await store.listAccounts()).filter((a) => mine.has(a.accountId));
    const telegram = (await store.listAccounts('telegram')).filter((a) => mine.has(a.accountId));

    expect(all).toEqual([line, telegramA, telegramB]);
    expect(telegram).toEqual([telegramA, telegramB]);
    expect((await store.listAccounts('telegram')).every((a) => a.channel === 'telegram')).toBe(true);
  });

  it('refuses an account id outside the allowed characters', async () => {
    await expect(store.putAccount({ channel: 'telegram', accountId: 'a#b', createdAt: at(0) })).rejects.toThrow();
  });
});

describe('idempotency keys', () => {
  it('claims a key once until it expires', async () => {
    let now = new Date(at(0));
    const clock: Clock = { now: () => now };
    const timed = new DynamoThreadStore({ client: db.client, tableName: db.tableName, clock });
    const scope = uid('apikey');
    const first = { threadId: 'th_1', messageId: 'msg_1', requestHash: 'h1' };
    const second = { threadId: 'th_2', messageId: 'msg_2', requestHash: 'h2' };

    expect(await timed.claimIdempotencyKey(scope, 'k', first, at(10))).toEqual({ claimed: true });
    expect(await timed.claimIdempotencyKey(scope, 'k', second, at(20))).toEqual({ claimed: false, existing: first });
    expect(await timed.claimIdempotencyKey(uid('other-scope'), 'k', second, at(20))).toEqual({ claimed: true });

    now = new Date(at(10));
    expect(await timed.claimIdempotencyKey(scope, 'k', second, at(20))).toEqual({ claimed: true });
    expect(await timed.claimIdempotencyKey(scope, 'k', first, at(30))).toEqual({ claimed: false, existing: second });
  });

  it('lets one of concurrent claims win', async () => {
    const scope = uid('apikey');
    const records = [1, 2, 3].map((n) => ({ threadId: `th_${n}`, messageId: `msg_${n}`, requestHash: `h${n}` }));

    const claims = await Promise.all(records.map((r) => store.claimIdempotencyKey(scope, 'k', r, '2999-01-01T00:00:00Z')));

    expect(claims.filter((c) => c.claimed)).toHaveLength(1);
    const losers = claims.flatMap((c) => (c.claimed ? [] : [c.existing]));
    expect(new Set(losers.map((l) => l.messageId)).size).toBe(1);
  });
});

describe('persistence', () => {
  it('keeps identities, threads and messages across a restart of the engine', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-dynalite-'));
    try {
      const before = await startDynalite({ path: dir });
      const writer = new DynamoThreadStore({ client: before.client, tableName: before.tableName });
      const identity = await writer.ensureIdentity({ channel: 'telegram', accountId: 'bot1', externalId: '42', kind: 'direct' }, at(0));
      const thread = await writer.ensureOpenThread(identity.contactId, at(0));
      const message = inbound(thread.id, 1);
      await writer.insertMessage(message);
      await before.stop();

      const after = await startDynalite({ path: dir });
      try {
        const reader = new DynamoThreadStore({ client: after.client, tableName: after.tableName });
        expect(await reader.getIdentity('telegram', 'bot1', '42')).toEqual(identity);
        expect(await reader.ensureOpenThread(identity.contactId, at(5))).toEqual(thread);
        expect((await reader.listMessages(thread.id, 10)).items).toEqual([message]);
      } finally {
        await after.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// Last in the file: it reads what every test above made the store send.
describe('access patterns', () => {
  it('reads only by key or query and writes single items', () => {
    expect([...operationsUsed].sort()).toEqual([
      'BatchGetItemCommand',
      'GetItemCommand',
      'PutItemCommand',
      'QueryCommand',
      'UpdateItemCommand',
    ]);
  });
});
