/**
 * The contract of the table every store writes through: versioned records written only if the version read
 * still holds, several records all or nothing, each write's domain events kept beside it in `ev`.
 */
import { describe, expect, it } from 'vitest';
import { EVENTS_ATTRIBUTE, VERSION_ATTRIBUTE, type DynamoTable, type Item, type Key } from '../../../../adapters/aws/store/table.ts';
import type { PendingEvent } from '../../../../domain/events/outbox.ts';
import { ConflictError, NEW_RECORD } from '../../../../domain/shared/store.ts';
import { thrown, type Factory } from '../harness.ts';
import { at, uid } from '../records.ts';

export interface TableUnderTest {
  readonly table: DynamoTable;
  /** The item as stored, every attribute. */
  stored(key: Key): Promise<Item | undefined>;
  /** Operations the table's client sent. */
  readonly operations: readonly string[];
}

const keyOf = (name: string): Key => ({ pk: `TEST#${name}`, sk: 'TEST' });
const event = (n: number): PendingEvent => ({ id: `evt_${n}`, type: 'contact.updated', at: at(n), extra: { changes: [`field${n}`] } });

export const tableContract = (implementation: string, factory: Factory<TableUnderTest>) =>
  describe(`table commit semantics: ${implementation}`, () => {
    it('creates a record only where none exists: a second create conflicts, naming it, and the first stays', async () => {
      const { table, stored } = await factory();
      const key = keyOf(uid('a'));
      await table.commit([{ op: 'put', item: { ...key, name: 'first' }, version: NEW_RECORD, label: 'record a' }]);

      const error = await thrown(() =>
        table.commit([{ op: 'put', item: { ...key, name: 'second' }, version: NEW_RECORD, label: 'record a' }]),
      );

      expect(error).toBeInstanceOf(ConflictError);
      expect((error as ConflictError).what).toBe('record a');
      expect(await stored(key)).toEqual({ ...key, name: 'first', [VERSION_ATTRIBUTE]: 1 });
    });

    it('replaces a record only at the version read, and each write moves the version on by one', async () => {
      const { table, stored } = await factory();
      const key = keyOf(uid('b'));
      await table.commit([{ op: 'put', item: { ...key, n: 1 }, version: NEW_RECORD, label: 'b' }]);
      await table.commit([{ op: 'put', item: { ...key, n: 2 }, version: 1, label: 'b' }]);
      await table.commit([{ op: 'put', item: { ...key, n: 3 }, version: 2, label: 'b' }]);

      expect(await stored(key)).toEqual({ ...key, n: 3, [VERSION_ATTRIBUTE]: 3 });
    });

    it('refuses a write naming a version that no longer holds, and keeps the newer record', async () => {
      const { table, stored } = await factory();
      const key = keyOf(uid('c'));
      await table.commit([{ op: 'put', item: { ...key, owner: 'first writer' }, version: NEW_RECORD, label: 'c' }]);
      // Two writers read version 1; the first one's write wins.
      await table.commit([{ op: 'put', item: { ...key, owner: 'winner' }, version: 1, label: 'c' }]);

      const error = await thrown(() => table.commit([{ op: 'put', item: { ...key, owner: 'loser' }, version: 1, label: 'record c' }]));

      expect(error).toBeInstanceOf(ConflictError);
      expect((error as ConflictError).what).toBe('record c');
      expect(await stored(key)).toEqual({ ...key, owner: 'winner', [VERSION_ATTRIBUTE]: 2 });
    });

    it('a version named for a record that does not exist conflicts instead of creating it', async () => {
      const { table, stored } = await factory();
      const key = keyOf(uid('ghost'));

      await expect(table.commit([{ op: 'put', item: { ...key }, version: 4, label: 'ghost' }])).rejects.toBeInstanceOf(ConflictError);
      expect(await stored(key)).toBeUndefined();
    });

    it('writes several records all or nothing: one stale version writes none of them, and the error names it', async () => {
      const { table, stored } = await factory();
      const [a, b, c] = [keyOf(uid('a')), keyOf(uid('b')), keyOf(uid('c'))];
      await table.commit([
        { op: 'put', item: { ...a, n: 1 }, version: NEW_RECORD, label: 'a' },
        { op: 'put', item: { ...b, n: 1 }, version: NEW_RECORD, label: 'b' },
      ]);
      await table.commit([{ op: 'put', item: { ...b, n: 2 }, version: 1, label: 'b' }]);

      const error = await thrown(() =>
        table.commit([
          { op: 'put', item: { ...a, n: 9 }, version: 1, label: 'record a' },
          { op: 'put', item: { ...b, n: 9 }, version: 1, label: 'record b' },
          { op: 'put', item: { ...c, n: 9 }, version: NEW_RECORD, label: 'record c' },
        ]),
      );

      expect(error).toBeInstanceOf(ConflictError);
      expect((error as ConflictError).what).toBe('record b');
      expect(await stored(a)).toEqual({ ...a, n: 1, [VERSION_ATTRIBUTE]: 1 });
      expect(await stored(b)).toEqual({ ...b, n: 2, [VERSION_ATTRIBUTE]: 2 });
      expect(await stored(c)).toBeUndefined();
    });

    it('writes several records when every version holds, each moving on by one', async () => {
      const { table, stored } = await factory();
      const [a, b] = [keyOf(uid('a')), keyOf(uid('b'))];
      await table.commit([{ op: 'put', item: { ...a, n: 1 }, version: NEW_RECORD, label: 'a' }]);

      await table.commit([
        { op: 'put', item: { ...a, n: 2 }, version: 1, label: 'a' },
        { op: 'put', item: { ...b, n: 1 }, version: NEW_RECORD, label: 'b' },
      ]);

      expect(await stored(a)).toEqual({ ...a, n: 2, [VERSION_ATTRIBUTE]: 2 });
      expect(await stored(b)).toEqual({ ...b, n: 1, [VERSION_ATTRIBUTE]: 1 });
    });

    it('deletes a record only at the version read; a stale delete conflicts and the record stays', async () => {
      const { table, stored } = await factory();
      const key = keyOf(uid('d'));
      await table.commit([{ op: 'put', item: { ...key }, version: NEW_RECORD, label: 'd' }]);
      await table.commit([{ op: 'put', item: { ...key, changed: true }, version: 1, label: 'd' }]);

      await expect(table.commit([{ op: 'delete', key, version: 1, label: 'record d' }])).rejects.toThrow(new ConflictError('record d'));
      expect(await stored(key)).toEqual({ ...key, changed: true, [VERSION_ATTRIBUTE]: 2 });

      await table.commit([{ op: 'delete', key, version: 2, label: 'record d' }]);
      expect(await stored(key)).toBeUndefined();
    });

    it('deletes and puts in one transaction, or neither', async () => {
      const { table, stored } = await factory();
      const [gone, kept, moved] = [keyOf(uid('gone')), keyOf(uid('kept')), keyOf(uid('moved'))];
      await table.commit([
        { op: 'put', item: { ...gone }, version: NEW_RECORD, label: 'gone' },
        { op: 'put', item: { ...kept }, version: NEW_RECORD, label: 'kept' },
      ]);

      await expect(
        table.commit([
          { op: 'delete', key: kept, version: 7, label: 'kept' },
          { op: 'put', item: { ...moved }, version: NEW_RECORD, label: 'moved' },
        ]),
      ).rejects.toThrow(new ConflictError('kept'));
      expect(await stored(kept)).toBeDefined();
      expect(await stored(moved)).toBeUndefined();

      await table.commit([
        { op: 'delete', key: gone, version: 1, label: 'gone' },
        { op: 'put', item: { ...moved, from: gone.pk }, version: NEW_RECORD, label: 'moved' },
      ]);
      expect(await stored(gone)).toBeUndefined();
      expect(await stored(moved)).toEqual({ ...moved, from: gone.pk, [VERSION_ATTRIBUTE]: 1 });
    });

    it("keeps a write's events in `ev`, replaces them with the next write's, and removes them with a write that has none", async () => {
      const { table, stored } = await factory();
      const key = keyOf(uid('ev'));

      await table.commit([{ op: 'put', item: { ...key, n: 1 }, version: NEW_RECORD, events: [event(1), event(2)], label: 'ev' }]);
      expect((await stored(key))?.[EVENTS_ATTRIBUTE]).toBe(JSON.stringify([event(1), event(2)]));

      await table.commit([{ op: 'put', item: { ...key, n: 2 }, version: 1, events: [event(3)], label: 'ev' }]);
      expect(JSON.parse(String((await stored(key))?.[EVENTS_ATTRIBUTE]))).toEqual([event(3)]);

      await table.commit([{ op: 'put', item: { ...key, n: 3 }, version: 2, label: 'ev' }]);
      expect(await stored(key)).toEqual({ ...key, n: 3, [VERSION_ATTRIBUTE]: 3 });

      await table.commit([{ op: 'put', item: { ...key, n: 4 }, version: 3, events: [], label: 'ev' }]);
      expect(await stored(key)).toEqual({ ...key, n: 4, [VERSION_ATTRIBUTE]: 4 });
    });

    it('never writes back the events of an item as it was read', async () => {
      const { table, stored } = await factory();
      const key = keyOf(uid('reread'));
      await table.commit([{ op: 'put', item: { ...key, n: 1 }, version: NEW_RECORD, events: [event(1)], label: 'r' }]);
      const read = (await table.get(key)) as Item & Key;

      // A record read and written back unchanged, without events of its own: its old events must not be published again.
      await table.commit([{ op: 'put', item: { ...read, n: 2 }, version: 1, label: 'r' }]);

      expect(await stored(key)).toEqual({ ...key, n: 2, [VERSION_ATTRIBUTE]: 2 });
    });

    it('reads a record with its version', async () => {
      const { table } = await factory();
      const key = keyOf(uid('get'));
      expect(await table.get(key)).toBeUndefined();
      await table.commit([{ op: 'put', item: { ...key, name: 'x' }, version: NEW_RECORD, label: 'get' }]);

      expect(await table.get(key)).toEqual({ ...key, name: 'x', [VERSION_ATTRIBUTE]: 1 });
    });

    it('reads more keys than one BatchGetItem takes, returning those that exist', async () => {
      const { table, operations } = await factory();
      const keys = Array.from({ length: 230 }, (_, i) => keyOf(`batch-${i}`));
      for (let i = 0; i < keys.length; i += 100) {
        await table.commit(
          keys
            .slice(i, i + 100)
            .filter((_, j) => (i + j) % 3 !== 0)
            .map((key, j) => ({ op: 'put', item: { ...key, i: j }, version: NEW_RECORD, label: `b${j}` })),
        );
      }
      const before = operations.length;

      const found = await table.batchGet(keys);

      expect(found.map((item) => item.pk).sort()).toEqual(
        keys
          .filter((_, i) => i % 3 !== 0)
          .map((k) => k.pk)
          .sort(),
      );
      expect(operations.slice(before)).toEqual(['BatchGetItem', 'BatchGetItem', 'BatchGetItem']);
    });

    it('writes nothing for an empty commit and refuses more than 100 writes without writing any', async () => {
      const { table, stored, operations } = await factory();
      await table.commit([]);
      expect(operations).toEqual([]);

      const keys = Array.from({ length: 101 }, (_, i) => keyOf(`many-${i}`));
      await expect(table.commit(keys.map((key) => ({ op: 'put', item: { ...key }, version: NEW_RECORD, label: key.pk })))).rejects.toThrow(
        RangeError,
      );
      expect(await stored(keys[0] as Key)).toBeUndefined();
    });
  });
