/**
 * A function run on a fixed schedule (the topology's `everyMinutes`), by EventBridge Scheduler.
 *
 * Why Scheduler rather than a scheduled EventBridge rule: AWS recommends Scheduler for new schedules; a
 * scheduled rule can live only on the account's default bus, which Parley does not own (its own bus carries
 * its events), while a schedule needs no bus; and Scheduler bounds the age and retries of each invocation
 * per target. The invocation role may invoke this one function and nothing else (not even its versions).
 * @see https://docs.aws.amazon.com/scheduler/latest/UserGuide/what-is-scheduler.html
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke, type ScheduleTargetBaseProps } from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';

export interface ScheduledInvocationProps {
  /** The function to run. */
  readonly fn: lambda.IFunction;
  /** Minutes between two runs, from the topology. */
  readonly everyMinutes: number;
  /**
   * Notified when the failing-runs alarm changes state.
   * @default - the alarm has no action; it shows in the CloudWatch console
   */
  readonly alarmAction?: cloudwatch.IAlarmAction;
}

/** Longest period accepted: a longer one is better written as a time of day, which `everyMinutes` cannot say. */
export const MAX_SCHEDULE_MINUTES = 1440;
/** Consecutive failed periods before the alarm fires: one failed run of a periodic job is retried by the next. */
const FAILED_PERIODS_TO_ALARM = 3;

export function validateSchedule(name: string, everyMinutes: number): void {
  if (!Number.isInteger(everyMinutes) || everyMinutes < 1 || everyMinutes > MAX_SCHEDULE_MINUTES) {
    throw new Error(`Schedule of ${name} must be an integer from 1 to ${MAX_SCHEDULE_MINUTES} minutes, but ${everyMinutes} was provided`);
  }
}

/** Invokes the function with `lambda:InvokeFunction` on its unqualified ARN only (CDK's grant adds `:*`). */
class InvokeFunction extends LambdaInvoke {
  constructor(
    private readonly target: lambda.IFunction,
    props: ScheduleTargetBaseProps,
  ) {
    super(target, props);
  }

  protected override addTargetActionToRole(role: iam.IRole): void {
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.target.functionArn] }));
  }
}

export class ScheduledInvocation extends Construct {
  public readonly schedule: scheduler.Schedule;
  /** In alarm when the function failed in each of the last few periods. */
  public readonly failingAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ScheduledInvocationProps) {
    super(scope, id);
    const { fn, everyMinutes } = props;
    validateSchedule(id, everyMinutes);
    const period = Duration.minutes(everyMinutes);

    // A run that could not start within its period is superseded by the next one, and so is a run that
    // failed: neither Scheduler nor Lambda's asynchronous retries should start it again on top of the next.
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `Runs ${fn.node.id} every ${everyMinutes} minute(s)`,
      schedule: scheduler.ScheduleExpression.rate(period),
      target: new InvokeFunction(fn, { retryAttempts: 2, maxEventAge: period }),
    });
    fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(Math.min(everyMinutes, 360)) });

    this.failingAlarm = new cloudwatch.Alarm(this, 'FailingAlarm', {
      alarmDescription: `${fn.node.id}, run every ${everyMinutes} minute(s), failed in each of its last ${FAILED_PERIODS_TO_ALARM} periods: see its logs.`,
      metric: fn.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: FAILED_PERIODS_TO_ALARM,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmAction) {
      this.failingAlarm.addAlarmAction(props.alarmAction);
      this.failingAlarm.addOkAction(props.alarmAction);
    }
  }
}
