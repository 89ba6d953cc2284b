/**
 * The webhook dispatcher (functions/webhook-dispatcher.ts), the real handler from `create()`, over the real
 * webhook store on the local engine, posting through the real transport to real receivers on 127.0.0.1. Jobs
 * come as SQS records (or through a real local queue with its dead-letter queue, where the retry schedule runs
 * in milliseconds); every delivery a receiver gets is verified with the `standardwebhooks` library.
 */
import type { SQSEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalQueue } from '../../adapters/local/local-queue.ts';
import { createWebhookTransport } from '../../adapters/net/webhook-transport.ts';
import { DynamoTable } from '../../adapters/aws/store/table.ts';
import { DynamoWebhookStore } from '../../adapters/aws/store/webhooks.ts';
import type { DomainEvent } from '../../domain/events/domain-events.ts';
import { fanOut, redeliver, type WebhookTransport } from '../../domain/integrations/dispatch.ts';
import {
  AWS_URL_POLICY,
  deliveryBody,
  deliveryIdOf,
  LOCAL_URL_POLICY,
  MAX_ATTEMPTS,
  newSecret,
  RETRY_SCHEDULE_SECONDS,
  type DeliveryJob,
  type StoredSubscription,
  type UrlPolicy,
} from '../../domain/integrations/webhooks.ts';
import type { VisibilityControl } from '../../domain/ports.ts';
import { NEW_RECORD } from '../../domain/shared/store.ts';
import { create } from '../../functions/webhook-dispatcher.ts';
import { localContext } from '../../functions/kit/handler.ts';
import { logOnly } from '../../functions/kit/observability.ts';
import { QUEUES } from '../../topology/topology.ts';
import { collectingLog, TestClock } from '../helpers/api-harness.ts';
import { startLocalDynamo, type LocalDynamoHarness } from '../helpers/local-dynamo.ts';
import { startReceiver, verifyDelivery, type ReceivedRequest, type Receiver, type ReceiverAnswer } from '../helpers/webhook-receiver.ts';

let dynamo: LocalDynamoHarness;
let store: DynamoWebhookStore;
const receivers: Receiver[] = [];

beforeEach(async () => {
  dynamo = await startLocalDynamo();
  store = new DynamoWebhookStore(new DynamoTable({ client: dynamo.client, tableName: dynamo.tableName }));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  await dynamo.stop();
});

const receiver = async (answer?: Receiver['answer']) => {
  const started = await startReceiver(answer);
  receivers.push(started);
  return started;
};

/** A clock at the real time (receivers check signature timestamps against theirs), moved by hand. */
const realClock = () => {
  const clock = new TestClock();
  clock.current = new Date();
  return clock;
};

/** A receiver verifies a request when it arrives: with its own clock then at `atMs`. */
const verifyAt = (secret: string, request: ReceivedRequest, atMs: number) => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(atMs);
  try {
    return verifyDelivery(secret, request);
  } finally {
    vi.useRealTimers();
  }
};

let sequence = 0;
const messageReceived = (text = 'Where is my order A-1029? 📦'): DomainEvent => {
  sequence += 1;
  const at = new Date().toISOString();
  return {
    id: `ev_${sequence}_${Math.random().toString(36).slice(2, 8)}`,
    type: 'message.received',
    schemaVersion: 1,
    createdAt: at,
    data: {
      threadId: 'th_1',
      contactId: 'ct_1',
      message: {
        id: `mg_${sequence}`,
        threadId: 'th_1',
        direction: 'inbound',
        channel: 'telegram',
        accountId: '7712345678',
        externalId: `5550101234:${1200 + sequence}`,
        occurredAt: at,
        author: { role: 'customer', externalUserId: '5550101234', displayName: 'Mina Park' },
        content: { type: 'text', text },
        status: 'received',
      },
    },
  };
};

const subscribe = async (url: string, overrides: Partial<StoredSubscription> = {}): Promise<StoredSubscription> => {
  const at = new Date().toISOString();
  const subscription: StoredSubscription = {
    id: `wh_${Math.random().toString(36).slice(2, 10)}`,
    url,
    events: ['*'],
    enabled: true,
    createdAt: at,
    updatedAt: at,
    secret: newSecret(),
    ...overrides,
  };
  await store.putSubscription(subscription, NEW_RECORD);
  return subscription;
};

