/**
 * Atomicity and isolation of the local DynamoDB engine's transactions, through the SDK: a cancelled
 * transaction leaves no trace (item, index entry or stream record), and under many concurrent writers
 * (transfers between counters by TransactWriteItems, interleaved with plain conditional UpdateItems and
 * with TransactGetItems and GetItem readers) no update is lost, no reader sees half a transfer, no condition
 * is bypassed and nothing deadlocks.
 */
import { randomUUID } from 'node:crypto';
import {
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TransactGetItemsCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  ConditionalCheckFailedException,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamo, type LocalDynamoHarness } from '../../helpers/local-dynamo.ts';

let db: LocalDynamoHarness;
beforeAll(async () => {
  db = await startLocalDynamo();
});
afterAll(async () => {
  await db?.stop();
});

const uid = (prefix: string): string => `${prefix}-${randomUUID()}`;
const key = (pk: string) => ({ pk: { S: pk }, sk: { S: 'A' } });

/** The table's stream records about these items, collected until `stop`. */
const recordStream = (pks: readonly string[]): { records: DynamoDBRecord[]; stop(): Promise<void> } => {
  const records: DynamoDBRecord[] = [];
  const subscription = db.engine.subscribe(db.tableName, {
    name: uid('recorder'),
    batchSize: 100,
    filter: (record) => pks.includes(record.dynamodb?.Keys?.pk?.S ?? ''),
    handler: async (event) => {
      records.push(...event.Records);
    },
  });
  return { records, stop: () => subscription.stop() };
};

describe('atomicity', () => {
  it('a transaction with one failing condition writes nothing: no item, no index entry, no stream record', async () => {
    const user = uid('user');
    const [first, second, guard] = [uid('tx'), uid('tx'), uid('guard')];
    await db.dynamo.send(new PutItemCommand({ TableName: db.tableName, Item: { ...key(guard), open: { BOOL: false } } }));
    const stream = recordStream([first, second, guard]);

    await expect(
      db.dynamo.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: db.tableName, Item: { ...key(first), gsi1pk: { S: user }, gsi1sk: { S: '1' } } } },
            { Put: { TableName: db.tableName, Item: { ...key(second), gsi1pk: { S: user }, gsi1sk: { S: '2' } } } },
            {
              ConditionCheck: {
                TableName: db.tableName,
                Key: key(guard),
                ConditionExpression: '#o = :t',
                ExpressionAttributeNames: { '#o': 'open' },
                ExpressionAttributeValues: { ':t': { BOOL: true } },
              },
            },
          ],
        }),
      ),
    ).rejects.toBeInstanceOf(TransactionCanceledException);
    // A later write to the guard proves the stream consumer has caught up past the failed transaction.
    await db.dynamo.send(new PutItemCommand({ TableName: db.tableName, Item: { ...key(guard), open: { BOOL: true } } }));
    await expect.poll(() => stream.records.length).toBe(2);
    await stream.stop();

    expect(stream.records.map((record) => [record.eventName, record.dynamodb?.Keys])).toEqual([
      ['INSERT', key(guard)],
      ['MODIFY', key(guard)],
    ]);
    expect((await db.dynamo.send(new GetItemCommand({ TableName: db.tableName, Key: key(first) }))).Item).toBeUndefined();
    const indexed = await db.dynamo.send(
      new QueryCommand({
        TableName: db.tableName,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :u',
        ExpressionAttributeValues: { ':u': { S: user } },
      }),
    );
    expect(indexed.Items).toEqual([]);
  });

  it('moves an item between index keys in the same commit as the item', async () => {
    const [pk, before, after] = [uid('idx'), uid('user'), uid('user')];
    await db.dynamo.send(new PutItemCommand({ TableName: db.tableName, Item: { ...key(pk), gsi1pk: { S: before }, gsi1sk: { S: 'x' } } }));
    await db.dynamo.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Update: {
              TableName: db.tableName,
              Key: key(pk),
              UpdateExpression: 'SET gsi1pk = :a',
              ExpressionAttributeValues: { ':a': { S: after } },
            },
          },
        ],
      }),
    );
    const byIndex = async (user: string) =>
      (
        await db.dynamo.send(
          new QueryCommand({
            TableName: db.tableName,
            IndexName: 'gsi1',
            KeyConditionExpression: 'gsi1pk = :u',
            ExpressionAttributeValues: { ':u': { S: user } },
          }),
        )
      ).Items;
    expect(await byIndex(before)).toEqual([]);
    expect((await byIndex(after))?.map((item) => item.pk)).toEqual([{ S: pk }]);
  });
});

