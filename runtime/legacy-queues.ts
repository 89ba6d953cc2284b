/**
 * Data dirs written before outbound and media work had a queue per channel kept it in one `outbound` and
 * one `media` queue. At start, whatever those still hold moves to its channel's queue (a dead-lettered
 * message to the channel's dead-letter queue), so an upgrade loses no queued reply or media copy. The old
 * journal is set aside as `<name>.jsonl.migrated`; a message that fits no queue stays in `<name>.jsonl`.
 * A crash during the move may move some messages again at the next start: harmless, as outbound and media
 * jobs are idempotent (a message no longer `queued` is not sent again; a copy is recorded once).
 */
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { LocalQueue } from '../adapters/local/local-queue.ts';
import type { Log, ThreadStore } from '../domain/ports.ts';
import { detailOf } from '../functions/deps.ts';

const LEGACY = [
  { name: 'outbound', kind: 'outbound', deadLetter: false },
  { name: 'outbound-dlq', kind: 'outbound', deadLetter: true },
  { name: 'media', kind: 'media', deadLetter: false },
  { name: 'media-dlq', kind: 'media', deadLetter: true },
] as const;

/** Never consumed: the legacy queues are only read and rewritten. */
const LEGACY_SPEC = { visibilityTimeoutSeconds: 1, maxReceiveCount: 1, batchSize: 1 };

type Job = { kind?: unknown; channel?: unknown; threadId?: unknown; messageId?: unknown; event?: { channel?: unknown } };

/** The channel a message belongs to. An old deliver job named none: its message does. */
const channelOf = async (job: Job, store: Pick<ThreadStore, 'getMessage'>): Promise<string | undefined> => {
  if (typeof job.channel === 'string') return job.channel;
  if (job.kind === 'action' && typeof job.event?.channel === 'string') return job.event.channel;
  if (job.kind === 'deliver' && typeof job.threadId === 'string' && typeof job.messageId === 'string') {
    return (await store.getMessage(job.threadId, job.messageId))?.channel;
  }
  return undefined;
};

export const migrateLegacyQueues = async (
  queuesDir: string,
  queues: Readonly<Record<string, LocalQueue<unknown>>>,
  store: Pick<ThreadStore, 'getMessage'>,
  log: Log,
): Promise<void> => {
  for (const legacy of LEGACY) {
    const path = join(queuesDir, `${legacy.name}.jsonl`);
    if (!existsSync(path)) continue;
    const old = new LocalQueue<unknown>({
      name: legacy.name,
      spec: LEGACY_SPEC,
      journalPath: path,
    });
    const bodies = old.peek();
    old.stop();
    await old.drained();
    let moved = 0;
    const left: unknown[] = [];
    for (const body of bodies) {
      const job = detailOf(body) as Job;
      const channel = await channelOf(job, store);
      // A reply whose message is gone: its sender would have nothing to do.
      if (channel === undefined && job.kind === 'deliver') {
        moved += 1;
        continue;
      }
      const target = channel && queues[`${legacy.kind}-${channel}${legacy.deadLetter ? '-dlq' : ''}`];
      if (!target) {
        // Customer content stays out of the log: the kind and channel say enough to find it.
        log.warn(`queue ${legacy.name}: a message for no queue of this version stays in ${path}`, { kind: job.kind, channel });
        left.push(body);
        continue;
      }
      await target.send(job.kind === 'deliver' ? { ...job, channel } : body);
      moved += 1;
    }
    if (bodies.length > 0) log.info(`queue ${legacy.name}: moved ${moved} of ${bodies.length} messages to the per-channel queues`);
    // The old journal is set aside; what could not move is kept in a fresh one, so a restart moves nothing twice.
    renameSync(path, `${path}.migrated`);
    if (left.length > 0) {
      const kept = new LocalQueue<unknown>({ name: legacy.name, spec: LEGACY_SPEC, journalPath: path });
      for (const body of left) await kept.send(body);
      kept.stop();
      await kept.drained();
    }
  }
};
