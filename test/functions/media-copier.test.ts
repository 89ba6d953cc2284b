/**
 * A channel's media copier Lambda on the real store (the DynamoDB conversation store on the local engine):
 * SQS batches of received messages with media, downloaded from the Telegram fake (or servers that misbehave),
 * postponed through the queue's visibility, failed for good where no retry will help.
 */
import { createServer } from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalSecretStore } from '../../adapters/local/local-secrets.ts';
import { capabilitiesOf } from '../../connectors/capabilities.ts';
import { MAX_MEDIA_BYTES, type MediaNetwork } from '../../domain/connector.ts';
import { applyEvent as applyToStore } from '../../domain/conversations/inbound.ts';
import type { MessageReceivedEvent } from '../../domain/events.ts';
import { create as createLineCopier } from '../../functions/media-copiers/line.ts';
import { create } from '../../functions/media-copiers/telegram.ts';
import { localContext } from '../../functions/kit/handler.ts';
import { memoryMetrics, type Observability } from '../../functions/kit/observability.ts';
import { environmentOf, FUNCTIONS } from '../../topology/topology.ts';
import { FAKE_TELEGRAM_FILE, startFakeTelegram, type FakeTelegram } from '../helpers/fake-telegram.ts';
import { listenLocally, readBody } from '../helpers/fake-server.ts';
import { captureLog, startConversations, type ConversationHarness } from '../helpers/conversations.ts';
import { sqsEvent } from '../helpers/lambda-events.ts';
import { MemoryMediaStore } from '../helpers/memory-media-store.ts';

const TOKEN = '7712345678:AAtoken';
const ENVIRONMENT = environmentOf(FUNCTIONS['media-copier-telegram']);
const MAX_RECEIVES = Number(ENVIRONMENT.MAX_RECEIVE_COUNT);

let telegram: FakeTelegram;
beforeAll(async () => {
  telegram = await startFakeTelegram();
});
afterAll(() => telegram.close());

let h: ConversationHarness;
beforeEach(async () => {
  h = await startConversations();
  telegram.reset();
});
afterEach(() => h.stop());

const applyEvent = (event: MessageReceivedEvent) =>
  applyToStore(event, { store: h.store, log: captureLog(), clock: h.clock, capabilities: capabilitiesOf });
/** The message the thread writer stored for an event, found as the copier finds it: through its provider id. */
const storedMessage = async (event: MessageReceivedEvent) => {
  const pointer = await h.store.getPointer(event.channel, event.accountId, event.externalMessageId);
  return pointer && (await h.store.getMessage(pointer.threadId, pointer.messageId))?.value;
};

