/**
 * Lambda event sources as AWS shapes them, for invoking handlers in tests: SQS batches and API Gateway HTTP API
 * (payload 2.0) requests.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
 */
import type { SQSEvent, SQSRecord } from 'aws-lambda';

export interface SqsRecordOptions {
  /** SQS's count of deliveries of this message (`ApproximateReceiveCount`). */
  readonly receiveCount?: number;
  /** When the message was sent (epoch ms): the queue age metric reads it. */
  readonly sentAt?: number;
  readonly queue?: string;
}

/** One SQS record with this body (a string as is, anything else as JSON); its id is `m<index>`, its receipt handle `r<index>`. */
export const sqsRecord = (body: unknown, index: number, options: SqsRecordOptions = {}): SQSRecord => ({
  messageId: `m${index}`,
  receiptHandle: `r${index}`,
  body: typeof body === 'string' ? body : JSON.stringify(body),
  attributes: {
    ApproximateReceiveCount: String(options.receiveCount ?? 1),
    SentTimestamp: String(options.sentAt ?? Date.now()),
    SenderId: 'AIDAEXAMPLE',
    ApproximateFirstReceiveTimestamp: String(Date.now()),
  },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: `arn:aws:sqs:us-east-1:123456789012:${options.queue ?? 'queue'}`,
  awsRegion: 'us-east-1',
});

/** A batch of SQS records, one per body, in order. */
export const sqsEvent = (bodies: readonly unknown[], options: SqsRecordOptions = {}): SQSEvent => ({
  Records: bodies.map((body, index) => sqsRecord(body, index, options)),
});
