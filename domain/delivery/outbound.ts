/**
 * Delivers one outbound job: an agent's or a notification's message, or a provider action. Decides from the
 * error's type alone whether to retry (and after how long), or to give up and record why. A message is sent
 * at most once on its own account: only a `queued` message is sent, only by the holder of its sending claim,
 * parts already accepted are not sent again, and once the provider accepted it nothing sends it again, even
 * when recording that fails (then only the record is retried).
 */
import * as z from 'zod';
import { hasCredentials, type ChannelSender, type OutboundConnector, type SendContext, type SendResult } from '../connector.ts';
import { ChannelSchema, isOutboundContent, type Channel } from '../content.ts';
import { ProviderActionSchema, type ProviderActionEvent } from '../events.ts';
import { advanceStatus, canAdvance } from '../conversations/messages.ts';
import type { Failure } from '../conversations/model.ts';
import type { ConversationStore, StoredMessage, StoredThread } from '../conversations/ports.ts';
import { commitIdentity } from '../conversations/inbound.ts';
import { onceEvent } from '../events/outbox.ts';
import type { Clock, Log, SecretStore } from '../ports.ts';
import { PermanentProviderError, RateLimitedError } from '../provider-errors.ts';
import { ConflictError, NEW_RECORD, retryOnConflict, type Versioned } from '../shared/store.ts';
import { millis } from '../shared/time.ts';
import type { ConsentVerdict } from './consent.ts';
import { CAMPAIGN_CANCELLED } from './model.ts';
import {
  accountPacingKey,
  conversationPacingKey,
  holdBack,
  pacedFetch,
  PacingWaitError,
  takeTurn,
  type Lane,
  type PacingDeps,
} from './pacing.ts';
import { decideRetry, isRetryableFailure, MAX_DELAY_SECONDS, type AttemptCount, type RetryDecision } from './retry.ts';

/** A message of a channel's outbound queue. */
export const OutboundJobSchema = z.union([
  z.object({
    kind: z.literal('deliver'),
    channel: ChannelSchema,
    threadId: z.string().min(1),
    messageId: z.string().min(1),
    /** Notifications and campaign messages travel on the proactive lane (its own queue); replies on the interactive one. */
    lane: z.enum(['interactive', 'proactive']).optional(),
    /**
     * The job's own id, the same on every receive of it: the first job to claim a message owns its delivery, and
     * another job for it (the relay's, after the API queued one at once) stands aside instead of sending too.
     */
    job: z.string().min(1).max(200).optional(),
  }),
  /** The provider accepted the message but recording it failed: record it, never send again. */
  z.object({
    kind: z.literal('record'),
    channel: ChannelSchema,
    threadId: z.string().min(1),
    messageId: z.string().min(1),
    externalIds: z.array(z.string().min(1)).min(1),
    at: z.string(),
  }),
  // A provider action routed from the bus arrives as the event itself (the rule passes only `detail`).
  ProviderActionSchema.transform((event) => ({ kind: 'action' as const, event })),
]);
export type OutboundJob =
  | {
      readonly kind: 'deliver';
      readonly channel: Channel;
      readonly threadId: string;
      readonly messageId: string;
      readonly lane?: Lane | undefined;
      readonly job?: string | undefined;
    }
  | {
      readonly kind: 'record';
      readonly channel: Channel;
      readonly threadId: string;
      readonly messageId: string;
      readonly externalIds: readonly string[];
      readonly at: string;
    }
  | { readonly kind: 'action'; readonly event: ProviderActionEvent };

/** The channel whose sender handles a job, so it goes to that channel's queue. */
export const channelOfJob = (job: OutboundJob): Channel => (job.kind === 'action' ? job.event.channel : job.channel);

/** The lane a job travels on: a proactive message's delivery, or everything else (replies, records, provider actions). */
export const laneOfJob = (job: OutboundJob): Lane => (job.kind === 'deliver' && job.lane === 'proactive' ? 'proactive' : 'interactive');

/** The lane of a message: proactive messages (notifications, campaigns) are marked so. */
export const laneOfMessage = (message: Pick<StoredMessage, 'notification'>): Lane => (message.notification ? 'proactive' : 'interactive');

