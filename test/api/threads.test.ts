/**
 * Threads through the API: the inbox listing (every filter, newest activity first, pages without duplicates or
 * gaps), the listing by a person's channel id, one thread, its status (snooze), tags, attributes and notes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Thread } from '../../domain/conversations/model.ts';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';

let harness: ApiHarness;
beforeEach(async () => {
  harness = await startApiHarness();
});
afterEach(async () => {
  await harness.stop();
});

const MINUTE = 60_000;
const ids = (items: readonly { id: string }[]) => items.map((t) => t.id);
const list = async (query: Record<string, string> | string = {}) => {
  const response = await harness.get('/v1/threads', { query });
  if (response.status !== 200) throw new Error(`listing answered ${response.status}: ${response.text}`);
  return response.json as { items: Thread[]; nextCursor?: string };
};
/** Every page of a listing, following nextCursor. */
const allPages = async (query: Record<string, string>) => {
  const pages: Thread[][] = [];
  let cursor: string | undefined;
  do {
    const page = await list({ ...query, ...(cursor && { cursor }) });
    pages.push(page.items);
    cursor = page.nextCursor;
  } while (cursor !== undefined && pages.length < 50);
  return pages;
};
const patch = (threadId: string, body: unknown) => harness.patch(`/v1/threads/${threadId}`, body);

/** Customers who each write once, a minute apart: the last one has the newest activity. */
const customers = async (count: number, channel: 'telegram' | 'whatsapp' | 'line' = 'telegram') => {
  const threads: string[] = [];
  for (let i = 0; i < count; i++) {
    harness.clock.advance(MINUTE);
    threads.push((await harness.customerWrites(channel, `${channel}-${i}`)).threadId);
  }
  return threads;
};

