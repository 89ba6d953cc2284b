/**
 * Campaigns: one message (a template with per-recipient parameters, or one content) to many recipients, paced,
 * optionally scheduled, cancellable, each recipient at most once.
 *
 * - Recipients are records of their own (`CampaignRecipient`, in the order given), so a campaign of 100,000
 *   costs a list and not a queue: nothing is queued for a recipient until its turn.
 * - The dispatcher takes them a page at a time at the campaign's pace (`ratePerSecond`), checks each against the
 *   rules of a notification (window, consent, template), and queues its message, whose id is derived from the
 *   campaign and the recipient's position: a page done twice (a crash, a redelivered job) writes nothing twice.
 *   One recipient per contact: a contact listed twice (by two channel ids, or twice by the same) gets one message.
 * - One chain of dispatch jobs per campaign: each job names its hop, and only the job of the campaign's current
 *   hop dispatches; the campaign record moves the hop on, so a duplicate job finds itself stale.
 * - Cancelling stops the chain, and messages already queued but not sent fail as `campaign_cancelled` at the
 *   sender: nothing more leaves once the cancel is answered.
 * - Progress: each recipient's state follows its message (`queued` → `sent` → `delivered` → `read`, or `failed`),
 *   from the `message.status` events, and per-state counts are kept in a few counter records (shards, so that
 *   many status changes at once do not all write the same record), changed in the same transaction as the
 *   recipient, so counts and recipients never disagree.
 */
import * as z from 'zod';
import type { Channel, OutboundContent } from '../content.ts';
import type { Actor } from '../conversations/model.ts';
import { newMessageId } from '../message-ids.ts';
import type { Log, WorkQueue } from '../ports.ts';
import { ConflictError, NEW_RECORD, retryOnConflict, type Versioned } from '../shared/store.ts';
import { millis } from '../shared/time.ts';
import {
  CAMPAIGN_CANCELLED,
  RECIPIENT_STATES,
  type Campaign,
  type CampaignCounter,
  type CampaignRecipient,
  type RecipientParameters,
  type RecipientState,
} from './model.ts';
import { planNotification, queueNotification, type Plan, type ProactiveDeps } from './notifications.ts';
import { resolveRecipient } from './recipients.ts';

export {
  CAMPAIGN_CANCELLED,
  CAMPAIGN_STATES,
  CampaignRecipientSchema,
  CampaignSchema,
  RECIPIENT_STATES,
  RecipientParametersSchema,
} from './model.ts';
export type { Campaign, CampaignCounter, CampaignRecipient, RecipientMark, RecipientParameters, RecipientState } from './model.ts';

/** Counter records per campaign: status changes of different recipients rarely write the same one. */
export const COUNTER_SHARDS = 16;
export const shardOf = (seq: number): number => seq % COUNTER_SHARDS;

/** What the campaigns queue carries: one hop of a campaign's dispatch chain. */
export const CampaignJobSchema = z.object({ kind: z.literal('campaign'), campaignId: z.string().min(1), hop: z.int().nonnegative() });
export type CampaignJob = z.infer<typeof CampaignJobSchema>;

/** Where a campaign's dispatch job waits for its time: EventBridge Scheduler in AWS, a delayed queue message locally. */
export interface CampaignScheduler {
  schedule(job: CampaignJob, at: Date): Promise<void>;
}

const RANK: Record<RecipientState, number> = {
  pending: 0,
  queued: 10,
  sent: 20,
  failed: 25,
  delivered: 30,
  read: 40,
  skipped: 100,
  cancelled: 100,
};

/**
 * Recipient states only move forward, as message statuses do (`failed` only after `queued` or `sent`, a later
 * `delivered` or `read` still wins); `skipped` and `cancelled` end a recipient that was never sent; a redrive
 * takes a `failed` one back to `queued`.
 */
export const canMove = (from: RecipientState, to: RecipientState, options: { readonly redrive?: boolean } = {}): boolean => {
  if (from === 'skipped' || from === 'cancelled') return false;
  if (to === 'skipped' || to === 'cancelled') return from === 'pending' || from === 'queued';
  if (options.redrive && from === 'failed' && to === 'queued') return true;
  return RANK[to] > RANK[from];
};

