import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { OutboundContent } from '../../../domain/content.ts';
import { PermanentProviderError } from '../../../domain/provider-errors.ts';
import type { SendContext, SendRequest } from '../../../connectors/connector.ts';
import { instagramConnector } from '../../../connectors/instagram/index.ts';
import { utf8Length } from '../../../connectors/text.ts';
import { startFakeGraph, type FakeGraph } from '../../helpers/messenger-fake-graph.ts';
import { INSTAGRAM_TEST_CREDENTIALS } from './instagram.kit.ts';
import { failureOf } from '../../helpers/provider-failure.ts';

const ACCOUNT = '17841400123456789';
const IGSID = '1234567890123456';
const sender = instagramConnector.sender;

let fake: FakeGraph;
beforeAll(async () => {
  fake = await startFakeGraph();
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => fake.reset());

const context = (overrides: Partial<SendContext> = {}): SendContext => ({
  credentials: INSTAGRAM_TEST_CREDENTIALS,
  apiBaseUrl: fake.baseUrl,
  fetch: globalThis.fetch,
  onPartSent: vi.fn(async (_id: string) => {}),
  ...overrides,
});

const request = (content: OutboundContent, extra: Partial<SendRequest> = {}): SendRequest => ({
  messageId: 'msg_mmpdc0a0mmpdc0a1_Zk3h2bTq9xWc1LpA',
  content,
  recipient: { accountId: ACCOUNT, conversation: { externalId: IGSID, kind: 'direct' } },
  sentParts: [],
  ...extra,
});

describe('instagram sender', () => {
  it('posts to /v23.0/<ig account id>/messages with the user token as Bearer, without Messenger-only fields', async () => {
    const result = await sender.send(request({ type: 'text', text: 'Pick a size', quickReplies: [{ text: 'S', payload: 'SIZE_S' }] }), context());
    expect(fake.calls).toEqual([
      {
        method: 'POST',
        path: `/v23.0/${ACCOUNT}/messages`,
        authorization: `Bearer ${INSTAGRAM_TEST_CREDENTIALS['accessToken']}`,
        contentType: 'application/json',
        body: {
          recipient: { id: IGSID },
          message: { text: 'Pick a size', quick_replies: [{ content_type: 'text', title: 'S', payload: 'SIZE_S' }] },
        },
      },
    ]);
    expect(result.externalIds).toEqual(['m_fake_1']);
  });

  it('splits text at 1000 UTF-8 bytes', async () => {
    const text = '배송은 이틀 걸립니다. '.repeat(80);
    await sender.send(request({ type: 'text', text }), context());
    const parts = fake.calls.map((call) => (call.body['message'] as { text: string }).text);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.every((part) => utf8Length(part) <= 1000)).toBe(true);
  });

  it('sends media by URL only', async () => {
    await sender.send(request({ type: 'image', media: { url: 'https://cdn.acme.example/p.jpg' } }), context());
    expect(fake.calls[0]?.body['message']).toEqual({ attachment: { type: 'image', payload: { url: 'https://cdn.acme.example/p.jpg' } } });
    await expect(sender.send(request({ type: 'image', media: { id: '123' } }), context())).rejects.toMatchObject({ kind: 'invalid_request' });
  });

  it('turns 10/2534022 (outside the window) into a permanent failure with the code', async () => {
    fake.answerNext({
      status: 400,
      body: { error: { message: 'This message is sent outside of allowed window.', type: 'OAuthException', code: 10, error_subcode: 2534022 } },
    });
    const error = await failureOf(sender.send(request({ type: 'text', text: 'Hello' }), context()));
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect(error).toMatchObject({ code: '10/2534022', recipientUnreachable: false });
  });

  it('uses /me/messages when no account id is configured', async () => {
    await sender.send(request({ type: 'text', text: 'Hi' }), context({ credentials: { accessToken: 'IGAAx' } }));
    expect(fake.calls[0]?.path).toBe('/v23.0/me/messages');
  });
});
