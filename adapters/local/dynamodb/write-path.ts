/**
 * The one path every write of the engine takes (PutItem, UpdateItem, DeleteItem, BatchWriteItem,
 * TransactWriteItems, Time to Live deletes): lock the items (sorted, see key-locks.ts), read them, let each
 * write decide its outcome from the current item, and, only if every write of the request accepted, commit all
 * of it (items, index entries, stream records, anything extra) as one LevelDB batch. Readers see all of a
 * request or none of it, and no other write to these items can come between the read and the commit.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { sameItem } from './attribute-values.ts';
import type { CommitLog } from './commit-log.ts';
import {
  action,
  db,
  indexOperations,
  itemKey,
  run,
  type BatchOperation,
  type Item,
  type Store,
  type TableDescription,
} from './dynalite.ts';
import { fromDynalite, type DynamoError } from './errors.ts';
import type { KeyLocks } from './key-locks.ts';
import { hasStream, recordOperation, streamRecord, type TTL_IDENTITY } from './streams.ts';

/** What a write decided: the item after it (`null` deletes, `undefined` leaves it) and its answer. */
export interface WriteOutcome {
  readonly next?: Item | null;
  readonly result?: Record<string, unknown>;
}

/** One item a request writes (or checks). */
export interface ItemWrite {
  readonly table: TableDescription;
  /** The item's key as dynalite's `createKey` makes it. */
  readonly key: string;
  /** Decides from the item as it is now; throws a DynamoError (or dynalite error) to refuse. */
  readonly decide: (current: Item | undefined) => WriteOutcome | Promise<WriteOutcome>;
}

/** How each write of a request ended, with the item as it was when it was decided. */
export type Settled =
  | { readonly ok: true; readonly current: Item | undefined; readonly outcome: WriteOutcome }
  | { readonly ok: false; readonly current: Item | undefined; readonly error: DynamoError };

export interface WriteOptions {
  /** Set on stream records of deletes made by Time to Live. */
  readonly userIdentity?: typeof TTL_IDENTITY;
  /** More batch operations to commit with the writes (a transaction's client token). */
  readonly extra?: (settled: readonly Settled[]) => readonly BatchOperation[];
}

export interface WritePathDependencies {
  readonly store: Store;
  readonly locks: KeyLocks;
  readonly commits: CommitLog;
  readonly now: () => number;
}

const lockKey = (write: ItemWrite): string => `${write.table.TableName}\u0000${write.key}`;

/** Runs dynalite's own write action (putItem, updateItem, deleteItem) on one item, without touching the store. */
export const decideWithAction = async (
  operation: 'PutItem' | 'UpdateItem' | 'DeleteItem',
  store: Store,
  table: TableDescription,
  data: Record<string, unknown>,
  current: Item | undefined,
): Promise<WriteOutcome> => {
  let next: Item | null | undefined;
  const itemDb = {
    // The write path holds the item's lock already.
    lock: (_key: string, locked: (release: <F>(callback: F) => F) => void) => locked((callback) => callback),
    get: (_key: string, callback: (error: null, item: Item | undefined) => void) => callback(null, current),
    put: (_key: string, item: Item, callback: (error: null) => void) => {
      next = item;
      callback(null);
    },
    del: (_key: string, callback: (error: null) => void) => {
      next = null;
      callback(null);
    },
  };
  // Index entries are computed from the outcome at commit (dynalite.ts indexOperations), so these are dropped.
  const indexDb = {
    put: (_key: string, _item: Item, callback: (error: null) => void) => callback(null),
    del: (_key: string, callback: (error: null) => void) => callback(null),
  };
  const virtual = {
    options: store.options,
    getTable: (_name: string, checkStatus: unknown, callback?: (error: null, table: TableDescription) => void) =>
      (typeof checkStatus === 'function' ? (checkStatus as typeof callback) : callback)?.(null, table),
    getItemDb: () => itemDb,
    getIndexDb: () => indexDb,
  };
  const result = await run(action(operation), virtual, data);
  return { next, result };
};

export class WritePath {
  readonly #deps: WritePathDependencies;
  readonly #region: string;

  constructor(deps: WritePathDependencies) {
    this.#deps = deps;
    this.#region = deps.store.tableDb.awsRegion;
  }

  /**
   * Decides every write on the items as they are, and commits all of them in one batch if every one accepted;
   * if any refused, nothing is written. Either way, says how each write ended.
   */
  async write(writes: readonly ItemWrite[], options: WriteOptions = {}): Promise<Settled[]> {
    const release = await this.#deps.locks.acquire(writes.map(lockKey));
    try {
      // Synchronous reads: no trip through libuv's thread pool, and the items are locked anyway.
      const currents = writes.map((write) => this.#deps.store.db.getSync(itemKey(write.table.TableName, write.key)) as Item | undefined);
      const settled: Settled[] = [];
      for (const [i, write] of writes.entries()) {
        const current = currents[i];
        try {
          settled.push({ ok: true, current, outcome: await write.decide(current) });
        } catch (error) {
          settled.push({ ok: false, current, error: fromDynalite(error) });
        }
      }
      if (settled.every((entry) => entry.ok)) await this.#commit(writes, settled, options);
      return settled;
    } finally {
      release();
    }
  }

  async #commit(writes: readonly ItemWrite[], settled: readonly Settled[], options: WriteOptions): Promise<void> {
    const operations: BatchOperation[] = [];
    const changes: { table: TableDescription; before: Item | undefined; after: Item | undefined }[] = [];
    for (const [i, write] of writes.entries()) {
      const entry = settled[i] as Extract<Settled, { ok: true }>;
      const { next } = entry.outcome;
      const before = entry.current;
      if (next === undefined || (next === null && before === undefined)) continue;
      const after = next ?? undefined;
      const key = itemKey(write.table.TableName, write.key);
      operations.push(after ? { type: 'put', key, value: after } : { type: 'del', key });
      operations.push(...indexOperations(write.table, before, after));
      // DynamoDB Streams writes no record for a write that changes nothing.
      if (hasStream(write.table) && !(before && after && sameItem(before, after))) changes.push({ table: write.table, before, after });
    }
    if (options.extra) operations.push(...options.extra(settled));
    if (operations.length === 0) return;
    const now = this.#deps.now();
    await this.#deps.commits.submit((nextSequence) => {
      const records: BatchOperation[] = changes.map(({ table, before, after }) => {
        const sequence = nextSequence();
        const record: DynamoDBRecord = streamRecord(table, { before, after }, sequence, now, this.#region, options.userIdentity);
        return recordOperation(table.TableName, sequence, record);
      });
      return { operations: [...operations, ...records], streamTables: changes.map((change) => change.table.TableName) };
    });
  }
}

/** The key of an item (PutItem) or key (the others) after dynalite's checks against the table's key schema. */
export const itemKeyOf = (table: TableDescription, keyOrItem: Item, isItem: boolean): string => {
  const invalid = isItem ? db.validateItem(keyOrItem, table) : db.validateKey(keyOrItem, table);
  if (invalid) throw fromDynalite(invalid);
  return db.createKey(keyOrItem, table);
};
