/**
 * DynamoDB Streams on the local engine, and its Lambda-style consumers: records in the documented Lambda
 * event format (compared with AWS's own example event), in order, none for writes that change nothing;
 * filters, partial batch responses, retries, give-up, the persisted checkpoint across restarts, trimming and
 * the 24-hour retention.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureTable } from '../../../adapters/aws/dynamo-table.ts';
import type { StreamConsumer, StreamFailure } from '../../../adapters/local/dynamodb/index.ts';
import { compilePattern } from '../../../topology/event-pattern.ts';
import { startLocalDynamo, type LocalDynamoHarness, type LocalDynamoHarnessOptions } from '../../helpers/local-dynamo.ts';

const started: LocalDynamoHarness[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const db of started.splice(0)) await db.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const start = async (options: LocalDynamoHarnessOptions = {}): Promise<LocalDynamoHarness> => {
  const db = await startLocalDynamo({ streamRetry: { baseMs: 1, maxMs: 5 }, ...options });
  started.push(db);
  return db;
};
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-streams-'));
  dirs.push(dir);
  return dir;
};

const key = (pk: string) => ({ pk: { S: pk }, sk: { S: 'A' } });
const put = (db: LocalDynamoHarness, pk: string, extra: Record<string, unknown> = {}) =>
  db.dynamo.send(new PutItemCommand({ TableName: db.tableName, Item: { ...key(pk), ...extra } as never }));
const pkOf = (record: DynamoDBRecord): string | undefined => record.dynamodb?.Keys?.pk?.S;

/** A consumer that keeps every event it is given and answers with `answer` (default: all processed). */
const collector = (
  name: string,
  answer: (
    event: DynamoDBStreamEvent,
    call: number,
  ) => Promise<DynamoDBBatchResponse | undefined> | DynamoDBBatchResponse | undefined = () => undefined,
  options: Partial<StreamConsumer> = {},
) => {
  const events: DynamoDBStreamEvent[] = [];
  const consumer: StreamConsumer = {
    name,
    batchSize: 10,
    handler: async (event) => {
      events.push(event);
      return answer(event, events.length);
    },
    ...options,
  };
  return { consumer, events, delivered: () => events.flatMap((event) => event.Records.map(pkOf)) };
};

