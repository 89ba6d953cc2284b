/**
 * What dynalite cannot show: DynamoDB's service errors (throttling, internal errors) and the exact
 * requests the store sends. Behaviour against a real engine is in dynamo-thread-store.test.ts.
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  InternalServerError,
  ProvisionedThroughputExceededException,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createDocumentClient, DynamoThreadStore } from '../../adapters/aws/dynamo-thread-store.ts';
import type { Message } from '../../domain/model.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const client = createDocumentClient(new DynamoDBClient({ region: 'us-east-1' }));
const store = new DynamoThreadStore({ client, tableName: 'parley-test' });

const metadata = { $metadata: { httpStatusCode: 400 } };
const conditionFailed = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', ...metadata });
const throttled = () => new ThrottlingException({ message: 'Rate of requests exceeds the allowed throughput.', ...metadata });

const message: Message = {
  id: 'msg_0000000010000000001_abc',
  threadId: 'th_1',
  direction: 'inbound',
  channel: 'telegram',
  accountId: 'bot1',
  externalId: '42:1001',
  occurredAt: '2026-01-01T12:00:00Z',
  author: { role: 'customer', externalUserId: '42' },
  content: { type: 'text', text: 'hi' },
  status: 'received',
};
const outbound: Message = {
  ...message,
  id: 'msg_out',
  direction: 'outbound',
  externalId: undefined,
  author: { role: 'agent', id: 'agent-1' },
  status: 'queued',
};

beforeEach(() => {
  ddb.reset();
});
afterAll(() => {
  ddb.restore();
  client.destroy();
});

describe('service errors propagate', () => {
  it('from a read', async () => {
    ddb.on(GetCommand).rejects(new ProvisionedThroughputExceededException({ message: 'Throughput exceeded', ...metadata }));

    await expect(store.getThread('th_1')).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
  });

  it('from a conditional insert, instead of being taken for a duplicate', async () => {
    ddb.on(PutCommand).rejects(throttled());

    await expect(store.insertMessage(message)).rejects.toBeInstanceOf(ThrottlingException);
    await expect(store.insertMessage(outbound)).rejects.toBeInstanceOf(ThrottlingException);
    expect(ddb).not.toHaveReceivedCommand(GetCommand);
  });

  it('from conditional updates, instead of being taken for "already done"', async () => {
    ddb.on(UpdateCommand).rejects(new InternalServerError({ message: 'Internal server error', ...metadata }));

    await expect(store.advanceStatus('th_1', 'msg_out', { status: 'sent', at: '2026-01-01T12:00:01Z' })).rejects.toBeInstanceOf(
      InternalServerError,
    );
    await expect(store.editMessage('th_1', 'msg_1', { type: 'text', text: 'x' }, '2026-01-01T12:00:01Z')).rejects.toBeInstanceOf(
      InternalServerError,
    );
    await expect(store.markIdentityUnreachable('telegram', 'bot1', '42', 'blocked', '2026-01-01T12:00:01Z')).rejects.toBeInstanceOf(
      InternalServerError,
    );
  });

  it('from a query', async () => {
    ddb.on(QueryCommand).rejects(throttled());

    await expect(store.listMessages('th_1', 10)).rejects.toBeInstanceOf(ThrottlingException);
  });
});

describe('requests', () => {
  it('advances a status only over a lower rank', async () => {
    ddb.on(UpdateCommand).resolves({});

    expect(await store.advanceStatus('th_1', 'msg_out', { status: 'delivered', at: '2026-01-01T12:00:05Z' })).toBe(true);

    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: 'parley-test',
      Key: { pk: 'THREAD#th_1', sk: 'MSG#msg_out' },
      UpdateExpression: 'SET #status = :status, #statusRank = :statusRank REMOVE #failure',
      ConditionExpression: 'attribute_exists(pk) AND #statusRank < :statusRank',
      ExpressionAttributeNames: { '#status': 'status', '#statusRank': 'statusRank', '#failure': 'failure' },
      ExpressionAttributeValues: { ':status': 'delivered', ':statusRank': 30 },
    });
  });

  it('reports a refused status change as false', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());

    expect(await store.advanceStatus('th_1', 'msg_out', { status: 'failed', at: '2026-01-01T12:00:05Z' })).toBe(false);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      ConditionExpression: 'attribute_exists(pk) AND #statusRank < :statusRank',
      ExpressionAttributeValues: expect.objectContaining({ ':statusRank': 25 }),
    });
  });

  it('claims the provider id before writing the message, each only if absent', async () => {
    ddb.on(PutCommand).resolves({});

    expect(await store.insertMessage(message)).toEqual({ inserted: true, message });

    const puts = ddb.commandCalls(PutCommand).map((call) => call.args[0].input);
    expect(puts).toEqual([
      {
        TableName: 'parley-test',
        Item: { pk: 'EXTMSG#telegram#bot1#42:1001', sk: 'EXTMSG', threadId: 'th_1', messageId: message.id },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
      {
        TableName: 'parley-test',
        Item: { pk: 'THREAD#th_1', sk: `MSG#${message.id}`, ...message },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    ]);
  });

  it('stores an outbound message with its status rank', async () => {
    ddb.on(PutCommand).resolves({});

    await store.insertMessage(outbound);

    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({ pk: 'THREAD#th_1', sk: 'MSG#msg_out', status: 'queued', statusRank: 10 }),
      ConditionExpression: 'attribute_not_exists(pk)',
    });
  });

  it('reads strongly consistently', async () => {
    ddb.on(GetCommand).resolves({});

    await store.getMessage('th_1', 'msg_1');

    expect(ddb).toHaveReceivedCommandWith(GetCommand, { Key: { pk: 'THREAD#th_1', sk: 'MSG#msg_1' }, ConsistentRead: true });
  });
});
