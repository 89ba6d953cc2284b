/**
 * The media copier's domain logic (domain/media.ts) over the real stores it runs with: the DynamoDB conversation
 * store on the local engine for the message (found through its provider id's pointer) and the local file store
 * for the bytes, with a connector whose download plays back scripted answers, or LINE's real download.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileMediaStore } from '../../adapters/local/file-media-store.ts';
import { LocalSecretStore } from '../../adapters/local/local-secrets.ts';
import { capabilitiesOf } from '../../connectors/capabilities.ts';
import { LINE_ACCOUNT } from '../../connectors/line/line.account.ts';
import { downloadLineMedia } from '../../connectors/line/line.media.ts';
import type { Connector, DownloadContext, DownloadedMedia, MediaNetwork, ResolvedAddress } from '../../domain/connector.ts';
import type { Content, MediaRef } from '../../domain/content.ts';
import { applyEvent as applyToStore } from '../../domain/conversations/inbound.ts';
import type { MessageReceivedEvent, ParleyEvent } from '../../domain/events.ts';
import { copyMedia, MAX_MEDIA_BYTES, mediaKeyOf, mediaOf, type MediaDeps } from '../../domain/media.ts';
import { AuthenticationError, PermanentProviderError, RateLimitedError, RetryableProviderError } from '../../domain/provider-errors.ts';
import { captureLog, interceptCommits, startConversations, type ConversationHarness } from '../helpers/conversations.ts';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const log = captureLog();

let h: ConversationHarness;
let dir: string;
let media: FileMediaStore;
beforeAll(async () => {
  h = await startConversations();
  dir = mkdtempSync(join(tmpdir(), 'parley-media-'));
  media = new FileMediaStore(join(dir, 'media'));
});
afterAll(async () => {
  await h?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The thread writer storing the event, as it does from its own queue. */
const applyEvent = (event: ParleyEvent) => applyToStore(event, { store: h.store, log, clock: h.clock, capabilities: capabilitiesOf });

type Step = (media: MediaRef, context: DownloadContext) => Promise<DownloadedMedia>;

/** A Telegram-shaped connector whose downloads play back `script` and record what they were asked. */
const scripted = (script: Step[]) => {
  const calls: { media: MediaRef; context: DownloadContext }[] = [];
  const connector = {
    channel: 'telegram',
    defaultApiBaseUrl: 'http://provider.invalid',
    credentialNames: { inbound: ['webhookSecret'], outbound: ['botToken'] },
    downloadMedia: async (ref: MediaRef, context: DownloadContext) => {
      calls.push({ media: ref, context });
      const step = script.shift();
      if (!step) throw new Error('unexpected download');
      return step(ref, context);
    },
  } as unknown as Connector;
  return { connector, calls };
};

const depsWith = (
  connector: Connector | undefined,
  credentials: Record<string, string> = { webhookSecret: 's', botToken: '1:t' },
): MediaDeps => ({
  store: h.store,
  media,
  secrets: new LocalSecretStore({ telegram: { credentials, accountId: '1' } }),
  clock: h.clock,
  log,
  fetch: globalThis.fetch,
  apiBaseUrls: { telegram: 'http://telegram.test' },
  connectorFor: () => connector,
});

const serves =
  (bytes: Buffer, contentType?: string): Step =>
  async () => ({ bytes, ...(contentType && { contentType }) });
const throws =
  (error: Error): Step =>
  async () => {
    throw error;
  };

let seq = 0;
const photoEvent = (content?: Content): MessageReceivedEvent => {
  seq += 1;
  return {
    schemaVersion: 1,
    eventId: `evt-media-${seq}`,
    type: 'message.received',
    channel: 'telegram',
    accountId: '1',
    direction: 'inbound',
    externalMessageId: `media-${seq}`,
    occurredAt: '2026-11-26T10:00:00.000Z',
    receivedAt: '2026-11-26T10:00:01.000Z',
    sender: { externalUserId: `55${seq}` },
    conversation: { externalId: `55${seq}`, kind: 'direct' },
    content: content ?? { type: 'image', media: { id: `AgACAgIAAx-file-${seq}`, mimeType: 'image/jpeg', size: PNG.length } },
  } as MessageReceivedEvent;
};

const first = { receiveCount: 1, maxReceiveCount: 8 };

/** The message the thread writer stored for an event, found as the copier finds it: through its provider id. */
const storedMessage = async (event: MessageReceivedEvent) => {
  const pointer = await h.store.getPointer(event.channel, event.accountId, event.externalMessageId);
  const message = pointer && (await h.store.getMessage(pointer.threadId, pointer.messageId));
  if (!message) throw new Error('not stored');
  return message.value;
};

