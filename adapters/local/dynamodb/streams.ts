/**
 * DynamoDB Streams, locally: the stream records a table with a `StreamSpecification` gets (written in the same
 * LevelDB batch as the item they describe), and consumers that read them the way a Lambda event source mapping
 * does: in sequence order, one batch at a time, with filter criteria, partial batch responses, retries with
 * exponential backoff, and a persisted checkpoint per consumer (at least once: a restart resumes after the last
 * acknowledged record). One shard per table: every record of a table is in one ordered sequence.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.Lambda.html
 * @see https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { MainDb } from 'dynalite/db';
import { db, type Item, type TableDescription } from './dynalite.ts';

/** DynamoDB keeps stream records for 24 hours. */
export const STREAM_RETENTION_MS = 24 * 60 * 60 * 1000;

const RECORD_PREFIX = 'parley-stream~';
const CHECKPOINT_PREFIX = 'parley-checkpoint~';

/** Sequence numbers as fixed-width decimal strings (21 digits), so their order is both numeric and lexical. */
export const formatSequence = (sequence: number): string => `1${String(sequence).padStart(20, '0')}`;
const parseSequence = (formatted: string): number => Number(formatted.slice(1));

const recordKey = (tableName: string, sequence: number): string => `${RECORD_PREFIX}${tableName}~${formatSequence(sequence)}`;
const checkpointKey = (tableName: string, consumer: string): string => `${CHECKPOINT_PREFIX}${tableName}~${consumer}`;

/** The identity DynamoDB puts on the REMOVE records of items that Time to Live deleted. */
export const TTL_IDENTITY = { type: 'Service', principalId: 'dynamodb.amazonaws.com' } as const;

export type StreamViewType = 'KEYS_ONLY' | 'NEW_IMAGE' | 'OLD_IMAGE' | 'NEW_AND_OLD_IMAGES';

/** The stream settings of a new stream: its ARN names the table and a label (its creation time). */
export const streamDescription = (
  table: Pick<TableDescription, 'TableArn'>,
  viewType: StreamViewType,
  now: number,
): Pick<TableDescription, 'StreamSpecification' | 'LatestStreamArn' | 'LatestStreamLabel'> => {
  const label = new Date(now).toISOString().replace('Z', '');
  return {
    StreamSpecification: { StreamEnabled: true, StreamViewType: viewType },
    LatestStreamLabel: label,
    LatestStreamArn: `${table.TableArn}/stream/${label}`,
  };
};

/** Whether writes to the table get stream records. */
export const hasStream = (table: TableDescription): boolean => table.StreamSpecification?.StreamEnabled === true;

/** One item's change, as the write path commits it. */
export interface ItemChange {
  readonly before: Item | undefined;
  readonly after: Item | undefined;
}

/** A stream record as Lambda delivers it in a `DynamoDBStreamEvent`, images in AttributeValue JSON. */
export const streamRecord = (
  table: TableDescription,
  change: ItemChange,
  sequence: number,
  now: number,
  region: string,
  userIdentity?: typeof TTL_IDENTITY,
): DynamoDBRecord => {
  const image = (change.after ?? change.before) as Item;
  const keys: Item = {};
  for (const { AttributeName } of table.KeySchema) {
    const value = image[AttributeName];
    if (value) keys[AttributeName] = value;
  }
  const viewType = (table.StreamSpecification?.StreamViewType ?? 'NEW_AND_OLD_IMAGES') as StreamViewType;
  const newImage = change.after && (viewType === 'NEW_IMAGE' || viewType === 'NEW_AND_OLD_IMAGES') ? change.after : undefined;
  const oldImage = change.before && (viewType === 'OLD_IMAGE' || viewType === 'NEW_AND_OLD_IMAGES') ? change.before : undefined;
  return {
    eventID: randomUUID().replaceAll('-', ''),
    eventName: !change.before ? 'INSERT' : !change.after ? 'REMOVE' : 'MODIFY',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    dynamodb: {
      ApproximateCreationDateTime: Math.floor(now / 1000),
      Keys: keys as never,
      ...(newImage && { NewImage: newImage as never }),
      ...(oldImage && { OldImage: oldImage as never }),
      SequenceNumber: formatSequence(sequence),
      // As DynamoDB counts it: the keys and the images the record carries, names and values.
      SizeBytes: db.itemSize(keys) + (newImage ? db.itemSize(newImage) : 0) + (oldImage ? db.itemSize(oldImage) : 0),
      StreamViewType: viewType,
    },
    eventSourceARN: table.LatestStreamArn as string,
    ...(userIdentity && { userIdentity }),
  };
};

