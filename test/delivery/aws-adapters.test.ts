/**
 * The AWS side of proactive delivery: a campaign start scheduled with EventBridge Scheduler (a one-time schedule
 * onto the campaigns queue, deleted after it ran), a near start left to the queue's own delay, and the lanes'
 * queues: a notification's job goes to the channel's proactive queue, a reply's to its outbound queue.
 */
import { ConflictException, CreateScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventBridgeCampaignScheduler } from '../../adapters/aws/campaign-scheduler.ts';
import { awsOutboundQueue } from '../../adapters/aws/deps.ts';
import type { CampaignJob } from '../../domain/delivery/campaigns.ts';

const scheduler = mockClient(SchedulerClient);
const sqs = mockClient(SQSClient);
const NOW = Date.parse('2026-11-26T10:00:00.000Z');

beforeEach(() => {
  scheduler.reset();
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm' });
});
afterEach(() => vi.unstubAllEnvs());

const make = (queued: { job: CampaignJob; delaySeconds?: number }[]) =>
  new EventBridgeCampaignScheduler({
    client: new SchedulerClient({ region: 'eu-west-1' }),
    groupName: 'parley-campaigns',
    queueArn: 'arn:aws:sqs:eu-west-1:123456789012:parley-campaigns',
    roleArn: 'arn:aws:iam::123456789012:role/parley-campaign-scheduler',
    queue: {
      send: async (job, options) =>
        void queued.push({ job, ...(options?.delaySeconds !== undefined && { delaySeconds: options.delaySeconds }) }),
    },
    now: () => NOW,
  });

describe('scheduled campaign starts', () => {
  it('makes a one-time schedule at the start, onto the campaigns queue, deleted once it ran', async () => {
    scheduler
      .on(CreateScheduleCommand)
      .resolves({ ScheduleArn: 'arn:aws:scheduler:eu-west-1:123456789012:schedule/parley-campaigns/campaign-cmp_1' });
    const queued: { job: CampaignJob }[] = [];
    const job: CampaignJob = { kind: 'campaign', campaignId: 'cmp_1', hop: 0 };
    await make(queued).schedule(job, new Date('2026-11-29T09:30:00.250Z'));
    expect(scheduler).toHaveReceivedCommandWith(CreateScheduleCommand, {
      Name: 'campaign-cmp_1',
      GroupName: 'parley-campaigns',
      ScheduleExpression: 'at(2026-11-29T09:30:00)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      Target: expect.objectContaining({
        Arn: 'arn:aws:sqs:eu-west-1:123456789012:parley-campaigns',
        RoleArn: 'arn:aws:iam::123456789012:role/parley-campaign-scheduler',
        Input: JSON.stringify(job),
      }),
    });
    expect(queued).toEqual([]);
  });

  it('takes a schedule that exists already for the one a retried request made', async () => {
    scheduler.on(CreateScheduleCommand).rejects(
      new ConflictException({
        message: 'Schedule campaign-cmp_2 already exists.',
        Message: 'Schedule campaign-cmp_2 already exists.',
        $metadata: {},
      }),
    );
    await expect(make([]).schedule({ kind: 'campaign', campaignId: 'cmp_2', hop: 0 }, new Date(NOW + 86_400_000))).resolves.toBeUndefined();
  });

  it('leaves a start within 15 minutes to the queue, as a delayed message', async () => {
    const queued: { job: CampaignJob; delaySeconds?: number }[] = [];
    await make(queued).schedule({ kind: 'campaign', campaignId: 'cmp_3', hop: 0 }, new Date(NOW + 600_000));
    expect(queued).toEqual([{ job: { kind: 'campaign', campaignId: 'cmp_3', hop: 0 }, delaySeconds: 600 }]);
    expect(scheduler).not.toHaveReceivedCommand(CreateScheduleCommand);
  });
});

describe('the lanes in AWS', () => {
  it("sends a notification's job to the channel's proactive queue and a reply's to its outbound queue", async () => {
    vi.stubEnv('OUTBOUND_WHATSAPP_QUEUE_URL', 'https://sqs.eu-west-1.amazonaws.com/123456789012/parley-outbound-whatsapp');
    vi.stubEnv('PROACTIVE_WHATSAPP_QUEUE_URL', 'https://sqs.eu-west-1.amazonaws.com/123456789012/parley-proactive-whatsapp');
    const queue = awsOutboundQueue();
    await queue.send({ kind: 'deliver', channel: 'whatsapp', threadId: 'th_1', messageId: 'msg_reply' });
    await queue.send(
      { kind: 'deliver', channel: 'whatsapp', threadId: 'th_1', messageId: 'msg_notification', lane: 'proactive' },
      { delaySeconds: 2 },
    );
    expect(sqs).toHaveReceivedNthCommandWith(SendMessageCommand, 1, {
      QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/parley-outbound-whatsapp',
      MessageBody: JSON.stringify({ kind: 'deliver', channel: 'whatsapp', threadId: 'th_1', messageId: 'msg_reply' }),
    });
    expect(sqs).toHaveReceivedNthCommandWith(SendMessageCommand, 2, {
      QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/parley-proactive-whatsapp',
      DelaySeconds: 2,
    });
  });
});
