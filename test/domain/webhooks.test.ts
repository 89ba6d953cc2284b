/**
 * Outgoing webhooks, the pure rules and the fan-out: what a delivery's headers and body are (checked the way a
 * receiver checks them, with the `standardwebhooks` library, and against the specification's formula computed
 * here with node:crypto), when retries happen, which subscription URLs are refused, and which subscriptions
 * an event becomes a delivery for (over the real webhook store on the local engine).
 */
import { createHmac } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoTable } from '../../adapters/aws/store/table.ts';
import { DynamoWebhookStore } from '../../adapters/aws/store/webhooks.ts';
import type { DomainEvent } from '../../domain/events/domain-events.ts';
import { newThread, publicThread } from '../../domain/conversations/threads.ts';
import { fanOut } from '../../domain/integrations/dispatch.ts';
import {
  AWS_URL_POLICY,
  deliveryBody,
  deliveryIdOf,
  LOCAL_URL_POLICY,
  MAX_ATTEMPTS,
  newSecret,
  nextRetrySeconds,
  RETRY_SCHEDULE_SECONDS,
  signedHeaders,
  urlRefusal,
  type DeliveryJob,
  type StoredSubscription,
} from '../../domain/integrations/webhooks.ts';
import { NEW_RECORD } from '../../domain/shared/store.ts';
import { startLocalDynamo, type LocalDynamoHarness } from '../helpers/local-dynamo.ts';

/** The example secret of the Standard Webhooks specification's test vectors. */
const SPEC_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

const at = '2026-11-26T10:00:00.000Z';

const receivedEvent = (id: string, text = 'Where is my order?'): DomainEvent => ({
  id,
  type: 'message.received',
  schemaVersion: 1,
  createdAt: at,
  data: {
    threadId: 'th_1',
    contactId: 'ct_1',
    message: {
      id: 'mg_1',
      threadId: 'th_1',
      direction: 'inbound',
      channel: 'telegram',
      accountId: '7712345678',
      externalId: '5550101234:1200',
      occurredAt: at,
      author: { role: 'customer', externalUserId: '5550101234', displayName: 'Mina Park' },
      content: { type: 'text', text },
      status: 'received',
    },
  },
});

const threadCreated = (id: string): DomainEvent => ({
  id,
  type: 'thread.created',
  schemaVersion: 1,
  createdAt: at,
  data: {
    changes: ['status'],
    thread: publicThread(newThread('th_1', 'ct_1', at)),
  },
});

/** The signature the specification defines, computed without the library: base64 HMAC-SHA256 of "id.timestamp.body". */
const specSignature = (secret: string, id: string, timestamp: string, body: string): string =>
  `v1,${createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
    .update(`${id}.${timestamp}.${body}`)
    .digest('base64')}`;

describe('signing (Standard Webhooks)', () => {
  it('signs "<webhook-id>.<timestamp>.<body>" with the secret, as the specification computes it', () => {
    const body = '{"test": 2432232314}';
    const headers = signedHeaders(SPEC_SECRET, 'msg_p5jXN8AQM9LWM0D4loKWxJek', body, new Date(1614265330 * 1000));

    expect(headers).toEqual({
      'content-type': 'application/json',
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      // The specification's own test vector.
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    });
    expect(headers['webhook-signature']).toBe(specSignature(SPEC_SECRET, 'msg_p5jXN8AQM9LWM0D4loKWxJek', '1614265330', body));
  });

  it('is verified by the standardwebhooks library as a receiver verifies it, for any text the body carries', () => {
    const secret = newSecret();
    const event = receivedEvent('ev_1', '주문은 어디 있나요? 👋 "quoted" \\ back');
    const body = deliveryBody(event);
    const headers = signedHeaders(secret, deliveryIdOf(event.id, 'wh_1'), body, new Date());

    expect(new Webhook(secret).verify(body, headers)).toEqual({ id: 'ev_1', type: 'message.received', createdAt: at, data: event.data });
  });

  it('does not verify with another secret, a changed body, another webhook-id, or a timestamp older than the tolerance', () => {
    const secret = newSecret();
    const body = deliveryBody(receivedEvent('ev_1'));
    const headers = signedHeaders(secret, 'msg_a', body, new Date());

    expect(() => new Webhook(newSecret()).verify(body, headers)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(secret).verify(body.replace('order', 'ordex'), headers)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'msg_b' })).toThrow(WebhookVerificationError);
    // Each attempt is signed at its own time: a receiver refuses an old signature replayed.
    const old = signedHeaders(secret, 'msg_a', body, new Date(Date.now() - 10 * 60_000));
    expect(() => new Webhook(secret).verify(body, old)).toThrow(/too old/);
  });

  it('makes secrets of 32 random bytes, in the whsec_ form', () => {
    const secrets = [newSecret(), newSecret()];
    for (const secret of secrets) {
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    }
    expect(secrets[0]).not.toBe(secrets[1]);
  });

  it('gives an event one webhook-id per subscription, the same every time it is asked', () => {
    expect(deliveryIdOf('ev_1', 'wh_a')).toBe(deliveryIdOf('ev_1', 'wh_a'));
    expect(deliveryIdOf('ev_1', 'wh_a')).toMatch(/^msg_[A-Za-z0-9_-]{22}$/);
    expect(new Set([deliveryIdOf('ev_1', 'wh_a'), deliveryIdOf('ev_1', 'wh_b'), deliveryIdOf('ev_2', 'wh_a')]).size).toBe(3);
  });

  it('sends the event as { id, type, createdAt, data } and nothing else', () => {
    const event = receivedEvent('ev_9');
    expect(JSON.parse(deliveryBody(event))).toStrictEqual({ id: 'ev_9', type: 'message.received', createdAt: at, data: event.data });
  });
});