describe('stream records', () => {
  it('match AWS’s example Lambda event for a table keyed by id: names, images, sizes, ARN', async () => {
    const db = await start();
    await db.dynamo.send(
      new CreateTableCommand({
        TableName: 'blog-post',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
    await ensureTable(db.dynamo, 'blog-post');
    const { events, consumer } = collector('example');
    const subscription = db.engine.subscribe('blog-post', consumer);
    await db.dynamo.send(new PutItemCommand({ TableName: 'blog-post', Item: { id: { S: '1' }, key: { S: 'value' } } }));
    await db.dynamo.send(
      new UpdateItemCommand({
        TableName: 'blog-post',
        Key: { id: { S: '1' } },
        UpdateExpression: 'SET #k = :v',
        ExpressionAttributeNames: { '#k': 'key' },
        ExpressionAttributeValues: { ':v': { S: 'updated' } },
      }),
    );
    await db.dynamo.send(new PutItemCommand({ TableName: 'blog-post', Item: { id: { S: '2' }, key: { S: 'original' } } }));
    await db.dynamo.send(new DeleteItemCommand({ TableName: 'blog-post', Key: { id: { S: '1' } } }));
    await expect.poll(() => events.flatMap((event) => event.Records).length).toBe(4);
    await subscription.stop();

    const { Table } = await db.dynamo.send(new DescribeTableCommand({ TableName: 'blog-post' }));
    const records = events.flatMap((event) => event.Records);
    // The example event in AWS's Lambda documentation (with-ddb.html), less the values that vary.
    const common = { eventVersion: '1.1', eventSource: 'aws:dynamodb', awsRegion: 'us-east-1', eventSourceARN: Table?.LatestStreamArn };
    expect(records).toEqual([
      {
        ...common,
        eventID: expect.stringMatching(/^[0-9a-f]{32}$/),
        eventName: 'INSERT',
        dynamodb: {
          ApproximateCreationDateTime: expect.any(Number),
          Keys: { id: { S: '1' } },
          NewImage: { id: { S: '1' }, key: { S: 'value' } },
          SequenceNumber: expect.any(String),
          SizeBytes: 14,
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
      },
      {
        ...common,
        eventID: expect.any(String),
        eventName: 'MODIFY',
        dynamodb: {
          ApproximateCreationDateTime: expect.any(Number),
          Keys: { id: { S: '1' } },
          NewImage: { id: { S: '1' }, key: { S: 'updated' } },
          OldImage: { id: { S: '1' }, key: { S: 'value' } },
          SequenceNumber: expect.any(String),
          SizeBytes: 27,
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
      },
      {
        ...common,
        eventID: expect.any(String),
        eventName: 'INSERT',
        dynamodb: {
          ApproximateCreationDateTime: expect.any(Number),
          Keys: { id: { S: '2' } },
          NewImage: { id: { S: '2' }, key: { S: 'original' } },
          SequenceNumber: expect.any(String),
          SizeBytes: 17,
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
      },
      {
        ...common,
        eventID: expect.any(String),
        eventName: 'REMOVE',
        dynamodb: {
          ApproximateCreationDateTime: expect.any(Number),
          Keys: { id: { S: '1' } },
          OldImage: { id: { S: '1' }, key: { S: 'updated' } },
          SequenceNumber: expect.any(String),
          SizeBytes: 16,
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
      },
    ]);
    const sequences = records.map((record) => BigInt(record.dynamodb?.SequenceNumber as string));
    expect(sequences).toEqual([...sequences].sort((a, b) => (a < b ? -1 : 1)));
    expect(new Set(sequences).size).toBe(4);
    expect(new Set(records.map((record) => record.eventID)).size).toBe(4);
  });

  it('carries only the images the view type asks for', async () => {
    const db = await start();
    await db.dynamo.send(
      new CreateTableCommand({
        TableName: 'keys-only',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' },
      }),
    );
    await ensureTable(db.dynamo, 'keys-only');
    const { events, consumer } = collector('keys');
    db.engine.subscribe('keys-only', consumer);
    await db.dynamo.send(new PutItemCommand({ TableName: 'keys-only', Item: { id: { S: '1' }, secret: { S: 'not in the stream' } } }));
    await expect.poll(() => events.length).toBe(1);
    expect(events[0]?.Records[0]?.dynamodb).toEqual({
      ApproximateCreationDateTime: expect.any(Number),
      Keys: { id: { S: '1' } },
      SequenceNumber: expect.any(String),
      SizeBytes: 3,
      StreamViewType: 'KEYS_ONLY',
    });
  });

  it('has no record for a write that changes nothing, as DynamoDB Streams documents', async () => {
    const db = await start();
    const { consumer, delivered } = collector('unchanged');
    db.engine.subscribe(db.tableName, consumer);
    await put(db, 'same', { n: { N: '1' }, tags: { SS: ['a', 'b'] } });
    await put(db, 'same', { tags: { SS: ['b', 'a'] }, n: { N: '1.0' } }); // equal values, other order
    await db.dynamo.send(
      new UpdateItemCommand({
        TableName: db.tableName,
        Key: key('same'),
        UpdateExpression: 'SET n = :one',
        ExpressionAttributeValues: { ':one': { N: '1' } },
      }),
    );
    await db.dynamo.send(new DeleteItemCommand({ TableName: db.tableName, Key: key('never-written') }));
    await put(db, 'marker');
    await expect.poll(delivered).toEqual(['same', 'marker']);
  });

  it('gives a transaction one record per item written, consecutive, and none for its condition checks', async () => {
    const db = await start();
    await put(db, 'guard');
    const { consumer, events } = collector('tx', undefined, { filter: (record) => pkOf(record) !== 'guard' });
    db.engine.subscribe(db.tableName, consumer);
    await db.dynamo.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: db.tableName, Item: key('t1') } },
          { ConditionCheck: { TableName: db.tableName, Key: key('guard'), ConditionExpression: 'attribute_exists(pk)' } },
          { Put: { TableName: db.tableName, Item: key('t2') } },
        ],
      }),
    );
    await expect.poll(() => events.flatMap((event) => event.Records).length).toBe(2);
    const [first, second] = events.flatMap((event) => event.Records).map((record) => BigInt(record.dynamodb?.SequenceNumber as string));
    expect((second as bigint) - (first as bigint)).toBe(1n);
  });
  it('starts recording when UpdateTable enables the stream, and stops when it disables it', async () => {
    const db = await start();
    await db.dynamo.send(
      new CreateTableCommand({
        TableName: 'late-stream',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await ensureTable(db.dynamo, 'late-stream');
    const write = (id: string) => db.dynamo.send(new PutItemCommand({ TableName: 'late-stream', Item: { id: { S: id } } }));
    const { consumer, events } = collector('late');
    db.engine.subscribe('late-stream', consumer);
    await write('before');
    await db.dynamo.send(
      new UpdateTableCommand({ TableName: 'late-stream', StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' } }),
    );
    await write('during');
    await db.dynamo.send(new UpdateTableCommand({ TableName: 'late-stream', StreamSpecification: { StreamEnabled: false } }));
    await write('after');
    await db.dynamo.send(
      new UpdateTableCommand({ TableName: 'late-stream', StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' } }),
    );
    await write('again');
    await expect
      .poll(() => events.flatMap((event) => event.Records.map((record) => record.dynamodb?.Keys?.id?.S)))
      .toEqual(['during', 'again']);
  });
});

describe('stream consumers', () => {
  it('delivers promptly, in sequence order, in batches of at most batchSize', async () => {
    const db = await start();
    const { consumer, events, delivered } = collector('order', undefined, { batchSize: 3 });
    db.engine.subscribe(db.tableName, consumer);
    const written = Array.from({ length: 8 }, (_, i) => `item-${i}`);
    for (const pk of written) await put(db, pk);
    await expect.poll(delivered, { timeout: 1000 }).toEqual(written);
    expect(events.every((event) => event.Records.length <= 3)).toBe(true);

    const writtenAt = performance.now();
    await put(db, 'late');
    await expect.poll(delivered, { interval: 2 }).toContain('late');
    // Woken by the commit: no polling interval to wait out.
    expect(performance.now() - writtenAt).toBeLessThan(300);
  });

  it('gathers up to batchSize records within the batching window', async () => {
    const db = await start();
    // A full batch goes at once; the window only bounds how long a partial one waits.
    const { consumer, events } = collector('window', undefined, { batchSize: 3, maximumBatchingWindowMs: 5000 });
    db.engine.subscribe(db.tableName, consumer);
    for (const pk of ['w1', 'w2', 'w3']) {
      await put(db, pk);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await expect.poll(() => events.length).toBe(1);
    expect(events[0]?.Records.map(pkOf)).toEqual(['w1', 'w2', 'w3']);
  });

  it('skips the records the filter rejects and never delivers them, even after a restart', async () => {
    const path = tempDir();
    let db = await start({ path });
    const filter = (record: DynamoDBRecord) => record.eventName === 'INSERT' && pkOf(record)?.startsWith('keep') === true;
    const first = collector('filtered', undefined, { filter });
    const subscription = db.engine.subscribe(db.tableName, first.consumer);
    await put(db, 'keep-1');
    await put(db, 'drop-1');
    await put(db, 'keep-1', { changed: { BOOL: true } }); // a MODIFY: filtered out
    await put(db, 'drop-2');
    await expect.poll(first.delivered).toEqual(['keep-1']);
    // The filtered records after the last delivered one are passed too, once read.
    await put(db, 'drop-3');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await subscription.stop();
    await db.stop();
    started.splice(started.indexOf(db), 1);

    db = await start({ path });
    const second = collector('filtered');
    db.engine.subscribe(db.tableName, second.consumer);
    await put(db, 'after-restart');
    await expect.poll(second.delivered).toEqual(['after-restart']);
  });

  it('takes a Lambda filter-criteria pattern through the local bus’s pattern matcher', async () => {
    const db = await start();
    // The shape of a Lambda FilterCriteria pattern on DynamoDB stream records (the outbox relay's kind).
    const pattern = { eventName: ['INSERT'], dynamodb: { NewImage: { pk: { S: [{ prefix: 'OUTBOX#' }] } } } };
    const { consumer, delivered } = collector('outbox', undefined, { filter: compilePattern(pattern) });
    db.engine.subscribe(db.tableName, consumer);
    await put(db, 'OUTBOX#1');
    await put(db, 'THREAD#1');
    await put(db, 'OUTBOX#1', { sent: { BOOL: true } }); // MODIFY
    await put(db, 'OUTBOX#2');
    await expect.poll(delivered).toEqual(['OUTBOX#1', 'OUTBOX#2']);
  });

  it('retries from the lowest failed sequence number of a partial batch response', async () => {
    const db = await start();
    const { consumer, delivered } = collector('partial', (event, call) =>
      call === 1
        ? {
            batchItemFailures: [
              { itemIdentifier: event.Records[3]?.dynamodb?.SequenceNumber as string },
              { itemIdentifier: event.Records[2]?.dynamodb?.SequenceNumber as string },
            ],
          }
        : undefined,
    );
    for (const pk of ['p0', 'p1', 'p2', 'p3', 'p4']) await put(db, pk);
    db.engine.subscribe(db.tableName, consumer);
    await expect.poll(delivered).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p2', 'p3', 'p4']);
  });

  it('retries the whole batch when the response names an item it cannot find, as Lambda does', async () => {
    const db = await start();
    const { consumer, events } = collector('malformed', (_event, call) =>
      call === 1 ? { batchItemFailures: [{ itemIdentifier: '' }] } : undefined,
    );
    await put(db, 'm0');
    await put(db, 'm1');
    db.engine.subscribe(db.tableName, consumer);
    await expect.poll(() => events.length).toBe(2);
    expect(events.map((event) => event.Records.map(pkOf))).toEqual([
      ['m0', 'm1'],
      ['m0', 'm1'],
    ]);
  });

  it('retries a batch whose handler throws until it succeeds, losing nothing', async () => {
    const db = await start();
    let failures = 3;
    const { consumer, events, delivered } = collector('flaky', () => {
      if (failures-- > 0) throw new Error('downstream unavailable');
    });
    db.engine.subscribe(db.tableName, consumer);
    for (const pk of ['f0', 'f1', 'f2']) await put(db, pk);
    await expect.poll(() => new Set(delivered()).size).toBe(3);
    expect(events.length).toBeGreaterThanOrEqual(4);
    expect(delivered().slice(-1)).toEqual(['f2']);
  });

  it('gives a batch up after maximumRetryAttempts, tells onFailure, and goes on', async () => {
    const db = await start();
    const failed: StreamFailure[] = [];
    const { consumer, delivered } = collector(
      'poison',
      (event) => {
        if (event.Records.some((record) => pkOf(record) === 'poison')) throw new Error('cannot process');
      },
      { batchSize: 1, maximumRetryAttempts: 2, onFailure: (failure) => void failed.push(failure) },
    );
    db.engine.subscribe(db.tableName, consumer);
    await put(db, 'poison');
    await put(db, 'healthy');
    await expect.poll(delivered).toEqual(['poison', 'poison', 'poison', 'healthy']);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ tableName: db.tableName, consumer: 'poison', attempts: 3, error: new Error('cannot process') });
    expect(failed[0]?.records.map(pkOf)).toEqual(['poison']);
  });

  it('resumes after the last acknowledged record on restart, redelivering the batch that failed (at least once)', async () => {
    const path = tempDir();
    let db = await start({ path });
    // A name with '~', the separator of the engine's own keys, must survive the restart too.
    const first = collector(
      'outbox~relay',
      (event) => {
        if (event.Records.some((record) => pkOf(record) === 'r2')) throw new Error('crash before acknowledging');
      },
      { batchSize: 1 },
    );
    const subscription = db.engine.subscribe(db.tableName, first.consumer);
    // A consumer that stays behind keeps every record, so a lost checkpoint would show as redelivered records.
    const keeper = collector('keeper', () => {
      throw new Error('never acknowledges');
    });
    const keeping = db.engine.subscribe(db.tableName, keeper.consumer);
    for (const pk of ['r0', 'r1', 'r2']) await put(db, pk);
    await expect.poll(() => keeper.events.length).toBeGreaterThan(0);
    await keeping.stop();
    await expect.poll(first.delivered).toContain('r2');
    await subscription.stop();
    await put(db, 'r3'); // written while nobody consumes
    await db.stop();
    started.splice(started.indexOf(db), 1);

    db = await start({ path });
    const second = collector('outbox~relay', undefined, { batchSize: 1 });
    db.engine.subscribe(db.tableName, second.consumer);
    await put(db, 'r4');
    await expect.poll(second.delivered).toEqual(['r2', 'r3', 'r4']);
    expect(first.delivered().filter((pk) => pk !== 'r2')).toEqual(['r0', 'r1']);
  });

  it('stop() waits for the batch in flight and saves its checkpoint', async () => {
    const path = tempDir();
    let db = await start({ path });
    let finish!: () => void;
    const inFlight = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const handled: string[] = [];
    let entered = false;
    const subscription = db.engine.subscribe(db.tableName, {
      name: 'slow',
      batchSize: 10,
      handler: async (event) => {
        entered = true;
        await inFlight;
        handled.push(...event.Records.map((record) => pkOf(record) as string));
      },
    });
    await put(db, 's0');
    await expect.poll(() => entered).toBe(true);
    let stopped = false;
    const stopping = subscription.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stopped).toBe(false);
    finish();
    await stopping;
    expect(handled).toEqual(['s0']);
    await db.stop();
    started.splice(started.indexOf(db), 1);

    db = await start({ path });
    const after = collector('slow');
    db.engine.subscribe(db.tableName, after.consumer);
    await put(db, 's1');
    await expect.poll(after.delivered).toEqual(['s1']);
  });

  it('keeps records until every consumer has passed them, then trims them', async () => {
    const db = await start();
    const lagging = collector('lagging', () => {
      throw new Error('not yet');
    });
    const laggingSubscription = db.engine.subscribe(db.tableName, lagging.consumer);
    const fast = collector('fast');
    db.engine.subscribe(db.tableName, fast.consumer);
    await put(db, 'k0');
    await put(db, 'k1');
    await expect.poll(fast.delivered).toEqual(['k0', 'k1']);
    await laggingSubscription.stop();

    // A new consumer from the trim horizon still finds what the lagging one has not passed.
    const late = collector('late');
    const lateSubscription = db.engine.subscribe(db.tableName, late.consumer);
    await expect.poll(late.delivered).toEqual(['k0', 'k1']);
    await lateSubscription.stop();

    const caughtUp = collector('lagging');
    db.engine.subscribe(db.tableName, caughtUp.consumer);
    await expect.poll(caughtUp.delivered).toEqual(['k0', 'k1']);
    await put(db, 'k2');
    await expect.poll(fast.delivered).toEqual(['k0', 'k1', 'k2']);
    await expect.poll(caughtUp.delivered).toEqual(['k0', 'k1', 'k2']);

    // Every consumer has passed k0 and k1: they are gone. k2 stays, 'late' has not read it yet.
    const newcomer = collector('newcomer');
    db.engine.subscribe(db.tableName, newcomer.consumer);
    await put(db, 'k3');
    await expect.poll(newcomer.delivered).toEqual(['k2', 'k3']);
  });

  it('drops records older than 24 hours, consumed or not', async () => {
    let now = Date.UTC(2026, 0, 1);
    const db = await start({ now: () => now });
    await put(db, 'old');
    now += 25 * 60 * 60 * 1000;
    await put(db, 'new');
    await db.engine.sweepExpired();
    const { consumer, delivered } = collector('reader');
    db.engine.subscribe(db.tableName, consumer);
    await expect.poll(delivered).toEqual(['new']);
  });

  it('refuses a second consumer of the same name on one table', async () => {
    const db = await start();
    db.engine.subscribe(db.tableName, collector('twice').consumer);
    expect(() => db.engine.subscribe(db.tableName, collector('twice').consumer)).toThrow(
      'consumer twice already reads the stream of parley',
    );
  });
});
