/**
 * The send pipeline's figures, on the local runtime against a local fake of the Bot API (which answers at once and
 * records when each call arrived):
 *  1. interactive replies per second through the whole pipeline (API → queue → paced sender → provider), alone;
 *  2. campaign sends per second, alone;
 *  3. both at once: replies per second and campaign sends per second while they compete;
 *  4. the delay of an agent's reply (API request → provider), at agents' pace (BENCH_REPLY_RATE a second), while a
 *     10,000-recipient campaign runs: p50 and p99, against the target of 1 s.
 * Telegram's own limits (30/s) would make every figure 30/s; the bench raises the account's declared throughput
 * (`PARLEY_THROUGHPUT_TELEGRAM`) to measure Parley rather than the provider.
 * Options (env): BENCH_PIPELINE_SECONDS (default 10), BENCH_CAMPAIGN (default 10000), BENCH_THROUGHPUT (default 1000/200),
 * BENCH_REPLY_RATE (default 2), BENCH_REPLY_CONCURRENCY (default 4).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Thread } from '../domain/model.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { startFakeTelegram, type FakeTelegram } from '../test/helpers/fake-telegram.ts';

const SECONDS = Number(process.env.BENCH_PIPELINE_SECONDS ?? 10);
const CAMPAIGN = Number(process.env.BENCH_CAMPAIGN ?? 10_000);
const THROUGHPUT = process.env.BENCH_THROUGHPUT ?? '1000/200';
const SECRET = 'bench-secret';
const API_KEY = 'prl_bench_proactive_key_0123456789';
const REPLY_RATE = Number(process.env.BENCH_REPLY_RATE ?? 2);
const CONCURRENCY = Number(process.env.BENCH_REPLY_CONCURRENCY ?? 4);
const CUSTOMERS = 200;
const TARGET_P99_MS = 1000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

interface Rig {
  readonly runtime: Runtime;
  readonly telegram: FakeTelegram;
  readonly threads: readonly Thread[];
  api<T>(path: string, body?: unknown): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

const rig = async (startRuntime: typeof import('../runtime/runtime.ts')['startRuntime'], raised = true): Promise<Rig> => {
  const telegram = await startFakeTelegram();
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-pipeline-'));
  const runtime = await startRuntime({
    port: 0,
    dataDir,
    logLevel: 'error',
    env: {
      PARLEY_API_KEY: API_KEY,
      PARLEY_API_RATE_LIMIT: '1000000',
      ...(raised && { PARLEY_THROUGHPUT_TELEGRAM: THROUGHPUT }),
      TELEGRAM_WEBHOOK_SECRET: SECRET,
      TELEGRAM_BOT_TOKEN: '7712345678:bench-token',
      TELEGRAM_API_BASE_URL: telegram.baseUrl,
    },
  });
  const api = async <T>(path: string, body?: unknown) => {
    const response = await fetch(`${runtime.url}/v1${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as T };
  };
  // Customers who wrote, so replies have threads to go to.
  for (let i = 0; i < CUSTOMERS; i++) {
    await fetch(`${runtime.url}/webhooks/telegram`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
      body: JSON.stringify({
        update_id: 1_000 + i,
        message: {
          message_id: i + 1,
          from: { id: 10_000 + i, is_bot: false, first_name: 'C' },
          chat: { id: 10_000 + i, type: 'private' },
          date: Math.floor(Date.now() / 1000),
          text: 'hi',
        },
      }),
    });
  }
  await runtime.idle();
  const threads: Thread[] = [];
  for (let i = 0; i < CUSTOMERS; i++) {
    const found = await api<{ items: Thread[] }>(`/threads?channel=telegram&externalUserId=${10_000 + i}`);
    if (found.body.items[0]) threads.push(found.body.items[0]);
  }
  return {
    runtime,
    telegram,
    threads,
    api,
    close: async () => {
      await runtime.stop();
      await telegram.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
};

/** Replies arriving at the provider, by their text's prefix. */
const arrivals = (telegram: FakeTelegram, prefix: string) =>
  telegram.chaos.accepted.filter((c) => String(c.body['text'] ?? '').startsWith(prefix));

/** Posts replies for `seconds`, at most `concurrency` at once (or `perSecond` when given); answers each reply's delay. */
const replyLoad = async (r: Rig, prefix: string, seconds: number, options: { concurrency?: number; perSecond?: number }) => {
  const asked = new Map<string, number>();
  const end = performance.now() + seconds * 1000;
  let n = 0;
  const one = async () => {
    const text = `${prefix} ${n}`;
    const thread = r.threads[n++ % r.threads.length] as Thread;
    asked.set(text, Date.now());
    await r.api(`/threads/${thread.id}/messages`, { content: { type: 'text', text } });
  };
  if (options.perSecond !== undefined) {
    const gap = 1000 / options.perSecond;
    const pending: Promise<void>[] = [];
    while (performance.now() < end) {
      pending.push(one());
      await sleep(gap);
    }
    await Promise.all(pending);
  } else {
    await Promise.all(
      Array.from({ length: options.concurrency ?? 10 }, async () => {
        while (performance.now() < end) await one();
      }),
    );
  }
  return asked;
};

const delaysOf = async (r: Rig, prefix: string, asked: Map<string, number>) => {
  const deadline = Date.now() + 30_000;
  while (arrivals(r.telegram, prefix).length < asked.size && Date.now() < deadline) await sleep(50);
  return arrivals(r.telegram, prefix).map((c) => c.at - (asked.get(String(c.body['text'])) ?? c.at));
};