/** The delivery jobs the outbox relay would queue for these events (the real fan-out). */
const jobsFor = async (events: readonly DomainEvent[], clock = realClock()): Promise<DeliveryJob[]> => {
  const jobs: DeliveryJob[] = [];
  await fanOut(events, {
    webhooks: store,
    subscriptions: () => store.listSubscriptions(),
    deliveries: { send: async (job) => void jobs.push(job) },
    clock,
  });
  return jobs;
};

let messageNumber = 0;
const sqs = (bodies: readonly unknown[], receiveCount = 1): SQSEvent => ({
  Records: bodies.map((body) => {
    messageNumber += 1;
    return {
      messageId: `m${messageNumber}`,
      receiptHandle: `r${messageNumber}`,
      body: typeof body === 'string' ? body : JSON.stringify(body),
      attributes: {
        ApproximateReceiveCount: String(receiveCount),
        SentTimestamp: '0',
        SenderId: 'test',
        ApproximateFirstReceiveTimestamp: '0',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:webhook-deliveries',
      awsRegion: 'eu-west-1',
    };
  }),
});

/**
 * ChangeMessageVisibility as SQS answers it: at most 12 hours, counted from the message's receive; beyond, the
 * call is refused (and the message comes back after the queue's visibility timeout instead).
 */
const sqsVisibility = () => {
  const postponed: { receiptHandle: string; seconds: number }[] = [];
  const refused: number[] = [];
  const control: VisibilityControl = {
    setVisibilityTimeout: async (receiptHandle, seconds) => {
      if (!Number.isInteger(seconds) || seconds < 0 || seconds > 43_200) {
        refused.push(seconds);
        throw Object.assign(
          new Error(`Value ${seconds} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.`),
          {
            name: 'InvalidParameterValue',
          },
        );
      }
      postponed.push({ receiptHandle, seconds });
    },
  };
  return { control, postponed, refused };
};

interface HandlerOptions {
  readonly clock?: TestClock;
  readonly visibility?: VisibilityControl;
  readonly policy?: UrlPolicy;
  readonly transport?: WebhookTransport;
}

const dispatcher = (options: HandlerOptions = {}) => {
  const log = collectingLog();
  const handler = create({
    webhooks: store,
    clock: options.clock ?? realClock(),
    observability: logOnly(log),
    visibility: options.visibility ?? sqsVisibility().control,
    webhookUrlPolicy: options.policy ?? LOCAL_URL_POLICY,
    ...(options.transport && { transport: options.transport }),
  });
  return { run: (event: SQSEvent) => handler(event, localContext('webhook-dispatcher')), log };
};

/** The real transport, giving up after `timeoutMs` instead of 10 s, so a test sees a timeout quickly. */
const transportWithTimeout = (timeoutMs: number): WebhookTransport => {
  const real = createWebhookTransport();
  return { post: (url, request) => real.post(url, { ...request, timeoutMs }) };
};

const failedIds = (response: unknown) =>
  ((response as { batchItemFailures: { itemIdentifier: string }[] }).batchItemFailures ?? []).map((f) => f.itemIdentifier);

describe('delivering', () => {
  it("posts the event signed with the subscription's secret, as { id, type, createdAt, data }, and records it delivered", async () => {
    const target = await receiver(() => ({ status: 200, delayMs: 40 }));
    const subscription = await subscribe(target.url);
    const event = messageReceived('주문은 어디 있나요? 👋');
    const [job] = await jobsFor([event]);

    const response = await dispatcher().run(sqs([job]));

    expect(failedIds(response)).toEqual([]);
    expect(target.received).toHaveLength(1);
    const request = target.received[0] as ReceivedRequest;
    expect(verifyDelivery(subscription.secret, request)).toStrictEqual({
      id: event.id,
      type: 'message.received',
      createdAt: event.createdAt,
      data: event.data,
    });
    expect(request.headers['webhook-id']).toBe(deliveryIdOf(event.id, subscription.id));
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.body).toBe(deliveryBody(event));
    const stored = await store.getDelivery(subscription.id, deliveryIdOf(event.id, subscription.id));
    expect(stored?.value).toMatchObject({ state: 'delivered', attempts: 1, lastStatusCode: 200 });
    expect(stored?.value.lastLatencyMs).toBeGreaterThanOrEqual(35);
    expect(stored?.value).not.toHaveProperty('lastError');
    expect(stored?.value).not.toHaveProperty('nextAttemptAt');
  });

  it('is not verified with the secret of another subscription', async () => {
    const target = await receiver();
    await subscribe(target.url);
    const other = await subscribe(`${target.url}?other`, { enabled: false });
    const [job] = await jobsFor([messageReceived()]);

    await dispatcher().run(sqs([job]));

    expect(() => verifyDelivery(other.secret, target.received[0] as ReceivedRequest)).toThrow(/signature/);
  });

  it('fails (5xx), times out, loses the connection, then recovers: one webhook-id, each attempt signed afresh, nothing lost', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const answers: ReceiverAnswer[] = [503, 'hang', 'reset'];
    const target = await receiver(() => answers.shift() ?? 200);
    const subscription = await subscribe(target.url);
    const event = messageReceived();
    const [job] = await jobsFor([event]);
    const deliveryId = deliveryIdOf(event.id, subscription.id);
    const clock = realClock();
    const visibility = sqsVisibility();
    const { run } = dispatcher({ clock, visibility: visibility.control, transport: transportWithTimeout(300) });
    const record = sqs([job]).Records[0]!;
    const sentAt: number[] = [];
    /** The job received for the `receiveCount`th time, after the wait it was postponed by. */
    const attempt = async (receiveCount: number, waitedMs: number) => {
      clock.advance(waitedMs);
      sentAt.push(clock.now().getTime());
      return failedIds(
        await run({ Records: [{ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: String(receiveCount) } }] }),
      );
    };
    const stored = async () => (await store.getDelivery(subscription.id, deliveryId))?.value;

    expect(await attempt(1, 0)).toEqual([record.messageId]);
    expect(await stored()).toMatchObject({ state: 'retrying', attempts: 1, lastStatusCode: 503 });

    expect(await attempt(2, 5_000)).toEqual([record.messageId]);
    const timedOut = await stored();
    expect(timedOut).toMatchObject({ state: 'retrying', attempts: 2, lastError: expect.stringMatching(/300 ms|aborted/) });
    expect(timedOut).not.toHaveProperty('lastStatusCode');

    expect(await attempt(3, 60_000)).toEqual([record.messageId]);
    expect(await stored()).toMatchObject({ state: 'retrying', attempts: 3, lastError: expect.stringMatching(/socket hang up|ECONNRESET/) });

    expect(await attempt(4, 300_000)).toEqual([]);

    expect(visibility.postponed.map((p) => p.seconds)).toEqual([5, 60, 300]);
    const requests = target.received;
    expect(requests).toHaveLength(4);
    expect(new Set(requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([deliveryId]));
    expect(new Set(requests.map((r) => r.body))).toEqual(new Set([deliveryBody(event)]));
    // Each attempt carries the time it was made, and verifies at that time (a receiver refuses stale ones).
    expect(requests.map((r) => Number(r.headers['webhook-timestamp']))).toEqual(sentAt.map((t) => Math.floor(t / 1000)));
    requests.forEach((request, i) => {
      expect(verifyAt(subscription.secret, request, sentAt[i]!).id).toBe(event.id);
    });
    const delivered = await stored();
    expect(delivered).toMatchObject({ state: 'delivered', attempts: 4, lastStatusCode: 200 });
    expect(delivered).not.toHaveProperty('lastError');
    expect(delivered).not.toHaveProperty('nextAttemptAt');
  });

  it('records when the next attempt is due, by the schedule', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const target = await receiver(() => 500);
    const subscription = await subscribe(target.url);
    const [job] = await jobsFor([messageReceived()]);
    const clock = realClock();

    await dispatcher({ clock }).run(sqs([job]));

    const stored = (await store.getDelivery(subscription.id, job!.deliveryId))?.value;
    expect(Date.parse(stored!.nextAttemptAt!) - Date.parse(stored!.updatedAt)).toBe(RETRY_SCHEDULE_SECONDS[0] * 1000);
  });
});

