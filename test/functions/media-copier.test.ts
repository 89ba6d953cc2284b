import { createServer } from 'node:http';
import type { SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalSecretStore } from '../../adapters/local/local-secrets.ts';
import { MAX_MEDIA_BYTES, type MediaNetwork } from '../../domain/connector.ts';
import type { MessageReceivedEvent } from '../../domain/events.ts';
import { applyEvent } from '../../domain/thread-writer.ts';
import { systemClock, type Log } from '../../domain/ports.ts';
import { create as createLineCopier } from '../../functions/media-copiers/line.ts';
import { create } from '../../functions/media-copiers/telegram.ts';
import { createLocalLog } from '../../runtime/local-log.ts';
import { listenLocally, readBody } from '../helpers/fake-server.ts';
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

const MiB = 1024 * 1024;

/** A log that keeps the warnings, where the copier says why a copy will never be made. */
const recordingLog = () => {
  const warnings: [string, Record<string, unknown> | undefined][] = [];
  const log: Log = { debug: () => undefined, info: () => undefined, warn: (message, extra) => void warnings.push([message, extra]), error: () => undefined };
  return { log, warnings };
};

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

describe('media copier: downloads it must not make', () => {
  /**
   * A Bot API on loopback, configured as TELEGRAM_API_BASE_URL: getFile names a video, and the file is
   * served by `serve`. Copies through the real fetch.
   */
  const telegramServing = async (serve: Parameters<typeof createServer>[1]) => {
    const server = createServer(async (request, response) => {
      if (request.url === `/bot${TOKEN}/getFile`) {
        await readBody(request);
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, result: { file_id: 'BAACAgQ', file_path: 'videos/file_9.mp4' } }));
      } else if (request.url === `/file/bot${TOKEN}/videos/file_9.mp4`) serve!(request, response);
      else response.writeHead(404).end();
    });
    const { baseUrl, close } = await listenLocally(server);
    closers.push(close);
    const store = new MemoryThreadStore();
    const media = new MemoryMediaStore();
    const postponed: [string, number][] = [];
    const { log: recording, warnings } = recordingLog();
    const handler = create(
      {
        store,
        media,
        secrets: new LocalSecretStore({ telegram: { credentials: { webhookSecret: 's', botToken: TOKEN }, accountId: '7712345678' } }),
        clock: systemClock,
        log: recording,
        fetch: globalThis.fetch,
        apiBaseUrls: { telegram: baseUrl },
        visibility: { setVisibilityTimeout: async (handle, seconds) => void postponed.push([handle, seconds]) },
      },
      { MAX_RECEIVE_COUNT: '3' },
    );
    return { store, media, postponed, warnings, handler };
  };

  const video = (n: number) => photo(n, { type: 'video', media: { id: `BAACAgQ-${n}` } });

  it('cuts an endless file at the size limit: the copy fails for good, at once, and nothing is stored', async () => {
    let sent = 0;
    let closed!: Promise<void>;
    const copier = await telegramServing((_request, response) => {
      closed = new Promise((resolve) => response.on('close', () => resolve()));
      response.writeHead(200, { 'content-type': 'video/mp4' });
      const chunk = Buffer.alloc(256 * 1024, 7);
      // Stops at three times the limit only to spare the test machine from a client that reads it all.
      const pump = () => {
        while (!response.destroyed && sent < 3 * MAX_MEDIA_BYTES) {
          sent += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
        if (!response.destroyed) response.end();
      };
      pump();
    });
    await applyEvent(video(20), { store: copier.store, log });
    const baseline = process.memoryUsage().arrayBuffers;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 5);
    const started = Date.now();

    const result = await copier.handler(sqs([video(20)]));

    clearInterval(sampler);
    await closed;
    const elapsed = Date.now() - started;
    expect(result.batchItemFailures).toEqual([]); // not retried
    expect(copier.postponed).toEqual([]);
    expect(copier.warnings).toEqual([
      ['media not copied', expect.objectContaining({ failure: expect.objectContaining({ kind: 'permanent', code: 'media_too_large' }) })],
    ]);
    expect(copier.media.objects.size).toBe(0);
    const message = await copier.store.findMessageByExternalId('telegram', '7712345678', '5550:20');
    expect(message?.mediaCopy).toBeUndefined();
    expect(message?.content).toEqual(video(20).content); // the provider reference stays
    expect(elapsed).toBeLessThan(10_000);
    // The server could write the limit and what socket buffers hold before the copier hung up, no more.
    expect(sent).toBeLessThan(MAX_MEDIA_BYTES + 32 * MiB);
    expect(peak - baseline).toBeLessThan(MAX_MEDIA_BYTES + 64 * MiB);
  });

  it('refuses a file whose Content-Length is over the limit without waiting for its body', async () => {
    const copier = await telegramServing((_request, response) => {
      response.writeHead(200, { 'content-type': 'video/mp4', 'content-length': 3 * 1024 * MiB });
      response.flushHeaders(); // and never a byte of body
    });
    await applyEvent(video(21), { store: copier.store, log });
    const started = Date.now();

    const result = await copier.handler(sqs([video(21)]));

    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.batchItemFailures).toEqual([]);
    expect(copier.postponed).toEqual([]);
    expect(copier.warnings).toEqual([
      ['media not copied', expect.objectContaining({ failure: expect.objectContaining({ kind: 'permanent', code: 'media_too_large' }) })],
    ]);
    expect(copier.media.objects.size).toBe(0);
  });

  it("refuses LINE external content over http or redirected to the metadata service, for good, and keeps the message's URL", async () => {
    const requested: string[] = [];
    // Every host resolves to a public address; the CDN redirects to the metadata service.
    const network: MediaNetwork = {
      resolve: async () => [{ address: '147.92.150.192', family: 4 }],
      get: async (url) => {
        requested.push(url.href);
        return new Response(null, { status: 302, headers: { location: 'https://169.254.169.254/latest/meta-data/iam/security-credentials/' } });
      },
    };
    const store = new MemoryThreadStore();
    const media = new MemoryMediaStore();
    const postponed: [string, number][] = [];
    const { log: recording, warnings } = recordingLog();
    const handler = createLineCopier(
      {
        store,
        media,
        secrets: new LocalSecretStore({ line: { credentials: { channelSecret: 's', channelAccessToken: 'lineToken' }, accountId: 'U0123' } }),
        clock: systemClock,
        log: recording,
        // What the old code fetched body URLs with; nothing may go through it here.
        fetch: (async (input: string | URL | Request) => {
          requested.push(String(input));
          return new Response('secret', { status: 200 });
        }) as typeof globalThis.fetch,
        network,
        apiBaseUrls: {},
        visibility: { setVisibilityTimeout: async (handle, seconds) => void postponed.push([handle, seconds]) },
      },
      { MAX_RECEIVE_COUNT: '3' },
    );
    const external = (n: number, url: string): MessageReceivedEvent => ({
      ...photo(n, { type: 'image', media: { id: `54681380012312${n}`, url } }),
      channel: 'line',
      accountId: 'U0123',
      externalMessageId: `54681380012312${n}`,
    });
    const events = [external(30, 'http://cdn.example.com/a.jpg'), external(31, 'https://cdn.example.com/a.jpg')];
    for (const event of events) await applyEvent(event, { store, log });

    const result = await handler(sqs(events));

    expect(result.batchItemFailures).toEqual([]);
    expect(postponed).toEqual([]);
    const failures = warnings.map(([, extra]) => extra?.['failure']);
    expect(failures).toHaveLength(2); // records are copied concurrently: in either order
    expect(failures).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'permanent', code: 'media_refused', message: 'LINE external content refused: not an https URL (http:)' }),
        expect.objectContaining({ kind: 'permanent', code: 'media_refused', message: 'LINE external content refused: 169.254.169.254 is the cloud metadata address' }),
      ]),
    );
    expect(requested).toEqual(['https://cdn.example.com/a.jpg']);
    expect(media.objects.size).toBe(0);
    const kept = await store.findMessageByExternalId('line', 'U0123', '5468138001231231');
    expect(kept?.content).toMatchObject({ media: { url: 'https://cdn.example.com/a.jpg' } });
  });
});
