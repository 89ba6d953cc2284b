/**
 * Contacts through the API: one customer across channels. Read and find, update the profile, link an identity,
 * merge two contacts into one thread holding both histories (the contract's scenario) and undo it, erase a
 * contact's personal data, and export everything held on one.
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

const MINUTE = 60_000;
const contact = async (id: string) => (await harness.get(`/v1/contacts/${id}`)).json;
const find = async (query: Record<string, string>) => {
  const response = await harness.get('/v1/contacts', { query });
  return { status: response.status, json: response.json };
};
const messagesOf = async (threadId: string) =>
  (await harness.get(`/v1/threads/${threadId}/messages`, { query: { limit: '100' } })).json.items as Message[];
const texts = (messages: readonly Message[]) =>
  messages.map((m) => (m.content.type === 'text' ? `${m.channel}: ${m.content.text}` : m.content.type));

describe('GET /v1/contacts/{contactId}', () => {
  it('answers the contact with its channel identities', async () => {
    const { contactId, threadId } = await harness.customerWrites('telegram', '5550101234', { displayName: 'Mina Park' });

    const response = await harness.get(`/v1/contacts/${contactId}`);

    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      id: contactId,
      state: 'active',
      name: 'Mina Park',
      attributes: {},
      identities: [
        {
          channel: 'telegram',
          accountId: 'default',
          externalUserId: '5550101234',
          kind: 'direct',
          displayName: 'Mina Park',
          link: { reason: 'first_contact', by: { type: 'system' }, at: '2026-11-26T10:00:00.000Z' },
        },
      ],
      threadId,
      merges: [],
      createdAt: '2026-11-26T10:00:00.000Z',
      updatedAt: '2026-11-26T10:00:00.000Z',
    });
  });

  it('answers an unknown contact with 404', async () => {
    expect((await harness.get('/v1/contacts/ct_nope')).json).toMatchObject({ code: 'not_found' });
  });
});

describe('GET /v1/contacts (find)', () => {
  it('finds a contact by channel identity, on any account of the channel or the one named', async () => {
    const { contactId } = await harness.customerWrites('telegram', '5550101234', { accountId: '7712345678' });
    await harness.customerWrites('telegram', '42');

    expect((await find({ channel: 'telegram', externalUserId: '5550101234' })).json.items.map((c: { id: string }) => c.id)).toEqual([
      contactId,
    ]);
    expect((await find({ channel: 'telegram', externalUserId: '5550101234', accountId: '7712345678' })).json.items).toHaveLength(1);
    expect((await find({ channel: 'telegram', externalUserId: '5550101234', accountId: '8823456789' })).json.items).toEqual([]);
    expect((await find({ channel: 'line', externalUserId: '5550101234' })).json.items).toEqual([]);
  });

  it('finds by the phone number WhatsApp vouches for, in any common spelling', async () => {
    const { contactId } = await harness.customerWrites('whatsapp', '14155550123', { verifiedPhone: '+14155550123' });

    for (const phone of ['+14155550123', '14155550123', '+1 (415) 555-0123']) {
      expect(
        (await find({ phone })).json.items.map((c: { id: string }) => c.id),
        phone,
      ).toEqual([contactId]);
    }
    expect((await find({ phone: '+14155550199' })).json.items).toEqual([]);
  });

  it('finds by email, whatever its case', async () => {
    const { contactId } = await harness.customerWrites('telegram', '1001');
    await harness.patch(`/v1/contacts/${contactId}`, { email: 'Mina.Park@Example.com' });

    expect((await find({ email: 'mina.park@example.COM' })).json.items.map((c: { id: string }) => c.id)).toEqual([contactId]);
  });

  it.each([
    ['no criterion', {}, 'Find by exactly one of'],
    ['two criteria', { phone: '+14155550123', email: 'a@example.com' }, 'Find by exactly one of'],
    ['externalUserId without channel', { externalUserId: '42' }, 'externalUserId goes with channel'],
    ['a phone that is not one', { phone: '12ab' }, 'phone must be a phone number'],
    ['an email that is not one', { email: 'not-an-email' }, 'email'],
    ['a channel that is not one', { channel: 'fax', externalUserId: '42' }, 'channel must be one of'],
  ])('refuses %s with 400 invalid_request', async (_case, query, words) => {
    const response = await find(query);

    expect(response.status).toBe(400);
    expect(response.json.code).toBe('invalid_request');
    expect(response.json.message).toContain(words);
  });
});

describe('PATCH /v1/contacts/{contactId}', () => {
  let contactId: string;
  beforeEach(async () => {
    ({ contactId } = await harness.customerWrites('telegram', '1001', { displayName: 'Mina' }));
    harness.clock.advance(MINUTE);
  });

  it('sets the profile: the phone in E.164 and unverified, the email in lower case; null clears a field', async () => {
    const response = await harness.patch(`/v1/contacts/${contactId}`, {
      name: 'Mina Park',
      phone: '+82 10-1234-5678',
      email: 'Mina@Example.com',
      locale: 'ko-KR',
      attributes: { tier: 'gold', orders: 3 },
    });

    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({
      name: 'Mina Park',
      phone: '+821012345678',
      phoneVerified: false,
      email: 'mina@example.com',
      locale: 'ko-KR',
      attributes: { tier: 'gold', orders: 3 },
      updatedAt: '2026-11-26T10:01:00.000Z',
    });
    expect(await contact(contactId)).toEqual(response.json);

    const cleared = await harness.patch(`/v1/contacts/${contactId}`, { locale: null, phone: null, attributes: { orders: null } });
    expect(cleared.json).not.toHaveProperty('locale');
    expect(cleared.json).not.toHaveProperty('phone');
    expect(cleared.json).not.toHaveProperty('phoneVerified');
    expect(cleared.json.attributes).toEqual({ tier: 'gold' });
  });

  it('a phone set here joins nothing by itself: a WhatsApp customer with that number stays another contact', async () => {
    await harness.patch(`/v1/contacts/${contactId}`, { phone: '+14155550123' });

    const whatsapp = await harness.customerWrites('whatsapp', '14155550123', { verifiedPhone: '+14155550123' });

    expect(whatsapp.contactId).not.toBe(contactId);
  });

  it.each([
    ['a phone that is not one', { phone: 'call me' }, 'is not a phone number'],
    ['an email that is not one', { email: 'mina@' }, 'email'],
    ['nothing to change', {}, 'must change something'],
    ['an unknown field', { nickname: 'M' }, 'unknown field(s): nickname'],
    ['a name too long', { name: 'n'.repeat(201) }, 'name must be at most 200 character(s) long'],
  ])('refuses %s with 400 invalid_request, changing nothing', async (_case, body, words) => {
    const before = await contact(contactId);

    const response = await harness.patch(`/v1/contacts/${contactId}`, body);

    expect(response.status).toBe(400);
    expect(response.json.code).toBe('invalid_request');
    expect(response.json.message).toContain(words);
    expect(await contact(contactId)).toEqual(before);
  });

  it('answers an unknown contact with 404 and a merged one with 409 conflict', async () => {
    const other = await harness.customerWrites('line', 'U0123456789abcdef0123456789abcdef');
    await harness.post(`/v1/contacts/${contactId}/merge`, { contactId: other.contactId });

    expect((await harness.patch('/v1/contacts/ct_nope', { name: 'x' })).status).toBe(404);
    const merged = await harness.patch(`/v1/contacts/${other.contactId}`, { name: 'x' });
    expect(merged.status).toBe(409);
    expect(merged.json).toMatchObject({ code: 'conflict', message: expect.stringContaining(`merged into ${contactId}`) });
  });
});

describe('POST /v1/contacts/{contactId}/identities', () => {
  it("links a channel id the customer has not written from: it finds the contact's thread, and their first message lands there", async () => {
    const { contactId, threadId } = await harness.customerWrites('whatsapp', '14155550123');
    const line = { channel: 'line', accountId: 'default', externalUserId: 'U0123456789abcdef0123456789abcdef' };

    const response = await harness.post(`/v1/contacts/${contactId}/identities`, line);

    expect(response.status).toBe(200);
    expect(response.json.identities).toEqual([
      expect.objectContaining({ channel: 'whatsapp' }),
      expect.objectContaining({
        ...line,
        kind: 'direct',
        link: { reason: 'api_link', by: { type: 'api_key', id: harness.admin.id }, at: '2026-11-26T10:00:00.000Z' },
      }),
    ]);
    expect(
      (await harness.get('/v1/threads', { query: { channel: 'line', externalUserId: line.externalUserId } })).json.items.map(
        (t: { id: string }) => t.id,
      ),
    ).toEqual([threadId]);

    harness.clock.advance(MINUTE);
    const written = await harness.customerWrites('line', line.externalUserId);
    expect(written).toMatchObject({ contactId, threadId });
    expect((await harness.get(`/v1/threads/${threadId}`)).json.channels).toEqual(['whatsapp', 'line']);
  });

  it("moves an identity from another contact; its past messages stay in that contact's thread", async () => {
    const ann = await harness.customerWrites('whatsapp', '14155550123');
    const stray = await harness.customerWrites('telegram', '5550101234');

    const response = await harness.post(`/v1/contacts/${ann.contactId}/identities`, {
      channel: 'telegram',
      accountId: 'default',
      externalUserId: '5550101234',
    });

    expect(response.status).toBe(200);
    expect((await contact(stray.contactId)).identities).toEqual([]);
    expect(texts(await messagesOf(stray.threadId))).toEqual(['telegram: hello from 5550101234']);
    harness.clock.advance(MINUTE);
    expect((await harness.customerWrites('telegram', '5550101234')).threadId).toBe(ann.threadId);
  });

  it("changes nothing when the identity is already the contact's", async () => {
    const { contactId } = await harness.customerWrites('telegram', '1001');
    const before = await harness.conversations.getContact(contactId);

    const response = await harness.post(`/v1/contacts/${contactId}/identities`, {
      channel: 'telegram',
      accountId: 'default',
      externalUserId: '1001',
    });

    expect(response.status).toBe(200);
    expect(await harness.conversations.getContact(contactId)).toEqual(before);
  });

  it('refuses an identity that is not one with 400', async () => {
    const { contactId } = await harness.customerWrites('telegram', '1001');

    const response = await harness.post(`/v1/contacts/${contactId}/identities`, { channel: 'fax', externalUserId: '1' });

    expect(response.status).toBe(400);
    expect(response.json.message).toContain('accountId is required');
  });

  it('refuses ids longer than any provider gives (a key DynamoDB would refuse) with 400, and stores nothing', async () => {
    const { contactId } = await harness.customerWrites('telegram', '1002');
    const before = await harness.conversations.getContact(contactId);

    const long = await harness.post(`/v1/contacts/${contactId}/identities`, {
      channel: 'telegram',
      accountId: 'default',
      externalUserId: '9'.repeat(100_000),
    });
    const account = await harness.post(`/v1/contacts/${contactId}/identities`, {
      channel: 'telegram',
      accountId: 'a'.repeat(65),
      externalUserId: '1003',
    });

    expect(long.status).toBe(400);
    expect(long.json.message).toContain('externalUserId must be at most 256');
    expect(account.status).toBe(400);
    expect(account.json.message).toContain('accountId must be at most 64');
    expect(await harness.conversations.getContact(contactId)).toEqual(before);
  });
});

describe('POST /v1/contacts/{contactId}/merge (the contract)', () => {
  /** Ann writes on WhatsApp, then on Telegram: two contacts until someone says they are one person. */
  const twoChannels = async () => {
    const whatsapp = await harness.customerWrites('whatsapp', '14155550123', {
      displayName: 'Ann',
      content: { type: 'text', text: 'Where is my order?' },
    });
    harness.clock.advance(MINUTE);
    const telegram = await harness.customerWrites('telegram', '5550101234', { content: { type: 'text', text: 'Writing here instead' } });
    harness.clock.advance(MINUTE);
    return { whatsapp, telegram };
  };

  it('answers 200 with the survivor holding both identities; one open thread holds both histories', async () => {
    const { whatsapp, telegram } = await twoChannels();

    const response = await harness.post(`/v1/contacts/${whatsapp.contactId}/merge`, {
      contactId: telegram.contactId,
      reason: 'same phone on file',
    });

    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ id: whatsapp.contactId, state: 'active', name: 'Ann' });
    expect(response.json.identities.map((i: { channel: string; externalUserId: string }) => `${i.channel}:${i.externalUserId}`)).toEqual([
      'whatsapp:14155550123',
      'telegram:5550101234',
    ]);
    expect(response.json.merges).toEqual([
      expect.objectContaining({
        contactId: telegram.contactId,
        threadId: telegram.threadId,
        reason: 'same phone on file',
        by: { type: 'api_key', id: harness.admin.id },
      }),
    ]);
    expect(await contact(whatsapp.contactId)).toEqual(response.json);
    expect(await contact(telegram.contactId)).toMatchObject({ state: 'merged', mergedInto: whatsapp.contactId, identities: [] });

    const open = await harness.get('/v1/threads', { query: { contactId: whatsapp.contactId, status: 'open' } });
    expect(open.json.items).toHaveLength(1);
    const [thread] = open.json.items;
    expect(thread).toMatchObject({ id: whatsapp.threadId, channels: ['whatsapp', 'telegram'], mergedThreads: [telegram.threadId] });
    expect(texts(await messagesOf(thread.id))).toEqual(['whatsapp: Where is my order?', 'telegram: Writing here instead']);
    // The merged contact has no open thread of its own any more.
    expect((await harness.get('/v1/threads', { query: { contactId: telegram.contactId, status: 'open' } })).json.items).toEqual([]);
  });

  it('lands a later message on either identity in that thread, and a reply goes where the customer wrote last', async () => {
    const { whatsapp, telegram } = await twoChannels();
    await harness.post(`/v1/contacts/${whatsapp.contactId}/merge`, { contactId: telegram.contactId });

    const onTelegram = await harness.customerWrites('telegram', '5550101234', { content: { type: 'text', text: 'Any news?' } });
    harness.clock.advance(MINUTE);
    const onWhatsapp = await harness.customerWrites('whatsapp', '14155550123', { content: { type: 'text', text: 'Hello again' } });
    harness.clock.advance(MINUTE);
    const reply = await harness.post(`/v1/threads/${whatsapp.threadId}/messages`, { content: { type: 'text', text: 'It ships today' } });

    expect(onTelegram.threadId).toBe(whatsapp.threadId);
    expect(onWhatsapp.threadId).toBe(whatsapp.threadId);
    expect(texts(await messagesOf(whatsapp.threadId))).toEqual([
      'whatsapp: Where is my order?',
      'telegram: Writing here instead',
      'telegram: Any news?',
      'whatsapp: Hello again',
      'whatsapp: It ships today',
    ]);
    expect(reply.json).toMatchObject({ channel: 'whatsapp', threadId: whatsapp.threadId });
    // The merged thread's id still reads the whole history (a client holding it is not lost).
    expect((await harness.get(`/v1/threads/${telegram.threadId}`)).json.mergedInto).toBe(whatsapp.threadId);
    const viaOld = await harness.post(`/v1/threads/${telegram.threadId}/messages`, {
      content: { type: 'text', text: 'via the old id' },
      channel: 'telegram',
    });
    expect(viaOld.json).toMatchObject({ threadId: whatsapp.threadId, channel: 'telegram' });
  });

  it('finds the survivor by either identity', async () => {
    const { whatsapp, telegram } = await twoChannels();
    await harness.post(`/v1/contacts/${whatsapp.contactId}/merge`, { contactId: telegram.contactId });

    expect((await find({ channel: 'telegram', externalUserId: '5550101234' })).json.items.map((c: { id: string }) => c.id)).toEqual([
      whatsapp.contactId,
    ]);
    expect(
      (await harness.get('/v1/threads', { query: { channel: 'telegram', externalUserId: '5550101234' } })).json.items.map(
        (t: { id: string }) => t.id,
      ),
    ).toEqual([whatsapp.threadId]);
  });

  it('records the merge as one domain event', async () => {
    const { whatsapp, telegram } = await twoChannels();

    await harness.post(`/v1/contacts/${whatsapp.contactId}/merge`, { contactId: telegram.contactId });

    const merged = (await harness.outbox()).events.filter((e) => e.type === 'contact.merged');
    expect(merged).toHaveLength(1);
    expect(merged[0]?.data).toMatchObject({ contact: { id: whatsapp.contactId }, mergedContactId: telegram.contactId });
  });

  it.each([
    ['itself', 'self', 400, 'invalid_request'],
    ['an unknown contact', 'unknown', 404, 'not_found'],
    ['a contact merged already', 'merged', 409, 'conflict'],
  ])('refuses a merge with %s (%s), changing nothing', async (_case, which, status, code) => {
    const { whatsapp, telegram } = await twoChannels();
    const third = await harness.customerWrites('line', 'U0123456789abcdef0123456789abcdef');
    if (which === 'merged') await harness.post(`/v1/contacts/${third.contactId}/merge`, { contactId: telegram.contactId });
    const other = which === 'self' ? whatsapp.contactId : which === 'unknown' ? 'ct_nope' : telegram.contactId;
    const before = await harness.conversations.getContact(whatsapp.contactId);

    const response = await harness.post(`/v1/contacts/${whatsapp.contactId}/merge`, { contactId: other });

    expect(response.status).toBe(status);
    expect(response.json.code).toBe(code);
    expect(await harness.conversations.getContact(whatsapp.contactId)).toEqual(before);
  });
});

