/**
 * `npm run bench`: measures, in one run on this machine,
 *  1. the local runtime's Telegram webhook (throughput, p50/p99 latency) against a bare Node HTTP server
 *     that only reads the body and answers 200 — the ceiling — and reports the ratio;
 *  2. the cost of normalizing one update, per fixture, against JSON.parse of the same body;
 *  3. the size of each Lambda bundle, built as the stacks build it (ESM, minified, @aws-sdk external);
 *  4. end-to-end rates and listing latencies (bench/flows.ts);
 *  5. outgoing webhook deliveries per second to a local receiver (bench/webhooks.ts);
 *  6. assignment: a simulated day of 10,000 conversations through the real assigner (bench/assignment.ts);
 *  7. the send pipeline: replies and campaign sends per second against a fake provider, alone and competing, and
 *     the p99 delay of an agent's reply while a 10,000-recipient campaign runs (bench/proactive.ts).
 * Not part of `npm test`: figures vary with the machine; the ratios are what to compare.
 * Sections: `npm run bench -- bundles normalize ingest flows webhooks assignment pipeline` (all by default).
 * Options (env): BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 10), BENCH_FLOW_MESSAGES (2000),
 * BENCH_THREAD_MESSAGES (10000), BENCH_CONVERSATIONS (10000), and those of bench/proactive.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { build } from 'esbuild';
import { connectors } from '../connectors/registry.ts';
import type { Connector } from '../domain/connector.ts';
import { FUNCTIONS } from '../topology/topology.ts';
import { benchAssignment } from './assignment.ts';
import { benchFlows } from './flows.ts';
import { benchWebhooks } from './webhooks.ts';
import { benchPipeline } from './proactive.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { startRuntime } = await import('../runtime/runtime.ts');

const root = fileURLToPath(new URL('..', import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
const BUNDLE_LIMIT_KB = 150;
const SECRET = 'bench-secret';

interface LoadResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly non2xx: number;
}

/** Telegram updates with fresh update_id and message_id, so every request is a new message to store. */
let sequence = 1;
const nextUpdate = (): string =>
  JSON.stringify({
    update_id: 900_000_000 + sequence,
    message: {
      message_id: sequence++,
      from: { id: 5550101234, is_bot: false, first_name: 'Mina', last_name: 'Park', language_code: 'ko' },
      chat: { id: 5550101234, first_name: 'Mina', last_name: 'Park', type: 'private' },
      date: 1773448013,
      text: 'Where is my order A-1029? 📦',
    },
  });

const load = (url: string, duration = seconds): Promise<LoadResult> =>
  new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        method: 'POST',
        connections,
        duration,
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
        requests: [{ setupRequest: (request) => ({ ...request, body: nextUpdate() }) }],
      },
      (error, result) => {
        if (error) return reject(error);
        resolve({
          rps: result.requests.average,
          p50: result.latency.p50,
          p99: result.latency.p99,
          errors: result.errors,
          non2xx: result.non2xx,
        });
      },
    );
    instance.on('error', reject);
  });

const bareServer = async () => {
  const server = createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => server.close() };
};

const table = (rows: readonly (readonly string[])[]): string => {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')).join('\n');
};