/** The batch operation that stores a stream record with the write it describes. */
export const recordOperation = (tableName: string, sequence: number, record: DynamoDBRecord) => ({
  type: 'put' as const,
  key: recordKey(tableName, sequence),
  value: record,
});

/** A stored record with its sequence number. */
interface Positioned {
  readonly sequence: number;
  readonly record: DynamoDBRecord;
}

/** What a consumer's `onFailure` is told when a batch is given up after `maximumRetryAttempts`. */
export interface StreamFailure {
  readonly tableName: string;
  readonly consumer: string;
  /** The records given up (the batch from the first one not acknowledged). */
  readonly records: readonly DynamoDBRecord[];
  readonly attempts: number;
  /** What the handler threw on the last attempt, if it threw (rather than reporting item failures). */
  readonly error?: unknown;
}

/**
 * A Lambda event source mapping on a table's stream, emulated.
 * @see https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
 */
export interface StreamConsumer {
  /** Names the checkpoint: a consumer of the same name resumes where the last one stopped, across restarts. */
  readonly name: string;
  /** Most records per invocation (Lambda's `BatchSize`). */
  readonly batchSize: number;
  /** How long to gather records before invoking with fewer than `batchSize` (Lambda's `MaximumBatchingWindowInSeconds`). Default 0. */
  readonly maximumBatchingWindowMs?: number;
  /** Filter criteria: records it rejects are skipped, never delivered, and the checkpoint moves past them. */
  readonly filter?: (record: DynamoDBRecord) => boolean;
  /** The function. `batchItemFailures` (ReportBatchItemFailures) retries from the lowest failed sequence number. */
  // biome-ignore lint/suspicious/noConfusingVoidType: a Lambda handler may return nothing, as AWS's own types say
  readonly handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;
  /** Retries of a batch that makes no progress before it is given up; undefined retries until it succeeds. */
  readonly maximumRetryAttempts?: number;
  /** Told about a batch given up (Lambda's on-failure destination). If it throws, the batch is retried instead. */
  readonly onFailure?: (failure: StreamFailure) => Promise<void> | void;
  /** Where a consumer without a checkpoint starts: the oldest record kept (default) or the next one written. */
  readonly startingPosition?: 'TRIM_HORIZON' | 'LATEST';
}

export interface StreamSubscription {
  readonly tableName: string;
  readonly consumer: string;
  /** Stops polling; resolves after the batch in flight (if any) is settled and its checkpoint saved. */
  stop(): Promise<void>;
  /**
   * Resolves once the consumer has handled every record committed so far, or is waiting to retry a batch that
   * failed (work postponed, as a queue's is); true when it had to wait.
   */
  idle(): Promise<boolean>;
}

export interface StreamRetry {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** The stored stream records of every table, their consumers' checkpoints, and the wake-ups on commit. */
export class StreamLog {
  readonly #db: MainDb;
  readonly #committed: () => number;
  readonly #versions = new Map<string, number>();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #checkpoints = new Map<string, Map<string, number>>();
  /** Per table, the sequence up to which records were already dropped: the next drop starts after it. */
  readonly #droppedUpTo = new Map<string, number>();

  private constructor(database: MainDb, committed: () => number) {
    this.#db = database;
    this.#committed = committed;
  }

  static async open(database: MainDb, committed: () => number): Promise<StreamLog> {
    const log = new StreamLog(database, committed);
    for await (const [key, value] of database.iterator({ gt: CHECKPOINT_PREFIX, lt: `${CHECKPOINT_PREFIX}\xff` })) {
      // Table names cannot hold '~'; consumer names may.
      const rest = key.slice(CHECKPOINT_PREFIX.length);
      const separator = rest.indexOf('~');
      log.#checkpointsOf(rest.slice(0, separator)).set(rest.slice(separator + 1), Number(value));
    }
    return log;
  }

