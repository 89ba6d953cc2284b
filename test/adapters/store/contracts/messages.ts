/**
 * The contract of a conversation store's messages: written once, found by id and by the provider's id, listed
 * over one thread or over a thread and those merged into it as one chronological sequence, and never returned
 * once expired (whether or not a TTL sweep has removed them yet).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCursor } from '../../../../adapters/aws/store/table.ts';
import { InvalidCursorError } from '../../../../domain/errors.ts';
import type { ConversationStore, StoredMessage } from '../../../../domain/conversations/ports.ts';
import { ConflictError, NEW_RECORD } from '../../../../domain/shared/store.ts';
import { thrown, type ConversationsUnderTest, type Factory } from '../harness.ts';
import { at, messageRecord, noteRecord, pointerOf, threadRecord, uid } from '../records.ts';

export const insert = async (store: ConversationStore, ...messages: StoredMessage[]): Promise<void> => {
  for (const value of messages) {
    await store.commit([
      { kind: 'message', op: 'put', value, version: NEW_RECORD },
      { kind: 'pointer', op: 'put', value: pointerOf(value), version: NEW_RECORD },
    ]);
  }
};

/** Every page of a listing, following its cursors. */
const pagesOf = async (store: ConversationStore, threadIds: string[], limit: number, order: 'oldest' | 'newest' = 'oldest') => {
  const pages: StoredMessage[][] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listMessages(threadIds, limit, cursor, order);
    pages.push(page.items);
    cursor = page.nextCursor;
    if (pages.length > 500) throw new Error('the listing does not end');
  } while (cursor !== undefined);
  return pages;
};

const texts = (messages: readonly StoredMessage[]): string[] =>
  messages.map((m) => (m.content.type === 'text' ? m.content.text : m.content.type));