const photo = (
  n: number,
  content: MessageReceivedEvent['content'] = { type: 'image', media: { id: `AgACAgQ-${n}` } },
): MessageReceivedEvent => ({
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

const sqs = (bodies: unknown[], receiveCount = 1) => sqsEvent(bodies, { receiveCount, sentAt: Date.now() - 1000 });
const context = localContext('media-copier-telegram');

const observed = () => {
  const log = captureLog();
  const metrics = memoryMetrics();
  const observability: Observability = { log, metrics, middlewares: [] };
  return { log, metrics, observability };
};

const setup = () => {
  const media = new MemoryMediaStore();
  const postponed: [string, number][] = [];
  const { log, metrics, observability } = observed();
  const copier = create(
    {
      conversations: h.store,
      media,
      secrets: new LocalSecretStore({ telegram: { credentials: { webhookSecret: 's', botToken: TOKEN }, accountId: '7712345678' } }),
      clock: h.clock,
      observability,
      fetch: globalThis.fetch,
      apiBaseUrls: { telegram: telegram.baseUrl },
      visibility: { setVisibilityTimeout: async (handle, seconds) => void postponed.push([handle, seconds]) },
    },
    ENVIRONMENT,
  );
  return { media, postponed, log, metrics, handler: (event: ReturnType<typeof sqs>) => copier(event, context) };
};

describe('media copier', () => {
  it('copies the media of stored messages and records it; skips content without media', async () => {
    const { media, handler, metrics, log } = setup();
    const events = [photo(1), photo(2, { type: 'text', text: 'hi' })];
    for (const event of events) await applyEvent(event);

    const result = await handler(sqs(events));

    expect(result.batchItemFailures).toEqual([]);
    expect(telegram.calls.map((c) => [c.method, c.body['file_id']])).toEqual([['getFile', 'AgACAgQ-1']]);
    expect(telegram.downloads).toEqual([{ token: TOKEN, path: 'photos/file_0.jpg' }]);
    const copied = await storedMessage(photo(1));
    expect(copied?.mediaCopy).toEqual({
      key: expect.stringMatching(/^telegram\/7712345678\/[0-9a-f]{64}$/),
      contentType: 'image/jpeg',
      size: FAKE_TELEGRAM_FILE.length,
      copiedAt: h.clock.iso(),
    });
    expect((await media.get(copied!.mediaCopy!.key))?.bytes).toEqual(FAKE_TELEGRAM_FILE);
    expect((await storedMessage(photo(2)))?.mediaCopy).toBeUndefined();
    expect(
      log.entries
        .filter((e) => e.message === 'media job handled')
        .map((e) => e.extra?.['outcome'])
        .sort(),
    ).toEqual(['copied', 'skipped']);
    expect(metrics.totals.get('QueueAge/media-telegram')).toBeGreaterThanOrEqual(1000);

    // Delivered again: already copied, nothing downloaded.
    expect((await handler(sqs([photo(1)], 2))).batchItemFailures).toEqual([]);
    expect(telegram.downloads).toHaveLength(1);
  });

  it('reads a whole EventBridge event too (a redrive from the rule dead-letter queue)', async () => {
    const { handler } = setup();
    await applyEvent(photo(3));

    const result = await handler(sqs([{ 'detail-type': 'message.received', source: 'parley.connectors', detail: photo(3) }]));

    expect(result.batchItemFailures).toEqual([]);
    expect((await storedMessage(photo(3)))?.mediaCopy).toBeDefined();
  });

  it('postpones a record by its backoff and reports it failed, until the last receive', async () => {
    const { postponed, handler, log } = setup();
    await applyEvent(photo(4));
    const badGateway = { status: 502, body: { ok: false, error_code: 502, description: 'Bad Gateway' } };
    telegram.answerNext(badGateway);
    telegram.answerNext(badGateway);

    const early = await handler(sqs([photo(4)], 3));
    const last = await handler(sqs([photo(4)], MAX_RECEIVES));

    expect(early.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }]);
    expect(postponed).toHaveLength(1);
    // About 2^3 seconds, with jitter.
    expect(postponed[0]![0]).toBe('r0');
    expect(postponed[0]![1]).toBeGreaterThanOrEqual(4);
    expect(postponed[0]![1]).toBeLessThanOrEqual(8);
    expect(last.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }]);
    expect(postponed).toHaveLength(1); // exhausted: left to go to the dead-letter queue
    expect(log.entries.filter((e) => e.level === 'error').map((e) => [e.message, e.extra?.['failure']])).toEqual([
      [
        'media copy retries used up; it goes to the dead-letter queue',
        { kind: 'retryable', code: '502', message: 'Bad Gateway', attempts: MAX_RECEIVES },
      ],
    ]);
  });

  it('postpones a copy whose message the thread writer has not stored yet', async () => {
    const { media, postponed, handler } = setup();

    const result = await handler(sqs([photo(5)]));

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }]);
    expect(postponed).toHaveLength(1);
    expect(media.objects.size).toBe(1); // the bytes are safe already
  });

  it("leaves another channel's message to the dead-letter queue instead of skipping its media", async () => {
    const { media, postponed, handler } = setup();
    const misrouted = { ...photo(9), channel: 'whatsapp' as const, accountId: '106540352242922' };
    await applyEvent(misrouted);

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
  const { log, observability } = observed();
  return {
    observability,
    get warnings() {
      return log.entries.filter((e) => e.level === 'warn').map((e): [string, Record<string, unknown> | undefined] => [e.message, e.extra]);
    },
  };
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
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ ok: true, result: { file_id: 'BAACAgQ', file_path: 'videos/file_9.mp4' } }));
      } else if (request.url === `/file/bot${TOKEN}/videos/file_9.mp4`) serve!(request, response);
      else response.writeHead(404).end();
    });
    const { baseUrl, close } = await listenLocally(server);
    closers.push(close);
    const media = new MemoryMediaStore();
    const postponed: [string, number][] = [];
    const recording = recordingLog();
    const copier = create(
      {
        conversations: h.store,
        media,
        secrets: new LocalSecretStore({ telegram: { credentials: { webhookSecret: 's', botToken: TOKEN }, accountId: '7712345678' } }),
        clock: h.clock,
        observability: recording.observability,
        fetch: globalThis.fetch,
        apiBaseUrls: { telegram: baseUrl },
        visibility: { setVisibilityTimeout: async (handle, seconds) => void postponed.push([handle, seconds]) },
      },
      ENVIRONMENT,
    );
    return {
      media,
      postponed,
      get warnings() {
        return recording.warnings;
      },
      handler: (event: ReturnType<typeof sqs>) => copier(event, context),
    };
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
    await applyEvent(video(20));
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
    const message = await storedMessage(video(20));
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
    await applyEvent(video(21));
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
        return new Response(null, {
          status: 302,
          headers: { location: 'https://169.254.169.254/latest/meta-data/iam/security-credentials/' },
        });
      },
    };
    const media = new MemoryMediaStore();
    const postponed: [string, number][] = [];
    const recording = recordingLog();
    const copier = createLineCopier(
      {
        conversations: h.store,
        media,
        secrets: new LocalSecretStore({
          line: { credentials: { channelSecret: 's', channelAccessToken: 'lineToken' }, accountId: 'U0123' },
        }),
        clock: h.clock,
        observability: recording.observability,
        // What the old code fetched body URLs with; nothing may go through it here.
        fetch: (async (input: string | URL | Request) => {
          requested.push(String(input));
          return new Response('secret', { status: 200 });
        }) as typeof globalThis.fetch,
        network,
        apiBaseUrls: {},
        visibility: { setVisibilityTimeout: async (handle, seconds) => void postponed.push([handle, seconds]) },
      },
      ENVIRONMENT,
    );
    const handler = (event: ReturnType<typeof sqs>) => copier(event, localContext('media-copier-line'));
    const external = (n: number, url: string): MessageReceivedEvent => ({
      ...photo(n, { type: 'image', media: { id: `54681380012312${n}`, url } }),
      channel: 'line',
      accountId: 'U0123',
      externalMessageId: `54681380012312${n}`,
    });
    const events = [external(30, 'http://cdn.example.com/a.jpg'), external(31, 'https://cdn.example.com/a.jpg')];
    for (const event of events) await applyEvent(event);

    const result = await handler(sqs(events));

    expect(result.batchItemFailures).toEqual([]);
    expect(postponed).toEqual([]);
    const failures = recording.warnings.map(([, extra]) => extra?.['failure']);
    expect(failures).toHaveLength(2); // records are copied concurrently: in either order
    expect(failures).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'permanent',
          code: 'media_refused',
          message: 'LINE external content refused: not an https URL (http:)',
        }),
        expect.objectContaining({
          kind: 'permanent',
          code: 'media_refused',
          message: 'LINE external content refused: 169.254.169.254 is the cloud metadata address',
        }),
      ]),
    );
    expect(requested).toEqual(['https://cdn.example.com/a.jpg']);
    expect(media.objects.size).toBe(0);
    const kept = await storedMessage(events[1]!);
    expect(kept?.content).toMatchObject({ media: { url: 'https://cdn.example.com/a.jpg' } });
  });
});
