/**
 * Parley's local DynamoDB engine: dynalite's store, parsers and read actions, extended in-process with what
 * the AWS design uses and dynalite lacks: transactions (TransactWriteItems, TransactGetItems), DynamoDB Streams
 * with Lambda-style consumers, Time to Live, and `ReturnValuesOnConditionCheckFailure`. Every write goes through
 * one path (write-path.ts) that locks its items and commits everything of a request in one LevelDB batch.
 * The decision and its limits are in docs/decisions/local-dynamodb.md.
 */
import type { HttpRequest, HttpResponse, RequestHandler } from '@smithy/types';
import { db, run, action, validation, type Item, type Store, type TableDescription } from './dynalite.ts';
import { CommitLog } from './commit-log.ts';
import { DynamoError, conditionalCheckFailed, fromDynalite, serializationError, unknownOperation, validationError } from './errors.ts';
import { KeyLocks } from './key-locks.ts';
import {
  StreamLog,
  StreamPoller,
  hasStream,
  streamDescription,
  type StreamConsumer,
  type StreamRetry,
  type StreamSubscription,
  type StreamViewType,
} from './streams.ts';
import { TimeToLive } from './time-to-live.ts';
import { ClientTokens, transactGetItems, transactWriteItems, validate, type TransactionContext } from './transactions.ts';
import { createRequestHandler, listen } from './transport.ts';
import { WritePath, decideWithAction, itemKeyOf, type ItemWrite } from './write-path.ts';

export interface LocalDynamoOptions {
  /** A directory to persist the data in (LevelDB); in memory when absent. */
  readonly path?: string;
  /** How often expired items are deleted (and old stream records and client tokens dropped); 0 turns it off. Default 60 s. */
  readonly ttlSweepIntervalMs?: number;
  /** The clock (epoch ms) for TTL, stream record times and client token validity. */
  readonly now?: () => number;
  /** Backoff of stream consumers' retries: `baseMs * 2^(attempt-1)`, at most `maxMs`. Default 500 ms to 30 s. */
  readonly streamRetry?: StreamRetry;
}

export interface LocalDynamo {
  /** Runs one DynamoDB operation: wire JSON in and out; rejects with a {@link DynamoError}. */
  handle(operation: string, input: unknown): Promise<unknown>;
  /** An SDK v3 request handler calling the engine in this thread, without HTTP. */
  readonly requestHandler: RequestHandler<HttpRequest, HttpResponse>;
  /** Serves the engine over HTTP (the DynamoDB JSON protocol), for clients in other threads or processes. */
  listen(port: number, host: string): Promise<{ readonly url: string; close(): Promise<void> }>;
  /** Starts a Lambda-style consumer of the table's stream. */
  subscribe(tableName: string, consumer: StreamConsumer): StreamSubscription;
  /**
   * Runs the TTL sweep now, and drops stream records older than 24 hours and client tokens older than 10
   * minutes (what the sweeper does every `ttlSweepIntervalMs`); resolves with how many items TTL deleted.
   */
  sweepExpired(): Promise<number>;
  /** Stops the consumers and the sweeper, waits for writes in progress, and closes LevelDB. */
  close(): Promise<void>;
}

type Operation = (input: Record<string, unknown>) => Promise<Record<string, unknown>>;

const RETURN_VALUES_ON_CONDITION_CHECK_FAILURE = { type: 'String', enum: ['ALL_OLD', 'NONE'] };
const STREAM_VIEW_TYPES = ['NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES', 'KEYS_ONLY'];
const STREAM_SPECIFICATION = {
  type: 'FieldStruct<StreamSpecification>',
  children: {
    StreamEnabled: { type: 'Boolean', notNull: true },
    StreamViewType: { type: 'String', enum: STREAM_VIEW_TYPES },
  },
};
const TABLE_NAME = validation('DescribeTimeToLive').types.TableName;
const UPDATE_TIME_TO_LIVE_TYPES = {
  TableName: TABLE_NAME,
  TimeToLiveSpecification: {
    type: 'FieldStruct<TimeToLiveSpecification>',
    notNull: true,
    children: {
      AttributeName: { type: 'String', notNull: true, lengthGreaterThanOrEqual: 1, lengthLessThanOrEqual: 255 },
      Enabled: { type: 'Boolean', notNull: true },
    },
  },
};