const benchIngest = async () => {
  const bare = await bareServer();
  await load(bare.url); // warm-up of the load generator itself
  const ceiling = await load(bare.url);
  bare.close();

  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
  const runtime = await startRuntime({
    port: 0,
    dataDir,
    logLevel: 'error',
    env: { TELEGRAM_WEBHOOK_SECRET: SECRET, TELEGRAM_BOT_TOKEN: '7712345678:bench-token', TELEGRAM_API_BASE_URL: 'http://127.0.0.1:9' },
  });
  const webhook = `${runtime.url}/webhooks/telegram`;
  sequence = 1;
  await load(webhook, 2); // warm-up: JIT, dynalite, the first thread
  const ingest = await load(webhook);
  // The thread writer stores in the background while webhooks are acknowledged; see how far behind it is.
  const inbound = runtime.queues.inbound;
  const backlog = inbound.size;
  const drainStart = performance.now();
  const drainDeadline = drainStart + 10_000;
  while (inbound.size > 0 && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 100));
  const drainSeconds = (performance.now() - drainStart) / 1000;
  const drained = backlog - inbound.size;
  await runtime.stop();
  rmSync(dataDir, { recursive: true, force: true });

  const ratio = ingest.rps / ceiling.rps;
  console.log(`\n## Webhook ingest (${seconds}s, ${connections} connections, this machine)\n`);
  console.log(
    table([
      ['server', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx'],
      [
        'bare node:http (ceiling)',
        ceiling.rps.toFixed(0),
        String(ceiling.p50),
        String(ceiling.p99),
        String(ceiling.errors),
        String(ceiling.non2xx),
      ],
      [
        'parley telegram webhook',
        ingest.rps.toFixed(0),
        String(ingest.p50),
        String(ingest.p99),
        String(ingest.errors),
        String(ingest.non2xx),
      ],
    ]),
  );
  console.log(`\ningest / ceiling = ${(ratio * 100).toFixed(1)}%  (target ≥ 40%) ${ratio >= 0.4 ? 'OK' : 'BELOW TARGET'}`);
  console.log(
    `thread writer (back-office worker thread): ${backlog} events queued when the load stopped; ` +
      `${drained} stored in the next ${drainSeconds.toFixed(1)} s (${(drained / drainSeconds).toFixed(0)} events/s)`,
  );
  return ratio >= 0.4;
};

/**
 * Per channel, over its fixture files: parse + normalize time per produced event, and the same against
 * JSON.parse of the same bodies (the floor any parser pays). BENCH_DETAIL=1 lists every fixture.
 */
const benchNormalize = () => {
  console.log('\n## Normalize cost per event (µs), against JSON.parse of the same bodies\n');
  const rows: string[][] = [['channel', 'fixtures', 'events', 'µs/event median', 'µs/event max', 'vs JSON.parse (median)']];
  const detail: string[][] = [['channel', 'fixture', 'JSON.parse µs', 'parse+normalize µs', 'events']];
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  const time = (fn: () => void, iterations = 10_000) => {
    for (let i = 0; i < 1_000; i++) fn();
    const start = performance.now();
    for (let i = 0; i < iterations; i++) fn();
    return ((performance.now() - start) * 1000) / iterations;
  };
  for (const connector of Object.values(connectors) as Connector[]) {
    const dir = join(root, 'test', 'fixtures', connector.channel);
    const files = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.includes('.expected'));
    const perEvent: number[] = [];
    const ratios: number[] = [];
    let events = 0;
    for (const file of files) {
      const body = readFileSync(join(dir, file));
      const parsed = connector.parse(body);
      if (parsed.kind !== 'ok') continue;
      const context = { accountId: connector.accountIdOf(connector.devCredentials()) ?? 'default', receivedAt: '2026-03-14T00:00:00.000Z' };
      const count = connector.normalize(parsed.payload, context).events.length;
      if (count === 0) continue;
      const baseline = time(() => JSON.parse(body.toString('utf8')));
      const full = time(() => {
        const p = connector.parse(body);
        if (p.kind === 'ok') connector.normalize(p.payload, context);
      });
      events += count;
      perEvent.push(full / count);
      ratios.push(full / baseline);
      detail.push([connector.channel, file, baseline.toFixed(2), full.toFixed(2), String(count)]);
    }
    rows.push([
      connector.channel,
      String(perEvent.length),
      String(events),
      median(perEvent).toFixed(2),
      Math.max(...perEvent).toFixed(2),
      `${median(ratios).toFixed(1)}×`,
    ]);
  }
  console.log(table(rows));
  if (process.env.BENCH_DETAIL) console.log(`\n${table(detail)}`);
};