export type CampaignStore = ProactiveDeps['delivery'];

/** Moves a recipient to a state, with its shard's counts, in one transaction; false when the move is not allowed. */
export const moveRecipient = (
  store: CampaignStore,
  campaignId: string,
  seq: number,
  to: RecipientState,
  patch: Partial<Pick<CampaignRecipient, 'messageId' | 'threadId' | 'contactId' | 'channel' | 'reason'>>,
  at: string,
  options: { readonly redrive?: boolean } = {},
): Promise<boolean> =>
  retryOnConflict(async () => {
    const recipient = await store.getRecipient(campaignId, seq);
    if (!recipient || !canMove(recipient.value.state, to, options)) return false;
    const shard = shardOf(seq);
    const counter = await store.getCounter(campaignId, shard);
    const counts: Partial<Record<RecipientState, number>> = { ...counter?.value.counts };
    const from = recipient.value.state;
    if (from !== 'pending') counts[from] = Math.max(0, (counts[from] ?? 0) - 1);
    counts[to] = (counts[to] ?? 0) + 1;
    const { reason: _reason, ...rest } = recipient.value;
    await store.commit([
      { kind: 'recipient', op: 'put', value: { ...rest, ...patch, state: to, updatedAt: at }, version: recipient.version },
      { kind: 'campaignCounter', op: 'put', value: { campaignId, shard, counts }, version: counter?.version ?? NEW_RECORD },
    ]);
    return true;
  }, 16);

export type CampaignCounts = Record<RecipientState, number> & { readonly total: number };

/** A campaign's counts per recipient state; recipients a cancelled campaign never reached count as cancelled. */
export const countsOf = (campaign: Campaign, counters: readonly CampaignCounter[]): CampaignCounts => {
  const counts = Object.fromEntries(RECIPIENT_STATES.map((s) => [s, 0])) as Record<RecipientState, number>;
  for (const counter of counters) for (const state of RECIPIENT_STATES) counts[state] += counter.counts[state] ?? 0;
  counts.pending = Math.max(0, campaign.recipients - RECIPIENT_STATES.filter((s) => s !== 'pending').reduce((n, s) => n + counts[s], 0));
  if (campaign.status === 'cancelled') {
    counts.cancelled += counts.pending;
    counts.pending = 0;
  }
  return { ...counts, total: campaign.recipients };
};

/** The most recipients one request may add (a request body carries about this many). */
export const MAX_RECIPIENTS_PER_REQUEST = 1000;

/** Adds recipients at the end of a draft campaign, in order; answers the campaign as updated. */
export const addRecipients = (
  store: CampaignStore,
  campaignId: string,
  recipients: readonly { readonly to: CampaignRecipient['to']; readonly parameters?: RecipientParameters | undefined }[],
  at: string,
): Promise<Campaign> =>
  retryOnConflict(async () => {
    const campaign = await store.getCampaign(campaignId);
    if (!campaign) throw new CampaignError('not_found', `No campaign ${campaignId}`);
    if (campaign.value.status !== 'draft')
      throw new CampaignError(
        'invalid_status_change',
        `Recipients are added only while a campaign is a draft; this one is ${campaign.value.status}`,
      );
    const first = campaign.value.recipients;
    const next: Campaign = { ...campaign.value, recipients: first + recipients.length, updatedAt: at };
    // The campaign's count first: a concurrent add conflicts there, before any recipient is written.
    await store.commit([{ kind: 'campaign', op: 'put', value: next, version: campaign.version }]);
    await writeRecipients(store, campaignId, first, recipients, at);
    return next;
  });

const writeRecipients = async (
  store: CampaignStore,
  campaignId: string,
  first: number,
  recipients: readonly { readonly to: CampaignRecipient['to']; readonly parameters?: RecipientParameters | undefined }[],
  at: string,
): Promise<void> => {
  const records: CampaignRecipient[] = recipients.map((r, i) => ({
    campaignId,
    seq: first + i,
    to: r.to,
    ...(r.parameters !== undefined && { parameters: r.parameters }),
    state: 'pending',
    updatedAt: at,
  }));
  for (let start = 0; start < records.length; start += 100) {
    const batch = records.slice(start, start + 100);
    try {
      await store.commit(batch.map((value) => ({ kind: 'recipient' as const, op: 'put' as const, value, version: NEW_RECORD })));
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      // Written before by a request that stopped halfway: put what is missing one by one.
      for (const value of batch) {
        try {
          await store.commit([{ kind: 'recipient', op: 'put', value, version: NEW_RECORD }]);
        } catch (inner) {
          if (!(inner instanceof ConflictError)) throw inner;
        }
      }
    }
  }
};

