/**
 * A thread's messages through the API: reading them (with a merged contact's history), an agent's reply (stored
 * `queued`, which is what queues it: the outbox relay turns the write into one delivery job), what a channel
 * cannot carry, and a failed message sent again.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Message } from '../../domain/conversations/model.ts';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';

let harness: ApiHarness;
beforeEach(async () => {
  harness = await startApiHarness();
});
afterEach(async () => {
  await harness.stop();
});

const SECOND = 1000;
const reply = (threadId: string, body: unknown, headers: Record<string, string> = {}) =>
  harness.post(`/v1/threads/${threadId}/messages`, body, { headers });
const text = (value: string) => ({ content: { type: 'text', text: value } });
const messagesOf = async (threadId: string, query: Record<string, string> = {}) =>
  (await harness.get(`/v1/threads/${threadId}/messages`, { query })).json.items as Message[];
const deliveryJobs = async () => (await harness.outbox()).jobs.filter((job) => job.kind === 'deliver');

describe('GET /v1/threads/{threadId}/messages', () => {
  it('lists messages oldest first, exactly as stored, and pages on with the cursor', async () => {
    const { threadId } = await harness.customerWrites('telegram', '1001', {
      content: { type: 'text', text: 'Ｈｅｌｌｏ café ☕ 👋🏽' },
      displayName: 'Mina Park',
    });
    for (let i = 1; i <= 4; i++) {
      harness.clock.advance(SECOND);
      await harness.customerWrites('telegram', '1001', { content: { type: 'text', text: `message ${i}` } });
    }

    const first = await harness.get(`/v1/threads/${threadId}/messages`, { query: { limit: '2' } });
    const second = await harness.get(`/v1/threads/${threadId}/messages`, { query: { limit: '2', cursor: first.json.nextCursor } });
    const third = await harness.get(`/v1/threads/${threadId}/messages`, { query: { limit: '2', cursor: second.json.nextCursor } });

    expect(first.status).toBe(200);
    expect(
      [...first.json.items, ...second.json.items, ...third.json.items].map((m: Message) => m.content.type === 'text' && m.content.text),
    ).toEqual(['Ｈｅｌｌｏ café ☕ 👋🏽', 'message 1', 'message 2', 'message 3', 'message 4']);
    expect(third.json.nextCursor).toBeUndefined();
    expect(first.json.items[0]).toEqual({
      id: expect.stringMatching(/^msg_/),
      threadId,
      direction: 'inbound',
      channel: 'telegram',
      accountId: 'default',
      externalId: expect.any(String),
      occurredAt: '2026-11-26T10:00:00.000Z',
      author: { role: 'customer', id: expect.stringMatching(/^ct_/), externalUserId: '1001', displayName: 'Mina Park' },
      content: { type: 'text', text: 'Ｈｅｌｌｏ café ☕ 👋🏽' },
      status: 'received',
    });
  });

  it('lists newest first with order=newest', async () => {
    const { threadId } = await harness.customerWrites('telegram', '1001', { content: { type: 'text', text: 'first' } });
    harness.clock.advance(SECOND);
    await harness.customerWrites('telegram', '1001', { content: { type: 'text', text: 'second' } });

    const items = await messagesOf(threadId, { order: 'newest' });

    expect(items.map((m) => m.content.type === 'text' && m.content.text)).toEqual(['second', 'first']);
  });

  it("refuses a cursor of another thread's listing with 400 invalid_cursor", async () => {
    const a = await harness.customerWrites('telegram', '1001');
    await harness.customerWrites('telegram', '1001');
    const b = await harness.customerWrites('telegram', '2002');
    const page = await harness.get(`/v1/threads/${a.threadId}/messages`, { query: { limit: '1' } });

    const response = await harness.get(`/v1/threads/${b.threadId}/messages`, { query: { cursor: page.json.nextCursor } });

    expect(response.status).toBe(400);
    expect(response.json.code).toBe('invalid_cursor');
  });

  it('answers an unknown thread with 404, not an empty page', async () => {
    const response = await harness.get('/v1/threads/th_nope/messages');

    expect(response.status).toBe(404);
    expect(response.json.code).toBe('not_found');
  });
});

describe('POST /v1/threads/{threadId}/messages', () => {
  let threadId: string;
  beforeEach(async () => {
    ({ threadId } = await harness.customerWrites('telegram', '1001'));
    harness.clock.advance(5 * SECOND);
  });

  it('answers 202 with the queued message, stores it, and the write queues exactly one delivery', async () => {
    const agent = await harness.newKey(['write']);

    const response = await harness.post(`/v1/threads/${threadId}/messages`, text('Your parcel left today'), { key: agent.secret });

    expect(response.status).toBe(202);
    expect(response.json).toEqual({
      id: expect.stringMatching(/^msg_/),
      threadId,
      direction: 'outbound',
      channel: 'telegram',
      accountId: 'default',
      occurredAt: '2026-11-26T10:00:05.000Z',
      author: { role: 'agent', id: agent.id },
      content: { type: 'text', text: 'Your parcel left today' },
      status: 'queued',
    });
    const stored = await harness.conversations.getMessage(threadId, response.json.id);
    expect(stored?.value).toMatchObject({ ...response.json, contactId: expect.any(String) });
    expect((await messagesOf(threadId)).at(-1)).toEqual(response.json);
    const created = (await harness.outbox()).events.filter((e) => e.type === 'message.created');
    expect(created).toHaveLength(1);
    expect(await deliveryJobs()).toEqual([
      { kind: 'deliver', channel: 'telegram', threadId, messageId: response.json.id, job: created[0]!.id },
    ]);
  });

  it('queues a reply answered 202 even when the queue refuses the first sends: the relay reads the write again, and queues it once', async () => {
    await harness.stop();
    harness = await startApiHarness({ outboundRefusals: 2 });
    ({ threadId } = await harness.customerWrites('telegram', '1001'));
    const request = () => reply(threadId, text('Your parcel left today'), { 'Idempotency-Key': 'reply-1' });

    const response = await request();
    expect(response.status).toBe(202);
    let jobs = await deliveryJobs();
    for (let i = 0; i < 100 && jobs.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      jobs = await deliveryJobs();
    }

    expect(jobs).toEqual([{ kind: 'deliver', channel: 'telegram', threadId, messageId: response.json.id, job: expect.any(String) }]);
    // The client's retry is answered as the first request was, and queues nothing more.
    expect((await request()).json).toEqual(response.json);
    expect(await deliveryJobs()).toHaveLength(1);
    // And the job sends it.
    expect((await harness.deliverReply(threadId, response.json.id)).kind).toBe('sent');
    expect((await harness.conversations.getMessage(threadId, response.json.id))?.value.status).toBe('sent');
  });

  it("records the thread's first response, and only the first", async () => {
    await reply(threadId, text('first answer'));
    harness.clock.advance(60 * SECOND);
    await reply(threadId, text('second answer'));

    const thread = (await harness.get(`/v1/threads/${threadId}`)).json;

    expect(thread).toMatchObject({
      firstResponseAt: '2026-11-26T10:00:05.000Z',
      lastAgentMessageAt: '2026-11-26T10:01:05.000Z',
      lastMessageAt: '2026-11-26T10:01:05.000Z',
      unread: 0,
    });
  });

  it("sends on the customer's most recent channel by default, and on another of the thread's channels when named", async () => {
    const whatsapp = await harness.customerWrites('whatsapp', '14155550123');
    await harness.post(`/v1/contacts/${whatsapp.contactId}/merge`, {
      contactId: (await harness.conversations.getThread(threadId))?.value.contactId,
    });
    harness.clock.advance(SECOND);
    await harness.customerWrites('telegram', '1001'); // Telegram is now the most recent

    const byDefault = await reply(whatsapp.threadId, text('on telegram'));
    const named = await reply(whatsapp.threadId, { ...text('on whatsapp'), channel: 'whatsapp' });

    expect(byDefault.json).toMatchObject({ channel: 'telegram', threadId: whatsapp.threadId });
    expect(named.json).toMatchObject({ channel: 'whatsapp', threadId: whatsapp.threadId });
  });

  it('refuses a channel the customer has not written on with 422 channel_not_in_thread, storing and queueing nothing', async () => {
    const response = await reply(threadId, { ...text('hi'), channel: 'line' });

    expect(response.status).toBe(422);
    expect(response.json).toEqual({
      code: 'channel_not_in_thread',
      message: 'The customer has not written on line in this thread; its reply channels: telegram',
    });
    expect(await messagesOf(threadId)).toHaveLength(1);
    expect(await deliveryJobs()).toEqual([]);
  });

  it.each([
    [
      'a template on Telegram',
      { content: { type: 'template', name: 'order_update', language: 'en' } },
      'telegram cannot carry template content',
    ],
    ['a message tag on Telegram', { ...text('hi'), messageTag: 'human_agent' }, 'telegram cannot send with the message tag human_agent'],
  ])('refuses %s with 422 unsupported_content, naming what it can carry, storing nothing', async (_case, body, words) => {
    const response = await reply(threadId, body);

    expect(response.status).toBe(422);
    expect(response.json.code).toBe('unsupported_content');
    expect(response.json.message).toContain(words);
    expect(await messagesOf(threadId)).toHaveLength(1);
    expect(await deliveryJobs()).toEqual([]);
  });

  it('keeps a message tag the channel has on the message', async () => {
    const messenger = await harness.customerWrites('messenger', '6789012345678901');

    const response = await reply(messenger.threadId, { ...text('We are still on it'), messageTag: 'human_agent' });

    expect(response.status).toBe(202);
    expect((await harness.conversations.getMessage(messenger.threadId, response.json.id))?.value.messageTag).toBe('human_agent');
  });

  it("refuses a plain reply outside Messenger's 24 hours, naming the HUMAN_AGENT tag, which goes until 7 days have passed", async () => {
    const messenger = await harness.customerWrites('messenger', '6789012345678901');
    harness.clock.advance(25 * 3600 * SECOND);

    const plain = await reply(messenger.threadId, text('Your refund went out'));
    expect(plain.status).toBe(422);
    expect(plain.json).toMatchObject({
      code: 'outside_messaging_window',
      details: { allowedInstead: expect.arrayContaining([expect.stringContaining('human_agent')]) },
    });
    const tagged = await reply(messenger.threadId, { ...text('Your refund went out'), messageTag: 'human_agent' });
    expect(tagged.status).toBe(202);

    harness.clock.advance(6 * 24 * 3600 * SECOND);
    const late = await reply(messenger.threadId, { ...text('Any news?'), messageTag: 'human_agent' });
    expect(late.status).toBe(422);
    expect(late.json.code).toBe('outside_messaging_window');
    // Only the tagged reply within the 7 days was stored and queued.
    expect((await messagesOf(messenger.threadId)).map((m) => m.direction)).toEqual(['inbound', 'outbound']);
    expect(await deliveryJobs()).toEqual([expect.objectContaining({ kind: 'deliver', messageId: tagged.json.id })]);
  });

  it('accepts buttons, lists and media whatever the channel shows natively (its sender degrades the rest)', async () => {
    const bodies = [
      {
        content: {
          type: 'text',
          text: 'Pick one',
          buttons: [
            { type: 'postback', text: 'Resend', payload: 'r' },
            { type: 'url', text: 'Track', url: 'https://example.com/t/1' },
          ],
        },
      },
      {
        content: {
          type: 'list',
          text: 'Delivery slot',
          sections: [
            {
              items: [
                { title: 'Morning', payload: 'am' },
                { title: 'Evening', payload: 'pm' },
              ],
            },
          ],
        },
      },
      { content: { type: 'image', media: { url: 'https://example.com/receipt.png' }, caption: 'Your receipt' } },
      { content: { type: 'location', latitude: 37.5665, longitude: 126.978, name: 'Seoul pickup point' } },
    ];

    const statuses = [];
    for (const body of bodies) {
      statuses.push((await reply(threadId, body)).status);
      harness.clock.advance(1);
    }

    expect(statuses).toEqual([202, 202, 202, 202]);
    expect((await messagesOf(threadId)).map((m) => m.content.type)).toEqual(['text', 'text', 'list', 'image', 'location']);
  });

  it('gives ids that sort in the order the replies were made', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await reply(threadId, text(`reply ${i}`))).json.id);
      harness.clock.advance(1);
    }

    expect([...ids].sort()).toEqual(ids);
    expect((await messagesOf(threadId)).slice(1).map((m) => m.id)).toEqual(ids);
  });

  it('answers an unknown thread with 404 not_found', async () => {
    expect((await reply('th_nope', text('hi'))).json).toMatchObject({ code: 'not_found' });
  });
});

describe('POST /v1/threads/{threadId}/messages/{messageId}/retry', () => {
  let threadId: string;
  beforeEach(async () => {
    ({ threadId } = await harness.customerWrites('telegram', '1001'));
  });

  it('queues a failed message again: 202 queued, its failure cleared, one more delivery job; and it is then sent', async () => {
    const posted = await reply(threadId, text('Are you there?'));
    const outcome = await harness.deliverReply(threadId, posted.json.id, { providerDown: true });
    expect(outcome.kind).toBe('exhausted');
    expect((await harness.conversations.getMessage(threadId, posted.json.id))?.value).toMatchObject({
      status: 'failed',
      failure: { kind: 'retryable' },
    });
    expect(await deliveryJobs()).toHaveLength(1);

    const retried = await harness.post(`/v1/threads/${threadId}/messages/${posted.json.id}/retry`, undefined);

    expect(retried.status).toBe(202);
    expect(retried.json).toMatchObject({ id: posted.json.id, status: 'queued' });
    expect(retried.json).not.toHaveProperty('failure');
    expect((await harness.conversations.getMessage(threadId, posted.json.id))?.value.status).toBe('queued');
    expect(await deliveryJobs()).toEqual([
      { kind: 'deliver', channel: 'telegram', threadId, messageId: posted.json.id, job: expect.stringMatching(/^evt_/) },
      { kind: 'deliver', channel: 'telegram', threadId, messageId: posted.json.id, job: expect.stringMatching(/^evt_/) },
    ]);

    expect((await harness.deliverReply(threadId, posted.json.id)).kind).toBe('sent');
    expect((await messagesOf(threadId)).find((m) => m.id === posted.json.id)).toMatchObject({
      status: 'sent',
      externalId: expect.any(String),
    });
  });

  it.each([
    ['queued', async (id: string) => id],
    [
      'sent',
      async (id: string) => {
        await harness.deliverReply(threadId, id);
        return id;
      },
    ],
  ])('refuses a %s message with 422 invalid_status_change, changing nothing', async (status, prepare) => {
    const posted = await reply(threadId, text('hello'));
    const id = await prepare(posted.json.id);
    const before = await harness.conversations.getMessage(threadId, id);

    const response = await harness.post(`/v1/threads/${threadId}/messages/${id}/retry`, undefined);

    expect(response.status).toBe(422);
    expect(response.json).toMatchObject({ code: 'invalid_status_change', message: expect.stringContaining(`outbound and ${status}`) });
    expect(await harness.conversations.getMessage(threadId, id)).toEqual(before);
  });

  it("refuses a customer's message with 422", async () => {
    const [inbound] = await messagesOf(threadId);

    const response = await harness.post(`/v1/threads/${threadId}/messages/${inbound?.id}/retry`, undefined);

    expect(response.status).toBe(422);
    expect(response.json.message).toContain('inbound');
  });

  it('answers an unknown message with 404', async () => {
    expect((await harness.post(`/v1/threads/${threadId}/messages/msg_nope/retry`, undefined)).status).toBe(404);
  });
});
