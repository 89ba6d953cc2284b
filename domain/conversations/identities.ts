/**
 * Who wrote: the channel identity a message came from, and the contact (one person across channels) it
 * belongs to. A first message creates identity, contact and thread together; an identity joins an existing
 * contact by itself only on a key the providers vouch for (a phone number WhatsApp or Telegram confirmed).
 */
import { onceEvent, type PendingEvent } from '../events/outbox.ts';
import { randomId } from '../ids.ts';
import { ConflictError, NEW_RECORD, retryOnConflict, type Versioned } from '../shared/store.ts';
import { SYSTEM, type Contact, type ContactIdentity, type Identity, type IdentityKey, type Link } from './model.ts';
import type { ConversationStore, ConversationWrite } from './ports.ts';
import { newThread } from './threads.ts';

export interface IdentityInput extends IdentityKey {
  readonly kind: Identity['kind'];
  readonly displayName?: string;
  /** A phone number (E.164) the provider vouches for as this person's own. */
  readonly verifiedPhone?: string;
}

export const sameIdentity = (a: IdentityKey, b: IdentityKey): boolean =>
  a.channel === b.channel && a.accountId === b.accountId && a.externalUserId === b.externalUserId;

export const contactIdentityOf = (identity: Identity): ContactIdentity => ({
  channel: identity.channel,
  accountId: identity.accountId,
  externalUserId: identity.externalUserId,
  kind: identity.kind,
  ...(identity.displayName !== undefined && { displayName: identity.displayName }),
  link: identity.link,
  ...(identity.unreachable && { unreachable: identity.unreachable }),
});

/** A contact with this identity's entry replaced (or added). */
export const withIdentity = (contact: Contact, identity: Identity, at: string): Contact => ({
  ...contact,
  identities: [...contact.identities.filter((i) => !sameIdentity(i, identity)), contactIdentityOf(identity)],
  updatedAt: at,
});

/** A phone number as the domain compares them: `+` and digits only. */
export const normalizePhone = (phone: string): string | undefined => {
  const digits = phone.replace(/[\s().-]/g, '');
  const normalized = digits.startsWith('+') ? digits : `+${digits}`;
  return /^\+[1-9]\d{5,14}$/.test(normalized) ? normalized : undefined;
};

export interface ResolvedIdentity {
  readonly identity: Versioned<Identity>;
  /** True when this call created the identity. */
  readonly created: boolean;
}

/**
 * The identity of whoever wrote, created when first seen: with a new contact and thread, or, when the
 * provider vouches for a phone number that exactly one contact has verified, as a new identity of that
 * contact. A changed display name is recorded (on the identity and its contact's entry).
 */
