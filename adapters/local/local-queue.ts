/**
 * An in-process queue with the SQS behaviour Parley's consumers rely on: a received message is invisible
 * for the visibility timeout and comes back if not deleted; the consumer can postpone a message
 * (ChangeMessageVisibility); each receive counts, and a message received more than `maxReceiveCount` times
 * moves to the dead-letter queue, as with an SQS redrive policy; consumers report partial batch failures.
 *
 * State is journaled to a file (one JSON line per change, compacted at start), so queued work survives a
 * restart of the local runtime; a message that was in flight when the process stopped is redelivered.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
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

/** The journal lines of one event-loop turn, the messages they add, and the promise their senders await. */
interface JournalBatch {
  readonly lines: string[];
  readonly added: string[];
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

export type BatchHandler = (event: SQSEvent) => Promise<SQSBatchResponse | void>;

export interface LocalQueueOptions {
  readonly name: string;
  readonly spec: Pick<QueueSpec, 'visibilityTimeoutSeconds' | 'maxReceiveCount' | 'batchSize'>;
  /** Where the journal lives; omit for a memory-only queue. */
  readonly journalPath?: string;
  /** The queue that takes messages received more than `maxReceiveCount` times. */
  readonly deadLetterQueue?: LocalQueue<unknown>;
  /** Multiplies every delay and timeout; tests use a small factor to see retries in milliseconds. */
  readonly timeScale?: number;
  readonly log?: Log;
  readonly now?: () => number;
}

export class LocalQueue<T> implements WorkQueue<T>, VisibilityControl {
  readonly name: string;
  private readonly messages = new Map<string, QueuedMessage>();
  private readonly byReceipt = new Map<string, string>();
  private handler: BatchHandler | undefined;
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  private readonly timeScale: number;
  private readonly now: () => number;
  /** The journal, open for appending for the queue's lifetime (reopening per write costs more than the write). */
  private journal: number | undefined;
  /** The journal lines of this turn of the event loop, written together at its end (see `write`). */
  private batch: JournalBatch | undefined;

