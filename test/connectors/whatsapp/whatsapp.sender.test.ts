import { afterEach, describe, expect, it, vi } from 'vitest';
import { quickRepliesAsText, type SendContext, type SendRequest } from '../../../connectors/connector.ts';
import { whatsappConnector } from '../../../connectors/whatsapp/index.ts';
import { classifyWhatsAppError } from '../../../connectors/whatsapp/whatsapp.api.ts';
import { planWhatsAppMessages, templateBody } from '../../../connectors/whatsapp/whatsapp.sender.ts';
import type { OutboundContent, QuickReply } from '../../../domain/content.ts';
import {
  AuthenticationError,
  InvalidRequestError,
  PermanentProviderError,
  RateLimitedError,
  RetryableProviderError,
} from '../../../domain/provider-errors.ts';
import { createFakeGraph, graphError } from '../../helpers/whatsapp-fake-graph.ts';
import { assertWhatsAppMessage, whatsappMessageViolations } from '../../helpers/whatsapp-spec.ts';
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
    expect(call?.body).toEqual({ ...to, type: 'text', text: { preview_url: false, body: 'Your order A-1029 shipped: https://acme.example/t/1' } });
    expect(result.externalIds).toEqual(['wamid.FAKE0001']);
    expect(ctx.onPartSent).toHaveBeenCalledWith('wamid.FAKE0001');
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
    await sender.send(request({ type: 'text', text: `${'x'.repeat(4096)}tail` }, { replyTo: { externalMessageId: 'wamid.IN1' } }), context());
    expect(bodies()[0]).toMatchObject({ context: { message_id: 'wamid.IN1' } });
    expect(bodies()[1]).not.toHaveProperty('context');
  });

  it('addresses a group by its id, with recipient_type group', () => {
    const group = { accountId: PHONE_NUMBER_ID, conversation: { externalId: 'Y2FwaV9ncm91cDoxNjUwNTU1MTIzNDoxMjAzNjM0MDI0NzA2MTA3MjQ=', kind: 'group' as const } };
    const [body] = planWhatsAppMessages(request({ type: 'text', text: 'Hello all' }, { recipient: group }));
    expect(body).toMatchObject({ recipient_type: 'group', to: group.conversation.externalId });
    expect(whatsappMessageViolations(body)).toBe('');
  });

  it('quotes a second shared contact by the id of its message', () => {
    const [body] = planWhatsAppMessages(request({ type: 'text', text: 'Got it' }, { replyTo: { externalMessageId: 'wamid.IN2#contact2' } }));
    expect(body).toMatchObject({ context: { message_id: 'wamid.IN2' } });
  });
});