  /** Called by the commit log after a batch with records of these tables is on disk. */
  committed(tables: ReadonlySet<string>): void {
    for (const table of tables) {
      this.#versions.set(table, this.version(table) + 1);
      const waiters = this.#waiters.get(table);
      if (!waiters) continue;
      this.#waiters.delete(table);
      for (const wake of waiters) wake();
    }
  }

  /** Counts the commits that gave the table records; a reader compares it before and after reading. */
  version(tableName: string): number {
    return this.#versions.get(tableName) ?? 0;
  }

  /** The highest sequence number on disk. */
  get lastSequence(): number {
    return this.#committed();
  }

  /** Resolves on the table's next commit after `version` (at once if there was one), or after `timeoutMs`. */
  changed(tableName: string, version: number, timeoutMs?: number): { readonly promise: Promise<void>; cancel(): void } {
    if (this.version(tableName) !== version) return { promise: Promise.resolve(), cancel: () => {} };
    let wake!: () => void;
    let timer: NodeJS.Timeout | undefined;
    const promise = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const waiters = this.#waiters.get(tableName) ?? new Set();
    this.#waiters.set(tableName, waiters);
    const done = (): void => {
      clearTimeout(timer);
      waiters.delete(done);
      wake();
    };
    waiters.add(done);
    if (timeoutMs !== undefined) timer = setTimeout(done, timeoutMs);
    return { promise, cancel: done };
  }

  /** Up to `limit` committed records of the table after `after`, in sequence order. */
  async read(tableName: string, after: number, limit: number): Promise<Positioned[]> {
    const records: Positioned[] = [];
    const prefix = `${RECORD_PREFIX}${tableName}~`;
    const iterator = this.#db.iterator({ gt: recordKey(tableName, after), lte: recordKey(tableName, this.lastSequence), limit });
    for await (const [key, value] of iterator) {
      records.push({ sequence: parseSequence(key.slice(prefix.length)), record: value as DynamoDBRecord });
    }
    return records;
  }

  checkpoint(tableName: string, consumer: string): number | undefined {
    return this.#checkpoints.get(tableName)?.get(consumer);
  }

  /** Saves a consumer's checkpoint, then drops the records every consumer of the table has passed. */
  async saveCheckpoint(tableName: string, consumer: string, sequence: number): Promise<void> {
    await this.#db.put(checkpointKey(tableName, consumer), sequence);
    const checkpoints = this.#checkpointsOf(tableName);
    checkpoints.set(consumer, sequence);
    const passedByAll = Math.min(...checkpoints.values());
    const dropped = this.#droppedUpTo.get(tableName);
    if (passedByAll <= 0 || (dropped !== undefined && passedByAll <= dropped)) return;
    // From where the last drop ended: a range from the start would walk every earlier deletion's tombstone again.
    await this.#db.clear({
      gt: dropped === undefined ? `${RECORD_PREFIX}${tableName}~` : recordKey(tableName, dropped),
      lte: recordKey(tableName, passedByAll),
    });
    this.#droppedUpTo.set(tableName, passedByAll);
  }

  /** Drops records older than the retention (24 hours), as DynamoDB does, whether consumed or not. */
  async expire(now: number): Promise<number> {
    const limit = Math.floor((now - STREAM_RETENTION_MS) / 1000);
    const expired: string[] = [];
    for await (const [key, value] of this.#db.iterator({ gt: RECORD_PREFIX, lt: `${RECORD_PREFIX}\xff` })) {
      const created = (value as DynamoDBRecord).dynamodb?.ApproximateCreationDateTime ?? 0;
      if (created < limit) expired.push(key);
    }
    if (expired.length > 0) await this.#db.batch(expired.map((key) => ({ type: 'del' as const, key })));
    return expired.length;
  }

  /** Forgets a deleted table's stream: its records and its consumers' checkpoints. */
  async dropTable(tableName: string): Promise<void> {
    await this.#db.clear({ gt: `${RECORD_PREFIX}${tableName}~`, lt: `${RECORD_PREFIX}${tableName}~\xff` });
    await this.#db.clear({ gt: `${CHECKPOINT_PREFIX}${tableName}~`, lt: `${CHECKPOINT_PREFIX}${tableName}~\xff` });
    this.#checkpoints.delete(tableName);
    this.#droppedUpTo.delete(tableName);
  }

  #checkpointsOf(tableName: string): Map<string, number> {
    let checkpoints = this.#checkpoints.get(tableName);
    if (!checkpoints) {
      checkpoints = new Map();
      this.#checkpoints.set(tableName, checkpoints);
    }
    return checkpoints;
  }
}

