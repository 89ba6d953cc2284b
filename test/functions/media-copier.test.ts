import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { LocalSecretStore } from '../../adapters/local/local-secrets.ts';
import type { MessageReceivedEvent } from '../../domain/events.ts';
import { applyEvent } from '../../domain/thread-writer.ts';
import { systemClock } from '../../domain/ports.ts';
import { create } from '../../functions/media-copiers/telegram.ts';
import { createLocalLog } from '../../runtime/local-log.ts';
import { MemoryMediaStore } from '../helpers/memory-media-store.ts';
import { MemoryThreadStore } from '../helpers/memory-thread-store.ts';

const log = createLocalLog({ level: 'silent' });
const TOKEN = '7712345678:AAtoken';
const JPEG = Buffer.from('ffd8ffe000104a464946', 'hex');

const photo = (n: number, content: MessageReceivedEvent['content'] = { type: 'image', media: { id: `AgACAgQ-${n}` } }): MessageReceivedEvent => ({
  schemaVersion: 1,
  type: 'message.received',
  eventId: `evt_photo_${n}`,
  channel: 'telegram',
  accountId: '7712345678',
  occurredAt: '2026-03-14T00:00:01.000Z',
  receivedAt: '2026-03-14T00:00:01.500Z',
  direction: 'inbound',
  externalMessageId: `5550:${n}`,
  sender: { externalUserId: '5550' },
  conversation: { externalId: '5550', kind: 'direct' },
  content,
});

const sqs = (bodies: unknown[], receiveCount = 1): SQSEvent => ({
  Records: bodies.map((body, i) => ({
    messageId: `m${i}`,
    receiptHandle: `r${i}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: '0', SenderId: 'test', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:local:0:media',
    awsRegion: 'local',
  })),
});

/** A Bot API that answers getFile and serves every file, or fails with `status`. */
const telegramFetch = (status = 200) =>
  (async (input: string | URL | Request) => {
    const url = String(input);
    if (status !== 200) return new Response(JSON.stringify({ ok: false, error_code: status, description: 'Bad Gateway' }), { status });
    if (url.endsWith('/getFile')) return Response.json({ ok: true, result: { file_id: 'x', file_path: 'photos/file_1.jpg' } });
    return new Response(JPEG, { status: 200, headers: { 'content-type': 'image/jpeg' } });
  }) as typeof globalThis.fetch;

const setup = (fetch = telegramFetch()) => {
  const store = new MemoryThreadStore();
  const media = new MemoryMediaStore();
  const postponed: [string, number][] = [];
  const handler = create(
    {
      store,
      media,
      secrets: new LocalSecretStore({ telegram: { credentials: { webhookSecret: 's', botToken: TOKEN }, accountId: '7712345678' } }),
      clock: systemClock,
      log,
      fetch,
      apiBaseUrls: { telegram: 'http://telegram.test' },
      visibility: { setVisibilityTimeout: async (handle, seconds) => void postponed.push([handle, seconds]) },
    },
    { MAX_RECEIVE_COUNT: '3' },
  );
  return { store, media, postponed, handler };
};

describe('media copier', () => {
  it('copies the media of stored messages and records it; skips content without media', async () => {
    const { store, media, handler } = setup();
    const events = [photo(1), photo(2, { type: 'text', text: 'hi' })];
    for (const event of events) await applyEvent(event, { store, log });

    const result = await handler(sqs(events));

    expect(result.batchItemFailures).toEqual([]);
    const copied = await store.findMessageByExternalId('telegram', '7712345678', '5550:1');
    expect(copied?.mediaCopy).toMatchObject({ contentType: 'image/jpeg', size: JPEG.length });
    expect((await media.get(copied!.mediaCopy!.key))?.bytes).toEqual(JPEG);
    expect((await store.findMessageByExternalId('telegram', '7712345678', '5550:2'))?.mediaCopy).toBeUndefined();
  });

  it('reads a whole EventBridge event too (a redrive from the rule dead-letter queue)', async () => {
    const { store, handler } = setup();
    await applyEvent(photo(3), { store, log });

    const result = await handler(sqs([{ 'detail-type': 'message.received', source: 'parley', detail: photo(3) }]));

    expect(result.batchItemFailures).toEqual([]);
    expect((await store.findMessageByExternalId('telegram', '7712345678', '5550:3'))?.mediaCopy).toBeDefined();
  });

  it('postpones a record by its backoff and reports it failed, until the last receive', async () => {
    const { store, postponed, handler } = setup(telegramFetch(502));
    await applyEvent(photo(4), { store, log });

    const early = await handler(sqs([photo(4)], 1));
    const last = await handler(sqs([photo(4)], 3));

    expect(early.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }]);
    expect(postponed).toEqual([['r0', expect.any(Number)]]);
    expect(last.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }]);
    expect(postponed).toHaveLength(1); // exhausted: left to go to the dead-letter queue
  });

  it('postpones a copy whose message the thread writer has not stored yet', async () => {
    const { media, postponed, handler } = setup();

    const result = await handler(sqs([photo(5)]));

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }]);
    expect(postponed).toHaveLength(1);
    expect(media.objects.size).toBe(1); // the bytes are safe already
  });

  it("leaves another channel's message to the dead-letter queue instead of skipping its media", async () => {
    const { store, media, postponed, handler } = setup();
    const misrouted = { ...photo(9), channel: 'whatsapp' as const, accountId: '106540352242922' };
    await applyEvent(misrouted, { store, log });

    const result = await handler(sqs([misrouted]));

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }]);
    expect(postponed).toEqual([]);
    expect(media.objects.size).toBe(0);
  });

  it('sends an unreadable record to the dead-letter queue without postponing it', async () => {
    const { postponed, handler } = setup();

    const result = await handler(sqs(['not json', { type: 'message.received' }]));

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }, { itemIdentifier: 'm1' }]);
    expect(postponed).toEqual([]);
  });
});
