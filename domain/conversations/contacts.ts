/**
 * One customer across channels: a contact's profile, linking an identity to it, merging two contacts into one
 * (and undoing it), and erasing a contact's personal data. Every change is one transaction over the records it
 * touches, conditional on the versions read, so a merge racing new messages on either identity loses and
 * doubles nothing: the loser of the race reads again and retries.
 *
 * A merge moves no message. The surviving thread reads the merged thread's messages as part of its own
 * (`Thread.mergedThreads`), and a message written to the merged thread while the merge happens is still part of
 * it. Undoing the merge takes the merged thread and identities back out, as they were.
 */
import type { IdentityKey } from './model.ts';
import { freshEvent, onceEvent, type PendingEvent } from '../events/outbox.ts';
import { retryOnConflict, NEW_RECORD, type Versioned } from '../shared/store.ts';
import { later, millis } from '../shared/time.ts';
import { contactIdentityOf, identityLinked, normalizePhone, participantUnlessListed, sameIdentity, withIdentity } from './identities.ts';
import type { Actor, Attributes, ChannelRoute, Contact, Identity, Link, MergeRecord } from './model.ts';
import type { ConversationStore, ConversationWrite, StoredThread } from './ports.ts';

export class ContactRuleError extends Error {
  constructor(
    readonly code: 'not_found' | 'invalid_request' | 'conflict',
    message: string,
  ) {
    super(message);
    this.name = 'ContactRuleError';
  }
}

/** At most this many identities move in one merge (a transaction writes at most 100 records). */
export const MAX_MERGED_IDENTITIES = 90;

const activeContact = async (store: ConversationStore, id: string): Promise<Versioned<Contact>> => {
  const contact = await store.getContact(id);
  if (!contact) throw new ContactRuleError('not_found', `No contact ${id}`);
  if (contact.value.state === 'merged') {
    throw new ContactRuleError('conflict', `Contact ${id} was merged into ${contact.value.mergedInto ?? 'another contact'}`);
  }
  if (contact.value.state === 'erased') throw new ContactRuleError('conflict', `Contact ${id} was erased`);
  return contact;
};

const threadOf = async (store: ConversationStore, id: string): Promise<Versioned<StoredThread>> => {
  const thread = await store.getThread(id);
  if (!thread) throw new Error(`thread ${id} does not exist`);
  return thread;
};

export interface ProfileChange {
  readonly name?: string | null;
  readonly phone?: string | null;
  readonly email?: string | null;
  readonly locale?: string | null;
  readonly attributes?: Attributes;
}

/** Profile fields set (null clears one), attributes set (null removes one). A phone set here is not verified. */
export const updateProfile = (store: ConversationStore, contactId: string, change: ProfileChange, at: string): Promise<Contact> =>
  retryOnConflict(async () => {
    const current = await activeContact(store, contactId);
    const next: Contact = { ...current.value };
    const changes: string[] = [];
    const set = <K extends 'name' | 'email' | 'locale'>(field: K, value: string | null | undefined) => {
      if (value === undefined) return;
      if (value === null) {
        if (next[field] !== undefined) changes.push(field);
        delete next[field];
      } else if (next[field] !== value) {
        next[field] = value;
        changes.push(field);
      }
    };
    set('name', change.name);
    set('email', change.email === undefined || change.email === null ? change.email : change.email.trim().toLowerCase());
    set('locale', change.locale);
    if (change.phone !== undefined) {
      const phone = change.phone === null ? null : normalizePhone(change.phone);
      if (phone === undefined)
        throw new ContactRuleError(
          'invalid_request',
          `phone ${JSON.stringify(change.phone)} is not a phone number (E.164, like +14155550123)`,
        );
      if (phone === null ? next.phone !== undefined : next.phone !== phone) {
        changes.push('phone');
        if (phone === null) {
          delete next.phone;
          delete next.phoneVerified;
        } else {
          next.phone = phone;
          next.phoneVerified = false;
        }
      }
    }
    if (change.attributes) {
      const attributes = { ...next.attributes };
      for (const [name, value] of Object.entries(change.attributes)) {
        if (value === null) delete attributes[name];
        else attributes[name] = value;
      }
      if (Object.keys(attributes).length > 50) throw new ContactRuleError('invalid_request', 'a contact has at most 50 attributes');
      if (JSON.stringify(Object.entries(attributes).sort()) !== JSON.stringify(Object.entries(next.attributes).sort())) {
        next.attributes = attributes;
        changes.push('attributes');
      }
    }
    if (changes.length === 0) return current.value;
    next.updatedAt = later(next.updatedAt, at);
    await store.commit([
      { kind: 'contact', op: 'put', value: next, version: current.version, events: [freshEvent('contact.updated', at, { changes })] },
    ]);
    return next;
  });