export class CampaignError extends Error {
  constructor(
    readonly code: 'not_found' | 'invalid_status_change' | 'invalid_request',
    message: string,
  ) {
    super(message);
    this.name = 'CampaignError';
  }
}

export interface NewCampaign {
  readonly id: string;
  readonly name?: string | undefined;
  readonly purpose: Campaign['purpose'];
  readonly channel?: Channel | undefined;
  readonly content: OutboundContent;
  readonly ratePerSecond: number;
  readonly scheduledAt?: string | undefined;
  readonly recipients: readonly { readonly to: CampaignRecipient['to']; readonly parameters?: RecipientParameters | undefined }[];
  readonly draft: boolean;
  readonly by: Actor;
  readonly at: string;
}

export interface CampaignStartDeps {
  readonly store: CampaignStore;
  readonly queue: WorkQueue<CampaignJob>;
  readonly scheduler: CampaignScheduler;
  readonly now: () => Date;
}

/**
 * Creates a campaign with its first recipients; unless it is a draft, starts it. Made again with the same id (a
 * retried request), it completes what the first attempt left and changes nothing else.
 */
export const createCampaign = async (deps: CampaignStartDeps, input: NewCampaign): Promise<Campaign> => {
  const campaign: Campaign = {
    id: input.id,
    status: 'draft',
    ...(input.name !== undefined && { name: input.name }),
    purpose: input.purpose,
    ...(input.channel !== undefined && { channel: input.channel }),
    content: input.content,
    ratePerSecond: input.ratePerSecond,
    ...(input.scheduledAt !== undefined && { scheduledAt: input.scheduledAt }),
    recipients: input.recipients.length,
    dispatched: 0,
    hop: 0,
    enqueuedHop: 0,
    createdBy: input.by,
    createdAt: input.at,
    updatedAt: input.at,
  };
  let existing: Versioned<Campaign> | undefined;
  try {
    await deps.store.commit([{ kind: 'campaign', op: 'put', value: campaign, version: NEW_RECORD }]);
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    existing = await deps.store.getCampaign(input.id);
    if (!existing) throw error;
  }
  if (!existing || existing.value.status === 'draft') await writeRecipients(deps.store, input.id, 0, input.recipients, input.at);
  if (input.draft) return existing?.value ?? campaign;
  return startCampaign(deps, input.id, input.at);
};

/** Starts a draft: at once, or at its `scheduledAt`. Starting one already started changes nothing. */
export const startCampaign = async (deps: CampaignStartDeps, campaignId: string, at: string): Promise<Campaign> => {
  const started = await retryOnConflict(async () => {
    const campaign = await deps.store.getCampaign(campaignId);
    if (!campaign) throw new CampaignError('not_found', `No campaign ${campaignId}`);
    if (campaign.value.status !== 'draft') return { campaign: campaign.value, changed: false };
    const later = campaign.value.scheduledAt !== undefined && millis(campaign.value.scheduledAt) > deps.now().getTime();
    const next: Campaign = { ...campaign.value, status: later ? 'scheduled' : 'running', ...(!later && { startedAt: at }), updatedAt: at };
    await deps.store.commit([{ kind: 'campaign', op: 'put', value: next, version: campaign.version }]);
    return { campaign: next, changed: true };
  });
  if (started.changed) {
    const job: CampaignJob = { kind: 'campaign', campaignId, hop: started.campaign.hop };
    if (started.campaign.status === 'scheduled' && started.campaign.scheduledAt !== undefined)
      await deps.scheduler.schedule(job, new Date(started.campaign.scheduledAt));
    else await deps.queue.send(job);
  }
  return started.campaign;
};

