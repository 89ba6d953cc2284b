/**
 * `node --import tsx bench/local-dynamodb.ts`: operations per second of the local DynamoDB engine
 * (adapters/local/dynamodb) through the real SDK v3 client, in one run on this machine:
 *  - in-process (the engine's `requestHandler`: no socket),
 *  - over HTTP (`engine.listen`, as the local runtime's main thread reaches its worker),
 *  - plain dynalite over HTTP (what the runtime used before), the baseline of the ratios,
 *  - and `engine.handle` without the SDK, which shows what the engine itself costs.
 * Client and server share this one thread, so the CPU time per operation (µs) counts both; it is the steadier
 * figure on a busy machine, operations per second the one a user feels.
 * Each engine gets the thread store's table (with its index, and a stream on the engine) and the same load:
 * PutItem of new items, conditional UpdateItem (a counter), GetItem, and Query on the index.
 * The three run side by side, in rounds that take turns, so a machine busy with something else slows all
 * three alike; each figure is the median of the rounds.
 * Options (env): BENCH_OPS (per operation, engine and round, default 1000), BENCH_ROUNDS (default 3),
 * BENCH_CONCURRENCY (default 8), BENCH_PERSIST=1 to use LevelDB on disk instead of memory.
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

const OPS = Number(process.env.BENCH_OPS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const PERSIST = process.env.BENCH_PERSIST === '1';
const TABLE = 'parley';
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };

/** What the operations need of a client: `send`. */
type Sender = Pick<DynamoDBClient, 'send'>;

interface Target {
  readonly name: string;
  readonly client: Sender;
  close(): Promise<void>;
}

const dataDir = (): string | undefined => (PERSIST ? mkdtempSync(join(tmpdir(), 'parley-bench-ddb-')) : undefined);

/** The engine called directly: a command's input goes to `engine.handle` under the command's operation name. */
const handleTarget = async (): Promise<Target> => {
  const engine = await createLocalDynamo({ ttlSweepIntervalMs: 0 });
  await engine.handle('CreateTable', {
    ...createTableInput(TABLE),
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  });
  const client = {
    send: (command: { readonly input: unknown }) => engine.handle(command.constructor.name.replace(/Command$/, ''), command.input),
  } as unknown as Sender;
  return { name: 'engine.handle, no SDK', client, close: () => engine.close() };
};

const engineTarget = async (overHttp: boolean): Promise<Target> => {
  const path = dataDir();
  const engine = await createLocalDynamo({ ...(path && { path }), ttlSweepIntervalMs: 0 });
  const server = overHttp ? await engine.listen(0, '127.0.0.1') : undefined;
  const client = new DynamoDBClient({
    region: 'us-east-1',
    credentials,
    ...(server ? { endpoint: server.url } : { endpoint: 'http://local', requestHandler: engine.requestHandler }),
  });
  await engine.handle('CreateTable', {
    ...createTableInput(TABLE),
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  });
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
  const client = new DynamoDBClient({
    region: 'us-east-1',
    credentials,
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  });
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

interface Rate {
  readonly perSecond: number;
  /** CPU time of this process (client and engine) per operation, in µs. */
  readonly cpuMicros: number;
}

/** Runs `operation(i)` for i in [from, from + OPS) with CONCURRENCY in flight. */
const measure = async (from: number, operation: (i: number) => Promise<unknown>): Promise<Rate> => {
  let next = from;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < from + OPS) await operation(next++);
    }),
  );
  const used = process.cpuUsage(cpu);
  return { perSecond: OPS / ((performance.now() - started) / 1000), cpuMicros: (used.user + used.system) / OPS };
};

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

const threads = 50;
const operations: Record<string, (client: Sender, i: number) => Promise<unknown>> = {
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
    client.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: `THREAD#${i % threads}` }, sk: { S: `MSG#${String(i).padStart(8, '0')}` } } }),
    ),
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

const targets = [await dynaliteTarget(), await engineTarget(false), await engineTarget(true), await handleTarget()];
const rates = new Map<string, Map<string, Rate[]>>(targets.map((target) => [target.name, new Map()]));
for (const target of targets) {
  // Warm-up on keys the rounds do not use: JIT, sockets, the first items.
  for (const operation of Object.values(operations)) await measure(ROUNDS * OPS, (i) => operation(target.client, i));
}
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, operation] of Object.entries(operations)) {
    for (let turn = 0; turn < targets.length; turn++) {
      const target = targets[(round + turn) % targets.length] as Target;
      const perOperation = rates.get(target.name) as Map<string, Rate[]>;
      perOperation.set(name, [...(perOperation.get(name) ?? []), await measure(round * OPS, (i) => operation(target.client, i))]);
    }
  }
}
for (const target of targets) await target.close();

const figure = (target: string, operation: string): Rate => {
  const measured = rates.get(target)?.get(operation) ?? [];
  return { perSecond: median(measured.map((r) => r.perSecond)), cpuMicros: median(measured.map((r) => r.cpuMicros)) };
};
const BASELINE = 'dynalite over HTTP';
console.log(
  `local DynamoDB: median of ${ROUNDS} rounds of ${OPS} operations, ${CONCURRENCY} in flight, ${PERSIST ? 'LevelDB on disk' : 'in memory'}`,
);
console.log('each cell: operations/s (× dynalite over HTTP) · CPU µs per operation (× dynalite)\n');
console.log(['operation', ...targets.map((target) => target.name)].join(' | '));
for (const operation of Object.keys(operations)) {
  const base = figure(BASELINE, operation);
  const cells = targets.map(({ name }) => {
    const { perSecond, cpuMicros } = figure(name, operation);
    return `${perSecond.toFixed(0)}/s (×${(perSecond / base.perSecond).toFixed(2)}) · ${cpuMicros.toFixed(0)} µs (×${(cpuMicros / base.cpuMicros).toFixed(2)})`;
  });
  console.log([operation, ...cells].join(' | '));
}