describe('giving up', () => {
  it('never asks SQS for a postponement it refuses, up to the last of the 8 attempts (12 h counted from the receive)', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const target = await receiver(() => 500);
    await subscribe(target.url);
    const [job] = await jobsFor([messageReceived()]);
    const visibility = sqsVisibility();
    const { run } = dispatcher({ visibility: visibility.control });

    for (let receive = 1; receive < MAX_ATTEMPTS; receive++) await run(sqs([job], receive));

    expect(visibility.refused).toEqual([]);
    expect(visibility.postponed).toHaveLength(MAX_ATTEMPTS - 1);
    expect(visibility.postponed.at(-1)?.seconds).toBeGreaterThan(11 * 3600);
    expect(visibility.postponed.at(-1)?.seconds).toBeLessThan(12 * 3600);
  });

  it("fails the delivery for good on its job's last receive, even when earlier receives ended before attempting", async () => {
    const target = await receiver(() => 500);
    const subscription = await subscribe(target.url);
    const [job] = await jobsFor([messageReceived()]);
    const visibility = sqsVisibility();
    const { run } = dispatcher({ visibility: visibility.control });
    await run(sqs([job], 1));
    await run(sqs([job], 2));
    // Receives 3 to 7 ended before an attempt (the store was unreachable, the function stopped): this is the last.

    const response = await run(sqs([job], QUEUES['webhook-deliveries'].maxReceiveCount));

    expect(failedIds(response)).toHaveLength(1);
    expect(visibility.postponed).toHaveLength(2);
    const stored = (await store.getDelivery(subscription.id, job!.deliveryId))?.value;
    expect(stored).toMatchObject({ state: 'failed', attempts: 3, lastStatusCode: 500 });
    expect(stored).not.toHaveProperty('nextAttemptAt');
  });

  it('after 8 failed attempts the delivery is failed and its job parked in the dead-letter queue; redelivered, it keeps its webhook-id', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const target = await receiver(() => 500);
    const subscription = await subscribe(target.url);
    const event = messageReceived();
    const log = collectingLog();
    // The topology's queue and dead-letter queue, with every wait scaled down: a day of retries in a second.
    const timeScale = 1e-5;
    const dlq = new LocalQueue<unknown>({
      name: 'webhook-deliveries-dlq',
      spec: { ...QUEUES['webhook-deliveries'], maxReceiveCount: 1 },
      timeScale,
    });
    const queue = new LocalQueue<DeliveryJob>({
      name: 'webhook-deliveries',
      spec: QUEUES['webhook-deliveries'],
      deadLetterQueue: dlq,
      timeScale,
    });
    const postponements: number[] = [];
    const handler = create({
      webhooks: store,
      clock: realClock(),
      observability: logOnly(log),
      visibility: {
        setVisibilityTimeout: async (handle, seconds) => {
          postponements.push(seconds);
          await queue.setVisibilityTimeout(handle, seconds);
        },
      },
      webhookUrlPolicy: LOCAL_URL_POLICY,
    });
    queue.consume((batch) => handler(batch, localContext('webhook-dispatcher')));
    try {
      await fanOut([event], { webhooks: store, subscriptions: () => store.listSubscriptions(), deliveries: queue, clock: realClock() });
      const deliveryId = deliveryIdOf(event.id, subscription.id);

      await until(() => dlq.size === 1, 'the job to be parked');

      expect(target.received).toHaveLength(MAX_ATTEMPTS);
      expect(new Set(target.received.map((r) => r.headers['webhook-id']))).toEqual(new Set([deliveryId]));
      expect(postponements).toEqual([5, 60, 300, 1800, 7200, 21_600, 42_900]);
      expect(dlq.peek()).toEqual([{ kind: 'webhook-delivery', subscriptionId: subscription.id, deliveryId }]);
      expect(queue.size).toBe(0);
      const failed = (await store.getDelivery(subscription.id, deliveryId))?.value;
      expect(failed).toMatchObject({ state: 'failed', attempts: MAX_ATTEMPTS, lastStatusCode: 500 });
      expect(failed).not.toHaveProperty('nextAttemptAt');
      expect(log.entries).toContainEqual(expect.objectContaining({ level: 'warn', message: 'webhook delivery failed for good' }));

      // The receiver is fixed; the integrator redelivers (the API's redeliver does this).
      target.answer = () => 200;
      await redeliver({ webhooks: store, clock: realClock(), deliveries: queue }, subscription.id, deliveryId);
      await target.nth(MAX_ATTEMPTS + 1);
      await until(async () => (await store.getDelivery(subscription.id, deliveryId))?.value.state === 'delivered', 'the redelivery');

      const again = target.received[MAX_ATTEMPTS] as ReceivedRequest;
      expect(again.headers['webhook-id']).toBe(deliveryId);
      expect(verifyDelivery(subscription.secret, again).id).toBe(event.id);
      expect((await store.getDelivery(subscription.id, deliveryId))?.value).toMatchObject({
        state: 'delivered',
        attempts: 1,
        lastStatusCode: 200,
      });
    } finally {
      queue.stop();
      dlq.stop();
    }
  });
});