/** The routes of two threads as one: per channel, the newest. */
const mergeRoutes = (a: readonly ChannelRoute[], b: readonly ChannelRoute[]): ChannelRoute[] => {
  const byChannel = new Map<string, ChannelRoute>();
  for (const route of [...a, ...b]) {
    const existing = byChannel.get(route.channel);
    if (!existing || millis(route.lastInboundAt) > millis(existing.lastInboundAt)) byChannel.set(route.channel, route);
  }
  return [...byChannel.values()].sort((x, y) => millis(y.lastInboundAt) - millis(x.lastInboundAt));
};

const optionalMax = (a: string | undefined, b: string | undefined): string | undefined =>
  a === undefined ? b : b === undefined ? a : later(a, b);
const optionalMin = (a: string | undefined, b: string | undefined): string | undefined =>
  a === undefined ? b : b === undefined ? a : millis(a) <= millis(b) ? a : b;

const STATUS_ORDER = { open: 0, pending: 1, snoozed: 2, resolved: 3 } as const;

/** The surviving thread after absorbing another: both histories, both channels, the livelier status. */
export const absorbThread = (survivor: StoredThread, merged: StoredThread, at: string): StoredThread => {
  const status = STATUS_ORDER[merged.status] < STATUS_ORDER[survivor.status] ? merged.status : survivor.status;
  const { snoozedUntil: _snooze, ...rest } = survivor;
  const lastCustomerMessageAt = optionalMax(survivor.lastCustomerMessageAt, merged.lastCustomerMessageAt);
  const lastAgentMessageAt = optionalMax(survivor.lastAgentMessageAt, merged.lastAgentMessageAt);
  const firstResponseAt = optionalMin(survivor.firstResponseAt, merged.firstResponseAt);
  const snoozedUntil = status === 'snoozed' ? (survivor.status === 'snoozed' ? survivor.snoozedUntil : merged.snoozedUntil) : undefined;
  return {
    ...rest,
    status,
    ...(snoozedUntil !== undefined && { snoozedUntil }),
    channels: [...new Set([...survivor.channels, ...merged.channels])],
    routes: mergeRoutes(survivor.routes, merged.routes),
    ...((lastCustomerMessageAt !== undefined && lastCustomerMessageAt === merged.lastCustomerMessageAt
      ? merged.lastInboundChannel
      : survivor.lastInboundChannel) !== undefined && {
      lastInboundChannel: lastCustomerMessageAt === merged.lastCustomerMessageAt ? merged.lastInboundChannel : survivor.lastInboundChannel,
    }),
    assignee: survivor.assignee ?? merged.assignee,
    tags: [...new Set([...survivor.tags, ...merged.tags])].sort().slice(0, 50),
    attributes: { ...merged.attributes, ...survivor.attributes },
    unread: survivor.unread + merged.unread,
    // What either thread counted stays counted: a merged thread's message delivered again after the merge lands here.
    ...((survivor.counted !== undefined || merged.counted !== undefined) && {
      counted: [...new Set([...(survivor.counted ?? []), ...(merged.counted ?? [])])],
    }),
    mergedThreads: [...new Set([...(survivor.mergedThreads ?? []), merged.id, ...(merged.mergedThreads ?? [])])],
    createdAt: millis(merged.createdAt) < millis(survivor.createdAt) ? merged.createdAt : survivor.createdAt,
    updatedAt: later(later(survivor.updatedAt, merged.updatedAt), at),
    lastMessageAt: later(survivor.lastMessageAt, merged.lastMessageAt),
    ...(lastCustomerMessageAt !== undefined && { lastCustomerMessageAt }),
    ...(lastAgentMessageAt !== undefined && { lastAgentMessageAt }),
    ...(firstResponseAt !== undefined && { firstResponseAt }),
  };
};

