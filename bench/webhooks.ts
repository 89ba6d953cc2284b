/**
 * `node --import tsx bench/webhooks.ts`: outgoing webhook deliveries per second, in one run on this machine,
 * from the real dispatcher handler (functions/webhook-dispatcher.ts: the delivery record read, the attempt
 * claimed and recorded in the webhook store on the in-process local DynamoDB engine, the body signed, the POST
 * made through the pinned transport) to a receiver on 127.0.0.1 (node:http, reads the body, answers 200).
 * The baseline is plain `fetch` POSTs of the same signed bodies to the same receiver, as many at once; the
 * ratio is what the dispatcher's bookkeeping and its connection per delivery cost against a bare POST; a third
 * row, the transport alone (no store), tells the two apart. CPU time per delivery counts the receiver too (it
 * shares this thread), and is the steadier figure on a busy machine.
 * Every delivery is checked to have arrived (and, for the dispatcher, to be recorded `delivered`).
 * Options (env): BENCH_WEBHOOK_DELIVERIES (default 2000), BENCH_WEBHOOK_BATCHES (SQS batches of 10 handled at
 * once, default 4: 40 deliveries in flight, the baseline's concurrency too).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { SQSEvent } from 'aws-lambda';
import { createTableInput, ensureTable } from '../adapters/aws/dynamo-table.ts';
import { createDocumentClient, DynamoTable } from '../adapters/aws/store/table.ts';
import { DynamoWebhookStore } from '../adapters/aws/store/webhooks.ts';
import { createLocalDynamo } from '../adapters/local/dynamodb/index.ts';
import { createWebhookTransport } from '../adapters/net/webhook-transport.ts';
import type { DomainEvent } from '../domain/events/domain-events.ts';
import { fanOut } from '../domain/integrations/dispatch.ts';
import { LOCAL_URL_POLICY, newSecret, signedHeaders, type DeliveryJob, type StoredSubscription } from '../domain/integrations/webhooks.ts';
import { systemClock, type Log } from '../domain/ports.ts';
import { NEW_RECORD } from '../domain/shared/store.ts';
import { localContext } from '../functions/kit/handler.ts';
import { logOnly } from '../functions/kit/observability.ts';
import { create } from '../functions/webhook-dispatcher.ts';
import { QUEUES } from '../topology/topology.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const BATCH_SIZE = QUEUES['webhook-deliveries'].batchSize;
const silent: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

const startReceiver = async () => {
  const state = { count: 0 };
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      state.count += 1;
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    state,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
};

const eventOf = (n: number, at: string): DomainEvent => ({
  id: `ev_bench_${n}`,
  type: 'message.received',
  schemaVersion: 1,
  createdAt: at,
  data: {
    threadId: 'th_bench',
    contactId: 'ct_bench',
    message: {
      id: `mg_bench_${n}`,
      threadId: 'th_bench',
      direction: 'inbound',
      channel: 'telegram',
      accountId: '7712345678',
      externalId: `5550101234:${n}`,
      occurredAt: at,
      author: { role: 'customer', externalUserId: '5550101234', displayName: 'Mina Park' },
      content: { type: 'text', text: `Where is my order A-${1000 + n}? 📦` },
      status: 'received',
    },
  },
});

const sqsOf = (jobs: readonly DeliveryJob[], offset: number): SQSEvent => ({
  Records: jobs.map((job, i) => ({
    messageId: `m${offset + i}`,
    receiptHandle: `r${offset + i}`,
    body: JSON.stringify(job),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'bench',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:local:000000000000:webhook-deliveries',
    awsRegion: 'local',
  })),
});

/** Runs `work(i)` for i in [0, count), `concurrency` at a time. */
const pool = async (count: number, concurrency: number, work: (i: number) => Promise<void>) => {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        await work(i);
      }
    }),
  );
};

interface Row {
  readonly path: string;
  readonly deliveries: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly cpuMsPer: number;
}

const measure = async (path: string, deliveries: number, run: () => Promise<void>): Promise<Row> => {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await run();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { path, deliveries, seconds, perSecond: deliveries / seconds, cpuMsPer: (used.user + used.system) / 1000 / deliveries };
};

