/**
 * Who a proactive message goes to: a contact (on a channel it chose, or the one the customer wrote on last), or a
 * channel identity (a Telegram user, a LINE user, a WhatsApp phone number). A channel identity Parley has not
 * seen yet gets one now, with a contact and a thread of its own, the way a first message creates them: the
 * notification is the first entry of that thread, and the customer's answer lands in it.
 */
import type { Channel } from '../content.ts';
import type { ChannelCapabilities } from '../connector.ts';
import { contactIdentityOf, normalizePhone } from '../conversations/identities.ts';
import type { Actor, ChannelRoute, Contact, Identity, IdentityKey, Link } from '../conversations/model.ts';
import type { ConversationStore, StoredThread } from '../conversations/ports.ts';
import { newThread } from '../conversations/threads.ts';
import { onceEvent } from '../events/outbox.ts';
import { randomId } from '../ids.ts';
import { NEW_RECORD, retryOnConflict, type Versioned } from '../shared/store.ts';
import type { RecipientRef } from './model.ts';

export { RecipientRefSchema } from './model.ts';
export type { RecipientRef } from './model.ts';

/** Why a recipient cannot be written to; the API answers with the code. */
export class RecipientError extends Error {
  constructor(
    readonly code: 'not_found' | 'channel_not_in_thread' | 'invalid_request',
    message: string,
  ) {
    super(message);
    this.name = 'RecipientError';
  }
}

export interface ResolvedRecipient {
  readonly contact: Contact;
  readonly thread: Versioned<StoredThread>;
  readonly identity: Identity;
  readonly channel: Channel;
  readonly accountId: string;
  /** Where replies on this channel and account go, when the customer has written there. */
  readonly route?: ChannelRoute;
  /** True when this call created the identity (and its contact and thread). */
  readonly created: boolean;
}

export interface RecipientDeps {
  readonly conversations: ConversationStore;
  /** What each channel is like: whether it knows people by their phone number. */
  readonly capabilities: (channel: Channel) => ChannelCapabilities | undefined;
  /** The ids the channel's default account goes by, the named one last (`default`, a WhatsApp phone number id). */
  readonly defaultAccounts: (channel: Channel) => Promise<readonly string[]>;
  /** Whether the channel has this account here (its default, or one registered); absent: not checked. */
  readonly knownAccount?: ((channel: Channel, accountId: string) => Promise<boolean>) | undefined;
}

/**
 * A channel that knows people by their phone number (WhatsApp's `wa_id`) takes its digits: `+1 (555) 010-0123` is
 * `15550100123`. Other channels' ids are taken as they are.
 */
export const channelUserId = (capabilities: ChannelCapabilities | undefined, externalUserId: string): string => {
  if (capabilities?.usersByPhone !== true) return externalUserId;
  const phone = normalizePhone(externalUserId);
  if (phone === undefined)
    throw new RecipientError('invalid_request', `${externalUserId} is not a phone number (E.164, like +15550100123)`);
  return phone.slice(1);
};

const liveThread = async (store: ConversationStore, threadId: string): Promise<Versioned<StoredThread>> => {
  let id = threadId;
  for (let hops = 0; hops < 10; hops++) {
    const thread = await store.getThread(id);
    if (!thread) throw new RecipientError('not_found', `thread ${id} does not exist`);
    if (thread.value.mergedInto === undefined) return thread;
    id = thread.value.mergedInto;
  }
  throw new Error(`thread ${threadId} is merged in a loop`);
};

/** The contact, or the one it was merged into. */
const liveContact = async (store: ConversationStore, contactId: string): Promise<Contact> => {
  let id = contactId;
  for (let hops = 0; hops < 10; hops++) {
    const contact = await store.getContact(id);
    if (!contact) throw new RecipientError('not_found', `No contact ${contactId}`);
    if (contact.value.state === 'erased') throw new RecipientError('not_found', `Contact ${contactId} was erased`);
    if (contact.value.state === 'active') return contact.value;
    if (contact.value.mergedInto === undefined) throw new RecipientError('not_found', `No contact ${contactId}`);
    id = contact.value.mergedInto;
  }
  throw new Error(`contact ${contactId} is merged in a loop`);
};

const routeOf = (thread: StoredThread, channel: Channel, accountId: string): ChannelRoute | undefined =>
  thread.routes.find((r) => r.channel === channel && r.accountId === accountId);

/**
 * Finds (or, with `create`, makes) the recipient. For a contact: the channel asked for, else the one the
 * customer wrote on last, else its first identity's. For a channel identity: on the account named, else on
 * the channel's default account.
 */
