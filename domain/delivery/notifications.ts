/**
 * Notifications: a message the business sends first (an order shipped, an appointment tomorrow), alone or as one
 * recipient's message of a campaign. A notification is an outbound message like a reply (a `StoredMessage` on the
 * contact's thread, author `system`, marked with its purpose), so the sender, its sending claims, its statuses and
 * the `message.*` events apply unchanged; it travels on the proactive lane (paced, behind replies to customers who
 * are waiting).
 *
 * Before it is queued every rule is checked, so a refusal comes back at once with its reason rather than from the
 * provider later: the channel carries the content, a registered template gets its parameters, the messaging
 * window allows it (`domain/delivery/windows.ts`), and the contact's consent covers its purpose
 * (`domain/delivery/consent.ts`; a marketing template is marketing whatever the request says).
 */
import type { AccountStore } from '../access/accounts.ts';
import { DEFAULT_ACCOUNT, defaultAccountIds, type AccountResolver } from '../accounts.ts';
import type { ChannelAccount, ChannelCapabilities } from '../connector.ts';
import type { Channel, OutboundContent } from '../content.ts';
import type { Actor } from '../conversations/model.ts';
import type { ConversationStore, StoredMessage } from '../conversations/ports.ts';
import { applyOutbound } from '../conversations/threads.ts';
import { onceEvent } from '../events/outbox.ts';
import type { MessageTag, Purpose } from '../model.ts';
import type { Credentials, SecretStore } from '../ports.ts';
import { ConflictError, NEW_RECORD, retryOnConflict } from '../shared/store.ts';
import { addSeconds } from '../shared/time.ts';
import { consentStatesOf, consentVerdict } from './consent.ts';
import type { Notification } from './model.ts';
import type { DeliveryStore } from './ports.ts';
import { RecipientError, resolveRecipient, type RecipientRef, type ResolvedRecipient } from './recipients.ts';
import { templateProblems } from './templates.ts';
import { windowVerdict, type WindowVia } from './windows.ts';

export { NotificationSchema } from './model.ts';
export type { Notification } from './model.ts';