/** Cancels a campaign that has not completed: no recipient is dispatched from now on. */
export const cancelCampaign = (store: CampaignStore, campaignId: string, at: string): Promise<Campaign> =>
  retryOnConflict(async () => {
    const campaign = await store.getCampaign(campaignId);
    if (!campaign) throw new CampaignError('not_found', `No campaign ${campaignId}`);
    if (campaign.value.status === 'cancelled') return campaign.value;
    if (campaign.value.status === 'completed') {
      throw new CampaignError('invalid_status_change', 'The campaign has completed: every recipient was dispatched');
    }
    const next: Campaign = { ...campaign.value, status: 'cancelled', cancelledAt: at, updatedAt: at };
    await store.commit([{ kind: 'campaign', op: 'put', value: next, version: campaign.version }]);
    return next;
  });

/** A recipient's own content: the campaign's template with the recipient's parameters in place of its own. */
export const contentFor = (campaign: Campaign, recipient: CampaignRecipient): OutboundContent => {
  const content = campaign.content;
  if (content.type !== 'template' || recipient.parameters === undefined) return content;
  const { header, body, buttons } = recipient.parameters;
  return {
    ...content,
    ...(header !== undefined && { header }),
    ...(body !== undefined && { body }),
    ...(buttons !== undefined && { buttons }),
  };
};

export interface DispatchDeps extends ProactiveDeps {
  readonly queue: WorkQueue<CampaignJob>;
  readonly now: () => Date;
  readonly log: Log;
  /** Recipients handled at once within a page. */
  readonly concurrency?: number;
}

export type HopOutcome =
  | { readonly kind: 'done'; readonly reason: string }
  | { readonly kind: 'dispatched'; readonly recipients: number; readonly next?: { readonly delaySeconds: number } };

/** The longest an SQS message can wait; a campaign scheduled further ahead hops until its time. */
const MAX_DELAY_SECONDS = 900;

/**
 * The most recipients one hop takes: a hop is short, so the first messages of a big campaign leave soon and, on
 * a machine shared with replies, background work yields often.
 */
const MAX_PAGE = 25;

/**
 * How many recipients one hop takes, and the seconds a hop stands for at the campaign's pace: about a second's
 * worth (at most {@link MAX_PAGE}), or one recipient every `1 / ratePerSecond` seconds for slow campaigns.
 */
export const pageOf = (ratePerSecond: number): { readonly size: number; readonly seconds: number } => {
  const size = Math.max(1, Math.min(MAX_PAGE, Math.round(ratePerSecond)));
  return { size, seconds: size / ratePerSecond };
};

