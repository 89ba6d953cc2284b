/**
 * The engine's two doors: over HTTP (`engine.listen`, how the local runtime's main thread reaches the engine in
 * its worker) the SDK gets the same answers and raises the same modelled exceptions as in process; the raw
 * protocol answers carry `__type` and `x-amzn-ErrorType` as DynamoDB's do.
 */
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  PutItemCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTableInput } from '../../../adapters/aws/dynamo-table.ts';
import { startLocalDynamo, type LocalDynamoHarness } from '../../helpers/local-dynamo.ts';

let db: LocalDynamoHarness;
let server: { readonly url: string; close(): Promise<void> };
let http: DynamoDBClient;
beforeAll(async () => {
  db = await startLocalDynamo();
  server = await db.engine.listen(0, '127.0.0.1');
  http = new DynamoDBClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
});
afterAll(async () => {
  http?.destroy();
  await server?.close();
  await db?.stop();
});

const key = (pk: string) => ({ pk: { S: pk }, sk: { S: 'A' } });
const failure = async (call: Promise<unknown>): Promise<Error & Record<string, unknown>> => {
  try {
    await call;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected the call to fail');
};

/** A raw DynamoDB JSON-protocol call, as any HTTP client would make it. */
const raw = (target: string, body: string) =>
  fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': target }, body });

describe('over HTTP', () => {
  it('serves the same data as in process', async () => {
    await http.send(new PutItemCommand({ TableName: db.tableName, Item: { ...key('over-http'), v: { S: 'x' } } }));
    const { Item } = await db.dynamo.send(new GetItemCommand({ TableName: db.tableName, Key: key('over-http') }));
    expect(Item).toEqual({ ...key('over-http'), v: { S: 'x' } });
  });

  it('raises the SDK’s modelled exceptions with their fields', async () => {
    const conditional = await failure(
      http.send(
        new PutItemCommand({
          TableName: db.tableName,
          Item: key('over-http'),
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    expect(conditional).toBeInstanceOf(ConditionalCheckFailedException);
    expect(conditional.Item).toEqual({ ...key('over-http'), v: { S: 'x' } });

    const cancelled = await failure(
      http.send(
        new TransactWriteItemsCommand({
          TransactItems: [{ Put: { TableName: db.tableName, Item: key('over-http'), ConditionExpression: 'attribute_not_exists(pk)' } }],
        }),
      ),
    );
    expect(cancelled).toBeInstanceOf(TransactionCanceledException);
    expect(cancelled.CancellationReasons).toEqual([{ Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' }]);

    expect(await failure(http.send(new GetItemCommand({ TableName: 'no-such-table', Key: key('x') })))).toBeInstanceOf(
      ResourceNotFoundException,
    );
    expect(await failure(http.send(new CreateTableCommand(createTableInput(db.tableName))))).toBeInstanceOf(ResourceInUseException);
    const invalid = await failure(http.send(new GetItemCommand({ TableName: db.tableName, Key: { pk: { S: 'x' } } })));
    expect(invalid).toBeInstanceOf(DynamoDBServiceException);
    expect(invalid.name).toBe('ValidationException');
  });

  it('answers errors with the status, __type and x-amzn-ErrorType DynamoDB uses', async () => {
    const response = await raw('DynamoDB_20120810.GetItem', JSON.stringify({ TableName: 'no-such-table', Key: key('x') }));
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
    expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.0');
    expect(await response.json()).toEqual({
      __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException',
      message: 'Requested resource not found',
    });

    const unknown = await raw('DynamoDB_20120810.Teleport', '{}');
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({ __type: 'com.amazon.coral.service#UnknownOperationException' });

    const malformed = await raw('DynamoDB_20120810.GetItem', '{"TableName":');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { __type: string }).__type).toBe('com.amazon.coral.service#SerializationException');
  });

  it('answers a GET with DynamoDB’s health line', async () => {
    const response = await fetch(server.url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('healthy: dynamodb.us-east-1.amazonaws.com ');
  });
});

describe('in process', () => {
  it('answers with a request id, as DynamoDB does', async () => {
    const { $metadata } = await db.dynamo.send(new GetItemCommand({ TableName: db.tableName, Key: key('any') }));
    expect($metadata.httpStatusCode).toBe(200);
    expect($metadata.requestId).toMatch(/^[A-Z0-9]{52}$/);
  });
});
