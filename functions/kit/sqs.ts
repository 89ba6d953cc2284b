/**
 * The one SQS consumer skeleton every queue-driven function uses: Powertools' batch processor reports each
 * failed record (`batchItemFailures`), so one bad record is retried, and eventually dead-lettered, without its
 * batch. Records sharing an ordering key (one conversation) are handled one after another, and once one fails
 * the later ones fail too, so a retry keeps their order; different keys run concurrently.
 * @see https://docs.powertools.aws.dev/lambda/typescript/latest/features/batch/
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { FailureResponse, SuccessResponse } from '@aws-lambda-powertools/batch/types';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/** A record failed on purpose: it was postponed, or its retries are used up. Logged by the handler already. */
export class RecordNotDone extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'RecordNotDone';
  }
}

class OrderedBatchProcessor extends BatchProcessor {
  constructor(private readonly keyOf: (record: SQSRecord) => string) {
    super(EventType.SQS);
  }

  override async process(): Promise<(SuccessResponse | FailureResponse)[]> {
    this.prepare();
    const groups = new Map<string, SQSRecord[]>();
    for (const record of this.records as SQSRecord[]) {
      const key = this.keyOf(record);
      groups.set(key, [...(groups.get(key) ?? []), record]);
    }
    const results = new Map<SQSRecord, SuccessResponse | FailureResponse>();
    await Promise.all(
      [...groups.values()].map(async (records) => {
        let failed = false;
        for (const record of records) {
          // The conversation's later records wait for this one: retried together, they keep their order.
          const result = failed
            ? this.failureHandler(record, new Error('an earlier record of its conversation failed'))
            : await this.processRecord(record);
          if (result[0] === 'fail') failed = true;
          results.set(record, result);
        }
      }),
    );
    this.clean();
    return (this.records as SQSRecord[]).map((record) => results.get(record) as SuccessResponse | FailureResponse);
  }
}

export interface SqsBatchOptions {
  /** Records with the same key are handled in order, one at a time; absent: every record on its own. */
  readonly orderingKey?: (record: SQSRecord) => string;
}

/** Handles each record with `handle`; a record whose `handle` throws is reported as failed. */
export const sqsBatch =
  (handle: (record: SQSRecord) => Promise<void>, options: SqsBatchOptions = {}) =>
  async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    const processor = new OrderedBatchProcessor(options.orderingKey ?? ((record) => record.messageId));
    return processPartialResponse(event, handle, processor, {
      ...(context && { context }),
      // A batch whose every record failed is answered with every record listed, not an invocation error:
      // the queue then handles each by its own receive count.
      throwOnFullBatchFailure: false,
    });
  };

/** How long a record waited in its queue before this delivery, from SQS's own timestamp. */
export const ageOf = (record: SQSRecord, now: number): number => Math.max(0, now - Number(record.attributes.SentTimestamp ?? now));

/** Which delivery of the record this is, as SQS counts them. */
export const receiveCountOf = (record: SQSRecord): number => Number(record.attributes.ApproximateReceiveCount) || 1;
