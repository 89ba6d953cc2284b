/**
 * A real DynamoDB-compatible engine for tests: dynalite in this process, on a free loopback port, with the
 * thread store's table created. One per test file; tests keep apart by using fresh ids, not fresh tables.
 */
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { ensureTable } from '../../adapters/aws/dynamo-table.ts';
import { createDocumentClient } from '../../adapters/aws/store/table.ts';
import { LOCAL_TABLE_NAME } from '../../topology/table.ts';

export interface Dynalite {
  /** A document client created as the thread store requires (`removeUndefinedValues`). */
  readonly client: DynamoDBDocumentClient;
  /** The plain client, for control-plane calls (CreateTable, DescribeTable). */
  readonly dynamo: DynamoDBClient;
  readonly tableName: string;
  readonly endpoint: string;
  /**
   * Another document client to the same engine with its own middleware stack (clients made with
   * `DynamoDBDocumentClient.from` share the stack of the client they wrap). Closed by `stop`.
   */
  newClient(): DynamoDBDocumentClient;
  /** Closes the clients and the server; with `path`, the data is flushed to disk first. */
  stop(): Promise<void>;
}

export interface DynaliteOptions {
  /** A directory to persist the data in (LevelDB); in memory when absent. */
  readonly path?: string;
  readonly tableName?: string;
}

export const startDynalite = async (options: DynaliteOptions = {}): Promise<Dynalite> => {
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.path !== undefined && { path: options.path }),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: DynamoDBClient[] = [];
  const connect = (): DynamoDBClient => {
    const client = new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    clients.push(client);
    return client;
  };
  const dynamo = connect();
  const tableName = options.tableName ?? LOCAL_TABLE_NAME;
  await ensureTable(dynamo, tableName);
  const client = createDocumentClient(dynamo);
  return {
    client,
    dynamo,
    tableName,
    endpoint,
    newClient: () => createDocumentClient(connect()),
    stop: async () => {
      for (const c of clients) c.destroy();
      // Keep-alive sockets would hold server.close() open until they time out.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
};
