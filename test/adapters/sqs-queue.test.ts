import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { awsConsumedQueue, awsOutboundQueue } from '../../adapters/aws/deps.ts';

const sqs = mockClient(SQSClient);
const URLS = {
  OUTBOUND_LINE_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/parley-outbound-line',
  OUTBOUND_TELEGRAM_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/parley-outbound-telegram',
  QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/parley-media-line',
};

beforeEach(() => {
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm' });
  for (const [name, value] of Object.entries(URLS)) vi.stubEnv(name, value);
});
afterEach(() => vi.unstubAllEnvs());

describe('the AWS outbound queue', () => {
  it("sends each job to its channel's queue, as JSON", async () => {
    const queue = awsOutboundQueue();
    await queue.send({ kind: 'deliver', channel: 'line', threadId: 'thr_1', messageId: 'msg_1' });
    await queue.send(
      {
        kind: 'action',
        event: {
          schemaVersion: 1,
          type: 'provider.action.requested',
          eventId: 'evt_1',
          channel: 'telegram',
          accountId: '7712345678',
          occurredAt: '2026-03-14T00:00:00.000Z',
          receivedAt: '2026-03-14T00:00:00.000Z',
          action: 'answerCallbackQuery',
          params: { callback_query_id: '42' },
        },
      },
      { delaySeconds: 5 },
    );
    const inputs = sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input);
    expect(inputs.map((i) => i.QueueUrl)).toEqual([URLS.OUTBOUND_LINE_QUEUE_URL, URLS.OUTBOUND_TELEGRAM_QUEUE_URL]);
    expect(JSON.parse(inputs[0]?.MessageBody ?? '')).toEqual({ kind: 'deliver', channel: 'line', threadId: 'thr_1', messageId: 'msg_1' });
    expect(inputs[1]?.DelaySeconds).toBe(5);
  });

  it('refuses a job for a channel whose queue this function was not given, sending nothing', async () => {
    await expect(awsOutboundQueue().send({ kind: 'deliver', channel: 'whatsapp', threadId: 'thr_1', messageId: 'msg_1' })).rejects.toThrow(
      'environment variable OUTBOUND_WHATSAPP_QUEUE_URL is not set',
    );
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('surfaces an SQS failure to the caller', async () => {
    sqs.on(SendMessageCommand).rejects(new Error('ServiceUnavailable'));
    await expect(awsOutboundQueue().send({ kind: 'deliver', channel: 'line', threadId: 'thr_1', messageId: 'msg_1' })).rejects.toThrow(
      'ServiceUnavailable',
    );
  });
});

describe("a consumer's own queue", () => {
  it('postpones a message on the queue it consumes', async () => {
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    await awsConsumedQueue().setVisibilityTimeout('receipt-1', 30);
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0].input).toEqual({
      QueueUrl: URLS.QUEUE_URL,
      ReceiptHandle: 'receipt-1',
      VisibilityTimeout: 30,
    });
  });
});
