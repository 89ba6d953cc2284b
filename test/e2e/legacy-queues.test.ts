import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalQueue } from '../../adapters/local/local-queue.ts';
import { migrateLegacyQueues } from '../../runtime/legacy-queues.ts';
import { createLocalLog } from '../../runtime/local-log.ts';
import { QUEUES, type QueueName } from '../../topology/topology.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const spec = QUEUES.inbound;
const journaled = (dir: string, name: string) => new LocalQueue<unknown>({ name, spec, journalPath: join(dir, `${name}.jsonl`) });

describe('queues of a data dir from before per-channel queues', () => {
  it("moves each held message to its channel's queue, naming the channel an old deliver job lacked", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-legacy-'));
    dirs.push(dir);
    const outbound = journaled(dir, 'outbound');
    await outbound.send({ kind: 'deliver', threadId: 'thr_1', messageId: 'msg_line' });
    await outbound.send({ kind: 'deliver', threadId: 'thr_1', messageId: 'msg_gone' });
    const mediaDlq = journaled(dir, 'media-dlq');
    await mediaDlq.send({ type: 'message.received', channel: 'telegram', externalMessageId: '5550:1' });
    outbound.stop();
    mediaDlq.stop();

    const queues: Record<string, LocalQueue<unknown>> = {};
    for (const name of Object.keys(QUEUES) as QueueName[]) {
      queues[name] = new LocalQueue({ name, spec });
      queues[`${name}-dlq`] = new LocalQueue({ name: `${name}-dlq`, spec });
    }
    const store = { getMessage: async (_thread: string, id: string) => (id === 'msg_line' ? ({ channel: 'line' } as never) : undefined) };

    await migrateLegacyQueues(dir, queues, store, createLocalLog({ level: 'silent' }));

    expect(queues['outbound-line']?.peek()).toEqual([{ kind: 'deliver', channel: 'line', threadId: 'thr_1', messageId: 'msg_line' }]);
    expect(queues['media-telegram-dlq']?.peek()).toEqual([{ type: 'message.received', channel: 'telegram', externalMessageId: '5550:1' }]);
    // A reply whose message no longer exists is dropped, as its sender would; emptied journals are set aside.
    expect(existsSync(join(dir, 'outbound.jsonl'))).toBe(false);
    expect(existsSync(join(dir, 'media-dlq.jsonl'))).toBe(false);
    expect(existsSync(join(dir, 'media-dlq.jsonl.migrated'))).toBe(true);
  });

  it('keeps a journal whose messages fit no queue of this version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-legacy-'));
    dirs.push(dir);
    const media = journaled(dir, 'media');
    await media.send({ type: 'message.received', channel: 'fax' });
    media.stop();
    const queues = { 'media-telegram': new LocalQueue<unknown>({ name: 'media-telegram', spec }) };

    await migrateLegacyQueues(dir, queues, { getMessage: async () => undefined }, createLocalLog({ level: 'silent' }));

    expect(existsSync(join(dir, 'media.jsonl'))).toBe(true);
    expect(queues['media-telegram'].size).toBe(0);
  });

  it('moves nothing twice when a journal keeps a message across restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-legacy-'));
    dirs.push(dir);
    const media = journaled(dir, 'media');
    await media.send({ type: 'message.received', channel: 'telegram', externalMessageId: '5550:1' });
    await media.send({ type: 'message.received', channel: 'fax' });
    media.stop();
    const queues = { 'media-telegram': new LocalQueue<unknown>({ name: 'media-telegram', spec }) };
    const log = createLocalLog({ level: 'silent' });

    await migrateLegacyQueues(dir, queues, { getMessage: async () => undefined }, log);
    await migrateLegacyQueues(dir, queues, { getMessage: async () => undefined }, log);

    expect(queues['media-telegram'].size).toBe(1);
    expect(journaled(dir, 'media').peek()).toEqual([{ type: 'message.received', channel: 'fax' }]);
  });
});