/**
 * How long an earlier message of the same lane that is still queued holds a later one back: past this, it is
 * taken to be stuck (its job lost), and the later ones no longer wait for it.
 */
export const ORDER_PATIENCE_MS = 60 * 60_000;
/** How far back a message looks for earlier ones still queued (its thread's newest messages). */
const ORDER_LOOKBACK = 10;
/** The pause before a message held back by an earlier one looks again. */
const ORDER_WAIT_SECONDS = 2;

export interface OutboundDeps {
  readonly store: ConversationStore;
  readonly secrets: SecretStore;
  readonly clock: Clock;
  readonly log: Log;
  readonly fetch: typeof globalThis.fetch;
  readonly apiBaseUrls: Partial<Record<Channel, string>>;
  readonly connectorFor: (channel: Channel) => OutboundConnector | undefined;
  /** Puts a job on its channel's queue: the fallback when recording an accepted send fails. */
  readonly requeue: (job: OutboundJob) => Promise<void>;
  /** Counts what happened, per channel (EMF metrics in AWS). */
  readonly metrics?: { count(name: 'MessagesSent' | 'MessagesFailed' | 'MessagesRetried', channel: Channel): void };
  /**
   * Pacing of provider calls within each channel's declared throughput (domain/delivery/pacing.ts); absent:
   * unpaced. `maxWaitMs`: how long a call waits for its turn inside one attempt before the job is postponed.
   */
  readonly pacing?: { readonly deps: PacingDeps; readonly maxWaitMs: Readonly<Record<Lane, number>> } | undefined;
  /**
   * Whether a campaign was cancelled: its messages not sent yet are not sent. `fresh`: the last look, right before
   * the provider call, which must see a cancel answered a moment ago (no cached state).
   */
  readonly campaignCancelled?: ((campaignId: string, options?: { readonly fresh?: boolean }) => Promise<boolean>) | undefined;
  /**
   * The consent verdict of now for a proactive message (see consent.ts `consentAtSend`): one whose contact opted out
   * since it was queued fails as `no_consent` instead of going. Absent: not checked again.
   */
  readonly consentAtSend?: ((message: StoredMessage) => Promise<ConsentVerdict | undefined>) | undefined;
  /** Counts sends against a monthly quota (LINE pushes), per account and month. */
  readonly countQuota?: ((channel: Channel, accountId: string, at: Date, messages: number) => Promise<void>) | undefined;
}

/** Which delivery attempt this is, as the queue counts them. */
export interface Attempt extends AttemptCount {
  /** Identifies this delivery of the job (the queue's receipt handle), for the sending claim. */
  readonly claimToken: string;
  /** How long the claim holds: the queue's visibility timeout, after which the job is redelivered anyway. */
  readonly claimSeconds: number;
}

export type DeliveryOutcome =
  | { readonly kind: 'sent'; readonly externalIds: readonly string[] }
  | { readonly kind: 'done'; readonly reason: string }
  /**
   * Not now, and not a failure: an earlier message to the same recipient has not left yet, or the provider's rate
   * has no turn soon. The job goes back on its queue with this delay (a fresh message: no attempt is used up).
   */
  | { readonly kind: 'wait'; readonly delaySeconds: number; readonly reason: string }
  | RetryDecision;

/** Tries of a write that records what a provider already did, before it is handed to a `record` job. */
const RECORD_TRIES = 5;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const deliver = async (job: OutboundJob, attempt: Attempt, deps: OutboundDeps): Promise<DeliveryOutcome> => {
  switch (job.kind) {
    case 'deliver':
      return deliverMessage(job.threadId, job.messageId, attempt, deps, job.job);
    case 'record':
      await recordSent(job.threadId, job.messageId, job.externalIds, job.at, deps);
      return { kind: 'sent', externalIds: job.externalIds };
    case 'action':
      return performAction(job.event, attempt, deps);
  }
};

/** The thread a message's route is on: its own, or the survivor's after a merge. */
const liveThread = async (store: ConversationStore, threadId: string): Promise<StoredThread | undefined> => {
  let id = threadId;
  for (let hops = 0; hops < 10; hops++) {
    const thread = await store.getThread(id);
    if (!thread?.value.mergedInto) return thread?.value;
    id = thread.value.mergedInto;
  }
  return undefined;
};

