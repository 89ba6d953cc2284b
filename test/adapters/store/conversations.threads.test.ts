/**
 * The conversation store's threads: the inbox listing (every filter, newest activity first across the status
 * partitions, pages without duplicates or gaps, cursors only for their own listing), merged threads, notes and
 * group participants.
 */
import { DynamoConversationStore } from '../../../adapters/aws/store/conversations.ts';
import { threadsContract } from './contracts/threads.ts';
import { newTable, testClock, useLocalEngine } from './harness.ts';
import { at } from './records.ts';

const engine = useLocalEngine();
threadsContract('DynamoConversationStore on the local engine', async () => {
  const { table } = await newTable(engine());
  const clock = testClock(at(0));
  return { store: new DynamoConversationStore({ table, clock }), clock };
});
