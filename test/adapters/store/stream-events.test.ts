/**
 * The outbox read back from the table's stream (adapters/aws/store/stream-events.ts): writes made through
 * the stores, the stream records the engine produced for them, and the domain events those records become.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { DynamoAccountStore } from '../../../adapters/aws/store/access.ts';
import { DynamoConversationStore } from '../../../adapters/aws/store/conversations.ts';
import { eventsOfStreamRecord, UnreadableStreamRecordError } from '../../../adapters/aws/store/stream-events.ts';
import { DomainEventSchema, type DomainEvent } from '../../../domain/events/domain-events.ts';
import { freshEvent, onceEvent } from '../../../domain/events/outbox.ts';
import { MessageSchema, ThreadSchema } from '../../../domain/conversations/model.ts';
import { NEW_RECORD } from '../../../domain/shared/store.ts';
import { newTable, tapStream, testClock, thrown, useLocalEngine, type StreamTap, type TableFixture } from './harness.ts';
import { at, contactRecord, identityRecord, messageRecord, threadRecord, uid } from './records.ts';

const engine = useLocalEngine();

interface Setup {
  readonly fixture: TableFixture;
  readonly store: DynamoConversationStore;
  readonly tap: StreamTap;
}

const setup = async (): Promise<Setup> => {
  const fixture = await newTable(engine());
  return { fixture, store: new DynamoConversationStore({ table: fixture.table, clock: testClock(at(0)) }), tap: tapStream(fixture) };
};

/** The events of each stream record, in the order the records came. */
const eventsOf = (records: readonly DynamoDBRecord[]): DomainEvent[][] => records.map(eventsOfStreamRecord);