describe('POST /v1/contacts/{contactId}/unmerge', () => {
  it('undoes a merge: both contacts and threads as they were, later messages where they were written', async () => {
    const whatsapp = await harness.customerWrites('whatsapp', '14155550123', { content: { type: 'text', text: 'on whatsapp' } });
    harness.clock.advance(MINUTE);
    const telegram = await harness.customerWrites('telegram', '5550101234', { content: { type: 'text', text: 'on telegram' } });
    await harness.post(`/v1/contacts/${whatsapp.contactId}/merge`, { contactId: telegram.contactId });
    harness.clock.advance(MINUTE);

    const response = await harness.post(`/v1/contacts/${whatsapp.contactId}/unmerge`, { contactId: telegram.contactId });

    expect(response.status).toBe(200);
    expect(response.json.contact).toMatchObject({ id: whatsapp.contactId, merges: [] });
    expect(response.json.contact.identities.map((i: { channel: string }) => i.channel)).toEqual(['whatsapp']);
    expect(response.json.restored).toMatchObject({ id: telegram.contactId, state: 'active' });
    expect(response.json.restored.identities.map((i: { channel: string }) => i.channel)).toEqual(['telegram']);
    expect(response.json.restored).not.toHaveProperty('mergedInto');
    expect(texts(await messagesOf(whatsapp.threadId))).toEqual(['whatsapp: on whatsapp']);
    expect(texts(await messagesOf(telegram.threadId))).toEqual(['telegram: on telegram']);
    expect((await harness.get(`/v1/threads/${telegram.threadId}`)).json).not.toHaveProperty('mergedInto');
    expect((await harness.customerWrites('telegram', '5550101234')).threadId).toBe(telegram.threadId);
  });

  it('refuses to undo a merge that did not happen with 409', async () => {
    const a = await harness.customerWrites('whatsapp', '14155550123');
    const b = await harness.customerWrites('telegram', '5550101234');

    const response = await harness.post(`/v1/contacts/${a.contactId}/unmerge`, { contactId: b.contactId });

    expect(response.status).toBe(409);
    expect(response.json.code).toBe('conflict');
  });
});

