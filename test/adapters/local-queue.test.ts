import { execFile } from 'node:child_process';
import { closeSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalQueue } from '../../adapters/local/local-queue.ts';

/**
 * The file system as the queue sees it, unchanged but watched: which paths were fsynced (a directory's too), and
 * a flush to the disk that can be made to fail once, as a failing disk answers fdatasync with EIO.
 */
const disk = vi.hoisted(() => ({
  fsynced: [] as string[],
  failNextDatasync: undefined as NodeJS.ErrnoException | undefined,
  datasyncs: 0,
}));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const paths = new Map<number, string>();
  return {
    ...fs,
    openSync: (...args: Parameters<typeof fs.openSync>) => {
      const fd = fs.openSync(...args);
      paths.set(fd, String(args[0]));
      return fd;
    },
    fsyncSync: (fd: number) => {
      disk.fsynced.push(paths.get(fd) ?? `fd ${fd}`);
      fs.fsyncSync(fd);
    },
    fdatasync: (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
      disk.datasyncs += 1;
      const failure = disk.failNextDatasync;
      disk.failNextDatasync = undefined;
      if (failure) setImmediate(() => callback(failure));
      else fs.fdatasync(fd, callback);
    },
  };
});

const spec = { visibilityTimeoutSeconds: 30, maxReceiveCount: 3, batchSize: 10 };
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-queue-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A queue on a controllable clock, with timeouts scaled to milliseconds. */
const makeQueue = (journalPath?: string) => {
  const dlq = new LocalQueue<unknown>({ name: 'work-dlq', spec: { ...spec, maxReceiveCount: Infinity } });
  const queue = new LocalQueue<{ n: number }>({
    name: 'work',
    spec,
    deadLetterQueue: dlq,
    timeScale: 0.001, // 30 s visibility → 30 ms
    ...(journalPath && { journalPath }),
  });
  return { queue, dlq };
};

