/**
 * The contract of a conversation store's contacts and identities: read with versions, found by phone and email
 * (active contacts only), written all or nothing with a new customer's thread.
 */
import { describe, expect, it } from 'vitest';
import { ConflictError, NEW_RECORD } from '../../../../domain/shared/store.ts';
import type { ConversationsUnderTest, Factory } from '../harness.ts';
import { at, contactRecord, identityRecord, threadRecord, uid } from '../records.ts';

/** A phone number of its own for each test, so tests never find each other's contacts. */
export const phone = (): string => `+8210${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;

export const contactsContract = (implementation: string, factory: Factory<ConversationsUnderTest>) =>
  describe(`contacts and identities: ${implementation}`, () => {
    it('reads a contact back as written, with its version, and only replaces it at that version', async () => {
      const { store } = await factory();
      const contact = contactRecord({
        phone: phone(),
        phoneVerified: true,
        email: 'ann@example.com',
        locale: 'ko-KR',
        attributes: { plan: 'pro', seats: 3 },
      });
      expect(await store.getContact(contact.id)).toBeUndefined();

      await store.commit([{ kind: 'contact', op: 'put', value: contact, version: NEW_RECORD }]);
      expect(await store.getContact(contact.id)).toEqual({ value: contact, version: 1 });

      const renamed = { ...contact, name: 'Ann Kim', updatedAt: at(60) };
      await store.commit([{ kind: 'contact', op: 'put', value: renamed, version: 1 }]);
      await expect(store.commit([{ kind: 'contact', op: 'put', value: { ...contact, name: 'stale' }, version: 1 }])).rejects.toBeInstanceOf(
        ConflictError,
      );
      expect(await store.getContact(contact.id)).toEqual({ value: renamed, version: 2 });
    });

    it('finds the active contacts with a phone number, oldest first, and no other', async () => {
      const { store } = await factory();
      const shared = phone();
      const older = contactRecord({ phone: shared, createdAt: at(0), updatedAt: at(0) });
      const newer = contactRecord({ phone: shared, createdAt: at(10), updatedAt: at(10) });
      const merged = contactRecord({ phone: shared, state: 'merged', mergedInto: older.id });
      const erased = contactRecord({ phone: shared, state: 'erased' });
      const other = contactRecord({ phone: phone() });
      for (const contact of [newer, merged, older, erased, other]) {
        await store.commit([{ kind: 'contact', op: 'put', value: contact, version: NEW_RECORD }]);
      }

      expect(await store.findContacts({ phone: shared })).toEqual([older, newer]);
      expect(await store.findContacts({ phone: phone() })).toEqual([]);
    });

    it('finds contacts by email whatever its case', async () => {
      const { store } = await factory();
      const email = `Ann.Lee+${uid('x')}@Example.com`;
      const contact = contactRecord({ email });
      await store.commit([{ kind: 'contact', op: 'put', value: contact, version: NEW_RECORD }]);

      expect(await store.findContacts({ email })).toEqual([contact]);
      expect(await store.findContacts({ email: email.toLowerCase() })).toEqual([contact]);
      expect(await store.findContacts({ email: email.toUpperCase() })).toEqual([contact]);
      expect(await store.findContacts({ email: `other-${email}` })).toEqual([]);
    });

    it('finds a contact by its new phone and email once changed, and no longer by the old ones', async () => {
      const { store } = await factory();
      const [before, after] = [phone(), phone()];
      const contact = contactRecord({ phone: before, email: `${uid('a')}@example.com` });
      await store.commit([{ kind: 'contact', op: 'put', value: contact, version: NEW_RECORD }]);
      const changed = { ...contact, phone: after, email: `${uid('b')}@example.com`, updatedAt: at(5) };

      await store.commit([{ kind: 'contact', op: 'put', value: changed, version: 1 }]);

      expect(await store.findContacts({ phone: before })).toEqual([]);
      expect(await store.findContacts({ email: contact.email as string })).toEqual([]);
      expect(await store.findContacts({ phone: after })).toEqual([changed]);
      expect(await store.findContacts({ email: changed.email })).toEqual([changed]);
    });

    it('stops finding a contact once it is merged or erased', async () => {
      const { store } = await factory();
      const [mergedPhone, erasedPhone] = [phone(), phone()];
      const toMerge = contactRecord({ phone: mergedPhone });
      const toErase = contactRecord({ phone: erasedPhone, email: `${uid('e')}@example.com` });
      await store.commit([
        { kind: 'contact', op: 'put', value: toMerge, version: NEW_RECORD },
        { kind: 'contact', op: 'put', value: toErase, version: NEW_RECORD },
      ]);
      expect(await store.findContacts({ phone: mergedPhone })).toEqual([toMerge]);

      await store.commit([
        { kind: 'contact', op: 'put', value: { ...toMerge, state: 'merged', mergedInto: uid('ct') }, version: 1 },
        // Erasure keeps the tombstone; whether it still holds the phone, it must not be found by it.
        { kind: 'contact', op: 'put', value: { ...toErase, state: 'erased', name: undefined }, version: 1 },
      ]);

      expect(await store.findContacts({ phone: mergedPhone })).toEqual([]);
      expect(await store.findContacts({ phone: erasedPhone })).toEqual([]);
      expect(await store.findContacts({ email: toErase.email as string })).toEqual([]);
    });

    it('deletes a contact only at the version read', async () => {
      const { store } = await factory();
      const contact = contactRecord({ phone: phone() });
      await store.commit([{ kind: 'contact', op: 'put', value: contact, version: NEW_RECORD }]);

      await expect(store.commit([{ kind: 'contact', op: 'delete', key: { id: contact.id }, version: 2 }])).rejects.toBeInstanceOf(
        ConflictError,
      );
      expect(await store.getContact(contact.id)).toBeDefined();
      await store.commit([{ kind: 'contact', op: 'delete', key: { id: contact.id }, version: 1 }]);

      expect(await store.getContact(contact.id)).toBeUndefined();
      expect(await store.findContacts({ phone: contact.phone as string })).toEqual([]);
    });

    it('reads an identity by channel, account and provider id, each of them telling identities apart', async () => {
      const { store } = await factory();
      const identity = identityRecord({ verifiedPhone: phone(), unreachable: { reason: 'blocked the bot', since: at(30) } });
      const sameUserOtherAccount = identityRecord({ externalUserId: identity.externalUserId, accountId: '7712345679' });
      const sameUserOtherChannel = identityRecord({ externalUserId: identity.externalUserId, channel: 'line' });
      for (const value of [identity, sameUserOtherAccount, sameUserOtherChannel]) {
        await store.commit([{ kind: 'identity', op: 'put', value, version: NEW_RECORD }]);
      }

      expect(await store.getIdentity(identity)).toEqual({ value: identity, version: 1 });
      expect(await store.getIdentity(sameUserOtherAccount)).toEqual({ value: sameUserOtherAccount, version: 1 });
      expect(await store.getIdentity(sameUserOtherChannel)).toEqual({ value: sameUserOtherChannel, version: 1 });
      expect(await store.getIdentity({ ...identity, channel: 'whatsapp' })).toBeUndefined();
    });

    it("writes a new customer's identity, contact and thread together, or none of them when the identity exists already", async () => {
      const { store } = await factory();
      const first = identityRecord();
      const contact = contactRecord({ id: first.contactId, threadId: first.threadId });
      const thread = threadRecord({ id: first.threadId, contactId: contact.id });
      await store.commit([
        { kind: 'identity', op: 'put', value: first, version: NEW_RECORD },
        { kind: 'contact', op: 'put', value: contact, version: NEW_RECORD },
        { kind: 'thread', op: 'put', value: thread, version: NEW_RECORD },
      ]);

      // The same person's first message, handled concurrently: it made its own contact and thread ids.
      const racing = identityRecord({ externalUserId: first.externalUserId, contactId: uid('ct'), threadId: uid('th') });
      await expect(
        store.commit([
          { kind: 'identity', op: 'put', value: racing, version: NEW_RECORD },
          { kind: 'contact', op: 'put', value: contactRecord({ id: racing.contactId, threadId: racing.threadId }), version: NEW_RECORD },
          { kind: 'thread', op: 'put', value: threadRecord({ id: racing.threadId, contactId: racing.contactId }), version: NEW_RECORD },
        ]),
      ).rejects.toBeInstanceOf(ConflictError);

      expect(await store.getIdentity(first)).toEqual({ value: first, version: 1 });
      expect(await store.getContact(racing.contactId)).toBeUndefined();
      expect(await store.getThread(racing.threadId)).toBeUndefined();
      expect(await store.getContact(contact.id)).toEqual({ value: contact, version: 1 });
      expect(await store.getThread(thread.id)).toEqual({ value: thread, version: 1 });
    });
  });
