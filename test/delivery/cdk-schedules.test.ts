/**
 * The AWS rendering of one-time schedules (`access.schedules` in the topology): a schedule group, a role only
 * EventBridge Scheduler of this account may assume and that may send only to the target queue, and a function
 * allowed to make and delete schedules in that group alone and to pass that role alone, told their names.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { OneTimeSchedules, queueArnVariable } from '../../lib/one-time-schedules.ts';
import { FUNCTIONS } from '../../topology/topology.ts';

const synth = () => {
  const stack = new Stack(new App(), 'Schedules', { env: { account: '123456789012', region: 'eu-west-1' } });
  const campaigns = new sqs.Queue(stack, 'Campaigns');
  const other = new sqs.Queue(stack, 'Other');
  const schedules = new OneTimeSchedules(stack, 'OneTimeSchedules', { targets: { campaigns } });
  const fn = new lambda.Function(stack, 'Api', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('export const handler = async () => {};'),
    environment: schedules.environmentFor(['campaigns']),
  });
  schedules.grantSchedule(fn);
  return { template: Template.fromStack(stack), stack, campaigns, other, schedules };
};

describe('one-time schedules in AWS', () => {
  it('lets only Scheduler of this account send to the target queue', () => {
    const { template, stack } = synth();
    template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
          }),
        ],
      },
    });
    const policies = template.findResources('AWS::IAM::Policy');
    const schedulerPolicy = Object.values(policies).find((p) => JSON.stringify(p).includes('OneTimeSchedulesRole'));
    expect(JSON.stringify(schedulerPolicy)).toContain('sqs:SendMessage');
    expect(JSON.stringify(schedulerPolicy)).toContain(
      stack.resolve(stack.getLogicalId((stack.node.findChild('Campaigns') as sqs.Queue).node.defaultChild as sqs.CfnQueue)),
    );
    expect(JSON.stringify(schedulerPolicy)).not.toContain('Other');
  });

  it('lets the function make and delete schedules in the group only, and pass the role only', () => {
    const { template, stack, schedules } = synth();
    const group = stack.resolve(schedules.group.scheduleGroupName) as string;
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule'],
            Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:scheduler:eu-west-1:123456789012:schedule/${group}/*`]] },
          }),
          Match.objectLike({ Action: 'iam:PassRole', Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('OneTimeSchedulesRole'), 'Arn'] } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          SCHEDULE_GROUP: group,
          SCHEDULE_ROLE_ARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('OneTimeSchedulesRole'), 'Arn'] },
          [queueArnVariable('campaigns')]: { 'Fn::GetAtt': [Match.stringLikeRegexp('Campaigns'), 'Arn'] },
        },
      },
    });
  });

  it('refuses a schedule onto a queue it was not given', () => {
    const { schedules } = synth();
    expect(() => schedules.environmentFor(['erasure'])).toThrow('Schedules cannot target the queue erasure: it is not among campaigns');
  });

  it('is what the topology asks for: the API schedules campaign starts', () => {
    expect(FUNCTIONS.api.access.schedules).toEqual(['campaigns']);
    expect(queueArnVariable('campaigns')).toBe('CAMPAIGNS_QUEUE_ARN');
  });
});
