/** A MediaStore in memory, for tests that need one but do not test storage. */
import type { MediaObject, MediaStore } from '../../domain/ports.ts';

export class MemoryMediaStore implements MediaStore {
  readonly objects = new Map<string, MediaObject>();

  async put(key: string, bytes: Buffer, options: { readonly contentType: string }): Promise<void> {
    this.objects.set(key, { bytes: Buffer.from(bytes), contentType: options.contentType });
  }

  async get(key: string): Promise<MediaObject | undefined> {
    const object = this.objects.get(key);
    return object && { bytes: Buffer.from(object.bytes), contentType: object.contentType };
  }

  async head(key: string): Promise<{ readonly contentType: string; readonly size: number } | undefined> {
    const object = this.objects.get(key);
    return object && { contentType: object.contentType, size: object.bytes.length };
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
}
