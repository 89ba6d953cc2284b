import { describe, expect, it } from 'vitest';
import { assertLineRequest, lineMessagingSchemaViolations, lineRequestViolations, lineWebhookViolations } from '../../helpers/line-spec.ts';

const USER = 'U1a2b3c4d5e6f708192a3b4c5d6e7f801';
const KEY = '123e4567-e89b-12d3-a456-426614174000';
const text = (extra: Record<string, unknown> = {}) => ({ type: 'text', text: 'hi', ...extra });
const postback = (data: string) => ({ type: 'action', action: { type: 'postback', label: 'Yes', data, displayText: 'Yes' } });
const buttons = (template: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  type: 'template',
  altText: 'Pick one',
  template: {
    type: 'buttons',
    text: 'Pick one',
    actions: [
      { type: 'postback', label: 'Yes', data: 'yes', displayText: 'Yes' },
      { type: 'uri', label: 'Terms', uri: 'https://a.example/t' },
    ],
    ...template,
  },
  ...extra,
});

describe('LINE spec check (test helper)', () => {
  it('accepts bodies the Messaging API documents', () => {
    expect(
      lineRequestViolations(
        'push',
        { to: USER, messages: [text({ quickReply: { items: [postback('yes')] } })] },
        { 'x-line-retry-key': KEY },
      ),
    ).toEqual([]);
    expect(
      lineRequestViolations('reply', { replyToken: 'r', messages: [{ type: 'sticker', packageId: '446', stickerId: '1988' }] }),
    ).toEqual([]);
    expect(
      lineRequestViolations('push', {
        to: USER,
        messages: [{ type: 'location', title: 't', address: 'a', latitude: 35.6, longitude: 139.7 }],
      }),
    ).toEqual([]);
    expect(() =>
      assertLineRequest('push', {
        to: USER,
        messages: [{ type: 'image', originalContentUrl: 'https://a.example/p.jpg', previewImageUrl: 'https://a.example/p.jpg' }],
      }),
    ).not.toThrow();
    expect(lineRequestViolations('push', { to: USER, messages: [text(), buttons()] })).toEqual([]);
  });

  it.each([
    ['no messages', 'push', { to: USER, messages: [] }, '/messages must NOT have fewer than 1 items'],
    ['six messages', 'push', { to: USER, messages: Array(6).fill(text()) }, '/messages must NOT have more than 5 items'],
    ['no recipient', 'push', { messages: [text()] }, "must have required property 'to'"],
    [
      'an unknown message type',
      'push',
      { to: USER, messages: [{ type: 'file', url: 'x' }] },
      '/messages/0/type must be equal to one of the allowed values',
    ],
    ['a misspelt field', 'push', { to: USER, messages: [text({ quickreply: {} })] }, "unevaluated properties 'quickreply'"],
    [
      'an image without preview',
      'reply',
      { replyToken: 'r', messages: [{ type: 'image', originalContentUrl: 'https://a.example/p.jpg' }] },
      "required property 'previewImageUrl'",
    ],
    [
      'an audio without duration',
      'push',
      { to: USER, messages: [{ type: 'audio', originalContentUrl: 'https://a.example/a.m4a' }] },
      "required property 'duration'",
    ],
    [
      'a location without address',
      'push',
      { to: USER, messages: [{ type: 'location', title: 't', latitude: 1, longitude: 2 }] },
      "required property 'address'",
    ],
    [
      'fourteen quick replies',
      'push',
      { to: USER, messages: [text({ quickReply: { items: Array(14).fill(postback('x')) } })] },
      'must NOT have more than 13 items',
    ],
    [
      'postback data over 300 characters',
      'push',
      { to: USER, messages: [text({ quickReply: { items: [postback('x'.repeat(301))] } })] },
      'must NOT have more than 300 characters',
    ],
    ['a template without altText', 'push', { to: USER, messages: [buttons({}, { altText: undefined })] }, "required property 'altText'"],
    ['a buttons template without text', 'push', { to: USER, messages: [buttons({ text: undefined })] }, "required property 'text'"],
    [
      'a misspelt template action field',
      'push',
      { to: USER, messages: [buttons({ actions: [{ type: 'uri', label: 'x', url: 'https://a.example' }] })] },
      "unevaluated properties 'url'",
    ],
    [
      'an unknown action type',
      'push',
      { to: USER, messages: [text({ quickReply: { items: [{ type: 'action', action: { type: 'teleport', label: 'x' } }] } })] },
      'must be equal to one of the allowed values',
    ],
  ])('rejects %s', (_name, operation, body, violation) => {
    const violations = lineRequestViolations(operation as 'push' | 'reply', body);
    expect(violations.join('\n')).toContain(violation);
    expect(() => assertLineRequest(operation as 'push' | 'reply', body)).toThrow(/invalid LINE/);
  });

  it('checks the retry key header', () => {
    expect(lineRequestViolations('push', { to: USER, messages: [text()] }, { 'x-line-retry-key': 'not-a-uuid' })).toEqual([
      'X-Line-Retry-Key not-a-uuid is not a UUID',
    ]);
    expect(lineRequestViolations('reply', { replyToken: 'r', messages: [text()] }, { 'x-line-retry-key': KEY })).toEqual([
      'X-Line-Retry-Key is not a parameter of reply',
    ]);
  });

  it('checks responses: sentMessages with ids', () => {
    expect(lineMessagingSchemaViolations('ReplyMessageResponse', { sentMessages: [{ id: '1', quoteToken: 'q' }] })).toEqual([]);
    expect(lineMessagingSchemaViolations('ReplyMessageResponse', { sentMessages: [{ quoteToken: 'q' }] })).not.toEqual([]);
  });

  const event = (extra: Record<string, unknown>) => ({
    type: 'message',
    timestamp: 1773448013123,
    mode: 'active',
    webhookEventId: '01JPB7Q4M5N6P7Q8R9S0T1V2W3',
    deliveryContext: { isRedelivery: false },
    source: { type: 'user', userId: USER },
    replyToken: 'r',
    message: { type: 'text', id: '1', text: 'hi', quoteToken: 'q' },
    ...extra,
  });
  const callback = (events: unknown[], destination = 'U4af4980629c0a3b6b4f3c4d5e6f7a8b9') => ({ destination, events });

  it('accepts documented webhooks, and unknown event types by their common fields', () => {
    expect(lineWebhookViolations(callback([]))).toEqual([]);
    expect(lineWebhookViolations(callback([event({})]))).toEqual([]);
    expect(lineWebhookViolations(callback([event({ type: 'somethingNew', message: undefined, anything: 1 })]))).toEqual([]);
  });

  it.each([
    ['a destination that is not a bot user id', callback([], 'C123'), '/destination must match pattern'],
    ['an event without webhookEventId', callback([event({ webhookEventId: undefined })]), "required property 'webhookEventId'"],
    ['an unknown event without the common fields', callback([{ type: 'somethingNew' }]), "required property 'timestamp'"],
    [
      'a text message without quoteToken',
      callback([event({ message: { type: 'text', id: '1', text: 'hi' } })]),
      "required property 'quoteToken'",
    ],
    [
      'a misspelt message field',
      callback([event({ message: { type: 'text', id: '1', text: 'hi', quoteToken: 'q', emoji: [] } })]),
      "unevaluated properties 'emoji'",
    ],
    ['a group source without groupId', callback([event({ source: { type: 'group', userId: USER } })]), "required property 'groupId'"],
  ])('rejects %s', (_name, body, violation) => {
    expect(lineWebhookViolations(JSON.parse(JSON.stringify(body))).join('\n')).toContain(violation);
  });
});