export const resolveRecipient = async (
  deps: RecipientDeps,
  ref: RecipientRef,
  options: { readonly channel?: Channel | undefined; readonly create: boolean; readonly by: Actor; readonly at: string },
): Promise<ResolvedRecipient> => {
  const store = deps.conversations;
  if ('contactId' in ref) {
    const contact = await liveContact(store, ref.contactId);
    const thread = await liveThread(store, contact.threadId);
    const direct = contact.identities.filter((i) => i.kind === 'direct');
    const channel =
      options.channel ?? thread.value.routes.find((r) => direct.some((i) => i.channel === r.channel))?.channel ?? direct[0]?.channel;
    if (channel === undefined)
      throw new RecipientError('channel_not_in_thread', `Contact ${ref.contactId} has no channel identity to write to`);
    const onChannel = direct.filter((i) => i.channel === channel);
    // The identity the customer last wrote from on that channel, else any of it.
    const route = thread.value.routes.find(
      (r) => r.channel === channel && onChannel.some((i) => i.accountId === r.accountId && i.externalUserId === r.conversation.externalId),
    );
    const key = route ? { channel, accountId: route.accountId, externalUserId: route.conversation.externalId } : onChannel[0];
    if (!key) {
      const channels = [...new Set(direct.map((i) => i.channel))].join(', ') || 'none';
      throw new RecipientError('channel_not_in_thread', `Contact ${ref.contactId} has no ${channel} identity; its channels: ${channels}`);
    }
    const identity = await store.getIdentity({ channel: key.channel, accountId: key.accountId, externalUserId: key.externalUserId });
    if (!identity) throw new RecipientError('not_found', `The ${channel} identity of contact ${ref.contactId} no longer exists`);
    const resolvedRoute = routeOf(thread.value, channel, key.accountId);
    return {
      contact,
      thread,
      identity: identity.value,
      channel,
      accountId: key.accountId,
      ...(resolvedRoute && { route: resolvedRoute }),
      created: false,
    };
  }

  if (options.channel !== undefined && options.channel !== ref.channel) {
    throw new RecipientError('invalid_request', `The recipient is a ${ref.channel} identity; \`channel\` cannot be ${options.channel}`);
  }
  const externalUserId = channelUserId(deps.capabilities(ref.channel), ref.externalUserId);
  // An account named that the channel does not have would get a contact no message can ever reach.
  if (ref.accountId !== undefined && deps.knownAccount && !(await deps.knownAccount(ref.channel, ref.accountId))) {
    throw new RecipientError('invalid_request', `No ${ref.channel} account ${ref.accountId} is registered here`);
  }
  const accounts = ref.accountId !== undefined ? [ref.accountId] : await deps.defaultAccounts(ref.channel);
  for (const accountId of accounts) {
    const identity = await store.getIdentity({ channel: ref.channel, accountId, externalUserId });
    if (identity) {
      const contact = await liveContact(store, identity.value.contactId);
      const thread = await liveThread(store, identity.value.threadId);
      const route = routeOf(thread.value, ref.channel, accountId);
      return { contact, thread, identity: identity.value, channel: ref.channel, accountId, ...(route && { route }), created: false };
    }
  }
  const accountId = accounts.at(-1);
  if (accountId === undefined || !options.create) {
    throw new RecipientError('not_found', `No ${ref.channel} identity ${ref.externalUserId} is known`);
  }
  return createRecipient(
    store,
    { channel: ref.channel, accountId, externalUserId },
    deps.capabilities(ref.channel)?.usersByPhone === true,
    options.by,
    options.at,
  );
};

/**
 * A channel identity Parley has not seen, with its own contact and thread, in one transaction (as a first
 * message makes them, but linked by whoever asked). A WhatsApp number becomes the contact's phone (not
 * verified: WhatsApp has not vouched for it yet).
 */
const createRecipient = (store: ConversationStore, key: IdentityKey, byPhone: boolean, by: Actor, at: string): Promise<ResolvedRecipient> =>
  retryOnConflict(async () => {
    const existing = await store.getIdentity(key);
    if (existing) {
      const contact = await liveContact(store, existing.value.contactId);
      const thread = await liveThread(store, existing.value.threadId);
      const route = routeOf(thread.value, key.channel, key.accountId);
      return {
        contact,
        thread,
        identity: existing.value,
        channel: key.channel,
        accountId: key.accountId,
        ...(route && { route }),
        created: false,
      };
    }
    const contactId = randomId('ct');
    const thread = newThread(randomId('th'), contactId, at);
    const link: Link = { reason: 'api_link', by, at };
    const identity: Identity = { ...key, kind: 'direct', contactId, threadId: thread.id, link, createdAt: at };
    // The number was given by the API, not vouched for by the provider: unverified until the customer writes.
    const phone = byPhone ? normalizePhone(key.externalUserId) : undefined;
    const contact: Contact = {
      id: contactId,
      state: 'active',
      ...(phone !== undefined && { phone, phoneVerified: false }),
      attributes: {},
      identities: [contactIdentityOf(identity)],
      threadId: thread.id,
      merges: [],
      createdAt: at,
      updatedAt: at,
    };
    await store.commit([
      { kind: 'identity', op: 'put', value: identity, version: NEW_RECORD },
      {
        kind: 'participant',
        op: 'put',
        value: { channel: key.channel, externalUserId: key.externalUserId, threadId: thread.id },
        version: NEW_RECORD,
      },
      { kind: 'contact', op: 'put', value: contact, version: NEW_RECORD, events: [onceEvent('contact.created', at, [contactId])] },
      {
        kind: 'thread',
        op: 'put',
        value: thread,
        version: NEW_RECORD,
        events: [onceEvent('thread.created', at, [thread.id], { changes: [] })],
      },
    ]);
    return { contact, thread: { value: thread, version: 1 }, identity, channel: key.channel, accountId: key.accountId, created: true };
  });