/** Why a notification may not be queued, in the API's codes. */
export interface Refusal {
  readonly code:
    | 'outside_messaging_window'
    | 'no_consent'
    | 'unsupported_content'
    | 'invalid_template'
    | 'channel_unavailable'
    | 'channel_not_in_thread'
    | 'not_found'
    | 'invalid_request';
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface ProactiveDeps {
  readonly conversations: ConversationStore;
  readonly delivery: DeliveryStore;
  readonly capabilities: (channel: Channel) => ChannelCapabilities | undefined;
  /** The ids the channel's default account goes by (see recipients.ts). */
  readonly defaultAccounts: (channel: Channel) => Promise<readonly string[]>;
  /** Whether the channel has this account here (see recipients.ts); absent: not checked. */
  readonly knownAccount?: ((channel: Channel, accountId: string) => Promise<boolean>) | undefined;
  /** An account's own settings (its credentials): entitlements and the credentials writing first needs; undefined when unknown here. */
  readonly settings: (channel: Channel, accountId: string) => Promise<Credentials | undefined>;
  readonly retentionDays?: number | undefined;
}

/** What {@link proactiveDeps} makes the notification rules' dependencies from: a composition root's ports. */
export interface ProactivePorts {
  readonly conversations: ConversationStore;
  readonly delivery: DeliveryStore;
  readonly capabilities: (channel: Channel) => ChannelCapabilities | undefined;
  readonly account: (channel: Channel) => ChannelAccount | undefined;
  /** Channel credentials; without them, the default account is `default` and accounts' settings are unknown. */
  readonly secrets?: SecretStore | undefined;
  /** The registered accounts; without them, which accounts exist is not checked. */
  readonly accounts?: Pick<AccountStore, 'get'> | undefined;
  readonly accountIds?: AccountResolver | undefined;
  readonly retentionDays?: number | undefined;
}

export const proactiveDeps = (ports: ProactivePorts): ProactiveDeps => {
  const defaultAccounts = async (channel: Channel): Promise<readonly string[]> => {
    const account = ports.account(channel);
    if (!account || !ports.secrets || !ports.accountIds) return [DEFAULT_ACCOUNT];
    return defaultAccountIds(account, { secrets: ports.secrets, accounts: ports.accountIds });
  };
  return {
    conversations: ports.conversations,
    delivery: ports.delivery,
    capabilities: ports.capabilities,
    retentionDays: ports.retentionDays,
    defaultAccounts,
    // The default account by either id, or a registered one (with credentials of its own or the default's).
    knownAccount: async (channel, accountId) => {
      const accounts = ports.accounts;
      if (!accounts) return true;
      if ((await defaultAccounts(channel)).includes(accountId)) return true;
      return (await accounts.get(channel, accountId)) !== undefined;
    },
    settings: async (channel, accountId) => (ports.secrets ? ((await ports.secrets.get(channel, accountId)) ?? {}) : undefined),
  };
};

export interface NotificationRequest {
  readonly to: RecipientRef;
  readonly channel?: Channel | undefined;
  readonly content: OutboundContent;
  readonly purpose: Purpose;
  readonly messageTag?: MessageTag | undefined;
  readonly by: Actor;
  /** The message's id: derived from the idempotency key, or from the campaign and the recipient. */
  readonly messageId: (at: string) => string;
  readonly at: string;
  readonly campaign?: { readonly id: string; readonly recipient: number };
}

/** A notification's message: an outbound message that carries what made it a notification. */
export type NotificationMessage = StoredMessage & { readonly notification: NonNullable<StoredMessage['notification']> };

export type Plan =
  | { readonly kind: 'refused'; readonly refusal: Refusal }
  | {
      readonly kind: 'ready';
      readonly message: NotificationMessage;
      readonly recipient: ResolvedRecipient | ResolvedLater;
      readonly via: WindowVia;
    };

/** A recipient that does not exist yet: made only once every rule allowed the message. */
export interface ResolvedLater {
  readonly later: true;
  readonly ref: Extract<RecipientRef, { channel: Channel }>;
  readonly channel: Channel;
  readonly accountId: string;
}

const refused = (code: Refusal['code'], message: string, details?: Refusal['details']): Plan => ({
  kind: 'refused',
  refusal: { code, message, ...(details && { details }) },
});

/** Checks every rule and makes the message, without writing anything. */
export const planNotification = async (deps: ProactiveDeps, request: NotificationRequest): Promise<Plan> => {
  let recipient: ResolvedRecipient | ResolvedLater;
  try {
    recipient = await resolveRecipient(deps, request.to, { channel: request.channel, create: false, by: request.by, at: request.at });
  } catch (error) {
    if (!(error instanceof RecipientError)) throw error;
    if (error.code !== 'not_found' || 'contactId' in request.to) return refused(error.code, error.message);
    // A channel identity Parley has not seen: judged as a customer who never wrote and gave no consent.
    const accounts = request.to.accountId !== undefined ? [request.to.accountId] : await deps.defaultAccounts(request.to.channel);
    recipient = { later: true, ref: request.to, channel: request.to.channel, accountId: accounts.at(-1) ?? 'default' };
  }
  const { channel, accountId } = recipient;
  const capabilities = deps.capabilities(channel);
  if (!capabilities) return refused('channel_unavailable', `${channel} is not enabled on this deployment`);
  const { content } = request;
  if (!capabilities.outboundTypes.includes(content.type)) {
    return refused(
      'unsupported_content',
      `${channel} cannot carry ${content.type} content; it can carry: ${capabilities.outboundTypes.join(', ')}`,
    );
  }
  if (request.messageTag !== undefined && !capabilities.messageTags.includes(request.messageTag)) {
    return refused(
      'unsupported_content',
      `${channel} cannot send with the message tag ${request.messageTag}; its tags: ${capabilities.messageTags.join(', ') || 'none'}`,
    );
  }

  let purpose = request.purpose;
  if (content.type === 'template') {
    const template = await deps.delivery.getTemplate({ channel, accountId, name: content.name, language: content.language });
    if (template) {
      const problems = templateProblems(template.value, content);
      if (problems.length > 0) return refused('invalid_template', problems.join('; '), { problems });
      // A marketing template is marketing, whatever the request calls it: it needs the marketing opt-in.
      if (template.value.category === 'marketing') purpose = 'marketing';
    }
  }

  const route = 'later' in recipient ? undefined : recipient.route;
  const settings = await deps.settings(channel, accountId);
  const window = windowVerdict({
    channel,
    capabilities,
    route,
    contentType: content.type,
    messageTag: request.messageTag,
    purpose,
    now: new Date(request.at),
    settings,
  });
  if (window.kind === 'refused') {
    return refused(
      window.code,
      `${window.reason}.${window.allowedInstead.length > 0 ? ` Allowed instead: ${window.allowedInstead.join('; ')}.` : ''}`,
      {
        channel,
        allowedInstead: window.allowedInstead,
        ...(window.windowExpiresAt !== undefined && { windowExpiresAt: window.windowExpiresAt }),
      },
    );
  }

  const states = 'later' in recipient ? [] : await consentStatesOf(deps, recipient.contact);
  const consent = consentVerdict(states, channel, purpose);
  if (consent.kind === 'refused') return refused('no_consent', consent.reason, { channel, purpose });

  const contactId = 'later' in recipient ? '' : recipient.contact.id;
  const threadId = 'later' in recipient ? '' : recipient.thread.value.id;
  const externalUserId = 'later' in recipient ? '' : recipient.identity.externalUserId;
  const message: NotificationMessage = {
    id: request.messageId(request.at),
    threadId,
    contactId,
    direction: 'outbound',
    channel,
    accountId,
    occurredAt: request.at,
    author: { role: 'system', ...(request.by.id !== undefined && { id: request.by.id }) },
    content,
    ...(request.messageTag !== undefined && { messageTag: request.messageTag }),
    status: 'queued',
    notification: {
      purpose,
      ...(request.campaign && { campaignId: request.campaign.id, recipient: request.campaign.recipient }),
      // A customer who never wrote here has no route: the sender writes to the identity itself.
      ...(route === undefined && externalUserId !== '' && { to: externalUserId }),
    },
    ...(deps.retentionDays !== undefined && { expiresAt: addSeconds(request.at, deps.retentionDays * 86_400) }),
  };
  return { kind: 'ready', message, recipient, via: window.via };
};

/**
 * Writes a planned notification: makes its recipient if it is new, stores the message (which queues it: the outbox
 * relay sends it to the channel's proactive lane) and records it on the thread. Writing it again finds the message
 * written the first time; answers the message as stored.
 */
export const queueNotification = async (
  deps: ProactiveDeps,
  plan: Extract<Plan, { kind: 'ready' }>,
  by: Actor,
  options: { readonly pointer: boolean },
): Promise<StoredMessage> => {
  let message = plan.message;
  if ('later' in plan.recipient) {
    const made = await resolveRecipient(deps, plan.recipient.ref, { create: true, by, at: message.occurredAt });
    message = {
      ...message,
      threadId: made.thread.value.id,
      contactId: made.contact.id,
      accountId: made.accountId,
      notification: { ...message.notification, ...(made.route === undefined && { to: made.identity.externalUserId }) },
    };
  }
  const store = deps.conversations;
  try {
    await store.commit([
      {
        kind: 'message',
        op: 'put',
        value: message,
        version: NEW_RECORD,
        events: [onceEvent('message.created', message.occurredAt, [message.threadId, message.id])],
      },
    ]);
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    const existing = await store.getMessage(message.threadId, message.id);
    if (!existing) throw error;
    return existing.value;
  }
  await retryOnConflict(async () => {
    const thread = await store.getThread(message.threadId);
    if (!thread) return;
    const change = applyOutbound(thread.value, { channel: message.channel, at: message.occurredAt, byAgent: false });
    await store.commit([{ kind: 'thread', op: 'put', value: change.thread, version: thread.version }]);
  });
  if (options.pointer) {
    try {
      await deps.delivery.commit([
        {
          kind: 'notification',
          op: 'put',
          value: { id: message.id, threadId: message.threadId, contactId: message.contactId ?? '', createdAt: message.occurredAt },
          version: NEW_RECORD,
        },
      ]);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
  }
  return message;
};

/** A notification as the API shows it, from its message. */
export const notificationOf = (message: StoredMessage): Notification => ({
  id: message.id,
  status: message.status,
  ...(message.failure && { failure: message.failure }),
  purpose: message.notification?.purpose ?? 'transactional',
  channel: message.channel,
  accountId: message.accountId,
  threadId: message.threadId,
  contactId: message.contactId ?? '',
  ...(message.externalId !== undefined && { externalId: message.externalId }),
  ...(message.notification?.campaignId !== undefined && { campaignId: message.notification.campaignId }),
  createdAt: message.occurredAt,
});