/** Measures the dispatcher's deliveries per second against plain fetch POSTs and prints the table. */
export async function benchWebhooks(): Promise<void> {
  const total = Number(process.env.BENCH_WEBHOOK_DELIVERIES ?? 2000);
  const batchesInFlight = Number(process.env.BENCH_WEBHOOK_BATCHES ?? 4);
  const concurrency = batchesInFlight * BATCH_SIZE;

  const engine = await createLocalDynamo({ ttlSweepIntervalMs: 0 });
  const receiver = await startReceiver();
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const dynamo = new DynamoDBClient({
    requestHandler: engine.requestHandler,
    endpoint: 'http://local',
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  try {
    await engine.handle('CreateTable', {
      ...createTableInput('parley'),
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
    await ensureTable(dynamo, 'parley');
    const store = new DynamoWebhookStore(new DynamoTable({ client: createDocumentClient(dynamo), tableName: 'parley' }));
    const at = new Date().toISOString();
    const subscription: StoredSubscription = {
      id: 'wh_bench',
      url: receiver.url,
      events: ['*'],
      enabled: true,
      createdAt: at,
      updatedAt: at,
      secret: newSecret(),
    };
    await store.putSubscription(subscription, NEW_RECORD);

    // The deliveries the outbox relay would have made (not measured), and a few more to warm up with.
    const warmCount = 2 * concurrency;
    const events = Array.from({ length: total + warmCount }, (_, n) => eventOf(n, at));
    const allJobs: DeliveryJob[] = [];
    await fanOut(events, {
      webhooks: store,
      subscriptions: async () => [subscription],
      deliveries: { send: async (job) => void allJobs.push(job) },
      clock: systemClock,
    });
    const warmJobs = allJobs.slice(total);
    const jobs = allJobs.slice(0, total);
    const bodies = await Promise.all(jobs.map(async (job) => (await store.getDelivery(job.subscriptionId, job.deliveryId))!.value));

    const handler = create({
      webhooks: store,
      clock: systemClock,
      observability: logOnly(silent),
      visibility: { setVisibilityTimeout: async () => {} },
      webhookUrlPolicy: LOCAL_URL_POLICY,
    });
    const batchesOf = (list: readonly DeliveryJob[]) =>
      Array.from({ length: Math.ceil(list.length / BATCH_SIZE) }, (_, i) => list.slice(i * BATCH_SIZE, (i + 1) * BATCH_SIZE));
    const batches = batchesOf(jobs);

    // Warm both paths (module loading, JIT, the first connections) on deliveries of their own.
    const warmBatches = batchesOf(warmJobs);
    await pool(
      warmBatches.length,
      batchesInFlight,
      async (i) => void (await handler(sqsOf(warmBatches[i]!, total + i * BATCH_SIZE), localContext('webhook-dispatcher'))),
    );
    await pool(warmCount, concurrency, async (i) => {
      const body = bodies[i]!;
      await (
        await fetch(receiver.url, {
          method: 'POST',
          headers: signedHeaders(subscription.secret, body.id, body.body, new Date()),
          body: body.body,
        })
      ).arrayBuffer();
    });

    receiver.state.count = 0;
    const dispatcher = await measure('dispatcher handler (store + sign + pinned POST)', total, async () => {
      await pool(batches.length, batchesInFlight, async (i) => {
        const response = (await handler(sqsOf(batches[i]!, i * BATCH_SIZE), localContext('webhook-dispatcher'))) as {
          batchItemFailures: unknown[];
        };
        if (response.batchItemFailures.length > 0) throw new Error(`${response.batchItemFailures.length} deliveries failed`);
      });
    });
    if (receiver.state.count !== total) throw new Error(`the receiver got ${receiver.state.count} of ${total} deliveries`);
    const sample = await store.getDelivery(subscription.id, jobs.at(-1)!.deliveryId);
    if (sample?.value.state !== 'delivered') throw new Error('a delivery was not recorded delivered');

    receiver.state.count = 0;
    const baseline = await measure('baseline: fetch POST of the same signed bodies', total, async () => {
      await pool(total, concurrency, async (i) => {
        const delivery = bodies[i]!;
        const response = await fetch(receiver.url, {
          method: 'POST',
          headers: signedHeaders(subscription.secret, delivery.id, delivery.body, new Date()),
          body: delivery.body,
        });
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`the receiver answered ${response.status}`);
      });
    });
    if (receiver.state.count !== total) throw new Error(`the receiver got ${receiver.state.count} of ${total} baseline POSTs`);

    // Where the difference goes: the transport alone (pinned, a connection per delivery), without the store.
    receiver.state.count = 0;
    const transport = createWebhookTransport();
    const transportOnly = await measure('transport alone (pinned POST, no store)', total, async () => {
      await pool(total, concurrency, async (i) => {
        const delivery = bodies[i]!;
        const { status } = await transport.post(receiver.url, {
          headers: signedHeaders(subscription.secret, delivery.id, delivery.body, new Date()),
          body: delivery.body,
          timeoutMs: 10_000,
          policy: LOCAL_URL_POLICY,
        });
        if (status !== 200) throw new Error(`the receiver answered ${status}`);
      });
    });
    if (receiver.state.count !== total) throw new Error(`the receiver got ${receiver.state.count} of ${total} transport POSTs`);

    const rows = [dispatcher, transportOnly, baseline];
    console.log(
      `\nWebhook deliveries to a local receiver: ${total} deliveries, ${concurrency} in flight (${batchesInFlight} batches of ${BATCH_SIZE})\n`,
    );
    console.log('| path | deliveries | seconds | deliveries/s | CPU ms/delivery | ratio to baseline |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const row of rows) {
      console.log(
        `| ${row.path} | ${row.deliveries} | ${row.seconds.toFixed(2)} | ${row.perSecond.toFixed(0)} | ${row.cpuMsPer.toFixed(3)} | ${(row.perSecond / baseline.perSecond).toFixed(2)} |`,
      );
    }
  } finally {
    dynamo.destroy();
    await receiver.close();
    await engine.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await benchWebhooks();
}