const campaign = (r: Rig, size: number, from: number, text: string, ratePerSecond: number) =>
  r.api<{ id: string }>('/campaigns', {
    content: { type: 'text', text },
    purpose: 'transactional',
    recipients: Array.from({ length: Math.min(size, 1000) }, (_, i) => ({ channel: 'telegram', externalUserId: String(from + i) })),
    ratePerSecond,
    draft: true,
  });

/** A campaign of `size` recipients, filled 1000 at a time, started. */
const startCampaign = async (r: Rig, size: number, from: number, text: string, ratePerSecond = 1000): Promise<string> => {
  const created = await campaign(r, size, from, text, ratePerSecond);
  for (let start = 1000; start < size; start += 1000) {
    await r.api(`/campaigns/${created.body.id}/recipients`, {
      recipients: Array.from({ length: Math.min(1000, size - start) }, (_, i) => ({
        channel: 'telegram',
        externalUserId: String(from + start + i),
      })),
    });
  }
  await r.api(`/campaigns/${created.body.id}/start`, {});
  return created.body.id;
};

const rate = (count: number, seconds: number) => (count / seconds).toFixed(0);

export const benchPipeline = async (table: (rows: readonly (readonly string[])[]) => string): Promise<boolean> => {
  const { startRuntime } = await import('../runtime/runtime.ts');
  console.log(`\n## Send pipeline (local runtime, fake Bot API, declared throughput ${THROUGHPUT}/s, ${SECONDS}s per run, this machine)\n`);
  const rows: string[][] = [['run', 'replies/s', 'campaign sends/s', 'reply delay p50 ms', 'reply delay p99 ms']];

  // 1. Replies alone.
  let r = await rig(startRuntime);
  let started = Date.now();
  const alone = await replyLoad(r, 'alone', SECONDS, { concurrency: CONCURRENCY });
  const aloneDelays = await delaysOf(r, 'alone', alone);
  rows.push([
    'replies alone',
    rate(arrivals(r.telegram, 'alone').length, (Date.now() - started) / 1000),
    '-',
    String(percentile(aloneDelays, 50)),
    String(percentile(aloneDelays, 99)),
  ]);

  // 2. A campaign alone: sends per second from its first send, for the run's time.
  await startCampaign(r, 2_000, 200_000, 'solo campaign');
  while (arrivals(r.telegram, 'solo campaign').length === 0) await sleep(20);
  started = Date.now();
  const soloBefore = arrivals(r.telegram, 'solo campaign').length;
  await sleep(SECONDS * 1000);
  rows.push([
    'campaign alone (2,000)',
    '-',
    rate(arrivals(r.telegram, 'solo campaign').length - soloBefore, (Date.now() - started) / 1000),
    '-',
    '-',
  ]);
  await r.close();

  // 3. Both at once.
  r = await rig(startRuntime);
  await startCampaign(r, 5_000, 300_000, 'competing campaign');
  while (arrivals(r.telegram, 'competing campaign').length < 20) await sleep(20);
  started = Date.now();
  const before = arrivals(r.telegram, 'competing campaign').length;
  const both = await replyLoad(r, 'both', SECONDS, { concurrency: CONCURRENCY });
  const elapsed = (Date.now() - started) / 1000;
  const campaignDuring = arrivals(r.telegram, 'competing campaign').length - before;
  const bothDelays = await delaysOf(r, 'both', both);
  rows.push([
    'replies + campaign (5,000)',
    rate(arrivals(r.telegram, 'both').length, elapsed),
    rate(campaignDuring, elapsed),
    String(percentile(bothDelays, 50)),
    String(percentile(bothDelays, 99)),
  ]);
  await r.close();

  // 4. Agent replies, at agents' pace, while a 10,000-recipient campaign runs at Telegram's own pace (the
  //    channel's declared throughput, not the raised one): how a real campaign runs beside real replies.
  r = await rig(startRuntime, false);
  const big = await startCampaign(r, CAMPAIGN, 1_000_000, 'big campaign', 25);
  while (arrivals(r.telegram, 'big campaign').length < 20) await sleep(20);
  started = Date.now();
  const beforeBig = arrivals(r.telegram, 'big campaign').length;
  const steady = await replyLoad(r, 'agent', Math.max(SECONDS, 15), { perSecond: REPLY_RATE });
  const steadyElapsed = (Date.now() - started) / 1000;
  const bigDuring = arrivals(r.telegram, 'big campaign').length - beforeBig;
  const steadyDelays = await delaysOf(r, 'agent', steady);
  const counts = (await r.api<{ counts: Record<string, number> }>(`/campaigns/${big}`)).body.counts;
  const p99 = percentile(steadyDelays, 99);
  rows.push([
    `agent replies (${REPLY_RATE}/s) + campaign (${CAMPAIGN.toLocaleString('en')}, Telegram's pace 25/s)`,
    rate(arrivals(r.telegram, 'agent').length, steadyElapsed),
    rate(bigDuring, steadyElapsed),
    String(percentile(steadyDelays, 50)),
    String(p99),
  ]);
  await r.close();

  console.log(table(rows));
  console.log(
    `\nwhile the ${CAMPAIGN.toLocaleString('en')}-recipient campaign ran: ${steady.size} agent replies, p99 delay ${p99} ms (target ≤ ${TARGET_P99_MS} ms) ${p99 <= TARGET_P99_MS ? 'OK' : 'OVER TARGET'}; ` +
      `campaign at ${counts['sent'] ?? 0} sent, ${counts['pending'] ?? 0} pending when replies stopped; limits refused by the fake: ${r.telegram.chaos.overLimit.length}`,
  );
  return p99 <= TARGET_P99_MS;
};
