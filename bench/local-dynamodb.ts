/**
 * `node --import tsx bench/local-dynamodb.ts`: operations per second of the local DynamoDB engine
 * (adapters/local/dynamodb) through the real SDK v3 client, in one run on this machine:
 *  - in-process (the engine's `requestHandler`: no socket),
 *  - over HTTP (`engine.listen`, as the local runtime's main thread reaches its worker),
 *  - plain dynalite over HTTP (what the runtime used before), the baseline of the ratios.
 * Each engine gets the thread store's table (with its index, and a stream on the engine) and the same load:
 * PutItem of new items, conditional UpdateItem (a counter), GetItem, and Query on the index.
 * Options (env): BENCH_OPS (per operation and engine, default 3000), BENCH_CONCURRENCY (default 8),
 * BENCH_PERSIST=1 to use LevelDB on disk instead of memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createTableInput, ensureTable } from '../adapters/aws/dynamo-table.ts';
import { createLocalDynamo } from '../adapters/local/dynamodb/index.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const OPS = Number(process.env.BENCH_OPS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const PERSIST = process.env.BENCH_PERSIST === '1';
const TABLE = 'parley';
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };

interface Target {
  readonly name: string;
  readonly client: DynamoDBClient;
  close(): Promise<void>;
}

const dataDir = (): string | undefined => (PERSIST ? mkdtempSync(join(tmpdir(), 'parley-bench-ddb-')) : undefined);

const engineTarget = async (overHttp: boolean): Promise<Target> => {
  const path = dataDir();
  const engine = await createLocalDynamo({ ...(path && { path }), ttlSweepIntervalMs: 0 });
  const server = overHttp ? await engine.listen(0, '127.0.0.1') : undefined;
  const client = new DynamoDBClient({
    region: 'us-east-1',
    credentials,
    ...(server ? { endpoint: server.url } : { endpoint: 'http://local', requestHandler: engine.requestHandler }),
  });
  await engine.handle('CreateTable', { ...createTableInput(TABLE), StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } });
  await ensureTable(client, TABLE);
  return {
    name: overHttp ? 'engine over HTTP' : 'engine in-process',
    client,
    close: async () => {
      client.destroy();
      await server?.close();
      await engine.close();
      if (path) rmSync(path, { recursive: true, force: true });
    },
  };
};

const dynaliteTarget = async (): Promise<Target> => {
  const path = dataDir();
  const server = dynalite({ ...(path && { path }), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const client = new DynamoDBClient({ region: 'us-east-1', credentials, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  await ensureTable(client, TABLE);
  return {
    name: 'dynalite over HTTP',
    client,
    close: async () => {
      client.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (path) rmSync(path, { recursive: true, force: true });
    },
  };
};

/** Runs `operation(i)` for i in [0, OPS) with CONCURRENCY in flight; resolves with operations per second. */
const measure = async (operation: (i: number) => Promise<unknown>): Promise<number> => {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < OPS) await operation(next++);
    }),
  );
  return OPS / ((performance.now() - started) / 1000);
};

const threads = 50;
const operations: Record<string, (client: DynamoDBClient, i: number) => Promise<unknown>> = {
  PutItem: (client, i) =>
    client.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: {
          pk: { S: `THREAD#${i % threads}` },
          sk: { S: `MSG#${String(i).padStart(8, '0')}` },
          gsi1pk: { S: `USER#${i % threads}` },
          gsi1sk: { S: `MSG#${String(i).padStart(8, '0')}` },
          text: { S: 'Where is my order A-1029? Please tell me when it ships.' },
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    ),
  UpdateItem: (client, i) =>
    client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: { S: `COUNTER#${i % threads}` }, sk: { S: 'COUNTER' } },
        UpdateExpression: 'SET #n = if_not_exists(#n, :zero) + :one',
        ConditionExpression: 'attribute_not_exists(#n) OR #n >= :zero',
        ExpressionAttributeNames: { '#n': 'n' },
        ExpressionAttributeValues: { ':zero': { N: '0' }, ':one': { N: '1' } },
      }),
    ),
  GetItem: (client, i) =>
    client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: `THREAD#${i % threads}` }, sk: { S: `MSG#${String(i).padStart(8, '0')}` } } })),
  Query: (client, i) =>
    client.send(
      new QueryCommand({
        TableName: TABLE,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :u',
        ExpressionAttributeValues: { ':u': { S: `USER#${i % threads}` } },
        Limit: 20,
      }),
    ),
};

const results = new Map<string, Map<string, number>>();
for (const open of [dynaliteTarget, () => engineTarget(false), () => engineTarget(true)]) {
  const target = await open();
  const perOperation = new Map<string, number>();
  for (const [name, operation] of Object.entries(operations)) {
    await measure((i) => operation(target.client, i + OPS)); // warm-up on other keys: JIT, sockets
    perOperation.set(name, await measure((i) => operation(target.client, i)));
  }
  results.set(target.name, perOperation);
  await target.close();
}

const baseline = results.get('dynalite over HTTP') as Map<string, number>;
console.log(`local DynamoDB: ${OPS} operations each, ${CONCURRENCY} in flight, ${PERSIST ? 'LevelDB on disk' : 'in memory'}\n`);
console.log(['operation', ...[...results.keys()].map((name) => `${name} (ops/s, ×dynalite)`)].join(' | '));
for (const name of Object.keys(operations)) {
  const cells = [...results.values()].map((perOperation) => {
    const rate = perOperation.get(name) ?? 0;
    return `${rate.toFixed(0)} (×${(rate / (baseline.get(name) ?? 1)).toFixed(2)})`;
  });
  console.log([name, ...cells].join(' | '));
}
