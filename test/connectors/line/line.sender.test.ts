import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Button, OutboundContent, QuickReply } from '../../../domain/content.ts';
import {
  AuthenticationError,
  InvalidRequestError,
  PermanentProviderError,
  RateLimitedError,
  RetryableProviderError,
} from '../../../domain/provider-errors.ts';
import { quickRepliesAsText, type Recipient, type SendContext, type SendRequest } from '../../../connectors/connector.ts';
import type { ReplyHandle } from '../../../domain/events.ts';
import { lineConnector } from '../../../connectors/line/index.ts';
import { downloadLineContent, LINE_RATE_LIMIT_WAIT_SECONDS, lineRetryKey } from '../../../connectors/line/line.api.ts';
import { planLineMessages } from '../../../connectors/line/line.sender.ts';
import { startFakeLine, type FakeLine } from '../../helpers/fake-line.ts';
import { assertLineRequest, lineWebhookViolations } from '../../helpers/line-spec.ts';
import { failureOf } from '../../helpers/provider-failure.ts';

const TOKEN = 'test/LINE+channel-access-token=';
const USER = 'U1a2b3c4d5e6f708192a3b4c5d6e7f801';
const GROUP = 'Ca1b2c3d4e5f60718293a4b5c6d7e8f90';
const MESSAGE_ID = 'msg_3bN7xQ2vK9pLm4Rt8YwZ1a';
const sender = lineConnector.sender;

let fake: FakeLine;
beforeAll(async () => {
  fake = await startFakeLine();
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  const calls = [...fake.calls];
  fake.reset();
  // Every request the sender made in these tests must be one LINE's OpenAPI document allows.
  for (const call of calls) {
    assertLineRequest(
      call.path.endsWith('/push') ? 'push' : 'reply',
      call.body,
      call.retryKey === undefined ? {} : { 'x-line-retry-key': call.retryKey },
    );
  }
});

const context = (overrides: Partial<SendContext> = {}): SendContext & { onPartSent: ReturnType<typeof vi.fn> } =>
  ({
    credentials: { channelAccessToken: TOKEN },
    apiBaseUrl: fake.baseUrl,
    fetch: globalThis.fetch,
    onPartSent: vi.fn(async (_id: string) => {}),
    ...overrides,
  }) as SendContext & { onPartSent: ReturnType<typeof vi.fn> };

const RECIPIENT: Recipient = { accountId: 'U4af4980629c0a3b6b4f3c4d5e6f7a8b9', conversation: { externalId: USER, kind: 'direct' } };

const sendRequest = (content: OutboundContent, extra: Partial<SendRequest> & { replyHandle?: ReplyHandle } = {}): SendRequest => {
  const { replyHandle, ...rest } = extra;
  return {
    messageId: MESSAGE_ID,
    content,
    recipient: replyHandle ? { ...RECIPIENT, replyHandle } : RECIPIENT,
    sentParts: [],
    ...rest,
  };
};

const shipping: QuickReply[] = [
  { text: 'Standard', payload: 'ship:std:A-1029' },
  { text: 'Express delivery by tomorrow 🚀', payload: 'ship:exp:A-1029' },
];
const messagesOf = (index: number) => fake.calls[index]?.body['messages'] as Record<string, unknown>[];

