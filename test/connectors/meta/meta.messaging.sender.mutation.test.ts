/**
 * connectors/meta/meta.messaging.sender.ts at its edges, for Messenger and Instagram: the exact Send API
 * bodies at each limit (a payload of exactly the maximum bytes and one more), the content each platform
 * refuses and the failure the integrator reads then (kind and message), and stickers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { OutboundContent, QuickReply } from '../../../domain/content.ts';
import type { MessageTag } from '../../../domain/model.ts';
import type { SendContext, SendRequest } from '../../../connectors/connector.ts';
import { INSTAGRAM_SEND_PROFILE, instagramSender } from '../../../connectors/instagram/instagram.sender.ts';
import { planMetaSend } from '../../../connectors/meta/meta.messaging.sender.ts';
import { MESSENGER_SEND_PROFILE, messengerSender } from '../../../connectors/messenger/messenger.sender.ts';
import { failureOf } from '../../helpers/provider-failure.ts';
import { startFakeGraph, type FakeGraph } from '../../helpers/messenger-fake-graph.ts';

const PAGE = '106512345678901';
const PSID = '7123456789012345';
const MESSAGE_ID = 'msg_mmpdc0a0mmpdc0a1_Zk3h2bTq9xWc1LpA';

const request = (content: OutboundContent, messageTag?: MessageTag): SendRequest => ({
  messageId: MESSAGE_ID,
  content,
  recipient: { accountId: PAGE, conversation: { externalId: PSID, kind: 'direct' } },
  sentParts: [],
  ...(messageTag && { messageTag }),
});

/** The Messenger body of one message, as planned. */
const messenger = (message: Record<string, unknown>) => ({
  path: `${PAGE}/messages`,
  body: { recipient: { id: PSID }, messaging_type: 'RESPONSE', message: { ...message, metadata: MESSAGE_ID } },
});
const planMessenger = (content: OutboundContent) => planMetaSend(request(content), MESSENGER_SEND_PROFILE, PAGE);
const planInstagram = (content: OutboundContent, tag?: MessageTag) =>
  planMetaSend(request(content, tag), INSTAGRAM_SEND_PROFILE, undefined);

describe('Meta send plan: limits', () => {
  const bytes = (n: number) => 'é'.repeat(n / 2); // two UTF-8 bytes each

  it('offers quick replies whose payloads are exactly 1000 UTF-8 bytes, and writes them out when one is over', () => {
    const fits: QuickReply[] = [
      { text: 'Yes', payload: bytes(1000) },
      { text: 'No', payload: 'NO' },
    ];
    expect(planMessenger({ type: 'text', text: 'Confirm?', quickReplies: fits })).toEqual([
      messenger({
        text: 'Confirm?',
        quick_replies: [
          { content_type: 'text', title: 'Yes', payload: bytes(1000) },
          { content_type: 'text', title: 'No', payload: 'NO' },
        ],
      }),
    ]);
    const over: QuickReply[] = [{ text: 'Yes', payload: `${bytes(1000)}x` }, fits[1]!];
    expect(planMessenger({ type: 'text', text: 'Confirm?', quickReplies: over })).toEqual([
      messenger({ text: 'Confirm?\n\n1. Yes\n2. No' }),
    ]);
  });

  it('sends no quick_replies field for an empty list of quick replies', () => {
    expect(planMessenger({ type: 'text', text: 'Hi', quickReplies: [] })).toEqual([messenger({ text: 'Hi' })]);
  });

  it('keeps a postback payload of exactly 1000 UTF-8 bytes in a button template, and degrades one byte more', () => {
    const template = planMessenger({
      type: 'text',
      text: 'Call you?',
      buttons: [{ type: 'postback', text: 'Later', payload: bytes(1000) }],
    });
    expect(template).toEqual([
      messenger({
        attachment: {
          type: 'template',
          payload: { template_type: 'button', text: 'Call you?', buttons: [{ type: 'postback', title: 'Later', payload: bytes(1000) }] },
        },
      }),
    ]);
    const degraded = planMessenger({
      type: 'text',
      text: 'Call you?',
      buttons: [{ type: 'postback', text: 'Later', payload: `${bytes(1000)}x` }],
    });
    expect(degraded).toEqual([messenger({ text: 'Call you?\n\n1. Later' })]);
  });

  it('writes a location as its non-empty lines and a map link', () => {
    expect(
      planMessenger({ type: 'location', latitude: 37.5665, longitude: 126.978, name: '', address: 'Sejong-daero 110, Seoul' }),
    ).toEqual([messenger({ text: 'Sejong-daero 110, Seoul\nhttps://maps.google.com/?q=37.5665,126.978' })]);
  });
});

