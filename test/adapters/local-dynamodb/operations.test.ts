/**
 * The local DynamoDB engine through the real AWS SDK v3 clients (plain and DocumentClient), in process:
 * each operation's answer, and each error as the SDK raises it (modelled class, fields) for the shapes
 * DynamoDB documents.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBServiceException,
  GetItemCommand,
  IdempotentParameterMismatchException,
  ListTablesCommand,
  ListTagsOfResourceCommand,
  PutItemCommand,
  QueryCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  ScanCommand,
  TagResourceCommand,
  TransactGetItemsCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand as DocQueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTableInput, ensureTable } from '../../../adapters/aws/dynamo-table.ts';
import { DynamoError } from '../../../adapters/local/dynamodb/index.ts';
import { startLocalDynamo, type LocalDynamoHarness } from '../../helpers/local-dynamo.ts';

let db: LocalDynamoHarness;
beforeAll(async () => {
  db = await startLocalDynamo();
});
afterAll(async () => {
  await db?.stop();
});

const uid = (prefix: string): string => `${prefix}-${randomUUID()}`;
const key = (pk: string, sk = 'A') => ({ pk: { S: pk }, sk: { S: sk } });
const getRaw = async (pk: string, sk = 'A') =>
  (await db.dynamo.send(new GetItemCommand({ TableName: db.tableName, Key: key(pk, sk), ConsistentRead: true }))).Item;

/** The error a call raised (failing the test if it did not raise one). */
const failure = async (call: Promise<unknown>): Promise<Error & Record<string, unknown>> => {
  try {
    await call;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected the call to fail');
};

/** DynamoDB's model has no ValidationException class: the SDK raises its service exception under that name. */
const expectValidation = (error: Error): void => {
  expect(error).toBeInstanceOf(DynamoDBServiceException);
  expect(error.name).toBe('ValidationException');
};

describe('tables', () => {
  it('creates a table with a stream and describes it with its stream ARN', async () => {
    const name = uid('tbl');
    const created = await db.dynamo.send(
      new CreateTableCommand({
        ...createTableInput(name),
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
    expect(created.TableDescription?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    await ensureTable(db.dynamo, name);
    const { Table } = await db.dynamo.send(new DescribeTableCommand({ TableName: name }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.LatestStreamArn).toBe(`arn:aws:dynamodb:us-east-1:000000000000:table/${name}/stream/${Table?.LatestStreamLabel}`);
    expect(Table?.LatestStreamLabel).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$/);
    expect((await db.dynamo.send(new ListTablesCommand({}))).TableNames).toContain(name);

    const again = await failure(db.dynamo.send(new CreateTableCommand(createTableInput(name))));
    expect(again).toBeInstanceOf(ResourceInUseException);

    await db.dynamo.send(new DeleteTableCommand({ TableName: name }));
    await expect.poll(async () => (await db.dynamo.send(new ListTablesCommand({}))).TableNames).not.toContain(name);
    expect(await failure(db.dynamo.send(new DescribeTableCommand({ TableName: name })))).toBeInstanceOf(ResourceNotFoundException);
  });

  it('refuses a stream specification without a view type or with an unknown one', async () => {
    const withoutType = await failure(
      db.dynamo.send(new CreateTableCommand({ ...createTableInput(uid('tbl')), StreamSpecification: { StreamEnabled: true } })),
    );
    expectValidation(withoutType);
    const unknownType = await failure(
      db.engine.handle('CreateTable', {
        ...createTableInput(uid('tbl')),
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'ALL' },
      }),
    );
    expect((unknownType as unknown as DynamoError).code).toBe('ValidationException');
    expect(unknownType.message).toContain("at 'streamSpecification.streamViewType' failed to satisfy constraint");
  });

  it('enables a stream on an existing table with UpdateTable, once', async () => {
    const name = uid('tbl');
    const { StreamSpecification: _stream, ...withoutStream } = createTableInput(name);
    await db.dynamo.send(new CreateTableCommand(withoutStream));
    await ensureTable(db.dynamo, name);
    expect((await db.dynamo.send(new DescribeTableCommand({ TableName: name }))).Table?.LatestStreamArn).toBeUndefined();

    const { TableDescription } = await db.dynamo.send(
      new UpdateTableCommand({ TableName: name, StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } }),
    );
    expect(TableDescription?.LatestStreamArn).toContain(`table/${name}/stream/`);
    const twice = await failure(
      db.dynamo.send(
        new UpdateTableCommand({ TableName: name, StreamSpecification: { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' } }),
      ),
    );
    expectValidation(twice);
    expect(twice.message).toContain('already has an enabled stream');
  });

  it('tags a table', async () => {
    const { Table } = await db.dynamo.send(new DescribeTableCommand({ TableName: db.tableName }));
    await db.dynamo.send(new TagResourceCommand({ ResourceArn: Table?.TableArn, Tags: [{ Key: 'app', Value: 'parley' }] }));
    expect((await db.dynamo.send(new ListTagsOfResourceCommand({ ResourceArn: Table?.TableArn }))).Tags).toEqual([
      { Key: 'app', Value: 'parley' },
    ]);
  });
});

describe('single-item writes and reads', () => {
  it('puts, updates, reads and deletes an item with the DocumentClient', async () => {
    const pk = uid('item');
    await db.client.send(new PutCommand({ TableName: db.tableName, Item: { pk, sk: 'A', n: 1, tags: new Set(['a']) } }));
    const updated = await db.client.send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: { pk, sk: 'A' },
        UpdateExpression: 'SET n = n + :one ADD tags :b',
        ConditionExpression: 'n = :n',
        ExpressionAttributeValues: { ':one': 1, ':n': 1, ':b': new Set(['b']) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    expect(updated.Attributes).toEqual({ pk, sk: 'A', n: 2, tags: new Set(['a', 'b']) });
    expect(
      (await db.client.send(new GetCommand({ TableName: db.tableName, Key: { pk, sk: 'A' }, ProjectionExpression: 'n' }))).Item,
    ).toEqual({ n: 2 });

    const deleted = await db.dynamo.send(new DeleteItemCommand({ TableName: db.tableName, Key: key(pk), ReturnValues: 'ALL_OLD' }));
    expect(deleted.Attributes?.n).toEqual({ N: '2' });
    expect(await getRaw(pk)).toBeUndefined();
  });

  it('answers ReturnValues and ConsumedCapacity as dynalite computes them', async () => {
    const pk = uid('item');
    await db.dynamo.send(new PutItemCommand({ TableName: db.tableName, Item: { ...key(pk), v: { S: 'one' } } }));
    const replaced = await db.dynamo.send(
      new PutItemCommand({
        TableName: db.tableName,
        Item: { ...key(pk), v: { S: 'two' } },
        ReturnValues: 'ALL_OLD',
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    expect(replaced.Attributes).toEqual({ ...key(pk), v: { S: 'one' } });
    expect(replaced.ConsumedCapacity).toEqual({ TableName: db.tableName, CapacityUnits: 1 });
  });

  it('raises ConditionalCheckFailedException, with the item only when ReturnValuesOnConditionCheckFailure is ALL_OLD', async () => {
    const pk = uid('item');
    await db.dynamo.send(new PutItemCommand({ TableName: db.tableName, Item: { ...key(pk), v: { S: 'kept' } } }));
    const plain = await failure(
      db.dynamo.send(
        new PutItemCommand({
          TableName: db.tableName,
          Item: { ...key(pk), v: { S: 'lost' } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    expect(plain).toBeInstanceOf(ConditionalCheckFailedException);
    expect(plain.message).toBe('The conditional request failed');
    expect(plain.Item).toBeUndefined();

    const withItem = await failure(
      db.dynamo.send(
        new UpdateItemCommand({
          TableName: db.tableName,
          Key: key(pk),
          UpdateExpression: 'SET v = :v',
          ConditionExpression: 'v = :expected',
          ExpressionAttributeValues: { ':v': { S: 'lost' }, ':expected': { S: 'other' } },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    expect(withItem).toBeInstanceOf(ConditionalCheckFailedException);
    expect(withItem.Item).toEqual({ ...key(pk), v: { S: 'kept' } });

    const deleteMissing = await failure(
      db.dynamo.send(
        new DeleteItemCommand({
          TableName: db.tableName,
          Key: key(uid('none')),
          ConditionExpression: 'attribute_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    expect(deleteMissing).toBeInstanceOf(ConditionalCheckFailedException);
    expect(deleteMissing.Item).toBeUndefined();
    expect(await getRaw(pk)).toEqual({ ...key(pk), v: { S: 'kept' } });
  });

  it('refuses an unknown ReturnValuesOnConditionCheckFailure', async () => {
    const error = await failure(
      db.engine.handle('PutItem', { TableName: db.tableName, Item: key(uid('item')), ReturnValuesOnConditionCheckFailure: 'ALL_NEW' }),
    );
    expect(error).toBeInstanceOf(DynamoError);
    expect((error as unknown as DynamoError).body).toEqual({
      __type: 'com.amazon.coral.validate#ValidationException',
      message:
        "1 validation error detected: Value 'ALL_NEW' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]",
    });
  });

  it('raises ResourceNotFoundException for a missing table and ValidationException for a wrong key', async () => {
    expect(await failure(db.dynamo.send(new PutItemCommand({ TableName: 'no-such-table', Item: key('x') })))).toBeInstanceOf(
      ResourceNotFoundException,
    );
    const wrongKey = await failure(db.dynamo.send(new PutItemCommand({ TableName: db.tableName, Item: { pk: { S: 'x' } } })));
    expectValidation(wrongKey);
    expect(wrongKey.message).toBe('One or more parameter values were invalid: Missing the key sk in the item');
  });

  it('writes and reads in batches, and queries and scans the index', async () => {
    const user = uid('user');
    const items = [1, 2, 3].map((n) => ({ ...key(uid('batch')), gsi1pk: { S: user }, gsi1sk: { S: `MSG#${n}` }, n: { N: String(n) } }));
    const written = await db.dynamo.send(
      new BatchWriteItemCommand({
        RequestItems: { [db.tableName]: items.map((Item) => ({ PutRequest: { Item } })) },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    expect(written.UnprocessedItems).toEqual({});
    expect(written.ConsumedCapacity).toEqual([{ TableName: db.tableName, CapacityUnits: 3 }]);

    const read = await db.dynamo.send(
      new BatchGetItemCommand({ RequestItems: { [db.tableName]: { Keys: items.map((item) => ({ pk: item.pk, sk: item.sk })) } } }),
    );
    expect(read.Responses?.[db.tableName]).toHaveLength(3);

    const byIndex = await db.client.send(
      new DocQueryCommand({
        TableName: db.tableName,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :u',
        ExpressionAttributeValues: { ':u': user },
        ScanIndexForward: false,
      }),
    );
    expect(byIndex.Items?.map((item) => item.n)).toEqual([3, 2, 1]);
    const scanned = await db.dynamo.send(
      new ScanCommand({ TableName: db.tableName, FilterExpression: 'gsi1pk = :u', ExpressionAttributeValues: { ':u': { S: user } } }),
    );
    expect(scanned.Items).toHaveLength(3);

    await db.dynamo.send(
      new BatchWriteItemCommand({
        RequestItems: { [db.tableName]: items.map((item) => ({ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } })) },
      }),
    );
    const emptied = await db.dynamo.send(
      new QueryCommand({
        TableName: db.tableName,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :u',
        ExpressionAttributeValues: { ':u': { S: user } },
      }),
    );
    expect(emptied.Items).toEqual([]);
  });

  it('refuses a batch with one item twice', async () => {
    const item = key(uid('dup'));
    const error = await failure(
      db.dynamo.send(
        new BatchWriteItemCommand({ RequestItems: { [db.tableName]: [{ PutRequest: { Item: item } }, { DeleteRequest: { Key: item } }] } }),
      ),
    );
    expectValidation(error);
    expect(error.message).toBe('Provided list of item keys contains duplicates');
    expect(await getRaw(item.pk.S)).toBeUndefined();
  });
});

describe('TransactWriteItems', () => {
  const put = (pk: string, extra: Record<string, unknown> = {}): TransactWriteItem => ({
    Put: { TableName: db.tableName, Item: { ...key(pk), ...extra } as never },
  });

  it('writes every action, and counts two write units per item', async () => {
    const [a, b, c, d] = [uid('tx'), uid('tx'), uid('tx'), uid('tx')];
    await db.dynamo.send(new PutItemCommand({ TableName: db.tableName, Item: { ...key(b), n: { N: '1' } } }));
    await db.dynamo.send(new PutItemCommand({ TableName: db.tableName, Item: key(c) }));
    await db.dynamo.send(new PutItemCommand({ TableName: db.tableName, Item: { ...key(d), n: { N: '1' } } }));
    const answer = await db.dynamo.send(
      new TransactWriteItemsCommand({
        ReturnConsumedCapacity: 'TOTAL',
        TransactItems: [
          put(a),
          {
            Update: {
              TableName: db.tableName,
              Key: key(b),
              UpdateExpression: 'SET n = n + :one',
              ExpressionAttributeValues: { ':one': { N: '1' } },
            },
          },
          { Delete: { TableName: db.tableName, Key: key(c), ConditionExpression: 'attribute_exists(pk)' } },
          {
            ConditionCheck: {
              TableName: db.tableName,
              Key: key(d),
              ConditionExpression: 'n = :one',
              ExpressionAttributeValues: { ':one': { N: '1' } },
            },
          },
        ],
      }),
    );
    expect(answer.ConsumedCapacity).toEqual([{ TableName: db.tableName, CapacityUnits: 8, WriteCapacityUnits: 8 }]);
    expect(await getRaw(a)).toEqual(key(a));
    expect((await getRaw(b))?.n).toEqual({ N: '2' });
    expect(await getRaw(c)).toBeUndefined();
  });

  it('works through the DocumentClient', async () => {
    const [from, to] = [uid('acct'), uid('acct')];
    await db.client.send(new PutCommand({ TableName: db.tableName, Item: { pk: from, sk: 'A', balance: 10 } }));
    await db.client.send(new PutCommand({ TableName: db.tableName, Item: { pk: to, sk: 'A', balance: 0 } }));
    await db.client.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: db.tableName,
              Key: { pk: from, sk: 'A' },
              UpdateExpression: 'SET balance = balance - :x',
              ConditionExpression: 'balance >= :x',
              ExpressionAttributeValues: { ':x': 4 },
            },
          },
          {
            Update: {
              TableName: db.tableName,
              Key: { pk: to, sk: 'A' },
              UpdateExpression: 'SET balance = balance + :x',
              ExpressionAttributeValues: { ':x': 4 },
            },
          },
        ],
      }),
    );
    expect((await db.client.send(new GetCommand({ TableName: db.tableName, Key: { pk: from, sk: 'A' } }))).Item?.balance).toBe(6);
    expect((await db.client.send(new GetCommand({ TableName: db.tableName, Key: { pk: to, sk: 'A' } }))).Item?.balance).toBe(4);
  });

  it('is cancelled with one reason per action, the old item where asked, and writes nothing', async () => {
    const [fresh, existing, checked] = [uid('tx'), uid('tx'), uid('tx')];
    await db.dynamo.send(new PutItemCommand({ TableName: db.tableName, Item: { ...key(existing), v: { S: 'old' } } }));
    await db.dynamo.send(new PutItemCommand({ TableName: db.tableName, Item: { ...key(checked), state: { S: 'closed' } } }));
    const error = await failure(
      db.dynamo.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            put(fresh),
            {
              Put: {
                TableName: db.tableName,
                Item: { ...key(existing), v: { S: 'new' } },
                ConditionExpression: 'attribute_not_exists(pk)',
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            {
              ConditionCheck: {
                TableName: db.tableName,
                Key: key(checked),
                ConditionExpression: '#s = :open',
                ExpressionAttributeNames: { '#s': 'state' },
                ExpressionAttributeValues: { ':open': { S: 'open' } },
              },
            },
          ],
        }),
      ),
    );
    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect(error.message).toBe(
      'Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed, ConditionalCheckFailed]',
    );
    expect(error.CancellationReasons).toEqual([
      { Code: 'None' },
      { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed', Item: { ...key(existing), v: { S: 'old' } } },
      { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' },
    ]);
    expect(await getRaw(fresh)).toBeUndefined();
    expect(await getRaw(existing)).toEqual({ ...key(existing), v: { S: 'old' } });
  });

  it('reports an update that fails on the item as a ValidationError reason', async () => {
    const pk = uid('tx');
    await db.dynamo.send(new PutItemCommand({ TableName: db.tableName, Item: { ...key(pk), n: { S: 'not a number' } } }));
    const error = await failure(
      db.dynamo.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Update: {
                TableName: db.tableName,
                Key: key(pk),
                UpdateExpression: 'SET n = n + :one',
                ExpressionAttributeValues: { ':one': { N: '1' } },
              },
            },
          ],
        }),
      ),
    );
    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect(error.CancellationReasons).toEqual([
      { Code: 'ValidationError', Message: 'An operand in the update expression has an incorrect data type' },
    ]);
  });

  it('refuses two actions on one item, more than 100 actions, and an action of two kinds', async () => {
    const pk = uid('tx');
    const twice = await failure(
      db.dynamo.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            put(pk),
            { ConditionCheck: { TableName: db.tableName, Key: key(pk), ConditionExpression: 'attribute_not_exists(pk)' } },
          ],
        }),
      ),
    );
    expectValidation(twice);
    expect(twice.message).toBe('Transaction request cannot include multiple operations on one item');

    const tooMany = await failure(
      db.dynamo.send(new TransactWriteItemsCommand({ TransactItems: Array.from({ length: 101 }, () => put(uid('tx'))) })),
    );
    expectValidation(tooMany);
    expect(tooMany.message).toMatch(
      /^1 validation error detected: Value '.*' at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100$/s,
    );

    const both = await failure(
      db.engine.handle('TransactWriteItems', {
        TransactItems: [{ ...put(uid('tx')), Delete: { TableName: db.tableName, Key: key(uid('tx')) } }],
      }),
    );
    expect((both as unknown as DynamoError).body.message).toBe('TransactItems can only contain one of Check, Put, Update or Delete');

    const noUpdateExpression = await failure(
      db.engine.handle('TransactWriteItems', { TransactItems: [{ Update: { TableName: db.tableName, Key: key(pk) } }] }),
    );
    expect((noUpdateExpression as unknown as DynamoError).body.message).toBe(
      "1 validation error detected: Value null at 'transactItems.1.member.update.updateExpression' failed to satisfy constraint: Member must not be null",
    );
    expect(await getRaw(pk)).toBeUndefined();
  });

  it('raises ResourceNotFoundException for an action on a missing table, writing nothing', async () => {
    const pk = uid('tx');
    const error = await failure(
      db.dynamo.send(new TransactWriteItemsCommand({ TransactItems: [put(pk), { Put: { TableName: 'no-such-table', Item: key(pk) } }] })),
    );
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect(await getRaw(pk)).toBeUndefined();
  });

  describe('ClientRequestToken', () => {
    it('answers the same request again without writing again', async () => {
      const pk = uid('tok');
      const token = randomUUID();
      const request = {
        ClientRequestToken: token,
        TransactItems: [
          {
            Update: {
              TableName: db.tableName,
              Key: key(pk),
              UpdateExpression: 'ADD n :one',
              ExpressionAttributeValues: { ':one': { N: '1' } },
            },
          },
        ],
      };
      await db.dynamo.send(new TransactWriteItemsCommand(request));
      const replay = await db.dynamo.send(new TransactWriteItemsCommand({ ...request, ReturnConsumedCapacity: 'TOTAL' }));
      // The replay reads the item instead of writing it: read units.
      expect(replay.ConsumedCapacity).toEqual([{ TableName: db.tableName, CapacityUnits: 2, ReadCapacityUnits: 2 }]);
      expect((await getRaw(pk))?.n).toEqual({ N: '1' });
    });

    it('raises IdempotentParameterMismatchException for another request with the same token', async () => {
      const token = randomUUID();
      await db.dynamo.send(new TransactWriteItemsCommand({ ClientRequestToken: token, TransactItems: [put(uid('tok'))] }));
      const other = uid('tok');
      const error = await failure(
        db.dynamo.send(new TransactWriteItemsCommand({ ClientRequestToken: token, TransactItems: [put(other)] })),
      );
      expect(error).toBeInstanceOf(IdempotentParameterMismatchException);
      expect(await getRaw(other)).toBeUndefined();
    });

    it('treats the token as new after 10 minutes', async () => {
      let now = Date.UTC(2026, 0, 1);
      const local = await startLocalDynamo({ now: () => now, tableName: 'tokens' });
      try {
        const pk = uid('tok');
        const request = {
          ClientRequestToken: 'token-1',
          TransactItems: [
            {
              Update: {
                TableName: 'tokens',
                Key: key(pk),
                UpdateExpression: 'ADD n :one',
                ExpressionAttributeValues: { ':one': { N: '1' } },
              },
            },
          ],
        };
        await local.dynamo.send(new TransactWriteItemsCommand(request));
        now += 9 * 60_000;
        await local.dynamo.send(new TransactWriteItemsCommand(request));
        now += 2 * 60_000;
        await local.dynamo.send(new TransactWriteItemsCommand(request));
        const { Item } = await local.dynamo.send(new GetItemCommand({ TableName: 'tokens', Key: key(pk) }));
        expect(Item?.n).toEqual({ N: '2' });
      } finally {
        await local.stop();
      }
    });

    it('lets one of two concurrent requests with one token write; the other is TransactionInProgressException', async () => {
      const pk = uid('tok');
      const request = {
        ClientRequestToken: randomUUID(),
        TransactItems: [
          {
            Update: {
              TableName: db.tableName,
              Key: key(pk),
              UpdateExpression: 'ADD n :one',
              ExpressionAttributeValues: { ':one': { N: '1' } },
            },
          },
        ],
      };
      const outcomes = await Promise.allSettled([
        db.engine.handle('TransactWriteItems', request),
        db.engine.handle('TransactWriteItems', request),
      ]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
      const rejected = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
      expect((rejected.reason as DynamoError).code).toBe('TransactionInProgressException');
      expect((await getRaw(pk))?.n).toEqual({ N: '1' });
    });

    it('writes once for two concurrent SDK calls with one token (the SDK retries TransactionInProgressException)', async () => {
      const pk = uid('tok');
      const request = {
        ClientRequestToken: randomUUID(),
        TransactItems: [
          {
            Update: {
              TableName: db.tableName,
              Key: key(pk),
              UpdateExpression: 'ADD n :one',
              ExpressionAttributeValues: { ':one': { N: '1' } },
            },
          },
        ],
      };
      await Promise.all([db.dynamo.send(new TransactWriteItemsCommand(request)), db.dynamo.send(new TransactWriteItemsCommand(request))]);
      expect((await getRaw(pk))?.n).toEqual({ N: '1' });
    });
  });
});

describe('TransactGetItems', () => {
  it('reads the items with their projections, an empty response for a missing one, and two read units per item', async () => {
    const [a, b] = [uid('get'), uid('get')];
    await db.dynamo.send(new PutItemCommand({ TableName: db.tableName, Item: { ...key(a), v: { S: 'x' }, w: { N: '1' } } }));
    const { Responses, ConsumedCapacity } = await db.dynamo.send(
      new TransactGetItemsCommand({
        ReturnConsumedCapacity: 'TOTAL',
        TransactItems: [
          { Get: { TableName: db.tableName, Key: key(a), ProjectionExpression: '#v', ExpressionAttributeNames: { '#v': 'v' } } },
          { Get: { TableName: db.tableName, Key: key(b) } },
        ],
      }),
    );
    expect(Responses).toEqual([{ Item: { v: { S: 'x' } } }, {}]);
    expect(ConsumedCapacity).toEqual([{ TableName: db.tableName, CapacityUnits: 4, ReadCapacityUnits: 4 }]);
  });

  it('refuses one item twice', async () => {
    const error = await failure(
      db.dynamo.send(
        new TransactGetItemsCommand({
          TransactItems: [{ Get: { TableName: db.tableName, Key: key('same') } }, { Get: { TableName: db.tableName, Key: key('same') } }],
        }),
      ),
    );
    expectValidation(error);
    expect(error.message).toBe('Transaction request cannot include multiple operations on one item');
  });
});

describe('Time to Live settings', () => {
  it('is disabled until enabled, and refuses enabling it twice', async () => {
    const name = uid('ttl');
    await db.dynamo.send(new CreateTableCommand(createTableInput(name)));
    // Not ensureTable: it enables TTL on the stores' attribute.
    await expect.poll(async () => (await db.dynamo.send(new DescribeTableCommand({ TableName: name }))).Table?.TableStatus).toBe('ACTIVE');
    expect((await db.dynamo.send(new DescribeTimeToLiveCommand({ TableName: name }))).TimeToLiveDescription).toEqual({
      TimeToLiveStatus: 'DISABLED',
    });
    const enabled = await db.dynamo.send(
      new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } }),
    );
    expect(enabled.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect((await db.dynamo.send(new DescribeTimeToLiveCommand({ TableName: name }))).TimeToLiveDescription).toEqual({
      TimeToLiveStatus: 'ENABLED',
      AttributeName: 'expiresAt',
    });
    const twice = await failure(
      db.dynamo.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: 'other', Enabled: true } })),
    );
    expectValidation(twice);
    expect(await failure(db.dynamo.send(new DescribeTimeToLiveCommand({ TableName: 'no-such-table' })))).toBeInstanceOf(
      ResourceNotFoundException,
    );
  });
});

describe('persistence', () => {
  it('keeps tables, items, index entries and TTL settings across a restart on the same path', async () => {
    const path = mkdtempSync(join(tmpdir(), 'parley-engine-'));
    try {
      const first = await startLocalDynamo({ path, tableName: 'kept' });
      await first.dynamo.send(new PutItemCommand({ TableName: 'kept', Item: { ...key('p'), gsi1pk: { S: 'u' }, gsi1sk: { S: '1' } } }));
      // The harness enables the stores' TTL itself; a table of the test's own shows the setting is kept.
      await first.dynamo.send(
        new CreateTableCommand({
          TableName: 'extra',
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      await first.dynamo.send(
        new UpdateTimeToLiveCommand({ TableName: 'extra', TimeToLiveSpecification: { AttributeName: 'gone', Enabled: true } }),
      );
      await first.stop();

      const second = await startLocalDynamo({ path, tableName: 'kept' });
      try {
        expect((await second.dynamo.send(new GetItemCommand({ TableName: 'kept', Key: key('p') }))).Item?.gsi1pk).toEqual({ S: 'u' });
        const byIndex = await second.dynamo.send(
          new QueryCommand({
            TableName: 'kept',
            IndexName: 'gsi1',
            KeyConditionExpression: 'gsi1pk = :u',
            ExpressionAttributeValues: { ':u': { S: 'u' } },
          }),
        );
        expect(byIndex.Items).toHaveLength(1);
        expect(
          (await second.dynamo.send(new DescribeTimeToLiveCommand({ TableName: 'kept' }))).TimeToLiveDescription?.TimeToLiveStatus,
        ).toBe('ENABLED');
        expect((await second.dynamo.send(new DescribeTimeToLiveCommand({ TableName: 'extra' }))).TimeToLiveDescription).toEqual({
          TimeToLiveStatus: 'ENABLED',
          AttributeName: 'gone',
        });
        expect((await second.dynamo.send(new DescribeTableCommand({ TableName: 'kept' }))).Table?.StreamSpecification?.StreamEnabled).toBe(
          true,
        );
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(path, { recursive: true, force: true });
    }
  });
});

describe('handle', () => {
  it('answers plain wire JSON and leaves the caller’s request as it was', async () => {
    const pk = uid('raw');
    const request = {
      TableName: db.tableName,
      Item: { ...key(pk), v: { S: 'x' } },
      Unknown: 'dropped by validation, but not from this object',
    };
    await db.engine.handle('PutItem', request);
    expect(request.Unknown).toBeDefined();
    expect(await db.engine.handle('GetItem', { TableName: db.tableName, Key: key(pk) })).toEqual({ Item: { ...key(pk), v: { S: 'x' } } });
  });

  it('lets the requests in flight finish when it closes, and refuses later ones', async () => {
    const local = await startLocalDynamo({ tableName: 'closing' });
    const writes = Array.from({ length: 20 }, (_, i) => local.engine.handle('PutItem', { TableName: 'closing', Item: key(`c${i}`) }));
    const closing = local.engine.close();
    await expect(Promise.all(writes)).resolves.toHaveLength(20);
    await closing;
    const late = await failure(local.engine.handle('GetItem', { TableName: 'closing', Key: key('c0') }));
    expect((late as unknown as DynamoError).statusCode).toBe(500);
    await local.stop();
  });

  it('rejects an unknown operation and a request that is not an object', async () => {
    expect(((await failure(db.engine.handle('PutItems', {}))) as unknown as DynamoError).body).toEqual({
      __type: 'com.amazon.coral.service#UnknownOperationException',
    });
    expect(((await failure(db.engine.handle('GetItem', 'x'))) as unknown as DynamoError).code).toBe('SerializationException');
  });
});
