/**
 * Run by test/adapters/local-queue.test.ts in a child process whose file size limit (`ulimit -f`) is small,
 * so a journal write that crosses it is really cut short by the kernel (write() returns what fit, then
 * EFBIG), as with a disk that fills up mid-write. Prints each send's outcome as one JSON line.
 *
 *   node --import tsx test/helpers/journal-partial-write.child.ts <journal path> <big body bytes>
 */
import { LocalQueue } from '../../adapters/local/local-queue.ts';

const [journalPath, bigBytes] = process.argv.slice(2);
if (!journalPath || !bigBytes) throw new Error('usage: journal-partial-write.child.ts <journal> <big body bytes>');
const queue = new LocalQueue<{ name: string; padding?: string }>({
  name: 'work',
  spec: { visibilityTimeoutSeconds: 30, maxReceiveCount: 3, batchSize: 10 },
  journalPath,
});

const outcomes: Record<string, string> = {};
const settle = (name: string, sent: Promise<void>) =>
  sent.then(
    () => {
      outcomes[name] = 'ok';
    },
    (error: NodeJS.ErrnoException) => {
      outcomes[name] = error.code ?? error.message;
    },
  );

// Acknowledged first, well under the limit.
await settle('acknowledged', queue.send({ name: 'acknowledged' }));
// One batch (one turn of the event loop) whose write crosses the limit: a small record that fits whole,
// a big one cut in its middle, another small one never reached. All three must be refused.
await Promise.all([
  settle('same-batch-before', queue.send({ name: 'same-batch-before' })),
  settle('too-big', queue.send({ name: 'too-big', padding: 'x'.repeat(Number(bigBytes)) })),
  settle('same-batch-after', queue.send({ name: 'same-batch-after' })),
]);
// A later write, small enough to fit once the torn tail is gone.
await settle('later', queue.send({ name: 'later' }));
queue.stop();
process.stdout.write(`${JSON.stringify(outcomes)}\n`);
