/**
 * connectors/line/line.sender.ts at its edges: the message objects planned at each limit (a payload of one
 * character and one over 300, an audio of no length), the ids Parley keeps when LINE lists no sent
 * messages, the number of calls for exactly five objects, and the refusals the integrator reads.
 */
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { OutboundContent } from '../../../domain/content.ts';
import type { ReplyHandle } from '../../../domain/events.ts';
import type { Recipient, SendContext, SendRequest } from '../../../connectors/connector.ts';
import { lineConnector } from '../../../connectors/line/index.ts';
import { lineRetryKey } from '../../../connectors/line/line.api.ts';
import { planLineMessages } from '../../../connectors/line/line.sender.ts';
import { startFakeLine, type FakeLine } from '../../helpers/fake-line.ts';

const USER = 'U1a2b3c4d5e6f708192a3b4c5d6e7f801';
const MESSAGE_ID = 'msg_3bN7xQ2vK9pLm4Rt8YwZ1a';
const RECIPIENT: Recipient = { accountId: 'U4af4980629c0a3b6b4f3c4d5e6f7a8b9', conversation: { externalId: USER, kind: 'direct' } };
const sender = lineConnector.sender;

const request = (content: OutboundContent, extra: Partial<SendRequest> & { replyHandle?: ReplyHandle } = {}): SendRequest => {
  const { replyHandle, ...rest } = extra;
  return { messageId: MESSAGE_ID, content, recipient: replyHandle ? { ...RECIPIENT, replyHandle } : RECIPIENT, sentParts: [], ...rest };
};
const plan = (content: OutboundContent) => planLineMessages(request(content));
const invalid = (content: OutboundContent, message: string) =>
  expect(() => plan(content)).toThrow(expect.objectContaining({ kind: 'invalid_request', message }));

describe('line plan: limits', () => {
  const postback = (label: string, data: string) => ({ type: 'action', action: { type: 'postback', label, data, displayText: label } });

  it('offers a one-character payload as a quick reply', () => {
    expect(plan({ type: 'text', text: 'OK?', quickReplies: [{ text: 'Yes', payload: 'y' }] })).toEqual([
      { type: 'text', text: 'OK?', quickReply: { items: [postback('Yes', 'y')] } },
    ]);
  });

  it('writes all quick replies out when one payload of several is over 300 characters', () => {
    const content: OutboundContent = {
      type: 'text',
      text: 'OK?',
      quickReplies: [
        { text: 'Yes', payload: 'y' },
        { text: 'No', payload: 'n'.repeat(301) },
      ],
    };
    expect(plan(content)).toEqual([{ type: 'text', text: 'OK?\n\n1. Yes\n2. No' }]);
  });

  it('sends no quickReply object for an empty list of quick replies', () => {
    expect(plan({ type: 'text', text: 'OK?', quickReplies: [] })).toEqual([{ type: 'text', text: 'OK?' }]);
  });

  it('sends a video as a link under its caption, named by its file name', () => {
    expect(plan({ type: 'video', media: { url: 'https://cdn.example/v.mp4', fileName: 'unboxing.mp4' }, caption: 'Watch this' })).toEqual([
      { type: 'text', text: 'Watch this\nunboxing.mp4: https://cdn.example/v.mp4' },
    ]);
  });

  it('sends audio of no known length as a link, and audio with a length as audio in milliseconds', () => {
    expect(plan({ type: 'audio', media: { url: 'https://cdn.example/a.m4a', durationSeconds: 0 } })).toEqual([
      { type: 'text', text: 'https://cdn.example/a.m4a' },
    ]);
    expect(plan({ type: 'audio', media: { url: 'https://cdn.example/a.m4a', durationSeconds: 1.2345 } })).toEqual([
      { type: 'audio', originalContentUrl: 'https://cdn.example/a.m4a', duration: 1235 },
    ]);
  });

  it('names a file without a name "File"', () => {
    expect(plan({ type: 'file', media: { url: 'https://cdn.example/invoice.pdf' } })).toEqual([
      { type: 'text', text: 'File: https://cdn.example/invoice.pdf' },
    ]);
  });
});