describe('retry schedule', () => {
  const delays = (random: () => number) => Array.from({ length: MAX_ATTEMPTS }, (_, i) => nextRetrySeconds(i + 1, random));

  it('has 8 attempts in all: the first, then one per scheduled retry, then none', () => {
    expect(MAX_ATTEMPTS).toBe(8);
    expect(delays(() => 0.5).filter((d) => d !== undefined)).toHaveLength(7);
    expect(nextRetrySeconds(MAX_ATTEMPTS)).toBeUndefined();
  });

  it('backs off exponentially: each nominal wait about twice the one before or more, and at least 1.6 times it whatever the jitter', () => {
    for (const random of [() => 0, () => 0.5, () => 0.999_999]) {
      const waits = delays(random).filter((d) => d !== undefined);
      for (let i = 1; i < waits.length; i++) expect(waits[i]! / waits[i - 1]!).toBeGreaterThanOrEqual(1.6);
    }
    const nominal = delays(() => 0.5).filter((d) => d !== undefined);
    for (let i = 1; i < nominal.length; i++) expect(nominal[i]! / nominal[i - 1]!).toBeGreaterThanOrEqual(1.9);
  });

  it('jitters each wait by up to 20 % either way', () => {
    RETRY_SCHEDULE_SECONDS.forEach((base, i) => {
      const low = nextRetrySeconds(i + 1, () => 0)!;
      const high = nextRetrySeconds(i + 1, () => 0.999_999)!;
      expect(low).toBe(Math.max(1, Math.round(base * 0.8)));
      // The 12 h wait is capped below what SQS can postpone (next test); the others reach +20 %.
      if (base < 43_200) expect(high).toBe(Math.round(base * 1.2));
      else expect(high).toBeGreaterThan(low);
      const spread = new Set([0, 0.25, 0.5, 0.75, 0.999].map((r) => nextRetrySeconds(i + 1, () => r)));
      expect(spread.size).toBeGreaterThan(1);
    });
  });

  it('never asks SQS to postpone a message longer than it can (12 h from its receive), so the last retry is not lost', () => {
    for (const random of [() => 0, () => 0.5, () => 0.999_999]) {
      for (const wait of delays(random)) if (wait !== undefined) expect(wait).toBeLessThanOrEqual(43_200 - 60);
    }
  });

  it('spreads the attempts over most of a day and ends them within 24 h, whatever the jitter', () => {
    const total = (random: () => number) => delays(random).reduce<number>((sum, d) => sum + (d ?? 0), 0);
    expect(total(() => 0.999_999)).toBeLessThan(24 * 3600);
    expect(total(() => 0)).toBeGreaterThan(16 * 3600);
  });
});

