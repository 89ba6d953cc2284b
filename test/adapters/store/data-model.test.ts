/**
 * The single table's guarantees (docs/data-model.md): every read is a GetItem, a BatchGetItem or a Query,
 * never a Scan; and ids are escaped inside keys, so ids holding the separator `#` (or the escape `%`) never
 * make two records share a key.
 */
import { describe, expect, it } from 'vitest';
import { DynamoAccountStore, DynamoApiKeyStore, DynamoIdempotencyStore } from '../../../adapters/aws/store/access.ts';
import {
  contactKey,
  DynamoConversationStore,
  identityKey,
  messageKey,
  pointerKey,
  threadKey,
} from '../../../adapters/aws/store/conversations.ts';
import { NEW_RECORD } from '../../../domain/shared/store.ts';
import { ALLOWED_OPERATIONS, newTable, testClock, useLocalEngine } from './harness.ts';
import { at, contactRecord, identityRecord, messageRecord, noteRecord, pointerOf, threadRecord } from './records.ts';

const engine = useLocalEngine();

describe('the data model', () => {
  it('reads only by key or by partition: every store operation is a GetItem, BatchGetItem, Query or a conditional write', async () => {
    const fixture = await newTable(engine());
    const clock = testClock(at(0));
    const conversations = new DynamoConversationStore({ table: fixture.table, clock });
    const identity = identityRecord({ verifiedPhone: '+821055550000' });
    const contact = contactRecord({
      id: identity.contactId,
      threadId: identity.threadId,
      phone: '+821055550000',
      email: 'ann@example.com',
    });
    const thread = threadRecord({ id: identity.threadId, contactId: contact.id });
    const message = messageRecord({ threadId: thread.id, second: 1 });
    await conversations.commit([
      { kind: 'identity', op: 'put', value: identity, version: NEW_RECORD },
      { kind: 'contact', op: 'put', value: contact, version: NEW_RECORD },
      { kind: 'thread', op: 'put', value: thread, version: NEW_RECORD },
    ]);
    await conversations.commit([{ kind: 'message', op: 'put', value: message, version: NEW_RECORD }]);
    await conversations.commit([{ kind: 'pointer', op: 'put', value: pointerOf(message), version: NEW_RECORD }]);
    await conversations.commit([{ kind: 'note', op: 'put', value: noteRecord(thread.id, 2), version: NEW_RECORD }]);
    await conversations.commit([
      {
        kind: 'participant',
        op: 'put',
        value: { channel: 'telegram', externalUserId: identity.externalUserId, threadId: thread.id },
        version: NEW_RECORD,
      },
    ]);

    await conversations.getContact(contact.id);
    await conversations.findContacts({ phone: '+821055550000' });
    await conversations.findContacts({ email: 'ann@example.com' });
    await conversations.getIdentity(identity);
    await conversations.getThread(thread.id);
    for (const query of [
      {},
      { statuses: ['open' as const] },
      { tag: 'vip', updatedSince: at(-10) },
      { updatedBefore: at(10) },
      { contactId: contact.id },
    ]) {
      const page = await conversations.listThreads({ ...query, limit: 1 });
      if (page.nextCursor) await conversations.listThreads({ ...query, limit: 1, cursor: page.nextCursor });
    }
    await conversations.listParticipantThreads('telegram', identity.externalUserId);
    await conversations.listNotes(thread.id, 1);
    await conversations.getMessage(thread.id, message.id);
    await conversations.getPointer('telegram', message.accountId, message.externalId as string);
    await conversations.listMessages([thread.id, 'th_merged'], 1, undefined, 'newest');
    await conversations.commit([{ kind: 'contact', op: 'delete', key: { id: contact.id }, version: 1 }]);

    const keys = new DynamoApiKeyStore(fixture.table);
    await keys.create({ id: 'key_1', name: 'k', scopes: ['read'], createdAt: at(0), keyHash: 'a'.repeat(64) });
    await keys.findByHash('a'.repeat(64));
    await keys.get('key_1');
    await keys.list();
    await keys.revoke('key_1');
    const accounts = new DynamoAccountStore(fixture.table);
    await accounts.put({ channel: 'line', accountId: 'U1', createdAt: at(0) });
    await accounts.get('line', 'U1');
    await accounts.list();
    await accounts.list('line');
    const idempotency = new DynamoIdempotencyStore(fixture.table);
    await idempotency.put(
      { scope: 's', key: 'k', requestHash: 'h', firstSeenAt: at(0), state: 'in_progress', expiresAt: at(60) },
      NEW_RECORD,
    );
    await idempotency.get('s', 'k');

    expect(fixture.operations.length).toBeGreaterThan(30);
    expect([...new Set(fixture.operations)].sort()).toEqual([...ALLOWED_OPERATIONS].sort());
  });

  it('escapes ids inside keys: ordinary ids read plainly, and ids holding # or % never share a key', async () => {
    const fixture = await newTable(engine());
    const store = new DynamoConversationStore({ table: fixture.table, clock: testClock(at(0)) });

    // Ordinary ids are unchanged in keys (the IAM policies and docs/data-model.md spell them out).
    expect(identityKey({ channel: 'telegram', accountId: 'bot1', externalUserId: '42' })).toEqual({
      pk: 'IDENTITY#telegram#bot1#42',
      sk: 'IDENTITY',
    });
    expect(threadKey('th_1')).toEqual({ pk: 'THREAD#th_1', sk: 'THREAD' });

    // Unescaped, each pair would be the same key.
    const identities = [
      identityRecord({ accountId: 'bot#1', externalUserId: '42', displayName: 'first' }),
      identityRecord({ accountId: 'bot', externalUserId: '1#42', displayName: 'second' }),
      identityRecord({ accountId: 'bot%231', externalUserId: '42', displayName: 'third' }),
    ];
    const contacts = ['a#b', 'a%23b', 'a%2523b', 'a'].map((id) => contactRecord({ id, name: `contact ${id}` }));
    const threads = ['t#MSG', 't'].map((id) => threadRecord({ id }));
    const messages = [
      messageRecord({ threadId: 't#MSG', second: 1, externalId: 'x#1' }),
      messageRecord({ threadId: 't', second: 1, externalId: 'x' }),
    ];
    for (const value of identities) await store.commit([{ kind: 'identity', op: 'put', value, version: NEW_RECORD }]);
    for (const value of contacts) await store.commit([{ kind: 'contact', op: 'put', value, version: NEW_RECORD }]);
    for (const value of threads) await store.commit([{ kind: 'thread', op: 'put', value, version: NEW_RECORD }]);
    for (const value of messages) {
      await store.commit([
        { kind: 'message', op: 'put', value, version: NEW_RECORD },
        { kind: 'pointer', op: 'put', value: pointerOf(value), version: NEW_RECORD },
      ]);
    }

    for (const identity of identities) expect((await store.getIdentity(identity))?.value).toEqual(identity);
    for (const contact of contacts) expect((await store.getContact(contact.id))?.value).toEqual(contact);
    for (const thread of threads) expect((await store.getThread(thread.id))?.value).toEqual(thread);
    for (const message of messages) {
      expect((await store.getMessage(message.threadId, message.id))?.value).toEqual(message);
      expect(await store.getPointer('telegram', message.accountId, message.externalId as string)).toEqual(pointerOf(message));
      expect((await store.listMessages([message.threadId], 10)).items).toEqual([message]);
    }
    const stored = [
      ...identities.map(identityKey),
      ...contacts.map((c) => contactKey(c.id)),
      ...messages.map((m) => messageKey(m.threadId, m.id)),
      ...messages.map((m) => pointerKey(m.channel, m.accountId, m.externalId as string)),
    ];
    expect(new Set(stored.map((k) => `${k.pk} ${k.sk}`)).size).toBe(stored.length);
    for (const key of stored) expect(await fixture.stored(key)).toBeDefined();
  });
});