describe('GET /v1/threads', () => {
  it('lists every thread, newest activity first, with what the contract promises of a thread', async () => {
    const [first, second, third] = await customers(3);
    harness.clock.advance(MINUTE);
    await harness.customerWrites('telegram', 'telegram-0'); // the first customer writes again

    const page = await list();

    expect(ids(page.items)).toEqual([first, third, second]);
    expect(page.nextCursor).toBeUndefined();
    expect(page.items[0]).toMatchObject({
      id: first,
      contactId: expect.any(String),
      status: 'open',
      channels: ['telegram'],
      createdAt: '2026-11-26T10:01:00.000Z',
      lastMessageAt: '2026-11-26T10:04:00.000Z',
      updatedAt: '2026-11-26T10:04:00.000Z',
      unread: 2,
    });
    expect(page.items[0]).not.toHaveProperty('counted');
  });

  it('pages with limit and cursor: every thread once, none skipped, in order', async () => {
    const threads = await customers(7);

    const pages = await allPages({ limit: '3' });

    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(pages.flat().map((t) => t.id)).toEqual([...threads].reverse());
  });

  it('pages across several statuses as one sequence', async () => {
    const threads = await customers(6);
    // Every other thread pending: the listing merges two index partitions.
    for (const id of threads.filter((_, i) => i % 2 === 0)) {
      expect((await patch(id, { status: 'pending' })).status).toBe(200);
      harness.clock.advance(1000);
    }

    const pages = await allPages({ status: 'open,pending', limit: '2' });

    expect(pages.flat()).toHaveLength(6);
    expect(new Set(ids(pages.flat())).size).toBe(6);
    const updated = pages.flat().map((t) => Date.parse(t.updatedAt));
    expect(updated).toEqual([...updated].sort((a, b) => b - a));
  });

  it('never repeats a thread already listed when it becomes active between pages', async () => {
    const threads = await customers(5);
    const first = await list({ limit: '2' });
    expect(ids(first.items)).toEqual([threads[4], threads[3]]);

    harness.clock.advance(MINUTE);
    await harness.customerWrites('telegram', 'telegram-4');
    const rest = await allPages({ limit: '2', cursor: first.nextCursor ?? '' });

    expect(ids(rest.flat())).toEqual([threads[2], threads[1], threads[0]]);
  });

  it('answers 50 threads when no limit is given, and at most 100', async () => {
    await customers(51);

    const page = await list();

    expect(page.items).toHaveLength(50);
    expect(page.nextCursor).toEqual(expect.any(String));
  });

  it('filters by status, one or several', async () => {
    const [a, b, c] = await customers(3);
    await patch(a ?? '', { status: 'resolved' });
    await patch(b ?? '', { status: 'pending' });

    expect(ids((await list({ status: 'resolved' })).items)).toEqual([a]);
    expect(ids((await list({ status: 'open' })).items)).toEqual([c]);
    expect(ids((await list({ status: 'pending,resolved' })).items).sort()).toEqual([a, b].sort());
    expect((await list({ status: 'snoozed' })).items).toEqual([]);
  });

  it('filters by channel: threads that have seen it', async () => {
    const [telegram] = await customers(1, 'telegram');
    const [whatsapp] = await customers(1, 'whatsapp');

    expect(ids((await list({ channel: 'whatsapp' })).items)).toEqual([whatsapp]);
    expect(ids((await list({ channel: 'telegram' })).items)).toEqual([telegram]);
    expect((await list({ channel: 'kakaotalk' })).items).toEqual([]);
  });

  it("filters by contact: that contact's one thread, with a status too", async () => {
    const ann = await harness.customerWrites('telegram', 'ann');
    await harness.customerWrites('telegram', 'bob');

    expect(ids((await list({ contactId: ann.contactId })).items)).toEqual([ann.threadId]);
    expect(ids((await list({ contactId: ann.contactId, status: 'open' })).items)).toEqual([ann.threadId]);
    expect((await list({ contactId: ann.contactId, status: 'resolved' })).items).toEqual([]);
    expect((await list({ contactId: 'ct_nobody' })).items).toEqual([]);
  });

  it('filters by assignee: an agent, or none', async () => {
    const [mine, unassigned] = await customers(2);
    // No route assigns yet (agents come later): the assignment is written as the assigner will.
    const stored = await harness.conversations.getThread(mine ?? '');
    if (!stored) throw new Error('no thread');
    await harness.conversations.commit([
      { kind: 'thread', op: 'put', value: { ...stored.value, assignee: 'agent_ana' }, version: stored.version },
    ]);

    expect(ids((await list({ assignee: 'agent_ana' })).items)).toEqual([mine]);
    expect(ids((await list({ assignee: 'none' })).items)).toEqual([unassigned]);
    expect((await list({ assignee: 'agent_bo' })).items).toEqual([]);
  });

  it('filters by tag', async () => {
    const [vip, other] = await customers(2);
    await patch(vip ?? '', { addTags: ['vip'] });
    await patch(other ?? '', { addTags: ['billing'] });

    expect(ids((await list({ tag: 'vip' })).items)).toEqual([vip]);
  });

  it('filters by updatedSince: threads changed at or after that instant', async () => {
    const [old, middle, recent] = await customers(3);

    const since = await list({ updatedSince: '2026-11-26T10:02:00.000Z' });

    expect(ids(since.items)).toEqual([recent, middle]);
    expect((await list({ updatedSince: '2026-11-26T10:03:00.001Z' })).items).toEqual([]);
    harness.clock.advance(MINUTE);
    await patch(old ?? '', { addTags: ['late'] });
    expect(ids((await list({ updatedSince: '2026-11-26T10:04:00.000Z' })).items)).toEqual([old]);
  });

  it('combines filters', async () => {
    const [a, b] = await customers(2, 'telegram');
    const [c] = await customers(1, 'whatsapp');
    await patch(a ?? '', { status: 'pending', addTags: ['vip'] });
    await patch(c ?? '', { status: 'pending', addTags: ['vip'] });
    await patch(b ?? '', { addTags: ['vip'] });

    expect(ids((await list({ status: 'pending', channel: 'telegram', tag: 'vip' })).items)).toEqual([a]);
  });

  it('refuses a cursor of a listing with other statuses with 400 invalid_cursor', async () => {
    await customers(3);
    const page = await list({ status: 'open', limit: '1' });

    const response = await harness.get('/v1/threads', { query: { status: 'resolved', cursor: page.nextCursor ?? '' } });

    expect(response.status).toBe(400);
    expect(response.json.code).toBe('invalid_cursor');
  });
});

