/**
 * connectors/whatsapp/whatsapp.sender.ts at its edges: the Cloud API bodies at each WhatsApp limit (exactly
 * 3 buttons of 20 characters, row ids of 200, 10 sections, a caption of 1024) and one past it, fields that
 * must not appear (a file name on an image, empty components, an empty location name), the quote, the
 * sending number, and the refusals the integrator reads.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SendContext, SendRequest } from '../../../connectors/connector.ts';
import { whatsappConnector } from '../../../connectors/whatsapp/index.ts';
import { planWhatsAppMessages } from '../../../connectors/whatsapp/whatsapp.sender.ts';
import type { OutboundContent, QuickReply } from '../../../domain/content.ts';
import { createFakeGraph } from '../../helpers/whatsapp-fake-graph.ts';
import { assertWhatsAppMessage } from '../../helpers/whatsapp-spec.ts';
import { PHONE_NUMBER_ID } from './whatsapp.kit.ts';

const CUSTOMER = '16505551234';
const to = { messaging_product: 'whatsapp', recipient_type: 'individual', to: CUSTOMER };
const recipient = { accountId: PHONE_NUMBER_ID, conversation: { externalId: CUSTOMER, kind: 'direct' as const } };
const request = (content: OutboundContent, extra: Partial<SendRequest> = {}): SendRequest => ({
  content,
  recipient,
  sentParts: [],
  ...extra,
});
const plan = (content: OutboundContent, extra: Partial<SendRequest> = {}) => {
  const bodies = planWhatsAppMessages(request(content, extra));
  // Every body must be one the published OpenAPI document accepts.
  for (const body of bodies) assertWhatsAppMessage(body);
  return bodies;
};
const kindOf = (content: OutboundContent) => {
  const [body] = plan(content);
  return body?.['type'] === 'interactive' ? (body['interactive'] as { type: string }).type : body?.['type'];
};
const replies = (n: number, text = (i: number) => `Option ${i + 1}`, payload = (i: number) => `opt_${i}`): QuickReply[] =>
  Array.from({ length: n }, (_, i) => ({ text: text(i), payload: payload(i) }));

describe('whatsapp plan: reply buttons, list or text', () => {
  it('takes exactly 3 quick replies with 20-character titles and 256-character ids as reply buttons', () => {
    const quickReplies = replies(
      3,
      (i) => `${i}`.padEnd(20, 'x'),
      (i) => `${i}`.padEnd(256, 'p'),
    );
    expect(plan({ type: 'text', text: 'Pick', quickReplies })).toEqual([
      {
        ...to,
        type: 'interactive',
        interactive: {
          type: 'button',
          body: { text: 'Pick' },
          action: { buttons: quickReplies.map((q) => ({ type: 'reply', reply: { id: q.payload, title: q.text } })) },
        },
      },
    ]);
  });

  it('falls to a list for a fourth button or one title of 21 characters, and to text for one id of 257', () => {
    expect(kindOf({ type: 'text', text: 'Pick', quickReplies: replies(4) })).toBe('list');
    expect(kindOf({ type: 'text', text: 'Pick', quickReplies: replies(3, (i) => (i === 2 ? 'x'.repeat(21) : `Option ${i}`)) })).toBe(
      'list',
    );
    expect(
      kindOf({ type: 'text', text: 'Pick', quickReplies: replies(3, undefined, (i) => (i === 0 ? 'p'.repeat(257) : `opt_${i}`)) }),
    ).toBe('text');
  });

  it('falls to text for a row id of 201 characters, and keeps one of 200 in the list', () => {
    expect(
      kindOf({ type: 'text', text: 'Pick', quickReplies: replies(4, undefined, (i) => (i === 0 ? 'p'.repeat(200) : `opt_${i}`)) }),
    ).toBe('list');
    expect(
      kindOf({ type: 'text', text: 'Pick', quickReplies: replies(4, undefined, (i) => (i === 0 ? 'p'.repeat(201) : `opt_${i}`)) }),
    ).toBe('text');
  });

  it('keeps a row title of exactly 24 characters whole, without a description', () => {
    const [body] = plan({ type: 'text', text: 'Pick', quickReplies: replies(4, (i) => `${i}`.padEnd(24, 'y')) });
    const rows = (body?.['interactive'] as { action: { sections: { rows: unknown[] }[] } }).action.sections[0]?.rows;
    expect(rows?.[0]).toStrictEqual({ id: 'opt_0', title: '0'.padEnd(24, 'y') });
  });

  it('sends the text alone for an empty list of quick replies', () => {
    expect(plan({ type: 'text', text: 'Hi', quickReplies: [] })).toEqual([
      { ...to, type: 'text', text: { preview_url: false, body: 'Hi' } },
    ]);
  });
});

describe('whatsapp plan: list messages', () => {
  const list = (sections: Extract<OutboundContent, { type: 'list' }>['sections']): OutboundContent => ({
    type: 'list',
    text: 'Pick a slot',
    sections,
  });

  it('shows rows at their limits natively: ids of 200, untitled rows of 72, descriptions of 72', () => {
    expect(
      kindOf(
        list([
          {
            items: [
              { title: 't'.repeat(72), payload: 'p'.repeat(200) },
              { title: 'Morning', description: 'd'.repeat(72), payload: 'am' },
            ],
          },
        ]),
      ),
    ).toBe('list');
  });

  it('writes the list out when one row is past a limit, not only when all are', () => {
    const ok = { title: 'Morning', payload: 'am' };
    for (const item of [
      { title: 'Evening', payload: 'p'.repeat(201) },
      { title: 't'.repeat(73), payload: 'pm' },
      { title: 'Evening', description: 'd'.repeat(73), payload: 'pm' },
    ]) {
      expect(kindOf(list([{ items: [ok, item] }])), JSON.stringify(item).slice(0, 40)).toBe('text');
    }
  });

  it('takes 10 titled sections, and writes out 11, or titled sections mixed with an untitled one', () => {
    const sections = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ title: `Day ${i + 1}`, items: [{ title: `Slot ${i + 1}`, payload: `s${i}` }] }));
    expect(kindOf(list(sections(10)))).toBe('list');
    expect(kindOf(list(sections(11)))).toBe('text');
    expect(
      kindOf(list([{ title: 'Monday', items: [{ title: 'Slot 1', payload: 's1' }] }, { items: [{ title: 'Slot 2', payload: 's2' }] }])),
    ).toBe('text');
  });
});

describe('whatsapp plan: media, templates, locations and quotes', () => {
  it('sends media WhatsApp holds by id even when it has a URL, and a file name on documents only', () => {
    expect(plan({ type: 'image', media: { id: '1166846181421424', url: 'https://cdn.example/a.jpg', fileName: 'a.jpg' } })).toStrictEqual([
      { ...to, type: 'image', image: { id: '1166846181421424' } },
    ]);
    expect(plan({ type: 'file', media: { url: 'https://cdn.example/invoice.pdf', fileName: 'invoice.pdf' } })).toStrictEqual([
      { ...to, type: 'document', document: { link: 'https://cdn.example/invoice.pdf', filename: 'invoice.pdf' } },
    ]);
  });

  it('keeps a caption of exactly 1024 characters on the image, and sends a longer one after it', () => {
    expect(plan({ type: 'image', media: { id: '1' }, caption: 'c'.repeat(1024) })).toEqual([
      { ...to, type: 'image', image: { id: '1', caption: 'c'.repeat(1024) } },
    ]);
    expect(plan({ type: 'image', media: { id: '1' }, caption: 'c'.repeat(1025) })).toEqual([
      { ...to, type: 'image', image: { id: '1' } },
      { ...to, type: 'text', text: { preview_url: false, body: 'c'.repeat(1025) } },
    ]);
  });

  it('sends a template without parameters with no components at all', () => {
    expect(plan({ type: 'template', name: 'hello_world', language: 'en_US' })).toStrictEqual([
      { ...to, type: 'template', template: { name: 'hello_world', language: { policy: 'deterministic', code: 'en_US' } } },
    ]);
  });

  it('refuses a template button with neither payload nor URL suffix, saying which', () => {
    expect(() => plan({ type: 'template', name: 'order_update', language: 'en_US', buttons: [{ index: 1 }] } as OutboundContent)).toThrow(
      expect.objectContaining({ kind: 'invalid_request', message: 'template button 1 needs either a payload or a URL suffix' }),
    );
  });

  it('leaves out an empty location name and address', () => {
    expect(plan({ type: 'location', latitude: 37.5, longitude: 127, name: '', address: '' })).toStrictEqual([
      { ...to, type: 'location', location: { latitude: '37.5', longitude: '127' } },
    ]);
  });

  it('quotes the first body only, by the message part of a contact id, and nothing for an empty id', () => {
    const long = { type: 'text' as const, text: `${'a'.repeat(4096)}\nrest` };
    const bodies = plan(long, {
      replyTo: { externalMessageId: 'wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTdGRjZBMjVGMkQ4RTQ0QkQ4RQA=#contact2' },
    });
    expect(bodies.map((b) => b['context'])).toEqual([
      { message_id: 'wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTdGRjZBMjVGMkQ4RTQ0QkQ4RQA=' },
      undefined,
    ]);
    expect(plan({ type: 'text', text: 'Hi' }, { replyTo: { externalMessageId: '' } })[0]).not.toHaveProperty('context');
  });
});

describe('whatsapp sender: the sending number and refusals', () => {
  const graph = createFakeGraph();
  afterEach(() => graph.reset());
  const context = (credentials: Record<string, string>) =>
    ({ credentials, apiBaseUrl: 'https://graph.test.local', fetch: graph.fetch, onPartSent: vi.fn(async () => {}) }) as SendContext;

  it("sends from the account's configured number, else from the route's", async () => {
    await whatsappConnector.sender.send(request({ type: 'text', text: 'Hi' }), context({ accessToken: 't', phoneNumberId: '1111' }));
    await whatsappConnector.sender.send(request({ type: 'text', text: 'Hi' }), context({ accessToken: 't' }));
    expect(graph.calls.map((c) => c.url)).toEqual([
      expect.stringMatching(/\/1111\/messages$/),
      expect.stringMatching(new RegExp(`/${PHONE_NUMBER_ID}/messages$`)),
    ]);
  });

  it('refuses, saying why, without a phone number id, and actions it does not have', async () => {
    const noNumber = { ...recipient, accountId: '' };
    await expect(
      whatsappConnector.sender.send(request({ type: 'text', text: 'Hi' }, { recipient: noNumber }), context({ accessToken: 't' })),
    ).rejects.toMatchObject({
      kind: 'invalid_request',
      message: 'WhatsApp phone number id is not configured',
    });
    await expect(whatsappConnector.sender.perform('mark_as_read', {}, context({ accessToken: 't' }))).rejects.toMatchObject({
      kind: 'invalid_request',
      message: 'WhatsApp has no action mark_as_read',
    });
    expect(graph.calls).toEqual([]);
  });
});