describe('LocalQueue', () => {
  it('delivers each message to the consumer and deletes it once handled', async () => {
    const { queue } = makeQueue();
    const seen: number[] = [];
    queue.consume(async (event) => {
      for (const r of event.Records) seen.push((JSON.parse(r.body) as { n: number }).n);
    });
    await queue.send({ n: 1 });
    await queue.send({ n: 2 });
    await queue.idle();
    expect(seen.sort()).toEqual([1, 2]);
    expect(queue.size).toBe(0);
    queue.stop();
  });

  it('redelivers only the records reported as failed, counting receives', async () => {
    const { queue } = makeQueue();
    const receives: Record<number, string[]> = {};
    queue.consume(async (event: SQSEvent): Promise<SQSBatchResponse> => {
      const failures = [];
      for (const r of event.Records) {
        const { n } = JSON.parse(r.body) as { n: number };
        (receives[n] ??= []).push(r.attributes.ApproximateReceiveCount);
        if (n === 2 && receives[n].length < 2) failures.push({ itemIdentifier: r.messageId });
      }
      return { batchItemFailures: failures };
    });
    await queue.send({ n: 1 });
    await queue.send({ n: 2 });
    await new Promise((r) => setTimeout(r, 120));
    await queue.idle();
    expect(receives[1]).toEqual(['1']);
    expect(receives[2]).toEqual(['1', '2']);
    expect(queue.size).toBe(0);
    queue.stop();
  });

  it('moves a message to the dead-letter queue after maxReceiveCount receives, body intact', async () => {
    const { queue, dlq } = makeQueue();
    let calls = 0;
    queue.consume(async () => {
      calls += 1;
      throw new Error('consumer down');
    });
    await queue.send({ n: 7 });
    for (let i = 0; i < 50 && dlq.size === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(calls).toBe(3);
    expect(queue.size).toBe(0);
    expect(dlq.peek()).toEqual([{ n: 7 }]);
    queue.stop();
  });

  it('honours a postponed visibility (backoff) before redelivering', async () => {
    const { queue } = makeQueue();
    const times: number[] = [];
    queue.consume(async (event) => {
      times.push(Date.now());
      const r = event.Records[0];
      if (r && times.length === 1) {
        await queue.setVisibilityTimeout(r.receiptHandle, 200); // 200 s scaled → 200 ms
        return { batchItemFailures: [{ itemIdentifier: r.messageId }] };
      }
      return { batchItemFailures: [] };
    });
    await queue.send({ n: 1 });
    for (let i = 0; i < 50 && times.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(times).toHaveLength(2);
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(190);
    queue.stop();
  });

  it('keeps queued and in-flight messages across a restart, and redelivers the in-flight one', async () => {
    const journal = join(tempDir(), 'work.jsonl');
    const first = makeQueue(journal).queue;
    await first.send({ n: 1 });
    await first.send({ n: 2 });
    let release: () => void = () => {};
    first.consume(
      (event) =>
        new Promise((resolve) => {
          // Simulate a crash mid-batch: never finishes.
          release = () => resolve({ batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) });
        }),
    );
    await new Promise((r) => setTimeout(r, 20));
    first.stop();

    const { queue: second } = makeQueue(journal);
    expect(second.size).toBe(2);
    const seen: number[] = [];
    second.consume(async (event) => {
      for (const r of event.Records) seen.push((JSON.parse(r.body) as { n: number }).n);
    });
    await new Promise((r) => setTimeout(r, 80)); // past the 30 ms visibility of the interrupted receive
    await second.idle();
    expect(seen.sort()).toEqual([1, 2]);
    expect(second.size).toBe(0);
    second.stop();
    release();

    expect(makeQueue(journal).queue.size).toBe(0);
  });

  it('resolves a send only once its message is in the journal, many sends of one moment in one write', async () => {
    const journal = join(tempDir(), 'work.jsonl');
    const { queue } = makeQueue(journal);
    const sent = Array.from({ length: 50 }, (_, n) => queue.send({ n }));
    // Not yet written: the sends of this moment share one write at the end of it.
    expect(readFileSync(journal, 'utf8')).toBe('');
    await Promise.all(sent);
    const lines = readFileSync(journal, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(50);
    expect(lines.map((line) => JSON.parse((JSON.parse(line) as { message: { body: string } }).message.body) as { n: number })).toEqual(
      Array.from({ length: 50 }, (_, n) => ({ n })),
    );
    queue.stop();
  });

  it('gathers what is sent while a write is being flushed into the next write, keeping the order', async () => {
    const journal = join(tempDir(), 'work.jsonl');
    const { queue } = makeQueue(journal);
    const sent: Promise<void>[] = [];
    // Ten turns of the event loop, each sending five: later turns find the previous write still syncing.
    for (let turn = 0; turn < 10; turn++) {
      for (let i = 0; i < 5; i++) sent.push(queue.send({ n: turn * 5 + i }));
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(sent);
    const bodies = readFileSync(journal, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse((JSON.parse(line) as { message: { body: string } }).message.body) as { n: number });
    expect(bodies).toEqual(Array.from({ length: 50 }, (_, n) => ({ n })));
    expect(queue.size).toBe(50);
    queue.stop();
  });

  it('writes at stop what was sent while the previous write was still being flushed', async () => {
    const journal = join(tempDir(), 'work.jsonl');
    const { queue } = makeQueue(journal);
    const first = queue.send({ n: 1 });
    await new Promise((r) => setImmediate(r)); // its write is out, its flush may still run
    const second = queue.send({ n: 2 });
    queue.stop();
    await queue.drained();
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
    expect(makeQueue(journal).queue.peek()).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('writes what is still pending when it stops, so nothing accepted is lost', async () => {
    const journal = join(tempDir(), 'work.jsonl');
    const { queue } = makeQueue(journal);
    void queue.send({ n: 7 });
    queue.stop();
    expect(makeQueue(journal).queue.peek()).toEqual([{ n: 7 }]);
  });

  /** Breaks a queue's journal file descriptor, as a full or vanished disk would. */
  const breakJournal = (queue: LocalQueue<unknown>) => closeSync((queue as unknown as { journal: number }).journal);

  it('acknowledges a batch only once it is flushed to the disk; a flush that fails (EIO) refuses it and cuts it off', async () => {
    const journal = join(tempDir(), 'work.jsonl');
    const { queue } = makeQueue(journal);
    await queue.send({ n: 1 });
    const flushed = disk.datasyncs;
    expect(flushed).toBeGreaterThan(0);

    disk.failNextDatasync = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    const refused = Promise.all([queue.send({ n: 2 }), queue.send({ n: 3 })]);
    await expect(refused).rejects.toThrow(/EIO/);
    await queue.send({ n: 4 });

    expect(disk.datasyncs).toBe(flushed + 2);
    const bodies = (text: string) =>
      text
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse((JSON.parse(line) as { message: { body: string } }).message.body) as { n: number });
    expect(bodies(readFileSync(journal, 'utf8'))).toEqual([{ n: 1 }, { n: 4 }]);
    queue.stop();
    const reopened = new LocalQueue<{ n: number }>({ name: 'work', spec, journalPath: journal });
    expect(reopened.peek()).toEqual([{ n: 1 }, { n: 4 }]);
    reopened.stop();
  });

  it('compacts the journal at start through a synced copy, and syncs the directory after the rename', async () => {
    const dir = tempDir();
    const journal = join(dir, 'work.jsonl');
    const { queue } = makeQueue(journal);
    await queue.send({ n: 1 });
    queue.stop();
    disk.fsynced.length = 0;

    const reopened = new LocalQueue<{ n: number }>({ name: 'work', spec, journalPath: journal });

    // The copy is on the disk before it replaces the journal, and the rename is on the disk before anything is acknowledged.
    expect(disk.fsynced).toEqual([`${journal}.tmp`, dir]);
    expect(reopened.peek()).toEqual([{ n: 1 }]);
    reopened.stop();
  });

  it('refuses a send whose journal write fails, and forgets its message so a retry is not doubled', async () => {
    const { queue } = makeQueue(join(tempDir(), 'work.jsonl'));
    breakJournal(queue as LocalQueue<unknown>);
    await expect(queue.send({ n: 1 })).rejects.toThrow(/EBADF|bad file descriptor/i);
    expect(queue.size).toBe(0);
  });

  it('cuts a write the disk cut short back to the last whole record: acknowledged messages survive, refused ones stay gone', async () => {
    const journal = join(tempDir(), 'work.jsonl');
    const LIMIT_KB = 8;
    // A real partial write: in a child whose file size limit is 8 KiB, write() stores what fits and the next
    // one fails with EFBIG, as a full disk does with ENOSPC. Node ignores SIGXFSZ; the trap is for bash.
    const { stdout } = await promisify(execFile)(
      'bash',
      [
        '-c',
        `trap '' XFSZ; ulimit -f ${LIMIT_KB}; exec node --import tsx test/helpers/journal-partial-write.child.ts "$0" ${LIMIT_KB * 1024 * 2}`,
        journal,
      ],
      { cwd: fileURLToPath(new URL('../..', import.meta.url)) },
    );
    // Exactly the sends of the failed batch are refused; the one before it and the one after it are kept.
    expect(JSON.parse(stdout)).toEqual({
      acknowledged: 'ok',
      'same-batch-before': 'EFBIG',
      'too-big': 'EFBIG',
      'same-batch-after': 'EFBIG',
      later: 'ok',
    });
    // No torn record: every line is whole, and nothing of the failed batch is left to come back.
    const text = readFileSync(journal, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const names = text
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(JSON.parse(line).message.body) as { name: string }).name);
    expect(names).toEqual(['acknowledged', 'later']);
    expect(statSync(journal).size).toBeLessThan(LIMIT_KB * 1024);
    // After a restart both acknowledged messages are there, and only they.
    const reopened = new LocalQueue<{ name: string }>({ name: 'work', spec, journalPath: journal });
    expect(reopened.peek().map((m) => m.name)).toEqual(['acknowledged', 'later']);
    reopened.stop();
  });

  it('refuses the pending sends when the write at stop fails, and still stops', async () => {
    const { queue } = makeQueue(join(tempDir(), 'work.jsonl'));
    const sent = queue.send({ n: 2 });
    breakJournal(queue as LocalQueue<unknown>);
    expect(() => queue.stop()).not.toThrow();
    await expect(sent).rejects.toThrow();
    await expect(queue.send({ n: 3 })).rejects.toThrow(/stopped/);
  });

  it('keeps a message whose dead-letter queue cannot take it, rather than losing it', async () => {
    const dir = tempDir();
    const dlq = new LocalQueue<unknown>({
      name: 'work-dlq',
      spec: { ...spec, maxReceiveCount: Infinity },
      journalPath: join(dir, 'dlq.jsonl'),
    });
    const queue = new LocalQueue<{ n: number }>({
      name: 'work',
      spec,
      deadLetterQueue: dlq,
      timeScale: 0.001,
      journalPath: join(dir, 'work.jsonl'),
    });
    await queue.send({ n: 8 });
    breakJournal(dlq);
    let calls = 0;
    queue.consume(async (event) => {
      calls += 1;
      return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) };
    });
    for (let i = 0; i < 30 && calls < 3; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    queue.stop();
    expect(calls).toBe(3);
    expect(dlq.size).toBe(0);
    // Still in its queue, on disk too: a restart finds it.
    expect(new LocalQueue<{ n: number }>({ name: 'work', spec, journalPath: join(dir, 'work.jsonl') }).peek()).toEqual([{ n: 8 }]);
  });

  it('rejects a stale receipt handle', async () => {
    const { queue } = makeQueue();
    await expect(queue.setVisibilityTimeout('nope', 5)).rejects.toThrow(/ReceiptHandleIsInvalid/);
  });

  it.each([
    [undefined, [1]],
    [4, [1, 2, 3]],
  ])(
    'with concurrentBatches %s, handles that many batches at once: a stuck batch holds only its own messages',
    async (concurrentBatches, handledWhileStuck) => {
      // A visibility timeout of 30 real seconds: the stuck message is not received again meanwhile.
      const queue = new LocalQueue<{ n: number }>({
        name: 'work',
        spec: { ...spec, batchSize: 1, ...(concurrentBatches && { concurrentBatches }) },
      });
      let release: () => void = () => {};
      const stuck = new Promise<void>((resolve) => {
        release = resolve;
      });
      const handled: number[] = [];
      queue.consume(async (event) => {
        const { n } = JSON.parse(event.Records[0]?.body ?? '{}') as { n: number };
        if (n === 1) await stuck;
        handled.push(n);
      });
      await queue.send({ n: 1 });
      await new Promise((resolve) => setTimeout(resolve, 10));
      await queue.send({ n: 2 });
      await queue.send({ n: 3 });
      await new Promise((resolve) => setTimeout(resolve, 50));

      expect([1, ...handled].sort()).toEqual(handledWhileStuck);
      release();
      await queue.idle();
      expect(handled.sort()).toEqual([1, 2, 3]);
      queue.stop();
    },
  );

  it('does not receive a message again while its batch is still handled, past its (scaled) visibility timeout', async () => {
    const queue = new LocalQueue<{ n: number }>({ name: 'work', spec: { ...spec, concurrentBatches: 4 }, timeScale: 0.001 });
    const receives: string[] = [];
    queue.consume(async (event) => {
      receives.push(event.Records[0]?.attributes.ApproximateReceiveCount ?? '');
      // Longer than the 30 ms visibility timeout, as a real wait for a provider is against a scaled one.
      await new Promise((resolve) => setTimeout(resolve, 120));
    });
    await queue.send({ n: 1 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await queue.idle();

    expect(receives).toEqual(['1']);
    expect(queue.size).toBe(0);
    queue.stop();
  });
});
