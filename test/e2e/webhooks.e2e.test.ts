/**
 * Outgoing webhooks end to end on the local runtime, over HTTP as an integrator drives it: a subscription made
 * with POST /v1/webhooks to a receiver on 127.0.0.1; a customer writes on Telegram; the receiver gets the
 * `message.received` event and verifies it with the `standardwebhooks` library and the secret the API showed.
 * A receiver that fails is retried by the runtime's queue (waits scaled down), with the same `webhook-id`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Thread } from '../../domain/conversations/model.ts';
import { startRuntime, type Runtime } from '../../runtime/runtime.ts';
import { startReceiver, verifyDelivery, type Receiver } from '../helpers/webhook-receiver.ts';

const SECRET = 'e2e-webhooks-telegram-secret_0123';
const API_KEY = 'prl_e2e_webhooks_key_0123456789';

let runtime: Runtime;
let dataDir: string;
let target: Receiver;

beforeAll(async () => {
  target = await startReceiver();
  dataDir = mkdtempSync(join(tmpdir(), 'parley-webhooks-e2e-'));
  runtime = await startRuntime({
    port: 0,
    dataDir,
    logLevel: (process.env.E2E_LOG as 'info' | undefined) ?? 'silent',
    timeScale: 0.001, // the retry schedule's seconds become milliseconds
    env: { TELEGRAM_WEBHOOK_SECRET: SECRET, PARLEY_API_KEY: API_KEY },
  });
});
afterAll(async () => {
  await runtime?.stop();
  await target?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const api = async <T = Record<string, unknown>>(path: string, init: RequestInit = {}) => {
  const response = await fetch(`${runtime.url}/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...init.headers },
  });
  return { status: response.status, body: (await response.json()) as T };
};

const telegramUpdate = (updateId: number, text: string) => {
  const update = JSON.parse(readFileSync(new URL('../fixtures/telegram/private-text-entities.json', import.meta.url), 'utf8')) as {
    update_id: number;
    message: { message_id: number; text: string; entities?: unknown };
  };
  update.update_id = updateId;
  update.message.message_id = updateId;
  update.message.text = text;
  delete update.message.entities;
  return update;
};

const customerWrites = async (updateId: number, text: string) => {
  const response = await fetch(`${runtime.url}/webhooks/telegram`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
    body: JSON.stringify(telegramUpdate(updateId, text)),
  });
  expect(response.status).toBe(200);
};

const until = async (probe: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('outgoing webhooks on the local runtime', () => {
  let subscription: { id: string; secret: string };

  it('deliver a Telegram customer’s message to a subscribed receiver, signed so the receiver verifies it', async () => {
    const created = await api<{ id: string; secret: string; url: string }>('/webhooks', {
      method: 'POST',
      body: JSON.stringify({ url: target.url, events: ['message.received'] }),
    });
    expect(created.status).toBe(201);
    subscription = created.body;

    await customerWrites(804_600_001, 'Hello, is my order on its way?');
    await runtime.idle();

    expect(target.received).toHaveLength(1);
    const request = target.received[0]!;
    const event = verifyDelivery(subscription.secret, request);
    expect(event.type).toBe('message.received');
    const threads = (await api<{ items: Thread[] }>('/threads?channel=telegram&externalUserId=5550101234')).body.items;
    expect(threads).toHaveLength(1);
    expect(event.data).toMatchObject({
      threadId: threads[0]!.id,
      message: { direction: 'inbound', channel: 'telegram', content: { type: 'text', text: 'Hello, is my order on its way?' } },
    });
    const deliveries = await api<{ items: { id: string; state: string; attempts: number; lastStatusCode: number }[] }>(
      `/webhooks/${subscription.id}/deliveries`,
    );
    expect(deliveries.body.items).toEqual([
      expect.objectContaining({
        id: request.headers['webhook-id'],
        eventId: event.id,
        state: 'delivered',
        attempts: 1,
        lastStatusCode: 200,
      }),
    ]);
  });

  it('retry a receiver that failed, with the same webhook-id, until it answers', async () => {
    const answers = [500, 503];
    target.answer = () => answers.shift() ?? 200;

    await customerWrites(804_600_002, 'Any news?');
    await until(() => target.received.length === 4, 'the third attempt');
    await runtime.idle();

    const attempts = target.received.slice(1);
    expect(new Set(attempts.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(verifyDelivery(subscription.secret, attempts[2]!).data).toMatchObject({ message: { content: { text: 'Any news?' } } });
    await until(async () => {
      const [latest] = (await api<{ items: { state: string }[] }>(`/webhooks/${subscription.id}/deliveries`)).body.items;
      return latest?.state === 'delivered';
    }, 'the delivery to be recorded');
    const [latest] = (
      await api<{ items: { id: string; attempts: number; lastStatusCode: number }[] }>(`/webhooks/${subscription.id}/deliveries`)
    ).body.items;
    expect(latest).toMatchObject({ id: attempts[0]!.headers['webhook-id'], attempts: 3, lastStatusCode: 200 });
  });

  it('keep reaching a receiver while another subscription’s receiver hangs until its timeout', async () => {
    const hanging = await startReceiver(() => 'hang');
    try {
      const stuck = await api<{ id: string }>('/webhooks', {
        method: 'POST',
        body: JSON.stringify({ url: hanging.url, events: ['message.received'] }),
      });
      expect(stuck.status).toBe(201);
      const before = target.received.length;
      const started = Date.now();

      for (let i = 1; i <= 3; i++) {
        await customerWrites(804_600_010 + i, `Message ${i}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await until(() => target.received.length === before + 3, 'the three deliveries to the healthy receiver');

      // Each attempt at the hanging receiver waits 10 s for an answer; none of that is felt here.
      expect(Date.now() - started).toBeLessThan(4000);
      expect(hanging.received.length).toBeGreaterThan(0);
      const texts = target.received
        .slice(before)
        .map((r) => (verifyDelivery(subscription.secret, r).data.message as { content: { text: string } }).content.text);
      expect(texts.sort()).toEqual(['Message 1', 'Message 2', 'Message 3']);
      expect(
        (await fetch(`${runtime.url}/v1/webhooks/${stuck.body.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${API_KEY}` } }))
          .status,
      ).toBe(204);
    } finally {
      // The hung attempts fail now, and their retries find the subscription gone.
      await hanging.close();
    }
    await runtime.idle();
  });
});