describe('independence', () => {
  it('posts to a fast receiver while a slow one in the same batch has not answered', async () => {
    let release: () => void = () => {};
    const released = new Promise<number>((resolve) => {
      release = () => resolve(200);
    });
    const slow = await receiver(() => released);
    const fast = await receiver();
    const slowSubscription = await subscribe(slow.url);
    const fastSubscription = await subscribe(fast.url);
    const event = messageReceived();
    const jobs = await jobsFor([event]);
    // The slow subscription's job first in the batch.
    jobs.sort((a) => (a.subscriptionId === slowSubscription.id ? -1 : 1));

    const running = dispatcher().run(sqs(jobs));
    await slow.nth(1);
    await fast.nth(1);
    await until(
      async () => (await store.getDelivery(fastSubscription.id, deliveryIdOf(event.id, fastSubscription.id)))?.value.state === 'delivered',
      'the fast delivery',
    );

    expect((await store.getDelivery(slowSubscription.id, deliveryIdOf(event.id, slowSubscription.id)))?.value.state).toBe('retrying');
    release();
    expect(failedIds(await running)).toEqual([]);
    expect((await store.getDelivery(slowSubscription.id, deliveryIdOf(event.id, slowSubscription.id)))?.value.state).toBe('delivered');
  });

  it("postpones a failing receiver's job alone; the rest of the batch is delivered", async () => {
    const failing = await receiver(() => 500);
    const healthy = await receiver();
    const bad = await subscribe(failing.url);
    const good = await subscribe(healthy.url);
    const jobs = await jobsFor([messageReceived(), messageReceived()]);
    const event = sqs(jobs);
    const visibility = sqsVisibility();

    const response = await dispatcher({ visibility: visibility.control }).run(event);

    const badRecords = event.Records.filter((r) => (JSON.parse(r.body) as DeliveryJob).subscriptionId === bad.id).map((r) => r.messageId);
    expect(failedIds(response).sort()).toEqual(badRecords.sort());
    expect(visibility.postponed.map((p) => p.receiptHandle).sort()).toEqual(
      event.Records.filter((r) => badRecords.includes(r.messageId))
        .map((r) => r.receiptHandle)
        .sort(),
    );
    expect(healthy.received).toHaveLength(2);
    expect((await store.listDeliveries(good.id, 10)).items.map((d) => d.state)).toEqual(['delivered', 'delivered']);
  });

  it('posts once for two deliveries of one job, even when the second comes while the first waits for the receiver', async () => {
    let release: () => void = () => {};
    const released = new Promise<number>((resolve) => {
      release = () => resolve(200);
    });
    const target = await receiver(() => released);
    const subscription = await subscribe(target.url);
    const [job] = await jobsFor([messageReceived()]);
    const { run } = dispatcher();

    const first = run(sqs([job]));
    await target.nth(1);
    // SQS delivers the same job again (at-least-once), or the relay queued it twice.
    const second = await run(sqs([job]));
    release();
    const firstResponse = await first;

    expect(target.received).toHaveLength(1);
    expect(failedIds(second)).toEqual([]);
    expect(failedIds(firstResponse)).toEqual([]);
    expect((await store.getDelivery(subscription.id, job!.deliveryId))?.value).toMatchObject({
      state: 'delivered',
      attempts: 1,
      lastStatusCode: 200,
    });
  });

  it('posts once for two deliveries of one job handled at the same moment', async () => {
    const target = await receiver();
    await subscribe(target.url);
    const [job] = await jobsFor([messageReceived()]);
    const { run } = dispatcher();

    await Promise.all([run(sqs([job])), run(sqs([job]))]);

    expect(target.received).toHaveLength(1);
  });
});