describe('Meta send plan: stickers and refusals', () => {
  it('sends a sticker with a URL as its image, without reusing it on Instagram', () => {
    const sticker: OutboundContent = { type: 'sticker', media: { id: '369239263222822', url: 'https://cdn.example/sticker.png' } };
    expect(planMessenger(sticker)).toEqual([
      messenger({ attachment: { type: 'image', payload: { url: 'https://cdn.example/sticker.png', is_reusable: true } } }),
    ]);
    expect(planInstagram(sticker)).toEqual([
      {
        path: 'me/messages',
        body: { recipient: { id: PSID }, message: { attachment: { type: 'image', payload: { url: 'https://cdn.example/sticker.png' } } } },
      },
    ]);
  });

  it('refuses, as an invalid request naming the platform, what it cannot send', () => {
    const cases: [() => unknown, string][] = [
      [() => planMessenger({ type: 'sticker', media: { id: '369239263222822' } }), 'Messenger send: a sticker needs a URL'],
      [() => planInstagram({ type: 'image', media: { id: '1234567890' } }), 'Instagram send: media needs a URL'],
      [() => planMessenger({ type: 'template', name: 'order_update', language: 'en_US' }), 'Messenger send: no provider templates'],
      [
        () => planInstagram({ type: 'text', text: 'Your order shipped' }, 'account_update'),
        'Instagram send: no message tag account_update',
      ],
    ];
    for (const [plan, message] of cases) {
      expect(plan).toThrow(expect.objectContaining({ kind: 'invalid_request', message }));
    }
  });

  it('sends Messenger media by saved attachment id when it has no URL', () => {
    expect(planMessenger({ type: 'image', media: { id: '1857777774821032' } })).toEqual([
      messenger({ attachment: { type: 'image', payload: { attachment_id: '1857777774821032' } } }),
    ]);
  });
});

describe('Meta sender: failures the integrator reads', () => {
  let fake: FakeGraph;
  beforeAll(async () => {
    fake = await startFakeGraph();
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(() => fake.reset());

  const context = (credentials: Record<string, string>) =>
    ({ credentials, apiBaseUrl: fake.baseUrl, fetch: globalThis.fetch, onPartSent: vi.fn(async () => {}) }) as SendContext & {
      onPartSent: ReturnType<typeof vi.fn>;
    };

  it('stops, permanently and saying why, when Graph accepts a message but names no message id', async () => {
    fake.answerNext({ status: 200, body: { recipient_id: PSID } });
    const ctx = context({ pageAccessToken: 'EAAtest', pageId: PAGE });
    const error = await failureOf(messengerSender.send(request({ type: 'text', text: 'Hi' }), ctx));
    expect(error).toMatchObject({ kind: 'permanent', message: 'Messenger send: accepted but answered no message_id' });
    expect(ctx.onPartSent).not.toHaveBeenCalled();
    expect(fake.calls).toHaveLength(1);
  });

  it('has no provider actions, and says which platform refused which', async () => {
    const ctx = context({ accessToken: 'IGQtest' });
    await expect(instagramSender.perform('typing_on', {}, ctx)).rejects.toMatchObject({
      kind: 'invalid_request',
      message: 'Instagram send: no provider action typing_on',
    });
    expect(fake.calls).toEqual([]);
  });
});