/** One hop of a campaign's dispatch chain: a page of recipients, then the next hop at the campaign's pace. */
export const dispatchHop = async (deps: DispatchDeps, job: CampaignJob): Promise<HopOutcome> => {
  const store = deps.delivery;
  const loaded = await store.getCampaign(job.campaignId);
  if (!loaded) return { kind: 'done', reason: 'no such campaign' };
  let campaign = loaded;
  const now = deps.now();
  if (campaign.value.status === 'scheduled') {
    const due = campaign.value.scheduledAt === undefined ? now.getTime() : millis(campaign.value.scheduledAt);
    if (due > now.getTime() + 500) {
      // Early (a schedule that fired ahead, or a delayed message hopping toward a date beyond SQS's 15 minutes).
      await deps.queue.send(job, { delaySeconds: Math.min(MAX_DELAY_SECONDS, Math.ceil((due - now.getTime()) / 1000)) });
      return { kind: 'done', reason: 'not due yet' };
    }
    const running: Campaign = { ...campaign.value, status: 'running', startedAt: now.toISOString(), updatedAt: now.toISOString() };
    await store.commit([{ kind: 'campaign', op: 'put', value: running, version: campaign.version }]);
    campaign = { value: running, version: campaign.version + 1 };
  }
  if (campaign.value.status !== 'running') return { kind: 'done', reason: `campaign is ${campaign.value.status}` };
  if (job.hop < campaign.value.hop) {
    // The job of a hop already done. If its successor was never queued (a crash after the hop was recorded), it is now.
    if (job.hop === campaign.value.hop - 1 && campaign.value.enqueuedHop < campaign.value.hop) await enqueueNext(deps, campaign, 0);
    return { kind: 'done', reason: 'stale hop' };
  }
  if (job.hop > campaign.value.hop) return { kind: 'done', reason: 'hop from the future' };

  // The page's time is kept on the campaign, so a page done again gives its messages the same ids.
  if (campaign.value.pageAt === undefined) {
    const paged: Campaign = { ...campaign.value, pageAt: now.toISOString(), updatedAt: now.toISOString() };
    await store.commit([{ kind: 'campaign', op: 'put', value: paged, version: campaign.version }]);
    campaign = { value: paged, version: campaign.version + 1 };
  }
  const pageAt = campaign.value.pageAt as string;
  const { size, seconds } = pageOf(campaign.value.ratePerSecond);
  const from = campaign.value.dispatched;
  const recipients = (await store.listRecipients(campaign.value.id, from, size)).filter((r) => r.value.seq < from + size);
  const started = performance.now();
  await dispatchPage(
    deps,
    campaign.value,
    recipients.map((r) => r.value),
    pageAt,
  );
  const to = Math.min(campaign.value.recipients, from + size);

  const advanced = await retryOnConflict(async () => {
    const current = await store.getCampaign(campaign.value.id);
    if (!current || current.value.hop !== job.hop) return undefined; // another chain advanced it
    const { pageAt: _pageAt, ...rest } = current.value;
    const done = to >= current.value.recipients && current.value.status === 'running';
    const next: Campaign = {
      ...rest,
      dispatched: Math.max(current.value.dispatched, to),
      hop: current.value.hop + 1,
      ...(done && { status: 'completed', completedAt: deps.now().toISOString() }),
      updatedAt: deps.now().toISOString(),
    };
    await store.commit([{ kind: 'campaign', op: 'put', value: next, version: current.version }]);
    return { value: next, version: current.version + 1 };
  });
  if (!advanced) return { kind: 'dispatched', recipients: recipients.length };
  if (advanced.value.status !== 'running') return { kind: 'dispatched', recipients: recipients.length };
  // Whole seconds (SQS's delays): a fraction left after the hop's own time is dropped, which the account's
  // pacing absorbs.
  const delaySeconds = Math.max(0, Math.round(seconds - (performance.now() - started) / 1000));
  await enqueueNext(deps, advanced, delaySeconds);
  return { kind: 'dispatched', recipients: recipients.length, next: { delaySeconds } };
};

const enqueueNext = async (deps: DispatchDeps, campaign: Versioned<Campaign>, delaySeconds: number): Promise<void> => {
  await deps.queue.send(
    { kind: 'campaign', campaignId: campaign.value.id, hop: campaign.value.hop },
    delaySeconds > 0 ? { delaySeconds } : undefined,
  );
  try {
    await deps.delivery.commit([
      { kind: 'campaign', op: 'put', value: { ...campaign.value, enqueuedHop: campaign.value.hop }, version: campaign.version },
    ]);
  } catch (error) {
    // Changed meanwhile (cancelled, or the next hop already ran): the mark only saves a re-queue after a crash.
    if (!(error instanceof ConflictError)) throw error;
  }
};

/** Runs `work` over the items, at most `limit` at a time. */
const pool = async <T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> => {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await work(item);
      }
    }),
  );
};

type Prepared =
  | { readonly kind: 'skip'; readonly recipient: CampaignRecipient; readonly code: string; readonly message: string }
  | { readonly kind: 'ready'; readonly recipient: CampaignRecipient; readonly plan: Extract<Plan, { kind: 'ready' }> }
  | { readonly kind: 'done' };

/** One recipient checked as a notification, and made (a channel identity Parley has not seen) if it may be sent to. */
const prepareRecipient = async (
  deps: DispatchDeps,
  campaign: Campaign,
  recipient: CampaignRecipient,
  pageAt: string,
): Promise<Prepared> => {
  if (recipient.state !== 'pending') return { kind: 'done' };
  const plan = await planNotification(deps, {
    to: recipient.to,
    channel: campaign.channel,
    content: contentFor(campaign, recipient),
    purpose: campaign.purpose,
    by: campaign.createdBy,
    messageId: (at) => newMessageId(new Date(at), new Date(at), campaign.id, String(recipient.seq)),
    at: pageAt,
    campaign: { id: campaign.id, recipient: recipient.seq },
  });
  if (plan.kind === 'refused') return { kind: 'skip', recipient, code: plan.refusal.code, message: plan.refusal.message };
  if (!('later' in plan.recipient)) return { kind: 'ready', recipient, plan };
  const made = await resolveRecipient(deps, plan.recipient.ref, { create: true, by: campaign.createdBy, at: pageAt });
  return {
    kind: 'ready',
    recipient,
    plan: {
      ...plan,
      recipient: made,
      message: {
        ...plan.message,
        threadId: made.thread.value.id,
        contactId: made.contact.id,
        accountId: made.accountId,
        notification: { ...plan.message.notification, ...(made.route === undefined && { to: made.identity.externalUserId }) },
      },
    },
  };
};

