/**
 * `GET /v1/threads/{threadId}/messages/{messageId}/media`: the bytes of Parley's copy of a customer's media
 * (as the media copier recorded it), inline up to 4 MB, a short-lived link above that, and a JSON error while
 * there is no copy.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_INLINE_MEDIA_BYTES } from '../../api/schemas.ts';
import type { Content } from '../../domain/content.ts';
import { startApiHarness, type ApiHarness, type CustomerMessage } from '../helpers/api-harness.ts';
import { MemoryMediaStore } from '../helpers/memory-media-store.ts';

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
const photo: Content = { type: 'image', media: { id: 'AgACAgIAAxkBAAIB', mimeType: 'image/png' }, caption: 'my parcel' };

let harness: ApiHarness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

const setup = async (content: Content = photo, media = new MemoryMediaStore()) => {
  const h = await startApiHarness({ media });
  harness = h;
  const written = await h.customerWrites('telegram', '4242', { content });
  const path = (m: CustomerMessage = written, threadId = m.threadId) => `/v1/threads/${threadId}/messages/${m.messageId}/media`;
  return { h, written, path };
};

describe('GET /v1/threads/{threadId}/messages/{messageId}/media', () => {
  it('answers the copied bytes with their media type, base64 for API Gateway to decode, never for a browser to run', async () => {
    const { h, written, path } = await setup();
    await h.copyMediaOf(written, PNG, 'image/png');

    const response = await h.get(path());

    expect(response.status).toBe(200);
    expect(response.isBase64Encoded).toBe(true);
    expect(response.bytes).toEqual(PNG);
    expect(response.headers).toMatchObject({
      'content-type': 'image/png',
      'content-length': String(PNG.length),
      'content-disposition': 'attachment',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "sandbox; default-src 'none'",
      'cache-control': 'private, max-age=3600',
    });
    const message = (await h.get(`/v1/threads/${written.threadId}/messages`)).json.items[0];
    expect(message.mediaCopy).toMatchObject({ contentType: 'image/png', size: PNG.length });
  });

  it('is readable with a read key, and refused without a key', async () => {
    const { h, written, path } = await setup();
    await h.copyMediaOf(written, PNG, 'image/png');
    const reader = await h.newKey(['read']);

    expect((await h.get(path(), { key: reader.secret })).status).toBe(200);
    const anonymous = await h.get(path(), { key: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.json.code).toBe('unauthorized');
  });

  it("names the customer's file, made safe for the header", async () => {
    const { h, written, path } = await setup({ type: 'file', media: { id: 'BQACAgIAAxkBAAIC', fileName: 'invoice "march".pdf' } });
    await h.copyMediaOf(written, Buffer.from('%PDF-1.7'), 'application/pdf');

    const response = await h.get(path());

    expect(response.headers['content-disposition']).toBe(
      `attachment; filename="invoice _march_.pdf"; filename*=UTF-8''${encodeURIComponent('invoice "march".pdf')}`,
    );
  });

  it('keeps a long or malformed name to 100 whole characters instead of failing', async () => {
    const name = `견적\uD800서${'견적서'.repeat(60)}.pdf`;
    const { h, written, path } = await setup({ type: 'file', media: { id: 'BQACAgIAAxkBAAID', fileName: name } });
    await h.copyMediaOf(written, Buffer.from('%PDF-1.7'), 'application/pdf');

    const response = await h.get(path());

    expect(response.status).toBe(200);
    const encoded = /filename\*=UTF-8''(.*)$/.exec(response.headers['content-disposition'] ?? '')?.[1] ?? '';
    expect(Array.from(decodeURIComponent(encoded))).toHaveLength(100);
    expect(decodeURIComponent(encoded)).toBe(`견적\uFFFD서${'견적서'.repeat(60)}`.slice(0, 100));
  });

  it('answers 404 media_not_copied while the copier has not copied it yet', async () => {
    const { h, path } = await setup();

    const response = await h.get(path());

    expect(response.status).toBe(404);
    expect(response.json).toMatchObject({ code: 'media_not_copied' });
  });

  it('answers 404 media_not_copied when the recorded copy is missing from storage', async () => {
    const media = new MemoryMediaStore();
    const { h, written, path } = await setup(photo, media);
    const key = await h.copyMediaOf(written, PNG, 'image/png');
    await media.delete(key);

    expect((await h.get(path())).json).toMatchObject({ code: 'media_not_copied' });
  });

  it('answers 404 not_found for a message without media, an unknown message and an unknown thread', async () => {
    const { h, written } = await setup({ type: 'text', text: 'hello' });

    expect((await h.get(`/v1/threads/${written.threadId}/messages/${written.messageId}/media`)).json).toMatchObject({
      code: 'not_found',
      message: expect.stringContaining('has no media'),
    });
    expect((await h.get(`/v1/threads/${written.threadId}/messages/msg_nope/media`)).json).toMatchObject({ code: 'not_found' });
    expect((await h.get('/v1/threads/th_nope/messages/msg_nope/media')).status).toBe(404);
  });

  it("serves a merged contact's media through the thread it was merged into", async () => {
    const { h, written, path } = await setup();
    await h.copyMediaOf(written, PNG, 'image/png');
    const survivor = await h.customerWrites('whatsapp', '14155550123');
    await h.post(`/v1/contacts/${survivor.contactId}/merge`, { contactId: written.contactId });

    const response = await h.get(path(written, survivor.threadId));

    expect(response.status).toBe(200);
    expect(response.bytes).toEqual(PNG);
  });

  it('answers media over 4 MB with a 302 to a 5-minute link to the stored copy, where the store can issue one', async () => {
    const asked: [string, unknown][] = [];
    const linking = Object.assign(new MemoryMediaStore(), {
      downloadUrl: async (key: string, options: unknown) => {
        asked.push([key, options]);
        return `https://media.example/${key}?X-Amz-Signature=abc`;
      },
    });
    const { h, written, path } = await setup({ type: 'video', media: { id: 'BAACAgIA', fileName: 'unboxing clip.mp4' } }, linking);
    const key = await h.copyMediaOf(written, Buffer.alloc(MAX_INLINE_MEDIA_BYTES + 1, 7), 'video/mp4');

    const response = await h.get(path());

    expect(response.status).toBe(302);
    expect(response.headers.location).toBe(`https://media.example/${key}?X-Amz-Signature=abc`);
    expect(response.json).toEqual({
      url: `https://media.example/${key}?X-Amz-Signature=abc`,
      expiresAt: new Date(h.clock.now().getTime() + 300_000).toISOString(),
      size: MAX_INLINE_MEDIA_BYTES + 1,
      contentType: 'video/mp4',
    });
    expect(asked).toEqual([
      [
        key,
        { expiresInSeconds: 300, contentDisposition: `attachment; filename="unboxing clip.mp4"; filename*=UTF-8''unboxing%20clip.mp4` },
      ],
    ]);
  });

  it('answers media over 4 MB with 413 media_too_large where the store issues no links (the bytes are not copied into the answer)', async () => {
    const { h, written, path } = await setup({ type: 'video', media: { id: 'BAACAgIB' } });
    await h.copyMediaOf(written, Buffer.alloc(MAX_INLINE_MEDIA_BYTES + 1, 7), 'video/mp4');

    const response = await h.get(path());

    expect(response.status).toBe(413);
    expect(response.json).toMatchObject({ code: 'media_too_large' });
    expect(response.text.length).toBeLessThan(1000);
  });

  it('serves exactly 4 MB inline', async () => {
    const { h, written, path } = await setup({ type: 'file', media: { id: 'BQACAgIAAxkBAAIE' } });
    const bytes = Buffer.alloc(MAX_INLINE_MEDIA_BYTES, 1);
    await h.copyMediaOf(written, bytes, 'application/zip');

    const response = await h.get(path());

    expect(response.status).toBe(200);
    expect(response.bytes.length).toBe(MAX_INLINE_MEDIA_BYTES);
  });

  it('is a GET-only route: other methods are told which one it accepts', async () => {
    const { h, path } = await setup();

    const response = await h.post(path(), {});

    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET');
  });
});
