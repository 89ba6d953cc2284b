/**
 * What Meta's three messaging platforms (WhatsApp Cloud API, Messenger, Instagram) share on the webhook
 * side: the GET verification handshake and the `X-Hub-Signature-256` check.
 * @see https://developers.facebook.com/docs/graph-api/webhooks/getting-started#verification-requests
 * @see https://developers.facebook.com/docs/messenger-platform/webhooks#validate-payloads
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Credentials, WebhookAnswer, WebhookRequest } from '../connector.ts';

const sha256 = (value: string | Buffer) => createHash('sha256').update(value).digest();

/** Constant-time equality of two strings of any length (hashing first hides the length too). */
export const safeEqual = (a: string, b: string): boolean => timingSafeEqual(sha256(a), sha256(b));

/**
 * Answers `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…` with the challenge when the token
 * matches the configured one; 403 otherwise. Undefined when the request is not a handshake at all.
 */
export const metaHandshake = (request: WebhookRequest, verifyToken: string | undefined): WebhookAnswer | undefined => {
  const { query } = request;
  if (query['hub.mode'] === undefined && query['hub.challenge'] === undefined) return undefined;
  const ok =
    query['hub.mode'] === 'subscribe' &&
    verifyToken !== undefined &&
    verifyToken !== '' &&
    safeEqual(query['hub.verify_token'] ?? '', verifyToken) &&
    typeof query['hub.challenge'] === 'string';
  return ok
    ? { statusCode: 200, contentType: 'text/plain; charset=utf-8', body: query['hub.challenge'] ?? '' }
    : { statusCode: 403, contentType: 'application/json', body: JSON.stringify({ code: 'forbidden', message: 'verify token mismatch' }) };
};

/**
 * The header's only accepted form: `sha256=` and exactly 64 hex digits. `Buffer.from(hex, 'hex')` stops at
 * the first character that is not a hex pair and decodes the rest silently, so without this check a right
 * signature followed by anything (`…ab12zz`, `…ab12, sha256=…`) would pass.
 */
const SIGNATURE_HEADER = /^sha256=[0-9a-fA-F]{64}$/;

/**
 * `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>`. Computed over the
 * raw bytes: Meta escapes non-ASCII (`é` as `\u00e9`), so a parsed and re-serialized body no longer matches.
 */
export const verifyMetaSignature = (request: WebhookRequest, appSecret: string | undefined): boolean => {
  const header = request.headers['x-hub-signature-256'];
  if (!appSecret || header === undefined || !SIGNATURE_HEADER.test(header)) return false;
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  const expected = createHmac('sha256', appSecret).update(request.rawBody).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
};

/**
 * A Meta platform's `verify`: the body signed with the account's `appSecret`. Never throws; no secret
 * configured means refused.
 */
export const verifyMetaWebhook = (request: WebhookRequest, credentials: Credentials): boolean => {
  try {
    return verifyMetaSignature(request, credentials['appSecret']);
  } catch {
    return false;
  }
};

/** A Meta platform's `handshake`: only a GET can be one; it is the one unsigned request Meta sends. */
export const metaWebhookHandshake = (request: WebhookRequest, credentials: Credentials): WebhookAnswer | undefined =>
  request.method.toUpperCase() === 'GET' ? metaHandshake(request, credentials['verifyToken']) : undefined;