describe('copyMedia', () => {
  it('downloads the media, stores it under its key and records the copy on the message', async () => {
    const event = photoEvent();
    await applyEvent(event);
    const { connector, calls } = scripted([serves(PNG, 'image/png')]);

    const outcome = await copyMedia(event, first, depsWith(connector));

    const key = mediaKeyOf('telegram', '1', { id: `AgACAgIAAx-file-${seq}` });
    expect(outcome).toEqual({ kind: 'copied', key, downloaded: true });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.context).toMatchObject({ credentials: { botToken: '1:t' }, apiBaseUrl: 'http://telegram.test' });
    expect(await media.get(key)).toEqual({ bytes: PNG, contentType: 'image/png' });
    const message = await storedMessage(event);
    expect(message.mediaCopy).toEqual({ key, contentType: 'image/png', size: PNG.length, copiedAt: h.clock.iso() });
    // The content itself is untouched.
    expect(message.content).toEqual(event.content);
  });

  it('is idempotent: a second delivery of the job downloads nothing and changes nothing', async () => {
    const event = photoEvent();
    await applyEvent(event);
    const { connector, calls } = scripted([serves(PNG, 'image/png')]);
    const first1 = await copyMedia(event, first, depsWith(connector));
    const before = await storedMessage(event);

    const again = await copyMedia(event, { receiveCount: 2, maxReceiveCount: 8 }, depsWith(connector));

    expect(again).toEqual({ kind: 'already', key: first1.kind === 'copied' ? first1.key : '' });
    expect(calls).toHaveLength(1);
    expect(await storedMessage(event)).toEqual(before);
  });

  it('stores the copy before the message exists, retries, and then records it without downloading again', async () => {
    const event = photoEvent();
    const { connector, calls } = scripted([serves(PNG, 'image/png')]);

    const early = await copyMedia(event, first, depsWith(connector));
    expect(early).toMatchObject({ kind: 'retry', failure: { kind: 'retryable', message: 'the message is not stored yet' } });
    if (early.kind === 'retry') expect(early.delaySeconds).toBeGreaterThanOrEqual(1);

    await applyEvent(event);
    const later = await copyMedia(event, { receiveCount: 2, maxReceiveCount: 8 }, depsWith(connector));

    expect(later).toMatchObject({ kind: 'copied', downloaded: false });
    expect(calls).toHaveLength(1);
    expect((await storedMessage(event)).mediaCopy).toMatchObject({ contentType: 'image/png', size: PNG.length });
  });

  it('keeps the copy when the customer edits the caption (an edit replaces the content only)', async () => {
    const event = photoEvent();
    await applyEvent(event);
    const { connector } = scripted([serves(PNG, 'image/png')]);
    await copyMedia(event, first, depsWith(connector));
    const copy = (await storedMessage(event)).mediaCopy;

    const edited = {
      ...event,
      type: 'message.edited',
      eventId: `${event.eventId}-edit`,
      editedAt: '2026-11-26T10:05:00.000Z',
      content: { ...event.content, caption: 'better caption' },
    };
    await applyEvent(edited as ParleyEvent);

    const message = await storedMessage(event);
    expect(message.content).toMatchObject({ caption: 'better caption' });
    expect(message.mediaCopy).toEqual(copy);
  });

  it("keeps the reference's media type when the provider serves only application/octet-stream", async () => {
    const event = photoEvent();
    await applyEvent(event);
    const { connector } = scripted([serves(PNG, 'application/octet-stream')]);

    await copyMedia(event, first, depsWith(connector));

    expect((await storedMessage(event)).mediaCopy?.contentType).toBe('image/jpeg');
  });

  it('retries a retryable provider failure with backoff, and waits as long as a rate limit says', async () => {
    const event = photoEvent();
    const { connector } = scripted([
      throws(new RetryableProviderError('Bad Gateway', '502')),
      throws(new RateLimitedError('Too Many Requests', 37, '429')),
    ]);

    const a = await copyMedia(event, { receiveCount: 3, maxReceiveCount: 8 }, depsWith(connector));
    const b = await copyMedia(event, { receiveCount: 4, maxReceiveCount: 8 }, depsWith(connector));

    expect(a).toMatchObject({ kind: 'retry', failure: { kind: 'retryable', code: '502', attempts: 3 } });
    if (a.kind === 'retry') expect(a.delaySeconds).toBeGreaterThanOrEqual(4);
    expect(b).toEqual({ kind: 'retry', delaySeconds: 37, failure: expect.objectContaining({ kind: 'rate_limited' }) });
  });

  it('gives up at once on what will never succeed, and after the last receive on the rest', async () => {
    const { connector } = scripted([
      throws(new PermanentProviderError('Not found', '404')),
      throws(new AuthenticationError('Unauthorized', '401')),
      throws(new RetryableProviderError('timed out')),
    ]);

    expect(await copyMedia(photoEvent(), first, depsWith(connector))).toMatchObject({
      kind: 'failed',
      failure: { kind: 'permanent', code: '404' },
    });
    expect(await copyMedia(photoEvent(), first, depsWith(connector))).toMatchObject({
      kind: 'failed',
      failure: { kind: 'authentication' },
    });
    expect(await copyMedia(photoEvent(), { receiveCount: 8, maxReceiveCount: 8 }, depsWith(connector))).toMatchObject({
      kind: 'exhausted',
      failure: { kind: 'retryable', message: 'timed out' },
    });
  });

  it('fails without calling the provider when the account has no credentials to download with', async () => {
    const { connector, calls } = scripted([]);

    const outcome = await copyMedia(photoEvent(), first, depsWith(connector, { webhookSecret: 's' }));

    expect(outcome).toEqual({
      kind: 'failed',
      failure: { kind: 'authentication', message: 'telegram account 1 has no botToken configured' },
    });
    expect(calls).toEqual([]);
  });

  it("reads the provider's type past parameters and spaces: a plain `application/octet-stream` still defers to the reference", async () => {
    const event = photoEvent();
    await applyEvent(event);
    await copyMedia(event, first, depsWith(scripted([serves(PNG, 'application/octet-stream ; charset=binary')]).connector));
    expect((await storedMessage(event)).mediaCopy?.contentType).toBe('image/jpeg');
  });

  it('takes a pointer whose message is not there (a writer stopped between them) for a message not stored yet', async () => {
    const event = photoEvent();
    let failed = false;
    const crashing = interceptCommits(h.store, (writes) => {
      if (!failed && writes.some((w) => w.kind === 'message')) {
        failed = true;
        throw new Error('Lambda timed out');
      }
    });
    await expect(applyToStore(event, { store: crashing, log, clock: h.clock, capabilities: capabilitiesOf })).rejects.toThrow(
      'Lambda timed out',
    );
    expect(await h.store.getPointer('telegram', '1', event.externalMessageId)).toBeDefined();
    const outcome = await copyMedia(event, first, depsWith(scripted([serves(PNG, 'image/png')]).connector));
    expect(outcome).toMatchObject({ kind: 'retry', failure: { message: 'the message is not stored yet' } });
  });

  it('records the copy once when two deliveries of the job copy at the same time', async () => {
    const event = photoEvent();
    await applyEvent(event);
    const copies = await Promise.all([
      copyMedia(event, first, depsWith(scripted([serves(PNG, 'image/png')]).connector)),
      copyMedia(event, first, depsWith(scripted([serves(PNG, 'image/png')]).connector)),
    ]);
    expect(copies.map((c) => c.kind).sort()).toEqual(['copied', 'copied']);
    const message = await storedMessage(event);
    const writes = (await h.records()).filter(
      (r) => r.dynamodb?.NewImage?.['id']?.S === message.id && r.dynamodb?.NewImage?.['mediaCopy'] !== undefined,
    );
    expect(writes).toHaveLength(1);
  });

  it("keeps the provider's media type with its parameters, and falls back to bytes when nobody names one", async () => {
    const withParameters = photoEvent();
    await applyEvent(withParameters);
    await copyMedia(withParameters, first, depsWith(scripted([serves(PNG, 'image/png; charset=binary')]).connector));
    expect((await storedMessage(withParameters)).mediaCopy?.contentType).toBe('image/png; charset=binary');

    const unnamed = photoEvent({ type: 'file', media: { id: `BQACAgIAAx-doc-${seq + 1}` } });
    await applyEvent(unnamed);
    await copyMedia(unnamed, first, depsWith(scripted([serves(PNG)]).connector));
    expect((await storedMessage(unnamed)).mediaCopy?.contentType).toBe('application/octet-stream');

    const byReference = photoEvent();
    await applyEvent(byReference);
    await copyMedia(byReference, first, depsWith(scripted([serves(PNG)]).connector));
    expect((await storedMessage(byReference)).mediaCopy?.contentType).toBe('image/jpeg');
  });

  it('refuses media over the size limit, storing nothing', async () => {
    const event = photoEvent();
    await applyEvent(event);
    const huge = { length: MAX_MEDIA_BYTES + 1 } as Buffer;
    const outcome = await copyMedia(event, first, depsWith(scripted([async () => ({ bytes: huge, contentType: 'image/png' })]).connector));
    expect(outcome).toEqual({
      kind: 'failed',
      failure: { kind: 'permanent', message: `the media is over ${MAX_MEDIA_BYTES} bytes (${MAX_MEDIA_BYTES + 1})` },
    });
    const media0 = mediaOf(event.content);
    expect(await media.head(mediaKeyOf('telegram', '1', media0!))).toBeUndefined();
    expect((await storedMessage(event)).mediaCopy).toBeUndefined();
  });

  it('gives up waiting for the message on the last receive (the copy stays for a redrive)', async () => {
    const event = photoEvent();
    const outcome = await copyMedia(
      event,
      { receiveCount: 8, maxReceiveCount: 8 },
      depsWith(scripted([serves(PNG, 'image/png')]).connector),
    );
    expect(outcome).toEqual({ kind: 'exhausted', failure: { kind: 'retryable', message: 'the message is not stored yet', attempts: 8 } });
    expect(await media.head(mediaKeyOf('telegram', '1', mediaOf(event.content)!))).toEqual({ contentType: 'image/png', size: PNG.length });
  });

  it('records the copy on a message edited meanwhile, keeping the edit', async () => {
    const event = photoEvent();
    await applyEvent(event);
    const { connector } = scripted([serves(PNG, 'image/png')]);
    let edited = false;
    const racing = interceptCommits(h.store, async (writes) => {
      if (edited || !writes.some((w) => w.kind === 'message')) return;
      edited = true;
      // The customer's edit lands between the copier's read and its write.
      await applyEvent({
        ...event,
        type: 'message.edited',
        eventId: `${event.eventId}-e`,
        editedAt: '2026-11-26T10:02:00.000Z',
        content: { ...event.content, caption: 'edited' },
      } as ParleyEvent);
    });
    expect(await copyMedia(event, first, { ...depsWith(connector), store: racing })).toMatchObject({ kind: 'copied' });
    const message = await storedMessage(event);
    expect(message.content).toMatchObject({ caption: 'edited' });
    expect(message.mediaCopy?.key).toBe(mediaKeyOf('telegram', '1', mediaOf(event.content)!));
  });

  it('skips content without media and channels that offer no download', async () => {
    const { connector, calls } = scripted([]);
    expect(await copyMedia(photoEvent({ type: 'text', text: 'hi' }), first, depsWith(connector))).toEqual({
      kind: 'skipped',
      reason: 'text content has no media',
    });
    expect(await copyMedia(photoEvent(), first, depsWith({ ...connector, downloadMedia: undefined } as unknown as Connector))).toEqual({
      kind: 'skipped',
      reason: 'telegram media cannot be downloaded',
    });
    expect(await copyMedia(photoEvent(), first, depsWith(undefined))).toEqual({
      kind: 'skipped',
      reason: 'telegram media cannot be downloaded',
    });
    expect(calls).toEqual([]);
  });
});