/** The campaign was cancelled while its message waited for its turn: nothing of it may leave. */
class CampaignCancelledError extends PermanentProviderError {
  constructor() {
    super('the campaign was cancelled before this message was sent', CAMPAIGN_CANCELLED);
    this.name = 'CampaignCancelledError';
  }
}

/** `fetch` that runs `check` before each call; `check` throws to stop the call. */
const checkedFetch = (fetch: typeof globalThis.fetch, check: (() => Promise<void>) | undefined): typeof globalThis.fetch =>
  check === undefined
    ? fetch
    : async (input, init) => {
        await check();
        return fetch(input, init);
      };

const deliverMessage = async (
  threadId: string,
  messageId: string,
  attempt: Attempt,
  deps: OutboundDeps,
  jobId?: string,
): Promise<DeliveryOutcome> => {
  const { store } = deps;
  let message = await store.getMessage(threadId, messageId);
  if (!message) return { kind: 'done', reason: 'message no longer exists' };
  const owner = message.value.deliveredBy;
  if (jobId !== undefined && owner !== undefined && owner !== jobId) {
    // Another job claimed it first and keeps it, through its retries (its queue message lives until it is done).
    return { kind: 'done', reason: `delivered by job ${owner}` };
  }
  if (message.value.acceptedAt !== undefined && message.value.status === 'queued') {
    // Accepted by the provider by an earlier attempt whose record failed: record it, never send again.
    await recordSent(threadId, messageId, message.value.externalIds ?? [], message.value.acceptedAt, deps);
    return { kind: 'done', reason: 'already accepted by the provider' };
  }
  if (message.value.status === 'failed' && message.value.failure && isRetryableFailure(message.value.failure)) {
    // A job redriven from the dead-letter queue: its message failed for want of retries, so it goes again.
    message = await requeue(message, deps);
    if (!message) return { kind: 'done', reason: 'message no longer exists' };
  }
  if (message.value.status !== 'queued') return { kind: 'done', reason: `already ${message.value.status}` };

  const fail = async (failure: Failure): Promise<DeliveryOutcome> => {
    await markFailed(threadId, messageId, failure, deps);
    return { kind: 'failed', failure };
  };

  const campaignId = message.value.notification?.campaignId;
  if (campaignId !== undefined && deps.campaignCancelled && (await deps.campaignCancelled(campaignId))) {
    return fail({ kind: 'permanent', code: CAMPAIGN_CANCELLED, message: 'the campaign was cancelled before this message was sent' });
  }
  const consent = deps.consentAtSend && (await deps.consentAtSend(message.value));
  if (consent?.kind === 'refused') return fail({ kind: 'permanent', code: consent.code, message: consent.reason });

  const thread = await liveThread(store, threadId);
  const threadRoute = thread?.routes.find((r) => r.channel === message.value.channel && r.accountId === message.value.accountId);
  // A notification to a customer who has never written on the channel goes to the identity it names.
  const to = message.value.notification?.to;
  const route =
    threadRoute ??
    (to === undefined
      ? undefined
      : { channel: message.value.channel, accountId: message.value.accountId, conversation: { externalId: to, kind: 'direct' as const } });
  if (!route) return fail({ kind: 'permanent', message: `the thread has no ${message.value.channel} conversation to reply to` });
  const earlier = await earlierInLane(message.value, deps);
  if (earlier !== undefined) {
    return {
      kind: 'wait',
      delaySeconds: ORDER_WAIT_SECONDS,
      reason: `message ${earlier} to the same recipient was queued first and has not left yet`,
    };
  }
  const identity = await store.getIdentity({
    channel: route.channel,
    accountId: route.accountId,
    externalUserId: route.conversation.externalId,
  });
  if (identity?.value.unreachable) {
    return fail({ kind: 'permanent', message: `the customer cannot be reached on ${route.channel}: ${identity.value.unreachable.reason}` });
  }
  const content = message.value.content;
  if (!isOutboundContent(content)) return fail({ kind: 'invalid_request', message: `${content.type} content cannot be sent` });
  const channel = await senderFor(message.value.channel, message.value.accountId, deps);
  if ('failure' in channel) return fail(channel.failure);

  // Exclusive from here: a duplicate delivery of the job (SQS delivers at least once) must not send too.
  const claimed = await claim(threadId, messageId, attempt, deps, jobId, message);
  if (claimed.kind !== 'claimed') return claimed.outcome;
  let current = claimed.message;

  const sentParts = [...(current.value.externalIds ?? [])];
  const lane = laneOfMessage(current.value);
  // A campaign cancelled while its message waited for a pacing turn (seconds, behind the rest of the campaign):
  // look again, uncached, once the turn has come and before the provider hears of it; never between the parts of
  // a split text, which would leave it half sent.
  const campaignCancelled = deps.campaignCancelled;
  const lastLook =
    campaignId !== undefined && campaignCancelled
      ? async () => {
          if (sentParts.length === 0 && (await campaignCancelled(campaignId, { fresh: true }))) throw new CampaignCancelledError();
        }
      : undefined;
  const replyHandle =
    threadRoute?.replyHandle && Date.parse(threadRoute.replyHandle.expiresAt) > deps.clock.now().getTime()
      ? threadRoute.replyHandle
      : undefined;
  const pushes = channel.sender.capabilities.proactive?.kind === 'quota' && replyHandle === undefined;
  let result: SendResult;
  try {
    result = await channel.sender.send(
      {
        messageId: current.value.id,
        content,
        recipient: {
          accountId: route.accountId,
          conversation: route.conversation,
          ...(replyHandle && { replyHandle }),
        },
        sentParts: [...sentParts],
        ...(current.value.replyTo && { replyTo: current.value.replyTo }),
        ...(current.value.messageTag && { messageTag: current.value.messageTag }),
      },
      {
        ...channel.context,
        fetch: paced(
          checkedFetch(channel.context.fetch, lastLook),
          channel.sender.capabilities.throughput,
          route.channel,
          route.accountId,
          route.conversation.externalId,
          lane,
          deps,
        ),
        onPartSent: async (externalId, more = true) => {
          sentParts.push(externalId);
          // The provider has the part: if a later part failed, a retry must not send it again, so record it
          // (insisting before giving up). The last part needs no record of its own: the send's record has it.
          if (more) current = await persistParts(current, sentParts, deps);
          if (pushes) {
            // Without a reply token LINE pushes, and every message object pushed counts against the monthly quota.
            await deps
              .countQuota?.(route.channel, route.accountId, deps.clock.now(), 1)
              .catch((error: unknown) =>
                deps.log.warn('push not counted against the quota', { error: error instanceof Error ? error.message : String(error) }),
              );
          }
        },
      },
    );
  } catch (error) {
    if (error instanceof PacingWaitError) {
      // Our own pace, not the provider's refusal: back on the queue for when the turn comes.
      await releaseClaim(threadId, messageId, attempt.claimToken, deps);
      return { kind: 'wait', delaySeconds: Math.max(1, Math.min(MAX_DELAY_SECONDS, error.retryAfterSeconds)), reason: error.message };
    }
    if (error instanceof CampaignCancelledError) return fail({ kind: 'permanent', code: CAMPAIGN_CANCELLED, message: error.message });
    if (error instanceof RateLimitedError && deps.pacing) {
      // The provider throttles the whole account (Telegram: every chat): every sender of it waits as long.
      const throughput = channel.sender.capabilities.throughput;
      if (throughput)
        await holdBack(deps.pacing.deps, accountPacingKey(route.channel, route.accountId), throughput, error.retryAfterSeconds);
    }
    const decision = decideRetry(error, attempt);
    deps.log.warn('outbound delivery failed', {
      threadId,
      messageId,
      channel: current.value.channel,
      outcome: decision.kind,
      failure: decision.failure,
    });
    if (error instanceof PermanentProviderError && error.recipientUnreachable) {
      await markUnreachable(route.channel, route.accountId, route.conversation.externalId, error.message, deps);
    }
    if (decision.kind === 'retry') {
      deps.metrics?.count('MessagesRetried', current.value.channel);
      await releaseClaim(threadId, messageId, attempt.claimToken, deps);
      return decision;
    }
    await markFailed(threadId, messageId, decision.failure, deps);
    return decision;
  }

  // The provider accepted it: from here on only the record may be retried, never the send.
  const at = deps.clock.now().toISOString();
  for (let tries = 1; ; tries++) {
    try {
      await recordSent(threadId, messageId, result.externalIds, at, deps, tries === 1 ? current : undefined);
      break;
    } catch (error) {
      if (tries < RECORD_TRIES) {
        await pause(100 * 2 ** tries);
        continue;
      }
      deps.log.error('sent, but the send could not be recorded; a record job takes over', {
        threadId,
        messageId,
        error: error instanceof Error ? error.message : String(error),
      });
      // The claim stays: a redelivery of this job finds it held, and the record job records the send.
      await deps.requeue({ kind: 'record', channel: current.value.channel, threadId, messageId, externalIds: result.externalIds, at });
      break;
    }
  }
  deps.metrics?.count('MessagesSent', current.value.channel);
  return { kind: 'sent', externalIds: result.externalIds };
};

