/**
 * connectors/meta/meta.verify.ts at its edges, shared by WhatsApp, Messenger and Instagram: what Meta's
 * GET handshake is answered in each partial form, and which `X-Hub-Signature-256` headers are refused.
 * The conformance suite covers the ordinary handshake and signature per channel.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { WebhookRequest } from '../../../connectors/connector.ts';
import { metaHandshake, metaWebhookHandshake, verifyMetaSignature, verifyMetaWebhook } from '../../../connectors/meta/meta.verify.ts';

const VERIFY_TOKEN = 'parley-verify-token-7c1e';
const APP_SECRET = 'f3c9a1b2d4e5f60718293a4b5c6d7e8f';
const BODY = Buffer.from('{"object":"page","entry":[{"id":"106512345678901","time":1773448013000,"messaging":[]}]}');

const get = (query: Record<string, string | undefined>): WebhookRequest => ({
  method: 'GET',
  headers: {},
  query,
  rawBody: Buffer.alloc(0),
});
const post = (signature: unknown): WebhookRequest => ({
  method: 'POST',
  headers: { 'x-hub-signature-256': signature as string },
  query: {},
  rawBody: BODY,
});
const hmacHex = (secret: string, body: Buffer) => createHmac('sha256', secret).update(body).digest('hex');

const FORBIDDEN = {
  statusCode: 403,
  contentType: 'application/json',
  body: JSON.stringify({ code: 'forbidden', message: 'verify token mismatch' }),
};

describe('Meta handshake', () => {
  it('answers the challenge as plain text when mode, token and challenge are right', () => {
    const answer = metaHandshake(
      get({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1158201444' }),
      VERIFY_TOKEN,
    );
    expect(answer).toEqual({ statusCode: 200, contentType: 'text/plain; charset=utf-8', body: '1158201444' });
  });

  it('answers a wrong token with a JSON 403, never the challenge', () => {
    const answer = metaHandshake(
      get({ 'hub.mode': 'subscribe', 'hub.verify_token': 'guess', 'hub.challenge': '1158201444' }),
      VERIFY_TOKEN,
    );
    expect(answer).toEqual(FORBIDDEN);
  });

  it('answers a handshake with only its mode, or only its challenge, with 403 rather than passing it on', () => {
    expect(metaHandshake(get({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN }), VERIFY_TOKEN)).toEqual(FORBIDDEN);
    expect(metaHandshake(get({ 'hub.challenge': '1158201444', 'hub.verify_token': VERIFY_TOKEN }), VERIFY_TOKEN)).toEqual(FORBIDDEN);
    expect(metaHandshake(get({ 'hub.mode': 'unsubscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1' }), VERIFY_TOKEN)).toEqual(
      FORBIDDEN,
    );
  });

  it('is no handshake at all without mode and challenge', () => {
    expect(metaHandshake(get({ 'hub.verify_token': VERIFY_TOKEN }), VERIFY_TOKEN)).toBeUndefined();
    expect(metaHandshake(get({}), VERIFY_TOKEN)).toBeUndefined();
  });

  it('refuses every handshake, without throwing, when no verify token is configured', () => {
    const query = { 'hub.mode': 'subscribe', 'hub.verify_token': '', 'hub.challenge': '1158201444' };
    expect(metaHandshake(get(query), undefined)).toEqual(FORBIDDEN);
    expect(metaHandshake(get(query), '')).toEqual(FORBIDDEN);
    expect(metaWebhookHandshake(get({ ...query, 'hub.verify_token': VERIFY_TOKEN }), {})).toEqual(FORBIDDEN);
  });

  it('answers only a GET: a POST with the same query is a webhook to verify', () => {
    const query = { 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1158201444' };
    expect(metaWebhookHandshake({ ...get(query), method: 'get' }, { verifyToken: VERIFY_TOKEN })).toMatchObject({
      statusCode: 200,
      body: '1158201444',
    });
    expect(metaWebhookHandshake({ ...get(query), method: 'POST' }, { verifyToken: VERIFY_TOKEN })).toBeUndefined();
  });
});

describe('Meta signature', () => {
  const good = `sha256=${hmacHex(APP_SECRET, BODY)}`;

  it('accepts the HMAC-SHA256 of the raw body with the app secret', () => {
    expect(verifyMetaWebhook(post(good), { appSecret: APP_SECRET })).toBe(true);
    expect(verifyMetaSignature(post(good), APP_SECRET)).toBe(true);
  });

  it('refuses the right digest under another algorithm label', () => {
    expect(verifyMetaSignature(post(`sha512=${hmacHex(APP_SECRET, BODY)}`), APP_SECRET)).toBe(false);
    expect(verifyMetaSignature(post(hmacHex(APP_SECRET, BODY)), APP_SECRET)).toBe(false);
  });

  it('refuses a truncated or overlong digest without throwing', () => {
    expect(verifyMetaSignature(post(good.slice(0, -2)), APP_SECRET)).toBe(false);
    expect(verifyMetaSignature(post(`${good}00`), APP_SECRET)).toBe(false);
  });

  it('refuses everything, without throwing, when no app secret is configured', () => {
    expect(verifyMetaSignature(post(good), undefined)).toBe(false);
    expect(verifyMetaSignature(post(`sha256=${hmacHex('', BODY)}`), '')).toBe(false);
    expect(verifyMetaWebhook(post(good), {})).toBe(false);
  });

  it('refuses a header that arrives as a list (sent twice) instead of throwing', () => {
    expect(verifyMetaWebhook(post([good, good]), { appSecret: APP_SECRET })).toBe(false);
  });
});