describe('DELETE /v1/contacts/{contactId} (erase)', () => {
  it("answers 202 with the erased contact: profile and identities gone, and the person's next message starts afresh", async () => {
    const { contactId, threadId } = await harness.customerWrites('telegram', '5550101234', { displayName: 'Mina Park' });
    await harness.patch(`/v1/contacts/${contactId}`, { email: 'mina@example.com', phone: '+821012345678', attributes: { tier: 'gold' } });

    const response = await harness.call('DELETE', `/v1/contacts/${contactId}`);

    expect(response.status).toBe(202);
    expect(response.json).toEqual({
      id: contactId,
      state: 'erased',
      attributes: {},
      identities: [],
      threadId,
      merges: [],
      createdAt: '2026-11-26T10:00:00.000Z',
      updatedAt: '2026-11-26T10:00:00.000Z',
    });
    expect(await contact(contactId)).toEqual(response.json);
    expect(
      await harness.conversations.getIdentity({ channel: 'telegram', accountId: 'default', externalUserId: '5550101234' }),
    ).toBeUndefined();
    expect((await find({ channel: 'telegram', externalUserId: '5550101234' })).json.items).toEqual([]);
    expect((await find({ email: 'mina@example.com' })).json.items).toEqual([]);
    expect((await harness.get('/v1/threads', { query: { channel: 'telegram', externalUserId: '5550101234' } })).json.items).toEqual([]);
    const erased = (await harness.outbox()).events.filter((e) => e.type === 'contact.erased');
    expect(erased).toHaveLength(1);

    harness.clock.advance(MINUTE);
    const again = await harness.customerWrites('telegram', '5550101234');
    expect(again.contactId).not.toBe(contactId);
    expect(again.threadId).not.toBe(threadId);
  });

  it('needs the admin scope', async () => {
    const { contactId } = await harness.customerWrites('telegram', '1001');
    const writer = await harness.newKey(['write']);

    const response = await harness.call('DELETE', `/v1/contacts/${contactId}`, { key: writer.secret });

    expect(response.status).toBe(403);
    expect((await contact(contactId)).state).toBe('active');
  });

  it('answers an unknown contact with 404, an erased one with the same 202, a merged one with 409', async () => {
    const a = await harness.customerWrites('whatsapp', '14155550123');
    const b = await harness.customerWrites('telegram', '5550101234');
    await harness.post(`/v1/contacts/${a.contactId}/merge`, { contactId: b.contactId });

    expect((await harness.call('DELETE', '/v1/contacts/ct_nope')).status).toBe(404);
    expect((await harness.call('DELETE', `/v1/contacts/${b.contactId}`)).status).toBe(409);
    const first = await harness.call('DELETE', `/v1/contacts/${a.contactId}`);
    const second = await harness.call('DELETE', `/v1/contacts/${a.contactId}`);
    expect(second.status).toBe(202);
    expect(second.json).toEqual(first.json);
  });
});

