/**
 * An alarm when any channel's sender gives up on a message (it becomes `failed`: the provider refused it for
 * good, or its retries ran out), so a reply that never reached its customer shows in AWS and not only in the
 * API's message status.
 *
 * The senders count failures as Powertools EMF metrics: namespace {@link METRICS_NAMESPACE}, metric
 * `MessagesFailed`, dimensions `service` (the function's `POWERTOOLS_SERVICE_NAME`, its topology name) and
 * `channel`. CloudWatch aggregates only metrics with exactly the same dimensions, so the alarm adds one metric
 * per sender with metric math (`SUM` of the list, each series' gaps filled with 0). A `SEARCH` expression would find new senders by itself,
 * but CloudWatch cannot alarm on one (it returns a variable number of series); the list comes from the
 * topology instead, so a new channel's sender is in it at the next synth.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create-alarm-on-metric-math-expression.html
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from './parley-function.ts';

/** The metric the senders emit for a message they gave up on (`functions/kit/observability.ts`). */
export const MESSAGES_FAILED_METRIC = 'MessagesFailed';

/** One function that emits the metric, for one channel: the dimensions of its series. */
export interface MessagesFailedSource {
  /** The function's topology name, its Powertools service name. */
  readonly service: string;
  readonly channel: string;
}

export interface MessagesFailedAlarmProps {
  /** Every function that emits `MessagesFailed`, with the channel it emits it for. */
  readonly sources: readonly MessagesFailedSource[];
  /**
   * The period the failures are summed over.
   * @default Duration.minutes(5)
   */
  readonly period?: Duration;
  /**
   * Notified when the alarm changes state.
   * @default - the alarm has no action; it shows in the CloudWatch console
   */
  readonly alarmAction?: cloudwatch.IAlarmAction;
}

/** CloudWatch's limit on the metrics one alarm's math expression may use. */
const MAX_ALARM_METRICS = 10;

export function validateMessagesFailedSources(sources: readonly MessagesFailedSource[]): void {
  if (sources.length < 1 || sources.length > MAX_ALARM_METRICS) {
    throw new Error(
      `MessagesFailed alarm sources must be 1 to ${MAX_ALARM_METRICS} (one alarm's metric math limit), but ${sources.length} were provided`,
    );
  }
  const seen = new Set<string>();
  for (const { service, channel } of sources) {
    const key = `${service}/${channel}`;
    if (seen.has(key)) throw new Error(`MessagesFailed alarm sources must be distinct, but ${key} was provided twice`);
    seen.add(key);
  }
}

export class MessagesFailedAlarm extends Construct {
  public readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: MessagesFailedAlarmProps) {
    super(scope, id);
    validateMessagesFailedSources(props.sources);
    const period = props.period ?? Duration.minutes(5);
    const usingMetrics = Object.fromEntries(
      props.sources.map(({ service, channel }, index) => [
        `m${index}`,
        new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName: MESSAGES_FAILED_METRIC,
          dimensionsMap: { service, channel },
          statistic: cloudwatch.Stats.SUM,
          period,
        }),
      ]),
    );
    this.alarm = new cloudwatch.Alarm(this, 'Alarm', {
      alarmDescription: `A sender gave up on an agent's message (channels: ${props.sources.map((s) => s.channel).join(', ')}): it is failed, with the reason in the message and in the ${props.sources.map((s) => s.service).join(', ')} logs.`,
      // A series with no failures has no data point; FILL makes it 0 so one channel's failures still sum.
      metric: new cloudwatch.MathExpression({
        expression: `SUM(FILL([${Object.keys(usingMetrics).join(', ')}], 0))`,
        usingMetrics,
        period,
        label: 'Messages failed, every channel',
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmAction) {
      this.alarm.addAlarmAction(props.alarmAction);
      this.alarm.addOkAction(props.alarmAction);
    }
  }
}