describe('GET /v1/threads?channel=&externalUserId= (the listing by a person, as before)', () => {
  it("lists the person's own thread, and the groups they wrote in, newest activity first", async () => {
    const own = await harness.customerWrites('telegram', '5550101234');
    harness.clock.advance(MINUTE);
    const group = await harness.customerWrites('telegram', '5550101234', { group: '-100123' });
    await harness.customerWrites('telegram', '42');

    const response = await harness.get('/v1/threads', { query: { channel: 'telegram', externalUserId: '5550101234' } });

    expect(response.status).toBe(200);
    expect(ids(response.json.items)).toEqual([group.threadId, own.threadId]);
  });

  it('answers an identity with no threads with an empty page, and another channel with none', async () => {
    await harness.customerWrites('telegram', '5550101234');

    expect((await list({ channel: 'telegram', externalUserId: 'nobody' })).items).toEqual([]);
    expect((await list({ channel: 'line', externalUserId: '5550101234' })).items).toEqual([]);
  });

  it('takes a status filter too', async () => {
    const own = await harness.customerWrites('telegram', '777');
    await patch(own.threadId, { status: 'resolved' });

    expect((await list({ channel: 'telegram', externalUserId: '777', status: 'open' })).items).toEqual([]);
    expect(ids((await list({ channel: 'telegram', externalUserId: '777', status: 'resolved' })).items)).toEqual([own.threadId]);
  });

  it('refuses externalUserId without channel with 400', async () => {
    const response = await harness.get('/v1/threads', { query: { externalUserId: '777' } });

    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({ code: 'invalid_request', message: 'externalUserId goes with channel' });
  });
});

describe('GET /v1/threads/{threadId}', () => {
  it('answers the thread, with where replies go', async () => {
    const { threadId, contactId } = await harness.customerWrites('whatsapp', '14155550123');

    const response = await harness.get(`/v1/threads/${threadId}`);

    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({
      id: threadId,
      contactId,
      status: 'open',
      channels: ['whatsapp'],
      routes: [
        {
          channel: 'whatsapp',
          accountId: 'default',
          conversation: { externalId: '14155550123', kind: 'direct' },
          lastInboundAt: '2026-11-26T10:00:00.000Z',
          // WhatsApp's 24-hour customer service window.
          windowExpiresAt: '2026-11-27T10:00:00.000Z',
        },
      ],
      assignee: null,
    });
  });
});

