import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { VisibilityControl } from '../../domain/ports.ts';
import type { WorkQueue } from '../../domain/ports.ts';

/** A work queue on SQS; messages are JSON. */
export class SqsWorkQueue<T> implements WorkQueue<T>, VisibilityControl {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(message: T, options?: { readonly delaySeconds?: number }): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(message),
        ...(options?.delaySeconds !== undefined && { DelaySeconds: options.delaySeconds }),
      }),
    );
  }

  /** Postpones a failed message's next delivery (backoff, or the provider's retry-after). */
  async setVisibilityTimeout(receiptHandle: string, seconds: number): Promise<void> {
    await this.client.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }),
    );
  }
}
