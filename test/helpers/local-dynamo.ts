/**
 * Parley's local DynamoDB engine (adapters/local/dynamodb) for tests, with the thread store's table created
 * (and a NEW_AND_OLD_IMAGES stream on it). Same shape as `startDynalite` (test/helpers/dynalite.ts), plus the
 * engine itself (streams, TTL sweep). Clients call the engine in this thread, without HTTP.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createTableInput, ensureTable } from '../../adapters/aws/dynamo-table.ts';
import { createDocumentClient } from '../../adapters/aws/store/table.ts';
import { createLocalDynamo, type LocalDynamo, type LocalDynamoOptions } from '../../adapters/local/dynamodb/index.ts';
import { LOCAL_TABLE_NAME } from '../../topology/table.ts';

export interface LocalDynamoHarness {
  /** A document client created as the thread store requires (`removeUndefinedValues`). */
  readonly client: DynamoDBDocumentClient;
  /** The plain client, for control-plane calls and AttributeValue-level checks. */
  readonly dynamo: DynamoDBClient;
  readonly tableName: string;
  readonly engine: LocalDynamo;
  /** Another document client to the same engine, with its own middleware stack. Closed by `stop`. */
  newClient(): DynamoDBDocumentClient;
  /** Closes the clients and the engine; with `path`, the data stays on disk for a later start. */
  stop(): Promise<void>;
}

export interface LocalDynamoHarnessOptions extends Omit<LocalDynamoOptions, 'path'> {
  /** A directory to persist the data in (LevelDB); in memory when absent. */
  readonly path?: string;
  readonly tableName?: string;
}

export const startLocalDynamo = async (options: LocalDynamoHarnessOptions = {}): Promise<LocalDynamoHarness> => {
  const { tableName = LOCAL_TABLE_NAME, ...engineOptions } = options;
  const engine = await createLocalDynamo({ ttlSweepIntervalMs: 0, ...engineOptions });
  const clients: DynamoDBClient[] = [];
  const connect = (): DynamoDBClient => {
    const client = new DynamoDBClient({
      requestHandler: engine.requestHandler,
      endpoint: 'http://local',
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    clients.push(client);
    return client;
  };
  const dynamo = connect();
  try {
    await engine.handle('CreateTable', {
      ...createTableInput(tableName),
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
  } catch (error) {
    // A persisted data dir has the table already.
    if ((error as { code?: string }).code !== 'ResourceInUseException') throw error;
  }
  await ensureTable(dynamo, tableName);
  return {
    client: createDocumentClient(dynamo),
    dynamo,
    tableName,
    engine,
    newClient: () => createDocumentClient(connect()),
    stop: async () => {
      for (const client of clients) client.destroy();
      await engine.close();
    },
  };
};
