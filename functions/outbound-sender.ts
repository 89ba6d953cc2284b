/**
 * A channel's sender Lambda (`functions/senders/<channel>.ts`), made for one connector so its bundle carries
 * that channel's code only. Consumes the channel's outbound queue: agents' messages and notifications, provider
 * actions, and the records of accepted sends. A failed record is postponed by its backoff (or the provider's
 * retry-after) and reported as a batch item failure; once the queue's receive count is used up the message is
 * marked failed and the job goes to the dead-letter queue, from which a redrive sends it again.
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod';
import type { ChannelCapabilities, OutboundConnector } from '../domain/connector.ts';
import { consentAtSend } from '../domain/delivery/consent.ts';
import { channelOfJob, deliver, laneOfJob, OutboundJobSchema, type OutboundJob } from '../domain/delivery/outbound.ts';
import type { Lane } from '../domain/delivery/pacing.ts';
import { awsChannelWorkerDeps, awsDelivery, awsOutboundQueue } from '../adapters/aws/deps.ts';
import { connectorOnly, detailOf, queueSetting, type Deps, type Environment } from './deps.ts';
import { lambda } from './kit/handler.ts';
import { awsObservability } from './kit/powertools.ts';
import { withKeys } from './kit/observability.ts';
import { ageOf, receiveCountOf, RecordNotDone, sqsBatch } from './kit/sqs.ts';

const jobLabel = (job: OutboundJob): string =>
  job.kind === 'action' ? `${job.event.channel} ${job.event.action}` : `${job.kind} ${job.messageId}`;

/** How long a provider call waits for its turn within one attempt, per lane, before its job is postponed. */
const MAX_TURN_WAIT_MS: Readonly<Record<Lane, number>> = { interactive: 2_000, proactive: 5_000 };
/**
 * How long a campaign's state is trusted by the first look at a message (before it waits for its turn); the last
 * look, right before the provider call, reads it afresh unless it is already known cancelled.
 */
const CAMPAIGN_STATE_CACHE_MS = 1_000;

/**
 * `PARLEY_THROUGHPUT_<CHANNEL>` = `<perSecond>[/<burst>]`: a deployment's own provider limits (a WhatsApp number
 * on a higher throughput tier) in place of the channel's declared ones.
 */
export const throughputOverride = (environment: Environment, channel: string): ChannelCapabilities['throughput'] | undefined => {
  const raw = environment[`PARLEY_THROUGHPUT_${channel.toUpperCase()}`];
  if (raw === undefined || raw === '') return undefined;
  const match = /^(\d+(?:\.\d+)?)(?:\/(\d+))?$/.exec(raw.trim());
  const perSecond = Number(match?.[1]);
  if (!match || !(perSecond > 0))
    throw new Error(`PARLEY_THROUGHPUT_${channel.toUpperCase()} must be <perSecond>[/<burst>], but '${raw}' was given`);
  const burst = match[2] === undefined ? Math.max(1, Math.ceil(perSecond / 5)) : Number(match[2]);
  return { perSecond, burst };
};

/** `YYYY-MM` of an instant, for monthly quotas. */
const monthOf = (at: Date): string => at.toISOString().slice(0, 7);