  constructor(private readonly options: LocalQueueOptions) {
    this.name = options.name;
    this.timeScale = options.timeScale ?? 1;
    this.now = options.now ?? Date.now;
    if (options.journalPath) {
      this.load(options.journalPath);
      this.journal = openSync(options.journalPath, 'a');
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
   * Resolves once the message is in the journal, so what a webhook acknowledges survives a crash of the
   * process; rejects, and forgets the message, when the journal cannot take it.
   */
  async send(message: T, options?: { readonly delaySeconds?: number }): Promise<void> {
    this.sendRaw(JSON.stringify(message), options?.delaySeconds ?? 0);
    await this.batch?.written;
  }

  /** Enqueues a body as it is (a dead-lettered message keeps its original body). */
  sendRaw(body: string, delaySeconds = 0): void {
    const message: QueuedMessage = {
      id: randomUUID(),
      body,
      sentAt: this.now(),
      receiveCount: 0,
      visibleAt: this.now() + delaySeconds * 1000 * this.timeScale,
    };
    this.write({ op: 'put', message });
    this.messages.set(message.id, message);
    this.schedule(0);
  }

  /** Enqueues a body and writes it to the journal before returning (a dead-lettered message, see `deadLetter`). */
  putNow(body: string): void {
    this.sendRaw(body);
    this.flush();
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
   */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.running === 0) this.closeJournal();
  }

  /** Resolves once a stopped queue has no batch in flight. */
  async drained(): Promise<void> {
    while (this.running > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  private closeJournal(): void {
    if (this.journal === undefined) return;
    try {
      this.flush();
    } catch (error) {
      // The batch's senders were told (their sends reject); the queue still closes.
      this.options.log?.error(`queue ${this.name}: the last journal write failed`, { error: error instanceof Error ? error.message : String(error) });
    } finally {
      const fd = this.journal;
      this.journal = undefined;
      try {
        closeSync(fd);
      } catch {
        // Already gone with its disk: nothing more to keep.
      }
    }
  }

  /** Idle: nothing in flight and nothing visible for a consumer (a queue nobody consumes, a DLQ, is idle). */
  private isIdle(): boolean {
    if (this.running > 0) return false;
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
      if (message.visibleAt > now) continue;
      if (message.receiveCount >= this.options.spec.maxReceiveCount && this.options.deadLetterQueue) {
        this.deadLetter(message);
        continue;
      }
      if (message.receiptHandle) this.byReceipt.delete(message.receiptHandle);
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.visibleAt = now + this.options.spec.visibilityTimeoutSeconds * 1000 * this.timeScale;
      message.receiptHandle = randomUUID();
      this.byReceipt.set(message.receiptHandle, message.id);
      this.write({ op: 'receive', id: message.id, receiveCount: message.receiveCount, visibleAt: message.visibleAt, receiptHandle: message.receiptHandle });
      batch.push(message);
    }
    return batch;
  }

  /**
   * Moves a message to the dead-letter queue: written there before its delete is written here, so a crash
   * between the two leaves it in both queues at worst, never in neither.
   */
  private deadLetter(message: QueuedMessage): void {
    try {
      this.options.deadLetterQueue?.putNow(message.body);
    } catch (error) {
      this.options.log?.error(`queue ${this.name}: the dead-letter queue could not take a message; it stays here`, {
        messageId: message.id,
        error: error instanceof Error ? error.message : String(error),
      });
      return;
    }
    this.options.log?.warn(`queue ${this.name}: message moved to the dead-letter queue`, {
      messageId: message.id,
      receiveCount: message.receiveCount,
    });
    this.remove(message);
  }

  private remove(message: QueuedMessage): void {
    this.write({ op: 'delete', id: message.id });
    this.messages.delete(message.id);
    if (message.receiptHandle) this.byReceipt.delete(message.receiptHandle);
  }

  private async pump(): Promise<void> {
    this.timer = undefined;
    if (this.stopped || !this.handler || this.running > 0) return;
    const batch = this.receive(this.options.spec.batchSize);
    if (batch.length === 0) {
      this.notifyIdle();
      const next = Math.min(...[...this.messages.values()].map((m) => m.visibleAt));
      if (Number.isFinite(next)) this.schedule(next - this.now());
      return;
    }
    this.running += 1;
    const receipts = new Map(batch.map((m) => [m.id, m.receiptHandle]));
    let failed: Set<string>;
    try {
      const response = await this.handler({ Records: batch.map((m) => this.recordOf(m)) });
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (error) {
      // A thrown handler fails the whole batch, as with Lambda.
      this.options.log?.error(`queue ${this.name}: consumer threw; the batch will be retried`, {
        error: error instanceof Error ? error.message : String(error),
      });
      failed = new Set(batch.map((m) => m.id));
    } finally {
      this.running -= 1;
    }
    for (const message of batch) {
      // Deleted only if still held under the receipt this delivery got.
      if (!failed.has(message.id) && this.messages.get(message.id)?.receiptHandle === receipts.get(message.id)) {
        this.remove(message);
      }
    }
    if (this.stopped) this.closeJournal();
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
   * it (a group commit: under load, one system call for many webhooks instead of three per message); `send`
   * waits for that write before it resolves.
   */
  private write(entry: JournalEntry): void {
    if (this.options.journalPath === undefined) return;
    // A stopped queue accepts nothing it could not keep: the caller (a webhook) must answer 5xx instead.
    if (this.journal === undefined) throw new Error(`queue ${this.name} is stopped`);
    if (!this.batch) {
      const batch = newBatch();
      this.batch = batch;
      setImmediate(() => {
        if (this.batch !== batch) return; // written already, by stop() or a dead-letter move
        try {
          this.flush();
        } catch {
          // Its senders are told through `written`; the rest is logged there.
        }
      });
    }
    this.batch.lines.push(`${JSON.stringify(entry)}\n`);
    if (entry.op === 'put') this.batch.added.push(entry.message.id);
  }

  /**
   * Writes the current batch, all of its bytes, and settles its senders. When the write fails the messages
   * the batch added are forgotten (their senders were refused, and a retry must not find them doubled) and
   * the error is thrown.
   */
  private flush(): void {
    const batch = this.batch;
    if (!batch) return;
    this.batch = undefined;
    try {
      if (this.journal === undefined) throw new Error(`queue ${this.name} is stopped`);
      const bytes = Buffer.from(batch.lines.join(''));
      for (let offset = 0; offset < bytes.length; ) offset += writeSync(this.journal, bytes, offset);
    } catch (error) {
      for (const id of batch.added) this.messages.delete(id);
      this.options.log?.error(`queue ${this.name}: journal write failed`, { error: error instanceof Error ? error.message : String(error) });
      batch.reject(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
    batch.resolve();
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
    writeFileSync(`${path}.tmp`, live.join(''));
    renameSync(`${path}.tmp`, path);
  }
}