describe('line plan: refusals', () => {
  it('says which media LINE cannot fetch and why', () => {
    invalid({ type: 'image', media: { id: '123' } }, 'LINE sends image by HTTPS URL only, and this image has none');
    invalid({ type: 'video', media: { url: 'http://cdn.example/v.mp4' } }, 'LINE fetches video over HTTPS only: http://cdn.example/v.mp4');
    invalid({ type: 'audio', media: { url: 'http://cdn.example/a.m4a' } }, 'LINE fetches audio over HTTPS only: http://cdn.example/a.m4a');
    invalid({ type: 'file', media: { url: 'http://cdn.example/f.pdf' } }, 'LINE fetches file over HTTPS only: http://cdn.example/f.pdf');
  });

  it('takes a sticker id only as exactly "<packageId>:<stickerId>"', () => {
    expect(plan({ type: 'sticker', media: { id: '11537:52002734' } })).toEqual([
      { type: 'sticker', packageId: '11537', stickerId: '52002734' },
    ]);
    for (const id of ['x11537:52002734', '11537:52002734x']) {
      invalid({ type: 'sticker', media: { id } }, 'a LINE sticker is sent by id "<packageId>:<stickerId>"');
    }
    invalid({ type: 'sticker', media: { url: 'https://cdn.example/s.png' } }, 'a LINE sticker is sent by id "<packageId>:<stickerId>"');
  });

  it('refuses provider templates and actions, saying so', async () => {
    invalid({ type: 'template', name: 'order_update', language: 'en' }, 'LINE has no provider-approved templates');
    await expect(sender.perform('typing', {}, {} as SendContext)).rejects.toMatchObject({
      kind: 'invalid_request',
      message: 'LINE has no action typing',
    });
  });
});

describe('line sender: calls and ids', () => {
  let fake: FakeLine;
  beforeAll(async () => {
    fake = await startFakeLine();
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(() => fake.reset());

  const context = () =>
    ({
      credentials: { channelAccessToken: 'token' },
      apiBaseUrl: fake.baseUrl,
      fetch: globalThis.fetch,
      onPartSent: vi.fn(async () => {}),
    }) as SendContext;
  /** A text of `n` parts of 5000 characters each. */
  const parts = (n: number): OutboundContent => ({
    type: 'text',
    text: Array.from({ length: n }, (_, i) => String(i).repeat(5000)).join('\n'),
  });

  it('makes one push for exactly five message objects', async () => {
    await sender.send(request(parts(5)), context());
    expect(fake.calls.map((c) => (c.body['messages'] as unknown[]).length)).toEqual([5]);
  });

  it('derives ids from the retry key and the part number when LINE lists no sent messages', async () => {
    fake.answerNext({ status: 200, body: {} });
    fake.answerNext({ status: 200, body: {} });
    const result = await sender.send(request(parts(7)), context());
    const first = lineRetryKey(MESSAGE_ID, 0);
    const second = lineRetryKey(MESSAGE_ID, 5);
    expect(result.externalIds).toEqual([0, 1, 2, 3, 4].map((i) => `push-${first}:${i}`).concat([`push-${second}:5`, `push-${second}:6`]));
  });

  it('derives ids from a hash of the reply token when a reply lists no sent messages', async () => {
    fake.answerNext({ status: 200, body: {} });
    const token = 'nHuyWiB7yP5Zw52FIkcQobQuGDXCTA';
    const result = await sender.send(
      request(parts(2), { replyHandle: { value: token, expiresAt: new Date(Date.now() + 60_000).toISOString() } }),
      context(),
    );
    const prefix = `reply-${createHash('sha256').update(token).digest('hex').slice(0, 24)}`;
    expect(fake.calls.map((c) => c.path)).toEqual(['/v2/bot/message/reply']);
    expect(result.externalIds).toEqual([`${prefix}:0`, `${prefix}:1`]);
  });

  it('pushes when the reply handle is empty', async () => {
    await sender.send(
      request({ type: 'text', text: 'Hi' }, { replyHandle: { value: '', expiresAt: new Date(Date.now() + 60_000).toISOString() } }),
      context(),
    );
    expect(fake.calls.map((c) => c.path)).toEqual(['/v2/bot/message/push']);
  });
});
