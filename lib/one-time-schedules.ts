/**
 * One-time schedules that functions make at run time (the topology's `access.schedules`): a campaign's start at
 * its `scheduledAt` is an EventBridge Scheduler schedule in this group that sends the campaign's first dispatch job
 * to the campaigns queue, then deletes itself. The role Scheduler assumes may send to those queues and nothing else;
 * a function may create and delete schedules in this group only, and pass this role only.
 * @see https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-group.html
 */
import { Arn, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { nagResource } from './nag.ts';

export interface OneTimeSchedulesProps {
  /** The queues schedules may send to, by the name the topology gives them. */
  readonly targets: Readonly<Record<string, sqs.IQueue>>;
}

/** The environment variable naming a queue's ARN (a schedule's target): `campaigns` → `CAMPAIGNS_QUEUE_ARN`. */
export const queueArnVariable = (queue: string): string => `${queue.toUpperCase().replaceAll('-', '_')}_QUEUE_ARN`;

export class OneTimeSchedules extends Construct {
  public readonly group: scheduler.ScheduleGroup;
  /** Assumed by EventBridge Scheduler to deliver a schedule's message. */
  public readonly role: iam.Role;
  private readonly targets: Readonly<Record<string, sqs.IQueue>>;

  constructor(scope: Construct, id: string, props: OneTimeSchedulesProps) {
    super(scope, id);
    this.targets = props.targets;
    this.group = new scheduler.ScheduleGroup(this, 'Group', {});
    const stack = Stack.of(this);
    // Only Scheduler acting for this account (the confused-deputy guard AWS recommends).
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'Delivers one-time schedules (scheduled campaign starts) to their queue',
    });
    for (const queue of Object.values(props.targets)) queue.grantSendMessages(this.role);
  }

  /** What a function that makes schedules onto these queues needs to know. */
  environmentFor(queues: readonly string[]): Record<string, string> {
    return {
      SCHEDULE_GROUP: this.group.scheduleGroupName,
      SCHEDULE_ROLE_ARN: this.role.roleArn,
      ...Object.fromEntries(queues.map((queue) => [queueArnVariable(queue), this.targetOf(queue).queueArn])),
    };
  }

  /** Lets `grantee` create and delete schedules in the group, handing them this role. */
  grantSchedule(grantee: iam.IGrantable): void {
    const stack = Stack.of(this);
    const schedules = Arn.format({ service: 'scheduler', resource: 'schedule', resourceName: `${this.group.scheduleGroupName}/*` }, stack);
    iam.Grant.addToPrincipal({ grantee, actions: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule'], resourceArns: [schedules] });
    this.role.grantPassRole(grantee.grantPrincipal);
    const policy = grantee.grantPrincipal instanceof iam.Role ? grantee.grantPrincipal.node.tryFindChild('DefaultPolicy') : undefined;
    if (policy) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagResource(policy, schedules)}]`,
        reason:
          'Each scheduled campaign start is a schedule of its own, named after the campaign when it is made: the schedules of this one group, and no other.',
      });
    }
  }

  private targetOf(queue: string): sqs.IQueue {
    const target = this.targets[queue];
    if (!target) throw new Error(`Schedules cannot target the queue ${queue}: it is not among ${Object.keys(this.targets).join(', ')}`);
    return target;
  }
}