/** The outcome of one invocation: how many of the batch's records were acknowledged, and why the rest were not. */
type Delivery = { readonly acknowledged: number } & ({ readonly ok: true } | { readonly ok: false; readonly error?: unknown });

/** Lambda's reading of a partial batch response: anything malformed fails the whole batch. */
const readResponse = (response: unknown, batch: readonly Positioned[]): Delivery => {
  const failures = (response as Partial<DynamoDBBatchResponse> | null | undefined)?.batchItemFailures;
  if (failures === undefined || failures === null || (Array.isArray(failures) && failures.length === 0)) {
    return { ok: true, acknowledged: batch.length };
  }
  if (!Array.isArray(failures)) return { ok: false, acknowledged: 0 };
  let first = batch.length;
  for (const failure of failures as unknown[]) {
    const identifier = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    const index = typeof identifier === 'string' ? batch.findIndex((entry) => entry.record.dynamodb?.SequenceNumber === identifier) : -1;
    if (index < 0) return { ok: false, acknowledged: 0 };
    first = Math.min(first, index);
  }
  return { ok: false, acknowledged: first };
};

/** Reads a table's stream for one consumer until stopped. */
export class StreamPoller implements StreamSubscription {
  readonly tableName: string;
  readonly consumer: string;
  readonly #log: StreamLog;
  readonly #options: StreamConsumer;
  readonly #retry: StreamRetry;
  readonly #done: Promise<void>;
  #stopped = false;
  #wake: (() => void) | undefined;
  #checkpoint: number | undefined;
  #retrying = false;

  constructor(log: StreamLog, tableName: string, consumer: StreamConsumer, retry: StreamRetry, onStopped: () => void) {
    if (!consumer.name) throw new Error('a stream consumer needs a name: it keys its checkpoint');
    if (!Number.isInteger(consumer.batchSize) || consumer.batchSize < 1) {
      throw new Error(`batchSize must be a positive integer, but ${consumer.batchSize} was provided`);
    }
    this.#log = log;
    this.tableName = tableName;
    this.consumer = consumer.name;
    this.#options = consumer;
    this.#retry = retry;
    this.#done = this.#run().finally(onStopped);
  }

  async idle(): Promise<boolean> {
    let waited = false;
    while (!this.#stopped && !this.#retrying && (this.#checkpoint ?? -1) < this.#log.lastSequence) {
      waited = true;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return waited;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#done;
  }

  async #run(): Promise<void> {
    let attempts = 0;
    while (!this.#stopped) {
      try {
        if (this.#checkpoint === undefined) await this.#start();
        attempts = await this.#step(attempts);
        this.#retrying = attempts > 0;
      } catch {
        // A filter that threw, or a read or checkpoint write that failed: retried, no record skipped for it.
        attempts += 1;
        this.#retrying = true;
        await this.#sleep(this.#backoff(attempts));
      }
    }
  }

  async #start(): Promise<void> {
    const saved = this.#log.checkpoint(this.tableName, this.consumer);
    if (saved !== undefined) {
      this.#checkpoint = saved;
      return;
    }
    // Registering the checkpoint at once keeps the records this consumer has not read from being trimmed.
    await this.#advance(this.#options.startingPosition === 'LATEST' ? this.#log.lastSequence : 0);
  }