describe('copyMedia with a real download', () => {
  /** LINE content on another server (`contentProvider.type: external`), reached through `network`. */
  const lineExternal = (url: string, network: MediaNetwork): { event: MessageReceivedEvent; deps: MediaDeps } => {
    seq += 1;
    const event = {
      ...photoEvent({ type: 'image', media: { id: `5468138${seq}`, url } }),
      channel: 'line',
      accountId: 'U0123',
      externalMessageId: `5468138${seq}`,
    } as MessageReceivedEvent;
    const deps: MediaDeps = {
      ...depsWith(undefined),
      secrets: new LocalSecretStore({ line: { credentials: { channelSecret: 's', channelAccessToken: 'lineToken' }, accountId: 'U0123' } }),
      // Body URLs never go through the API's fetch.
      fetch: (async () => {
        throw new Error('fetched through the API client');
      }) as typeof globalThis.fetch,
      network,
      apiBaseUrls: {},
      connectorFor: () => ({ ...LINE_ACCOUNT, downloadMedia: downloadLineMedia }),
    };
    return { event, deps };
  };
  const resolvingTo = (addresses: ResolvedAddress[], served: Buffer) => {
    const connected: string[][] = [];
    const network: MediaNetwork = {
      resolve: async () => addresses,
      get: async (_url, _init, pinned) => {
        connected.push(pinned.map((a) => a.address));
        return new Response(served, { status: 200, headers: { 'content-type': 'image/png' } });
      },
    };
    return { network, connected };
  };

  it("copies through the deps' network, connecting to the address it checked", async () => {
    const { network, connected } = resolvingTo([{ address: '147.92.150.192', family: 4 }], PNG);
    const { event, deps } = lineExternal('https://cdn.example.com/a.png', network);
    await applyEvent(event);

    expect(await copyMedia(event, first, deps)).toMatchObject({ kind: 'copied', downloaded: true });
    expect(connected).toEqual([['147.92.150.192']]);
  });

  it('fails at once, storing nothing, when the URL resolves to a private address; the message keeps its URL', async () => {
    const { network, connected } = resolvingTo([{ address: '10.0.0.5', family: 4 }], PNG);
    const { event, deps } = lineExternal('https://cdn.example.com/b.png', network);
    await applyEvent(event);

    const outcome = await copyMedia(event, first, deps);

    expect(outcome).toEqual({
      kind: 'failed',
      failure: {
        kind: 'permanent',
        code: 'media_refused',
        message: 'LINE external content refused: cdn.example.com resolves to 10.0.0.5, a private address',
        attempts: 1,
      },
    });
    expect(connected).toEqual([]);
    expect(
      await media.head(mediaKeyOf('line', 'U0123', { id: event.content.type === 'image' ? event.content.media.id! : '' })),
    ).toBeUndefined();
    const message = await storedMessage(event);
    expect(message.mediaCopy).toBeUndefined();
    expect(message.content).toEqual(event.content);
  });
});

