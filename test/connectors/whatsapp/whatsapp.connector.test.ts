import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { WebhookRequest } from '../../../connectors/connector.ts';
import { whatsappConnector } from '../../../connectors/whatsapp/index.ts';
import { WHATSAPP_CAPABILITIES } from '../../../connectors/whatsapp/whatsapp.capabilities.ts';
import { whatsappDemo } from '../../../connectors/whatsapp/whatsapp.demo.ts';
import { whatsappWebhookViolations } from '../../helpers/whatsapp-spec.ts';
import { kit, PHONE_NUMBER_ID, signWhatsApp } from './whatsapp.kit.ts';

const { credentials } = kit;
const APP_SECRET = credentials['appSecret']!;
const VERIFY_TOKEN = credentials['verifyToken']!;

const post = (rawBody: Buffer, headers: Record<string, string> = {}): WebhookRequest => ({ method: 'POST', headers, query: {}, rawBody });
const get = (query: Record<string, string>): WebhookRequest => ({ method: 'GET', headers: {}, query, rawBody: Buffer.alloc(0) });
const lower = (headers: Record<string, string>) => Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));

describe('whatsapp connector', () => {
  it('declares its channel, API origin, credential names and environment of the contract', () => {
    expect(whatsappConnector.channel).toBe('whatsapp');
    expect(whatsappConnector.defaultApiBaseUrl).toBe('https://graph.facebook.com');
    // `businessAccountId`, kept with an account's credentials, lets Parley read its message templates.
    expect(whatsappConnector.credentialNames).toEqual({
      inbound: ['appSecret', 'verifyToken'],
      outbound: ['accessToken', 'phoneNumberId'],
      optional: ['businessAccountId'],
    });
    expect(whatsappConnector.environment).toEqual({
      credentials: {
        appSecret: 'WHATSAPP_APP_SECRET',
        verifyToken: 'WHATSAPP_VERIFY_TOKEN',
        accessToken: 'WHATSAPP_ACCESS_TOKEN',
        phoneNumberId: 'WHATSAPP_PHONE_NUMBER_ID',
      },
      apiBaseUrl: 'WHATSAPP_API_BASE_URL',
    });
  });

  it('names the account by its phone number id', () => {
    expect(whatsappConnector.accountIdOf(credentials)).toBe(PHONE_NUMBER_ID);
    expect(whatsappConnector.accountIdOf({ appSecret: 's' })).toBeUndefined();
    expect(whatsappConnector.accountIdOf({ phoneNumberId: '' })).toBeUndefined();
  });

  it('declares the 24-hour window and the interactive limits', () => {
    expect(WHATSAPP_CAPABILITIES).toMatchObject({
      messagingWindowHours: 24,
      maxTextLength: 4096,
      maxCaptionLength: 1024,
      quickReplies: { max: 10 },
    });
    expect(whatsappConnector.sender.capabilities).toBe(WHATSAPP_CAPABILITIES);
  });

  it('makes fresh development credentials shaped like real ones, that sign and verify', () => {
    const first = whatsappConnector.devCredentials();
    const second = whatsappConnector.devCredentials();
    expect(first['appSecret']).toMatch(/^[0-9a-f]{32}$/);
    expect(first['accessToken']).toMatch(/^EAA[A-Za-z0-9]{70,}$/);
    expect(first['phoneNumberId']).toMatch(/^\d{15}$/);
    expect(first['verifyToken']).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(second).not.toEqual(first);
    expect(whatsappConnector.accountIdOf(first)).toBe(first['phoneNumberId']);
    const body = Buffer.from('{"object":"whatsapp_business_account","entry":[]}');
    expect(whatsappConnector.verify(post(body, lower(signWhatsApp(body, first['appSecret']!))), first)).toBe(true);
  });
});

