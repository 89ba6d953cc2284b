/**
 * Media storage on S3: one object per key, with its media type as the object's `Content-Type`.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { MediaObject, MediaStore } from '../../domain/ports.ts';

export class S3MediaStore implements MediaStore {
  constructor(private readonly options: { readonly client: S3Client; readonly bucket: string }) {}

  async put(key: string, bytes: Buffer, options: { readonly contentType: string }): Promise<void> {
    await this.options.client.send(
      new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: bytes, ContentType: options.contentType }),
    );
  }

  async get(key: string): Promise<MediaObject | undefined> {
    try {
      const answer = await this.options.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      if (!answer.Body) return undefined;
      const bytes = Buffer.from(await answer.Body.transformToByteArray());
      return { bytes, contentType: answer.ContentType ?? 'application/octet-stream' };
    } catch (error) {
      if (error instanceof NoSuchKey) return undefined;
      throw error;
    }
  }

  async head(key: string): Promise<{ readonly contentType: string; readonly size: number } | undefined> {
    try {
      const answer = await this.options.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return { contentType: answer.ContentType ?? 'application/octet-stream', size: answer.ContentLength ?? 0 };
    } catch (error) {
      // HEAD has no body, so a missing object is a bare 404 (`NotFound`), not `NoSuchKey`.
      if (error instanceof NotFound || error instanceof NoSuchKey) return undefined;
      throw error;
    }
  }

  /** S3 answers a delete of a missing key with success too. */
  async delete(key: string): Promise<void> {
    await this.options.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: key }));
  }

  /**
   * A presigned GET: anyone holding the URL may download the object until it expires, so it is handed out only
   * to an authorized caller and lives minutes. The signature covers the response headers S3 will send.
   * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/ShareObjectPreSignedURL.html
   */
  async downloadUrl(key: string, options: { readonly expiresInSeconds: number; readonly contentDisposition: string }): Promise<string> {
    return getSignedUrl(
      this.options.client,
      new GetObjectCommand({ Bucket: this.options.bucket, Key: key, ResponseContentDisposition: options.contentDisposition }),
      { expiresIn: options.expiresInSeconds },
    );
  }
}