describe('line sender: push', () => {
  it('pushes a text with quick replies as postback actions, with a bearer token and a deterministic retry key', async () => {
    const ctx = context();
    const result = await sender.send(sendRequest({ type: 'text', text: 'Choose shipping', quickReplies: shipping }), ctx);

    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]).toEqual({
      path: '/v2/bot/message/push',
      authorization: `Bearer ${TOKEN}`,
      contentType: 'application/json',
      retryKey: lineRetryKey(MESSAGE_ID, 0),
      body: {
        to: USER,
        messages: [
          {
            type: 'text',
            text: 'Choose shipping',
            quickReply: {
              items: [
                { type: 'action', action: { type: 'postback', label: 'Standard', data: 'ship:std:A-1029', displayText: 'Standard' } },
                // Labels are at most 20 characters; the chat shows the full text.
                {
                  type: 'action',
                  action: {
                    type: 'postback',
                    label: 'Express delivery by…',
                    data: 'ship:exp:A-1029',
                    displayText: 'Express delivery by tomorrow 🚀',
                  },
                },
              ],
            },
          },
        ],
      },
    });
    expect(result.externalIds).toEqual(['700000000000000001']);
    expect(ctx.onPartSent).toHaveBeenCalledExactlyOnceWith('700000000000000001', false);
  });

  it('derives retry keys as UUIDs, stable per message and part, different otherwise', () => {
    const key = lineRetryKey(MESSAGE_ID, 0);
    expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(lineRetryKey(MESSAGE_ID, 0)).toBe(key);
    expect(lineRetryKey(MESSAGE_ID, 5)).not.toBe(key);
    expect(lineRetryKey('msg_other', 0)).not.toBe(key);
  });

  it('treats a 409 for an accepted retry key as success, with the ids of the accepted push', async () => {
    // Prepare: the first push went through, but its answer was lost; the worker retries the message.
    const first = await sender.send(sendRequest({ type: 'text', text: 'Your parcel left the depot' }), context());

    // Act
    const ctx = context();
    const again = await sender.send(sendRequest({ type: 'text', text: 'Your parcel left the depot' }), ctx);

    // Assess: one key, two requests, one delivery, the same ids.
    expect(fake.calls.map((c) => c.retryKey)).toEqual([lineRetryKey(MESSAGE_ID, 0), lineRetryKey(MESSAGE_ID, 0)]);
    expect(again.externalIds).toEqual(first.externalIds);
    expect(ctx.onPartSent).toHaveBeenCalledExactlyOnceWith(first.externalIds[0], false);
  });

  it('sends no retry key when the message has no id, rather than a random one', async () => {
    const { messageId: _, ...request } = sendRequest({ type: 'text', text: 'Hi' });
    await sender.send(request, context());
    expect(fake.calls[0]?.retryKey).toBeUndefined();
  });

  it('pushes to a group by its id', async () => {
    const request = sendRequest({ type: 'text', text: 'Hello all' });
    await sender.send({ ...request, recipient: { ...request.recipient, conversation: { externalId: GROUP, kind: 'group' } } }, context());
    expect(fake.calls[0]?.body['to']).toBe(GROUP);
  });

  it('splits a long text at 5,000 code units, never inside a surrogate pair, quick replies on the last part', async () => {
    const text = `${'a'.repeat(4999)}😀${'b'.repeat(10)}`;
    const result = await sender.send(sendRequest({ type: 'text', text, quickReplies: shipping }), context());

    const messages = messagesOf(0);
    expect(fake.calls).toHaveLength(1);
    expect(messages.map((m) => m['text'])).toEqual(['a'.repeat(4999), `😀${'b'.repeat(10)}`]);
    expect(messages[0]).not.toHaveProperty('quickReply');
    expect(messages[1]).toHaveProperty('quickReply');
    expect(result.externalIds).toHaveLength(2);
  });

  it('sends at most five message objects per push, each push with its own retry key', async () => {
    const text = Array.from({ length: 6 }, (_, i) => String(i).repeat(4990)).join('\n');
    const plan = planLineMessages(sendRequest({ type: 'text', text }));
    expect(plan).toHaveLength(6);

    const ctx = context();
    const result = await sender.send(sendRequest({ type: 'text', text }), ctx);

    expect(fake.calls.map((c) => (c.body['messages'] as unknown[]).length)).toEqual([5, 1]);
    expect(fake.calls.map((c) => c.retryKey)).toEqual([lineRetryKey(MESSAGE_ID, 0), lineRetryKey(MESSAGE_ID, 5)]);
    expect(result.externalIds).toHaveLength(6);
    expect(ctx.onPartSent).toHaveBeenCalledTimes(6);
  });

  it('resumes after the parts an earlier attempt already sent', async () => {
    const text = Array.from({ length: 6 }, (_, i) => String(i).repeat(4990)).join('\n');
    const sentParts = ['1', '2', '3', '4', '5'].map((n) => `60000000000000000${n}`);
    const result = await sender.send(sendRequest({ type: 'text', text }, { sentParts }), context());

    expect(fake.calls).toHaveLength(1);
    expect(messagesOf(0).map((m) => m['text'])).toEqual(['5'.repeat(4990)]);
    expect(fake.calls[0]?.retryKey).toBe(lineRetryKey(MESSAGE_ID, 5));
    expect(result.externalIds).toEqual([...sentParts, '700000000000000001']);
  });

  it('writes quick replies into the text when LINE cannot carry them', async () => {
    const many = Array.from({ length: 14 }, (_, i) => ({ text: `Option ${i + 1}`, payload: `opt:${i + 1}` }));
    const longData = [{ text: 'Yes', payload: 'x'.repeat(301) }];
    await sender.send(sendRequest({ type: 'text', text: 'Pick one', quickReplies: many }), context());
    await sender.send(sendRequest({ type: 'text', text: 'Sure?', quickReplies: longData }, { messageId: 'msg_2' }), context());

    expect(messagesOf(0)).toEqual([{ type: 'text', text: quickRepliesAsText('Pick one', many) }]);
    expect(messagesOf(1)).toEqual([{ type: 'text', text: quickRepliesAsText('Sure?', longData) }]);
  });

  it('keeps 13 quick replies and 300-character data as LINE allows', async () => {
    const thirteen = Array.from({ length: 13 }, (_, i) => ({ text: `Option ${i + 1}`, payload: `${i}`.padEnd(300, 'x') }));
    await sender.send(sendRequest({ type: 'text', text: 'Pick one', quickReplies: thirteen }), context());
    expect((messagesOf(0)[0]?.['quickReply'] as { items: unknown[] }).items).toHaveLength(13);
  });
});

