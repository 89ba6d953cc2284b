/**
 * The API over the real DynamoDB thread store (in dynalite): the idempotency claim, pagination cursors and
 * forward-only statuses the router relies on, as the store that runs in AWS implements them.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoThreadStore } from '../../adapters/aws/dynamo-thread-store.ts';
import { NOT_QUEUED } from '../../api/router.ts';
import { MessageSchema } from '../../domain/model.ts';
import { createHarness, TestClock, type Harness } from '../helpers/api-harness.ts';
import { startDynalite, type Dynalite } from '../helpers/dynalite.ts';

let db: Dynalite;
let h: Harness;

beforeAll(async () => {
  db = await startDynalite();
});

afterAll(async () => {
  await db.stop();
});

beforeEach(async () => {
  const clock = new TestClock();
  h = await createHarness(new DynamoThreadStore({ client: db.client, tableName: db.tableName, clock }), clock);
});

const someone = () => randomUUID();
const body = { content: { type: 'text', text: 'Your parcel is at the pickup point' } };

describe('the API over the DynamoDB thread store', () => {
  it('stores and queues a reply once for a retried Idempotency-Key, and refuses the key with another body', async () => {
    const { thread } = await h.customerWrites('telegram', someone());

    const first = await h.postMessage(thread.id, body, { 'idempotency-key': 'pickup-1' });
    h.clock.advance(1_000);
    const retry = await h.postMessage(thread.id, body, { 'idempotency-key': 'pickup-1' });
    const reused = await h.postMessage(thread.id, { content: { type: 'text', text: 'other' } }, { 'idempotency-key': 'pickup-1' });

    expect(first.statusCode).toBe(202);
    expect(MessageSchema.parse(first.json)).toMatchObject({ status: 'queued', direction: 'outbound' });
    expect(retry.json).toEqual(first.json);
    expect(reused.statusCode).toBe(409);
    expect(h.outbound.sent).toEqual([{ kind: 'deliver', channel: 'telegram', threadId: thread.id, messageId: first.json.id }]);
  });

  it('after a queue failure, a retry with the key makes one new attempt and the failed one stays failed', async () => {
    const { thread } = await h.customerWrites('telegram', someone());
    h.outbound.failures = 1;

    const failed = await h.postMessage(thread.id, body, { 'idempotency-key': 'pickup-2' });
    const retry = await h.postMessage(thread.id, body, { 'idempotency-key': 'pickup-2' });

    expect(failed.statusCode).toBe(503);
    expect(retry.statusCode).toBe(202);
    const messages = await h.call('GET', `/v1/threads/${thread.id}/messages`);
    const outbound = (messages.json.items as { direction: string; status: string; failure?: unknown }[]).filter(
      (m) => m.direction === 'outbound',
    );
    expect(outbound.map((m) => [m.status, m.failure])).toEqual([
      ['failed', NOT_QUEUED],
      ['queued', undefined],
    ]);
    expect(h.outbound.sent).toEqual([{ kind: 'deliver', channel: 'telegram', threadId: thread.id, messageId: retry.json.id }]);
  });

  it("pages a thread's messages oldest first and refuses a cursor of another thread", async () => {
    const customer = someone();
    const { thread } = await h.customerWrites('telegram', customer, { type: 'text', text: 'm0' });
    for (let i = 1; i < 5; i++) {
      h.clock.advance(1_000);
      await h.postMessage(thread.id, { content: { type: 'text', text: `m${i}` } });
    }
    const other = await h.customerWrites('telegram', someone());

    const texts: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await h.call('GET', `/v1/threads/${thread.id}/messages`, { query: { limit: '2', ...(cursor && { cursor }) } });
      texts.push(...(page.json.items as { content: { text: string } }[]).map((m) => m.content.text));
      cursor = page.json.nextCursor as string | undefined;
      if (cursor) {
        const foreign = await h.call('GET', `/v1/threads/${other.thread.id}/messages`, { query: { cursor } });
        expect(foreign.statusCode).toBe(400);
        expect(foreign.json.code).toBe('invalid_cursor');
      }
    } while (cursor);

    expect(texts).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('lists the threads of a channel identity', async () => {
    const customer = someone();
    const { thread } = await h.customerWrites('line', customer);

    const response = await h.call('GET', '/v1/threads', { query: { channel: 'line', externalUserId: customer } });

    expect(response.statusCode).toBe(200);
    expect((response.json.items as { id: string }[]).map((t) => t.id)).toEqual([thread.id]);
  });

  it('registers an account once and lists it under its channel', async () => {
    const accountId = `bot-${someone()}`;
    const register = (name: string) =>
      h.call('POST', '/v1/accounts', { body: JSON.stringify({ channel: 'telegram', accountId, name }) });

    const first = await register('Support bot');
    h.clock.advance(60_000);
    const renamed = await register('Helpdesk');
    const telegram = await h.call('GET', '/v1/accounts', { query: { channel: 'telegram' } });
    const line = await h.call('GET', '/v1/accounts', { query: { channel: 'line' } });

    expect(first.statusCode).toBe(201);
    expect(renamed.json).toEqual({ ...first.json, name: 'Helpdesk' });
    expect((telegram.json.items as { accountId: string }[]).filter((a) => a.accountId === accountId)).toEqual([renamed.json]);
    expect((line.json.items as { accountId: string }[]).some((a) => a.accountId === accountId)).toBe(false);
  });
});
