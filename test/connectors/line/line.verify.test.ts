import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { WebhookRequest } from '../../../connectors/connector.ts';
import { lineConnector } from '../../../connectors/line/index.ts';
import { LINE_TEST_CHANNEL_SECRET, lineSignatureHeaders } from '../../helpers/line-webhook.ts';

const FIXTURES = new URL('../../fixtures/line/', import.meta.url);
const CREDENTIALS = { channelSecret: LINE_TEST_CHANNEL_SECRET };

const request = (rawBody: Buffer, headers: Record<string, string | undefined>): WebhookRequest => ({
  method: 'POST',
  headers,
  query: {},
  rawBody,
});
const signed = (rawBody: Buffer, secret = LINE_TEST_CHANNEL_SECRET) => request(rawBody, lineSignatureHeaders(rawBody, secret));

describe('line verify', () => {
  const body = readFileSync(new URL('text.json', FIXTURES));

  it('accepts the HMAC of the raw body with the channel secret', () => {
    expect(lineConnector.verify(signed(body), CREDENTIALS)).toBe(true);
  });

  it('accepts the empty-events verification request when signed', () => {
    expect(lineConnector.verify(signed(readFileSync(new URL('verification.json', FIXTURES))), CREDENTIALS)).toBe(true);
  });

  it('uses the channel secret as text, not hex-decoded', () => {
    const hexDecodedKey = Buffer.from(LINE_TEST_CHANNEL_SECRET, 'hex');
    const wrong = createHmac('sha256', hexDecodedKey).update(body).digest('base64');
    expect(lineConnector.verify(request(body, { 'x-line-signature': wrong }), CREDENTIALS)).toBe(false);
  });

  it('refuses a signature made with another secret, or over other bytes', () => {
    expect(lineConnector.verify(signed(body, 'ffffffffffffffffffffffffffffffff'), CREDENTIALS)).toBe(false);
    const tampered = Buffer.from(body.toString('utf8').replace('A-1029', 'A-1030'));
    expect(lineConnector.verify(request(tampered, lineSignatureHeaders(body)), CREDENTIALS)).toBe(false);
  });

  it('fails for a body with \\uD83D escapes once parsed and re-serialized, and passes on the raw bytes', () => {
    // Prepare: LINE escapes non-ASCII as \uXXXX; JSON.stringify writes the characters themselves.
    const raw = readFileSync(new URL('text-escaped-unicode.json', FIXTURES));
    expect(raw.toString('utf8')).toContain('\\uD83E\\uDD28');
    const reserialized = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))), 'utf8');
    expect(reserialized.equals(raw)).toBe(false);

    // Act + Assess
    expect(lineConnector.verify(signed(raw), CREDENTIALS)).toBe(true);
    expect(lineConnector.verify(request(reserialized, lineSignatureHeaders(raw)), CREDENTIALS)).toBe(false);
  });

  it('refuses a missing, empty or malformed header without throwing', () => {
    const good = lineSignatureHeaders(body)['x-line-signature']!;
    for (const header of [
      undefined,
      '',
      'not base64 at all',
      good.slice(0, -1),
      `${good}A`,
      `${good.slice(0, -1)}==`,
      ` ${good}`,
      good.replace(/=$/, ''),
    ]) {
      expect(lineConnector.verify(request(body, { 'x-line-signature': header }), CREDENTIALS), String(header)).toBe(false);
    }
  });

  it('refuses everything when no secret is configured', () => {
    expect(lineConnector.verify(signed(body, ''), { channelSecret: '' })).toBe(false);
    expect(lineConnector.verify(signed(body), {})).toBe(false);
    expect(lineConnector.verify(signed(body), { channelAccessToken: 'token' })).toBe(false);
  });

  it('reads only the lower-cased header name the handler provides', () => {
    const header = lineSignatureHeaders(body)['x-line-signature'];
    expect(lineConnector.verify(request(body, { 'X-Line-Signature': header }), CREDENTIALS)).toBe(false);
  });
});
