import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileMediaStore } from '../../adapters/local/file-media-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'parley-file-media-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const store = new FileMediaStore(join(dir, 'media'));
const PNG = Buffer.from('89504e470d0a1a0a', 'hex');

describe('FileMediaStore', () => {
  it('keeps bytes and media type under the media directory, and reads them back', async () => {
    await store.put('telegram/7712345678/abc123', PNG, { contentType: 'image/png' });

    expect(await store.get('telegram/7712345678/abc123')).toEqual({ bytes: PNG, contentType: 'image/png' });
    expect(await store.head('telegram/7712345678/abc123')).toEqual({ contentType: 'image/png', size: PNG.length });
    expect(existsSync(join(dir, 'media', 'telegram', '7712345678', 'abc123'))).toBe(true);
  });

  it('replaces an object written again under the same key, leaving no temporary files', async () => {
    await store.put('line/U1/k', Buffer.from('one'), { contentType: 'text/plain' });
    await store.put('line/U1/k', Buffer.from('two'), { contentType: 'audio/m4a' });

    expect(await store.get('line/U1/k')).toEqual({ bytes: Buffer.from('two'), contentType: 'audio/m4a' });
    expect(readdirSync(join(dir, 'media', 'line', 'U1')).sort()).toEqual(['k', 'k.meta.json']);
  });

  it('answers undefined for a key with no object', async () => {
    expect(await store.get('telegram/7712345678/missing')).toBeUndefined();
    expect(await store.head('telegram/7712345678/missing')).toBeUndefined();
  });

  it('deletes an object, bytes and media type, and deleting it again is fine', async () => {
    await store.put('whatsapp/123/gone', PNG, { contentType: 'image/png' });
    await store.put('whatsapp/123/kept', PNG, { contentType: 'image/png' });

    await store.delete('whatsapp/123/gone');
    await store.delete('whatsapp/123/gone');

    expect(await store.get('whatsapp/123/gone')).toBeUndefined();
    expect(await store.head('whatsapp/123/gone')).toBeUndefined();
    expect(readdirSync(join(dir, 'media', 'whatsapp', '123')).sort()).toEqual(['kept', 'kept.meta.json']);
    expect(await store.get('whatsapp/123/kept')).toEqual({ bytes: PNG, contentType: 'image/png' });
  });

  it('deletes nothing for a key that never had an object', async () => {
    await expect(store.delete('messenger/1/never')).resolves.toBeUndefined();
  });

  it.each(['../outside', 'telegram/../../outside', '/etc/passwd', 'telegram//x', 'a/./b', 'a\\..\\b', '', 'x/%2e%2e/y'])(
    'refuses the key %j instead of leaving the media directory',
    async (key) => {
      await expect(store.put(key, PNG, { contentType: 'image/png' })).rejects.toThrow('invalid media key');
      await expect(store.get(key)).rejects.toThrow('invalid media key');
      await expect(store.delete(key)).rejects.toThrow('invalid media key');
    },
  );
});
