import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { quickRepliesAsText, type SendContext, type SendRequest } from '../../../connectors/connector.ts';
import { whatsappConnector } from '../../../connectors/whatsapp/index.ts';
import { classifyWhatsAppError } from '../../../connectors/whatsapp/whatsapp.api.ts';
import { planWhatsAppMessages, templateBody } from '../../../connectors/whatsapp/whatsapp.sender.ts';
import type { Button, OutboundContent, QuickReply } from '../../../domain/content.ts';
import {
  AuthenticationError,
  InvalidRequestError,
  PermanentProviderError,
  RateLimitedError,
  RetryableProviderError,
} from '../../../domain/provider-errors.ts';
import { createFakeGraph, graphError } from '../../helpers/whatsapp-fake-graph.ts';
import { assertWhatsAppMessage, whatsappMessageViolations, whatsappWebhookViolations } from '../../helpers/whatsapp-spec.ts';
import { PHONE_NUMBER_ID } from './whatsapp.kit.ts';
import { failureOf } from '../../helpers/provider-failure.ts';

const TOKEN = 'EAAGm0PX4ZCpsBAsenderTestToken';
const CUSTOMER = '16505551234';
const BASE = 'https://graph.test.local';
const sender = whatsappConnector.sender;
const graph = createFakeGraph();

afterEach(() => {
  const calls = [...graph.calls];
  graph.reset();
  // Every body the sender built in these tests must be one the published OpenAPI document accepts.
  for (const call of calls) assertWhatsAppMessage(call.body);
});

const context = (overrides: Partial<SendContext> = {}) =>
  ({
    credentials: { accessToken: TOKEN, phoneNumberId: PHONE_NUMBER_ID },
    apiBaseUrl: BASE,
    fetch: graph.fetch,
    onPartSent: vi.fn(async (_id: string) => {}),
    ...overrides,
  }) as SendContext & { onPartSent: ReturnType<typeof vi.fn> };

const recipient = { accountId: PHONE_NUMBER_ID, conversation: { externalId: CUSTOMER, kind: 'direct' as const } };

const request = (content: OutboundContent, extra: Partial<SendRequest> = {}): SendRequest => ({
  content,
  recipient,
  sentParts: [],
  ...extra,
});

const bodies = () => graph.calls.map((c) => c.body);
const to = { messaging_product: 'whatsapp', recipient_type: 'individual', to: CUSTOMER };

const replies = (n: number, label = (i: number) => `Option ${i + 1}`): QuickReply[] =>
  Array.from({ length: n }, (_, i) => ({ text: label(i), payload: `opt:${i + 1}` }));