describe('isolation under concurrent writers', () => {
  type Op =
    | { readonly type: 'transfer'; readonly from: number; readonly to: number; readonly amount: number }
    | { readonly type: 'bump'; readonly counter: number }
    | { readonly type: 'snapshot' }
    | { readonly type: 'scan' }
    | { readonly type: 'get'; readonly counter: number };

  const COUNTERS = 5;
  const START = 20;
  const counterIndex = fc.integer({ min: 0, max: COUNTERS - 1 });
  const operation: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .record({ type: fc.constant('transfer' as const), from: counterIndex, to: counterIndex, amount: fc.integer({ min: 1, max: 15 }) })
        .filter((op) => op.from !== op.to),
    },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('bump' as const), counter: counterIndex }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('snapshot' as const) }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('scan' as const) }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('get' as const), counter: counterIndex }) },
  );

  it('keeps the sum in every snapshot (TransactGetItems, Scan), loses no update, bypasses no condition and never deadlocks', async () => {
    await fc.assert(
      // Each operation starts after its own short delay, so reads fall between (and inside) the writers' commits.
      fc.asyncProperty(fc.array(fc.tuple(operation, fc.integer({ min: 0, max: 10 })), { minLength: 20, maxLength: 80 }), async (ops) => {
        const run = uid('run');
        const counters = Array.from({ length: COUNTERS }, (_, i) => `${run}#${i}`);
        for (const pk of counters) {
          await db.dynamo.send(
            new PutItemCommand({ TableName: db.tableName, Item: { ...key(pk), balance: { N: String(START) }, ops: { N: '0' } } }),
          );
        }
        const expectedOps = counters.map(() => 0);
        const sums: number[] = [];
        const balancesSeen: number[] = [];

        await Promise.all(
          ops.map(async ([op, delayMs]) => {
            await new Promise((resolve) => setTimeout(resolve, delayMs));
            switch (op.type) {
              case 'transfer': {
                try {
                  await db.dynamo.send(
                    new TransactWriteItemsCommand({
                      TransactItems: [
                        {
                          Update: {
                            TableName: db.tableName,
                            Key: key(counters[op.from] as string),
                            UpdateExpression: 'SET balance = balance - :x ADD ops :one',
                            ConditionExpression: 'balance >= :x',
                            ExpressionAttributeValues: { ':x': { N: String(op.amount) }, ':one': { N: '1' } },
                          },
                        },
                        {
                          Update: {
                            TableName: db.tableName,
                            Key: key(counters[op.to] as string),
                            UpdateExpression: 'SET balance = balance + :x ADD ops :one',
                            ExpressionAttributeValues: { ':x': { N: String(op.amount) }, ':one': { N: '1' } },
                          },
                        },
                      ],
                    }),
                  );
                  expectedOps[op.from] = (expectedOps[op.from] as number) + 1;
                  expectedOps[op.to] = (expectedOps[op.to] as number) + 1;
                } catch (error) {
                  if (!(error instanceof TransactionCanceledException)) throw error;
                }
                return;
              }
              case 'bump': {
                // Read, then write conditionally on what was read: optimistic concurrency, retried until it lands.
                for (;;) {
                  const { Item } = await db.dynamo.send(
                    new GetItemCommand({ TableName: db.tableName, Key: key(counters[op.counter] as string), ConsistentRead: true }),
                  );
                  try {
                    await db.dynamo.send(
                      new UpdateItemCommand({
                        TableName: db.tableName,
                        Key: key(counters[op.counter] as string),
                        UpdateExpression: 'SET ops = :next',
                        ConditionExpression: 'ops = :seen',
                        ExpressionAttributeValues: { ':seen': Item?.ops as never, ':next': { N: String(Number(Item?.ops?.N) + 1) } },
                      }),
                    );
                    expectedOps[op.counter] = (expectedOps[op.counter] as number) + 1;
                    return;
                  } catch (error) {
                    if (!(error instanceof ConditionalCheckFailedException)) throw error;
                  }
                }
              }
              case 'snapshot': {
                const { Responses } = await db.dynamo.send(
                  new TransactGetItemsCommand({
                    TransactItems: counters.map((pk) => ({ Get: { TableName: db.tableName, Key: key(pk) } })),
                  }),
                );
                sums.push((Responses ?? []).reduce((sum, response) => sum + Number(response.Item?.balance?.N), 0));
                return;
              }
              case 'scan': {
                // No locks: a Scan reads one LevelDB snapshot, so it sees a transaction's batch whole or not at all.
                const { Items } = await db.dynamo.send(
                  new ScanCommand({
                    TableName: db.tableName,
                    FilterExpression: 'begins_with(pk, :run)',
                    ExpressionAttributeValues: { ':run': { S: run } },
                  }),
                );
                if (Items?.length !== COUNTERS) throw new Error(`the scan found ${Items?.length} counters`);
                sums.push(Items.reduce((sum, item) => sum + Number(item.balance?.N), 0));
                return;
              }
              case 'get': {
                const { Item } = await db.dynamo.send(
                  new GetItemCommand({ TableName: db.tableName, Key: key(counters[op.counter] as string) }),
                );
                balancesSeen.push(Number(Item?.balance?.N));
                return;
              }
            }
          }),
        );

        expect(sums.every((sum) => sum === COUNTERS * START)).toBe(true);
        expect(balancesSeen.every((balance) => balance >= 0)).toBe(true);
        const final = await Promise.all(
          counters.map((pk) => db.dynamo.send(new GetItemCommand({ TableName: db.tableName, Key: key(pk), ConsistentRead: true }))),
        );
        expect(final.map(({ Item }) => Number(Item?.ops?.N))).toEqual(expectedOps);
        expect(final.reduce((sum, { Item }) => sum + Number(Item?.balance?.N), 0)).toBe(COUNTERS * START);
        expect(final.every(({ Item }) => Number(Item?.balance?.N) >= 0)).toBe(true);
      }),
      { numRuns: 15, seed: 20260301 },
    );
  }, 60_000);
});