describe('what it refuses to reach', () => {
  it('refuses, at delivery and after DNS, a subscription whose name now resolves to a loopback address (deployment policy)', async () => {
    const target = await receiver();
    const lookups: string[] = [];
    const transport = createWebhookTransport({
      resolve: async (hostname) => {
        lookups.push(hostname);
        return [{ address: '127.0.0.1', family: 4 }];
      },
    });
    const subscription = await subscribe(`https://hooks.customer.example:${target.port}/hook`);
    const [job] = await jobsFor([messageReceived()]);

    const response = await dispatcher({ policy: AWS_URL_POLICY, transport }).run(sqs([job]));

    expect(failedIds(response)).toHaveLength(1);
    expect(lookups).toEqual(['hooks.customer.example']);
    expect(target.received).toHaveLength(0);
    expect((await store.getDelivery(subscription.id, job!.deliveryId))?.value).toMatchObject({
      state: 'retrying',
      attempts: 1,
      lastError: expect.stringMatching(/hooks\.customer\.example resolves to a loopback address \(127\.0\.0\.1\); refused/),
    });
  });

  it('refuses a stored URL that points at the metadata service without calling the transport', async () => {
    const calls: string[] = [];
    const transport: WebhookTransport = {
      post: async (url) => {
        calls.push(url);
        return { status: 200 };
      },
    };
    const subscription = await subscribe('https://169.254.169.254/latest/meta-data/iam/security-credentials/');
    const [job] = await jobsFor([messageReceived()]);

    await dispatcher({ policy: AWS_URL_POLICY, transport }).run(sqs([job]));

    expect(calls).toEqual([]);
    expect((await store.getDelivery(subscription.id, job!.deliveryId))?.value.lastError).toBe(
      'the subscription URL points at the cloud metadata address',
    );
  });
});