describe('subscription URL policy', () => {
  it.each([
    ['the cloud metadata service', 'https://169.254.169.254/latest/meta-data/', 'the cloud metadata address'],
    ['the IPv6 metadata service', 'https://[fd00:ec2::254]/latest/meta-data/', 'the cloud metadata address'],
    ['the metadata service as IPv4-mapped IPv6', 'https://[::ffff:169.254.169.254]/', 'the cloud metadata address (IPv4 in IPv6)'],
    ['loopback as IPv4-mapped IPv6', 'https://[::ffff:127.0.0.1]/hook', 'a loopback address (IPv4 in IPv6)'],
    ['loopback as NAT64', 'https://[64:ff9b::7f00:1]/hook', 'a loopback address (IPv4 in IPv6)'],
    ['loopback as a decimal number', 'https://2130706433/hook', 'a loopback address'],
    ['loopback in octal', 'https://0177.0.0.1/hook', 'a loopback address'],
    ['loopback in hex', 'https://0x7f.1/hook', 'a loopback address'],
    ['loopback, shortened', 'https://127.1/hook', 'a loopback address'],
    ['the IPv6 loopback', 'https://[::1]/hook', 'a loopback address'],
    ['the IPv6 loopback written out', 'https://[0:0:0:0:0:0:0:1]/hook', 'a loopback address'],
    ['the unspecified address', 'https://0.0.0.0/hook', 'the unspecified address'],
    ['the IPv6 unspecified address', 'https://[::]/hook', 'the unspecified address'],
    ['a 10/8 address', 'https://10.1.2.3/hook', 'a private address'],
    ['a 172.16/12 address', 'https://172.31.255.1/hook', 'a private address'],
    ['a 192.168/16 address', 'https://192.168.0.10/hook', 'a private address'],
    ['a CGNAT address', 'https://100.64.0.1/hook', 'a shared (CGNAT) address'],
    ['a link-local address', 'https://169.254.10.20/hook', 'a link-local address'],
    ['an IPv6 link-local address', 'https://[fe80::1]/hook', 'a link-local address'],
    ['an IPv6 unique local address', 'https://[fd12:3456::1]/hook', 'a private (unique local) address'],
    ['localhost', 'https://localhost/hook', 'this machine (localhost)'],
    ['localhost in capitals', 'https://LOCALHOST:8443/hook', 'this machine (localhost)'],
    ['a name under localhost', 'https://api.localhost/hook', 'this machine (localhost)'],
    ['localhost as a fully qualified name', 'https://localhost./hook', 'this machine (localhost)'],
    ['a name under localhost, fully qualified', 'https://api.localhost./hook', 'this machine (localhost)'],
  ])('refuses %s in a deployment (%s)', (_what, url, reason) => {
    expect(urlRefusal(url, AWS_URL_POLICY)).toBe(`points at ${reason}`);
  });

  it.each([
    ['plain http', 'http://hooks.example.com/parley', 'must be https'],
    ['another scheme', 'ftp://hooks.example.com/parley', 'must be https'],
    ['credentials in the URL', 'https://user:pa55@hooks.example.com/parley', 'must not carry credentials'],
    ['not a URL', 'hooks.example.com/parley', 'not a URL'],
  ])('refuses %s in a deployment', (_what, url, reason) => {
    expect(urlRefusal(url, AWS_URL_POLICY)).toBe(reason);
  });

  it.each([
    'https://hooks.example.com/parley',
    'https://hooks.example.com:8443/p?x=1',
    'https://93.184.216.34/hook',
    'https://[2606:4700:4700::1111]/hook',
  ])('accepts a public https URL in a deployment: %s', (url) => {
    expect(urlRefusal(url, AWS_URL_POLICY)).toBeUndefined();
  });

  it('lets the local runtime call http on loopback, and nothing private or metadata', () => {
    for (const url of [
      'http://127.0.0.1:4000/hook',
      'http://localhost:4000/hook',
      'http://[::1]:4000/hook',
      'http://2130706433:4000/hook',
    ]) {
      expect(urlRefusal(url, LOCAL_URL_POLICY), url).toBeUndefined();
    }
    for (const url of ['http://169.254.169.254/', 'http://[fd00:ec2::254]/', 'http://10.0.0.8/', 'http://192.168.1.1/']) {
      expect(urlRefusal(url, LOCAL_URL_POLICY), url).toMatch(/^points at /);
    }
  });
});