/**
 * Merges `mergedId` into `survivorId`: the survivor gets the other's identities (and fills the profile fields
 * it lacks), its thread reads both histories, and the other contact is left as a tombstone pointing at it.
 */
export const mergeContacts = (
  store: ConversationStore,
  survivorId: string,
  mergedId: string,
  reason: string,
  by: Actor,
  at: string,
): Promise<Contact> =>
  retryOnConflict(async () => {
    if (survivorId === mergedId) throw new ContactRuleError('invalid_request', 'A contact cannot be merged into itself');
    const survivor = await activeContact(store, survivorId);
    const merged = await activeContact(store, mergedId);
    if (merged.value.identities.length > MAX_MERGED_IDENTITIES) {
      throw new ContactRuleError(
        'invalid_request',
        `Contact ${mergedId} has more than ${MAX_MERGED_IDENTITIES} identities; link them in parts`,
      );
    }
    const survivorThread = await threadOf(store, survivor.value.threadId);
    const mergedThread = await threadOf(store, merged.value.threadId);
    const identities = await Promise.all(merged.value.identities.map((ref) => store.getIdentity(ref)));
    const link: Link = { reason: 'merge', by, at };
    const moved = identities.flatMap((identity) =>
      identity
        ? [{ identity, value: { ...identity.value, contactId: survivorId, threadId: survivorThread.value.id, link } satisfies Identity }]
        : [],
    );
    const filled = PROFILE_FIELDS.filter((field) => survivor.value[field] === undefined && merged.value[field] !== undefined);
    const record: MergeRecord = {
      contactId: mergedId,
      threadId: mergedThread.value.id,
      identities: moved.map(({ value }) => ({ channel: value.channel, accountId: value.accountId, externalUserId: value.externalUserId })),
      profile: {
        ...(merged.value.name !== undefined && { name: merged.value.name }),
        ...(merged.value.phone !== undefined && { phone: merged.value.phone }),
        ...(merged.value.email !== undefined && { email: merged.value.email }),
        ...(merged.value.locale !== undefined && { locale: merged.value.locale }),
      },
      ...(filled.length > 0 && { filled }),
      reason,
      by,
      at,
    };
    let next: Contact = {
      ...survivor.value,
      ...(survivor.value.name === undefined && merged.value.name !== undefined && { name: merged.value.name }),
      ...(survivor.value.email === undefined && merged.value.email !== undefined && { email: merged.value.email }),
      ...(survivor.value.locale === undefined && merged.value.locale !== undefined && { locale: merged.value.locale }),
      ...(survivor.value.phone === undefined &&
        merged.value.phone !== undefined && {
          phone: merged.value.phone,
          ...(merged.value.phoneVerified !== undefined && { phoneVerified: merged.value.phoneVerified }),
        }),
      attributes: { ...merged.value.attributes, ...survivor.value.attributes },
      merges: [...survivor.value.merges, record],
      updatedAt: later(survivor.value.updatedAt, at),
    };
    for (const { value } of moved) next = withIdentity(next, value, next.updatedAt);
    const tombstone: Contact = {
      ...merged.value,
      state: 'merged',
      mergedInto: survivorId,
      identities: [],
      updatedAt: later(merged.value.updatedAt, at),
    };
    const events: PendingEvent[] = [onceEvent('contact.merged', at, [survivorId, mergedId, at], { mergedContactId: mergedId, reason, by })];
    await store.commit([
      { kind: 'contact', op: 'put', value: next, version: survivor.version, events },
      { kind: 'contact', op: 'put', value: tombstone, version: merged.version },
      ...moved.map(({ identity, value }): ConversationWrite => ({ kind: 'identity', op: 'put', value, version: identity.version })),
      {
        kind: 'thread',
        op: 'put',
        value: absorbThread(survivorThread.value, mergedThread.value, at),
        version: survivorThread.version,
        events: [
          onceEvent('thread.updated', at, [survivorThread.value.id, 'merged', mergedThread.value.id, at], { changes: ['mergedThreads'] }),
        ],
      },
      {
        kind: 'thread',
        op: 'put',
        value: { ...mergedThread.value, mergedInto: survivorThread.value.id, updatedAt: later(mergedThread.value.updatedAt, at) },
        version: mergedThread.version,
      },
    ]);
    return next;
  });