/**
 * A later message never overtakes an earlier one to the same recipient on the same lane: the id of an earlier
 * outbound message on this thread, channel and account that is still queued (and not older than
 * {@link ORDER_PATIENCE_MS}), or undefined. Message ids sort by when they were queued.
 */
const earlierInLane = async (message: StoredMessage, deps: OutboundDeps): Promise<string | undefined> => {
  const lane = laneOfMessage(message);
  const horizon = deps.clock.now().getTime() - ORDER_PATIENCE_MS;
  const page = await deps.store.listMessages([message.threadId], ORDER_LOOKBACK, undefined, 'newest');
  const blocking = page.items.find(
    (m) =>
      m.id < message.id &&
      m.threadId === message.threadId &&
      m.direction === 'outbound' &&
      m.status === 'queued' &&
      m.acceptedAt === undefined &&
      m.channel === message.channel &&
      m.accountId === message.accountId &&
      laneOfMessage(m) === lane &&
      millis(m.occurredAt) >= horizon,
  );
  return blocking?.id;
};

/** The sender's fetch, each call paced on the account's rate (and the conversation's, where the channel has one). */
const paced = (
  fetch: typeof globalThis.fetch,
  throughput: ChannelSender['capabilities']['throughput'],
  channel: Channel,
  accountId: string,
  conversation: string | undefined,
  lane: Lane,
  deps: OutboundDeps,
): typeof globalThis.fetch => {
  const pacing = deps.pacing;
  if (!pacing || !throughput) return fetch;
  const maxWaitMs = pacing.maxWaitMs[lane];
  return pacedFetch(fetch, async () => {
    if (throughput.perConversation && conversation !== undefined) {
      await takeTurn(
        pacing.deps,
        conversationPacingKey(channel, accountId, conversation),
        throughput.perConversation,
        'interactive',
        maxWaitMs,
      );
    }
    await takeTurn(pacing.deps, accountPacingKey(channel, accountId), throughput, lane, maxWaitMs);
  });
};

