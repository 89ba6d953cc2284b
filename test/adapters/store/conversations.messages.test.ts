/**
 * The conversation store's messages: written once, found by id and by the provider's id, listed over one
 * thread or over a thread and those merged into it as one chronological sequence, and never returned once
 * expired (whether or not the TTL sweep has removed them yet).
 */
import { describe, expect, it } from 'vitest';
import { DynamoConversationStore, messageKey, pointerKey } from '../../../adapters/aws/store/conversations.ts';
import { insert, messagesContract } from './contracts/messages.ts';
import { newTable, testClock, useLocalEngine, type ConversationsUnderTest, type Factory, type TableFixture } from './harness.ts';
import { at, messageRecord, uid } from './records.ts';

const engine = useLocalEngine();
let last: TableFixture | undefined;
const dynamo: Factory<ConversationsUnderTest> = async () => {
  last = await newTable(engine());
  const clock = testClock(at(0));
  return { store: new DynamoConversationStore({ table: last.table, clock }), clock };
};

messagesContract('DynamoConversationStore on the local engine', dynamo);

describe('DynamoConversationStore message retention', () => {
  it('marks each message and pointer for the TTL sweep, and decides expiry itself while they are not swept', async () => {
    const { store, clock } = await dynamo();
    const fixture = last as TableFixture;
    const thread = uid('th');
    const message = messageRecord({ threadId: thread, second: 1, expiresAt: '2026-03-15T09:00:00.500Z' });
    await insert(store, message);

    const epochSeconds = Math.ceil(Date.parse('2026-03-15T09:00:00.500Z') / 1000);
    expect((await fixture.stored(messageKey(thread, message.id)))?.ttl).toBe(epochSeconds);
    expect((await fixture.stored(pointerKey('telegram', '7712345678', message.externalId as string)))?.ttl).toBe(epochSeconds);

    clock.set('2026-03-16T00:00:00.000Z');
    // Still in the table (the engine's sweep is off, as DynamoDB's may lag by days), yet never read.
    expect(await fixture.stored(messageKey(thread, message.id))).toBeDefined();
    expect(await store.getMessage(thread, message.id)).toBeUndefined();
    expect(await store.listMessages([thread], 10)).toEqual({ items: [] });
  });
});