describe('PATCH /v1/threads/{threadId}', () => {
  let threadId: string;
  beforeEach(async () => {
    ({ threadId } = await harness.customerWrites('telegram', '1001'));
    harness.clock.advance(MINUTE);
  });
  const stored = async () => (await harness.conversations.getThread(threadId))?.value;

  it('resolves, and a new customer message reopens the same thread', async () => {
    const resolved = await patch(threadId, { status: 'resolved' });

    expect(resolved.status).toBe(200);
    expect(resolved.json).toMatchObject({
      id: threadId,
      status: 'resolved',
      resolvedAt: '2026-11-26T10:01:00.000Z',
      unread: 0,
      updatedAt: '2026-11-26T10:01:00.000Z',
    });
    expect(await stored()).toMatchObject({ status: 'resolved' });

    harness.clock.advance(MINUTE);
    const again = await harness.customerWrites('telegram', '1001');

    expect(again.threadId).toBe(threadId);
    expect((await harness.get(`/v1/threads/${threadId}`)).json).toMatchObject({ status: 'open', unread: 1 });
  });

  it('snoozes until a time in the future, and a customer message wakes it', async () => {
    const response = await patch(threadId, { status: 'snoozed', snoozedUntil: '2026-11-27T09:00:00Z' });

    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ status: 'snoozed', snoozedUntil: '2026-11-27T09:00:00Z' });
    expect((await list({ status: 'snoozed' })).items.map((t) => t.id)).toEqual([threadId]);

    await harness.customerWrites('telegram', '1001');

    const woken = (await harness.get(`/v1/threads/${threadId}`)).json;
    expect(woken.status).toBe('open');
    expect(woken).not.toHaveProperty('snoozedUntil');
  });

  it.each([
    ['snoozed without snoozedUntil', { status: 'snoozed' }, 'snoozed needs snoozedUntil'],
    ['snoozed until a time past', { status: 'snoozed', snoozedUntil: '2026-11-26T09:00:00Z' }, 'snoozedUntil must be in the future'],
    ['snoozed until now', { status: 'snoozed', snoozedUntil: '2026-11-26T10:01:00Z' }, 'snoozedUntil must be in the future'],
    [
      'snoozedUntil with another status',
      { status: 'pending', snoozedUntil: '2026-11-27T09:00:00Z' },
      'snoozedUntil goes only with status snoozed',
    ],
  ])('refuses %s with 422 invalid_status_change, changing nothing', async (_case, body, words) => {
    const before = await harness.conversations.getThread(threadId);

    const response = await patch(threadId, body);

    expect(response.status).toBe(422);
    expect(response.json).toEqual({ code: 'invalid_status_change', message: words });
    expect(await harness.conversations.getThread(threadId)).toEqual(before);
  });

  it.each([
    ['a status that does not exist', { status: 'closed' }, 'status must be one of: "open", "pending", "snoozed", "resolved"'],
    ['a snoozedUntil that is not a time', { status: 'snoozed', snoozedUntil: 'tomorrow' }, 'snoozedUntil'],
    ['nothing to change', {}, 'must change something'],
    ['an unknown field', { status: 'open', priority: 'high' }, 'unknown field(s): priority'],
    ['a tag with a space', { addTags: ['very important'] }, 'no spaces or commas'],
    ['an attribute value that is an object', { attributes: { plan: { tier: 1 } } }, 'attributes'],
  ])('refuses %s with 400 invalid_request in its own words', async (_case, body, words) => {
    const response = await patch(threadId, body);

    expect(response.status).toBe(400);
    expect(response.json.code).toBe('invalid_request');
    expect(response.json.message).toContain(words);
    expect(response.text).not.toMatch(/expected \w+, received/);
  });

  it('adds, removes and replaces tags (kept sorted, once each)', async () => {
    expect((await patch(threadId, { addTags: ['vip', 'billing', 'vip'] })).json.tags).toEqual(['billing', 'vip']);
    expect((await patch(threadId, { removeTags: ['billing'], addTags: ['refund'] })).json.tags).toEqual(['refund', 'vip']);
    expect((await patch(threadId, { tags: ['escalated'] })).json.tags).toEqual(['escalated']);
    expect((await stored())?.tags).toEqual(['escalated']);
  });

  it('sets attributes, and null removes one', async () => {
    await patch(threadId, { attributes: { orderId: 'A-1029', priority: 2, refunded: false } });

    const response = await patch(threadId, { attributes: { priority: null, refunded: true } });

    expect(response.json.attributes).toEqual({ orderId: 'A-1029', refunded: true });
    expect((await stored())?.attributes).toEqual({ orderId: 'A-1029', refunded: true });
  });

  it('changes status and labels in one request', async () => {
    const response = await patch(threadId, { status: 'pending', addTags: ['waiting-on-customer'] });

    expect(response.json).toMatchObject({ status: 'pending', tags: ['waiting-on-customer'] });
  });

  it('answers a change to what is already there with the thread as it is, writing nothing', async () => {
    await patch(threadId, { status: 'pending' });
    const before = await harness.conversations.getThread(threadId);
    harness.clock.advance(MINUTE);

    const response = await patch(threadId, { status: 'pending' });

    expect(response.status).toBe(200);
    expect(await harness.conversations.getThread(threadId)).toEqual(before);
  });

  it('publishes thread.updated once per change, naming what changed, and none for a change to what is already there', async () => {
    const updates = async () =>
      (await harness.outbox()).events.flatMap((e) =>
        e.type === 'thread.updated' && e.data.thread.id === threadId
          ? [[e.createdAt, e.data.changes, e.data.thread.status, e.data.thread.tags]]
          : [],
      );

    await patch(threadId, { status: 'pending' });
    harness.clock.advance(MINUTE);
    await patch(threadId, { addTags: ['vip'] });
    harness.clock.advance(MINUTE);
    await patch(threadId, { status: 'pending', addTags: ['vip'] });

    expect(await updates()).toEqual([
      ['2026-11-26T10:01:00.000Z', ['status'], 'pending', []],
      ['2026-11-26T10:02:00.000Z', ['tags'], 'pending', ['vip']],
    ]);
    const ids = (await harness.outbox()).events.filter((e) => e.type === 'thread.updated').map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('answers an unknown thread with 404', async () => {
    expect((await patch('th_nope', { status: 'resolved' })).status).toBe(404);
  });
});