describe('jobs that have nothing to deliver', () => {
  it.each([
    [
      'disabled',
      async (s: StoredSubscription) => {
        const current = await store.getSubscription(s.id);
        await store.putSubscription({ ...current!.value, enabled: false }, current!.version);
      },
    ],
    [
      'deleted',
      async (s: StoredSubscription) => {
        const current = await store.getSubscription(s.id);
        await store.deleteSubscription(s.id, current!.version);
      },
    ],
  ])('posts nothing for a subscription %s after its job was queued, and records the delivery failed', async (_what, change) => {
    const target = await receiver();
    const subscription = await subscribe(target.url);
    const [job] = await jobsFor([messageReceived()]);
    await change(subscription);

    const response = await dispatcher().run(sqs([job]));

    expect(failedIds(response)).toEqual([]);
    expect(target.received).toHaveLength(0);
    expect((await store.getDelivery(subscription.id, job!.deliveryId))?.value).toMatchObject({
      state: 'failed',
      attempts: 0,
      lastError: 'the subscription was deleted or disabled',
    });
  });

  it('fails an unreadable job alone (to the dead-letter queue), and delivers the rest of its batch', async () => {
    const target = await receiver();
    await subscribe(target.url);
    const [job] = await jobsFor([messageReceived()]);
    const event = sqs([{ kind: 'something-else' }, job]);

    const response = await dispatcher().run(event);

    expect(failedIds(response)).toEqual([event.Records[0]?.messageId]);
    expect(target.received).toHaveLength(1);
  });
});

const until = async (probe: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};