/** Median milliseconds a fresh Node process takes to import `file` (three runs). */
const importMs = (file: string): number => {
  const runs = [0, 1, 2].map(() => {
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const t = performance.now(); await import(${JSON.stringify(file)}); process.stdout.write(String(performance.now() - t));`,
      ],
      { cwd: root, env: { ...process.env, AWS_REGION: 'us-east-1' } },
    );
    return Number(out.toString());
  });
  return [...runs].sort((a, b) => a - b)[1] ?? 0;
};

const benchBundles = async () => {
  console.log(`\n## Lambda bundles (ESM, minified, node24, @aws-sdk/* external; limit ${BUNDLE_LIMIT_KB} KB)\n`);
  console.log('Import: a fresh Node process importing the bundle, against importing only the @aws-sdk clients it uses (the part of');
  console.log('a cold start the bundle adds to what the SDK costs anyway).\n');
  const rows: string[][] = [['function', 'entry', 'KB', '', 'import ms', 'its SDK clients ms', 'ratio']];
  let ok = true;
  // Inside the repository, so the bundles resolve @aws-sdk/* from node_modules as Lambda's runtime provides them.
  const dir = mkdtempSync(join(root, '.bench-bundles-'));
  try {
    const entries = [...new Set(Object.values(FUNCTIONS).map((f) => f.entry))];
    for (const [index, entry] of entries.entries()) {
      const result = await build({
        entryPoints: [join(root, entry)],
        bundle: true,
        write: false,
        minify: true,
        platform: 'node',
        format: 'esm',
        target: 'node24',
        mainFields: ['module', 'main'],
        external: ['@aws-sdk/*'],
        legalComments: 'none',
        logLevel: 'silent',
        banner: { js: "import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);" },
      });
      const code = result.outputFiles[0]?.contents ?? new Uint8Array();
      const kb = code.length / 1024;
      ok &&= kb <= BUNDLE_LIMIT_KB;
      const bundle = join(dir, `b${index}.mjs`);
      writeFileSync(bundle, code);
      const sdk = [
        ...new Set(
          [
            ...Buffer.from(code)
              .toString('utf8')
              .matchAll(/from\s*"(@aws-sdk\/[^"]+)"/g),
          ].map((m) => m[1]),
        ),
      ];
      const sdkOnly = join(dir, `s${index}.mjs`);
      writeFileSync(sdkOnly, sdk.map((name) => `import ${JSON.stringify(name)};`).join('\n'));
      const full = importMs(bundle);
      const base = importMs(sdkOnly);
      const names = Object.entries(FUNCTIONS)
        .filter(([, f]) => f.entry === entry)
        .map(([n]) => n)
        .join(', ');
      rows.push([
        names,
        entry,
        kb.toFixed(1),
        kb <= BUNDLE_LIMIT_KB ? 'OK' : 'OVER',
        full.toFixed(0),
        base.toFixed(0),
        `${(full / base).toFixed(2)}×`,
      ]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(table(rows));
  return ok;
};

/** `npm run bench -- flows` (or bundles, normalize, ingest) runs those sections only. */
const only = new Set(process.argv.slice(2));
const wanted = (section: string) => only.size === 0 || only.has(section);
console.log(`# Parley benchmark — node ${process.version}, ${new Date().toISOString()}`);
const results: boolean[] = [];
if (wanted('bundles')) results.push(await benchBundles());
if (wanted('normalize')) benchNormalize();
if (wanted('ingest')) results.push(await benchIngest());
if (wanted('flows')) results.push(await benchFlows(table));
if (wanted('webhooks')) await benchWebhooks();
if (wanted('assignment')) results.push(await benchAssignment());
if (wanted('pipeline')) results.push(await benchPipeline(table));
console.log(`\n${results.every(Boolean) ? 'All targets met.' : 'Some targets missed (see above).'}`);