export const senderFunction = (declared: OutboundConnector) => {
  const create = (
    // Without the delivery store (tests of the sender alone), calls go unpaced and campaigns are not looked up.
    deps: Pick<Deps, 'conversations' | 'secrets' | 'clock' | 'observability' | 'fetch' | 'apiBaseUrls' | 'visibility' | 'outbound'> &
      Partial<Pick<Deps, 'delivery'>>,
    environment: Environment,
  ) => {
    const override = throughputOverride(environment, declared.channel);
    const connector: OutboundConnector = override
      ? {
          ...declared,
          sender: {
            ...declared.sender,
            capabilities: { ...declared.sender.capabilities, throughput: { ...declared.sender.capabilities.throughput, ...override } },
          },
        }
      : declared;
    const campaigns = new Map<string, { cancelled: boolean; until: number }>();
    const delivery = deps.delivery;
    // The local runtime under test runs time faster (`timeScale`): its pacing's clock runs as fast, so a provider
    // limit per second holds per scaled second, as the queues' delays and backoffs do.
    const timeScale = Number(environment.PARLEY_TIME_SCALE ?? 1) || 1;
    const campaignCancelled = async (campaignId: string, options?: { readonly fresh?: boolean }): Promise<boolean> => {
      if (!delivery) return false;
      const now = Date.now();
      const cached = campaigns.get(campaignId);
      if (cached && cached.until > now && (cached.cancelled || !options?.fresh)) return cached.cancelled;
      const campaign = await delivery.getCampaign(campaignId);
      const cancelled = campaign?.value.status === 'cancelled';
      if (campaigns.size > 1000) campaigns.clear();
      campaigns.set(campaignId, { cancelled, until: now + CAMPAIGN_STATE_CACHE_MS });
      return cancelled;
    };
    // Must equal the queue's redrive policy, so the last attempt knows it is the last.
    const maxReceiveCount = queueSetting(environment, 'MAX_RECEIVE_COUNT');
    const visibilitySeconds = queueSetting(environment, 'VISIBILITY_TIMEOUT_SECONDS');
    const { log, metrics } = deps.observability;
    const handle = async (record: SQSRecord) => {
      let job: OutboundJob;
      try {
        const parsed = OutboundJobSchema.safeParse(detailOf(JSON.parse(record.body)));
        if (!parsed.success) throw new Error(z.prettifyError(parsed.error));
        job = parsed.data;
        // Kept for inspection rather than dropped: the job is fine, it is on the wrong queue.
        if (channelOfJob(job) !== connector.channel) throw new Error(`a ${channelOfJob(job)} job on the ${connector.channel} queue`);
      } catch (error) {
        log.error('unreadable outbound job; it goes to the dead-letter queue', {
          messageId: record.messageId,
          error: error instanceof Error ? error.message : String(error),
        });
        throw error;
      }
      const jobLog = withKeys(
        log,
        job.kind === 'action' ? { eventId: job.event.eventId } : { threadId: job.threadId, messageId: job.messageId },
      );
      const outcome = await deliver(
        job,
        { receiveCount: receiveCountOf(record), maxReceiveCount, claimToken: record.receiptHandle, claimSeconds: visibilitySeconds },
        {
          store: deps.conversations,
          secrets: deps.secrets,
          clock: deps.clock,
          log: jobLog,
          fetch: deps.fetch,
          apiBaseUrls: deps.apiBaseUrls,
          connectorFor: connectorOnly(connector),
          requeue: (next) => deps.outbound.send(next),
          metrics,
          pacing: delivery && {
            deps: {
              store: delivery,
              now: () => deps.clock.now().getTime() / timeScale,
              sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms * timeScale)),
            },
            maxWaitMs: MAX_TURN_WAIT_MS,
          },
          campaignCancelled,
          consentAtSend: delivery && ((message) => consentAtSend({ delivery, conversations: deps.conversations }, message)),
          countQuota:
            delivery &&
            (async (channel, accountId, at, messages) => {
              await delivery.countUsage(channel, accountId, monthOf(at), 'pushes', messages);
            }),
        },
      );
      jobLog.info('outbound job handled', { job: jobLabel(job), outcome: outcome.kind });
      switch (outcome.kind) {
        case 'wait':
          // Not an attempt: the job goes back as a new message, so its receive count stays as it was.
          await deps.outbound.send(job, { delaySeconds: outcome.delaySeconds });
          return;
        case 'retry':
          await deps.visibility.setVisibilityTimeout(record.receiptHandle, outcome.delaySeconds);
          throw new RecordNotDone(`retry in ${outcome.delaySeconds} s`);
        case 'exhausted':
          throw new RecordNotDone('retries used up; to the dead-letter queue');
        case 'sent':
        case 'done':
        case 'failed':
          return;
      }
    };
    // Jobs of one thread (and lane) run in order, one at a time: a later reply never overtakes an earlier one in a batch.
    const batch = sqsBatch(handle, {
      orderingKey: (record) => {
        try {
          const parsed = OutboundJobSchema.safeParse(detailOf(JSON.parse(record.body)));
          // A job this sender refuses (unreadable, another channel's) holds up nobody: it is on its own.
          return parsed.success && parsed.data.kind !== 'action' && channelOfJob(parsed.data) === connector.channel
            ? `${parsed.data.threadId}/${laneOfJob(parsed.data)}`
            : record.messageId;
        } catch {
          return record.messageId;
        }
      },
    });
    return lambda<SQSEvent, Awaited<ReturnType<typeof batch>>>(async (event, context) => {
      const now = Date.now();
      metrics.queueAge(`outbound-${connector.channel}`, Math.max(0, ...event.Records.map((r) => ageOf(r, now))));
      return batch(event, context);
    }, deps.observability);
  };

  let wired: ReturnType<typeof create> | undefined;
  const handler = (event: SQSEvent, context: Context) =>
    (wired ??= create(
      { ...awsChannelWorkerDeps(declared), outbound: awsOutboundQueue(), delivery: awsDelivery(), observability: awsObservability() },
      process.env,
    ))(event, context);
  return { create, handler };
};