/**
 * A page of recipients: checked concurrently; then, in their order, each ready one claims its contact's mark (so
 * of a contact listed twice, the first listed gets the message, however the checks interleaved); then queued.
 */
const dispatchPage = async (
  deps: DispatchDeps,
  campaign: Campaign,
  recipients: readonly CampaignRecipient[],
  pageAt: string,
): Promise<void> => {
  const store = deps.delivery;
  const concurrency = deps.concurrency ?? 8;
  const prepared: Prepared[] = new Array(recipients.length);
  await pool(
    recipients.map((recipient, index) => ({ recipient, index })),
    concurrency,
    async ({ recipient, index }) => {
      prepared[index] = await prepareRecipient(deps, campaign, recipient, pageAt);
    },
  );
  const skip = (recipient: CampaignRecipient, code: string, message: string) =>
    moveRecipient(store, campaign.id, recipient.seq, 'skipped', { reason: { code, message } }, deps.now().toISOString());
  const toQueue: Extract<Prepared, { kind: 'ready' }>[] = [];
  for (const item of prepared) {
    if (item.kind !== 'ready') continue;
    const contactId = item.plan.message.contactId ?? '';
    try {
      await store.commit([
        { kind: 'recipientMark', op: 'put', value: { campaignId: campaign.id, contactId, seq: item.recipient.seq }, version: NEW_RECORD },
      ]);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      const mark = await store.getRecipientMark(campaign.id, contactId);
      if (mark && mark.value.seq !== item.recipient.seq) {
        await skip(item.recipient, 'duplicate', `The contact is recipient ${mark.value.seq} of this campaign already`);
        continue;
      }
    }
    toQueue.push(item);
  }
  await pool(
    prepared.filter((p): p is Extract<Prepared, { kind: 'skip' }> => p.kind === 'skip'),
    concurrency,
    (item) => skip(item.recipient, item.code, item.message).then(() => undefined),
  );
  await pool(toQueue, concurrency, async (item) => {
    const message = await queueNotification(deps, item.plan, campaign.createdBy, { pointer: false });
    await moveRecipient(
      store,
      campaign.id,
      item.recipient.seq,
      'queued',
      { messageId: message.id, threadId: message.threadId, contactId: message.contactId ?? '', channel: message.channel },
      deps.now().toISOString(),
    );
  });
};

/**
 * A campaign message's status changed: its recipient follows (a `campaign_cancelled` failure ends it as
 * cancelled; a redrive takes a failed one back to queued).
 */
export const recordProgress = async (
  store: CampaignStore,
  message: {
    readonly status: string;
    readonly failure?: { readonly code?: string | undefined; readonly message: string } | undefined;
    readonly notification?: { readonly campaignId?: string | undefined; readonly recipient?: number | undefined } | undefined;
  },
  previousStatus: string | undefined,
  at: string,
): Promise<boolean> => {
  const campaignId = message.notification?.campaignId;
  const seq = message.notification?.recipient;
  if (campaignId === undefined || seq === undefined) return false;
  const state = message.status;
  if (!(RECIPIENT_STATES as readonly string[]).includes(state)) return false;
  const to: RecipientState = state === 'failed' && message.failure?.code === CAMPAIGN_CANCELLED ? 'cancelled' : (state as RecipientState);
  const patch =
    to === 'failed' || to === 'cancelled'
      ? { reason: { code: message.failure?.code ?? 'failed', message: message.failure?.message ?? 'the message failed' } }
      : {};
  return moveRecipient(store, campaignId, seq, to, patch, at, { redrive: previousStatus === 'failed' && state === 'queued' });
};
