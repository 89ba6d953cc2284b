/**
 * Assignment end to end on the local runtime, driven as outside checks drive it: agents through the API,
 * customers through the Telegram webhook. A customer who writes reaches an online agent with room within
 * seconds (through the outbox, the bus rule and the assignment queue); when nobody has room the thread waits
 * in `GET /v1/queue`; resolving a thread frees capacity the longest-waiting thread takes; an agent coming
 * online takes what waits; and `thread.assigned` reaches a webhook subscriber, signed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime, type Runtime } from '../../runtime/runtime.ts';

const API_KEY = 'prl_assignment_e2e_key_0123456789';
const SECRET = 'assignment-e2e-telegram-secret';

let runtime: Runtime;
let dataDir: string;
let receiver: Server;
const received: { headers: Record<string, string>; body: string }[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'parley-assignment-e2e-'));
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      received.push({ headers: req.headers as Record<string, string>, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  runtime = await startRuntime({
    port: 0,
    dataDir,
    logLevel: 'silent',
    timeScale: 0.001,
    env: { PARLEY_API_KEY: API_KEY, TELEGRAM_WEBHOOK_SECRET: SECRET, TELEGRAM_BOT_TOKEN: '7712345678:e2e-token' },
  });
});
afterAll(async () => {
  await runtime?.stop();
  receiver?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const api = async <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => {
  const response = await fetch(`${runtime.url}/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
};

let update = 1;
/** A customer writes to the bot, as Telegram posts it. */
const customerWrites = async (userId: number, text: string) => {
  const response = await fetch(`${runtime.url}/webhooks/telegram`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
    body: JSON.stringify({
      update_id: 700_000 + update,
      message: {
        message_id: update++,
        from: { id: userId, is_bot: false, first_name: `Customer ${userId}` },
        chat: { id: userId, type: 'private', first_name: `Customer ${userId}` },
        date: Math.floor(Date.now() / 1000),
        text,
      },
    }),
  });
  expect(response.status).toBe(200);
};

interface Thread {
  id: string;
  assignee: string | null;
  status: string;
}

/** Polls until `check` holds, at most `seconds`: "within seconds" as a user sees it. */
const eventually = async <T>(read: () => Promise<T>, check: (value: T) => boolean, seconds = 5): Promise<T> => {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await read();
    if (check(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

const threadOf = async (userId: number): Promise<Thread | undefined> =>
  (await api<{ items: Thread[] }>('GET', `/threads?channel=telegram&externalUserId=${userId}`)).body.items[0];

describe('assignment on the local runtime', () => {
  it('routes customers to agents with room, queues the rest, and fills capacity as it frees', async () => {
    const subscription = await api<{ secret: string }>('POST', '/webhooks', {
      url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
      events: ['thread.assigned'],
    });
    expect(subscription.status).toBe(201);

    expect((await api('POST', '/agents', { id: 'ann', name: 'Ann', capacity: 1 })).status).toBe(201);
    expect((await api('PATCH', '/agents/ann', { availability: 'online' })).body).toMatchObject({
      availability: 'online',
      capacity: 1,
      load: 0,
    });

    await customerWrites(9101, 'Where is my order?');
    const first = await eventually(
      () => threadOf(9101),
      (t) => t?.assignee === 'ann',
    );
    expect(first?.assignee).toBe('ann');
    expect((await api('GET', '/agents/ann')).body).toMatchObject({ load: 1, capacity: 1 });

    // Ann is full: the next customers wait, longest first.
    await customerWrites(9102, 'Hello?');
    const second = await eventually(
      () => threadOf(9102),
      (t) => t !== undefined,
    );
    await customerWrites(9103, 'Anyone there?');
    const third = await eventually(
      () => threadOf(9103),
      (t) => t !== undefined,
    );
    const queue = await eventually(
      () => api<{ items: { threadId: string; waitingSince: string }[] }>('GET', '/queue'),
      (q) => q.body.items.length === 2,
    );
    expect(queue.body.items.map((i) => i.threadId)).toEqual([second?.id, third?.id]);
    expect(Date.parse(queue.body.items[0]?.waitingSince ?? '')).toBeLessThanOrEqual(Date.parse(queue.body.items[1]?.waitingSince ?? ''));
    expect((await threadOf(9102))?.assignee).toBeNull();
    expect((await api('GET', '/agents/ann')).body).toMatchObject({ load: 1 });

    // Resolving frees Ann's capacity: the longest-waiting thread takes it.
    expect((await api('PATCH', `/threads/${first?.id}`, { status: 'resolved' })).status).toBe(200);
    expect(
      (
        await eventually(
          () => threadOf(9102),
          (t) => t?.assignee === 'ann',
        )
      )?.assignee,
    ).toBe('ann');
    expect((await threadOf(9103))?.assignee).toBeNull();
    expect((await api('GET', '/agents/ann')).body).toMatchObject({ load: 1 });

    // An agent coming online takes what still waits.
    await api('POST', '/agents', { id: 'bob', name: 'Bob', capacity: 2 });
    await api('PATCH', '/agents/bob', { availability: 'online' });
    expect(
      (
        await eventually(
          () => threadOf(9103),
          (t) => t?.assignee === 'bob',
        )
      )?.assignee,
    ).toBe('bob');
    expect((await api<{ items: unknown[] }>('GET', '/queue')).body.items).toEqual([]);

    // Every assignment reached the subscriber, signed as Standard Webhooks says.
    const deliveries = await eventually(
      async () => received.filter((r) => JSON.parse(r.body).type === 'thread.assigned'),
      (d) => d.length >= 3,
    );
    const verifier = new Webhook(subscription.body.secret);
    const events = deliveries.map((d) => verifier.verify(d.body, d.headers) as { data: { agentId: string; thread: { id: string } } });
    expect(events.map((e) => [e.data.thread.id, e.data.agentId])).toEqual([
      [first?.id, 'ann'],
      [second?.id, 'ann'],
      [third?.id, 'bob'],
    ]);
  }, 60_000);
});