describe('domain events from stream records', () => {
  it("turns a new customer's first write into contact.created, thread.created and message.received, with the records as written", async () => {
    const { store, tap } = await setup();
    const identity = identityRecord();
    const contact = contactRecord({ id: identity.contactId, threadId: identity.threadId, phone: '+821012345678', phoneVerified: true });
    const thread = threadRecord({ id: identity.threadId, contactId: contact.id, updatedAt: at(1) });
    const message = {
      ...messageRecord({ threadId: thread.id, second: 1, text: 'Hello!', contactId: contact.id }),
      expiresAt: at(86_400 * 400),
    };
    const events = {
      contact: onceEvent('contact.created', at(1), [contact.id]),
      thread: onceEvent('thread.created', at(1), [thread.id], { changes: [] }),
      message: onceEvent('message.received', at(1), [message.id]),
    };

    await store.commit([
      { kind: 'identity', op: 'put', value: identity, version: NEW_RECORD },
      { kind: 'contact', op: 'put', value: contact, version: NEW_RECORD, events: [events.contact] },
      { kind: 'thread', op: 'put', value: thread, version: NEW_RECORD, events: [events.thread] },
    ]);
    await store.commit([{ kind: 'message', op: 'put', value: message, version: NEW_RECORD, events: [events.message] }]);
    const records = await tap.drain();
    await tap.stop();

    expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'INSERT', 'INSERT', 'INSERT']);
    const published = eventsOf(records).flat();
    expect(published).toEqual([
      { id: events.contact.id, type: 'contact.created', schemaVersion: 1, createdAt: at(1), data: { contact } },
      {
        id: events.thread.id,
        type: 'thread.created',
        schemaVersion: 1,
        createdAt: at(1),
        data: { thread: ThreadSchema.parse(thread), changes: [] },
      },
      {
        id: events.message.id,
        type: 'message.received',
        schemaVersion: 1,
        createdAt: at(1),
        data: { message: MessageSchema.parse(message), threadId: thread.id, contactId: contact.id },
      },
    ]);
    // What only the store keeps stays out of the events.
    expect(published[1]?.data).not.toHaveProperty('thread.counted');
    expect(published[2]?.data).not.toHaveProperty('message.expiresAt');
    for (const event of published) expect(DomainEventSchema.parse(event)).toEqual(event);
  });

  it("merges the event's extra into its data, and takes the record from the write that carried it", async () => {
    const { store, tap } = await setup();
    const survivor = contactRecord({ name: 'Ann Lee' });
    await store.commit([{ kind: 'contact', op: 'put', value: survivor, version: NEW_RECORD }]);
    const merged = { ...survivor, merges: [], updatedAt: at(50), attributes: { plan: 'pro' } };
    const by = { type: 'api_key' as const, id: 'key_admin' };
    const event = onceEvent('contact.merged', at(50), [survivor.id, 'ct_other', at(50)], {
      mergedContactId: 'ct_other',
      reason: 'same person',
      by,
    });

    await store.commit([{ kind: 'contact', op: 'put', value: merged, version: 1, events: [event] }]);
    const records = await tap.drain();
    await tap.stop();

    expect(eventsOf(records)).toEqual([
      [],
      [
        {
          id: event.id,
          type: 'contact.merged',
          schemaVersion: 1,
          createdAt: at(50),
          data: { contact: merged, mergedContactId: 'ct_other', reason: 'same person', by },
        },
      ],
    ]);
  });

  it('publishes an event once: a later write that still carries it (its old image had it) yields only the new ones', async () => {
    const { store, tap } = await setup();
    const contactId = uid('ct');
    const queued = messageRecord({ threadId: uid('th'), second: 1, direction: 'outbound', contactId });
    const created = onceEvent('message.created', at(1), [queued.id]);
    await store.commit([{ kind: 'message', op: 'put', value: queued, version: NEW_RECORD, events: [created] }]);
    const sent = { ...queued, status: 'sent' as const, externalId: 'wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA' };
    const status = onceEvent('message.status', at(2), [queued.id, 'sent'], { status: 'sent', previousStatus: 'queued' });

    // A retried write of the same change carries the first write's event again, with the new one.
    await store.commit([{ kind: 'message', op: 'put', value: sent, version: 1, events: [created, status] }]);
    // A write without events (a claim taken) publishes nothing.
    await store.commit([{ kind: 'message', op: 'put', value: { ...sent, claim: { token: 't', until: at(90) } }, version: 2 }]);
    const records = await tap.drain();
    await tap.stop();

    const published = eventsOf(records);
    expect(published.map((events) => events.map((e) => e.type))).toEqual([['message.created'], ['message.status'], []]);
    expect(published[1]).toEqual([
      {
        id: status.id,
        type: 'message.status',
        schemaVersion: 1,
        createdAt: at(2),
        data: { message: MessageSchema.parse(sent), threadId: sent.threadId, contactId, status: 'sent', previousStatus: 'queued' },
      },
    ]);
  });

  it('gives a fresh event each time a change happens again', async () => {
    const { store, tap } = await setup();
    const thread = threadRecord();
    await store.commit([{ kind: 'thread', op: 'put', value: thread, version: NEW_RECORD }]);
    const resolved = { ...thread, status: 'resolved' as const, resolvedAt: at(10), updatedAt: at(10) };
    const reopened = { ...thread, updatedAt: at(20) };
    await store.commit([
      { kind: 'thread', op: 'put', value: resolved, version: 1, events: [freshEvent('thread.updated', at(10), { changes: ['status'] })] },
    ]);
    await store.commit([
      { kind: 'thread', op: 'put', value: reopened, version: 2, events: [freshEvent('thread.updated', at(20), { changes: ['status'] })] },
    ]);
    const records = await tap.drain();
    await tap.stop();

    const [, first, second] = eventsOf(records).map((events) => events[0]);
    expect(first?.data).toEqual({ thread: ThreadSchema.parse(resolved), changes: ['status'] });
    expect(second?.data).toEqual({ thread: ThreadSchema.parse(reopened), changes: ['status'] });
    expect(first?.id).not.toBe(second?.id);
  });

  it('yields no event for a record removed, even one whose last write carried events', async () => {
    const { store, tap } = await setup();
    const contact = contactRecord();
    await store.commit([
      { kind: 'contact', op: 'put', value: contact, version: NEW_RECORD, events: [onceEvent('contact.created', at(0), [contact.id])] },
    ]);
    await store.commit([{ kind: 'contact', op: 'delete', key: { id: contact.id }, version: 1 }]);
    const records = await tap.drain();
    await tap.stop();

    expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'REMOVE']);
    expect(records[1]?.dynamodb?.OldImage?.ev).toBeDefined();
    expect(eventsOfStreamRecord(records[1] as DynamoDBRecord)).toEqual([]);
  });

  it("publishes account.registered from the account store's first registration", async () => {
    const { fixture, tap } = await setup();
    const accounts = new DynamoAccountStore(fixture.table);
    await accounts.put({ channel: 'line', accountId: 'U4af4980629', name: 'Shop', createdAt: at(3) });
    await accounts.put({ channel: 'line', accountId: 'U4af4980629', name: 'Shop (Seoul)', createdAt: at(9) });
    const records = await tap.drain();
    await tap.stop();

    expect(eventsOf(records)).toEqual([
      [
        {
          id: 'evt_account_line_U4af4980629',
          type: 'account.registered',
          schemaVersion: 1,
          createdAt: at(3),
          data: { account: { channel: 'line', accountId: 'U4af4980629', name: 'Shop', createdAt: at(3) } },
        },
      ],
      [],
    ]);
  });

  it('refuses a record whose events cannot be read, naming its sequence number', async () => {
    const { fixture, store, tap } = await setup();
    const contact = contactRecord();
    const put = (pk: string, item: Record<string, unknown>) =>
      fixture.db.client.send(
        new PutCommand({ TableName: fixture.tableName, Item: { pk, sk: 'CONTACT', entity: 'contact', ...contact, ...item } }),
      );
    // Written by hand, or by a bug: not JSON, an unknown event type, data the event's schema refuses.
    await put(`CONTACT#${uid('a')}`, { ev: '[{"id":"evt_1",' });
    await put(`CONTACT#${uid('b')}`, { ev: JSON.stringify([{ id: 'evt_2', type: 'contact.teleported', at: at(0) }]) });
    await put(`CONTACT#${uid('c')}`, { ev: JSON.stringify([{ id: 'evt_3', type: 'contact.updated', at: at(0) }]) });
    await put(`CONTACT#${uid('d')}`, { ev: JSON.stringify([{ id: 'evt_4', type: 'contact.created', at: at(0) }]), state: 'dissolved' });
    // The stores never write such a record.
    await store.commit([
      { kind: 'contact', op: 'put', value: contactRecord(), version: NEW_RECORD, events: [onceEvent('contact.created', at(0), ['x'])] },
    ]);
    const records = await tap.drain();
    await tap.stop();

    for (const record of records.slice(0, 4)) {
      const error = await thrown(async () => eventsOfStreamRecord(record));
      expect(error).toBeInstanceOf(UnreadableStreamRecordError);
      expect((error as UnreadableStreamRecordError).sequenceNumber).toBe(record.dynamodb?.SequenceNumber);
    }
    expect(records[4]?.dynamodb?.SequenceNumber).toMatch(/^\d+$/);
    expect(eventsOfStreamRecord(records[4] as DynamoDBRecord)).toHaveLength(1);
  });
});