type ClaimResult =
  | { readonly kind: 'claimed'; readonly message: Versioned<StoredMessage> }
  | { readonly kind: 'not'; readonly outcome: DeliveryOutcome };

/**
 * Claims the queued message for this delivery until the queue would redeliver it. A claim held by another
 * delivery is respected until it lapses; the same delivery may claim again.
 */
const claim = (
  threadId: string,
  messageId: string,
  attempt: Attempt,
  deps: OutboundDeps,
  jobId?: string,
  read?: Versioned<StoredMessage>,
): Promise<ClaimResult> => {
  let first = read;
  return retryOnConflict(async (): Promise<ClaimResult> => {
    // The message as the delivery just read it, on the first try; read again after a conflict.
    const message = first ?? (await deps.store.getMessage(threadId, messageId));
    first = undefined;
    if (message?.value.status !== 'queued') return { kind: 'not', outcome: { kind: 'done', reason: 'no longer queued' } };
    const owner = message.value.deliveredBy;
    if (jobId !== undefined && owner !== undefined && owner !== jobId)
      return { kind: 'not', outcome: { kind: 'done', reason: `delivered by job ${owner}` } };
    const now = deps.clock.now();
    const held = message.value.claim;
    if (held && held.token !== attempt.claimToken && Date.parse(held.until) > now.getTime()) {
      return {
        kind: 'not',
        outcome: {
          kind: 'retry',
          delaySeconds: Math.min(MAX_DELAY_SECONDS, attempt.claimSeconds),
          failure: { kind: 'retryable', message: 'another delivery of this message is in progress', attempts: attempt.receiveCount },
        },
      };
    }
    if (held && held.token !== attempt.claimToken) {
      // The holder stopped without recording an outcome: its send may or may not have reached the provider.
      deps.log.warn('a lapsed sending claim is taken over; the earlier attempt ended without a record', { threadId, messageId });
    }
    const claimed: StoredMessage = {
      ...message.value,
      claim: { token: attempt.claimToken, until: new Date(now.getTime() + attempt.claimSeconds * 1000).toISOString() },
      ...(owner === undefined && jobId !== undefined && { deliveredBy: jobId }),
    };
    await deps.store.commit([{ kind: 'message', op: 'put', value: claimed, version: message.version }]);
    return { kind: 'claimed', message: { value: claimed, version: message.version + 1 } };
  });
};

