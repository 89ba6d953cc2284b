import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoThreadStore } from '../../adapters/aws/dynamo-thread-store.ts';
import type { MessageReceivedEvent } from '../../domain/events.ts';
import { create } from '../../functions/thread-writer.ts';
import { createLocalLog } from '../../runtime/local-log.ts';
import { startDynalite, type Dynalite } from '../helpers/dynalite.ts';

let dynamo: Dynalite;
let store: DynamoThreadStore;
beforeAll(async () => {
  dynamo = await startDynalite();
  store = new DynamoThreadStore({ client: dynamo.client, tableName: dynamo.tableName });
});
afterAll(() => dynamo?.stop());
const log = createLocalLog({ level: 'silent' });

const text = (chat: string, n: number): MessageReceivedEvent => ({
  schemaVersion: 1,
  type: 'message.received',
  eventId: `evt_${chat}_${n}`,
  channel: 'telegram',
  accountId: '1',
  occurredAt: `2026-03-14T00:00:0${n}.000Z`,
  receivedAt: `2026-03-14T00:00:0${n}.500Z`,
  direction: 'inbound',
  externalMessageId: `${chat}:${n}`,
  sender: { externalUserId: chat },
  conversation: { externalId: chat, kind: 'direct' },
  content: { type: 'text', text: `message ${n}` },
});
const sqs = (bodies: unknown[]): SQSEvent => ({
  Records: bodies.map((body, i) => ({
    messageId: `m${i}`,
    receiptHandle: `r${i}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'test', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:local:0:inbound',
    awsRegion: 'local',
  })),
});
const messagesOf = async (chat: string) => {
  const identity = await store.getIdentity('telegram', '1', chat);
  const { items } = await store.listThreadsByParticipant('telegram', chat, 10);
  return identity && items[0] ? (await store.listMessages(items[0].id, 50)).items.map((m) => m.externalId) : [];
};

describe('thread writer handler', () => {
  it('fails only the records that are not v1 events, and stores the rest', async () => {
    const result = await create({ store, log })(sqs([text('100', 1), '{"not":"an event"}', 'not json', text('101', 1)]));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }]);
    expect(await messagesOf('100')).toEqual(['100:1']);
    expect(await messagesOf('101')).toEqual(['101:1']);
  });

  it('applies an event redriven from a dead-letter queue as a whole EventBridge event', async () => {
    const envelope = { version: '0', id: 'x', 'detail-type': 'message.received', source: 'parley.connectors', detail: text('102', 1) };
    expect((await create({ store, log })(sqs([envelope]))).batchItemFailures).toEqual([]);
    expect(await messagesOf('102')).toEqual(['102:1']);
  });

  it("retries a failed event together with its conversation's later events, and the other conversations not at all", async () => {
    let failOnce = true;
    const flaky = Object.create(store) as DynamoThreadStore;
    flaky.insertMessage = async (message) => {
      if (message.externalId === '200:2' && failOnce) {
        failOnce = false;
        throw new Error('ProvisionedThroughputExceededException');
      }
      return store.insertMessage(message);
    };
    const batch = sqs([text('200', 1), text('200', 2), text('201', 1), text('200', 3)]);
    const first = await create({ store: flaky, log })(batch);
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }, { itemIdentifier: 'm3' }]);
    expect(await messagesOf('200')).toEqual(['200:1']);
    expect(await messagesOf('201')).toEqual(['201:1']);

    const retry = await create({ store: flaky, log })(sqs([text('200', 2), text('200', 3)]));
    expect(retry.batchItemFailures).toEqual([]);
    expect(await messagesOf('200')).toEqual(['200:1', '200:2', '200:3']);
  });
});
