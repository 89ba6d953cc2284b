import { createHmac, timingSafeEqual } from 'node:crypto';
import type { WebhookRequest } from '../connector.ts';
import type { Credentials } from '../../domain/ports.ts';

/** The header LINE signs every webhook request with. Header names arrive lower-cased. */
export const LINE_SIGNATURE_HEADER = 'x-line-signature';

/** Base64 of a 32-byte digest: 43 characters and one `=`. Anything else cannot be a LINE signature. */
const SIGNATURE_FORMAT = /^[A-Za-z0-9+/]{43}=$/;

/** `Base64(HMAC-SHA256(channel secret as UTF-8, raw body))`: what LINE sends in `x-line-signature`. */
export const lineSignature = (rawBody: Buffer, channelSecret: string): string =>
  createHmac('sha256', channelSecret).update(rawBody).digest('base64');

/**
 * True when `x-line-signature` is the HMAC of the exact bytes received. LINE escapes astral characters as
 * `\uD83D\uDE00` in its JSON, so a body parsed and re-serialized no longer matches: only the raw body will do.
 * The channel secret is used as its UTF-8 text, never hex-decoded. The header is decoded only when it has the
 * exact shape of a digest (Node's base64 decoder skips stray characters, which would let variants of one
 * signature through), then compared in constant time. No secret configured: refused, never accepted.
 * @see https://developers.line.biz/en/docs/messaging-api/verify-webhook-signature/
 */
export const verifyLineWebhook = (request: WebhookRequest, credentials: Credentials): boolean => {
  try {
    const secret = credentials['channelSecret'];
    const given = request.headers[LINE_SIGNATURE_HEADER];
    if (!secret || typeof given !== 'string' || !SIGNATURE_FORMAT.test(given)) return false;
    const expected = createHmac('sha256', secret).update(request.rawBody).digest();
    const decoded = Buffer.from(given, 'base64');
    return decoded.length === expected.length && timingSafeEqual(decoded, expected);
  } catch {
    return false;
  }
};