describe('notes', () => {
  it('adds internal notes that list oldest first, authored by the key, and never become messages', async () => {
    const { threadId } = await harness.customerWrites('telegram', '1001');
    const writer = await harness.newKey(['write']);

    const first = await harness.post(`/v1/threads/${threadId}/notes`, { text: 'Customer is a VIP' }, { key: writer.secret });
    harness.clock.advance(1000);
    const second = await harness.post(`/v1/threads/${threadId}/notes`, { text: 'Refund approved' });

    expect(first.status).toBe(201);
    expect(first.json).toEqual({
      id: expect.stringMatching(/^note_/),
      threadId,
      text: 'Customer is a VIP',
      author: { type: 'api_key', id: writer.id },
      createdAt: '2026-11-26T10:00:00.000Z',
    });
    const notes = await harness.get(`/v1/threads/${threadId}/notes`);
    expect(notes.json.items.map((n: { text: string }) => n.text)).toEqual(['Customer is a VIP', 'Refund approved']);
    expect(second.json.author).toEqual({ type: 'api_key', id: harness.admin.id });
    expect((await harness.get(`/v1/threads/${threadId}/messages`)).json.items).toHaveLength(1);
    // Each note is news to integrators: one thread.updated apiece, naming the notes.
    const updates = (await harness.outbox()).events.filter((e) => e.type === 'thread.updated' && e.data.thread.id === threadId);
    expect(updates.map((e) => [e.createdAt, e.type === 'thread.updated' && e.data.changes])).toEqual([
      ['2026-11-26T10:00:00.000Z', ['notes']],
      ['2026-11-26T10:00:01.000Z', ['notes']],
    ]);
  });

  it('pages notes with limit and cursor', async () => {
    const { threadId } = await harness.customerWrites('telegram', '1001');
    for (let i = 0; i < 5; i++) {
      await harness.post(`/v1/threads/${threadId}/notes`, { text: `note ${i}` });
      harness.clock.advance(1000);
    }

    const first = await harness.get(`/v1/threads/${threadId}/notes`, { query: { limit: '3' } });
    const second = await harness.get(`/v1/threads/${threadId}/notes`, { query: { limit: '3', cursor: first.json.nextCursor } });

    expect(first.json.items.map((n: { text: string }) => n.text)).toEqual(['note 0', 'note 1', 'note 2']);
    expect(second.json.items.map((n: { text: string }) => n.text)).toEqual(['note 3', 'note 4']);
    expect(second.json.nextCursor).toBeUndefined();
  });

  it.each([
    ['empty text', { text: '' }],
    ['text over 10,000 characters', { text: 'n'.repeat(10_001) }],
    ['no text', {}],
  ])('refuses %s with 400', async (_case, body) => {
    const { threadId } = await harness.customerWrites('telegram', '1001');

    const response = await harness.post(`/v1/threads/${threadId}/notes`, body);

    expect(response.status).toBe(400);
    expect((await harness.get(`/v1/threads/${threadId}/notes`)).json.items).toEqual([]);
  });

  it('answers notes of an unknown thread with 404', async () => {
    expect((await harness.post('/v1/threads/th_nope/notes', { text: 'x' })).status).toBe(404);
    expect((await harness.get('/v1/threads/th_nope/notes')).status).toBe(404);
  });
});

describe('a merged thread', () => {
  it('shows mergedInto, leaves the inbox, and takes changes and notes on the thread it went into', async () => {
    const ann = await harness.customerWrites('whatsapp', '14155550123');
    const annOnTelegram = await harness.customerWrites('telegram', '5550101234');
    expect((await harness.post(`/v1/contacts/${ann.contactId}/merge`, { contactId: annOnTelegram.contactId })).status).toBe(200);

    const merged = await harness.get(`/v1/threads/${annOnTelegram.threadId}`);
    const listed = await list();
    const changed = await patch(annOnTelegram.threadId, { addTags: ['vip'] });
    const note = await harness.post(`/v1/threads/${annOnTelegram.threadId}/notes`, { text: 'same person' });

    expect(merged.json).toMatchObject({ id: annOnTelegram.threadId, mergedInto: ann.threadId });
    expect(ids(listed.items)).toEqual([ann.threadId]);
    expect(changed.json).toMatchObject({ id: ann.threadId, tags: ['vip'] });
    expect(note.json.threadId).toBe(ann.threadId);
  });
});
