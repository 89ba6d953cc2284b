/**
 * Delivers one outbound job: an agent's message or a provider action. Decides from the error's type alone
 * whether to retry (and after how long), or to give up and record why. Never sends a message twice on
 * its own account: only `queued` messages are sent, and parts already accepted are not sent again.
 */
import { hasCredentials, type ChannelSender, type OutboundConnector, type SendContext } from './connector.ts';
import type { Channel } from './content.ts';
import { isOutboundContent } from './content.ts';
import type { ProviderActionEvent } from './events.ts';
import type { Failure, Message } from './model.ts';
import type { Clock, Log, OutboundJob, SecretStore, ThreadStore } from './ports.ts';
import { PermanentProviderError, ProviderError, RateLimitedError } from './provider-errors.ts';

export interface OutboundDeps {
  readonly store: ThreadStore;
  readonly secrets: SecretStore;
  readonly clock: Clock;
  readonly log: Log;
  readonly fetch: typeof globalThis.fetch;
  readonly apiBaseUrls: Partial<Record<Channel, string>>;
  readonly connectorFor: (channel: Channel) => OutboundConnector | undefined;
}

/** Which delivery attempt this is, as the queue counts them. */
export interface Attempt {
  readonly receiveCount: number;
  readonly maxReceiveCount: number;
  /** Identifies this delivery of the job (the queue's receipt handle), for the sending claim. */
  readonly claimToken: string;
  /** How long the claim holds: the queue's visibility timeout, after which the job is redelivered anyway. */
  readonly claimSeconds: number;
}

export type DeliveryOutcome =
  | { readonly kind: 'sent'; readonly externalIds: readonly string[] }
  | { readonly kind: 'done'; readonly reason: string }
  /** Try again after `delaySeconds`. */
  | { readonly kind: 'retry'; readonly delaySeconds: number; readonly failure: Failure }
  /** Recorded as failed; nothing more to do. */
  | { readonly kind: 'failed'; readonly failure: Failure }
  /** Retries used up: recorded as failed, and the job goes to the dead-letter queue for inspection. */
  | { readonly kind: 'exhausted'; readonly failure: Failure };

/** Longest delay SQS can give a message (ChangeMessageVisibility allows 12 h; a shorter cap keeps replies timely). */
const MAX_DELAY_SECONDS = 900;

/** Repeats a write a few times with short pauses: for writes that record what a provider already did. */
const persist = async <T>(write: () => Promise<T>, tries = 4): Promise<T> => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (attempt >= tries) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    }
  }
};

/** Exponential backoff with full jitter: 2, 4, 8 … seconds, capped. */
export const backoffSeconds = (receiveCount: number, random: () => number = Math.random): number => {
  const ceiling = Math.min(MAX_DELAY_SECONDS, 2 ** Math.max(1, receiveCount));
  return Math.max(1, Math.round(ceiling * (0.5 + random() / 2)));
};

export const deliver = async (job: OutboundJob, attempt: Attempt, deps: OutboundDeps): Promise<DeliveryOutcome> => {
  switch (job.kind) {
    case 'deliver':
      return deliverMessage(job.threadId, job.messageId, attempt, deps);
    case 'action':
      return performAction(job.event, attempt, deps);
  }
};