const releaseClaim = (threadId: string, messageId: string, token: string, deps: OutboundDeps) =>
  retryOnConflict(async () => {
    const message = await deps.store.getMessage(threadId, messageId);
    if (!message || message.value.claim?.token !== token) return;
    const { claim: _claim, ...released } = message.value;
    await deps.store.commit([{ kind: 'message', op: 'put', value: released, version: message.version }]);
  });

const persistParts = async (
  message: Versioned<StoredMessage>,
  externalIds: readonly string[],
  deps: OutboundDeps,
): Promise<Versioned<StoredMessage>> =>
  retryOnConflict(async () => {
    const current = (await deps.store.getMessage(message.value.threadId, message.value.id)) ?? message;
    // Never shortens the recorded list: a stale attempt that knows fewer parts changes nothing.
    if ((current.value.externalIds ?? []).length >= externalIds.length) return current;
    const next: StoredMessage = { ...current.value, externalId: externalIds[0], externalIds: [...externalIds] };
    await deps.store.commit([{ kind: 'message', op: 'put', value: next, version: current.version }]);
    await pointAt(next, externalIds, deps);
    return { value: next, version: current.version + 1 };
  }, 12);

/**
 * Records an accepted send: the provider's ids point at the message (for its status webhooks) before the
 * message says `sent`, so a crash in between leaves nothing a status report cannot find.
 */
const recordSent = (
  threadId: string,
  messageId: string,
  externalIds: readonly string[],
  at: string,
  deps: OutboundDeps,
  known?: Versioned<StoredMessage>,
) => {
  let first = known;
  return retryOnConflict(async () => {
    // The message as this delivery last wrote it, on the first try (no read); read again after a conflict.
    const message = first ?? (await deps.store.getMessage(threadId, messageId));
    first = undefined;
    if (!message) return;
    await pointAt(message.value, externalIds, deps);
    const change = advanceStatus({ ...message.value, acceptedAt: message.value.acceptedAt ?? at }, { status: 'sent', at, externalIds });
    if (!change.changed) return;
    await deps.store.commit([{ kind: 'message', op: 'put', value: change.message, version: message.version, events: change.events }]);
  }, 12);
};

const pointAt = async (message: StoredMessage, externalIds: readonly string[], deps: OutboundDeps) => {
  for (const externalId of externalIds) {
    // Written without looking first: the create-only condition keeps an existing pointer.
    try {
      await deps.store.commit([
        {
          kind: 'pointer',
          op: 'put',
          value: {
            channel: message.channel,
            accountId: message.accountId,
            externalId,
            threadId: message.threadId,
            messageId: message.id,
            ...(message.expiresAt !== undefined && { expiresAt: message.expiresAt }),
          },
          version: NEW_RECORD,
        },
      ]);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error; // pointed meanwhile (an echo): it keeps its first owner
    }
  }
};

const markFailed = (threadId: string, messageId: string, failure: Failure, deps: OutboundDeps) =>
  retryOnConflict(async () => {
    const message = await deps.store.getMessage(threadId, messageId);
    if (!message || !canAdvance(message.value.status, 'failed')) return;
    const change = advanceStatus(message.value, { status: 'failed', at: deps.clock.now().toISOString(), failure });
    await deps.store.commit([{ kind: 'message', op: 'put', value: change.message, version: message.version, events: change.events }]);
    deps.metrics?.count('MessagesFailed', message.value.channel);
  });