const PROFILE_FIELDS = ['name', 'phone', 'email', 'locale'] as const;

/** The survivor without the profile fields a merge filled in, where they still hold what the merge brought. */
const withoutFilled = (contact: Contact, record: MergeRecord): Contact => {
  const next: { -readonly [K in keyof Contact]: Contact[K] } = { ...contact };
  for (const field of record.filled ?? []) {
    if (next[field] !== record.profile[field]) continue;
    delete next[field];
    if (field === 'phone') delete next.phoneVerified;
  }
  return next;
};

/**
 * Undoes the merge of `mergedId` into `survivorId`: the merged contact, its identities (those still on the
 * survivor) and its thread are back as they were; messages written meanwhile stay where they were written.
 */
export const unmergeContacts = (store: ConversationStore, survivorId: string, mergedId: string, by: Actor, at: string) =>
  retryOnConflict(async () => {
    const survivor = await activeContact(store, survivorId);
    const record = survivor.value.merges.find((m) => m.contactId === mergedId);
    if (!record) throw new ContactRuleError('conflict', `Contact ${mergedId} is not merged into ${survivorId}`);
    const merged = await store.getContact(mergedId);
    if (merged?.value.state !== 'merged' || merged.value.mergedInto !== survivorId) {
      throw new ContactRuleError('conflict', `Contact ${mergedId} is not a merge of ${survivorId} any more`);
    }
    const survivorThread = await threadOf(store, survivor.value.threadId);
    const mergedThread = await threadOf(store, record.threadId);
    const identities = await Promise.all(record.identities.map((key) => store.getIdentity(key)));
    const link: Link = { reason: 'merge', by, at };
    const back = identities.flatMap((identity) =>
      identity && identity.value.contactId === survivorId
        ? [{ identity, value: { ...identity.value, contactId: mergedId, threadId: mergedThread.value.id, link } satisfies Identity }]
        : [],
    );
    const restored: Contact = {
      ...merged.value,
      state: 'active',
      identities: back.map(({ value }) => contactIdentityOf(value)),
      updatedAt: later(merged.value.updatedAt, at),
    };
    delete (restored as { mergedInto?: string }).mergedInto;
    const remaining: Contact = {
      ...withoutFilled(survivor.value, record),
      identities: survivor.value.identities.filter((i) => !back.some(({ value }) => sameIdentity(i, value))),
      merges: survivor.value.merges.filter((m) => m !== record),
      updatedAt: later(survivor.value.updatedAt, at),
    };
    const restoredIds = new Set([mergedThread.value.id, ...(mergedThread.value.mergedThreads ?? [])]);
    const { mergedInto: _mergedInto, ...reopened } = mergedThread.value;
    const routeChannels = new Set(reopened.routes.map((r) => r.channel));
    const survivorRoutes = survivorThread.value.routes.filter(
      (route) =>
        !(
          routeChannels.has(route.channel) &&
          reopened.routes.some((r) => r.channel === route.channel && r.lastInboundAt === route.lastInboundAt)
        ),
    );
    await store.commit([
      {
        kind: 'contact',
        op: 'put',
        value: remaining,
        version: survivor.version,
        events: [onceEvent('contact.unmerged', at, [survivorId, mergedId, at], { restoredContactId: mergedId, by })],
      },
      { kind: 'contact', op: 'put', value: restored, version: merged.version },
      ...back.map(({ identity, value }): ConversationWrite => ({ kind: 'identity', op: 'put', value, version: identity.version })),
      {
        kind: 'thread',
        op: 'put',
        value: {
          ...survivorThread.value,
          routes: survivorRoutes,
          mergedThreads: (survivorThread.value.mergedThreads ?? []).filter((id) => !restoredIds.has(id)),
          updatedAt: later(survivorThread.value.updatedAt, at),
        },
        version: survivorThread.version,
        events: [
          onceEvent('thread.updated', at, [survivorThread.value.id, 'unmerged', mergedThread.value.id, at], { changes: ['mergedThreads'] }),
        ],
      },
      { kind: 'thread', op: 'put', value: { ...reopened, updatedAt: later(reopened.updatedAt, at) }, version: mergedThread.version },
    ]);
    return { survivor: remaining, restored };
  });

