/**
 * End-to-end figures of the local runtime (`npm start`'s own handlers, engine and queues), each with a
 * baseline measured in the same run:
 *  - messages stored per second, webhooks in to messages in the table (every queue idle), over many customers
 *    and over one busy conversation, against the engine's rate of plain `PutItem`s of the same number of items
 *    through the same SDK client (the floor of storing anything);
 *  - p50/p99 of listing a thread of 10,000 messages page by page, and of the inbox query, against a plain
 *    `GetItem` on the same engine.
 * Not part of `npm test`: figures vary with the machine; compare the ratios.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../adapters/aws/store/table.ts';
import { localDynamoClient } from '../adapters/local/dynamodb/index.ts';
import { LOCAL_TABLE_NAME } from '../topology/table.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { startRuntime } = await import('../runtime/runtime.ts');

const SECRET = 'bench-secret';
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);

export interface Row {
  readonly cells: readonly string[];
}

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

const withRuntime = async <T>(run: (runtime: Awaited<ReturnType<typeof startRuntime>>) => Promise<T>): Promise<T> => {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-flows-'));
  const runtime = await startRuntime({
    port: 0,
    dataDir,
    logLevel: 'error',
    env: {
      TELEGRAM_WEBHOOK_SECRET: SECRET,
      TELEGRAM_BOT_TOKEN: '7712345678:bench-token',
      TELEGRAM_API_BASE_URL: 'http://127.0.0.1:9',
      // Latency is measured here, not the per-key limit.
      PARLEY_API_RATE_LIMIT: '1000000',
    },
  });
  try {
    return await run(runtime);
  } finally {
    await runtime.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
};

/** A Telegram update of a customer's text, as Telegram sends it. */
const update = (sequence: number, customer: number): string =>
  JSON.stringify({
    update_id: 800_000_000 + sequence,
    message: {
      message_id: sequence,
      from: { id: 6_100_000_000 + customer, is_bot: false, first_name: 'Mina', language_code: 'ko' },
      chat: { id: 6_100_000_000 + customer, first_name: 'Mina', type: 'private' },
      date: 1_773_448_013 + sequence,
      text: `Where is my order A-${sequence}? 📦`,
    },
  });

/**
 * Posts `total` updates spread over `customers` with {@link CONNECTIONS} at a time, and waits until every queue
 * is idle: the rate is messages stored per second, from the first request to the last write.
 */
const endToEnd = async (customers: number, total: number) =>
  withRuntime(async (runtime) => {
    const webhook = `${runtime.url}/webhooks/telegram`;
    let sequence = 0;
    const post = async (customer: number) => {
      sequence += 1;
      const response = await fetch(webhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
        body: update(sequence, customer),
      });
      if (response.status !== 200) throw new Error(`the webhook answered ${response.status}`);
      await response.arrayBuffer();
    };
    // Warm-up: each customer's contact and thread exist, as for returning customers.
    for (let customer = 0; customer < customers; customer++) await post(customer);
    await runtime.idle();

    const start = performance.now();
    let sent = 0;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (sent < total) {
          const customer = sent % customers;
          sent += 1;
          await post(customer);
        }
      }),
    );
    await runtime.idle();
    const seconds = (performance.now() - start) / 1000;

    // Every message stored, once: counted back through the store.
    const threads = await runtime.deps.conversations.listThreads({ channel: 'telegram', limit: 100 });
    let stored = 0;
    for (const thread of threads.items) {
      let cursor: string | undefined;
      do {
        const page = await runtime.deps.conversations.listMessages([thread.id], 100, cursor);
        stored += page.items.length;
        cursor = page.nextCursor;
      } while (cursor);
    }
    if (stored !== total + customers) throw new Error(`${total + customers} messages were sent but ${stored} stored`);

    // Baseline: the same number of plain PutItems through an SDK client of the same engine.
    const client = createDocumentClient(localDynamoClient({ endpoint: runtime.dynamoEndpoint }));
    const baselineStart = performance.now();
    let written = 0;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (written < total) {
          written += 1;
          const n = written;
          await client.send(
            new PutCommand({
              TableName: LOCAL_TABLE_NAME,
              Item: { pk: `BENCH#${n % customers}`, sk: `ITEM#${n}`, text: `Where is my order A-${n}?` },
            }),
          );
        }
      }),
    );
    const baselineSeconds = (performance.now() - baselineStart) / 1000;
    client.destroy();
    return { rate: total / seconds, baseline: total / baselineSeconds };
  });