export const messagesContract = (implementation: string, factory: Factory<ConversationsUnderTest>) =>
  describe(`messages: ${implementation}`, () => {
    it('stores a message once: writing it again conflicts and the first stays, with what only the store keeps', async () => {
      const { store } = await factory();
      const thread = uid('th');
      const message: StoredMessage = {
        ...messageRecord({ threadId: thread, second: 1, direction: 'outbound', text: 'Hi Ann!', contactId: uid('ct') }),
        claim: { token: 'claim-1', until: at(60) },
        acceptedAt: at(2),
      };
      await store.commit([{ kind: 'message', op: 'put', value: message, version: NEW_RECORD }]);

      await expect(
        store.commit([
          { kind: 'message', op: 'put', value: { ...message, content: { type: 'text', text: 'again' } }, version: NEW_RECORD },
        ]),
      ).rejects.toBeInstanceOf(ConflictError);

      expect(await store.getMessage(thread, message.id)).toEqual({ value: message, version: 1 });
      expect(await store.getMessage(thread, uid('msg'))).toBeUndefined();
      expect(await store.getMessage(uid('th'), message.id)).toBeUndefined();
    });

    it("moves a message's status on only at the version read", async () => {
      const { store } = await factory();
      const thread = uid('th');
      const queued = messageRecord({ threadId: thread, second: 1, direction: 'outbound' });
      await insert(store, queued);
      const sent = { ...queued, status: 'sent' as const, externalId: 'wamid.HBgM', acceptedAt: at(2) };

      await store.commit([{ kind: 'message', op: 'put', value: sent, version: 1 }]);
      await expect(
        store.commit([{ kind: 'message', op: 'put', value: { ...queued, status: 'failed' }, version: 1 }]),
      ).rejects.toBeInstanceOf(ConflictError);

      expect(await store.getMessage(thread, queued.id)).toEqual({ value: sent, version: 2 });
    });

    it("finds a message by the provider's id on that channel and account", async () => {
      const { store } = await factory();
      const message = messageRecord({ threadId: uid('th'), second: 3, externalId: '6731' });
      await insert(store, message);

      expect(await store.getPointer('telegram', '7712345678', '6731')).toEqual(pointerOf(message));
      expect(await store.getPointer('telegram', '7712345679', '6731')).toBeUndefined();
      expect(await store.getPointer('line', '7712345678', '6731')).toBeUndefined();
      await expect(
        store.commit([{ kind: 'pointer', op: 'put', value: { ...pointerOf(message), messageId: 'msg_other' }, version: NEW_RECORD }]),
      ).rejects.toBeInstanceOf(ConflictError);
      expect((await store.getPointer('telegram', '7712345678', '6731'))?.messageId).toBe(message.id);
    });

    it("lists a thread's messages oldest first, or newest first, page by page, and nothing else of its thread", async () => {
      const { store } = await factory();
      const thread = threadRecord();
      await store.commit([{ kind: 'thread', op: 'put', value: thread, version: NEW_RECORD }]);
      const seconds = [7, 3, 11, 1, 9, 5, 2, 12, 4, 10, 6, 8];
      await insert(store, ...seconds.map((second) => messageRecord({ threadId: thread.id, second })));
      await store.commit([{ kind: 'note', op: 'put', value: noteRecord(thread.id, 6), version: NEW_RECORD }]);
      await insert(store, messageRecord({ threadId: uid('th'), second: 6, text: 'another thread' }));
      const chronological = [...seconds].sort((a, b) => a - b).map((s) => `message at ${s}s`);

      const oldest = await pagesOf(store, [thread.id], 5);
      expect(oldest.map(texts)).toEqual([chronological.slice(0, 5), chronological.slice(5, 10), chronological.slice(10)]);

      const newest = await pagesOf(store, [thread.id], 5, 'newest');
      expect(newest.map(texts)).toEqual([
        chronological.slice(-5).reverse(),
        chronological.slice(2, 7).reverse(),
        chronological.slice(0, 2).reverse(),
      ]);

      const whole = await store.listMessages([thread.id], 12);
      expect(texts(whole.items)).toEqual(chronological);
      expect(whole.nextCursor).toBeUndefined();
      expect(await store.listMessages([uid('th')], 10)).toEqual({ items: [] });
    });

    it('lists a thread and the threads merged into it as one chronological sequence', async () => {
      const { store } = await factory();
      const [survivor, mergedA, mergedB] = [uid('th'), uid('th'), uid('th')];
      const layout: [string, number][] = [
        [survivor, 1],
        [mergedA, 2],
        [mergedA, 3],
        [survivor, 4],
        [mergedB, 5],
        [survivor, 6],
        [mergedB, 7],
        [mergedA, 8],
        [mergedA, 9],
        [survivor, 10],
      ];
      await insert(store, ...layout.map(([threadId, second]) => messageRecord({ threadId, second, text: `${threadId}@${second}` })));
      const chronological = layout.map(([threadId, second]) => `${threadId}@${second}`);

      for (const limit of [1, 2, 3, 4, 10]) {
        expect((await pagesOf(store, [survivor, mergedA, mergedB], limit)).flatMap(texts)).toEqual(chronological);
        expect((await pagesOf(store, [mergedB, survivor, mergedA], limit, 'newest')).flatMap(texts)).toEqual([...chronological].reverse());
      }
      const first = await store.listMessages([survivor, mergedA, mergedB], 3);
      expect(texts(first.items)).toEqual(chronological.slice(0, 3));
      const second = await store.listMessages([mergedB, mergedA, survivor], 3, first.nextCursor);
      expect(texts(second.items)).toEqual(chronological.slice(3, 6));
    });

    it('pages through any arrangement of messages over merged threads without a duplicate or a gap', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.record({ thread: fc.integer({ min: 0, max: 2 }), second: fc.integer({ min: 0, max: 500 }) }), {
            maxLength: 30,
            selector: (m) => m.second,
          }),
          fc.integer({ min: 1, max: 7 }),
          fc.constantFrom<'oldest' | 'newest'>('oldest', 'newest'),
          async (layout, limit, order) => {
            const { store } = await factory();
            const threads = [uid('th'), uid('th'), uid('th')];
            await insert(store, ...layout.map((m) => messageRecord({ threadId: threads[m.thread] as string, second: m.second })));
            const expected = layout
              .map((m) => m.second)
              .sort((a, b) => (order === 'oldest' ? a - b : b - a))
              .map((s) => `message at ${s}s`);

            const pages = await pagesOf(store, threads, limit, order);

            expect(pages.flatMap(texts)).toEqual(expected);
            expect(pages.slice(0, -1).every((page) => page.length === limit)).toBe(true);
          },
        ),
        { numRuns: 30 },
      );
    });

    it('refuses a cursor of another listing: other threads, the other order, another kind of listing, garbage', async () => {
      const { store } = await factory();
      const [a, b] = [uid('th'), uid('th')];
      await insert(store, ...[1, 2, 3].map((second) => messageRecord({ threadId: a, second })));
      const cursor = (await store.listMessages([a], 1)).nextCursor as string;
      await store.commit([{ kind: 'thread', op: 'put', value: threadRecord({ id: b }), version: NEW_RECORD }]);
      await store.commit([{ kind: 'thread', op: 'put', value: threadRecord(), version: NEW_RECORD }]);
      await store.commit([{ kind: 'thread', op: 'put', value: threadRecord(), version: NEW_RECORD }]);
      const threadsCursor = (await store.listThreads({ limit: 1 })).nextCursor as string;
      expect(cursor).toBeDefined();
      expect(threadsCursor).toBeDefined();

      const refused: [string[], string, 'oldest' | 'newest'][] = [
        [[b], cursor, 'oldest'],
        [[a], cursor, 'newest'],
        [[a], threadsCursor, 'oldest'],
        [[a], 'garbage', 'oldest'],
        [[a], encodeCursor({ t: {}, o: 'oldest' }), 'oldest'],
        [[a], encodeCursor({ t: { [a]: 42 }, o: 'oldest' }), 'oldest'],
        // Well formed, but not a message's position: DynamoDB would refuse it as outside the query.
        [[a], encodeCursor({ t: { [a]: 'THREAD' }, o: 'oldest' }), 'oldest'],
      ];
      for (const [threadIds, given, order] of refused) {
        const error = await thrown(() => store.listMessages(threadIds, 2, given, order));
        expect({ given, order, error }).toEqual({ given, order, error: expect.any(InvalidCursorError) });
      }
    });

    it('never returns an expired message, even before it is swept, and even when whole pages have expired', async () => {
      const { store, clock } = await factory();
      clock.set(at(1000));
      const thread = uid('th');
      // Forty expired messages (retention ran out), then three alive, then one that expires later.
      const expired = Array.from({ length: 40 }, (_, i) => messageRecord({ threadId: thread, second: i, expiresAt: at(999) }));
      const alive = [41, 42, 43].map((second) => messageRecord({ threadId: thread, second, expiresAt: at(5000) }));
      const lasting = messageRecord({ threadId: thread, second: 44 });
      await insert(store, ...expired, ...alive, lasting);

      expect(await store.getMessage(thread, expired[0]!.id)).toBeUndefined();
      expect(await store.getPointer('telegram', '7712345678', expired[0]!.externalId as string)).toBeUndefined();
      expect((await pagesOf(store, [thread], 2)).flatMap(texts)).toEqual(texts([...alive, lasting]));
      expect((await pagesOf(store, [thread], 3, 'newest')).flatMap(texts)).toEqual(texts([lasting, ...[...alive].reverse()]));

      // The same messages at their expiry instant: gone too.
      clock.set(at(5000));
      expect(await store.getMessage(thread, alive[0]!.id)).toBeUndefined();
      expect(await store.getPointer('telegram', '7712345678', alive[0]!.externalId as string)).toBeUndefined();
      expect(await store.listMessages([thread], 10)).toEqual({ items: [lasting] });
      expect((await store.getMessage(thread, lasting.id))?.value).toEqual(lasting);
    });

    it('refuses page sizes outside 1 to 100', async () => {
      const { store } = await factory();
      const thread = uid('th');
      await insert(store, messageRecord({ threadId: thread, second: 1 }));
      for (const limit of [0, -1, 101, 1.5]) await expect(store.listMessages([thread], limit)).rejects.toThrow(RangeError);
      expect((await store.listMessages([thread], 100)).items).toHaveLength(1);
    });
  });