describe('line sender: buttons and lists', () => {
  const track = { type: 'url', text: 'Track parcel', url: 'https://acme.example/t/A-1029' } as const;
  const buttons: Button[] = [
    { type: 'postback', text: 'Reschedule', payload: 'resched:A-1029' },
    { type: 'postback', text: 'Leave at the door', payload: 'door:A-1029' },
    track,
  ];

  it('pushes buttons that fit as a buttons template: postbacks with displayText, links as uri actions', async () => {
    const result = await sender.send(sendRequest({ type: 'text', text: 'Your parcel arrives tomorrow.', buttons }), context());

    expect(messagesOf(0)).toEqual([
      {
        type: 'template',
        altText: 'Your parcel arrives tomorrow.\n\nTrack parcel: https://acme.example/t/A-1029\n\n1. Reschedule\n2. Leave at the door',
        template: {
          type: 'buttons',
          text: 'Your parcel arrives tomorrow.',
          actions: [
            { type: 'postback', label: 'Reschedule', data: 'resched:A-1029', displayText: 'Reschedule' },
            { type: 'postback', label: 'Leave at the door', data: 'door:A-1029', displayText: 'Leave at the door' },
            { type: 'uri', label: 'Track parcel', uri: 'https://acme.example/t/A-1029' },
          ],
        },
      },
    ]);
    expect(result.externalIds).toEqual(['700000000000000001']);
  });

  it('sends the start of a text over 160 characters first, the template carrying its end', async () => {
    const first =
      'We could not deliver your parcel A-1029 today because nobody was at home and the building has no safe place to leave it.';
    const text = `${first} The driver tries again tomorrow between 9:00 and 12:00. What would you like us to do?`;
    await sender.send(sendRequest({ type: 'text', text, buttons }), context());

    const [head, template] = messagesOf(0) as [Record<string, unknown>, { altText: string; template: { text: string } }];
    expect(head).toEqual({ type: 'text', text: first });
    expect(template.template.text).toBe('The driver tries again tomorrow between 9:00 and 12:00. What would you like us to do?');
    expect(template.altText.startsWith(template.template.text)).toBe(true);
  });

  it('cuts altText at 400 characters; the template text stays whole', async () => {
    const long: Button[] = [
      { type: 'postback', text: 'Yes', payload: 'yes' },
      { type: 'url', text: 'Terms', url: `https://acme.example/${'t'.repeat(300)}` },
    ];
    await sender.send(sendRequest({ type: 'text', text: 'y'.repeat(160), buttons: long }), context());
    const [template] = messagesOf(0) as [{ altText: string; template: { text: string } }];
    expect(template.altText).toHaveLength(400);
    expect(template.altText.endsWith('…')).toBe(true);
    expect(template.template.text).toBe('y'.repeat(160));
  });

  it('keeps the template last across pushes of five, and resumes by counting the parts sent', async () => {
    const text = `${Array.from({ length: 5 }, (_, i) => String(i).repeat(4990)).join('\n')}\nPick one`;
    const plan = planLineMessages(sendRequest({ type: 'text', text, buttons }));
    expect(plan.map((object) => object['type'])).toEqual(['text', 'text', 'text', 'text', 'text', 'template']);

    const sentParts = ['1', '2', '3', '4', '5'].map((n) => `60000000000000000${n}`);
    const result = await sender.send(sendRequest({ type: 'text', text, buttons }, { sentParts }), context());

    expect(fake.calls).toHaveLength(1);
    expect(messagesOf(0)).toEqual([plan[5]]);
    expect(fake.calls[0]?.retryKey).toBe(lineRetryKey(MESSAGE_ID, 5));
    expect(result.externalIds).toHaveLength(6);
  });

  it('answers with the template through the reply token when it is fresh', async () => {
    const fresh: ReplyHandle = { value: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', expiresAt: new Date(Date.now() + 45_000).toISOString() };
    await sender.send(sendRequest({ type: 'text', text: 'Pick one', buttons }, { replyHandle: fresh }), context());
    expect(fake.calls.map((c) => c.path)).toEqual(['/v2/bot/message/reply']);
    expect(messagesOf(0)[0]).toMatchObject({ type: 'template', template: { type: 'buttons' } });
  });

  it('turns more than four buttons into quick replies, the links written out in the text', async () => {
    const five: Button[] = [
      ...Array.from({ length: 4 }, (_, i) => ({ type: 'postback', text: `Slot ${i + 1}`, payload: `slot:${i + 1}` }) as const),
      track,
    ];
    await sender.send(sendRequest({ type: 'text', text: 'Pick a slot', buttons: five }), context());
    expect(messagesOf(0)).toEqual([
      {
        type: 'text',
        text: 'Pick a slot\n\nTrack parcel: https://acme.example/t/A-1029',
        quickReply: {
          items: [1, 2, 3, 4].map((n) => ({
            type: 'action',
            action: { type: 'postback', label: `Slot ${n}`, data: `slot:${n}`, displayText: `Slot ${n}` },
          })),
        },
      },
    ]);
  });

  it('degrades a label over 20 characters, and writes out postbacks whose data LINE cannot carry', async () => {
    const longLabel: Button[] = [{ type: 'postback', text: 'Leave it with a neighbour', payload: 'neighbour' }];
    const longData: Button[] = [{ type: 'postback', text: 'Yes', payload: 'x'.repeat(301) }, track];
    await sender.send(sendRequest({ type: 'text', text: 'Sure?', buttons: longLabel }), context());
    await sender.send(sendRequest({ type: 'text', text: 'Sure?', buttons: longData }, { messageId: 'msg_2' }), context());

    expect(messagesOf(0)).toEqual([
      {
        type: 'text',
        text: 'Sure?',
        quickReply: {
          items: [
            {
              type: 'action',
              action: { type: 'postback', label: 'Leave it with a nei…', data: 'neighbour', displayText: 'Leave it with a neighbour' },
            },
          ],
        },
      },
    ]);
    expect(messagesOf(1)).toEqual([{ type: 'text', text: 'Sure?\n\nTrack parcel: https://acme.example/t/A-1029\n\n1. Yes' }]);
  });

  it('writes links out when they are the only buttons that do not fit', async () => {
    const links: Button[] = Array.from({ length: 5 }, (_, i) => ({ type: 'url', text: `Page ${i}`, url: `https://acme.example/${i}` }));
    await sender.send(sendRequest({ type: 'text', text: 'Read more', buttons: links }), context());
    expect(messagesOf(0)).toEqual([
      { type: 'text', text: `Read more\n\n${links.map((_l, i) => `Page ${i}: https://acme.example/${i}`).join('\n')}` },
    ]);
  });

  it('offers a list whose items are titles only as quick replies', async () => {
    const list: OutboundContent = {
      type: 'list',
      text: 'Which branch?',
      buttonText: 'Branches',
      sections: [
        {
          items: [
            { title: 'Shibuya', payload: 'branch:shibuya' },
            { title: 'Shinjuku', payload: 'branch:shinjuku' },
          ],
        },
      ],
    };
    await sender.send(sendRequest(list), context());
    expect(messagesOf(0)).toEqual([
      {
        type: 'text',
        text: 'Which branch?',
        quickReply: {
          items: [
            { type: 'action', action: { type: 'postback', label: 'Shibuya', data: 'branch:shibuya', displayText: 'Shibuya' } },
            { type: 'action', action: { type: 'postback', label: 'Shinjuku', data: 'branch:shinjuku', displayText: 'Shinjuku' } },
          ],
        },
      },
    ]);
  });

  it('sends a list with descriptions or section titles as a numbered text with a quick reply per number, and one of 14 items as text alone', async () => {
    const described: OutboundContent = {
      type: 'list',
      text: 'Choose a delivery slot',
      sections: [
        {
          title: 'Morning',
          items: [
            { title: '8–10', description: 'The driver calls ahead', payload: 's1' },
            { title: '10–12', payload: 's2' },
          ],
        },
        { title: 'Afternoon', items: [{ title: '14–16', payload: 's3' }] },
      ],
    };
    const fourteen: OutboundContent = {
      type: 'list',
      text: 'Pick one',
      sections: [{ items: Array.from({ length: 14 }, (_, i) => ({ title: `Option ${i + 1}`, payload: `o${i + 1}` })) }],
    };
    await sender.send(sendRequest(described), context());
    await sender.send(sendRequest(fourteen, { messageId: 'msg_2' }), context());

    const choice = (label: string, data: string) => ({ type: 'action', action: { type: 'postback', label, data, displayText: label } });
    expect(messagesOf(0)).toEqual([
      {
        type: 'text',
        text: 'Choose a delivery slot\n\nMorning\n1. 8–10 – The driver calls ahead\n2. 10–12\n\nAfternoon\n3. 14–16',
        quickReply: { items: [choice('1. 8–10', 's1'), choice('2. 10–12', 's2'), choice('3. 14–16', 's3')] },
      },
    ]);
    expect(messagesOf(1)).toEqual([
      { type: 'text', text: `Pick one\n\n${Array.from({ length: 14 }, (_, i) => `${i + 1}. Option ${i + 1}`).join('\n')}` },
    ]);
  });

  it('refuses a provider template, which LINE does not have, before calling it', async () => {
    const error = await failureOf(sender.send(sendRequest({ type: 'template', name: 'shipping_update', language: 'en' }), context()));
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(fake.calls).toHaveLength(0);
  });
});

describe('line sender: what a tap sends back', () => {
  const POSTBACK = JSON.parse(readFileSync(new URL('../../fixtures/line/postback.json', import.meta.url), 'utf8')) as {
    events: Record<string, unknown>[];
  };

  /** The postback webhook LINE sends when the customer taps an action with this data. */
  const tap = (data: string) => ({ ...POSTBACK, events: [{ ...POSTBACK.events[0], postback: { data } }] });

  /** The `data` of every postback action in the objects, in order: template actions and quick reply items. */
  const postbackData = (value: unknown): string[] => {
    if (Array.isArray(value)) return value.flatMap(postbackData);
    if (typeof value !== 'object' || value === null) return [];
    const record = value as Record<string, unknown>;
    if (record['type'] === 'postback' && typeof record['data'] === 'string') return [record['data']];
    return Object.values(record).flatMap(postbackData);
  };

  const slots = Array.from({ length: 5 }, (_, i) => ({ type: 'postback', text: `S${i}`, payload: `slot:${i}` }) as const);

  it.each<[string, OutboundContent, string[]]>([
    [
      'a template button',
      { type: 'text', text: 'Pick one', buttons: [{ type: 'postback', text: 'Express', payload: 'ship:exp:A-1029 ✓' }] },
      ['ship:exp:A-1029 ✓'],
    ],
    ['a button turned quick reply', { type: 'text', text: 'Pick one', buttons: slots }, slots.map((slot) => slot.payload)],
    [
      'a list item',
      { type: 'list', text: 'Pick one', sections: [{ items: [{ title: 'Shibuya', payload: '{"branch":"shibuya"}' }] }] },
      ['{"branch":"shibuya"}'],
    ],
  ])('%s comes back as reply content with the same payload', (_name, content, payloads) => {
    const sent = planLineMessages(sendRequest(content));
    expect(postbackData(sent)).toEqual(payloads);
    for (const data of postbackData(sent)) {
      const webhook = tap(data);
      expect(lineWebhookViolations(webhook)).toEqual([]);
      const parsed = lineConnector.parse(Buffer.from(JSON.stringify(webhook)));
      if (parsed.kind !== 'ok') throw new Error(parsed.reason);
      const [event] = lineConnector.normalize(parsed.payload, { accountId: 'line-default', receivedAt: '2026-03-14T03:00:00.000Z' }).events;
      expect(event).toMatchObject({ type: 'message.received', content: { type: 'reply', payload: data } });
    }
  });
});

describe('line sender: other content', () => {
  it('sends an image by HTTPS URL, the URL as its preview, the caption as a following text', async () => {
    const url = 'https://cdn.acme.example/p/A-1029.jpg';
    const result = await sender.send(sendRequest({ type: 'image', media: { url }, caption: 'Your parcel' }), context());
    expect(messagesOf(0)).toEqual([
      { type: 'image', originalContentUrl: url, previewImageUrl: url },
      { type: 'text', text: 'Your parcel' },
    ]);
    expect(result.externalIds).toHaveLength(2);
  });

  it('refuses media LINE cannot fetch, before calling it', async () => {
    for (const media of [{ id: 'telegram-file-id' }, { url: 'http://cdn.acme.example/p.jpg' }]) {
      const error = await failureOf(sender.send(sendRequest({ type: 'image', media }), context()));
      expect(error).toBeInstanceOf(InvalidRequestError);
    }
    expect(fake.calls).toHaveLength(0);
  });

  it('sends audio with its duration in ms, and as a link when the duration is unknown', async () => {
    const url = 'https://cdn.acme.example/a/voice.m4a';
    await sender.send(sendRequest({ type: 'audio', media: { url, durationSeconds: 12.5 } }), context());
    await sender.send(sendRequest({ type: 'audio', media: { url, fileName: 'voice.m4a' } }, { messageId: 'msg_2' }), context());
    expect(messagesOf(0)).toEqual([{ type: 'audio', originalContentUrl: url, duration: 12500 }]);
    expect(messagesOf(1)).toEqual([{ type: 'text', text: `voice.m4a: ${url}` }]);
  });

  it('sends video (no preview image in Parley content) and files (bots cannot send files) as links', async () => {
    await sender.send(
      sendRequest({ type: 'video', media: { url: 'https://cdn.acme.example/v.mp4' }, caption: 'How to open the box' }),
      context(),
    );
    await sender.send(
      sendRequest(
        { type: 'file', media: { url: 'https://cdn.acme.example/invoice.pdf', fileName: 'invoice.pdf' } },
        { messageId: 'msg_2' },
      ),
      context(),
    );
    expect(messagesOf(0)).toEqual([{ type: 'text', text: 'How to open the box\nhttps://cdn.acme.example/v.mp4' }]);
    expect(messagesOf(1)).toEqual([{ type: 'text', text: 'invoice.pdf: https://cdn.acme.example/invoice.pdf' }]);
  });

  it('sends a location with the title and address LINE requires, shortened to 100 characters', async () => {
    await sender.send(sendRequest({ type: 'location', latitude: 35.658, longitude: 139.7016 }), context());
    await sender.send(
      sendRequest(
        { type: 'location', latitude: 35.658, longitude: 139.7016, name: 'ACME Shibuya', address: 'x'.repeat(120) },
        { messageId: 'msg_2' },
      ),
      context(),
    );
    expect(messagesOf(0)).toEqual([
      { type: 'location', title: 'Location', address: '35.658, 139.7016', latitude: 35.658, longitude: 139.7016 },
    ]);
    expect(messagesOf(1)?.[0]).toMatchObject({ title: 'ACME Shibuya', address: `${'x'.repeat(99)}…` });
  });

  it('sends a sticker named "<packageId>:<stickerId>", as the normalizer names received ones', async () => {
    await sender.send(sendRequest({ type: 'sticker', media: { id: '446:1988' } }), context());
    expect(messagesOf(0)).toEqual([{ type: 'sticker', packageId: '446', stickerId: '1988' }]);
    const error = await failureOf(sender.send(sendRequest({ type: 'sticker', media: { id: 'CAACAgIAAxkB' } }), context()));
    expect(error).toBeInstanceOf(InvalidRequestError);
  });

  it('has no provider actions', async () => {
    await expect(sender.perform('answerCallbackQuery', {}, context())).rejects.toBeInstanceOf(InvalidRequestError);
  });
});

describe('line sender: reply token', () => {
  const fresh = (): ReplyHandle => ({ value: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', expiresAt: new Date(Date.now() + 45_000).toISOString() });

  it('replies with a fresh token, without a retry key, and pushes what does not fit in the reply', async () => {
    const text = Array.from({ length: 6 }, (_, i) => String(i).repeat(4990)).join('\n');
    const result = await sender.send(sendRequest({ type: 'text', text }, { replyHandle: fresh() }), context());

    expect(fake.calls.map((c) => [c.path, c.retryKey, (c.body['messages'] as unknown[]).length])).toEqual([
      ['/v2/bot/message/reply', undefined, 5],
      ['/v2/bot/message/push', lineRetryKey(MESSAGE_ID, 5), 1],
    ]);
    expect(fake.calls[0]?.body['replyToken']).toBe(fresh().value);
    expect(result.externalIds).toHaveLength(6);
  });

  it('pushes instead of replying with a token past its expiry', async () => {
    const stale: ReplyHandle = { value: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', expiresAt: new Date(Date.now() - 1_000).toISOString() };
    await sender.send(sendRequest({ type: 'text', text: 'Late answer' }, { replyHandle: stale }), context());
    expect(fake.calls.map((c) => c.path)).toEqual(['/v2/bot/message/push']);
  });

  it('never replies on a resumed attempt', async () => {
    const text = Array.from({ length: 6 }, (_, i) => String(i).repeat(4990)).join('\n');
    const sentParts = ['1', '2', '3', '4', '5'].map((n) => `60000000000000000${n}`);
    await sender.send(sendRequest({ type: 'text', text }, { sentParts, replyHandle: fresh() }), context());
    expect(fake.calls.map((c) => [c.path, c.retryKey])).toEqual([['/v2/bot/message/push', lineRetryKey(MESSAGE_ID, 5)]]);
  });

  it('falls back to push, with the retry key, when LINE says the reply token is invalid (spent by an earlier reply)', async () => {
    fake.answerNext({ status: 400, body: { message: 'Invalid reply token' } });
    const result = await sender.send(sendRequest({ type: 'text', text: 'Hello' }, { replyHandle: fresh() }), context());
    expect(fake.calls.map((c) => [c.path, c.retryKey])).toEqual([
      ['/v2/bot/message/reply', undefined],
      ['/v2/bot/message/push', lineRetryKey(MESSAGE_ID, 0)],
    ]);
    expect(result.externalIds).toEqual(['700000000000000001']);
  });

  it('pushes, with the retry key, when the recipient has no reply handle', async () => {
    await sender.send(sendRequest({ type: 'text', text: 'Hello' }), context());
    expect(fake.calls.map((c) => [c.path, c.retryKey])).toEqual([['/v2/bot/message/push', lineRetryKey(MESSAGE_ID, 0)]]);
  });

  it('does not fall back to push for other reply failures', async () => {
    fake.answerNext({
      status: 400,
      body: { message: 'The request body has 1 error(s)', details: [{ message: 'May not be empty', property: 'messages[0].text' }] },
    });
    const error = await failureOf(sender.send(sendRequest({ type: 'text', text: 'Hello' }, { replyHandle: fresh() }), context()));
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(fake.calls).toHaveLength(1);
  });
});

describe('line sender: failures', () => {
  const send = () => sender.send(sendRequest({ type: 'text', text: 'Hello' }), context());

  it('waits a fixed time after a rate limit, or what a Retry-After says', async () => {
    fake.answerNext({ status: 429, body: { message: 'Too Many Requests' } });
    fake.answerNext({ status: 429, body: { message: 'Too Many Requests' }, headers: { 'retry-after': '30' } });
    const bare = await failureOf(send());
    const withHeader = await failureOf(send());
    expect(bare).toBeInstanceOf(RateLimitedError);
    expect(bare).toMatchObject({ retryAfterSeconds: LINE_RATE_LIMIT_WAIT_SECONDS, code: '429', message: 'Too Many Requests' });
    expect(withHeader).toMatchObject({ retryAfterSeconds: 30 });
  });

  it('fails visibly, not waiting in vain, when the monthly quota is used up', async () => {
    fake.answerNext({ status: 429, body: { message: 'You have reached your monthly limit.' } });
    const error = await failureOf(send());
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect(error).toMatchObject({ code: '429', message: 'You have reached your monthly limit.', recipientUnreachable: false });
  });

  it.each([
    [401, { message: 'Authentication failed. Confirm that the access token in the authorization header is valid.' }, AuthenticationError],
    [403, { message: 'Access to this API is not available for your account' }, AuthenticationError],
    [500, { message: 'Internal server error' }, RetryableProviderError],
    [503, '<html>Service Unavailable</html>', RetryableProviderError],
  ])('classifies HTTP %i', async (status, body, type) => {
    fake.answerNext({ status, body });
    const error = await failureOf(send());
    expect(error).toBeInstanceOf(type);
    expect(error.code).toBe(String(status));
    expect(error.message).not.toContain(TOKEN);
  });

  it('says a recipient LINE does not know cannot be reached, with the details', async () => {
    fake.answerNext({
      status: 400,
      body: { message: 'The request body has 1 error(s)', details: [{ message: 'invalid user ID', property: 'to' }] },
    });
    const error = await failureOf(send());
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect(error).toMatchObject({ recipientUnreachable: true, message: 'The request body has 1 error(s) (to: invalid user ID)' });
  });

  it('names ids after the push when LINE lists no sentMessages, the same on a retry', async () => {
    fake.answerNext({ status: 200, body: {} });
    fake.answerNext({ status: 409, body: { message: 'The retry key is already accepted' } });
    const first = await send();
    const again = await send();
    expect(first.externalIds).toEqual([`push-${lineRetryKey(MESSAGE_ID, 0)}:0`]);
    expect(again.externalIds).toEqual(first.externalIds);
  });

  it('treats a network failure as retryable, and a missing token as an authentication failure', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const refused = await failureOf(
      sender.send(sendRequest({ type: 'text', text: 'Hi' }), context({ apiBaseUrl: `http://127.0.0.1:${port}` })),
    );
    expect(refused).toBeInstanceOf(RetryableProviderError);
    expect(refused.message).toMatch(/request failed: ECONNREFUSED/);
    const timeout = await failureOf(
      sender.send(
        sendRequest({ type: 'text', text: 'Hi' }),
        context({
          fetch: async () => {
            throw new DOMException('timed out', 'TimeoutError');
          },
        }),
      ),
    );
    expect(timeout).toBeInstanceOf(RetryableProviderError);
    expect(timeout.message).toMatch(/timed out/);
    const noToken = await failureOf(sender.send(sendRequest({ type: 'text', text: 'Hi' }), context({ credentials: {} })));
    expect(noToken).toBeInstanceOf(AuthenticationError);
  });
});

describe('line content download', () => {
  const download = (messageId: string, overrides: Partial<SendContext> = {}) =>
    downloadLineContent(messageId, {
      credentials: { channelAccessToken: TOKEN },
      fetch: globalThis.fetch,
      dataApiBaseUrl: fake.baseUrl,
      ...overrides,
    });

  it('fetches a message’s content with the bearer token, keeping its type', async () => {
    const content = await download('546813355712987137');
    expect(content).toEqual({ bytes: Buffer.from('jpeg bytes of 546813355712987137'), contentType: 'image/jpeg' });
    expect(fake.contentCalls).toEqual([{ messageId: '546813355712987137', authorization: `Bearer ${TOKEN}` }]);
  });

  it('retries content still in preparation, gives up on content gone, and refuses ids that are not LINE’s', async () => {
    fake.answerNext({ status: 202, body: '' });
    fake.answerNext({ status: 404, body: { message: 'Not found' } });
    expect(await failureOf(download('546813355712987138'))).toBeInstanceOf(RetryableProviderError);
    expect(await failureOf(download('546813355712987139'))).toMatchObject({ kind: 'permanent', code: '404' });
    expect(await failureOf(download('446:1988'))).toBeInstanceOf(InvalidRequestError);
    expect(fake.contentCalls).toHaveLength(2);
  });
});
