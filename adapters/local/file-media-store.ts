/**
 * Media storage for the local runtime: one file per object under `<dataDir>/media/`, its media type in a
 * sidecar `.json`. Keys are checked, not trusted: only `/`-separated segments of `[A-Za-z0-9._-]`, none
 * of them `.` or `..`, so no key can reach outside the media directory.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { MediaObject, MediaStore } from '../../domain/ports.ts';

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

export class FileMediaStore implements MediaStore {
  private readonly root: string;

  /** @param directory where objects are kept, e.g. `<dataDir>/media` */
  constructor(directory: string) {
    this.root = resolve(directory);
  }

  /** The file of a key; throws for a key that is not a plain relative path. */
  private pathOf(key: string): string {
    const segments = key.split('/');
    if (segments.length === 0 || segments.length > 8 || !segments.every((s) => SEGMENT.test(s) && s !== '.' && s !== '..')) {
      throw new Error('invalid media key');
    }
    const path = join(this.root, ...segments);
    // Belt and braces: the segment check already rules out traversal.
    if (!path.startsWith(this.root + sep)) throw new Error('invalid media key');
    return path;
  }

  async put(key: string, bytes: Buffer, options: { readonly contentType: string }): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    // Metadata first, then the bytes, each renamed into place: a reader finds a whole object or none.
    // Unique per write: two copies of the same object written at once must not rename each other's file.
    const temp = `${path}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(`${temp}.json`, JSON.stringify({ contentType: options.contentType }));
    await rename(`${temp}.json`, `${path}.meta.json`);
    await writeFile(temp, bytes);
    await rename(temp, path);
  }

  async get(key: string): Promise<MediaObject | undefined> {
    const path = this.pathOf(key);
    try {
      const [bytes, meta] = await Promise.all([readFile(path), readFile(`${path}.meta.json`, 'utf8')]);
      return { bytes, contentType: contentTypeOf(meta) };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    await Promise.all([rm(path).catch(ignoreMissing), rm(`${path}.meta.json`).catch(ignoreMissing)]);
  }

  async head(key: string): Promise<{ readonly contentType: string; readonly size: number } | undefined> {
    const path = this.pathOf(key);
    try {
      const [info, meta] = await Promise.all([stat(path), readFile(`${path}.meta.json`, 'utf8')]);
      return { contentType: contentTypeOf(meta), size: info.size };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }
}

const ignoreMissing = (error: unknown): void => {
  if (!isMissing(error)) throw error;
};

const contentTypeOf = (meta: string): string => {
  const parsed = JSON.parse(meta) as { contentType?: unknown };
  return typeof parsed.contentType === 'string' ? parsed.contentType : 'application/octet-stream';
};

const isMissing = (error: unknown): boolean =>
  error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ENOTDIR');