/** Latencies of listing a 10,000-message thread page by page (100 a page) and of the inbox, over the API. */
const listings = async (messages: number) =>
  withRuntime(async (runtime) => {
    const webhook = `${runtime.url}/webhooks/telegram`;
    let sequence = 0;
    // One busy conversation of `messages` messages, and 200 other customers for the inbox.
    const post = (customer: number) => {
      sequence += 1;
      return fetch(webhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
        body: update(sequence, customer),
      }).then((r) => r.arrayBuffer());
    };
    let queued = 0;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (queued < messages + 200) {
          queued += 1;
          await post(queued <= messages ? 0 : queued);
        }
      }),
    );
    await runtime.idle();

    const api = (path: string) =>
      fetch(`${runtime.url}${path}`, { headers: { authorization: `Bearer ${runtime.apiKey}` } }).then(async (r) => {
        if (r.status !== 200) throw new Error(`${path} answered ${r.status}`);
        return (await r.json()) as { items: { id: string }[]; nextCursor?: string };
      });
    const timed = async <T>(fn: () => Promise<T>, into: number[]): Promise<T> => {
      const start = performance.now();
      const value = await fn();
      into.push(performance.now() - start);
      return value;
    };

    const busy = (await api(`/v1/threads?channel=telegram&externalUserId=${6_100_000_000}`)).items[0];
    if (!busy) throw new Error('the busy thread is missing');
    const pages: number[] = [];
    let listed = 0;
    for (let round = 0; round < 3; round++) {
      let cursor: string | undefined;
      listed = 0;
      do {
        const query: string = cursor ? `?limit=100&cursor=${encodeURIComponent(cursor)}` : '?limit=100';
        const page = await timed(() => api(`/v1/threads/${busy.id}/messages${query}`), pages);
        listed += page.items.length;
        cursor = page.nextCursor;
      } while (cursor);
    }
    if (listed !== messages) throw new Error(`the thread has ${messages} messages but ${listed} were listed`);

    const inbox: number[] = [];
    for (let i = 0; i < 300; i++) await timed(() => api('/v1/threads?status=open&limit=50'), inbox);

    // Baseline: a GetItem of one message on the same engine, through an SDK client.
    const client = createDocumentClient(localDynamoClient({ endpoint: runtime.dynamoEndpoint }));
    const gets: number[] = [];
    for (let i = 0; i < 300; i++)
      await timed(() => client.send(new GetCommand({ TableName: LOCAL_TABLE_NAME, Key: { pk: `THREAD#${busy.id}`, sk: 'THREAD' } })), gets);
    client.destroy();
    const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
    return { pages: sorted(pages), inbox: sorted(inbox), gets: sorted(gets) };
  });

export const benchFlows = async (table: (rows: readonly (readonly string[])[]) => string): Promise<boolean> => {
  const many = Number(process.env.BENCH_FLOW_MESSAGES ?? 2000);
  console.log(`\n## End to end: Telegram webhooks in, messages stored (${CONNECTIONS} connections, this machine)\n`);
  const fifty = await endToEnd(50, many);
  const one = await endToEnd(1, Math.round(many / 4));
  const ok = fifty.rate >= 300 && one.rate >= 60;
  console.log(
    table([
      ['flow', 'messages/s', 'plain PutItem/s (baseline)', 'ratio', 'target'],
      [
        '50 customers',
        fifty.rate.toFixed(0),
        fifty.baseline.toFixed(0),
        `${((100 * fifty.rate) / fifty.baseline).toFixed(1)}%`,
        `≥ 300/s ${fifty.rate >= 300 ? 'OK' : 'BELOW'}`,
      ],
      [
        'one busy conversation',
        one.rate.toFixed(0),
        one.baseline.toFixed(0),
        `${((100 * one.rate) / one.baseline).toFixed(1)}%`,
        `≥ 60/s ${one.rate >= 60 ? 'OK' : 'BELOW'}`,
      ],
    ]),
  );

  const size = Number(process.env.BENCH_THREAD_MESSAGES ?? 10_000);
  console.log(`\n## Listing over the API: a thread of ${size} messages (100 a page), the inbox (50 open threads a page)\n`);
  const { pages, inbox, gets } = await listings(size);
  const ms = (value: number) => value.toFixed(1);
  console.log(
    table([
      ['request', 'count', 'p50 ms', 'p99 ms', 'p50 vs GetItem'],
      ['GetItem through the SDK (baseline)', String(gets.length), ms(percentile(gets, 50)), ms(percentile(gets, 99)), '1.0×'],
      [
        'GET /v1/threads/{id}/messages',
        String(pages.length),
        ms(percentile(pages, 50)),
        ms(percentile(pages, 99)),
        `${(percentile(pages, 50) / percentile(gets, 50)).toFixed(1)}×`,
      ],
      [
        'GET /v1/threads?status=open',
        String(inbox.length),
        ms(percentile(inbox, 50)),
        ms(percentile(inbox, 99)),
        `${(percentile(inbox, 50) / percentile(gets, 50)).toFixed(1)}×`,
      ],
    ]),
  );
  return ok;
};
