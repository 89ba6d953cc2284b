import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Connector, WebhookRequest } from '../../../connectors/connector.ts';
import { instagramConnector } from '../../../connectors/instagram/index.ts';
import { messengerConnector } from '../../../connectors/messenger/index.ts';
import type { OutboundContent } from '../../../domain/content.ts';
import { INSTAGRAM_TEST_CREDENTIALS } from '../instagram/instagram.kit.ts';
import { MESSENGER_TEST_CREDENTIALS, signMeta } from './messenger.kit.ts';

const post = (rawBody: Buffer, headers: Record<string, string>): WebhookRequest => ({ method: 'POST', headers, query: {}, rawBody });
const lower = (headers: Record<string, string>) => Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
const BODY = Buffer.from('{"object":"page","entry":[]}', 'utf8');

describe('messenger and instagram connectors', () => {
  it('name the contract environment variables and credentials', () => {
    expect(messengerConnector.environment).toEqual({
      credentials: {
        appSecret: 'MESSENGER_APP_SECRET',
        verifyToken: 'MESSENGER_VERIFY_TOKEN',
        pageAccessToken: 'MESSENGER_PAGE_ACCESS_TOKEN',
        pageId: 'MESSENGER_PAGE_ID',
      },
      apiBaseUrl: 'MESSENGER_API_BASE_URL',
    });
    expect(instagramConnector.environment).toEqual({
      credentials: {
        appSecret: 'INSTAGRAM_APP_SECRET',
        verifyToken: 'INSTAGRAM_VERIFY_TOKEN',
        accessToken: 'INSTAGRAM_ACCESS_TOKEN',
        accountId: 'INSTAGRAM_ACCOUNT_ID',
      },
      apiBaseUrl: 'INSTAGRAM_API_BASE_URL',
    });
    expect(messengerConnector.defaultApiBaseUrl).toBe('https://graph.facebook.com');
    expect(instagramConnector.defaultApiBaseUrl).toBe('https://graph.instagram.com');
  });

  it('name the account by the Page id and the Instagram account id', () => {
    expect(messengerConnector.accountIdOf(MESSENGER_TEST_CREDENTIALS)).toBe('106512345678901');
    expect(instagramConnector.accountIdOf(INSTAGRAM_TEST_CREDENTIALS)).toBe('17841400123456789');
    expect(messengerConnector.accountIdOf({ appSecret: 'x' })).toBeUndefined();
    expect(instagramConnector.accountIdOf({ accountId: '' })).toBeUndefined();
  });

  it('make development credentials shaped like real ones, which verify and name their account', () => {
    const page = messengerConnector.devCredentials();
    const ig = instagramConnector.devCredentials();
    expect(page['appSecret']).toMatch(/^[0-9a-f]{32}$/);
    expect(page['pageId']).toMatch(/^\d{15}$/);
    expect(page['pageAccessToken']).toMatch(/^EAA[A-Za-z0-9]+$/);
    expect(ig['accountId']).toMatch(/^1784\d{13}$/);
    expect(ig['accessToken']).toMatch(/^IGAA[A-Za-z0-9]+$/);
    expect(messengerConnector.devCredentials()).not.toEqual(page);
    expect(messengerConnector.verify(post(BODY, lower(signMeta(BODY, page))), page)).toBe(true);
  });

  it('check Instagram bodies with the Instagram app secret, not the Meta app secret', () => {
    const signedByMetaApp = post(BODY, lower(signMeta(BODY, MESSENGER_TEST_CREDENTIALS)));
    expect(instagramConnector.verify(signedByMetaApp, INSTAGRAM_TEST_CREDENTIALS)).toBe(false);
    expect(instagramConnector.verify(post(BODY, lower(signMeta(BODY, INSTAGRAM_TEST_CREDENTIALS))), INSTAGRAM_TEST_CREDENTIALS)).toBe(true);
  });

  it('never accept the legacy sha1 signature, even when it is correct', () => {
    const sha1 = `sha1=${createHmac('sha1', MESSENGER_TEST_CREDENTIALS['appSecret']!).update(BODY).digest('hex')}`;
    expect(messengerConnector.verify(post(BODY, { 'x-hub-signature': sha1 }), MESSENGER_TEST_CREDENTIALS)).toBe(false);
  });

  it('answer the handshake only on GET with the right token, echoing the challenge as plain text', () => {
    const query = { 'hub.mode': 'subscribe', 'hub.verify_token': MESSENGER_TEST_CREDENTIALS['verifyToken'], 'hub.challenge': '1158201444' };
    const get = { method: 'GET', headers: {}, query, rawBody: Buffer.alloc(0) };
    expect(messengerConnector.handshake?.(get, MESSENGER_TEST_CREDENTIALS)).toEqual({
      statusCode: 200,
      contentType: 'text/plain; charset=utf-8',
      body: '1158201444',
    });
    expect(messengerConnector.handshake?.({ ...get, method: 'POST' }, MESSENGER_TEST_CREDENTIALS)).toBeUndefined();
    expect(
      messengerConnector.handshake?.({ ...get, query: { ...query, 'hub.mode': 'unsubscribe' } }, MESSENGER_TEST_CREDENTIALS)?.statusCode,
    ).toBe(403);
    expect(instagramConnector.handshake?.(get, INSTAGRAM_TEST_CREDENTIALS)?.statusCode).toBe(403);
  });

  it('parse: only a body that is not JSON is malformed; JSON of another shape is ignored', () => {
    expect(messengerConnector.parse(Buffer.from('{"object":'))).toEqual({ kind: 'malformed', reason: 'body is not JSON' });
    for (const body of [
      '[]',
      'null',
      '{"object":"page"}',
      '{"object":"page","entry":{}}',
      '{"object":"whatsapp_business_account","entry":[]}',
    ]) {
      expect(messengerConnector.parse(Buffer.from(body)), body).toMatchObject({ kind: 'ignored' });
    }
  });

  it.each([
    ['messenger', messengerConnector, MESSENGER_TEST_CREDENTIALS, '/v23.0/106512345678901/messages'],
    ['instagram', instagramConnector, INSTAGRAM_TEST_CREDENTIALS, '/v23.0/17841400123456789/messages'],
  ] as const)('%s has a sandbox that answers every message the sender makes', async (_, connector: Connector, credentials, path) => {
    // Prepare: a fetch that hands each request to the sandbox.
    const sandbox = connector.sandbox!;
    const paths: string[] = [];
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const url = new URL(String(input));
      paths.push(url.pathname);
      const answer = sandbox.handle({ method: init?.method ?? 'GET', path: url.pathname, body: Buffer.from(String(init?.body ?? '')) });
      return new Response(JSON.stringify(answer.body), { status: answer.statusCode });
    };
    const context = { credentials, apiBaseUrl: 'http://sandbox.local', fetch, onPartSent: async () => {} };
    const recipient = { accountId: 'acct', conversation: { externalId: '7123456789012345', kind: 'direct' as const } };
    const contents: OutboundContent[] = [
      { type: 'text', text: 'Hello', quickReplies: [{ text: 'Yes', payload: 'yes' }] },
      { type: 'image', media: { url: 'https://cdn.acme.example/a.jpg' }, caption: 'Photo' },
      { type: 'file', media: { url: 'https://cdn.acme.example/a.pdf' } },
      { type: 'audio', media: { url: 'https://cdn.acme.example/a.mp3' } },
      { type: 'video', media: { url: 'https://cdn.acme.example/a.mp4' } },
      { type: 'location', latitude: 37.5, longitude: 127 },
      {
        type: 'text',
        text: 'Order 42',
        buttons: [
          { type: 'postback', text: 'Track', payload: 'TRACK' },
          { type: 'url', text: 'Open', url: 'https://acme.example/o/42' },
        ],
      },
      {
        type: 'text',
        text: 'Pick',
        buttons: Array.from({ length: 4 }, (_, i) => ({ type: 'postback' as const, text: `Option ${i + 1}`, payload: `opt:${i + 1}` })),
      },
      {
        type: 'list',
        text: 'Size?',
        sections: [{ title: 'Jackets', items: [{ title: 'Medium', description: 'Chest 96-101 cm', payload: 'size_m' }] }],
      },
    ];
    // Act + Assess
    for (const content of contents) {
      const result = await connector.sender.send({ content, recipient, sentParts: [] }, context);
      expect(result.externalIds.length, content.type).toBeGreaterThan(0);
    }
    const tagged = await connector.sender.send(
      { content: { type: 'text', text: 'Still there?' }, recipient, sentParts: [], messageTag: 'human_agent' },
      context,
    );
    expect(tagged.externalIds).toHaveLength(1);
    expect(new Set(paths)).toEqual(new Set([path]));
    expect(sandbox.handle({ method: 'POST', path, body: Buffer.from('{"message":{"text":"x"}}') }).statusCode).toBe(400);
  });

  it('has a sandbox that refuses a tagless MESSAGE_TAG and a button template Graph would refuse', () => {
    const sandbox = messengerConnector.sandbox!;
    const path = '/v23.0/106512345678901/messages';
    const send = (body: object) =>
      sandbox.handle({ method: 'POST', path, body: Buffer.from(JSON.stringify({ recipient: { id: '7123456789012345' }, ...body })) });
    const template = (payload: object) => ({
      message: { attachment: { type: 'template', payload: { template_type: 'button', ...payload } } },
    });
    const button = { type: 'postback', title: 'Yes', payload: 'yes' };
    expect(send({ messaging_type: 'MESSAGE_TAG', message: { text: 'x' } })).toMatchObject({
      statusCode: 400,
      body: { error: { code: 100 } },
    });
    expect(send({ messaging_type: 'MESSAGE_TAG', tag: 'HUMAN_AGENT', message: { text: 'x' } }).statusCode).toBe(200);
    expect(send(template({ text: 'Q', buttons: [button, button, button, button] })).statusCode).toBe(400);
    expect(send(template({ buttons: [button] })).statusCode).toBe(400);
    expect(send(template({ text: 'Q', buttons: [button] }))).toMatchObject({
      statusCode: 200,
      summary: expect.stringContaining('button template'),
    });
  });
});