describe('whatsapp sender: text', () => {
  it('posts JSON to /v23.0/{phone-number-id}/messages with a bearer token, link previews off', async () => {
    const ctx = context();
    const result = await sender.send(request({ type: 'text', text: 'Your order A-1029 shipped: https://acme.example/t/1' }), ctx);

    expect(graph.calls).toHaveLength(1);
    const [call] = graph.calls;
    expect(call?.url).toBe(`${BASE}/v23.0/${PHONE_NUMBER_ID}/messages`);
    expect(call?.method).toBe('POST');
    expect(call?.headers).toMatchObject({ authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' });
    expect(call?.body).toEqual({
      ...to,
      type: 'text',
      text: { preview_url: false, body: 'Your order A-1029 shipped: https://acme.example/t/1' },
    });
    expect(result.externalIds).toEqual(['wamid.FAKE0001']);
    expect(ctx.onPartSent).toHaveBeenCalledWith('wamid.FAKE0001', false);
  });

  it('splits a text over 4096 characters and resumes after the parts already sent', async () => {
    const text = `${'a'.repeat(4000)} ${'b'.repeat(3000)}`;
    const first = await sender.send(request({ type: 'text', text }), context());
    expect(bodies().map((b) => (b['text'] as { body: string }).body.length)).toEqual([4000, 3000]);
    expect(first.externalIds).toHaveLength(2);
    graph.reset();

    const resumed = await sender.send(request({ type: 'text', text }, { sentParts: ['wamid.EARLIER'] }), context());
    expect(graph.calls).toHaveLength(1);
    expect(resumed.externalIds[0]).toBe('wamid.EARLIER');
  });

  it('quotes the replied-to message with context.message_id on the first part only', async () => {
    await sender.send(
      request({ type: 'text', text: `${'x'.repeat(4096)}tail` }, { replyTo: { externalMessageId: 'wamid.IN1' } }),
      context(),
    );
    expect(bodies()[0]).toMatchObject({ context: { message_id: 'wamid.IN1' } });
    expect(bodies()[1]).not.toHaveProperty('context');
  });

  it('addresses a group by its id, with recipient_type group', () => {
    const group = {
      accountId: PHONE_NUMBER_ID,
      conversation: { externalId: 'Y2FwaV9ncm91cDoxNjUwNTU1MTIzNDoxMjAzNjM0MDI0NzA2MTA3MjQ=', kind: 'group' as const },
    };
    const [body] = planWhatsAppMessages(request({ type: 'text', text: 'Hello all' }, { recipient: group }));
    expect(body).toMatchObject({ recipient_type: 'group', to: group.conversation.externalId });
    expect(whatsappMessageViolations(body)).toBe('');
  });

  it('quotes a second shared contact by the id of its message', () => {
    const [body] = planWhatsAppMessages(
      request({ type: 'text', text: 'Got it' }, { replyTo: { externalMessageId: 'wamid.IN2#contact2' } }),
    );
    expect(body).toMatchObject({ context: { message_id: 'wamid.IN2' } });
  });
});

describe('whatsapp sender: quick replies', () => {
  it('sends up to 3 short quick replies as reply buttons', async () => {
    const quickReplies = [
      { text: 'Standard', payload: 'ship:std' },
      { text: 'Express 🚀', payload: 'ship:exp' },
    ];
    await sender.send(request({ type: 'text', text: 'Choose shipping', quickReplies }), context());
    expect(bodies()).toEqual([
      {
        ...to,
        type: 'interactive',
        interactive: {
          type: 'button',
          body: { text: 'Choose shipping' },
          action: {
            buttons: [
              { type: 'reply', reply: { id: 'ship:std', title: 'Standard' } },
              { type: 'reply', reply: { id: 'ship:exp', title: 'Express 🚀' } },
            ],
          },
        },
      },
    ]);
  });

  it('uses a list for 4 to 10 quick replies, or for labels too long for a button', async () => {
    await sender.send(request({ type: 'text', text: 'Pick a size', quickReplies: replies(10) }), context());
    await sender.send(
      request({ type: 'text', text: 'Pick one', quickReplies: [{ text: 'A label of twenty-one', payload: 'p' }] }),
      context(),
    );
    const [list, long] = bodies();
    expect(list).toMatchObject({
      type: 'interactive',
      interactive: { type: 'list', body: { text: 'Pick a size' }, action: { button: 'Options' } },
    });
    const rows = (list?.['interactive'] as { action: { sections: { rows: unknown[] }[] } }).action.sections[0]?.rows;
    expect(rows).toHaveLength(10);
    expect(rows?.[0]).toEqual({ id: 'opt:1', title: 'Option 1' });
    expect(long).toMatchObject({
      interactive: { type: 'list', action: { sections: [{ rows: [{ id: 'p', title: 'A label of twenty-one' }] }] } },
    });
  });

  it('shortens a row title over 24 characters and keeps the whole label in the description', async () => {
    const label = 'Deliver to my office address instead';
    await sender.send(
      request({ type: 'text', text: 'Where?', quickReplies: [...replies(3), { text: label, payload: 'office' }] }),
      context(),
    );
    const rows = (bodies()[0]?.['interactive'] as { action: { sections: { rows: Record<string, string>[] }[] } }).action.sections[0]?.rows;
    expect(rows?.[3]).toEqual({ id: 'office', title: 'Deliver to my office ad…', description: label });
  });

  it('falls back to a numbered text beyond 10 quick replies, or when a payload is too long for a row id', async () => {
    await sender.send(request({ type: 'text', text: 'Pick a store', quickReplies: replies(11) }), context());
    await sender.send(
      request({ type: 'text', text: 'Pick', quickReplies: [...replies(4), { text: 'Long', payload: 'x'.repeat(201) }] }),
      context(),
    );
    const [many, longPayload] = bodies();
    expect(many).toEqual({ ...to, type: 'text', text: { preview_url: false, body: quickRepliesAsText('Pick a store', replies(11)) } });
    expect(longPayload).toMatchObject({ type: 'text' });
  });

  it('keeps reply buttons to distinct ids and titles, and list rows to distinct ids', () => {
    const kind = (quickReplies: QuickReply[]) =>
      planWhatsAppMessages(request({ type: 'text', text: 'Pick', quickReplies }))[0]?.['interactive'];
    expect(
      kind([
        { text: 'Yes', payload: 'a' },
        { text: 'Yes', payload: 'b' },
      ]),
    ).toMatchObject({ type: 'list' });
    expect(
      kind([
        { text: 'Yes', payload: 'a' },
        { text: 'Sure', payload: 'a' },
      ]),
    ).toBeUndefined();
    const list = planWhatsAppMessages(
      request({
        type: 'list',
        text: 'Pick',
        sections: [
          {
            items: [
              { title: 'A', payload: 'p' },
              { title: 'B', payload: 'p' },
            ],
          },
        ],
      }),
    );
    expect(list[0]).toMatchObject({ type: 'text', text: { body: 'Pick\n\n1. A\n2. B' } });
  });

  it('sends what does not fit an interactive body (1024) as text first, buttons on the last part', async () => {
    const text = `${'a'.repeat(1000)}\n${'b'.repeat(500)}`;
    await sender.send(
      request({ type: 'text', text, quickReplies: replies(2) }, { replyTo: { externalMessageId: 'wamid.IN1' } }),
      context(),
    );
    expect(bodies().map((b) => b['type'])).toEqual(['text', 'interactive']);
    expect(bodies()[0]).toMatchObject({ context: { message_id: 'wamid.IN1' }, text: { body: 'a'.repeat(1000) } });
    expect(bodies()[1]).toMatchObject({ interactive: { body: { text: 'b'.repeat(500) } } });
  });
});

describe('whatsapp sender: media and location', () => {
  it('sends media WhatsApp holds by id and other media by link, captions where WhatsApp takes them', async () => {
    await sender.send(request({ type: 'image', media: { id: '1003383421387256' }, caption: 'Your receipt' }), context());
    await sender.send(request({ type: 'video', media: { url: 'https://cdn.example/v.mp4' }, caption: 'How to' }), context());
    await sender.send(
      request({ type: 'file', media: { url: 'https://cdn.example/i.pdf', fileName: 'invoice.pdf' }, caption: 'Invoice' }),
      context(),
    );
    await sender.send(request({ type: 'sticker', media: { id: '2038425116544307' } }), context());
    expect(bodies()).toEqual([
      { ...to, type: 'image', image: { id: '1003383421387256', caption: 'Your receipt' } },
      { ...to, type: 'video', video: { link: 'https://cdn.example/v.mp4', caption: 'How to' } },
      { ...to, type: 'document', document: { link: 'https://cdn.example/i.pdf', caption: 'Invoice', filename: 'invoice.pdf' } },
      { ...to, type: 'sticker', sticker: { id: '2038425116544307' } },
    ]);
  });

  it('sends the caption of an audio, or one over 1024 characters, as a text after the media', async () => {
    await sender.send(request({ type: 'audio', media: { id: '1238740981234567' }, caption: 'Voice note from the shop' }), context());
    await sender.send(request({ type: 'image', media: { id: '1' }, caption: 'c'.repeat(1025) }), context());
    expect(bodies()).toEqual([
      { ...to, type: 'audio', audio: { id: '1238740981234567' } },
      { ...to, type: 'text', text: { preview_url: false, body: 'Voice note from the shop' } },
      { ...to, type: 'image', image: { id: '1' } },
      { ...to, type: 'text', text: { preview_url: false, body: 'c'.repeat(1025) } },
    ]);
  });

  it('sends a location with its name and address', async () => {
    await sender.send(
      request({ type: 'location', latitude: 37.44221496582, longitude: -122.16165924072, name: 'Philz Coffee', address: '101 Forest Ave' }),
      context(),
    );
    expect(bodies()).toEqual([
      {
        ...to,
        type: 'location',
        location: { latitude: '37.44221496582', longitude: '-122.16165924072', name: 'Philz Coffee', address: '101 Forest Ave' },
      },
    ]);
  });
});

type Interactive = { interactive: { type: string; body: { text: string }; action: Record<string, unknown> } };
const interactiveOf = (body: Record<string, unknown> | undefined) => (body as unknown as Interactive).interactive;

describe('whatsapp sender: buttons', () => {
  it('sends up to 3 postback buttons as reply buttons, which stay in the chat', async () => {
    const buttons: Button[] = [
      { type: 'postback', text: 'Confirm', payload: 'confirm_order_42' },
      { type: 'postback', text: 'Cancel', payload: 'cancel_order_42' },
    ];
    await sender.send(request({ type: 'text', text: 'Confirm order 42?', buttons }), context());
    expect(bodies()).toEqual([
      {
        ...to,
        type: 'interactive',
        interactive: {
          type: 'button',
          body: { text: 'Confirm order 42?' },
          action: {
            buttons: [
              { type: 'reply', reply: { id: 'confirm_order_42', title: 'Confirm' } },
              { type: 'reply', reply: { id: 'cancel_order_42', title: 'Cancel' } },
            ],
          },
        },
      },
    ]);
  });

  it('writes link buttons out in the text (the published schema has no cta_url), next to the reply buttons', async () => {
    const buttons: Button[] = [
      { type: 'url', text: 'Track', url: 'https://acme.example/t/42' },
      { type: 'postback', text: 'Talk to us', payload: 'HUMAN' },
    ];
    await sender.send(request({ type: 'text', text: 'Order 42 shipped', buttons }), context());
    await sender.send(
      request({ type: 'text', text: 'Your invoice', buttons: [{ type: 'url', text: 'Invoice', url: 'https://acme.example/i/42' }] }),
      context(),
    );
    expect(bodies()).toEqual([
      {
        ...to,
        type: 'interactive',
        interactive: {
          type: 'button',
          body: { text: 'Order 42 shipped\n\nTrack: https://acme.example/t/42' },
          action: { buttons: [{ type: 'reply', reply: { id: 'HUMAN', title: 'Talk to us' } }] },
        },
      },
      { ...to, type: 'text', text: { preview_url: false, body: 'Your invoice\n\nInvoice: https://acme.example/i/42' } },
    ]);
  });

  it('shows more than 3 postbacks, or a label over 20 characters, as a list message, and more than a list holds as a numbered text', async () => {
    const postbacks = (n: number, label = (i: number) => `Store ${i + 1}`): Button[] =>
      Array.from({ length: n }, (_, i) => ({ type: 'postback', text: label(i), payload: `store:${i + 1}` }));
    await sender.send(request({ type: 'text', text: 'Pick a store', buttons: postbacks(4) }), context());
    await sender.send(request({ type: 'text', text: 'Pick', buttons: postbacks(1, () => 'Deliver to my office, please') }), context());
    await sender.send(
      request({ type: 'text', text: 'Pick', buttons: [...postbacks(3), { type: 'postback', text: 'Long', payload: 'x'.repeat(257) }] }),
      context(),
    );
    const [four, longLabel, longPayload] = bodies();
    expect(interactiveOf(four)).toMatchObject({
      type: 'list',
      action: { button: 'Options', sections: [{ rows: [{ id: 'store:1', title: 'Store 1' }, {}, {}, {}] }] },
    });
    expect(interactiveOf(longLabel)).toMatchObject({
      type: 'list',
      action: { sections: [{ rows: [{ id: 'store:1', title: 'Deliver to my office, p…', description: 'Deliver to my office, please' }] }] },
    });
    // A 257-character id fits neither a reply button (256) nor a row (200): the choices are numbered.
    expect(longPayload).toEqual({
      ...to,
      type: 'text',
      text: { preview_url: false, body: 'Pick\n\n1. Store 1\n2. Store 2\n3. Store 3\n4. Long' },
    });
  });
});

const sizes: ListContent = {
  type: 'list',
  text: 'Pick a size',
  buttonText: 'Sizes',
  sections: [
    {
      title: 'Jackets',
      items: [
        { title: 'Medium (M)', description: 'Chest 96-101 cm', payload: 'size_m' },
        { title: 'Large (L)', description: 'Chest 102-107 cm', payload: 'size_l' },
      ],
    },
    { title: 'Shirts', items: [{ title: 'Slim fit', payload: 'shirt_slim' }] },
  ],
};
type ListContent = Extract<OutboundContent, { type: 'list' }>;
const itemsOf = (n: number) => Array.from({ length: n }, (_, i) => ({ title: `Item ${i + 1}`, payload: `item:${i + 1}` }));

describe('whatsapp sender: lists', () => {
  it('sends a list message with its sections, descriptions and button label', async () => {
    await sender.send(request(sizes), context());
    expect(bodies()).toEqual([
      {
        ...to,
        type: 'interactive',
        interactive: {
          type: 'list',
          body: { text: 'Pick a size' },
          action: {
            button: 'Sizes',
            sections: [
              {
                title: 'Jackets',
                rows: [
                  { id: 'size_m', title: 'Medium (M)', description: 'Chest 96-101 cm' },
                  { id: 'size_l', title: 'Large (L)', description: 'Chest 102-107 cm' },
                ],
              },
              { title: 'Shirts', rows: [{ id: 'shirt_slim', title: 'Slim fit' }] },
            ],
          },
        },
      },
    ]);
  });

  it('labels the button "Options" when the agent named none, merges untitled sections, and moves a long title into an unused description', async () => {
    const list: ListContent = {
      type: 'list',
      text: 'Where should we deliver?',
      sections: [
        { items: [{ title: 'Home', payload: 'home' }] },
        { items: [{ title: 'The office on the fourth floor', payload: 'office' }] },
      ],
    };
    await sender.send(request(list), context());
    expect(interactiveOf(bodies()[0])).toEqual({
      type: 'list',
      body: { text: 'Where should we deliver?' },
      action: {
        button: 'Options',
        sections: [
          {
            rows: [
              { id: 'home', title: 'Home' },
              { id: 'office', title: 'The office on the fourt…', description: 'The office on the fourth floor' },
            ],
          },
        ],
      },
    });
  });

  it('sends 10 items natively and numbers 11, keeping section titles and descriptions', async () => {
    await sender.send(request({ type: 'list', text: 'Pick', sections: [{ items: itemsOf(10) }] }), context());
    const eleven: ListContent = { ...sizes, sections: [...sizes.sections, { title: 'Socks', items: itemsOf(8) }] };
    await sender.send(request(eleven), context());
    const [ten, numbered] = bodies();
    expect(interactiveOf(ten).action).toMatchObject({ sections: [{ rows: itemsOf(10).map((i) => ({ id: i.payload, title: i.title })) }] });
    expect(numbered).toEqual({
      ...to,
      type: 'text',
      text: {
        preview_url: false,
        body: [
          'Pick a size',
          '',
          'Jackets',
          '1. Medium (M) – Chest 96-101 cm',
          '2. Large (L) – Chest 102-107 cm',
          '',
          'Shirts',
          '3. Slim fit',
          '',
          'Socks',
          ...itemsOf(8).map((item, i) => `${i + 4}. ${item.title}`),
        ].join('\n'),
      },
    });
  });

  it('numbers a list a list message cannot hold whole: a description over 72, a long title beside a description, titled and untitled sections', () => {
    const plan = (sections: ListContent['sections']) =>
      planWhatsAppMessages(request({ type: 'list', text: 'Pick', sections }))[0]?.['type'];
    expect(plan([{ items: [{ title: 'A', description: 'd'.repeat(73), payload: 'a' }] }])).toBe('text');
    expect(plan([{ items: [{ title: 'A title of twenty-five c', description: 'short', payload: 'a' }] }])).toBe('interactive');
    expect(plan([{ items: [{ title: 'A title of twenty-five ch', description: 'short', payload: 'a' }] }])).toBe('text');
    expect(plan([{ items: [{ title: 'A', payload: 'x'.repeat(201) }] }])).toBe('text');
    expect(plan([{ title: 'Jackets', items: itemsOf(1) }, { items: itemsOf(1) }])).toBe('text');
    expect(plan([{ title: 'Jackets', items: itemsOf(1) }])).toBe('interactive');
  });

  it('sends what does not fit the list body (1024) as text first, the quote on the first part', async () => {
    const text = `${'a'.repeat(1000)}\n${'b'.repeat(100)}`;
    await sender.send(request({ ...sizes, text }, { replyTo: { externalMessageId: 'wamid.IN1' } }), context());
    expect(bodies().map((b) => b['type'])).toEqual(['text', 'interactive']);
    expect(bodies()[0]).toMatchObject({ context: { message_id: 'wamid.IN1' }, text: { body: 'a'.repeat(1000) } });
    expect(interactiveOf(bodies()[1])).toMatchObject({ type: 'list', body: { text: 'b'.repeat(100) } });
  });
});

type TemplateContent = Extract<OutboundContent, { type: 'template' }>;

describe('whatsapp sender: templates', () => {
  it('sends a template with a text header, positional body parameters and both kinds of button parameter', async () => {
    const template: TemplateContent = {
      type: 'template',
      name: 'order_update',
      language: 'en_US',
      header: { type: 'text', text: 'A-1029' },
      body: ['Sheena', 'A-1029', 'Friday'],
      buttons: [
        { index: 0, payload: 'TRACK_A-1029' },
        { index: 1, urlSuffix: 'orders/A-1029' },
      ],
      fallbackText: 'Hi Sheena, order A-1029 arrives Friday.',
    };
    await sender.send(request(template, { replyTo: { externalMessageId: 'wamid.IN1' } }), context());
    expect(bodies()).toEqual([
      {
        ...to,
        context: { message_id: 'wamid.IN1' },
        type: 'template',
        template: {
          name: 'order_update',
          language: { policy: 'deterministic', code: 'en_US' },
          components: [
            { type: 'header', parameters: [{ type: 'text', text: 'A-1029' }] },
            {
              type: 'body',
              parameters: [
                { type: 'text', text: 'Sheena' },
                { type: 'text', text: 'A-1029' },
                { type: 'text', text: 'Friday' },
              ],
            },
            { type: 'button', sub_type: 'quick_reply', index: '0', parameters: [{ type: 'payload', payload: 'TRACK_A-1029' }] },
            { type: 'button', sub_type: 'url', index: '1', parameters: [{ type: 'text', text: 'orders/A-1029' }] },
          ],
        },
      },
    ]);
  });

  it('names named body parameters, and sends header media by id, by link, and a file as a document with its name', () => {
    const body = (header: TemplateContent['header']) =>
      templateBody(recipient, {
        type: 'template',
        name: 'receipt',
        language: 'pt_BR',
        header,
        body: { first_name: 'Ana', total: 'R$ 120,00' },
      });
    const template = (header: TemplateContent['header']) => (body(header)['template'] as { components: unknown[] }).components;
    expect(template({ type: 'image', media: { id: '1003383421387256' } })).toEqual([
      { type: 'header', parameters: [{ type: 'image', image: { id: '1003383421387256' } }] },
      {
        type: 'body',
        parameters: [
          { type: 'text', parameter_name: 'first_name', text: 'Ana' },
          { type: 'text', parameter_name: 'total', text: 'R$ 120,00' },
        ],
      },
    ]);
    expect(template({ type: 'video', media: { url: 'https://cdn.example/v.mp4' } })[0]).toEqual({
      type: 'header',
      parameters: [{ type: 'video', video: { link: 'https://cdn.example/v.mp4' } }],
    });
    expect(template({ type: 'file', media: { url: 'https://cdn.example/r.pdf', fileName: 'receipt.pdf' } })[0]).toEqual({
      type: 'header',
      parameters: [{ type: 'document', document: { link: 'https://cdn.example/r.pdf', filename: 'receipt.pdf' } }],
    });
    for (const header of [
      undefined,
      { type: 'image', media: { id: '1' } },
      { type: 'file', media: { url: 'https://cdn.example/r.pdf', fileName: 'r.pdf' } },
    ] as const) {
      expect(whatsappMessageViolations(body(header))).toBe('');
    }
    expect(whatsappMessageViolations(templateBody(recipient, { type: 'template', name: 'hello_world', language: 'en_US' }))).toBe('');
  });

  it('refuses a template button with both a payload and a URL suffix, or neither, calling nothing', async () => {
    for (const button of [{ index: 0, payload: 'p', urlSuffix: 's' }, { index: 1 }]) {
      const error = await failureOf(sender.send(request({ type: 'template', name: 'x', language: 'en', buttons: [button] }), context()));
      expect(error).toBeInstanceOf(InvalidRequestError);
    }
    expect(graph.calls).toHaveLength(0);
  });
});

describe('whatsapp sender: template placeholders', () => {
  it('turns line breaks, tabs and runs of more than four spaces into one space, which WhatsApp would refuse', () => {
    const body = templateBody(recipient, {
      type: 'template',
      name: 'agent_follow_up',
      language: 'en',
      header: { type: 'text', text: 'Order\tA-1029' },
      body: ['Hello Ana,\n\nyour parcel left   today.\r\nTrack it below.', 'four    spaces stay', 'five     go'],
    });
    expect(body['template']).toMatchObject({
      components: [
        { type: 'header', parameters: [{ type: 'text', text: 'Order A-1029' }] },
        {
          type: 'body',
          parameters: [
            { type: 'text', text: 'Hello Ana, your parcel left   today. Track it below.' },
            { type: 'text', text: 'four    spaces stay' },
            { type: 'text', text: 'five go' },
          ],
        },
      ],
    });
    expect(whatsappMessageViolations(body)).toBe('');
  });
});

describe('whatsapp: what a rendered choice sends back', () => {
  const CONTEXT = { accountId: PHONE_NUMBER_ID, receivedAt: '2026-03-14T01:00:00.000Z' };
  /** A recorded tap (a fixture) with the part this sender rendered swapped in: what WhatsApp would send. */
  const tapped = (fixture: string, tap: Record<string, unknown>) => {
    const body = JSON.parse(readFileSync(new URL(`../../fixtures/whatsapp/${fixture}.json`, import.meta.url), 'utf8')) as {
      entry: { changes: { value: { messages: Record<string, unknown>[] } }[] }[];
    };
    Object.assign(body.entry[0]!.changes[0]!.value.messages[0]!, tap);
    expect(whatsappWebhookViolations(body)).toBe('');
    const parsed = whatsappConnector.parse(Buffer.from(JSON.stringify(body)));
    if (parsed.kind !== 'ok') throw new Error(parsed.reason);
    const [event] = whatsappConnector.normalize(parsed.payload, CONTEXT).events;
    return event?.type === 'message.received' ? event.content : undefined;
  };

  it('a reply button, a list row and a template quick-reply button come back as reply content with their payload', () => {
    const [buttons] = planWhatsAppMessages(
      request({ type: 'text', text: 'Confirm?', buttons: [{ type: 'postback', text: 'Confirm', payload: 'confirm_order_42' }] }),
    );
    const reply = (interactiveOf(buttons).action['buttons'] as { reply: { id: string; title: string } }[])[0]!.reply;
    expect(tapped('interactive-button-reply', { interactive: { type: 'button_reply', button_reply: reply } })).toEqual({
      type: 'reply',
      text: 'Confirm',
      payload: 'confirm_order_42',
    });

    const [list] = planWhatsAppMessages(request(sizes));
    const row = (interactiveOf(list).action['sections'] as { rows: { id: string; title: string; description: string }[] }[])[0]!.rows[0]!;
    expect(tapped('interactive-list-reply', { interactive: { type: 'list_reply', list_reply: row } })).toEqual({
      type: 'reply',
      text: 'Medium (M)',
      payload: 'size_m',
    });

    const template = templateBody(recipient, {
      type: 'template',
      name: 'promo',
      language: 'en',
      buttons: [{ index: 0, payload: 'STOP_PROMOTIONS' }],
    });
    const [component] = (template['template'] as { components: { parameters: { payload: string }[] }[] }).components;
    const payload = component!.parameters[0]!.payload;
    expect(tapped('template-button', { button: { payload, text: 'Stop promotions' } })).toEqual({
      type: 'reply',
      text: 'Stop promotions',
      payload: 'STOP_PROMOTIONS',
    });
  });
});

describe('the OpenAPI check itself', () => {
  it('refuses bodies WhatsApp would refuse', () => {
    const buttons = (n: number, title = 'Yes') => ({
      ...to,
      type: 'interactive',
      interactive: {
        type: 'button',
        body: { text: 'Q' },
        action: { buttons: Array.from({ length: n }, (_, i) => ({ type: 'reply', reply: { id: `b${i}`, title } })) },
      },
    });
    expect(whatsappMessageViolations(buttons(3))).toBe('');
    expect(whatsappMessageViolations(buttons(4))).not.toBe('');
    expect(whatsappMessageViolations(buttons(1, 'x'.repeat(21)))).not.toBe('');
    expect(whatsappMessageViolations({ ...to, type: 'text', text: { body: 'hi' }, unknown: true })).not.toBe('');
    const { recipient_type: _omitted, ...withoutRecipientType } = to;
    expect(whatsappMessageViolations({ ...withoutRecipientType, type: 'text', text: { body: 'hi' } })).not.toBe('');
    expect(whatsappMessageViolations({ ...to, type: 'image', image: { id: '1', link: 'https://x.example/a.png' } })).not.toBe('');
  });

  it('checks list messages against their limits', () => {
    const list = (rows: Record<string, string>[], button = 'Options') => ({
      ...to,
      type: 'interactive',
      interactive: { type: 'list', body: { text: 'Q' }, action: { button, sections: [{ rows }] } },
    });
    expect(whatsappMessageViolations(list([{ id: 'a', title: 'x'.repeat(24), description: 'd'.repeat(72) }]))).toBe('');
    expect(whatsappMessageViolations(list([{ id: 'a', title: 'x'.repeat(25) }]))).not.toBe('');
    expect(whatsappMessageViolations(list([{ id: 'a', title: 'A', description: 'd'.repeat(73) }]))).not.toBe('');
    expect(whatsappMessageViolations(list([{ id: 'a', title: 'A' }], 'x'.repeat(21)))).not.toBe('');
    expect(whatsappMessageViolations(list(Array.from({ length: 11 }, (_, i) => ({ id: `r${i}`, title: 'A' }))))).not.toBe('');
  });

  it('checks template components by their type once the discriminators are applied (corrections 3 and 4)', () => {
    const template = (components: unknown[]) => ({
      ...to,
      type: 'template',
      template: { name: 'x', language: { policy: 'deterministic', code: 'en' }, components },
    });
    const quickReply = (index: string) => ({
      type: 'button',
      sub_type: 'quick_reply',
      index,
      parameters: [{ type: 'payload', payload: 'P' }],
    });
    expect(whatsappMessageViolations(template([quickReply('0'), quickReply('9')]))).toBe('');
    expect(whatsappMessageViolations(template([quickReply('10')]))).not.toBe('');
    expect(whatsappMessageViolations(template([{ type: 'button', sub_type: 'quick_reply', index: '0' }]))).not.toBe('');
    expect(whatsappMessageViolations(template([{ type: 'body', parameters: [{ type: 'text' }] }]))).not.toBe('');
    expect(whatsappMessageViolations(template([{ type: 'header', parameters: [{ type: 'image', image: {} }] }]))).not.toBe('');
    expect(whatsappMessageViolations(template([{ type: 'header', parameters: [] }]))).not.toBe('');
  });
});

describe('whatsapp sender: errors', () => {
  const fail = async (status: number, body: unknown, headers?: Record<string, string>) => {
    graph.script({ status, body, ...(headers && { headers }) });
    return failureOf(sender.send(request({ type: 'text', text: 'hi' }), context()));
  };

  it('classifies Graph errors by code, keeping the code and the title', async () => {
    const window = await fail(
      400,
      graphError(131047, 'Re-engagement message', { error_data: { details: 'More than 24 hours have passed.' } }),
    );
    expect(window).toBeInstanceOf(PermanentProviderError);
    expect(window).toMatchObject({
      code: '131047',
      recipientUnreachable: false,
      message: '(#131047) Re-engagement message: More than 24 hours have passed.',
    });

    const undeliverable = await fail(400, graphError(131026, 'Message undeliverable'));
    expect(undeliverable).toBeInstanceOf(PermanentProviderError);
    expect(undeliverable).toMatchObject({ code: '131026', recipientUnreachable: true });

    expect(await fail(401, graphError(190, 'Error validating access token: Session has expired'))).toBeInstanceOf(AuthenticationError);
    expect(await fail(400, graphError(100, 'Invalid parameter'))).toBeInstanceOf(InvalidRequestError);
    expect(await fail(500, graphError(2, 'Service temporarily unavailable', { is_transient: true }))).toBeInstanceOf(
      RetryableProviderError,
    );
    expect(await fail(400, graphError(1, 'An unknown error occurred'))).toBeInstanceOf(RetryableProviderError);
    expect(await fail(503, '<html>Service Unavailable</html>')).toMatchObject({ kind: 'retryable', code: '503' });
  });

  it('turns rate limits into waits, from Retry-After when given', async () => {
    const throughput = await fail(400, graphError(130429, 'Rate limit hit'));
    const pair = await fail(400, graphError(131056, '(Business Account, Consumer Account) pair rate limit hit'));
    const waba = await fail(400, graphError(80007, 'Rate limit issues'), { 'retry-after': '120' });
    expect(throughput).toBeInstanceOf(RateLimitedError);
    expect([throughput, pair, waba].map((e) => e instanceof RateLimitedError && [e.code, e.retryAfterSeconds])).toEqual([
      ['130429', 5],
      ['131056', 6],
      ['80007', 120],
    ]);
  });

  it('retries network failures and timeouts, and never puts the token in a message', async () => {
    graph.script(new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }));
    const refused = await failureOf(sender.send(request({ type: 'text', text: 'hi' }), context()));
    graph.script(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    const timeout = await failureOf(sender.send(request({ type: 'text', text: 'hi' }), context()));
    expect(refused).toMatchObject({ kind: 'retryable', message: 'WhatsApp send request failed: ECONNREFUSED' });
    expect(timeout).toMatchObject({ kind: 'retryable', message: 'WhatsApp send timed out after 10 s' });
    expect(`${refused.message}${timeout.message}`).not.toContain(TOKEN);
  });

  it('does not retry an accepted send that came back without a wamid, and refuses to send without a token', async () => {
    graph.script({ status: 200, body: { messaging_product: 'whatsapp', messages: [] } });
    expect(await failureOf(sender.send(request({ type: 'text', text: 'hi' }), context()))).toBeInstanceOf(PermanentProviderError);
    const noToken = await failureOf(
      sender.send(request({ type: 'text', text: 'hi' }), context({ credentials: { phoneNumberId: PHONE_NUMBER_ID } })),
    );
    expect(noToken).toBeInstanceOf(AuthenticationError);
  });

  it('records the parts sent before a failure, so the retry resumes after them', async () => {
    graph.script(
      { status: 200, body: { messaging_product: 'whatsapp', messages: [{ id: 'wamid.PART1' }] } },
      { status: 400, body: graphError(130429, 'Rate limit hit') },
    );
    const ctx = context();
    const error = await failureOf(sender.send(request({ type: 'text', text: `${'a'.repeat(4096)}b` }), ctx));
    expect(error).toBeInstanceOf(RateLimitedError);
    // More parts were to follow when the second failed.
    expect(ctx.onPartSent.mock.calls).toEqual([['wamid.PART1', true]]);
  });

  it('classifies a 429 without a Graph code as a rate limit', () => {
    expect(classifyWhatsAppError(429, undefined)).toMatchObject({ kind: 'rate_limited', code: '429', retryAfterSeconds: 60 });
  });
});

describe('whatsapp sandbox', () => {
  it('answers every send like the Graph API, with a wamid', async () => {
    const sandbox = whatsappConnector.sandbox!;
    const seen: unknown[] = [];
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const body = Buffer.from(String(init?.body ?? ''));
      seen.push(JSON.parse(body.toString('utf8')));
      const answer = sandbox.handle({ method: init?.method ?? 'GET', path: new URL(String(input)).pathname, body });
      return new Response(JSON.stringify(answer.body), { status: answer.statusCode });
    };
    const ctx = context({ fetch, apiBaseUrl: 'http://sandbox.local' });
    const contents: OutboundContent[] = [
      { type: 'text', text: 'Hello', quickReplies: replies(2) },
      { type: 'text', text: 'Pick', quickReplies: replies(5) },
      { type: 'image', media: { id: '1' }, caption: 'Photo' },
      { type: 'file', media: { url: 'https://cdn.example/a.pdf' } },
      { type: 'audio', media: { id: '2' } },
      { type: 'video', media: { id: '3' } },
      { type: 'sticker', media: { id: '4' } },
      { type: 'location', latitude: 37.5, longitude: 127 },
      {
        type: 'text',
        text: 'Confirm?',
        buttons: [
          { type: 'postback', text: 'Yes', payload: 'yes' },
          { type: 'url', text: 'Terms', url: 'https://acme.example/terms' },
        ],
      },
      sizes,
      {
        type: 'template',
        name: 'order_update',
        language: 'en_US',
        header: { type: 'image', media: { url: 'https://cdn.example/h.png' } },
        body: ['A-1029'],
        buttons: [{ index: 0, payload: 'TRACK' }],
      },
    ];
    for (const content of contents) {
      const result = await sender.send(request(content), ctx);
      expect(result.externalIds, content.type).toHaveLength(1);
      expect(result.externalIds[0]).toMatch(/^wamid\.[A-Za-z0-9_-]{32}$/);
    }
    for (const body of seen) assertWhatsAppMessage(body);
  });

  it('answers the success shape of the Graph API, and a Graph error for what the Graph API refuses', () => {
    const sandbox = whatsappConnector.sandbox!;
    const ok = sandbox.handle({
      method: 'POST',
      path: `/v23.0/${PHONE_NUMBER_ID}/messages`,
      body: Buffer.from(JSON.stringify({ ...to, type: 'text', text: { body: 'hi' } })),
    });
    expect(ok).toMatchObject({
      statusCode: 200,
      body: { messaging_product: 'whatsapp', contacts: [{ input: CUSTOMER, wa_id: CUSTOMER }] },
    });
    expect((ok.body as { messages: { id: string }[] }).messages[0]?.id).toMatch(/^wamid\./);
    expect(sandbox.handle({ method: 'POST', path: '/v23.0/me/feed', body: Buffer.from('{}') })).toMatchObject({
      statusCode: 400,
      body: { error: { code: 100 } },
    });
    expect(sandbox.handle({ method: 'POST', path: `/v23.0/${PHONE_NUMBER_ID}/messages`, body: Buffer.from('{"to":') })).toMatchObject({
      statusCode: 400,
    });
    expect(
      sandbox.handle({ method: 'POST', path: `/v23.0/${PHONE_NUMBER_ID}/messages`, body: Buffer.from('{"messaging_product":"whatsapp"}') }),
    ).toMatchObject({ statusCode: 400 });
  });
});