/**
 * Links an identity to a contact: a channel id the customer has not written from yet (so a notification can
 * reach them there), or one of another contact, which moves here (its past messages stay in that contact's
 * thread; merge the contacts to join the histories).
 */
export const linkIdentity = (
  store: ConversationStore,
  contactId: string,
  key: IdentityKey & { readonly kind?: Identity['kind'] },
  by: Actor,
  at: string,
): Promise<Contact> =>
  retryOnConflict(async () => {
    const contact = await activeContact(store, contactId);
    const link: Link = { reason: 'api_link', by, at };
    const existing = await store.getIdentity(key);
    if (existing?.value.contactId === contactId) return contact.value;
    const identity: Identity = existing
      ? { ...existing.value, contactId, threadId: contact.value.threadId, link }
      : {
          channel: key.channel,
          accountId: key.accountId,
          externalUserId: key.externalUserId,
          kind: key.kind ?? 'direct',
          contactId,
          threadId: contact.value.threadId,
          link,
          createdAt: at,
        };
    const writes: ConversationWrite[] = [];
    if (existing) {
      const previous = await store.getContact(existing.value.contactId);
      if (previous) {
        writes.push({
          kind: 'contact',
          op: 'put',
          value: {
            ...previous.value,
            identities: previous.value.identities.filter((i) => !sameIdentity(i, key)),
            updatedAt: later(previous.value.updatedAt, at),
          },
          version: previous.version,
          events: [freshEvent('contact.updated', at, { changes: ['identities'] })],
        });
      }
    } else {
      writes.push(...(await participantUnlessListed(store, identity)));
    }
    const next = withIdentity(contact.value, identity, later(contact.value.updatedAt, at));
    await store.commit([
      { kind: 'identity', op: 'put', value: identity, version: existing?.version ?? NEW_RECORD },
      ...writes,
      {
        kind: 'contact',
        op: 'put',
        value: next,
        version: contact.version,
        events: [identityLinked(contactId, identity, link), freshEvent('contact.updated', at, { changes: ['identities'] })],
      },
    ]);
    return next;
  });

/**
 * Erases a contact's personal data: its profile and identities now (a later message from the same person starts
 * a new contact), its messages' content by the eraser that the `contact.erased` event starts. What stays is
 * that the contact and its messages existed, for metrics.
 */
