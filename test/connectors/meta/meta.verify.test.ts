/**
 * The `X-Hub-Signature-256` check WhatsApp, Messenger and Instagram share: only `sha256=` and exactly 64 hex
 * digits of the HMAC of the raw body, compared in constant time.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { WebhookRequest } from '../../../connectors/connector.ts';
import { verifyMetaSignature, verifyMetaWebhook } from '../../../connectors/meta/meta.verify.ts';

const APP_SECRET = 'meta-verify-test-app-secret-0123456789';
const body = Buffer.from('{"object":"page","entry":[{"id":"106512345678901","time":1773448200,"messaging":[]}]}', 'utf8');
const hex = createHmac('sha256', APP_SECRET).update(body).digest('hex');

const request = (signature: string | undefined): WebhookRequest => ({
  method: 'POST',
  headers: signature === undefined ? {} : { 'x-hub-signature-256': signature },
  query: {},
  rawBody: body,
});

describe('verifyMetaSignature', () => {
  it('accepts sha256= and the 64 hex digits of the HMAC of the raw body, in either case', () => {
    expect(verifyMetaSignature(request(`sha256=${hex}`), APP_SECRET)).toBe(true);
    expect(verifyMetaSignature(request(`sha256=${hex.toUpperCase()}`), APP_SECRET)).toBe(true);
  });

  // Node decodes hex up to the first character that is not a hex pair and drops the rest without a word, so
  // each of these decoded to the right 32 bytes before the header's form was checked.
  it.each([
    ['a right signature followed by junk', `sha256=${hex}zz`],
    ['a right signature followed by one more digit', `sha256=${hex}0`],
    ['a right signature followed by a second one', `sha256=${hex},sha256=${hex}`],
    ['a right signature followed by a space', `sha256=${hex} `],
    ['a right signature followed by a newline', `sha256=${hex}\n`],
  ])('refuses %s', (_, signature) => {
    expect(verifyMetaSignature(request(signature), APP_SECRET)).toBe(false);
    expect(verifyMetaWebhook(request(signature), { appSecret: APP_SECRET })).toBe(false);
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['the prefix alone', 'sha256='],
    ['63 digits', `sha256=${hex.slice(0, 63)}`],
    ['another prefix', `sha1=${hex}`],
    ['a capitalised prefix', `SHA256=${hex}`],
    ['a space before the digits', `sha256= ${hex}`],
    ['base64 instead of hex', `sha256=${Buffer.from(hex, 'hex').toString('base64')}`],
  ])('refuses %s', (_, signature) => {
    expect(verifyMetaSignature(request(signature), APP_SECRET)).toBe(false);
  });

  it('refuses a well-formed signature made with another secret, and everything without a secret', () => {
    const other = createHmac('sha256', `${APP_SECRET}x`).update(body).digest('hex');
    expect(verifyMetaSignature(request(`sha256=${other}`), APP_SECRET)).toBe(false);
    expect(verifyMetaSignature(request(`sha256=${hex}`), undefined)).toBe(false);
    expect(verifyMetaSignature(request(`sha256=${hex}`), '')).toBe(false);
  });
});
