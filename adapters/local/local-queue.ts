/**
 * An in-process queue with the SQS behaviour Parley's consumers rely on: a received message is invisible
 * for the visibility timeout and comes back if not deleted; the consumer can postpone a message
 * (ChangeMessageVisibility); each receive counts, and a message received more than `maxReceiveCount` times
 * moves to the dead-letter queue, as with an SQS redrive policy; consumers report partial batch failures.
 *
 * State is journaled to a file (one JSON line per change, compacted at start), so queued work survives a
 * restart of the local runtime; a message that was in flight when the process stopped is redelivered.
 * A send resolves once its record is flushed to the disk (a group commit: one write and one flush, off the
 * event loop, for everything sent meanwhile), and a write that fails part-way (a full disk) is cut back to
 * the last whole record, so the next record starts on a line of its own.
 */
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Log, WorkQueue } from '../../domain/ports.ts';
import type { VisibilityControl } from '../../domain/ports.ts';
import type { QueueSpec } from '../../topology/topology.ts';

interface QueuedMessage {
  readonly id: string;
  readonly body: string;
  readonly sentAt: number;
  receiveCount: number;
  visibleAt: number;
  firstReceivedAt?: number;
  receiptHandle?: string;
}

type JournalEntry =
  | { op: 'put'; message: QueuedMessage }
  | { op: 'receive'; id: string; receiveCount: number; visibleAt: number; receiptHandle: string }
  | { op: 'visibility'; id: string; visibleAt: number }
  | { op: 'delete'; id: string };

/** The journal lines of one event-loop turn, the messages they put, and the promise their senders await. */
interface JournalBatch {
  readonly lines: string[];
  /** Messages the batch puts: they join the queue once the batch is on the disk, never before. */
  readonly added: QueuedMessage[];
  readonly written: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

const newBatch = (): JournalBatch => {
  let resolve: () => void = () => {};
  let reject: (error: Error) => void = () => {};
  const written = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Settled even when no sender awaits it (a batch of receives and deletes): failures are logged in flush().
  written.catch(() => {});
  return { lines: [], added: [], written, resolve, reject };
};

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

// biome-ignore lint/suspicious/noConfusingVoidType: a Lambda handler may return nothing, as AWS's own types say
export type BatchHandler = (event: SQSEvent) => Promise<SQSBatchResponse | void>;

/** How long background work waits before it looks again whether foreground work is still waiting. */
const YIELD_MS = 20;

export interface LocalQueueOptions {
  readonly name: string;
  readonly spec: Pick<QueueSpec, 'visibilityTimeoutSeconds' | 'maxReceiveCount' | 'batchSize' | 'concurrentBatches'>;
  /** Where the journal lives; omit for a memory-only queue. */
  readonly journalPath?: string;
  /** The queue that takes messages received more than `maxReceiveCount` times. */
  readonly deadLetterQueue?: LocalQueue<unknown>;
  /** Multiplies every delay and timeout; tests use a small factor to see retries in milliseconds. */
  readonly timeScale?: number;
  readonly log?: Log;
  readonly now?: () => number;
  /**
   * Background work: while this says other work is waiting, the queue takes no new batch (it looks again shortly).
   * The local runtime gives it to queues whose topology marks them `background`.
   */
  readonly yieldWhile?: () => boolean;
}

export class LocalQueue<T> implements WorkQueue<T>, VisibilityControl {
  readonly name: string;
  private readonly messages = new Map<string, QueuedMessage>();
  private readonly byReceipt = new Map<string, string>();
  private handler: BatchHandler | undefined;
  private running = 0;
  /** Messages on their way to the dead-letter queue: out of sight until it has them (see `deadLetter`). */
  private readonly moving = new Set<string>();
  /**
   * Messages of the batches being handled. Not received again until their batch ends, even past their visibility
   * timeout: in AWS the consumer's timeout is shorter than the queue's visibility timeout (the stacks check it),
   * so Lambda has stopped a batch before its messages come back; here nothing stops a handler, and a scaled
   * visibility timeout (`timeScale`) is shorter than a real wait for a receiver.
   */
  private readonly inFlight = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  private readonly timeScale: number;
  private readonly now: () => number;
  /** The journal, open for appending for the queue's lifetime (reopening per write costs more than the write). */
  private journal: number | undefined;
  /** The journal lines not written yet: this turn's, or those gathered while the previous batch was synced. */
  private batch: JournalBatch | undefined;
  private flushScheduled = false;
  /** The batch written and being flushed to the disk; the next one waits for it (one flush at a time). */
  private syncing: JournalBatch | undefined;
  /** Stopped while a batch was being synced: the journal closes once it is done. */
  private closing = false;
  private closed: Promise<void> = Promise.resolve();
  private markClosed: () => void = () => {};
  /** Bytes of the journal that hold whole records: where a failed write is cut back to. */
  private journalSize = 0;
  /** A failed write left bytes past `journalSize` that could not be cut off yet. */
  private torn = false;