describe('whatsapp sender: quick replies', () => {
  it('sends up to 3 short quick replies as reply buttons', async () => {
    const quickReplies = [{ text: 'Standard', payload: 'ship:std' }, { text: 'Express 🚀', payload: 'ship:exp' }];
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
    await sender.send(request({ type: 'text', text: 'Pick one', quickReplies: [{ text: 'A label of twenty-one', payload: 'p' }] }), context());
    const [list, long] = bodies();
    expect(list).toMatchObject({ type: 'interactive', interactive: { type: 'list', body: { text: 'Pick a size' }, action: { button: 'Options' } } });
    const rows = (list?.['interactive'] as { action: { sections: { rows: unknown[] }[] } }).action.sections[0]?.rows;
    expect(rows).toHaveLength(10);
    expect(rows?.[0]).toEqual({ id: 'opt:1', title: 'Option 1' });
    expect(long).toMatchObject({ interactive: { type: 'list', action: { sections: [{ rows: [{ id: 'p', title: 'A label of twenty-one' }] }] } } });
  });

  it('shortens a row title over 24 characters and keeps the whole label in the description', async () => {
    const label = 'Deliver to my office address instead';
    await sender.send(request({ type: 'text', text: 'Where?', quickReplies: [...replies(3), { text: label, payload: 'office' }] }), context());
    const rows = (bodies()[0]?.['interactive'] as { action: { sections: { rows: Record<string, string>[] }[] } }).action.sections[0]?.rows;
    expect(rows?.[3]).toEqual({ id: 'office', title: 'Deliver to my office ad…', description: label });
  });

  it('falls back to a numbered text beyond 10 quick replies, or when a payload is too long for a row id', async () => {
    await sender.send(request({ type: 'text', text: 'Pick a store', quickReplies: replies(11) }), context());
    await sender.send(request({ type: 'text', text: 'Pick', quickReplies: [...replies(4), { text: 'Long', payload: 'x'.repeat(201) }] }), context());
    const [many, longPayload] = bodies();
    expect(many).toEqual({ ...to, type: 'text', text: { preview_url: false, body: quickRepliesAsText('Pick a store', replies(11)) } });
    expect(longPayload).toMatchObject({ type: 'text' });
  });

  it('sends what does not fit an interactive body (1024) as text first, buttons on the last part', async () => {
    const text = `${'a'.repeat(1000)}\n${'b'.repeat(500)}`;
    await sender.send(request({ type: 'text', text, quickReplies: replies(2) }, { replyTo: { externalMessageId: 'wamid.IN1' } }), context());
    expect(bodies().map((b) => b['type'])).toEqual(['text', 'interactive']);
    expect(bodies()[0]).toMatchObject({ context: { message_id: 'wamid.IN1' }, text: { body: 'a'.repeat(1000) } });
    expect(bodies()[1]).toMatchObject({ interactive: { body: { text: 'b'.repeat(500) } } });
  });
});

describe('whatsapp sender: media and location', () => {
  it('sends media WhatsApp holds by id and other media by link, captions where WhatsApp takes them', async () => {
    await sender.send(request({ type: 'image', media: { id: '1003383421387256' }, caption: 'Your receipt' }), context());
    await sender.send(request({ type: 'video', media: { url: 'https://cdn.example/v.mp4' }, caption: 'How to' }), context());
    await sender.send(request({ type: 'file', media: { url: 'https://cdn.example/i.pdf', fileName: 'invoice.pdf' }, caption: 'Invoice' }), context());
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
    await sender.send(request({ type: 'location', latitude: 37.44221496582, longitude: -122.16165924072, name: 'Philz Coffee', address: '101 Forest Ave' }), context());
    expect(bodies()).toEqual([
      { ...to, type: 'location', location: { latitude: '37.44221496582', longitude: '-122.16165924072', name: 'Philz Coffee', address: '101 Forest Ave' } },
    ]);
  });
});

describe('whatsapp templates (no Parley content type yet)', () => {
  it('renders a template body the OpenAPI document accepts', () => {
    const body = templateBody(recipient, { name: 'order_update', languageCode: 'en_US', bodyParameters: ['A-1029'] });
    expect(body).toEqual({
      ...to,
      type: 'template',
      template: { name: 'order_update', language: { policy: 'deterministic', code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'A-1029' }] }] },
    });
    expect(whatsappMessageViolations(body)).toBe('');
    expect(whatsappMessageViolations(templateBody(recipient, { name: 'hello_world', languageCode: 'en_US' }))).toBe('');
  });
});

describe('the OpenAPI check itself', () => {
  it('refuses bodies WhatsApp would refuse', () => {
    const buttons = (n: number, title = 'Yes') => ({
      ...to,
      type: 'interactive',
      interactive: { type: 'button', body: { text: 'Q' }, action: { buttons: Array.from({ length: n }, (_, i) => ({ type: 'reply', reply: { id: `b${i}`, title } })) } },
    });
    expect(whatsappMessageViolations(buttons(3))).toBe('');
    expect(whatsappMessageViolations(buttons(4))).not.toBe('');
    expect(whatsappMessageViolations(buttons(1, 'x'.repeat(21)))).not.toBe('');
    expect(whatsappMessageViolations({ ...to, type: 'text', text: { body: 'hi' }, unknown: true })).not.toBe('');
    const { recipient_type: _omitted, ...withoutRecipientType } = to;
    expect(whatsappMessageViolations({ ...withoutRecipientType, type: 'text', text: { body: 'hi' } })).not.toBe('');
    expect(whatsappMessageViolations({ ...to, type: 'image', image: { id: '1', link: 'https://x.example/a.png' } })).not.toBe('');
  });
});

