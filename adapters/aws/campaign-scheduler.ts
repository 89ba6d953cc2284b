/**
 * Scheduled campaign starts in AWS: a one-time EventBridge Scheduler schedule that sends the campaign's first
 * dispatch job to the campaigns queue at its `scheduledAt`, and deletes itself afterwards. A start within SQS's
 * longest delay (15 minutes) needs no schedule: the queue holds the job itself. Without the schedule group
 * configured, the job is queued with that delay anyway, and the dispatcher hops toward the date a delay at a time.
 * @see https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#one-time
 */
import { ConflictException, CreateScheduleCommand, type SchedulerClient } from '@aws-sdk/client-scheduler';
import type { CampaignJob, CampaignScheduler } from '../../domain/delivery/campaigns.ts';
import type { WorkQueue } from '../../domain/ports.ts';

/** SQS's longest message delay. */
const MAX_QUEUE_DELAY_SECONDS = 900;

export interface EventBridgeCampaignSchedulerOptions {
  readonly client: SchedulerClient;
  /** The schedule group campaign schedules are made in. */
  readonly groupName: string;
  /** The campaigns queue's ARN: the schedules' target. */
  readonly queueArn: string;
  /** The role EventBridge Scheduler assumes to send to the queue. */
  readonly roleArn: string;
  /** The campaigns queue, for starts near enough to need no schedule. */
  readonly queue: WorkQueue<CampaignJob>;
  readonly now?: () => number;
}

/** `at()` takes the time without zone or fractions; the zone is given apart. */
const atExpression = (at: Date): string => `at(${at.toISOString().slice(0, 19)})`;

export class EventBridgeCampaignScheduler implements CampaignScheduler {
  private readonly now: () => number;

  constructor(private readonly options: EventBridgeCampaignSchedulerOptions) {
    this.now = options.now ?? Date.now;
  }

  async schedule(job: CampaignJob, at: Date): Promise<void> {
    const seconds = Math.ceil((at.getTime() - this.now()) / 1000);
    if (seconds <= MAX_QUEUE_DELAY_SECONDS) {
      await this.options.queue.send(job, { delaySeconds: Math.max(0, seconds) });
      return;
    }
    try {
      await this.options.client.send(
        new CreateScheduleCommand({
          // One schedule per campaign start: a retried request finds it made (ConflictException).
          Name: `campaign-${job.campaignId}`.slice(0, 64),
          GroupName: this.options.groupName,
          ScheduleExpression: atExpression(at),
          ScheduleExpressionTimezone: 'UTC',
          FlexibleTimeWindow: { Mode: 'OFF' },
          ActionAfterCompletion: 'DELETE',
          Description: `Starts campaign ${job.campaignId}`,
          Target: {
            Arn: this.options.queueArn,
            RoleArn: this.options.roleArn,
            Input: JSON.stringify(job),
            // Retried for a day; the dispatcher ignores a start that arrives twice.
            RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
          },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConflictException)) throw error;
    }
  }
}