describe('mediaOf', () => {
  it('finds the media of image, audio, video, file and sticker content, and of nothing else', () => {
    const ref = { id: 'file-1' };
    const withMedia: Content[] = [
      { type: 'image', media: ref },
      { type: 'audio', media: ref },
      { type: 'video', media: ref },
      { type: 'file', media: ref },
      { type: 'sticker', media: ref },
    ];
    for (const content of withMedia) expect(mediaOf(content)).toBe(ref);
    const without: Content[] = [
      { type: 'text', text: 'hi' },
      { type: 'location', latitude: 37.5, longitude: 127 },
      { type: 'reaction', emoji: '👍', targetExternalId: 'm1' },
      { type: 'unsupported', providerType: 'poll' },
    ];
    for (const content of without) expect(mediaOf(content)).toBeUndefined();
  });
});

describe('mediaKeyOf', () => {
  it('gives one media object one key, apart per channel and account, whatever the id holds', () => {
    const key = mediaKeyOf('whatsapp', '106540352242922', { id: '../../etc/passwd' });
    expect(key).toBe(mediaKeyOf('whatsapp', '106540352242922', { id: '../../etc/passwd', mimeType: 'image/png' }));
    expect(key).toMatch(/^whatsapp\/106540352242922\/[0-9a-f]{64}$/);
    expect(mediaKeyOf('whatsapp', 'other', { id: '../../etc/passwd' })).not.toBe(key);
    expect(mediaKeyOf('messenger', 'page/../x', { url: 'https://scontent.xx.fbcdn.net/a.jpg' })).toMatch(
      /^messenger\/[0-9a-f]{32}\/[0-9a-f]{64}$/,
    );
  });

  it('keys media known by URL only by its URL', () => {
    const a = mediaKeyOf('messenger', '106512345678901', { url: 'https://scontent.xx.fbcdn.net/v/a.jpg' });
    expect(a).toBe(`messenger/106512345678901/${createHash('sha256').update('url:https://scontent.xx.fbcdn.net/v/a.jpg').digest('hex')}`);
    expect(mediaKeyOf('messenger', '106512345678901', { url: 'https://scontent.xx.fbcdn.net/v/b.jpg' })).not.toBe(a);
    expect(mediaKeyOf('whatsapp', '106540352242922', { id: '1035460051234567' })).toBe(
      `whatsapp/106540352242922/${createHash('sha256').update('id:1035460051234567').digest('hex')}`,
    );
  });

  it('keeps every stored file under the media directory', () => {
    const files = readdirSync(join(dir, 'media'), { recursive: true }).map(String);
    expect(files.length).toBeGreaterThan(0);
    expect(files.every((f) => f.startsWith('telegram') || f.startsWith('line'))).toBe(true);
  });
});
