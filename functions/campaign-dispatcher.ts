/**
 * The campaign dispatcher: consumes the campaigns queue, where each message is one hop of a campaign's dispatch
 * chain (its first, from the API or a schedule; the next ones from the dispatcher itself, delayed to the
 * campaign's pace). A hop dispatches a page of recipients and queues the next (domain/delivery/campaigns.ts).
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod';
import { accountOf, capabilitiesOf } from '../connectors/capabilities.ts';
import { AccountResolver } from '../domain/accounts.ts';
import { CampaignJobSchema, dispatchHop, type CampaignJob } from '../domain/delivery/campaigns.ts';
import { proactiveDeps } from '../domain/delivery/notifications.ts';
import { systemClock, type WorkQueue } from '../domain/ports.ts';
import { awsAccounts, awsConversations, awsDelivery, awsQueue, awsSecrets, retentionDays } from '../adapters/aws/deps.ts';
import { queueUrlVariable } from '../topology/queue-names.ts';
import { ENABLED_CHANNELS } from '../topology/channels.ts';
import { detailOf, type Deps } from './deps.ts';
import { lambda } from './kit/handler.ts';
import { awsObservability } from './kit/powertools.ts';
import { withKeys } from './kit/observability.ts';
import { sqsBatch } from './kit/sqs.ts';

export const create = (
  deps: Pick<
    Deps,
    'conversations' | 'delivery' | 'secrets' | 'clock' | 'observability' | 'queue' | 'retentionDays' | 'fetch' | 'apiBaseUrls'
  > &
    Partial<Pick<Deps, 'accounts'>>,
) => {
  const queue = deps.queue('campaigns') as WorkQueue<CampaignJob>;
  const { log } = deps.observability;
  const rules = proactiveDeps({
    conversations: deps.conversations,
    delivery: deps.delivery,
    capabilities: capabilitiesOf,
    account: accountOf,
    secrets: deps.secrets,
    accounts: deps.accounts,
    accountIds: new AccountResolver({ fetch: deps.fetch, apiBaseUrls: deps.apiBaseUrls, log }),
    retentionDays: deps.retentionDays,
  });
  const handle = async (record: SQSRecord) => {
    const parsed = CampaignJobSchema.safeParse(detailOf(JSON.parse(record.body)));
    if (!parsed.success) {
      log.error('not a campaign job; it goes to the dead-letter queue', {
        messageId: record.messageId,
        error: z.prettifyError(parsed.error),
      });
      throw new Error('not a campaign job');
    }
    const job = parsed.data;
    const jobLog = withKeys(log, { campaignId: job.campaignId, hop: job.hop });
    const outcome = await dispatchHop({ ...rules, queue, now: () => deps.clock.now(), log: jobLog }, job);
    jobLog.info('campaign hop handled', { ...outcome });
  };
  return lambda<SQSEvent, Awaited<ReturnType<ReturnType<typeof sqsBatch>>>>(
    (event, context) => sqsBatch(handle)(event, context),
    deps.observability,
  );
};

let wired: ReturnType<typeof create> | undefined;
export const handler = (event: SQSEvent, context: Context) =>
  (wired ??= create({
    conversations: awsConversations(),
    delivery: awsDelivery(),
    accounts: awsAccounts(),
    secrets: awsSecrets((channel, credentials) => accountOf(channel)?.accountIdOf(credentials)),
    clock: systemClock,
    observability: awsObservability(),
    queue: (name) => awsQueue(queueUrlVariable(name)),
    retentionDays: retentionDays(),
    fetch: globalThis.fetch,
    // Each channel's override of its provider's API origin (LINE's, to learn a bot's id), as the senders have it.
    apiBaseUrls: Object.fromEntries(
      ENABLED_CHANNELS.flatMap((channel) => {
        const url = process.env[accountOf(channel)?.environment.apiBaseUrl ?? ''];
        return url ? [[channel, url]] : [];
      }),
    ),
  }))(event, context);