describe('fanOut', () => {
  let dynamo: LocalDynamoHarness;
  let store: DynamoWebhookStore;
  let sent: DeliveryJob[];
  const clock = { now: () => new Date(at) };

  // A fresh table per test: subscriptions of one test must not match events of another.
  beforeEach(async () => {
    dynamo = await startLocalDynamo();
    store = new DynamoWebhookStore(new DynamoTable({ client: dynamo.client, tableName: dynamo.tableName }));
    sent = [];
  });
  afterEach(async () => {
    await dynamo.stop();
  });

  const deps = () => ({
    webhooks: store,
    subscriptions: () => store.listSubscriptions(),
    deliveries: { send: async (job: DeliveryJob) => void sent.push(structuredClone(job)) },
    clock,
  });

  const subscribe = async (id: string, events: string[], enabled = true): Promise<StoredSubscription> => {
    const subscription: StoredSubscription = {
      id,
      url: `https://${id}.example.com/hook`,
      events,
      enabled,
      createdAt: at,
      updatedAt: at,
      secret: newSecret(),
    };
    await store.putSubscription(subscription, NEW_RECORD);
    return subscription;
  };

  it('queues one delivery per event and subscription that wants it: by type, by "*", never to a disabled one', async () => {
    await subscribe('wh_received', ['message.received']);
    await subscribe('wh_all', ['*']);
    await subscribe('wh_threads', ['thread.created', 'contact.merged']);
    await subscribe('wh_paused', ['*'], false);
    const events = [receivedEvent('ev_m'), threadCreated('ev_t')];

    expect(await fanOut(events, deps())).toBe(4);

    const pairs = sent.map((job) => `${job.subscriptionId} ${job.deliveryId}`).sort();
    expect(pairs).toEqual(
      [
        `wh_received ${deliveryIdOf('ev_m', 'wh_received')}`,
        `wh_all ${deliveryIdOf('ev_m', 'wh_all')}`,
        `wh_all ${deliveryIdOf('ev_t', 'wh_all')}`,
        `wh_threads ${deliveryIdOf('ev_t', 'wh_threads')}`,
      ].sort(),
    );
    expect(sent.every((job) => job.kind === 'webhook-delivery')).toBe(true);
    expect((await store.listDeliveries('wh_paused', 10)).items).toEqual([]);
  });

  it('records each delivery pending, unattempted, with the event as its body', async () => {
    await subscribe('wh_all', ['*']);
    const event = receivedEvent('ev_m');

    await fanOut([event], deps());

    const stored = await store.getDelivery('wh_all', deliveryIdOf('ev_m', 'wh_all'));
    expect(stored?.value).toEqual({
      id: deliveryIdOf('ev_m', 'wh_all'),
      subscriptionId: 'wh_all',
      eventId: 'ev_m',
      eventType: 'message.received',
      state: 'pending',
      attempts: 0,
      createdAt: at,
      updatedAt: at,
      body: deliveryBody(event),
    });
  });

  it('run again on the same events (the relay retried its batch) makes no second delivery, and requeues only what no attempt took yet', async () => {
    await subscribe('wh_all', ['*']);
    const events = [receivedEvent('ev_1'), receivedEvent('ev_2')];
    await fanOut(events, deps());
    // The first delivery was attempted meanwhile.
    const first = await store.getDelivery('wh_all', deliveryIdOf('ev_1', 'wh_all'));
    await store.putDelivery({ ...first!.value, attempts: 1, state: 'retrying' }, first!.version);
    sent = [];

    await fanOut(events, deps());

    expect(sent).toEqual([{ kind: 'webhook-delivery', subscriptionId: 'wh_all', deliveryId: deliveryIdOf('ev_2', 'wh_all') }]);
    expect((await store.getDelivery('wh_all', deliveryIdOf('ev_1', 'wh_all')))?.value).toMatchObject({ attempts: 1, state: 'retrying' });
    expect((await store.listDeliveries('wh_all', 10)).items).toHaveLength(2);
  });

  it('writes and queues nothing when nobody subscribes', async () => {
    expect(await fanOut([receivedEvent('ev_1')], deps())).toBe(0);
    expect(sent).toEqual([]);
    const { Items } = (await dynamo.engine.handle('Scan', { TableName: dynamo.tableName })) as { Items?: unknown[] };
    expect(Items ?? []).toEqual([]);
  });
});