/** A failed message goes back to `queued` (a redrive, the API's retry): its failure is kept in the log, not on the message. */
export const requeue = (
  message: Versioned<StoredMessage>,
  deps: Pick<OutboundDeps, 'store' | 'clock' | 'log'>,
): Promise<Versioned<StoredMessage> | undefined> =>
  retryOnConflict(async () => {
    const current = await deps.store.getMessage(message.value.threadId, message.value.id);
    if (current?.value.status !== 'failed') return current;
    deps.log.info('failed message queued again', {
      threadId: current.value.threadId,
      messageId: current.value.id,
      failure: current.value.failure,
    });
    // Queued again, it belongs to whichever job claims it next (the redriven one, or the relay's for the API's retry).
    const { failure: _failure, claim: _claim, deliveredBy: _owner, ...rest } = current.value;
    const { acceptedAt: _acceptedAt, externalId: _externalId, externalIds: _externalIds, ...unsent } = rest;
    const at = deps.clock.now().toISOString();
    // Parts an earlier attempt sent stay recorded, so the send resumes after them; but a message the provider
    // accepted whole and then reported failed is sent anew (kept as accepted, it would only be marked sent again).
    const queued: StoredMessage = { ...(rest.acceptedAt === undefined ? rest : unsent), status: 'queued' };
    await deps.store.commit([
      {
        kind: 'message',
        op: 'put',
        value: queued,
        version: current.version,
        events: [
          onceEvent('message.status', at, [queued.threadId, queued.id, 'requeued', at], { status: 'queued', previousStatus: 'failed' }),
        ],
      },
    ]);
    return { value: queued, version: current.version + 1 };
  });

const markUnreachable = (channel: Channel, accountId: string, externalUserId: string, reason: string, deps: OutboundDeps) =>
  retryOnConflict(async () => {
    const identity = await deps.store.getIdentity({ channel, accountId, externalUserId });
    if (!identity || identity.value.unreachable) return;
    const at = deps.clock.now().toISOString();
    await commitIdentity({ ...identity.value, unreachable: { reason, since: at } }, identity.version, deps, [
      onceEvent('channel.identity.unreachable', at, [channel, accountId, externalUserId, at], {
        contactId: identity.value.contactId,
        identity: { channel, accountId, externalUserId },
        reason,
      }),
    ]);
  });

const performAction = async (event: ProviderActionEvent, attempt: Attempt, deps: OutboundDeps): Promise<DeliveryOutcome> => {
  const channel = await senderFor(event.channel, event.accountId, deps);
  if ('failure' in channel) return { kind: 'failed', failure: channel.failure };
  try {
    const fetch = paced(
      channel.context.fetch,
      channel.sender.capabilities.throughput,
      event.channel,
      event.accountId,
      undefined,
      'interactive',
      deps,
    );
    await channel.sender.perform(event.action, event.params, { ...channel.context, fetch, onPartSent: async () => {} });
    return { kind: 'done', reason: `${event.action} performed` };
  } catch (error) {
    const decision = decideRetry(error, attempt);
    deps.log.warn('provider action failed', {
      channel: event.channel,
      action: event.action,
      outcome: decision.kind,
      failure: decision.failure,
    });
    return decision;
  }
};

const senderFor = async (
  channel: Channel,
  accountId: string,
  deps: OutboundDeps,
): Promise<{ sender: ChannelSender; context: Omit<SendContext, 'onPartSent'> } | { failure: Failure }> => {
  const connector = deps.connectorFor(channel);
  if (!connector) return { failure: { kind: 'permanent', message: `no connector for ${channel}` } };
  const credentials = await deps.secrets.get(channel, accountId);
  if (!hasCredentials(credentials, connector.credentialNames.outbound)) {
    const missing = connector.credentialNames.outbound.join(', ');
    return { failure: { kind: 'authentication', message: `${channel} account ${accountId} has no ${missing} configured` } };
  }
  return {
    sender: connector.sender,
    context: { credentials, apiBaseUrl: deps.apiBaseUrls[channel] ?? connector.defaultApiBaseUrl, fetch: deps.fetch },
  };
};
