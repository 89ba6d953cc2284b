/**
 * The conversation store's contacts and identities: read with versions, found by phone and email (active
 * contacts only), written all or nothing with a new customer's thread.
 */
import { describe, expect, it } from 'vitest';
import { DynamoConversationStore } from '../../../adapters/aws/store/conversations.ts';
import { NEW_RECORD } from '../../../domain/shared/store.ts';
import { contactsContract, phone } from './contracts/contacts.ts';
import { newTable, testClock, useLocalEngine, type ConversationsUnderTest, type Factory, type TableFixture } from './harness.ts';
import { at, contactRecord, uid } from './records.ts';

const engine = useLocalEngine();
let last: TableFixture | undefined;
const dynamo: Factory<ConversationsUnderTest> = async () => {
  last = await newTable(engine());
  const clock = testClock(at(0));
  return { store: new DynamoConversationStore({ table: last.table, clock }), clock };
};

contactsContract('DynamoConversationStore on the local engine', dynamo);

describe('DynamoConversationStore contact lookups', () => {
  it('re-reads what the phone index answers and drops a contact that has moved on since (the index lags the table)', async () => {
    const { store } = await dynamo();
    const table = last as TableFixture;
    const number = phone();
    const contact = contactRecord({ phone: number });
    await store.commit([{ kind: 'contact', op: 'put', value: contact, version: NEW_RECORD }]);

    // The index answers as it did before the change below reached it (GSIs are eventually consistent).
    let staleAnswer: unknown;
    let lagging = false;
    table.table.client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = (args as { input: { IndexName?: string } }).input;
        if (context.commandName !== 'QueryCommand' || input.IndexName !== 'gsi2') return next(args);
        if (lagging && staleAnswer !== undefined) return staleAnswer as Awaited<ReturnType<typeof next>>;
        staleAnswer = await next(args);
        return staleAnswer as Awaited<ReturnType<typeof next>>;
      },
      { step: 'initialize', name: 'laggingIndex' },
    );
    expect(await store.findContacts({ phone: number })).toEqual([contact]);

    const moved = { ...contact, phone: phone(), updatedAt: at(5) };
    await store.commit([{ kind: 'contact', op: 'put', value: moved, version: 1 }]);
    lagging = true;
    expect(await store.findContacts({ phone: number })).toEqual([]);

    const merged = { ...moved, phone: number, state: 'merged' as const, mergedInto: uid('ct'), updatedAt: at(6) };
    await store.commit([{ kind: 'contact', op: 'put', value: merged, version: 2 }]);
    expect(await store.findContacts({ phone: number })).toEqual([]);

    await store.commit([{ kind: 'contact', op: 'delete', key: { id: contact.id }, version: 3 }]);
    expect(await store.findContacts({ phone: number })).toEqual([]);
    expect(table.operations.filter((op) => op === 'Query')).toHaveLength(4);
  });
});