const deliverMessage = async (
  threadId: string,
  messageId: string,
  attempt: Attempt,
  deps: OutboundDeps,
): Promise<DeliveryOutcome> => {
  const { store } = deps;
  const message = await store.getMessage(threadId, messageId);
  if (!message) return { kind: 'done', reason: 'message no longer exists' };
  if (message.status !== 'queued') return { kind: 'done', reason: `already ${message.status}` };

  const fail = async (failure: Failure): Promise<DeliveryOutcome> => {
    await store.advanceStatus(threadId, messageId, { status: 'failed', at: deps.clock.now().toISOString(), failure });
    return { kind: 'failed', failure };
  };

  const thread = await store.getThread(threadId);
  const route = thread?.routes.find((r) => r.channel === message.channel && r.accountId === message.accountId);
  if (!route) return fail({ kind: 'permanent', message: `the thread has no ${message.channel} conversation to reply to` });
  const identity = await store.getIdentity(route.channel, route.accountId, route.conversation.externalId);
  if (identity?.unreachable) {
    return fail({ kind: 'permanent', message: `the customer cannot be reached on ${route.channel}: ${identity.unreachable.reason}` });
  }
  if (!isOutboundContent(message.content)) {
    return fail({ kind: 'invalid_request', message: `${message.content.type} content cannot be sent` });
  }
  const channel = await senderFor(message.channel, message.accountId, deps);
  if ('failure' in channel) return fail(channel.failure);

  // Exclusive from here: a duplicate delivery of the job (SQS delivers at least once) must not send too.
  const now = deps.clock.now();
  const claim = await store.claimForSending(threadId, messageId, {
    token: attempt.claimToken,
    now: now.toISOString(),
    until: new Date(now.getTime() + attempt.claimSeconds * 1000).toISOString(),
  });
  if (claim === 'not-queued') return { kind: 'done', reason: 'no longer queued' };
  if (claim === 'held-elsewhere') {
    return {
      kind: 'retry',
      delaySeconds: Math.min(MAX_DELAY_SECONDS, attempt.claimSeconds),
      failure: { kind: 'retryable', message: 'another delivery of this message is in progress', attempts: attempt.receiveCount },
    };
  }

  const sentParts = [...(message.externalIds ?? [])];
  try {
    const result = await channel.sender.send(
      {
        messageId: message.id,
        content: message.content,
        recipient: {
          accountId: route.accountId,
          conversation: route.conversation,
          ...(route.replyHandle && Date.parse(route.replyHandle.expiresAt) > deps.clock.now().getTime() && { replyHandle: route.replyHandle }),
        },
        sentParts: [...sentParts],
        ...(message.replyTo && { replyTo: message.replyTo }),
        ...(message.messageTag && { messageTag: message.messageTag }),
      },
      {
        ...channel.context,
        onPartSent: async (externalId) => {
          sentParts.push(externalId);
          // The provider has the part: failing now would send it again, so insist before giving up.
          await persist(() => store.recordSentParts(threadId, messageId, sentParts));
        },
      },
    );
    await persist(() =>
      store.advanceStatus(threadId, messageId, { status: 'sent', at: deps.clock.now().toISOString(), externalIds: result.externalIds }),
    );
    return { kind: 'sent', externalIds: result.externalIds };
  } catch (error) {
    const outcome = classify(error, attempt);
    deps.log.warn('outbound delivery failed', { threadId, messageId, channel: message.channel, ...outcome });
    if (error instanceof PermanentProviderError && error.recipientUnreachable) {
      await store.markIdentityUnreachable(
        route.channel,
        route.accountId,
        route.conversation.externalId,
        error.message,
        deps.clock.now().toISOString(),
      );
    }
    if (outcome.kind === 'retry') {
      await store.releaseSendingClaim(threadId, messageId, attempt.claimToken);
      return outcome;
    }
    await store.advanceStatus(threadId, messageId, {
      status: 'failed',
      at: deps.clock.now().toISOString(),
      failure: outcome.failure,
    });
    return outcome;
  }
};

const performAction = async (
  event: ProviderActionEvent,
  attempt: Attempt,
  deps: OutboundDeps,
): Promise<DeliveryOutcome> => {
  const channel = await senderFor(event.channel, event.accountId, deps);
  if ('failure' in channel) return { kind: 'failed', failure: channel.failure };
  try {
    await channel.sender.perform(event.action, event.params, { ...channel.context, onPartSent: async () => {} });
    return { kind: 'done', reason: `${event.action} performed` };
  } catch (error) {
    const outcome = classify(error, attempt);
    deps.log.warn('provider action failed', { channel: event.channel, action: event.action, ...outcome });
    return outcome;
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

/** Retry what may succeed later, until the queue's receive count runs out; give up on the rest at once. */
const classify = (error: unknown, attempt: Attempt): Exclude<DeliveryOutcome, { kind: 'sent' | 'done' }> => {
  const failure: Failure =
    error instanceof ProviderError
      ? error.toFailure(attempt.receiveCount)
      : { kind: 'retryable', message: error instanceof Error ? error.message : String(error), attempts: attempt.receiveCount };
  const retryable = failure.kind === 'retryable' || failure.kind === 'rate_limited';
  if (!retryable) return { kind: 'failed', failure };
  if (attempt.receiveCount >= attempt.maxReceiveCount) return { kind: 'exhausted', failure };
  const delaySeconds =
    error instanceof RateLimitedError
      ? Math.min(MAX_DELAY_SECONDS, Math.max(1, Math.ceil(error.retryAfterSeconds)))
      : backoffSeconds(attempt.receiveCount);
  return { kind: 'retry', delaySeconds, failure };
};

export type { Message };
