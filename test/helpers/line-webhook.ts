/**
 * Signs LINE webhook bodies the way LINE does, from a test channel secret, independently of the connector's
 * own code: `x-line-signature` = Base64(HMAC-SHA256(channel secret, raw body)).
 * @see https://developers.line.biz/en/docs/messaging-api/verify-webhook-signature/
 */
import { createHmac } from 'node:crypto';

/** A channel secret of the real shape (32 hex digits), for tests only. */
export const LINE_TEST_CHANNEL_SECRET = '8c2f1a0e9b7d6c5f4e3a2b1c0d9e8f7a';

export const lineSignatureHeaders = (rawBody: Buffer, channelSecret: string = LINE_TEST_CHANNEL_SECRET): Record<string, string> => ({
  'x-line-signature': createHmac('sha256', Buffer.from(channelSecret, 'utf8')).update(rawBody).digest('base64'),
});
