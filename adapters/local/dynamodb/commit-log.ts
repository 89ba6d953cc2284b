/**
 * Group commit: every write of the engine ends here, as the LevelDB batch operations of one request (items,
 * index entries, stream records). Requests queued while a batch is being written go together in the next
 * batch, so batches are written one at a time, in the order they were submitted. That order is the order of
 * stream sequence numbers, which are handed out as a group is written: a stream reader that sees record n has
 * seen every record before n, and the persisted counter never goes back.
 */
import type { BatchOperation } from './dynalite.ts';
import type { MainDb } from 'dynalite/db';

const SEQUENCE_KEY = 'parley-meta~stream-sequence';

/** What one request writes: its batch operations, and the tables whose streams got records. */
export interface PreparedCommit {
  readonly operations: readonly BatchOperation[];
  readonly streamTables: readonly string[];
}

/** Builds a request's batch operations; `nextSequence` hands out stream sequence numbers in commit order. */
export type Prepare = (nextSequence: () => number) => PreparedCommit;

interface Pending {
  readonly prepare: Prepare;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class CommitLog {
  readonly #db: MainDb;
  readonly #onCommitted: (tables: ReadonlySet<string>, lastSequence: number) => void;
  #queue: Pending[] = [];
  #writing: Promise<void> | undefined;
  #sequence: number;
  #committedSequence: number;

  private constructor(db: MainDb, sequence: number, onCommitted: (tables: ReadonlySet<string>, lastSequence: number) => void) {
    this.#db = db;
    this.#sequence = sequence;
    this.#committedSequence = sequence;
    this.#onCommitted = onCommitted;
  }

  /** Opens the log on the store, resuming the stream sequence where the last run left it. */
  static async open(db: MainDb, onCommitted: (tables: ReadonlySet<string>, lastSequence: number) => void): Promise<CommitLog> {
    const stored = await db.get(SEQUENCE_KEY);
    return new CommitLog(db, typeof stored === 'number' ? stored : 0, onCommitted);
  }

  /** The highest stream sequence number written to disk: every record at or below it is readable. */
  get committedSequence(): number {
    return this.#committedSequence;
  }

  /** Queues a request's writes; resolves once they are on disk (or rejects if the batch failed). */
  submit(prepare: Prepare): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ prepare, resolve, reject });
      this.#writing ??= this.#drain();
    });
  }

  /** Resolves when nothing is queued or being written. */
  async settled(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const group = this.#queue;
        this.#queue = [];
        await this.#write(group);
      }
    } finally {
      this.#writing = undefined;
    }
  }

  async #write(group: readonly Pending[]): Promise<void> {
    const operations: BatchOperation[] = [];
    const tables = new Set<string>();
    const accepted: Pending[] = [];
    const first = this.#sequence;
    for (const pending of group) {
      try {
        const prepared = pending.prepare(() => ++this.#sequence);
        operations.push(...prepared.operations);
        for (const table of prepared.streamTables) tables.add(table);
        accepted.push(pending);
      } catch (error) {
        pending.reject(error);
      }
    }
    if (this.#sequence !== first) operations.push({ type: 'put', key: SEQUENCE_KEY, value: this.#sequence });
    try {
      if (operations.length > 0) await this.#db.batch(operations);
    } catch (error) {
      // Nothing of the group is on disk. Its sequence numbers stay used, so none is ever handed out twice in
      // this run; a restart may hand them out again, which is safe because no reader ever saw them.
      for (const pending of accepted) pending.reject(error);
      return;
    }
    this.#committedSequence = this.#sequence;
    for (const pending of accepted) pending.resolve();
    if (tables.size > 0) this.#onCommitted(tables, this.#sequence);
  }
}