export const resolveIdentity = (store: ConversationStore, input: IdentityInput, at: string): Promise<ResolvedIdentity> =>
  retryOnConflict(async () => {
    const key: IdentityKey = { channel: input.channel, accountId: input.accountId, externalUserId: input.externalUserId };
    // Identities change rarely (a rename, a merge): a read a second behind is fine for routing a message, and
    // anything this call writes is decided by versions.
    const existing = await store.getIdentity(key, { latest: false });
    if (existing) {
      if (input.displayName === undefined || input.displayName === existing.value.displayName)
        return { identity: existing, created: false };
      const fresh = await store.getIdentity(key);
      if (!fresh) throw new ConflictError('identity');
      if (input.displayName === fresh.value.displayName) return { identity: fresh, created: false };
      const renamed: Identity = { ...fresh.value, displayName: input.displayName };
      const contact = await store.getContact(renamed.contactId);
      const writes: ConversationWrite[] = [{ kind: 'identity', op: 'put', value: renamed, version: fresh.version }];
      if (contact)
        writes.push({
          kind: 'contact',
          op: 'put',
          value: withIdentity(contact.value, renamed, contact.value.updatedAt),
          version: contact.version,
        });
      await store.commit(writes);
      return { identity: { value: renamed, version: fresh.version + 1 }, created: false };
    }

    const phone = input.verifiedPhone === undefined ? undefined : normalizePhone(input.verifiedPhone);
    if (phone !== undefined) {
      const owners = (await store.findContacts({ phone })).filter((c) => c.phoneVerified === true);
      const owner = owners.length === 1 ? owners[0] : undefined;
      const current = owner && (await store.getContact(owner.id));
      if (current && current.value.state === 'active') {
        const link: Link = { reason: 'verified_phone', by: SYSTEM, at };
        const identity = identityOf(input, current.value.id, current.value.threadId, link, at);
        await store.commit([
          { kind: 'identity', op: 'put', value: identity, version: NEW_RECORD },
          ...(await participantUnlessListed(store, identity)),
          {
            kind: 'contact',
            op: 'put',
            value: withIdentity(current.value, identity, at),
            version: current.version,
            events: [
              identityLinked(current.value.id, identity, link),
              onceEvent('contact.updated', at, [current.value.id, 'identity', ...keyParts(identity)], { changes: ['identities'] }),
            ],
          },
        ]);
        return { identity: { value: identity, version: 1 }, created: true };
      }
    }

    const contactId = randomId('ct');
    const thread = newThread(randomId('th'), contactId, at);
    const link: Link = { reason: 'first_contact', by: SYSTEM, at };
    const identity = identityOf(input, contactId, thread.id, link, at);
    const contact: Contact = {
      id: contactId,
      state: 'active',
      ...(input.kind === 'direct' && input.displayName !== undefined && { name: input.displayName }),
      ...(phone !== undefined && { phone, phoneVerified: true }),
      attributes: {},
      identities: [contactIdentityOf(identity)],
      threadId: thread.id,
      merges: [],
      createdAt: at,
      updatedAt: at,
    };
    await store.commit([
      { kind: 'identity', op: 'put', value: identity, version: NEW_RECORD },
      participantOf(identity),
      { kind: 'contact', op: 'put', value: contact, version: NEW_RECORD, events: [onceEvent('contact.created', at, [contactId])] },
      {
        kind: 'thread',
        op: 'put',
        value: thread,
        version: NEW_RECORD,
        events: [onceEvent('thread.created', at, [thread.id], { changes: [] })],
      },
    ]);
    return { identity: { value: identity, version: 1 }, created: true };
  });

/** The identity's own thread, found by its channel id (`GET /v1/threads?channel=&externalUserId=`). */
const participantOf = (identity: Identity): ConversationWrite => ({
  kind: 'participant',
  op: 'put',
  value: { channel: identity.channel, externalUserId: identity.externalUserId, threadId: identity.threadId },
  version: NEW_RECORD,
});

/**
 * The identity's participant record, unless its thread has one for this channel id already: participant records
 * are kept per channel id, not per account, so the same person's id on another account of the channel (a second
 * WhatsApp number of the business) finds the record its first identity wrote.
 */
export const participantUnlessListed = async (
  store: Pick<ConversationStore, 'listParticipantThreads'>,
  identity: Pick<Identity, 'channel' | 'externalUserId' | 'threadId'>,
): Promise<ConversationWrite[]> =>
  (await store.listParticipantThreads(identity.channel, identity.externalUserId)).includes(identity.threadId)
    ? []
    : [
        {
          kind: 'participant',
          op: 'put',
          value: { channel: identity.channel, externalUserId: identity.externalUserId, threadId: identity.threadId },
          version: NEW_RECORD,
        },
      ];

const keyParts = (key: IdentityKey): string[] => [key.channel, key.accountId, key.externalUserId];

const identityOf = (input: IdentityInput, contactId: string, threadId: string, link: Link, at: string): Identity => ({
  channel: input.channel,
  accountId: input.accountId,
  externalUserId: input.externalUserId,
  kind: input.kind,
  ...(input.displayName !== undefined && { displayName: input.displayName }),
  ...(input.verifiedPhone !== undefined &&
    normalizePhone(input.verifiedPhone) !== undefined && { verifiedPhone: normalizePhone(input.verifiedPhone) }),
  contactId,
  threadId,
  link,
  createdAt: at,
});

export const identityLinked = (contactId: string, identity: IdentityKey, link: Link): PendingEvent =>
  onceEvent('identity.linked', link.at, [contactId, ...keyParts(identity), link.at], {
    contactId,
    identity: { channel: identity.channel, accountId: identity.accountId, externalUserId: identity.externalUserId },
    reason: link.reason,
    by: link.by,
  });