export const eraseContact = (store: ConversationStore, contactId: string, by: Actor, at: string): Promise<Contact> =>
  retryOnConflict(async () => {
    const contact = await store.getContact(contactId);
    if (!contact) throw new ContactRuleError('not_found', `No contact ${contactId}`);
    if (contact.value.state === 'erased') return contact.value;
    if (contact.value.state === 'merged')
      throw new ContactRuleError('conflict', `Contact ${contactId} was merged into ${contact.value.mergedInto}; erase that one`);
    const identities = await Promise.all(contact.value.identities.map((ref) => store.getIdentity(ref)));
    // Their channel ids no longer find the thread: every participant record of each identity goes too.
    const participants = (
      await Promise.all(
        contact.value.identities.map(async (ref) =>
          (
            await store.listParticipantThreads(ref.channel, ref.externalUserId)
          ).map((threadId) => ({ channel: ref.channel, externalUserId: ref.externalUserId, threadId })),
        ),
      )
    ).flat();
    const erased: Contact = {
      id: contact.value.id,
      state: 'erased',
      attributes: {},
      identities: [],
      threadId: contact.value.threadId,
      merges: contact.value.merges.map(({ filled: _filled, ...m }) => ({ ...m, identities: [], profile: {} })),
      createdAt: contact.value.createdAt,
      updatedAt: later(contact.value.updatedAt, at),
    };
    await store.commit([
      {
        kind: 'contact',
        op: 'put',
        value: erased,
        version: contact.version,
        events: [
          onceEvent('contact.erased', at, [contactId], {
            contactId,
            by,
            identities: contact.value.identities.map((i) => ({ channel: i.channel, accountId: i.accountId })),
          }),
        ],
      },
      ...identities.flatMap((identity): ConversationWrite[] =>
        identity ? [{ kind: 'identity', op: 'delete', key: identity.value, version: identity.version }] : [],
      ),
      // Participant records are written once and never changed: version 1.
      ...participants.map((key): ConversationWrite => ({ kind: 'participant', op: 'delete', key, version: 1 })),
    ]);
    return erased;
  });

/**
 * A phone number the provider vouches for as the customer's own (a WhatsApp number; a Telegram user sharing
 * their own contact), seen on an identity that already exists. When another contact holds the same verified
 * phone, this identity's contact is merged into it (the earlier holder survives, as for a merge by hand, with
 * reason `verified_phone`); when none does and the contact has no verified phone yet, it takes this one.
 * Two contacts claiming the number is not evidence enough to pick one: nothing is merged then.
 */
export const adoptVerifiedPhone = async (
  store: ConversationStore,
  contactId: string,
  verifiedPhone: string,
  by: Actor,
  at: string,
): Promise<'merged' | 'adopted' | 'unchanged'> => {
  const phone = normalizePhone(verifiedPhone);
  if (phone === undefined) return 'unchanged';
  const contact = await store.getContact(contactId);
  if (contact?.value.state !== 'active') return 'unchanged';
  if (contact.value.phoneVerified === true && contact.value.phone === phone) return 'unchanged';
  const holders = (await store.findContacts({ phone })).filter(
    (c) => c.phoneVerified === true && c.state === 'active' && c.id !== contactId,
  );
  if (holders.length > 1) return 'unchanged';
  const [holder] = holders;
  if (holder) {
    await mergeContacts(store, holder.id, contactId, 'verified_phone', by, at);
    return 'merged';
  }
  if (contact.value.phoneVerified === true) return 'unchanged';
  return retryOnConflict(async () => {
    const current = await activeContact(store, contactId);
    if (current.value.phoneVerified === true) return 'unchanged';
    const next: Contact = { ...current.value, phone, phoneVerified: true, updatedAt: later(current.value.updatedAt, at) };
    await store.commit([
      {
        kind: 'contact',
        op: 'put',
        value: next,
        version: current.version,
        events: [onceEvent('contact.updated', at, [contactId, 'verified-phone', phone], { changes: ['phone'] })],
      },
    ]);
    return 'adopted' as const;
  });
};
