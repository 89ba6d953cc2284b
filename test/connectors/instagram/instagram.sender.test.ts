import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Button, OutboundContent } from '../../../domain/content.ts';
import { InvalidRequestError, PermanentProviderError } from '../../../domain/provider-errors.ts';
import type { SendContext, SendRequest } from '../../../connectors/connector.ts';
import { instagramConnector } from '../../../connectors/instagram/index.ts';
import { INSTAGRAM_SEND_PROFILE } from '../../../connectors/instagram/instagram.sender.ts';
import { planMetaSend } from '../../../connectors/meta/meta.messaging.sender.ts';
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
    const result = await sender.send(
      request({ type: 'text', text: 'Pick a size', quickReplies: [{ text: 'S', payload: 'SIZE_S' }] }),
      context(),
    );
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
    await expect(sender.send(request({ type: 'image', media: { id: '123' } }), context())).rejects.toMatchObject({
      kind: 'invalid_request',
    });
  });

  it('turns 10/2534022 (outside the window) into a permanent failure with the code', async () => {
    fake.answerNext({
      status: 400,
      body: {
        error: { message: 'This message is sent outside of allowed window.', type: 'OAuthException', code: 10, error_subcode: 2534022 },
      },
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

describe('instagram sender: buttons, lists and tags', () => {
  const buttons: Button[] = [
    { type: 'url', text: 'Visit our website', url: 'https://acme.example' },
    { type: 'postback', text: 'Talk to a person', payload: 'HUMAN' },
  ];

  it('sends up to 3 fitting buttons as a button template, without Messenger-only fields', async () => {
    await sender.send(request({ type: 'text', text: 'What can we do to help?', buttons }), context());
    expect(fake.calls.map((call) => call.body)).toEqual([
      {
        recipient: { id: IGSID },
        message: {
          attachment: {
            type: 'template',
            payload: {
              template_type: 'button',
              text: 'What can we do to help?',
              buttons: [
                { type: 'web_url', url: 'https://acme.example', title: 'Visit our website' },
                { type: 'postback', title: 'Talk to a person', payload: 'HUMAN' },
              ],
            },
          },
        },
      },
    ]);
  });

  it('counts the template text (640) in UTF-8 bytes, sending the rest first as text', async () => {
    // 250 Korean characters are 750 bytes: too long for the template, though under 640 characters.
    const text = `${'배'.repeat(150)} ${'송'.repeat(100)}`;
    await sender.send(request({ type: 'text', text, buttons }), context());
    const [first, template] = fake.calls.map((call) => call.body['message'] as Record<string, unknown>);
    expect(first).toEqual({ text: '배'.repeat(150) });
    expect(template).toMatchObject({ attachment: { payload: { text: '송'.repeat(100) } } });
  });

  it('degrades 4 buttons to quick replies with the link written out, and numbers a described list', async () => {
    await sender.send(
      request({
        type: 'text',
        text: 'Hi',
        buttons: [
          ...buttons,
          { type: 'postback', text: 'Hours', payload: 'HOURS' },
          { type: 'postback', text: 'Stores', payload: 'STORES' },
        ],
      }),
      context(),
    );
    await sender.send(
      request({ type: 'list', text: 'Size?', sections: [{ items: [{ title: 'S', description: 'Chest 86-91 cm', payload: 'SIZE_S' }] }] }),
      context(),
    );
    expect(fake.calls.map((call) => call.body['message'])).toEqual([
      {
        text: 'Hi\n\nVisit our website: https://acme.example',
        quick_replies: [
          { content_type: 'text', title: 'Talk to a person', payload: 'HUMAN' },
          { content_type: 'text', title: 'Hours', payload: 'HOURS' },
          { content_type: 'text', title: 'Stores', payload: 'STORES' },
        ],
      },
      // Described: the numbered text says it all, and a quick reply per number still carries the payload.
      { text: 'Size?\n\n1. S – Chest 86-91 cm', quick_replies: [{ content_type: 'text', title: '1. S', payload: 'SIZE_S' }] },
    ]);
  });

  it('sends with the human_agent tag as MESSAGE_TAG HUMAN_AGENT, and refuses the tags Instagram does not have', async () => {
    await sender.send(request({ type: 'text', text: 'Sorry for the wait' }, { messageTag: 'human_agent' }), context());
    expect(fake.calls[0]?.body).toEqual({
      recipient: { id: IGSID },
      messaging_type: 'MESSAGE_TAG',
      tag: 'HUMAN_AGENT',
      message: { text: 'Sorry for the wait' },
    });
    fake.reset();
    const refused = await failureOf(
      sender.send(request({ type: 'text', text: 'Your account' }, { messageTag: 'account_update' }), context()),
    );
    expect(refused).toBeInstanceOf(InvalidRequestError);
    expect(fake.calls).toHaveLength(0);
  });

  it('a postback button comes back as reply content with its payload', () => {
    const [call] = planMetaSend(request({ type: 'text', text: 'Help?', buttons }), INSTAGRAM_SEND_PROFILE, ACCOUNT);
    const button = (call?.body['message'] as { attachment: { payload: { buttons: { title: string; payload?: string }[] } } }).attachment
      .payload.buttons[1]!;
    // The recorded postback fixture, carrying the rendered button.
    const body = JSON.parse(readFileSync(new URL('../../fixtures/instagram/postback.json', import.meta.url), 'utf8')) as {
      entry: { messaging: Record<string, unknown>[] }[];
    };
    body.entry[0]!.messaging[0]!['postback'] = { mid: 'aWdf_tap', ...button };
    const parsed = instagramConnector.parse(Buffer.from(JSON.stringify(body)));
    if (parsed.kind !== 'ok') throw new Error(parsed.reason);
    const [event] = instagramConnector.normalize(parsed.payload, { accountId: ACCOUNT, receivedAt: '2026-03-14T01:00:00.000Z' }).events;
    expect(event).toMatchObject({ type: 'message.received', content: { type: 'reply', text: 'Talk to a person', payload: 'HUMAN' } });
  });
});
