/**
 * A work queue as Parley's principles want every queue: a dead-letter queue behind it, an alarm on that
 * dead-letter queue, encryption at rest, TLS required, and consumers that report partial batch failures.
 * A parked queue (one no function consumes: records kept for a person to inspect) has an alarm on itself too.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { QueueSpec } from '../topology/topology.ts';

export interface WorkQueueProps {
  /** Visibility timeout, receive count, batch size and dead-letter retention, from the topology. */
  readonly spec: QueueSpec;
  /**
   * Notified when the dead-letter alarm changes state.
   * @default - the alarm has no action; it shows in the CloudWatch console
   */
  readonly alarmAction?: cloudwatch.IAlarmAction;
  /**
   * Nothing consumes the queue: what arrives waits for a person to inspect and delete it, so an alarm fires
   * while it holds any message, and {@link WorkQueue.addConsumer} refuses.
   * @default false
   */
  readonly parked?: boolean;
}

/** Concurrent batches of a background queue's consumer: the least an SQS event source allows. */
export const BACKGROUND_MAX_CONCURRENCY = 2;

/** How long a message may wait in a work queue (SQS's default). */
const QUEUE_RETENTION_DAYS = 4;
/** Lambda's longest batching window for SQS and stream event sources. */
export const MAX_BATCHING_WINDOW_SECONDS = 300;

/** SQS limits the spec must respect, so a wrong topology fails at synth rather than at deploy. */
export function validateQueueSpec(name: string, spec: QueueSpec): void {
  const within = (what: string, value: number, min: number, max: number, unit = ''): void => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`Queue ${name} ${what} must be an integer from ${min} to ${max}${unit}, but ${value} was provided`);
    }
  };
  within('visibility timeout', spec.visibilityTimeoutSeconds, 0, 43_200, ' seconds');
  within('maxReceiveCount', spec.maxReceiveCount, 1, 1000);
  if (spec.batchingWindowSeconds !== undefined)
    within('batching window', spec.batchingWindowSeconds, 0, MAX_BATCHING_WINDOW_SECONDS, ' seconds');
  // Lambda takes more than 10 messages in one batch only while it waits at least a second to fill it.
  if ((spec.batchingWindowSeconds ?? 0) >= 1) within('batch size', spec.batchSize, 1, 10_000);
  else within('batch size', spec.batchSize, 1, 10, ' (above 10 needs a batching window of at least 1 second)');
  within('dead-letter retention', spec.deadLetterRetentionDays, 1, 14, ' days');
  // A dead-lettered message keeps its original enqueue time, so a shorter retention would expire it early.
  if (spec.deadLetterRetentionDays <= QUEUE_RETENTION_DAYS) {
    throw new Error(
      `Queue ${name} dead-letter retention must be more than the queue's own (${QUEUE_RETENTION_DAYS} days), but ${spec.deadLetterRetentionDays} was provided`,
    );
  }
}

/**
 * Lambda's event source mapping refuses a queue whose visibility timeout is shorter than the consumer's
 * timeout: a message could reappear while its first consumer is still working on it.
 */
export function validateConsumerTimeout(name: string, spec: QueueSpec, consumerTimeoutSeconds: number): void {
  if (spec.visibilityTimeoutSeconds < consumerTimeoutSeconds) {
    throw new Error(
      `Queue ${name} visibility timeout must be at least the consumer's timeout (${consumerTimeoutSeconds} s), but ${spec.visibilityTimeoutSeconds} was provided`,
    );
  }
}

export class WorkQueue extends Construct {
  public readonly queue: sqs.Queue;
  /** Holds messages that failed `maxReceiveCount` times, for inspection and redrive. */
  public readonly deadLetterQueue: sqs.Queue;
  /** In alarm while the dead-letter queue holds any message. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  /** A parked queue's alarm: in alarm while the queue itself holds any message. */
  public readonly parkedAlarm?: cloudwatch.Alarm;

  private readonly spec: QueueSpec;
  private readonly parked: boolean;

  constructor(scope: Construct, id: string, props: WorkQueueProps) {
    super(scope, id);
    const { spec } = props;
    validateQueueSpec(id, spec);
    this.spec = spec;
    this.parked = props.parked ?? false;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.days(spec.deadLetterRetentionDays),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      visibilityTimeout: Duration.seconds(spec.visibilityTimeoutSeconds),
      retentionPeriod: Duration.days(QUEUE_RETENTION_DAYS),
      // SQS-managed keys, because EventBridge cannot send to a queue encrypted with the AWS managed KMS key.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: spec.maxReceiveCount },
    });

    this.deadLetterAlarm = messagesWaitingAlarm(this, 'DeadLetterAlarm', this.deadLetterQueue, {
      description: `Messages of the ${id.toLowerCase()} queue failed ${spec.maxReceiveCount} times and wait in its dead-letter queue. See docs/deploy.md to inspect and redrive them.`,
      alarmAction: props.alarmAction,
    });
    if (this.parked) {
      this.parkedAlarm = messagesWaitingAlarm(this, 'ParkedAlarm', this.queue, {
        description: `Records were parked in the ${id.toLowerCase()} queue, which nothing consumes: inspect them (docs/deploy.md), fix the cause, then delete them.`,
        alarmAction: props.alarmAction,
      });
    }
  }

  /**
   * Makes `fn` the queue's consumer, in batches of the spec's size filled for up to its batching window,
   * retrying only the failed records.
   */
  public addConsumer(fn: lambda.IFunction, consumerTimeout: Duration): void {
    if (this.parked) throw new Error(`Queue ${this.node.id} is parked, so it must have no consumer, but ${fn.node.id} was provided`);
    validateConsumerTimeout(this.node.id, this.spec, consumerTimeout.toSeconds());
    const window = this.spec.batchingWindowSeconds;
    fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: this.spec.batchSize,
        ...(window !== undefined && { maxBatchingWindow: Duration.seconds(window) }),
        // Background work (campaigns) runs at most two batches at once: it never takes the account's Lambda
        // concurrency from the functions that answer customers.
        ...(this.spec.background && { maxConcurrency: BACKGROUND_MAX_CONCURRENCY }),
        reportBatchItemFailures: true,
      }),
    );
  }
}

/**
 * An alarm while `queue` holds any visible message, checked every minute. Missing data (a queue SQS has not
 * reported yet) counts as empty.
 */
export function messagesWaitingAlarm(
  scope: Construct,
  id: string,
  queue: sqs.IQueue,
  options: { readonly description: string; readonly alarmAction?: cloudwatch.IAlarmAction | undefined },
): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, id, {
    alarmDescription: options.description,
    metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
    threshold: 0,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  if (options.alarmAction) {
    alarm.addAlarmAction(options.alarmAction);
    alarm.addOkAction(options.alarmAction);
  }
  return alarm;
}