/** The reads and control-plane operations dynalite answers itself, validated as its HTTP handler does. */
const DYNALITE_OPERATIONS = [
  'BatchGetItem',
  'DescribeTable',
  'GetItem',
  'ListTables',
  'ListTagsOfResource',
  'Query',
  'Scan',
  'TagResource',
  'UntagResource',
] as const;

const isConditionalCheckFailure = (error: DynamoError): boolean => error.code === 'ConditionalCheckFailedException';

/** A table whose description is cached: every item operation reads it, and only control-plane calls change it. */
class TableCache {
  readonly #store: Store;
  readonly #tables = new Map<string, TableDescription>();
  readonly #generations = new Map<string, number>();

  constructor(store: Store) {
    this.#store = store;
  }

  /** The table; with `checkStatus`, ResourceNotFoundException unless it is ACTIVE or UPDATING (as dynalite). */
  async get(name: string, checkStatus: boolean): Promise<TableDescription> {
    const cached = this.#tables.get(name);
    if (cached) return cached;
    const generation = this.#generations.get(name) ?? 0;
    const table = await new Promise<TableDescription>((resolve, reject) => {
      this.#store.getTable(name, checkStatus, (error, found) => (error ? reject(fromDynalite(error)) : resolve(found as TableDescription)));
    });
    // Only settled tables are kept; a control-plane call since the read makes it stale.
    if (table.TableStatus === 'ACTIVE' && (this.#generations.get(name) ?? 0) === generation) this.#tables.set(name, table);
    return table;
  }

  invalidate(name: string): void {
    this.#tables.delete(name);
    this.#generations.set(name, (this.#generations.get(name) ?? 0) + 1);
  }

  /** dynalite's store with table reads from this cache, for dynalite's read actions. */
  storeView(): Store {
    const view = Object.create(this.#store) as Store & { getTable: Store['getTable'] };
    view.getTable = (name: string, checkStatus: unknown, callback?: unknown) => {
      const done = (typeof checkStatus === 'function' ? checkStatus : callback) as Parameters<Store['getTable']>[2];
      // As dynalite's own getTable: called with (name, callback), the callback counts as a truthy checkStatus.
      this.get(name, checkStatus !== false).then(
        (table) => done(null, table),
        (error: DynamoError) => done(Object.assign(new Error(error.message), { statusCode: error.statusCode, body: error.body })),
      );
    };
    return view;
  }
}

class Engine implements LocalDynamo {
  readonly requestHandler: RequestHandler<HttpRequest, HttpResponse>;
  readonly #store: Store;
  readonly #now: () => number;
  readonly #retry: StreamRetry;
  readonly #tables: TableCache;
  readonly #readStore: Store;
  readonly #locks = new KeyLocks();
  readonly #commits: CommitLog;
  readonly #streams: StreamLog;
  readonly #writes: WritePath;
  readonly #ttl: TimeToLive;
  readonly #tokens: ClientTokens;
  readonly #transactions: TransactionContext;
  readonly #pollers = new Set<StreamPoller>();
  /** Requests being answered; close() lets them finish before it closes LevelDB. */
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #operations: Record<string, Operation>;
  #sweeper: NodeJS.Timeout | undefined;
  #sweeping: Promise<unknown> | undefined;
  #closed = false;

  constructor(store: Store, commits: CommitLog, streams: StreamLog, options: LocalDynamoOptions) {
    this.#store = store;
    this.#commits = commits;
    this.#streams = streams;
    this.#now = options.now ?? Date.now;
    this.#retry = options.streamRetry ?? { baseMs: 500, maxMs: 30_000 };
    this.#tables = new TableCache(store);
    this.#readStore = this.#tables.storeView();
    this.#writes = new WritePath({ store, locks: this.#locks, commits, now: this.#now });
    this.#tokens = new ClientTokens(store.db, this.#now);
    this.#ttl = new TimeToLive({
      db: store.db,
      writes: this.#writes,
      now: this.#now,
      table: (name) => this.#tables.get(name, true).catch(() => undefined),
    });
    this.#transactions = {
      store,
      writes: this.#writes,
      locks: this.#locks,
      tokens: this.#tokens,
      table: (name) => this.#tables.get(name, true),
    };
    this.#operations = {
      PutItem: (input) => this.#writeOne('PutItem', input),
      UpdateItem: (input) => this.#writeOne('UpdateItem', input),
      DeleteItem: (input) => this.#writeOne('DeleteItem', input),
      BatchWriteItem: (input) => this.#batchWriteItem(input),
      TransactWriteItems: (input) => transactWriteItems(this.#transactions, input),
      TransactGetItems: (input) => transactGetItems(this.#transactions, input),
      CreateTable: (input) => this.#createTable(input),
      UpdateTable: (input) => this.#updateTable(input),
      DeleteTable: (input) => this.#deleteTable(input),
      UpdateTimeToLive: (input) => this.#updateTimeToLive(input),
      DescribeTimeToLive: (input) => this.#describeTimeToLive(input),
      ...Object.fromEntries(
        DYNALITE_OPERATIONS.map((operation) => [operation, (input: Record<string, unknown>) => this.#dynalite(operation, input)]),
      ),
    };
    this.requestHandler = createRequestHandler((operation, input) => this.dispatch(operation, input));
    const interval = options.ttlSweepIntervalMs ?? 60_000;
    if (interval > 0) {
      this.#sweeper = setInterval(() => {
        this.#sweeping ??= this.#housekeeping().finally(() => {
          this.#sweeping = undefined;
        });
      }, interval);
      this.#sweeper.unref();
    }
  }

  async handle(operation: string, input: unknown): Promise<unknown> {
    // Validation drops unknown fields from the request in place, and answers share the engine's objects.
    const answer = await this.dispatch(operation, input === undefined ? input : structuredClone(input));
    return JSON.parse(JSON.stringify(answer)) as unknown;
  }

  /** Runs an operation on a request the engine may keep and change; the answer may share the engine's objects. */
  async dispatch(operation: string, input: unknown): Promise<Record<string, unknown>> {
    if (this.#closed)
      throw new DynamoError(500, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'The engine is closed' });
    const operate = Object.hasOwn(this.#operations, operation) ? this.#operations[operation] : undefined;
    if (!operate) throw unknownOperation();
    if (typeof input !== 'object' || input === null || Array.isArray(input))
      throw serializationError('Start of structure or map found where not expected');
    const answer = operate(input as Record<string, unknown>);
    this.#inFlight.add(answer);
    try {
      return await answer;
    } catch (error) {
      throw fromDynalite(error);
    } finally {
      this.#inFlight.delete(answer);
    }
  }

  listen(port: number, host: string): Promise<{ readonly url: string; close(): Promise<void> }> {
    return listen(port, host, (operation, input) => this.dispatch(operation, input));
  }

  subscribe(tableName: string, consumer: StreamConsumer): StreamSubscription {
    if (this.#closed) throw new Error('the engine is closed');
    for (const poller of this.#pollers) {
      if (poller.tableName === tableName && poller.consumer === consumer.name) {
        throw new Error(`consumer ${consumer.name} already reads the stream of ${tableName}`);
      }
    }
    const poller: StreamPoller = new StreamPoller(this.#streams, tableName, consumer, this.#retry, () => this.#pollers.delete(poller));
    this.#pollers.add(poller);
    return poller;
  }

  async sweepExpired(): Promise<number> {
    if (this.#closed) throw new Error('the engine is closed');
    const deleted = await this.#ttl.sweep();
    await this.#streams.expire(this.#now());
    await this.#tokens.expire();
    return deleted;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    await Promise.all([...this.#pollers].map((poller) => poller.stop()));
    await this.#sweeping;
    await Promise.allSettled([...this.#inFlight]);
    await this.#commits.settled();
    await this.#store.lifecycleManager.gracefulClose();
  }

  async #housekeeping(): Promise<void> {
    try {
      await this.sweepExpired();
    } catch {
      // Best effort, as in DynamoDB; the next round tries again.
    }
  }

  async #dynalite(operation: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const { types, custom } = validation(operation);
    const data = validate(input, types, custom, this.#store);
    return run(action(operation), this.#readStore, data);
  }

  /** PutItem, UpdateItem, DeleteItem: dynalite's action decides, the write path commits. */
  async #writeOne(operation: 'PutItem' | 'UpdateItem' | 'DeleteItem', input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const { types, custom } = validation(operation);
    // dynalite drops ReturnValuesOnConditionCheckFailure; validated here and honoured below.
    const data = validate(
      input,
      { ...types, ReturnValuesOnConditionCheckFailure: RETURN_VALUES_ON_CONDITION_CHECK_FAILURE },
      custom,
      this.#store,
    );
    const table = await this.#tables.get(data.TableName as string, true);
    const isPut = operation === 'PutItem';
    const key = itemKeyOf(table, (isPut ? data.Item : data.Key) as Item, isPut);
    const [settled] = await this.#writes.write([
      { table, key, decide: (current) => decideWithAction(operation, this.#store, table, data, current) },
    ]);
    if (!settled) throw new Error('the write path answered nothing');
    if (settled.ok) return settled.outcome.result ?? {};
    if (isConditionalCheckFailure(settled.error)) {
      throw conditionalCheckFailed(data.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' ? settled.current : undefined);
    }
    throw settled.error;
  }

  /** BatchWriteItem: dynalite's checks, then every put and delete in one commit (AWS makes no such promise). */
  async #batchWriteItem(input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const { types, custom } = validation('BatchWriteItem');
    const data = validate(input, types, custom, this.#store);
    const writes: ItemWrite[] = [];
    const requestItems = data.RequestItems as Record<string, { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } }[]>;
    for (const [tableName, requests] of Object.entries(requestItems)) {
      const table = await this.#tables.get(tableName, true);
      const seen = new Set<string>();
      for (const request of requests) {
        const isPut = request.PutRequest !== undefined;
        let key: string;
        try {
          key = itemKeyOf(table, (isPut ? request.PutRequest?.Item : request.DeleteRequest?.Key) as Item, isPut);
        } catch (error) {
          const message = (error as DynamoError).body.message ?? '';
          // As dynalite (and DynamoDB) word it for batches.
          throw /Missing the key|Type mismatch for key/.test(message)
            ? validationError('The provided key element does not match the schema')
            : error;
        }
        if (seen.has(key)) throw validationError('Provided list of item keys contains duplicates');
        seen.add(key);
        const itemData: Record<string, unknown> = {
          TableName: tableName,
          ...(isPut ? { Item: request.PutRequest?.Item } : { Key: request.DeleteRequest?.Key }),
          ...(data.ReturnConsumedCapacity !== undefined && { ReturnConsumedCapacity: data.ReturnConsumedCapacity }),
        };
        writes.push({
          table,
          key,
          decide: (current) => decideWithAction(isPut ? 'PutItem' : 'DeleteItem', this.#store, table, itemData, current),
        });
      }
    }
    const settled = await this.#writes.write(writes);
    const failed = settled.find((entry) => !entry.ok);
    if (failed && !failed.ok) throw failed.error;
    const answer: Record<string, unknown> = { UnprocessedItems: {} };
    if (data.ReturnConsumedCapacity === 'TOTAL' || data.ReturnConsumedCapacity === 'INDEXES') {
      const units = new Map<string, number>();
      for (const [i, entry] of settled.entries()) {
        const capacity = entry.ok ? (entry.outcome.result?.ConsumedCapacity as { CapacityUnits: number } | undefined) : undefined;
        const table = (writes[i] as ItemWrite).table.TableName;
        units.set(table, (units.get(table) ?? 0) + (capacity?.CapacityUnits ?? 0));
      }
      answer.ConsumedCapacity = [...units].map(([TableName, CapacityUnits]) => ({
        CapacityUnits,
        TableName,
        ...(data.ReturnConsumedCapacity === 'INDEXES' && { Table: { CapacityUnits } }),
      }));
    }
    return answer;
  }

  async #createTable(input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const { types, custom } = validation('CreateTable');
    const data = validate(input, { ...types, StreamSpecification: STREAM_SPECIFICATION }, custom, this.#store);
    const stream = this.#streamSpecification(data);
    delete data.StreamSpecification;
    const name = data.TableName as string;
    if (stream?.StreamEnabled) {
      const { awsRegion, awsAccountId } = this.#store.tableDb;
      const TableArn = `arn:aws:dynamodb:${awsRegion}:${awsAccountId}:table/${name}`;
      Object.assign(data, streamDescription({ TableArn }, stream.StreamViewType as StreamViewType, this.#now()));
    }
    this.#tables.invalidate(name);
    try {
      return await run(action('CreateTable'), this.#store, data);
    } finally {
      this.#tables.invalidate(name);
    }
  }

  /** UpdateTable; a `StreamSpecification` enables or disables the table's stream, the rest is dynalite's. */
  async #updateTable(input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const { types, custom } = validation('UpdateTable');
    const stream = input.StreamSpecification;
    const { StreamSpecification: _, ...rest } = input;
    const name = input.TableName as string;
    let answer: Record<string, unknown> | undefined;
    this.#tables.invalidate(name);
    try {
      if (stream === undefined || Object.keys(rest).some((field) => field !== 'TableName')) {
        const data = validate(rest, types, custom, this.#store);
        answer = await run(action('UpdateTable'), this.#store, data);
      }
      if (stream !== undefined) {
        const data = validate(
          { TableName: name, StreamSpecification: stream },
          { TableName: types.TableName, StreamSpecification: STREAM_SPECIFICATION },
          undefined,
          this.#store,
        );
        answer = await this.#updateStream(name, this.#streamSpecification(data) as { StreamEnabled: boolean; StreamViewType?: string });
      }
      return answer ?? {};
    } finally {
      this.#tables.invalidate(name);
    }
  }

  #streamSpecification(data: Record<string, unknown>): { StreamEnabled: boolean; StreamViewType?: string } | undefined {
    const stream = data.StreamSpecification as { StreamEnabled: boolean; StreamViewType?: string } | undefined;
    if (stream?.StreamEnabled && !stream.StreamViewType) {
      throw validationError('One or more parameter values were invalid: StreamViewType must be specified when StreamEnabled is true');
    }
    return stream;
  }

  #updateStream(name: string, stream: { StreamEnabled: boolean; StreamViewType?: string }): Promise<Record<string, unknown>> {
    const tableDb = this.#store.tableDb;
    return new Promise((resolve, reject) => {
      // dynalite's own lock for table records, the one its CreateTable and UpdateTable take.
      tableDb.lock(name, (release) => {
        const done = release((error: unknown, answer?: Record<string, unknown>) =>
          error ? reject(fromDynalite(error)) : resolve(answer ?? {}),
        );
        this.#store.getTable(name, false, (error, found) => {
          if (error || !found) return done(error);
          const table = found;
          if (stream.StreamEnabled && hasStream(table)) {
            return done(validationError(`Table already has an enabled stream: ${table.LatestStreamArn}`));
          }
          if (!stream.StreamEnabled && !hasStream(table)) {
            return done(validationError('Table does not have an enabled stream to disable'));
          }
          if (stream.StreamEnabled) Object.assign(table, streamDescription(table, stream.StreamViewType as StreamViewType, this.#now()));
          else delete table.StreamSpecification;
          tableDb.put(name, table, (putError) => done(putError, { TableDescription: table }));
        });
      });
    });
  }

  async #deleteTable(input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const { types, custom } = validation('DeleteTable');
    const data = validate(input, types, custom, this.#store);
    const name = data.TableName as string;
    this.#tables.invalidate(name);
    try {
      const answer = await run(action('DeleteTable'), this.#store, data);
      // Unlike DynamoDB, which keeps a deleted table's stream readable for 24 hours.
      await this.#ttl.drop(name);
      await this.#streams.dropTable(name);
      return answer;
    } finally {
      this.#tables.invalidate(name);
    }
  }

  async #updateTimeToLive(input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const data = validate(input, UPDATE_TIME_TO_LIVE_TYPES, undefined, this.#store);
    const name = data.TableName as string;
    await this.#tables.get(name, false);
    return this.#ttl.update(name, data.TimeToLiveSpecification as { AttributeName: string; Enabled: boolean });
  }

  async #describeTimeToLive(input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const { types, custom } = validation('DescribeTimeToLive');
    const data = validate(input, types, custom, this.#store);
    const name = data.TableName as string;
    await this.#tables.get(name, false);
    return this.#ttl.describe(name);
  }
}

/** Opens (or creates, with `path`) the engine's LevelDB and starts the TTL sweeper. */
export const createLocalDynamo = async (options: LocalDynamoOptions = {}): Promise<LocalDynamo> => {
  const store = db.create({
    ...(options.path !== undefined && { path: options.path }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  let streams: StreamLog | undefined;
  const commits = await CommitLog.open(store.db, (tables) => streams?.committed(tables));
  streams = await StreamLog.open(store.db, () => commits.committedSequence);
  return new Engine(store, commits, streams, options);
};
