/**
 * `GET /v1/threads/{threadId}/messages/{messageId}/media`: the bytes of Parley's copy of a customer's
 * media, behind the API key, and a JSON error while there is no copy.
 */
import { describe, expect, it } from 'vitest';
import type { Content } from '../../domain/content.ts';
import { createHarness, TestClock } from '../helpers/api-harness.ts';
import { MemoryMediaStore } from '../helpers/memory-media-store.ts';
import { MemoryThreadStore } from '../helpers/memory-thread-store.ts';
import { MAX_INLINE_MEDIA_BYTES } from '../../api/schemas.ts';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const photo: Content = { type: 'image', media: { id: 'AgACAgIAAxkBAAIB', mimeType: 'image/jpeg' }, caption: 'my parcel' };

const setup = async (content: Content = photo) => {
  const harness = await createHarness(new MemoryThreadStore());
  const { thread } = await harness.customerWrites('telegram', '4242', content);
  const [message] = (await harness.store.listMessages(thread.id, 10)).items;
  if (!message) throw new Error('no message');
  const path = `/v1/threads/${encodeURIComponent(thread.id)}/messages/${encodeURIComponent(message.id)}/media`;
  const copy = async (bytes = PNG, contentType = 'image/png') => {
    const key = `telegram/telegram-bot/${message.id}`;
    await harness.media.put(key, bytes, { contentType });
    await harness.store.recordMediaCopy(thread.id, message.id, { key, contentType, size: bytes.length, copiedAt: '2026-11-26T10:00:02.000Z' });
  };
  return { ...harness, thread, message, path, copy };
};

describe('GET /v1/threads/{threadId}/messages/{messageId}/media', () => {
  it('answers the copied bytes with their media type, as a base64 body for the gateway to decode', async () => {
    const { call, path, copy } = await setup();
    await copy();

    const response = await call('GET', path);

    expect(response.statusCode).toBe(200);
    expect(response.isBase64Encoded).toBe(true);
    expect(Buffer.from(response.body, 'base64')).toEqual(PNG);
    expect(response.headers).toMatchObject({
      'content-type': 'image/png',
      'content-length': String(PNG.length),
      'content-disposition': 'attachment',
      'x-content-type-options': 'nosniff',
    });
  });

  it("names the customer's file, made safe for the header", async () => {
    const { call, path, copy } = await setup({ type: 'file', media: { id: 'BQACAgIAAxkBAAIC', fileName: 'invoice "march".pdf' } });
    await copy(Buffer.from('%PDF-1.7'), 'application/pdf');

    const response = await call('GET', path);

    expect(response.headers['content-disposition']).toBe(
      `attachment; filename="invoice _march_.pdf"; filename*=UTF-8''${encodeURIComponent('invoice "march".pdf')}`,
    );
  });

  it('keeps a long or malformed name to 100 whole characters instead of failing', async () => {
    const name = `견적\uD800서${'견적서'.repeat(60)}.pdf`;
    const { call, path, copy } = await setup({ type: 'file', media: { id: 'BQACAgIAAxkBAAID', fileName: name } });
    await copy(Buffer.from('%PDF-1.7'), 'application/pdf');

    const response = await call('GET', path);

    expect(response.statusCode).toBe(200);
    const encoded = /filename\*=UTF-8''(.*)$/.exec(response.headers['content-disposition'] ?? '')?.[1] ?? '';
    expect(Array.from(decodeURIComponent(encoded))).toHaveLength(100);
    expect(decodeURIComponent(encoded)).toBe(`견적\uFFFD서${'견적서'.repeat(60)}`.slice(0, 100));
  });

  it('answers 404 media_not_copied while the copier has not copied it yet', async () => {
    const { call, path } = await setup();

    const response = await call('GET', path);

    expect(response.statusCode).toBe(404);
    expect(response.json).toMatchObject({ code: 'media_not_copied' });
  });

  it('answers 404 not_found for a message without media, an unknown message and an unknown thread', async () => {
    const text = await setup({ type: 'text', text: 'hello' });
    expect((await text.call('GET', text.path)).json).toMatchObject({ code: 'not_found', message: expect.stringContaining('has no media') });
    const { call, thread } = await setup();
    expect((await call('GET', `/v1/threads/${thread.id}/messages/nope/media`)).json).toMatchObject({ code: 'not_found' });
    expect((await call('GET', '/v1/threads/nope/messages/nope/media')).statusCode).toBe(404);
  });

  it('answers 413 media_too_large for a copy larger than one answer can carry', async () => {
    const { call, path, store, thread, message } = await setup();
    await store.recordMediaCopy(thread.id, message.id, { key: 'k', contentType: 'video/mp4', size: MAX_INLINE_MEDIA_BYTES + 1, copiedAt: '2026-11-26T10:00:02.000Z' });

    const response = await call('GET', path);

    expect(response.statusCode).toBe(413);
    expect(response.json).toMatchObject({ code: 'media_too_large' });
  });

  it('answers larger media with a short-lived link to the stored copy, where the store can issue one', async () => {
    const asked: [string, unknown][] = [];
    const linking = Object.assign(new MemoryMediaStore(), {
      downloadUrl: async (key: string, options: unknown) => {
        asked.push([key, options]);
        return `https://media.example/${key}?signature=abc`;
      },
    });
    const clock = new TestClock();
    const harness = await createHarness(new MemoryThreadStore(clock), clock, linking);
    const { thread } = await harness.customerWrites('telegram', '4243', { type: 'video', media: { id: 'BAACAgIA', fileName: 'unboxing clip.mp4' } });
    const [message] = (await harness.store.listMessages(thread.id, 10)).items;
    await harness.store.recordMediaCopy(thread.id, message!.id, {
      key: 'telegram/telegram-bot/v1',
      contentType: 'video/mp4',
      size: MAX_INLINE_MEDIA_BYTES + 1,
      copiedAt: '2026-11-26T10:00:02.000Z',
    });

    const response = await harness.call('GET', `/v1/threads/${thread.id}/messages/${message!.id}/media`);

    expect(response.statusCode).toBe(302);
    expect(response.headers.location).toBe('https://media.example/telegram/telegram-bot/v1?signature=abc');
    expect(response.json).toEqual({
      url: 'https://media.example/telegram/telegram-bot/v1?signature=abc',
      expiresAt: new Date(clock.now().getTime() + 300_000).toISOString(),
      size: MAX_INLINE_MEDIA_BYTES + 1,
      contentType: 'video/mp4',
    });
    expect(asked).toEqual([
      ['telegram/telegram-bot/v1', { expiresInSeconds: 300, contentDisposition: `attachment; filename="unboxing clip.mp4"; filename*=UTF-8''unboxing%20clip.mp4` }],
    ]);
  });

  it('needs the API key', async () => {
    const { call, path, copy } = await setup();
    await copy();

    const response = await call('GET', path, { anonymous: true });

    expect(response.statusCode).toBe(401);
    expect(response.json).toMatchObject({ code: 'unauthorized' });
  });

  it('is a POST-less route: other methods are told which one it accepts', async () => {
    const { call, path } = await setup();

    const response = await call('POST', path, { body: '{}' });

    expect(response.statusCode).toBe(405);
    expect(response.headers).toMatchObject({ allow: 'GET' });
  });
});
