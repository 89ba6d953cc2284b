/**
 * The contract of a conversation store's threads: the inbox listing (every filter, newest activity first across
 * the statuses, pages without duplicates or gaps, cursors only for their own listing), merged threads, notes
 * and group participants. Cursors in it are the DynamoDB adapter's format where a test forges one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCursor } from '../../../../adapters/aws/store/table.ts';
import { CHANNELS, type Channel } from '../../../../domain/content.ts';
import { InvalidCursorError } from '../../../../domain/errors.ts';
import { THREAD_STATUSES, type Thread, type ThreadStatus } from '../../../../domain/conversations/model.ts';
import type { ConversationStore, StoredThread, ThreadQuery } from '../../../../domain/conversations/ports.ts';
import { publicThread } from '../../../../domain/conversations/threads.ts';
import { ConflictError, NEW_RECORD } from '../../../../domain/shared/store.ts';
import { millis } from '../../../../domain/shared/time.ts';
import { thrown, type ConversationsUnderTest, type Factory } from '../harness.ts';
import { at, contactRecord, messageRecord, noteRecord, threadRecord, uid, type ThreadShape } from '../records.ts';

const put = async (store: ConversationStore, ...threads: StoredThread[]): Promise<void> => {
  for (const value of threads) await store.commit([{ kind: 'thread', op: 'put', value, version: NEW_RECORD }]);
};

/** Every page of a listing, following its cursors (and failing on a listing that does not end). */
const allPages = async (store: ConversationStore, query: Omit<ThreadQuery, 'cursor'>): Promise<Thread[][]> => {
  const pages: Thread[][] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listThreads({ ...query, ...(cursor !== undefined && { cursor }) });
    pages.push(page.items);
    cursor = page.nextCursor;
    if (pages.length > 500) throw new Error('the listing does not end');
  } while (cursor !== undefined);
  return pages;
};

const ids = (threads: readonly { readonly id: string }[]): string[] => threads.map((t) => t.id);

/** The listing's order: newest activity first (ties in either order). */
const newestFirst = (threads: readonly Thread[]): boolean =>
  threads.every((t, i) => i === 0 || millis(threads[i - 1]!.updatedAt) >= millis(t.updatedAt));

/** What a listing must hold, decided from the records alone. */
const expectedIds = (threads: readonly StoredThread[], query: Omit<ThreadQuery, 'limit' | 'cursor'>): string[] =>
  threads
    .filter(
      (t) =>
        t.mergedInto === undefined &&
        (query.statuses ?? THREAD_STATUSES).includes(t.status) &&
        (query.channel === undefined || t.channels.includes(query.channel)) &&
        (query.tag === undefined || t.tags.includes(query.tag)) &&
        (query.assignee === undefined || (query.assignee === 'none' ? t.assignee === null : t.assignee === query.assignee)) &&
        (query.contactId === undefined || t.contactId === query.contactId) &&
        (query.updatedSince === undefined || millis(t.updatedAt) >= millis(query.updatedSince)) &&
        (query.updatedBefore === undefined || millis(t.updatedAt) < millis(query.updatedBefore)),
    )
    .map((t) => t.id)
    .sort();

