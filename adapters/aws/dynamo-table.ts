/**
 * The table the DynamoDB thread store needs, as a CreateTable request built from the shared key schema in
 * `topology/table.ts`. The CDK stack declares the same table; the local runtime and the tests create it in
 * dynalite with this. Item layouts are in docs/data-model.md.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  UpdateTimeToLiveCommand,
  ResourceInUseException,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { TABLE_KEYS } from '../../topology/table.ts';

/**
 * On-demand billing, string keys, and every index projecting ALL attributes (the participant listing reads
 * its keys from the index and the threads from the table, but ALL keeps future index entities simple).
 * TTL on {@link TABLE_KEYS.ttlAttribute} is not part of CreateTable: {@link ensureTable} enables it after.
 */
export const createTableInput = (tableName: string): CreateTableCommandInput => {
  const keyNames = [
    TABLE_KEYS.partitionKey,
    TABLE_KEYS.sortKey,
    ...TABLE_KEYS.indexes.flatMap((index) => [index.partitionKey, index.sortKey]),
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: keyNames.map((name) => ({ AttributeName: name, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: TABLE_KEYS.indexes.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    })),
    // The outbox: every write's new and old image, read by the outbox relay.
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  };
};

/**
 * Creates the table unless it exists (a persisted dynalite data dir already has it), and resolves once it
 * is ACTIVE: dynalite answers ResourceNotFoundException to item calls on a table still CREATING, even with
 * `createTableMs: 0`. Local runtime and tests only: in AWS the stack owns the table.
 */
export const ensureTable = async (client: DynamoDBClient, tableName: string, timeoutMs = 30_000): Promise<void> => {
  try {
    await client.send(new CreateTableCommand(createTableInput(tableName)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') break;
    if (Date.now() > deadline) throw new Error(`table ${tableName} is still ${Table?.TableStatus} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  if (ttl.TimeToLiveDescription?.TimeToLiveStatus !== 'ENABLED') {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { Enabled: true, AttributeName: TABLE_KEYS.ttlAttribute },
      }),
    );
  }
};