  /** Reads, delivers and checkpoints one batch (or waits for records); returns the failed attempts so far. */
  async #step(attempts: number): Promise<number> {
    const version = this.#log.version(this.tableName);
    let batch = await this.#nextBatch();
    if (batch.records.length === 0) {
      if (batch.scanned > this.#position) await this.#advance(batch.scanned);
      else await this.#until(this.#log.changed(this.tableName, version));
      return attempts;
    }
    if (batch.records.length < this.#options.batchSize && (this.#options.maximumBatchingWindowMs ?? 0) > 0) {
      const gathered = await this.#gather(batch);
      if (!gathered) return attempts;
      batch = gathered;
    }
    const delivery = await this.#deliver(batch.records);
    if (delivery.ok) {
      await this.#advance(batch.scanned);
      return 0;
    }
    // Acknowledged up to just before the lowest failed record; filtered records before it are passed too.
    const { acknowledged } = delivery;
    const failedAt = (batch.records[acknowledged] as Positioned).sequence;
    if (failedAt - 1 > this.#position) await this.#advance(failedAt - 1);
    if (acknowledged > 0) return 0;
    const failed = attempts + 1;
    const limit = this.#options.maximumRetryAttempts;
    if (limit !== undefined && failed > limit) {
      const records = batch.records.map((entry) => entry.record);
      if (await this.#giveUp(records, failed, 'error' in delivery ? delivery.error : undefined)) {
        await this.#advance(batch.scanned);
        return 0;
      }
    }
    this.#retrying = true;
    await this.#sleep(this.#backoff(failed));
    return failed;
  }

  /** The next records for the consumer: up to `batchSize` that pass the filter, and the last sequence looked at. */
  async #nextBatch(): Promise<{ records: Positioned[]; scanned: number }> {
    const { batchSize, filter } = this.#options;
    const records: Positioned[] = [];
    let scanned = this.#position;
    for (;;) {
      const chunk = await this.#log.read(this.tableName, scanned, batchSize);
      for (const entry of chunk) {
        scanned = entry.sequence;
        if (filter && !filter(entry.record)) continue;
        records.push(entry);
        if (records.length === batchSize) return { records, scanned };
      }
      if (chunk.length < batchSize) return { records, scanned };
    }
  }

  /** Waits up to the batching window for a full batch; undefined when stopped meanwhile. */
  async #gather(first: { records: Positioned[]; scanned: number }): Promise<{ records: Positioned[]; scanned: number } | undefined> {
    const deadline = Date.now() + (this.#options.maximumBatchingWindowMs ?? 0);
    let batch = first;
    while (batch.records.length < this.#options.batchSize && !this.#stopped) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const version = this.#log.version(this.tableName);
      await this.#until(this.#log.changed(this.tableName, version, left));
      batch = await this.#nextBatch();
    }
    return this.#stopped ? undefined : batch;
  }

  async #deliver(records: readonly Positioned[]): Promise<Delivery> {
    try {
      const response = await this.#options.handler({ Records: records.map((entry) => entry.record) });
      return readResponse(response, records);
    } catch (error) {
      return { ok: false, acknowledged: 0, error };
    }
  }

  async #giveUp(records: readonly DynamoDBRecord[], attempts: number, error: unknown): Promise<boolean> {
    try {
      await this.#options.onFailure?.({
        tableName: this.tableName,
        consumer: this.consumer,
        records,
        attempts,
        ...(error !== undefined && { error }),
      });
      return true;
    } catch {
      return false;
    }
  }

  /** The last sequence number acknowledged (0 before the consumer started). */
  get #position(): number {
    return this.#checkpoint ?? 0;
  }

  async #advance(sequence: number): Promise<void> {
    await this.#log.saveCheckpoint(this.tableName, this.consumer, sequence);
    this.#checkpoint = sequence;
  }

  #backoff(attempts: number): number {
    return Math.min(this.#retry.maxMs, this.#retry.baseMs * 2 ** Math.max(0, attempts - 1));
  }

  /** Waits for a change (or a stop). */
  async #until(change: { readonly promise: Promise<void>; cancel(): void }): Promise<void> {
    if (this.#stopped) {
      change.cancel();
      return;
    }
    this.#wake = () => change.cancel();
    await change.promise;
    this.#wake = undefined;
  }

  async #sleep(ms: number): Promise<void> {
    if (this.#stopped) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
  }
}
