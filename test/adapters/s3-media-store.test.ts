import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3MediaStore } from '../../adapters/aws/s3-media-store.ts';

const s3 = mockClient(S3Client);
beforeEach(() => s3.reset());

const store = () => new S3MediaStore({ client: new S3Client({}), bucket: 'parley-media-123456789012-eu-west-1' });
const KEY = 'telegram/7712345678/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';
const PNG = Buffer.from('89504e470d0a1a0a', 'hex');
/** The SDK's streaming body, as far as the store reads it. */
const body = (bytes: Buffer) => ({ transformToByteArray: async () => new Uint8Array(bytes) }) as never;

describe('S3MediaStore', () => {
  it('puts the bytes under the key, with their media type', async () => {
    s3.on(PutObjectCommand).resolves({});

    await store().put(KEY, PNG, { contentType: 'image/png' });

    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: 'parley-media-123456789012-eu-west-1',
      Key: KEY,
      Body: PNG,
      ContentType: 'image/png',
    });
  });

  it('gets the bytes and media type back', async () => {
    s3.on(GetObjectCommand, { Key: KEY }).resolves({ Body: body(PNG), ContentType: 'image/png' });

    expect(await store().get(KEY)).toEqual({ bytes: PNG, contentType: 'image/png' });
  });

  it('answers undefined for a key with no object (NoSuchKey on GET, NotFound on HEAD)', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }));
    s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } }));

    expect(await store().get(KEY)).toBeUndefined();
    expect(await store().head(KEY)).toBeUndefined();
  });

  it('heads an object for its media type and size without reading it', async () => {
    s3.on(HeadObjectCommand, { Key: KEY }).resolves({ ContentType: 'image/png', ContentLength: PNG.length });

    expect(await store().head(KEY)).toEqual({ contentType: 'image/png', size: PNG.length });
    expect(s3).not.toHaveReceivedCommand(GetObjectCommand);
  });

  it('lets any other failure through, so the copy is retried rather than thought missing', async () => {
    s3.on(HeadObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    s3.on(GetObjectCommand).rejects(Object.assign(new Error('Slow Down'), { name: 'SlowDown' }));

    await expect(store().head(KEY)).rejects.toThrow('Access Denied');
    await expect(store().get(KEY)).rejects.toThrow('Slow Down');
  });

  it('deletes the object under the key (S3 answers a missing key with success too)', async () => {
    s3.on(DeleteObjectCommand).resolves({});

    await store().delete(KEY);

    expect(s3).toHaveReceivedCommandTimes(DeleteObjectCommand, 1);
    expect(s3).toHaveReceivedCommandWith(DeleteObjectCommand, { Bucket: 'parley-media-123456789012-eu-west-1', Key: KEY });
  });

  it('lets a failed delete through, so an erasure is retried rather than reported done', async () => {
    s3.on(DeleteObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));

    await expect(store().delete(KEY)).rejects.toThrow('Access Denied');
  });

  it('presigns a download link that expires and makes S3 answer as an attachment', async () => {
    const client = new S3Client({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    });
    const media = new S3MediaStore({ client, bucket: 'parley-media-123456789012-eu-west-1' });

    const url = new URL(await media.downloadUrl(KEY, { expiresInSeconds: 300, contentDisposition: 'attachment; filename="a.png"' }));

    expect(url.protocol).toBe('https:');
    expect(url.hostname).toBe('parley-media-123456789012-eu-west-1.s3.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe(`/${KEY}`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('300');
    expect(url.searchParams.get('response-content-disposition')).toBe('attachment; filename="a.png"');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    // Signing is local: no request reaches S3.
    expect(s3.calls()).toHaveLength(0);
  });
});