describe('whatsapp sender: errors', () => {
  const fail = async (status: number, body: unknown, headers?: Record<string, string>) => {
    graph.script({ status, body, ...(headers && { headers }) });
    return failureOf(sender.send(request({ type: 'text', text: 'hi' }), context()));
  };

  it('classifies Graph errors by code, keeping the code and the title', async () => {
    const window = await fail(400, graphError(131047, 'Re-engagement message', { error_data: { details: 'More than 24 hours have passed.' } }));
    expect(window).toBeInstanceOf(PermanentProviderError);
    expect(window).toMatchObject({ code: '131047', recipientUnreachable: false, message: '(#131047) Re-engagement message: More than 24 hours have passed.' });

    const undeliverable = await fail(400, graphError(131026, 'Message undeliverable'));
    expect(undeliverable).toBeInstanceOf(PermanentProviderError);
    expect(undeliverable).toMatchObject({ code: '131026', recipientUnreachable: true });

    expect(await fail(401, graphError(190, 'Error validating access token: Session has expired'))).toBeInstanceOf(AuthenticationError);
    expect(await fail(400, graphError(100, 'Invalid parameter'))).toBeInstanceOf(InvalidRequestError);
    expect(await fail(500, graphError(2, 'Service temporarily unavailable', { is_transient: true }))).toBeInstanceOf(RetryableProviderError);
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
    const noToken = await failureOf(sender.send(request({ type: 'text', text: 'hi' }), context({ credentials: { phoneNumberId: PHONE_NUMBER_ID } })));
    expect(noToken).toBeInstanceOf(AuthenticationError);
  });

  it('records the parts sent before a failure, so the retry resumes after them', async () => {
    graph.script({ status: 200, body: { messaging_product: 'whatsapp', messages: [{ id: 'wamid.PART1' }] } }, { status: 400, body: graphError(130429, 'Rate limit hit') });
    const ctx = context();
    const error = await failureOf(sender.send(request({ type: 'text', text: `${'a'.repeat(4096)}b` }), ctx));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(ctx.onPartSent.mock.calls).toEqual([['wamid.PART1']]);
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
    const ok = sandbox.handle({ method: 'POST', path: `/v23.0/${PHONE_NUMBER_ID}/messages`, body: Buffer.from(JSON.stringify({ ...to, type: 'text', text: { body: 'hi' } })) });
    expect(ok).toMatchObject({ statusCode: 200, body: { messaging_product: 'whatsapp', contacts: [{ input: CUSTOMER, wa_id: CUSTOMER }] } });
    expect((ok.body as { messages: { id: string }[] }).messages[0]?.id).toMatch(/^wamid\./);
    expect(sandbox.handle({ method: 'POST', path: '/v23.0/me/feed', body: Buffer.from('{}') })).toMatchObject({ statusCode: 400, body: { error: { code: 100 } } });
    expect(sandbox.handle({ method: 'POST', path: `/v23.0/${PHONE_NUMBER_ID}/messages`, body: Buffer.from('{"to":') })).toMatchObject({ statusCode: 400 });
    expect(sandbox.handle({ method: 'POST', path: `/v23.0/${PHONE_NUMBER_ID}/messages`, body: Buffer.from('{"messaging_product":"whatsapp"}') })).toMatchObject({ statusCode: 400 });
  });
});