describe('whatsapp handshake', () => {
  const handshake = (query: Record<string, string>, creds = credentials) => whatsappConnector.handshake!(get(query), creds);

  it('echoes hub.challenge as plain text when the verify token matches', () => {
    expect(handshake({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1158201444' })).toEqual({
      statusCode: 200,
      contentType: 'text/plain; charset=utf-8',
      body: '1158201444',
    });
  });

  it('answers 403 to a wrong token, another mode, or when no token is configured', () => {
    expect(handshake({ 'hub.mode': 'subscribe', 'hub.verify_token': 'guess', 'hub.challenge': '1' })?.statusCode).toBe(403);
    expect(handshake({ 'hub.mode': 'unsubscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1' })?.statusCode).toBe(403);
    expect(
      handshake({ 'hub.mode': 'subscribe', 'hub.verify_token': '', 'hub.challenge': '1' }, { appSecret: APP_SECRET, verifyToken: '' })
        ?.statusCode,
    ).toBe(403);
  });

  it('treats only a GET with hub parameters as a handshake', () => {
    expect(handshake({})).toBeUndefined();
    const postWithQuery: WebhookRequest = {
      ...post(Buffer.from('{}')),
      query: { 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1' },
    };
    expect(whatsappConnector.handshake!(postWithQuery, credentials)).toBeUndefined();
  });
});

describe('whatsapp signature', () => {
  const body = readFileSync(new URL('../../fixtures/whatsapp/text-escaped-unicode.json', import.meta.url));
  const sha1 = `sha1=${createHmac('sha1', APP_SECRET).update(body).digest('hex')}`;

  it('verifies X-Hub-Signature-256 over the raw bytes with the app secret', () => {
    expect(whatsappConnector.verify(post(body, lower(signWhatsApp(body, APP_SECRET))), credentials)).toBe(true);
  });

  it('never falls back to the legacy SHA-1 header, and refuses a missing or malformed one', () => {
    expect(whatsappConnector.verify(post(body, { 'x-hub-signature': sha1 }), credentials)).toBe(false);
    expect(whatsappConnector.verify(post(body), credentials)).toBe(false);
    expect(whatsappConnector.verify(post(body, { 'x-hub-signature-256': 'sha256=' }), credentials)).toBe(false);
    expect(
      whatsappConnector.verify(
        post(body, { 'x-hub-signature-256': createHmac('sha256', APP_SECRET).update(body).digest('hex') }),
        credentials,
      ),
    ).toBe(false);
  });

  it('refuses the same message once parsed and re-serialized: Meta signs the escaped bytes', () => {
    const sent = Buffer.from(
      JSON.stringify(JSON.parse(body.toString('utf8')))
        .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
        .replace(/\//g, '\\/'),
    );
    const headers = lower(signWhatsApp(sent, APP_SECRET));
    const reserialized = Buffer.from(JSON.stringify(JSON.parse(sent.toString('utf8'))), 'utf8');

    expect(sent.toString('utf8')).toContain('Jos\\u00e9');
    expect(sent.toString('utf8')).toContain('\\ud83d\\udce6');
    expect(whatsappConnector.verify(post(sent, headers), credentials)).toBe(true);
    expect(whatsappConnector.verify(post(reserialized, headers), credentials)).toBe(false);
  });

  it('refuses a signature made with the Instagram or another app secret', () => {
    expect(whatsappConnector.verify(post(body, lower(signWhatsApp(body, 'another-app-secret'))), credentials)).toBe(false);
  });
});

describe('whatsapp demo', () => {
  it('plays signed webhooks that verify and normalize to the customer, then statuses and a button tap', () => {
    const creds = whatsappConnector.devCredentials();
    const context = { accountId: creds['phoneNumberId']!, receivedAt: '2026-03-14T01:00:00.000Z' };
    const play = (requests: { headers: Record<string, string>; body: string }[]) =>
      requests.flatMap(({ headers, body }) => {
        const rawBody = Buffer.from(body, 'utf8');
        expect(body).toMatch(/\\u00e1/);
        expect(whatsappConnector.verify(post(rawBody, headers), creds)).toBe(true);
        expect(whatsappWebhookViolations(JSON.parse(body))).toBe('');
        const parsed = whatsappConnector.parse(rawBody);
        if (parsed.kind !== 'ok') throw new Error(parsed.reason);
        return whatsappConnector.normalize(parsed.payload, context).events;
      });

    const opening = play(whatsappDemo.opening(creds, 7));
    expect(opening.map((e) => e.type === 'message.received' && [e.sender.externalUserId, e.content.type])).toEqual([
      [whatsappDemo.customer.externalUserId, 'text'],
      [whatsappDemo.customer.externalUserId, 'image'],
    ]);
    const reply = {
      externalId: 'wamid.REPLY1',
      content: { type: 'text' as const, text: 'Resend or refund?', quickReplies: [{ text: 'Resend', payload: 'resend' }] },
    };
    const after = whatsappDemo.afterReply(creds, 7, reply as unknown as Parameters<typeof whatsappDemo.afterReply>[2]);
    const events = after.flatMap(({ headers, body }) => {
      const rawBody = Buffer.from(body, 'utf8');
      expect(whatsappConnector.verify(post(rawBody, headers), creds)).toBe(true);
      const parsed = whatsappConnector.parse(rawBody);
      return parsed.kind === 'ok' ? whatsappConnector.normalize(parsed.payload, context).events : [];
    });
    expect(events.map((e) => (e.type === 'message.status' ? e.status : e.type === 'message.received' ? e.content.type : e.type))).toEqual([
      'sent',
      'delivered',
      'read',
      'reply',
    ]);
  });
});