export const threadsContract = (implementation: string, factory: Factory<ConversationsUnderTest>) =>
  describe(`threads: ${implementation}`, () => {
    it('reads a thread back as written, with what only the store keeps, and replaces it only at its version', async () => {
      const { store } = await factory();
      const thread = threadRecord({ tags: ['vip'], assignee: 'agent-1', channels: ['whatsapp', 'telegram'] });

      await store.commit([{ kind: 'thread', op: 'put', value: thread, version: NEW_RECORD }]);
      expect(await store.getThread(thread.id)).toEqual({ value: thread, version: 1 });

      const resolved = { ...thread, status: 'resolved' as const, resolvedAt: at(90), updatedAt: at(90) };
      await store.commit([{ kind: 'thread', op: 'put', value: resolved, version: 1 }]);
      await expect(store.commit([{ kind: 'thread', op: 'put', value: thread, version: 1 }])).rejects.toBeInstanceOf(ConflictError);
      expect(await store.getThread(thread.id)).toEqual({ value: resolved, version: 2 });
      expect(await store.getThread(uid('th'))).toBeUndefined();
    });

    it('lists the public thread (without what only the store keeps)', async () => {
      const { store } = await factory();
      const thread = threadRecord({ updatedAt: at(5) });
      await put(store, thread);

      const page = await store.listThreads({ limit: 10 });

      expect(page).toEqual({ items: [publicThread(thread)] });
      expect(page.items[0]).not.toHaveProperty('counted');
    });

    it('lists threads of every status newest activity first, across the status partitions', async () => {
      const { store } = await factory();
      const shapes: [ThreadStatus, number][] = [
        ['open', 10],
        ['resolved', 60],
        ['pending', 30],
        ['snoozed', 50],
        ['open', 40],
        ['resolved', 20],
        ['pending', 70],
      ];
      const threads = shapes.map(([status, second]) => threadRecord({ status, updatedAt: at(second) }));
      await put(store, ...threads);

      const page = await store.listThreads({ limit: 100 });

      expect(page.nextCursor).toBeUndefined();
      expect(page.items.map((t) => [t.status, t.updatedAt])).toEqual(
        [...shapes].sort((a, b) => b[1] - a[1]).map(([status, second]) => [status, at(second)]),
      );
    });

    it('filters by one status or several', async () => {
      const { store } = await factory();
      const threads = THREAD_STATUSES.flatMap((status, i) => [
        threadRecord({ status, updatedAt: at(i) }),
        threadRecord({ status, updatedAt: at(10 + i) }),
      ]);
      await put(store, ...threads);

      for (const statuses of [
        ['open'],
        ['pending', 'snoozed'],
        ['resolved', 'open', 'pending'],
        [...THREAD_STATUSES],
      ] as ThreadStatus[][]) {
        const page = await store.listThreads({ statuses, limit: 100 });
        expect(ids(page.items).sort()).toEqual(expectedIds(threads, { statuses }));
        expect(newestFirst(page.items)).toBe(true);
      }
    });

    it('filters by channel, tag, assignee (or none), contact and activity time', async () => {
      const { store } = await factory();
      const contact = uid('ct');
      const shapes: ThreadShape[] = [
        { channels: ['whatsapp'], tags: ['vip'], assignee: 'agent-1', updatedAt: at(10) },
        { channels: ['line', 'whatsapp'], tags: ['billing'], assignee: null, updatedAt: at(20), status: 'pending' },
        { channels: ['telegram'], tags: ['vip', 'billing'], assignee: 'agent-2', updatedAt: at(30), contactId: contact },
        { channels: ['messenger'], tags: [], assignee: null, updatedAt: at(40), status: 'resolved' },
        { channels: ['whatsapp'], tags: ['vip'], assignee: 'agent-1', updatedAt: at(50), status: 'snoozed' },
      ];
      const threads = shapes.map(threadRecord);
      await put(store, ...threads);

      const queries: Omit<ThreadQuery, 'limit' | 'cursor'>[] = [
        { channel: 'whatsapp' },
        { channel: 'kakaotalk' },
        { tag: 'vip' },
        { tag: 'billing', channel: 'telegram' },
        { assignee: 'agent-1' },
        { assignee: 'none' },
        { assignee: 'none', statuses: ['resolved'] },
        { contactId: contact },
        { contactId: contact, statuses: ['resolved'] },
        { updatedSince: at(30) },
        { updatedBefore: at(30) },
        { updatedSince: at(20), updatedBefore: at(50) },
        { updatedSince: at(20), updatedBefore: at(50), tag: 'vip', assignee: 'agent-1' },
        // Empty windows: nothing, rather than DynamoDB's ValidationException for a reversed BETWEEN.
        { updatedSince: at(40), updatedBefore: at(20) },
        { updatedSince: at(30), updatedBefore: at(30) },
        // The same instant written with other precision is the same instant.
        { updatedSince: '2026-03-14T09:00:20Z', updatedBefore: '2026-03-14T09:00:50.000Z' },
      ];
      // A contact's thread is found through the contact record.
      await store.commit([
        { kind: 'contact', op: 'put', value: contactRecord({ id: contact, threadId: threads[2]!.id }), version: NEW_RECORD },
      ]);
      for (const query of queries) {
        const page = await store.listThreads({ ...query, limit: 100 });
        expect({ query, ids: ids(page.items).sort() }).toEqual({ query, ids: expectedIds(threads, query) });
        expect(newestFirst(page.items)).toBe(true);
      }
      expect(expectedIds(threads, { channel: 'whatsapp' })).toHaveLength(3);
    });

    it('pages through every thread a listing holds, once each, newest first, whatever the page size', async () => {
      const channel = fc.constantFrom<Channel>(...CHANNELS.slice(0, 3));
      const threadShape = fc.record({
        status: fc.constantFrom<ThreadStatus>(...THREAD_STATUSES),
        // Few distinct seconds: many threads share an instant, which is where a cursor can slip.
        second: fc.integer({ min: 0, max: 12 }),
        channels: fc.uniqueArray(channel, { minLength: 1, maxLength: 2 }),
        tags: fc.subarray(['vip', 'billing']),
        assignee: fc.constantFrom(null, 'agent-1', 'agent-2'),
        merged: fc.integer({ min: 0, max: 6 }).map((n) => n === 0),
      });
      const query = fc.record(
        {
          statuses: fc.uniqueArray(fc.constantFrom<ThreadStatus>(...THREAD_STATUSES), { minLength: 1, maxLength: 4 }),
          channel,
          tag: fc.constantFrom('vip', 'billing'),
          assignee: fc.constantFrom('none', 'agent-1'),
          updatedSince: fc.integer({ min: 0, max: 12 }).map(at),
          updatedBefore: fc.integer({ min: 1, max: 13 }).map(at),
        },
        { requiredKeys: [] },
      );
      await fc.assert(
        fc.asyncProperty(
          fc.array(threadShape, { maxLength: 40 }),
          query,
          fc.integer({ min: 1, max: 9 }),
          async (shapes, filters, limit) => {
            const { store } = await factory();
            const threads = shapes.map((s) =>
              threadRecord({
                status: s.status,
                updatedAt: at(s.second),
                channels: s.channels,
                tags: s.tags,
                assignee: s.assignee,
                ...(s.merged && { mergedInto: uid('th') }),
              }),
            );
            await put(store, ...threads);

            const pages = await allPages(store, { ...filters, limit });
            const listed = pages.flat();

            expect(pages.every((page) => page.length <= limit)).toBe(true);
            // Only the last page may be short, and no page but a lone first one is empty.
            expect(pages.slice(0, -1).every((page) => page.length === limit)).toBe(true);
            expect(pages.length === 1 || (pages.at(-1) ?? []).length > 0).toBe(true);
            expect(new Set(ids(listed)).size).toBe(listed.length);
            expect(ids(listed).sort()).toEqual(expectedIds(threads, filters));
            expect(newestFirst(listed)).toBe(true);
          },
        ),
        { numRuns: 40 },
      );
    });

    it('pages on without repeating a thread that moved to the top, and a fresh listing shows it first', async () => {
      const { store } = await factory();
      const threads = Array.from({ length: 10 }, (_, i) => threadRecord({ updatedAt: at(10 * i) }));
      await put(store, ...threads);
      const byAge = [...threads].reverse();

      const first = await store.listThreads({ limit: 3, statuses: ['open', 'resolved'] });
      expect(ids(first.items)).toEqual(ids(byAge.slice(0, 3)));

      // Meanwhile: a listed thread and an unlisted one get new messages, and an unlisted one is resolved.
      const [listedMoved, unlistedMoved, resolvedMoved] = [byAge[1]!, byAge[6]!, byAge[4]!];
      await store.commit([{ kind: 'thread', op: 'put', value: { ...listedMoved, updatedAt: at(200) }, version: 1 }]);
      await store.commit([{ kind: 'thread', op: 'put', value: { ...unlistedMoved, updatedAt: at(201) }, version: 1 }]);
      await store.commit([{ kind: 'thread', op: 'put', value: { ...resolvedMoved, status: 'resolved', updatedAt: at(202) }, version: 1 }]);

      let cursor = first.nextCursor;
      const continued: Thread[] = [];
      while (cursor !== undefined) {
        const page = await store.listThreads({ limit: 3, statuses: ['open', 'resolved'], cursor });
        continued.push(...page.items);
        cursor = page.nextCursor;
      }
      const unmoved = byAge.slice(3).filter((t) => ![unlistedMoved.id, resolvedMoved.id].includes(t.id));
      expect(ids(continued)).toEqual(ids(unmoved));
      expect(ids(first.items).filter((id) => ids(continued).includes(id))).toEqual([]);

      const fresh = await store.listThreads({ limit: 3, statuses: ['open', 'resolved'] });
      expect(ids(fresh.items)).toEqual([resolvedMoved.id, unlistedMoved.id, listedMoved.id]);
    });

    it('refuses a cursor of another listing, or no cursor at all, as an InvalidCursorError', async () => {
      const { store } = await factory();
      const threads = THREAD_STATUSES.flatMap((status) => [1, 2, 3].map((n) => threadRecord({ status, updatedAt: at(n) })));
      await put(store, ...threads);
      const resolved = threads.find((t) => t.status === 'resolved' && t.updatedAt === at(1)) as StoredThread;
      const openCursor = (await store.listThreads({ statuses: ['open'], limit: 1 })).nextCursor as string;
      expect(openCursor).toBeDefined();
      const messages = [1, 2, 3].map((second) => messageRecord({ threadId: threads[0]!.id, second }));
      for (const value of messages) await store.commit([{ kind: 'message', op: 'put', value, version: NEW_RECORD }]);
      const messageCursor = (await store.listMessages([threads[0]!.id], 1)).nextCursor as string;
      expect(messageCursor).toBeDefined();

      const foreign = [
        // Issued for the open threads, used for the resolved ones.
        { statuses: ['resolved'] as ThreadStatus[], cursor: openCursor },
        { cursor: messageCursor },
        { cursor: 'garbage' },
        { cursor: '' },
        { cursor: encodeCursor({}) },
        { cursor: encodeCursor({ open: 42 }) },
        { cursor: encodeCursor({ open: 'not a key' }) },
        { cursor: encodeCursor({ archived: null }) },
        // Well formed, but a position in another partition than the one it is given for.
        {
          cursor: encodeCursor({
            open: encodeCursor({ pk: `THREAD#${resolved.id}`, sk: 'THREAD', gsi1pk: 'INBOX#resolved', gsi1sk: `${at(1)}#${resolved.id}` }),
          }),
        },
        // Issued for a listing without a time window: its position lies outside this one's.
        { updatedBefore: at(2), cursor: openCursor },
        // One contact's thread is read directly: there is no next page a cursor could point at.
        { contactId: threads[0]!.contactId, cursor: openCursor },
      ];
      for (const query of foreign) {
        const error = await thrown(() => store.listThreads({ ...query, limit: 2 }));
        expect({ query, error }).toEqual({ query, error: expect.any(InvalidCursorError) });
      }
    });

    it('leaves a merged thread out of the inbox; it is read through the thread it was merged into', async () => {
      const { store } = await factory();
      const survivor = threadRecord({ updatedAt: at(10) });
      const absorbed = threadRecord({ updatedAt: at(20), tags: ['vip'] });
      const contact = contactRecord({ id: absorbed.contactId, threadId: absorbed.id });
      await put(store, survivor, absorbed);
      await store.commit([{ kind: 'contact', op: 'put', value: contact, version: NEW_RECORD }]);
      expect(ids((await store.listThreads({ limit: 10 })).items)).toEqual([absorbed.id, survivor.id]);

      await store.commit([
        { kind: 'thread', op: 'put', value: { ...survivor, mergedThreads: [absorbed.id], updatedAt: at(30) }, version: 1 },
        { kind: 'thread', op: 'put', value: { ...absorbed, mergedInto: survivor.id, updatedAt: at(30) }, version: 1 },
      ]);

      expect(ids((await store.listThreads({ limit: 10 })).items)).toEqual([survivor.id]);
      expect((await store.listThreads({ tag: 'vip', limit: 10 })).items).toEqual([]);
      expect((await store.listThreads({ contactId: contact.id, limit: 10 })).items).toEqual([]);
      expect((await store.getThread(absorbed.id))?.value.mergedInto).toBe(survivor.id);
    });

    it('refuses page sizes outside 1 to 100', async () => {
      const { store } = await factory();
      for (const limit of [0, 101, 2.5]) {
        await expect(store.listThreads({ limit })).rejects.toThrow(RangeError);
        await expect(store.listNotes(uid('th'), limit)).rejects.toThrow(RangeError);
      }
      await expect(store.listThreads({ limit: 100 })).resolves.toEqual({ items: [] });
    });

    it("pages through a thread's notes oldest first, and only its notes", async () => {
      const { store } = await factory();
      const thread = threadRecord();
      const other = threadRecord();
      await put(store, thread, other);
      const notes = [5, 1, 7, 3, 2, 6, 4].map((second) => noteRecord(thread.id, second));
      for (const value of [...notes, noteRecord(other.id, 3)])
        await store.commit([{ kind: 'note', op: 'put', value, version: NEW_RECORD }]);
      // Messages share the thread's partition; they are not notes.
      await store.commit([{ kind: 'message', op: 'put', value: messageRecord({ threadId: thread.id, second: 4 }), version: NEW_RECORD }]);

      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listNotes(thread.id, 3, cursor);
        pages.push(page.items.map((n) => n.text));
        cursor = page.nextCursor;
      } while (cursor !== undefined);

      expect(pages).toEqual([['note at 1s', 'note at 2s', 'note at 3s'], ['note at 4s', 'note at 5s', 'note at 6s'], ['note at 7s']]);
      expect(await store.listNotes(thread.id, 7)).toEqual({ items: [...notes].sort((a, b) => (a.id < b.id ? -1 : 1)) });
      expect(await store.listNotes(uid('th'), 5)).toEqual({ items: [] });
      await expect(store.listNotes(thread.id, 3, 'garbage')).rejects.toBeInstanceOf(InvalidCursorError);
      await expect(store.listNotes(thread.id, 3, encodeCursor({ sk: 'MSG#x' }))).rejects.toBeInstanceOf(InvalidCursorError);
    });

    it('lists the group threads a person wrote in, on that channel only, until their participation is deleted', async () => {
      const { store } = await factory();
      const [groupA, groupB, elsewhere] = [uid('th'), uid('th'), uid('th')];
      const member = { channel: 'line' as const, externalUserId: `U${uid('x')}` };
      await store.commit([
        { kind: 'participant', op: 'put', value: { ...member, threadId: groupA }, version: NEW_RECORD },
        { kind: 'participant', op: 'put', value: { ...member, threadId: groupB }, version: NEW_RECORD },
        { kind: 'participant', op: 'put', value: { ...member, channel: 'telegram', threadId: elsewhere }, version: NEW_RECORD },
        {
          kind: 'participant',
          op: 'put',
          value: { channel: 'line', externalUserId: `U${uid('y')}`, threadId: elsewhere },
          version: NEW_RECORD,
        },
      ]);

      expect((await store.listParticipantThreads('line', member.externalUserId)).sort()).toEqual([groupA, groupB].sort());
      expect(await store.listParticipantThreads('telegram', member.externalUserId)).toEqual([elsewhere]);
      expect(await store.listParticipantThreads('kakaotalk', member.externalUserId)).toEqual([]);

      await store.commit([{ kind: 'participant', op: 'delete', key: { ...member, threadId: groupA }, version: 1 }]);
      expect(await store.listParticipantThreads('line', member.externalUserId)).toEqual([groupB]);
    });
  });
