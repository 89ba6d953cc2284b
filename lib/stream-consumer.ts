/**
 * A function fed by the table's change stream (a Lambda event source mapping on DynamoDB Streams), as the
 * outbox needs it: records in order, only those its filters match, every batch retried until it succeeds,
 * a dead-letter destination for records the stream expired before they could be handled, and alarms on
 * both the consumer's lag and that destination.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StreamTrigger } from '../topology/topology.ts';
import { MAX_BATCHING_WINDOW_SECONDS, messagesWaitingAlarm } from './work-queue.ts';

export interface StreamConsumerProps {
  /** The function the stream invokes. */
  readonly fn: lambda.IFunction;
  /** The table whose stream feeds it; must have a stream. */
  readonly table: dynamodb.ITableV2;
  /** Batch size, batching window and filters, from the topology. */
  readonly trigger: StreamTrigger;
  /**
   * How far behind the stream the function may fall (the age of the last record of a batch it was handed)
   * before its alarm fires.
   * @default Duration.minutes(5)
   */
  readonly maxIteratorAge?: Duration;
  /**
   * How long the dead-letter queue keeps the failure records of expired stream records.
   * @default Duration.days(14)
   */
  readonly deadLetterRetention?: Duration;
  /**
   * Notified when either alarm changes state.
   * @default - the alarms have no action; they show in the CloudWatch console
   */
  readonly alarmAction?: cloudwatch.IAlarmAction;
}

/** Lambda's limits on a DynamoDB Streams event source. */
const MAX_STREAM_BATCH_SIZE = 10_000;
/** Filters per event source mapping (Lambda's default quota) and characters per filter pattern. */
const MAX_FILTERS = 5;
const MAX_FILTER_PATTERN_LENGTH = 4096;
/** The fields of a DynamoDB Streams record, the only ones a filter can match. */
const STREAM_RECORD_FIELDS = ['awsRegion', 'dynamodb', 'eventID', 'eventName', 'eventSource', 'eventVersion', 'userIdentity'] as const;

/** Lambda's limits the trigger must respect, so a wrong topology fails at synth rather than at deploy. */
export function validateStreamTrigger(name: string, trigger: StreamTrigger): void {
  const within = (what: string, value: number, min: number, max: number, unit = ''): void => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`Stream trigger of ${name} ${what} must be an integer from ${min} to ${max}${unit}, but ${value} was provided`);
    }
  };
  within('batch size', trigger.batchSize, 1, MAX_STREAM_BATCH_SIZE);
  within('batching window', trigger.batchingWindowSeconds, 0, MAX_BATCHING_WINDOW_SECONDS, ' seconds');
  // Without a filter Lambda would invoke the function on every write to the table.
  within('filter count', trigger.filters.length, 1, MAX_FILTERS);
  trigger.filters.forEach((filter, index) => {
    const unknown = Object.keys(filter).filter((field) => !(STREAM_RECORD_FIELDS as readonly string[]).includes(field));
    if (Object.keys(filter).length === 0 || unknown.length > 0) {
      throw new Error(
        `Stream trigger of ${name} filter ${index + 1} must match fields of a DynamoDB stream record (${STREAM_RECORD_FIELDS.join(', ')}), but ${unknown.length > 0 ? unknown.join(', ') : 'no field'} was provided`,
      );
    }
    const length = JSON.stringify(filter).length;
    if (length > MAX_FILTER_PATTERN_LENGTH) {
      throw new Error(
        `Stream trigger of ${name} filter ${index + 1} must be at most ${MAX_FILTER_PATTERN_LENGTH} characters of JSON, but ${length} were provided`,
      );
    }
  });
}

export class StreamConsumer extends Construct {
  /** Where Lambda sends a batch's description (shard, sequence numbers) when its records expired unhandled. */
  public readonly deadLetterQueue: sqs.Queue;
  /** In alarm while the function lags the stream by more than `maxIteratorAge`. */
  public readonly iteratorAgeAlarm: cloudwatch.Alarm;
  /** In alarm while the dead-letter queue holds any message: those records' events were never published. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: StreamConsumerProps) {
    super(scope, id);
    const { fn, trigger } = props;
    validateStreamTrigger(id, trigger);
    const maxIteratorAge = props.maxIteratorAge ?? Duration.minutes(5);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      retentionPeriod: props.deadLetterRetention ?? Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is itself a dead-letter destination: Lambda's event source mapping sends it the description of stream records that expired unhandled. Nothing consumes it, so a queue behind it would never receive anything.",
    });

    fn.addEventSource(
      new DynamoEventSource(props.table, {
        // The stream keeps records 24 hours: start from the oldest, so a new or re-created mapping loses none.
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: trigger.batchSize,
        maxBatchingWindow: Duration.seconds(trigger.batchingWindowSeconds),
        // Patterns are Lambda filter criteria, the same EventBridge-style syntax the topology writes.
        filters: trigger.filters.map((pattern) => lambda.FilterCriteria.filter(pattern as Record<string, unknown>)),
        reportBatchItemFailures: true,
        // No retryAttempts and no maxRecordAge: a batch is retried until it succeeds or its records expire,
        // because skipping a record would publish an item's later events before its earlier ones. For the
        // same reason a failing batch is not split: the handler reports the first failed record and Lambda
        // retries from there.
        bisectBatchOnError: false,
        onFailure: new SqsDlq(this.deadLetterQueue),
      }),
    );

    this.iteratorAgeAlarm = new cloudwatch.Alarm(this, 'IteratorAgeAlarm', {
      alarmDescription: `${fn.node.id} lags the table's stream by more than ${maxIteratorAge.toHumanString()}: a batch keeps failing (it is retried until it succeeds; see the function's logs) or the function cannot keep up. Records older than 24 hours expire into its dead-letter queue.`,
      metric: fn.metric('IteratorAge', { period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: maxIteratorAge.toMilliseconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmAction) {
      this.iteratorAgeAlarm.addAlarmAction(props.alarmAction);
      this.iteratorAgeAlarm.addOkAction(props.alarmAction);
    }
    this.deadLetterAlarm = messagesWaitingAlarm(this, 'DeadLetterAlarm', this.deadLetterQueue, {
      description: `Stream records expired before ${fn.node.id} could handle them: their domain events were never published. The messages name the shard and sequence numbers; see docs/deploy.md.`,
      alarmAction: props.alarmAction,
    });
  }
}
