/**
 * `Idempotency-Key` on every POST: a retry with the same key and request answers the first response
 * (`Idempotent-Replayed: true`) and changes nothing; another request with the key is refused; concurrent
 * requests with one key make one effect; a failed first attempt leaves the key free for the retry.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../api/auth.ts';
import { startApiHarness, type ApiAnswer, type ApiHarness } from '../helpers/api-harness.ts';

let harness: ApiHarness;
let threadId: string;
let contactId: string;
beforeEach(async () => {
  harness = await startApiHarness();
  ({ threadId, contactId } = await harness.customerWrites('telegram', '1001'));
  harness.clock.advance(1000);
});
afterEach(async () => {
  await harness.stop();
});

const text = (value: string) => ({ content: { type: 'text', text: value } });
const withKey = (key: string) => ({ headers: { 'idempotency-key': key } });
const replies = async () => (await harness.conversations.listMessages([threadId], 100)).items.filter((m) => m.direction === 'outbound');
const deliveries = async () => (await harness.outbox()).jobs.filter((j) => j.kind === 'deliver');

const expectReplayOf = (first: ApiAnswer, replay: ApiAnswer) => {
  expect(replay.status).toBe(first.status);
  expect(replay.headers['idempotent-replayed']).toBe('true');
  expect(replay.json).toEqual(first.json);
  expect(first.headers['idempotent-replayed']).toBeUndefined();
};

describe('a reply with an Idempotency-Key', () => {
  it('answers a retry with the same message, stored once and queued once', async () => {
    const first = await harness.post(`/v1/threads/${threadId}/messages`, text('Only once'), withKey('order-4411-shipped'));
    harness.clock.advance(1000);
    const retry = await harness.post(`/v1/threads/${threadId}/messages`, text('Only once'), withKey('order-4411-shipped'));

    expect(first.status).toBe(202);
    expectReplayOf(first, retry);
    expect((await replies()).map((m) => m.id)).toEqual([first.json.id]);
    expect(await deliveries()).toHaveLength(1);
  });

  it('takes the same JSON with its keys in another order, or other spacing, as the same request', async () => {
    const first = await harness.post(`/v1/threads/${threadId}/messages`, '{"content":{"type":"text","text":"hi"}}', withKey('k-order'));
    const retry = await harness.post(
      `/v1/threads/${threadId}/messages`,
      '{ "content": { "text": "hi", "type": "text" } }',
      withKey('k-order'),
    );

    expectReplayOf(first, retry);
    expect(await replies()).toHaveLength(1);
  });

  it('refuses the key with another body with 409 idempotency_key_reused, storing nothing more', async () => {
    await harness.post(`/v1/threads/${threadId}/messages`, text('first'), withKey('k-1'));

    const other = await harness.post(`/v1/threads/${threadId}/messages`, text('second'), withKey('k-1'));

    expect(other.status).toBe(409);
    expect(other.json).toMatchObject({ code: 'idempotency_key_reused' });
    expect((await replies()).map((m) => m.content)).toEqual([{ type: 'text', text: 'first' }]);
  });

  it('refuses the key on another thread with 409', async () => {
    const other = await harness.customerWrites('telegram', '2002');
    await harness.post(`/v1/threads/${threadId}/messages`, text('same'), withKey('k-2'));

    const response = await harness.post(`/v1/threads/${other.threadId}/messages`, text('same'), withKey('k-2'));

    expect(response.status).toBe(409);
    expect(response.json.code).toBe('idempotency_key_reused');
  });

  it("keeps different API keys' Idempotency-Keys apart", async () => {
    const other = await harness.newKey(['write']);

    const mine = await harness.post(`/v1/threads/${threadId}/messages`, text('hello'), withKey('k-3'));
    const theirs = await harness.post(`/v1/threads/${threadId}/messages`, text('hello'), { ...withKey('k-3'), key: other.secret });

    expect(theirs.status).toBe(202);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
    expect(theirs.json.id).not.toBe(mine.json.id);
    expect(await replies()).toHaveLength(2);
  });

  it('makes one message of concurrent requests with the same key; the others wait their turn (409 in use, Retry-After) or replay', async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => harness.post(`/v1/threads/${threadId}/messages`, text('at once'), withKey('k-race'))),
    );

    const created = answers.filter((a) => a.status === 202);
    const busy = answers.filter((a) => a.status === 409);
    expect(created.length + busy.length).toBe(8);
    expect(created.filter((a) => a.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
    expect(new Set(created.map((a) => a.json.id)).size).toBe(1);
    for (const answer of busy) {
      expect(answer.json.code).toBe('idempotency_key_in_use');
      expect(answer.headers['retry-after']).toBe('1');
    }
    expect(await replies()).toHaveLength(1);
    expect(await deliveries()).toHaveLength(1);

    // Once the first finished, a retry replays it.
    const later = await harness.post(`/v1/threads/${threadId}/messages`, text('at once'), withKey('k-race'));
    expect(later.headers['idempotent-replayed']).toBe('true');
    expect(later.json.id).toBe(created[0]?.json.id);
  });

  it('replays a refusal as well: the same request is answered the same way', async () => {
    const first = await harness.post(`/v1/threads/${threadId}/messages`, { ...text('hi'), channel: 'line' }, withKey('k-refused'));
    const retry = await harness.post(`/v1/threads/${threadId}/messages`, { ...text('hi'), channel: 'line' }, withKey('k-refused'));

    expect(first.status).toBe(422);
    expectReplayOf(first, retry);
    expect(await replies()).toEqual([]);
  });

  it('answers a replay of an answer too large to keep with 409 conflict, and sends nothing twice', async () => {
    const long = text('x'.repeat(150 * 1024));
    const first = await harness.post(`/v1/threads/${threadId}/messages`, long, withKey('k-large'));

    const retry = await harness.post(`/v1/threads/${threadId}/messages`, long, withKey('k-large'));

    expect(first.status).toBe(202);
    expect(retry.status).toBe(409);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json).toEqual({ code: 'conflict', message: 'The first response was too large to keep' });
    expect(await replies()).toHaveLength(1);
  });

  it('answers the key after 24 hours as a new request', async () => {
    const first = await harness.post(`/v1/threads/${threadId}/messages`, text('daily'), withKey('k-daily'));
    harness.clock.advance(24 * 3_600_000 + 1000);

    const next = await harness.post(`/v1/threads/${threadId}/messages`, text('daily'), withKey('k-daily'));

    expect(next.status).toBe(202);
    expect(next.headers['idempotent-replayed']).toBeUndefined();
    expect(next.json.id).not.toBe(first.json.id);
    expect(await replies()).toHaveLength(2);
  });

  it('frees the key when the first attempt failed on our side, and the retry finds what that attempt wrote', async () => {
    // The message is written, then recording the activity on the thread fails: the answer is a 500.
    const failing = Object.create(harness.conversations) as typeof harness.conversations;
    let failures = 0;
    failing.commit = async (writes) => {
      if (writes.some((w) => w.kind === 'thread') && failures++ < 10) throw new Error('ProvisionedThroughputExceededException');
      return harness.conversations.commit(writes);
    };

    const first = await harness.callVia({ conversations: failing })('POST', `/v1/threads/${threadId}/messages`, {
      body: text('after a hiccup'),
      ...withKey('k-5xx'),
    });
    expect(first.status).toBe(500);
    expect(await replies()).toHaveLength(1);
    harness.clock.advance(2000);

    const retry = await harness.post(`/v1/threads/${threadId}/messages`, text('after a hiccup'), withKey('k-5xx'));

    expect(retry.status).toBe(202);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect((await replies()).map((m) => m.id)).toEqual([retry.json.id]);
    expect((await harness.get(`/v1/threads/${threadId}`)).json.firstResponseAt).toEqual(expect.any(String));
    expect(await deliveries()).toHaveLength(1);
  });

  it('answers 500 for a note the store did not take (never a 201 for nothing), and the retry writes it once', async () => {
    const failing = Object.create(harness.conversations) as typeof harness.conversations;
    failing.commit = async () => {
      throw new Error('InternalServerError: the table is unavailable');
    };
    const first = await harness.callVia({ conversations: failing })('POST', `/v1/threads/${threadId}/notes`, {
      body: { text: 'noted' },
      ...withKey('k-note'),
    });
    expect(first.status).toBe(500);
    expect((await harness.get(`/v1/threads/${threadId}/notes`)).json.items).toEqual([]);

    const retry = await harness.post(`/v1/threads/${threadId}/notes`, { text: 'noted' }, withKey('k-note'));
    const again = await harness.post(`/v1/threads/${threadId}/notes`, { text: 'noted' }, withKey('k-note'));

    expect(retry.status).toBe(201);
    expectReplayOf(retry, again);
    expect((await harness.get(`/v1/threads/${threadId}/notes`)).json.items).toEqual([retry.json]);
  });
});

describe('every POST honours Idempotency-Key', () => {
  it('a note: written once', async () => {
    const first = await harness.post(`/v1/threads/${threadId}/notes`, { text: 'VIP' }, withKey('n-1'));
    const retry = await harness.post(`/v1/threads/${threadId}/notes`, { text: 'VIP' }, withKey('n-1'));

    expect(first.status).toBe(201);
    expectReplayOf(first, retry);
    expect((await harness.get(`/v1/threads/${threadId}/notes`)).json.items).toHaveLength(1);
  });

  it('an account registration: registered once, answered alike', async () => {
    const body = { channel: 'telegram', accountId: '8823456789', name: 'Sales' };
    const first = await harness.post('/v1/accounts', body, withKey('a-1'));
    harness.clock.advance(60_000);
    const retry = await harness.post('/v1/accounts', body, withKey('a-1'));

    expect(first.status).toBe(201);
    expectReplayOf(first, retry);
    expect(await harness.accounts.list()).toHaveLength(1);
  });

  it('a merge: merged once, the retry answered with the first answer rather than "already merged"', async () => {
    const other = await harness.customerWrites('whatsapp', '14155550123');

    const first = await harness.post(`/v1/contacts/${contactId}/merge`, { contactId: other.contactId }, withKey('m-1'));
    const retry = await harness.post(`/v1/contacts/${contactId}/merge`, { contactId: other.contactId }, withKey('m-1'));
    const without = await harness.post(`/v1/contacts/${contactId}/merge`, { contactId: other.contactId });

    expect(first.status).toBe(200);
    expectReplayOf(first, retry);
    expect(without.status).toBe(409);
    expect((await harness.conversations.getContact(contactId))?.value.merges).toHaveLength(1);
  });

  it('an unmerge, an identity link and a retry of a failed message', async () => {
    const other = await harness.customerWrites('whatsapp', '14155550123');
    await harness.post(`/v1/contacts/${contactId}/merge`, { contactId: other.contactId });
    const posted = await harness.post(`/v1/threads/${threadId}/messages`, text('hello?'));
    await harness.deliverReply(threadId, posted.json.id, { providerDown: true });

    const calls: [string, unknown][] = [
      [`/v1/contacts/${contactId}/unmerge`, { contactId: other.contactId }],
      [
        `/v1/contacts/${contactId}/identities`,
        { channel: 'line', accountId: 'default', externalUserId: 'U0123456789abcdef0123456789abcdef' },
      ],
      [`/v1/threads/${threadId}/messages/${posted.json.id}/retry`, undefined],
    ];
    for (const [path, body] of calls) {
      const first = await harness.post(path, body, withKey(`x-${path}`));
      const retry = await harness.post(path, body, withKey(`x-${path}`));
      expect(first.status, path).toBeLessThan(300);
      expectReplayOf(first, retry);
    }
    expect((await harness.outbox()).jobs.filter((j) => j.kind === 'deliver')).toHaveLength(2);
  });

  it('a new API key: made once, and its secret is never kept to be replayed', async () => {
    const first = await harness.post('/v1/keys', { name: 'crm', scopes: ['read'] }, withKey('key-1'));
    const retry = await harness.post('/v1/keys', { name: 'crm', scopes: ['read'] }, withKey('key-1'));

    expect(first.status).toBe(201);
    expect(retry.status).toBe(409);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json).toEqual({ code: 'conflict', message: expect.stringContaining(first.json.id) });
    expect(retry.text).not.toContain(first.json.key);
    expect((await harness.keys.list()).map((k) => k.name)).toEqual(['tests admin', 'crm']);
    const { Items } = (await harness.dynamo.engine.handle('Scan', { TableName: harness.dynamo.tableName })) as { Items?: unknown[] };
    const table = JSON.stringify(Items ?? []);
    expect(table).toContain(hashApiKey(first.json.key));
    expect(table).not.toContain(first.json.key);
  });
});
