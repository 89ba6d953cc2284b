/**
 * Time to Live on the local engine: the sweep deletes exactly the items DynamoDB documents as expired (a
 * top-level number of epoch seconds in the past, at most five years), with their index entries, and each
 * deletion reaches the stream as a REMOVE record carrying DynamoDB's service identity.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/time-to-live-ttl-before-you-start.html
 */
import { DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { TABLE_KEYS } from '../../../topology/table.ts';
import { startLocalDynamo, type LocalDynamoHarness, type LocalDynamoHarnessOptions } from '../../helpers/local-dynamo.ts';

const NOW = Date.UTC(2026, 2, 1, 12, 0, 0);
const nowSeconds = NOW / 1000;
const YEAR = 365 * 24 * 60 * 60;
/** The attribute TTL is enabled on. */
const TTL = TABLE_KEYS.ttlAttribute;

const started: LocalDynamoHarness[] = [];
afterEach(async () => {
  for (const db of started.splice(0)) await db.stop();
});

const start = async (options: LocalDynamoHarnessOptions = {}): Promise<LocalDynamoHarness> => {
  // The harness's table has TTL enabled on TABLE_KEYS.ttlAttribute already (ensureTable).
  const db = await startLocalDynamo({ now: () => NOW, ...options });
  started.push(db);
  return db;
};

const key = (pk: string) => ({ pk: { S: pk }, sk: { S: 'A' } });
const put = (db: LocalDynamoHarness, pk: string, extra: Record<string, unknown>) =>
  db.dynamo.send(new PutItemCommand({ TableName: db.tableName, Item: { ...key(pk), ...extra } as never }));
const exists = async (db: LocalDynamoHarness, pk: string) =>
  (await db.dynamo.send(new GetItemCommand({ TableName: db.tableName, Key: key(pk) }))).Item !== undefined;

describe('Time to Live sweep', () => {
  it('deletes only the expired items, with their index entries', async () => {
    const db = await start();
    await put(db, 'expired', { [TTL]: { N: String(nowSeconds - 1) }, gsi1pk: { S: 'idem' }, gsi1sk: { S: 'expired' } });
    await put(db, 'future', { [TTL]: { N: String(nowSeconds + 60) }, gsi1pk: { S: 'idem' }, gsi1sk: { S: 'future' } });
    await put(db, 'ancient', { [TTL]: { N: String(nowSeconds - 6 * YEAR) } }); // over five years: ignored
    await put(db, 'milliseconds', { [TTL]: { N: String(NOW - 1000) } }); // far in the future as seconds
    await put(db, 'string', { [TTL]: { S: String(nowSeconds - 1) } });
    await put(db, 'nested', { meta: { M: { [TTL]: { N: String(nowSeconds - 1) } } } });
    await put(db, 'none', {});

    expect(await db.engine.sweepExpired()).toBe(1);
    expect(await exists(db, 'expired')).toBe(false);
    for (const pk of ['future', 'ancient', 'milliseconds', 'string', 'nested', 'none']) expect(await exists(db, pk)).toBe(true);
    const indexed = await db.dynamo.send(
      new QueryCommand({
        TableName: db.tableName,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :k',
        ExpressionAttributeValues: { ':k': { S: 'idem' } },
      }),
    );
    expect(indexed.Items?.map((item) => item.pk?.S)).toEqual(['future']);
    expect(await db.engine.sweepExpired()).toBe(0);
  });

  it('emits a REMOVE record with the service identity for a TTL deletion, and none for a user deletion', async () => {
    const db = await start();
    const records: DynamoDBRecord[] = [];
    db.engine.subscribe(db.tableName, {
      name: 'ttl-watcher',
      batchSize: 10,
      filter: (record) => record.eventName === 'REMOVE',
      handler: async (event) => void records.push(...event.Records),
    });
    await put(db, 'by-ttl', { [TTL]: { N: String(nowSeconds - 10) } });
    await put(db, 'by-user', {});
    await db.dynamo.send(new DeleteItemCommand({ TableName: db.tableName, Key: key('by-user') }));
    await db.engine.sweepExpired();

    await expect.poll(() => records.length).toBe(2);
    expect(records[0]?.dynamodb?.Keys).toEqual(key('by-user'));
    expect(records[0]?.userIdentity).toBeUndefined();
    expect(records[1]).toMatchObject({
      eventName: 'REMOVE',
      userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
      dynamodb: { Keys: key('by-ttl'), OldImage: { ...key('by-ttl'), [TTL]: { N: String(nowSeconds - 10) } } },
    });
  });

  it('deletes nothing in a table without TTL, or after TTL is disabled', async () => {
    const db = await start();
    await put(db, 'kept', { [TTL]: { N: String(nowSeconds - 1) } });
    await db.dynamo.send(
      new UpdateTimeToLiveCommand({
        TableName: db.tableName,
        TimeToLiveSpecification: { AttributeName: TABLE_KEYS.ttlAttribute, Enabled: false },
      }),
    );
    expect(await db.engine.sweepExpired()).toBe(0);
    expect(await exists(db, 'kept')).toBe(true);
  });

  it('runs by itself at the sweep interval', async () => {
    const db = await start({ ttlSweepIntervalMs: 10 });
    await put(db, 'soon-gone', { [TTL]: { N: String(nowSeconds - 1) } });
    await expect.poll(() => exists(db, 'soon-gone')).toBe(false);
  });
});