  constructor(private readonly options: LocalQueueOptions) {
    this.name = options.name;
    this.timeScale = options.timeScale ?? 1;
    this.now = options.now ?? Date.now;
    if (options.journalPath) {
      this.load(options.journalPath);
      this.journal = openSync(options.journalPath, 'a');
      this.journalSize = fstatSync(this.journal).size;
      this.closed = new Promise((resolve) => {
        this.markClosed = resolve;
      });
    }
  }

  get size(): number {
    return this.messages.size;
  }

  /** True while a batch is in flight or a message is visible and waiting. */
  get busy(): boolean {
    return !this.isIdle();
  }

  /** Message bodies currently held, for inspection (the dead-letter queue in tests and the CLI). */
  peek(): T[] {
    return [...this.messages.values()].map((m) => JSON.parse(m.body) as T);
  }

  /**
   * Resolves once the message is in the journal and on the disk, so what a webhook acknowledges survives a
   * crash of the process or the machine; rejects, and forgets the message, when the journal cannot take it.
   */
  async send(message: T, options?: { readonly delaySeconds?: number }): Promise<void> {
    await this.sendRaw(JSON.stringify(message), options?.delaySeconds ?? 0);
  }

  /** Enqueues a body as it is (a dead-lettered message keeps its original body); settles like `send`. */
  sendRaw(body: string, delaySeconds = 0): Promise<void> {
    const message: QueuedMessage = {
      id: randomUUID(),
      body,
      sentAt: this.now(),
      receiveCount: 0,
      visibleAt: this.now() + delaySeconds * 1000 * this.timeScale,
    };
    if (this.options.journalPath === undefined) {
      this.messages.set(message.id, message);
      this.schedule(0);
      return Promise.resolve();
    }
    try {
      return this.write({ op: 'put', message }, message)?.written ?? Promise.resolve();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  async setVisibilityTimeout(receiptHandle: string, seconds: number): Promise<void> {
    const message = this.messages.get(this.byReceipt.get(receiptHandle) ?? '');
    if (!message || message.receiptHandle !== receiptHandle) throw new Error(`ReceiptHandleIsInvalid: ${receiptHandle}`);
    message.visibleAt = this.now() + seconds * 1000 * this.timeScale;
    this.write({ op: 'visibility', id: message.id, visibleAt: message.visibleAt });
  }

  /** Starts delivering batches to the consumer, like an SQS event source mapping with batch item failures. */
  consume(handler: BatchHandler): void {
    this.handler = handler;
    this.schedule(0);
  }

  /** Resolves once nothing is visible or in flight: every message was handled, postponed or dead-lettered. */
  async idle(): Promise<void> {
    if (this.isIdle()) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops delivering. The journal stays open for the batch in flight, whose outcome is still recorded
   * when it finishes (`drained` resolves then); what it leaves undeleted is redelivered after a restart.
   * What was sent and not written yet is written now, or as soon as the write before it is on the disk.
   */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.closeWhenDone();
  }

  /** Resolves once a stopped queue has no batch in flight and its journal is written and closed. */
  async drained(): Promise<void> {
    while (this.running > 0 || this.moving.size > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await this.closed;
  }

  private closeWhenDone(): void {
    if (!this.stopped || this.running > 0 || this.moving.size > 0 || this.journal === undefined) return;
    // A sync in flight finishes first (see `synced`); what came after it is written then, here.
    if (this.syncing) {
      this.closing = true;
      return;
    }
    const fd = this.journal;
    try {
      this.flush(true);
    } catch {
      // The batch's senders were told (their sends reject) and it was logged; the queue still closes.
    } finally {
      this.journal = undefined;
      this.closing = false;
      try {
        closeSync(fd);
      } catch {
        // Already gone with its disk: nothing more to keep.
      }
      this.markClosed();
    }
  }

  /**
   * Idle: nothing in flight, no message on its way in or to the dead-letter queue, and nothing visible for a
   * consumer (a queue nobody consumes, a DLQ, is idle once its messages are on the disk).
   */
  private isIdle(): boolean {
    if (this.running > 0 || this.moving.size > 0) return false;
    if ((this.batch?.added.length ?? 0) > 0 || (this.syncing?.added.length ?? 0) > 0) return false;
    if (!this.handler || this.stopped) return true;
    const now = this.now();
    return ![...this.messages.values()].some((m) => m.visibleAt <= now);
  }

  private schedule(delayMs: number): void {
    if (this.stopped || !this.handler) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.pump(), Math.max(0, delayMs));
  }

  private receive(max: number): QueuedMessage[] {
    const now = this.now();
    const batch: QueuedMessage[] = [];
    for (const message of this.messages.values()) {
      if (batch.length >= max) break;
      if (message.visibleAt > now || this.moving.has(message.id) || this.inFlight.has(message.id)) continue;
      if (message.receiveCount >= this.options.spec.maxReceiveCount && this.options.deadLetterQueue) {
        this.deadLetter(message, this.options.deadLetterQueue);
        continue;
      }
      if (message.receiptHandle) this.byReceipt.delete(message.receiptHandle);
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.visibleAt = now + this.options.spec.visibilityTimeoutSeconds * 1000 * this.timeScale;
      message.receiptHandle = randomUUID();
      this.byReceipt.set(message.receiptHandle, message.id);
      this.write({
        op: 'receive',
        id: message.id,
        receiveCount: message.receiveCount,
        visibleAt: message.visibleAt,
        receiptHandle: message.receiptHandle,
      });
      batch.push(message);
    }
    return batch;
  }

  /**
   * Moves a message to the dead-letter queue: its delete is written here only once the dead-letter queue
   * has it on the disk, so a crash between the two leaves it in both queues at worst, never in neither.
   * When the dead-letter queue cannot take it, it stays here and the move is tried again a visibility
   * timeout later.
   */
  private deadLetter(message: QueuedMessage, deadLetterQueue: LocalQueue<unknown>): void {
    this.moving.add(message.id);
    deadLetterQueue.sendRaw(message.body).then(
      () => {
        this.moving.delete(message.id);
        this.options.log?.warn(`queue ${this.name}: message moved to the dead-letter queue`, {
          messageId: message.id,
          receiveCount: message.receiveCount,
        });
        if (this.messages.get(message.id) === message) this.remove(message);
        this.afterMove();
      },
      (error: unknown) => {
        this.moving.delete(message.id);
        this.options.log?.error(`queue ${this.name}: the dead-letter queue could not take a message; it stays here`, {
          messageId: message.id,
          error: messageOf(error),
        });
        message.visibleAt = this.now() + this.options.spec.visibilityTimeoutSeconds * 1000 * this.timeScale;
        this.afterMove();
      },
    );
  }

  private afterMove(): void {
    this.closeWhenDone();
    this.schedule(0);
    this.notifyIdle();
  }

  private remove(message: QueuedMessage): void {
    this.write({ op: 'delete', id: message.id });
    this.messages.delete(message.id);
    if (message.receiptHandle) this.byReceipt.delete(message.receiptHandle);
  }

  private async pump(): Promise<void> {
    this.timer = undefined;
    if (this.stopped || !this.handler || this.running >= (this.options.spec.concurrentBatches ?? 1)) return;
    if (this.options.yieldWhile?.()) {
      this.schedule(YIELD_MS);
      return;
    }
    const batch = this.receive(this.options.spec.batchSize);
    if (batch.length === 0) {
      this.notifyIdle();
      const next = Math.min(
        ...[...this.messages.values()].filter((m) => !this.moving.has(m.id) && !this.inFlight.has(m.id)).map((m) => m.visibleAt),
      );
      if (Number.isFinite(next)) this.schedule(next - this.now());
      return;
    }
    this.running += 1;
    for (const message of batch) this.inFlight.add(message.id);
    // Another batch may start beside this one (as Lambda runs several invocations of a queue's consumer).
    if (this.running < (this.options.spec.concurrentBatches ?? 1)) this.schedule(0);
    const receipts = new Map(batch.map((m) => [m.id, m.receiptHandle]));
    let failed: Set<string>;
    try {
      const response = await this.handler({ Records: batch.map((m) => this.recordOf(m)) });
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (error) {
      // A thrown handler fails the whole batch, as with Lambda.
      this.options.log?.error(`queue ${this.name}: consumer threw; the batch will be retried`, { error: messageOf(error) });
      failed = new Set(batch.map((m) => m.id));
    } finally {
      this.running -= 1;
      for (const message of batch) this.inFlight.delete(message.id);
    }
    for (const message of batch) {
      // Deleted only if still held under the receipt this delivery got.
      if (!failed.has(message.id) && this.messages.get(message.id)?.receiptHandle === receipts.get(message.id)) {
        this.remove(message);
      }
    }
    if (this.stopped) this.closeWhenDone();
    else this.schedule(0);
  }

  private recordOf(message: QueuedMessage): SQSRecord {
    return {
      messageId: message.id,
      receiptHandle: message.receiptHandle ?? '',
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentAt),
        SenderId: 'local',
        ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? this.now()),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:local:000000000000:${this.name}`,
      awsRegion: 'local',
    };
  }

  private notifyIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * Journals a change. Changes made in one turn of the event loop go to the file in one write at the end of
   * it, and while one write is being flushed to the disk the next turns' changes gather for the write after
   * it (a group commit: under load, one write and one flush for many webhooks); `send` waits for the flush
   * of its batch before it resolves. Returns the batch the change is in (none for a memory-only queue).
   */
  private write(entry: JournalEntry, added?: QueuedMessage): JournalBatch | undefined {
    if (this.options.journalPath === undefined) return undefined;
    // A stopped queue accepts nothing it could not keep: the caller (a webhook) must answer 5xx instead.
    if (this.journal === undefined) throw new Error(`queue ${this.name} is stopped`);
    const batch = (this.batch ??= newBatch());
    batch.lines.push(`${JSON.stringify(entry)}\n`);
    if (added) batch.added.push(added);
    if (!this.flushScheduled && !this.syncing && !this.closing) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        try {
          this.flush(false);
        } catch {
          // Its senders are told through `written`, and it was logged.
        }
      });
    }
    return batch;
  }

  /**
   * Writes the batch gathered so far, all of its bytes, and flushes them to the disk: in the background
   * (`synced` settles the senders), or before returning when `now` (at close). A batch of receives,
   * postponements and deletes alone is not flushed on its own: lost in a crash it means a redelivery, which
   * consumers are built for, and the next flush takes it along. When the write or the flush fails, what it
   * wrote is cut off again, the messages it put never join the queue, its senders are refused, and the error
   * is thrown (a flush in the background reports to the senders only).
   */
  private flush(now: boolean): void {
    if (this.syncing) return; // `synced` writes what gathered meanwhile
    const batch = this.batch;
    if (!batch) return;
    this.batch = undefined;
    const bytes = Buffer.from(batch.lines.join(''));
    let fd: number;
    try {
      if (this.journal === undefined) throw new Error(`queue ${this.name} is stopped`);
      fd = this.journal;
      // A torn tail left by an earlier failure must go first: appended to, it would swallow this batch's first line.
      if (this.torn) this.cutBack(fd);
      try {
        for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset);
        if (now) fdatasyncSync(fd);
      } catch (error) {
        this.tear(fd);
        throw error;
      }
    } catch (error) {
      this.refuse(batch, error);
      throw error;
    }
    if (now || batch.added.length === 0) {
      this.commit(batch, bytes.length);
      return;
    }
    // Acknowledged means on the disk, not in the page cache: a webhook's 200 must survive a power cut. The
    // flush runs off the event loop, which meanwhile takes the next requests into the next batch.
    this.syncing = batch;
    fdatasync(fd, (error) => this.synced(fd, batch, bytes.length, error));
  }

  private synced(fd: number, batch: JournalBatch, length: number, error: NodeJS.ErrnoException | null): void {
    this.syncing = undefined;
    if (error) {
      // What failed to reach the disk is cut off with the rest of the batch: its senders are refused.
      this.tear(fd);
      this.refuse(batch, error);
    } else {
      this.commit(batch, length);
    }
    if (this.closing) this.closeWhenDone();
    else if (this.batch) {
      try {
        this.flush(false);
      } catch {
        // Told to its senders and logged.
      }
    }
  }

  /** The batch is on the disk: its messages join the queue and its senders are told. */
  private commit(batch: JournalBatch, length: number): void {
    this.journalSize += length;
    for (const message of batch.added) this.messages.set(message.id, message);
    batch.resolve();
    if (batch.added.length > 0) {
      this.schedule(0);
      this.notifyIdle();
    }
  }

  private refuse(batch: JournalBatch, error: unknown): void {
    this.options.log?.error(`queue ${this.name}: journal write failed`, { error: messageOf(error) });
    batch.reject(error instanceof Error ? error : new Error(String(error)));
    this.notifyIdle();
  }

  /** After a failed write or flush: cuts what it left, or leaves that to the next write. */
  private tear(fd: number): void {
    this.torn = true;
    try {
      this.cutBack(fd);
    } catch (error) {
      this.options.log?.error(`queue ${this.name}: could not cut a failed journal write back; the next write tries again`, {
        error: messageOf(error),
      });
    }
  }

  /** Cuts the journal back to its last whole record, durably, or throws (and stays torn). */
  private cutBack(fd: number): void {
    ftruncateSync(fd, this.journalSize);
    fsyncSync(fd);
    this.torn = false;
  }

  /** Replays the journal, then rewrites it with only the live messages. */
  private load(path: string): void {
    mkdirSync(dirname(path), { recursive: true });
    if (existsSync(path)) {
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (!line) continue;
        let entry: JournalEntry;
        try {
          entry = JSON.parse(line) as JournalEntry;
        } catch {
          continue; // a line cut short by a crash mid-write
        }
        switch (entry.op) {
          case 'put':
            this.messages.set(entry.message.id, { ...entry.message });
            break;
          case 'receive': {
            const m = this.messages.get(entry.id);
            if (m) Object.assign(m, { receiveCount: entry.receiveCount, visibleAt: entry.visibleAt });
            break;
          }
          case 'visibility': {
            const m = this.messages.get(entry.id);
            if (m) m.visibleAt = entry.visibleAt;
            break;
          }
          case 'delete':
            this.messages.delete(entry.id);
            break;
        }
      }
    }
    const live = [...this.messages.values()].map((m) => {
      delete m.receiptHandle;
      return `${JSON.stringify({ op: 'put', message: m } satisfies JournalEntry)}\n`;
    });
    // On the disk before it replaces the old journal, and the rename itself on the disk before anything
    // is acknowledged: otherwise a power cut could leave an empty journal, or the old one beside new writes.
    const temporary = `${path}.tmp`;
    const fd = openSync(temporary, 'w');
    try {
      const bytes = Buffer.from(live.join(''));
      for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset);
      fsyncSync(fd);
    } catch (error) {
      // The old journal stays as it was; a full disk should not also keep half a copy of it.
      rmSync(temporary, { force: true });
      throw error;
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
    syncDirectory(dirname(path));
  }
}

/** Flushes a directory's entries (a rename, a new file) to the disk. */
const syncDirectory = (path: string): void => {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
};