describe('GET /v1/contacts/{contactId}/export', () => {
  it('answers the contact, its threads (merged ones too), notes and messages, paged', async () => {
    const whatsapp = await harness.customerWrites('whatsapp', '14155550123', { content: { type: 'text', text: 'one' } });
    harness.clock.advance(MINUTE);
    const telegram = await harness.customerWrites('telegram', '5550101234', { content: { type: 'text', text: 'two' } });
    await harness.post(`/v1/contacts/${whatsapp.contactId}/merge`, { contactId: telegram.contactId });
    harness.clock.advance(MINUTE);
    await harness.post(`/v1/threads/${whatsapp.threadId}/notes`, { text: 'asked for a refund' });
    await harness.post(`/v1/threads/${whatsapp.threadId}/messages`, { content: { type: 'text', text: 'three' } });

    const first = await harness.get(`/v1/contacts/${whatsapp.contactId}/export`, { query: { limit: '2' } });
    const second = await harness.get(`/v1/contacts/${whatsapp.contactId}/export`, { query: { limit: '2', cursor: first.json.nextCursor } });

    expect(first.status).toBe(200);
    expect(first.json.contact).toEqual(await contact(whatsapp.contactId));
    expect(first.json.threads.map((t: { id: string }) => t.id)).toEqual([whatsapp.threadId, telegram.threadId]);
    expect(first.json.notes.map((n: { text: string }) => n.text)).toEqual(['asked for a refund']);
    expect(texts([...first.json.messages, ...second.json.messages])).toEqual(['whatsapp: one', 'telegram: two', 'telegram: three']);
    expect(second.json.nextCursor).toBeUndefined();
  });

  it("includes every note, past one listing's worth, and the consent ledger of the contact and of the one merged into it", async () => {
    const whatsapp = await harness.customerWrites('whatsapp', '14155550123');
    const telegram = await harness.customerWrites('telegram', '5550101234');
    const optIn = await harness.post('/v1/consents', {
      to: { contactId: whatsapp.contactId },
      channel: 'whatsapp',
      purpose: 'marketing',
      status: 'opted_in',
      source: 'checkout',
    });
    expect(optIn.status).toBe(201);
    harness.clock.advance(MINUTE);
    const optOut = await harness.post('/v1/consents', {
      to: { contactId: telegram.contactId },
      channel: 'telegram',
      purpose: 'marketing',
      status: 'opted_out',
      source: 'support_call',
    });
    expect(optOut.status).toBe(201);
    await harness.post(`/v1/contacts/${whatsapp.contactId}/merge`, { contactId: telegram.contactId });
    for (let i = 1; i <= 105; i++) {
      expect((await harness.post(`/v1/threads/${whatsapp.threadId}/notes`, { text: `note ${i}` })).status).toBe(201);
    }

    const exported = await harness.get(`/v1/contacts/${whatsapp.contactId}/export`);

    expect(exported.status).toBe(200);
    expect(exported.json.notes).toHaveLength(105);
    expect(new Set(exported.json.notes.map((n: { text: string }) => n.text)).size).toBe(105);
    expect(
      exported.json.consents.map((e: { contactId: string; channel: string; status: string; source: string }) => [
        e.contactId,
        e.channel,
        e.status,
        e.source,
      ]),
    ).toEqual(
      expect.arrayContaining([
        [whatsapp.contactId, 'whatsapp', 'opted_in', 'checkout'],
        [telegram.contactId, 'telegram', 'opted_out', 'support_call'],
      ]),
    );
    expect(exported.json.consents).toHaveLength(2);
  });

  it('needs the admin scope, and answers an unknown contact with 404', async () => {
    const { contactId } = await harness.customerWrites('telegram', '1001');
    const writer = await harness.newKey(['write']);

    expect((await harness.get(`/v1/contacts/${contactId}/export`, { key: writer.secret })).status).toBe(403);
    expect((await harness.get('/v1/contacts/ct_nope/export')).status).toBe(404);
  });
});
