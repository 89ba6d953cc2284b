/**
 * What the store suites share: one local DynamoDB engine per test file, a fresh table for every store under
 * test (listings read a whole index partition, so tests must not see each other's records), a clock the test
 * moves, and the operations each store's client sent. A store's client refuses a Scan outright, so any suite
 * that made one fails where it happened (docs/data-model.md: no Scan anywhere).
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, expect } from 'vitest';
import { createTableInput, ensureTable } from '../../../adapters/aws/dynamo-table.ts';
import { DynamoTable, type Key } from '../../../adapters/aws/store/table.ts';
import type { ConversationStore } from '../../../domain/conversations/ports.ts';
import type { Clock } from '../../../domain/ports.ts';
import { startLocalDynamo, type LocalDynamoHarness } from '../../helpers/local-dynamo.ts';

/** The operations a store may send: reads by key or by partition, conditional writes. */
export const ALLOWED_OPERATIONS = ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'DeleteItem', 'TransactWriteItems'] as const;

/** A store under test is built by a factory, so another implementation can run the same suite. */
export type Factory<F> = () => Promise<F>;

/** A conversation store under test, and the clock it decides expiry by. */
export interface ConversationsUnderTest {
  readonly store: ConversationStore;
  readonly clock: TestClock;
}

/** A clock the test sets; stores read it to decide what has expired. */
export interface TestClock extends Clock {
  set(instant: string): void;
  advance(seconds: number): void;
}

export const testClock = (start: string): TestClock => {
  let now = Date.parse(start);
  return {
    now: () => new Date(now),
    set: (instant) => {
      now = Date.parse(instant);
    },
    advance: (seconds) => {
      now += seconds * 1000;
    },
  };
};

/** A fresh table of the stores' shape (indexes, TTL, NEW_AND_OLD_IMAGES stream) on the engine. */
export interface TableFixture {
  readonly db: LocalDynamoHarness;
  readonly tableName: string;
  /** The store's table, over a client of its own whose operations are recorded. */
  readonly table: DynamoTable;
  /** Every operation the store's client sent, in order (`GetItem`, `Query`, ...). */
  readonly operations: string[];
  /** The item under a key as DynamoDB holds it, read by the test's own client (not recorded). */
  stored(key: Key): Promise<Record<string, unknown> | undefined>;
}

/** Starts one engine for the test file; `engine()` returns it inside tests. */
export const useLocalEngine = (): (() => LocalDynamoHarness) => {
  let db: LocalDynamoHarness | undefined;
  beforeAll(async () => {
    db = await startLocalDynamo();
  });
  afterAll(async () => {
    await db?.stop();
  });
  return () => {
    if (!db) throw new Error('the local engine is not started yet');
    return db;
  };
};

/** More operations than any test needs from one store. */
const MAX_OPERATIONS = 2000;

/** Records each operation's name on a client and refuses Scan before it reaches the engine. */
export const recordOperations = (client: DynamoDBDocumentClient, operations: string[]): void => {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName).replace(/Command$/, '');
      operations.push(operation);
      // The in-process engine answers without a timer, so a store looping on the same request would never
      // reach the test timeout: it fails here instead.
      if (operations.length > MAX_OPERATIONS)
        throw new Error(`a store sent more than ${MAX_OPERATIONS} operations: a loop that does not end?`);
      if (operation === 'Scan') throw new Error('a store sent a Scan: every read must be a GetItem, a BatchGetItem or a Query');
      return next(args);
    },
    { step: 'initialize', name: 'recordOperations' },
  );
};

export const newTable = async (db: LocalDynamoHarness): Promise<TableFixture> => {
  const tableName = `stores-${randomUUID()}`;
  await db.engine.handle('CreateTable', createTableInput(tableName));
  await ensureTable(db.dynamo, tableName);
  const client = db.newClient();
  const operations: string[] = [];
  recordOperations(client, operations);
  return {
    db,
    tableName,
    table: new DynamoTable({ client, tableName }),
    operations,
    stored: async (key) =>
      (await db.client.send(new GetCommand({ TableName: tableName, Key: { pk: key.pk, sk: key.sk }, ConsistentRead: true }))).Item,
  };
};

/** The records of the table's stream, collected from a Lambda-style consumer the test subscribes. */
export interface StreamTap {
  readonly records: DynamoDBRecord[];
  /** Resolves once every write committed so far has reached the consumer. */
  drain(): Promise<DynamoDBRecord[]>;
  stop(): Promise<void>;
}

export const tapStream = (fixture: TableFixture): StreamTap => {
  const records: DynamoDBRecord[] = [];
  const subscription = fixture.db.engine.subscribe(fixture.tableName, {
    name: `tap-${randomUUID()}`,
    batchSize: 100,
    handler: async (event: DynamoDBStreamEvent) => {
      records.push(...event.Records);
    },
  });
  return {
    records,
    drain: async () => {
      await subscription.idle();
      return records;
    },
    stop: () => subscription.stop(),
  };
};

/** Runs `attempt` and returns what it threw, failing the test if it did not throw. */
export const thrown = async (attempt: () => Promise<unknown>): Promise<unknown> => {
  try {
    await attempt();
  } catch (error) {
    return error;
  }
  expect.fail('expected it to throw');
};
