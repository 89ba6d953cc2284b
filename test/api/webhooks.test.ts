/**
 * Outgoing webhooks through the integrator API (api/routes/webhooks.ts) on the real handler and stores: what a
 * subscription is made of and who may make it, which URLs are refused, which events become deliveries (through
 * the real outbox relay on the table's stream), and each subscription's deliveries as the API shows them, after
 * the real dispatcher posted them to a real receiver on 127.0.0.1 that verifies them with `standardwebhooks`.
 */
import type { SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { deliveryIdOf, LOCAL_URL_POLICY, MAX_ATTEMPTS, type DeliveryJob, type UrlPolicy } from '../../domain/integrations/webhooks.ts';
import { localContext } from '../../functions/kit/handler.ts';
import { logOnly } from '../../functions/kit/observability.ts';
import { create as createDispatcher } from '../../functions/webhook-dispatcher.ts';
import { startApiHarness, TestClock, type ApiHarness } from '../helpers/api-harness.ts';
import { startReceiver, verifyDelivery, type Receiver } from '../helpers/webhook-receiver.ts';

let harness: ApiHarness | undefined;
const receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  await harness?.stop();
  harness = undefined;
});

/** A harness whose clock is the real time: receivers check signature timestamps against their own clock. */
const start = async (webhookUrlPolicy?: UrlPolicy) => {
  const clock = new TestClock();
  clock.current = new Date();
  harness = await startApiHarness({ clock, ...(webhookUrlPolicy && { webhookUrlPolicy }) });
  return harness;
};

const receiver = async (answer?: Receiver['answer']) => {
  const started = await startReceiver(answer);
  receivers.push(started);
  return started;
};

const HOOK = 'https://hooks.example.com/parley';

/** The delivery jobs the relay has queued so far. */
const queuedJobs = async (h: ApiHarness): Promise<DeliveryJob[]> => {
  await h.outbox();
  return (h.sentTo['webhook-deliveries'] ?? []) as DeliveryJob[];
};

let messageNumber = 0;
/** The real dispatcher over the harness's store, handed these jobs as an SQS batch (the `receiveCount`th receive). */
const dispatch = async (h: ApiHarness, jobs: readonly DeliveryJob[], receiveCount = 1) => {
  const handler = createDispatcher({
    webhooks: h.webhooks,
    clock: h.clock,
    observability: logOnly(h.log),
    visibility: { setVisibilityTimeout: async () => {} },
    webhookUrlPolicy: LOCAL_URL_POLICY,
  });
  const event: SQSEvent = {
    Records: jobs.map((job) => {
      messageNumber += 1;
      return {
        messageId: `m${messageNumber}`,
        receiptHandle: `r${messageNumber}`,
        body: JSON.stringify(job),
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
  };
  return handler(event, localContext('webhook-dispatcher'));
};

describe('subscriptions', () => {
  it('are made with 201 and the secret, which no later answer and no log shows', async () => {
    const h = await start();

    const created = await h.post('/v1/webhooks', { url: HOOK, events: ['message.received'], description: 'CRM sync' });

    expect(created.status).toBe(201);
    const { secret, ...subscription } = created.json;
    expect(subscription).toEqual({
      id: expect.stringMatching(/^wh_/),
      url: HOOK,
      events: ['message.received'],
      description: 'CRM sync',
      enabled: true,
      createdAt: h.clock.now().toISOString(),
      updatedAt: h.clock.now().toISOString(),
    });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);

    const one = await h.get(`/v1/webhooks/${subscription.id}`);
    expect(one.status).toBe(200);
    expect(one.json).toEqual(subscription);
    const list = await h.get('/v1/webhooks');
    expect(list.json).toEqual({ items: [subscription] });
    const changed = await h.patch(`/v1/webhooks/${subscription.id}`, { description: 'CRM sync (EU)' });
    expect(changed.json).toEqual({ ...subscription, description: 'CRM sync (EU)' });
    const secretBody = secret.slice('whsec_'.length);
    for (const answer of [one, list, changed]) {
      expect(answer.text).not.toContain(secretBody);
      expect(answer.json).not.toHaveProperty('secret');
    }
    await h.customerWrites('telegram', '1001');
    await h.outbox();
    expect(JSON.stringify(h.log.entries)).not.toContain(secretBody);
  });

  it('each get a secret of their own', async () => {
    const h = await start();
    const a = await h.post('/v1/webhooks', { url: HOOK, events: ['*'] });
    const b = await h.post('/v1/webhooks', { url: HOOK, events: ['*'] });
    expect(a.json.id).not.toBe(b.json.id);
    expect(a.json.secret).not.toBe(b.json.secret);
  });

  it.each([
    ['an unknown event type', { url: HOOK, events: ['message.recieved'] }, /Unknown event type\(s\): message\.recieved/],
    ['no event type', { url: HOOK, events: [] }, /events/],
    ['no URL', { events: ['*'] }, /url/],
    ['a field the API does not know', { url: HOOK, events: ['*'], secret: 'whsec_mine' }, /secret/],
  ])('refuses %s with 400 invalid_request, making nothing', async (_what, body, message) => {
    const h = await start();

    const response = await h.post('/v1/webhooks', body);

    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(message) });
    expect((await h.get('/v1/webhooks')).json.items).toEqual([]);
  });

  it('keeps each event type once', async () => {
    const h = await start();
    const response = await h.post('/v1/webhooks', { url: HOOK, events: ['message.received', 'thread.created', 'message.received'] });
    expect(response.json.events).toEqual(['message.received', 'thread.created']);
  });

  it('are changed with PATCH: URL, event types, description, enabled; nothing to change is 400, an unknown one 404', async () => {
    const h = await start();
    const { id, secret: _secret, ...made } = (await h.post('/v1/webhooks', { url: HOOK, events: ['*'] })).json;
    h.clock.advance(60_000);

    const patched = await h.patch(`/v1/webhooks/${id}`, {
      url: 'https://hooks.example.com/v2',
      events: ['thread.created'],
      enabled: false,
    });

    expect(patched.status).toBe(200);
    expect(patched.json).toEqual({
      ...made,
      id,
      url: 'https://hooks.example.com/v2',
      events: ['thread.created'],
      enabled: false,
      updatedAt: h.clock.now().toISOString(),
    });
    expect((await h.get(`/v1/webhooks/${id}`)).json).toEqual(patched.json);
    expect((await h.patch(`/v1/webhooks/${id}`, {})).json).toMatchObject({ code: 'invalid_request' });
    expect((await h.patch(`/v1/webhooks/${id}`, { events: ['nope'] })).status).toBe(400);
    expect((await h.patch('/v1/webhooks/wh_missing', { enabled: true })).json).toMatchObject({ code: 'not_found' });
    expect((await h.get(`/v1/webhooks/${id}`)).json).toEqual(patched.json);
  });

  it('are deleted with 204; afterwards 404', async () => {
    const h = await start();
    const { id } = (await h.post('/v1/webhooks', { url: HOOK, events: ['*'] })).json;

    expect((await h.call('DELETE', `/v1/webhooks/${id}`)).status).toBe(204);

    expect((await h.get(`/v1/webhooks/${id}`)).status).toBe(404);
    expect((await h.call('DELETE', `/v1/webhooks/${id}`)).json).toMatchObject({ code: 'not_found' });
    expect((await h.get(`/v1/webhooks/${id}/deliveries`)).status).toBe(404);
    expect((await h.get('/v1/webhooks')).json.items).toEqual([]);
  });
});

describe('URLs a deployment refuses', () => {
  it.each([
    ['plain http', 'http://hooks.example.com/parley', 'url must be https'],
    ['credentials in the URL', 'https://user:pw@hooks.example.com/parley', 'url must not carry credentials'],
    ['the metadata service', 'https://169.254.169.254/latest/meta-data/', 'url points at the cloud metadata address'],
    ['the IPv6 metadata service', 'https://[fd00:ec2::254]/', 'url points at the cloud metadata address'],
    ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/hook', 'url points at a loopback address (IPv4 in IPv6)'],
    ['a decimal loopback', 'https://2130706433/hook', 'url points at a loopback address'],
    ['an octal loopback', 'https://0177.0.0.1/hook', 'url points at a loopback address'],
    ['the IPv6 loopback', 'https://[::1]/hook', 'url points at a loopback address'],
    ['a private address', 'https://10.0.0.8/hook', 'url points at a private address'],
    ['a link-local address', 'https://169.254.3.4/hook', 'url points at a link-local address'],
    ['an IPv6 unique local address', 'https://[fd00::8]/hook', 'url points at a private (unique local) address'],
    ['localhost', 'https://localhost:8443/hook', 'url points at this machine (localhost)'],
  ])('refuses %s at creation with 400 invalid_request, making nothing', async (_what, url, message) => {
    const h = await start();

    const response = await h.post('/v1/webhooks', { url, events: ['*'] });

    expect(response.status).toBe(400);
    expect(response.json).toEqual({ code: 'invalid_request', message });
    expect((await h.get('/v1/webhooks')).json.items).toEqual([]);
  });

  it('refuses them in a PATCH too, leaving the URL as it was', async () => {
    const h = await start();
    const { id } = (await h.post('/v1/webhooks', { url: HOOK, events: ['*'] })).json;

    const response = await h.patch(`/v1/webhooks/${id}`, { url: 'https://169.254.169.254/latest/meta-data/' });

    expect(response.json).toEqual({ code: 'invalid_request', message: 'url points at the cloud metadata address' });
    expect((await h.get(`/v1/webhooks/${id}`)).json.url).toBe(HOOK);
  });

  it('while the local runtime accepts http on loopback, and still refuses the metadata service', async () => {
    const h = await start(LOCAL_URL_POLICY);
    expect((await h.post('/v1/webhooks', { url: 'http://127.0.0.1:4000/hook', events: ['*'] })).status).toBe(201);
    expect((await h.post('/v1/webhooks', { url: 'http://localhost:4000/hook', events: ['*'] })).status).toBe(201);
    expect((await h.post('/v1/webhooks', { url: 'http://169.254.169.254/', events: ['*'] })).status).toBe(400);
  });
});

describe('scopes', () => {
  it.each(['write', 'read'] as const)('answers a %s key 403 forbidden on every webhook route, and changes nothing', async (scope) => {
    const h = await start();
    const { id } = (await h.post('/v1/webhooks', { url: HOOK, events: ['*'] })).json;
    const { secret: key } = await h.newKey([scope]);

    const answers = [
      await h.post('/v1/webhooks', { url: HOOK, events: ['*'] }, { key }),
      await h.get('/v1/webhooks', { key }),
      await h.get(`/v1/webhooks/${id}`, { key }),
      await h.patch(`/v1/webhooks/${id}`, { enabled: false }, { key }),
      await h.call('DELETE', `/v1/webhooks/${id}`, { key }),
      await h.get(`/v1/webhooks/${id}/deliveries`, { key }),
      await h.post(`/v1/webhooks/${id}/deliveries/msg_x/redeliver`, {}, { key }),
    ];

    for (const answer of answers) {
      expect(answer.status).toBe(403);
      expect(answer.json).toEqual({ code: 'forbidden', message: expect.stringContaining('admin') });
    }
    expect((await h.get('/v1/webhooks')).json.items).toEqual([expect.objectContaining({ id, enabled: true })]);
  });
});

describe('Idempotency-Key', () => {
  it('makes one subscription for a retried POST, answering the same id and secret again', async () => {
    const h = await start();
    const body = { url: HOOK, events: ['message.received'] };

    const first = await h.post('/v1/webhooks', body, { headers: { 'Idempotency-Key': 'create-crm-hook' } });
    const retry = await h.post('/v1/webhooks', body, { headers: { 'Idempotency-Key': 'create-crm-hook' } });

    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json).toEqual(first.json);
    expect((await h.get('/v1/webhooks')).json.items).toHaveLength(1);
  });

  it('refuses the same key with another request (409), and makes nothing more', async () => {
    const h = await start();
    await h.post('/v1/webhooks', { url: HOOK, events: ['*'] }, { headers: { 'Idempotency-Key': 'k-1' } });

    const other = await h.post(
      '/v1/webhooks',
      { url: 'https://other.example.com/hook', events: ['*'] },
      { headers: { 'Idempotency-Key': 'k-1' } },
    );

    expect(other.status).toBe(409);
    expect(other.json.code).toBe('idempotency_key_reused');
    expect((await h.get('/v1/webhooks')).json.items).toHaveLength(1);
  });

  it('retried after a first run that made it and then failed (5xx), answers that subscription: still one', async () => {
    const h = await start();
    const body = { url: HOOK, events: ['*'] };
    const stopsAfterWriting = h.callVia({
      webhooks: Object.assign(Object.create(h.webhooks) as typeof h.webhooks, {
        putSubscription: async (...args: Parameters<typeof h.webhooks.putSubscription>) => {
          await h.webhooks.putSubscription(...args);
          throw new Error('the connection dropped after the write');
        },
      }),
    });
    const first = await stopsAfterWriting('POST', '/v1/webhooks', { body, headers: { 'Idempotency-Key': 'k-2' } });
    expect(first.status).toBe(500);

    const retry = await h.post('/v1/webhooks', body, { headers: { 'Idempotency-Key': 'k-2' } });

    expect(retry.status).toBe(201);
    const items = (await h.get('/v1/webhooks')).json.items;
    expect(items).toEqual([expect.objectContaining({ id: retry.json.id })]);
    expect(retry.json.secret).toMatch(/^whsec_/);
  });

  it('used again after it expired (24 h), makes the new subscription asked for, not the old one again', async () => {
    const h = await start();
    const old = await h.post('/v1/webhooks', { url: HOOK, events: ['*'] }, { headers: { 'Idempotency-Key': 'setup' } });
    h.clock.advance(25 * 3_600_000);

    const again = await h.post(
      '/v1/webhooks',
      { url: 'https://other.example.com/hook', events: ['thread.created'] },
      { headers: { 'Idempotency-Key': 'setup' } },
    );

    expect(again.status).toBe(201);
    expect(again.json).toMatchObject({ url: 'https://other.example.com/hook', events: ['thread.created'] });
    expect(again.json.id).not.toBe(old.json.id);
    expect((await h.get('/v1/webhooks')).json.items.map((s: { url: string }) => s.url)).toEqual([HOOK, 'https://other.example.com/hook']);
  });
});

describe('which events become deliveries', () => {
  /** The event types of a subscription's deliveries, as the API lists them. */
  const deliveredTypes = async (h: ApiHarness, id: string): Promise<string[]> =>
    (await h.get(`/v1/webhooks/${id}/deliveries`)).json.items.map((d: { eventType: string }) => d.eventType).sort();

  it('only the types a subscription names, every type for "*"', async () => {
    const h = await start();
    const received = (await h.post('/v1/webhooks', { url: HOOK, events: ['message.received'] })).json.id;
    const everything = (await h.post('/v1/webhooks', { url: HOOK, events: ['*'] })).json.id;
    const threads = (await h.post('/v1/webhooks', { url: HOOK, events: ['thread.created'] })).json.id;

    // A first message from someone: a contact, a thread and the message.
    await h.customerWrites('telegram', '1001');
    const jobs = await queuedJobs(h);

    expect(await deliveredTypes(h, received)).toEqual(['message.received']);
    expect(await deliveredTypes(h, everything)).toEqual(['contact.created', 'message.received', 'thread.created']);
    expect(await deliveredTypes(h, threads)).toEqual(['thread.created']);
    expect(jobs).toHaveLength(5);
  });

  it('for "*": the events of statuses, merges, agents, assignment, transfer and control too, like every other event', async () => {
    const h = await start();
    const everything = (await h.post('/v1/webhooks', { url: HOOK, events: ['*'] })).json.id;
    const ann = await h.customerWrites('telegram', '1001');
    const other = await h.customerWrites('whatsapp', '14155550123');
    expect((await h.post(`/v1/contacts/${ann.contactId}/merge`, { contactId: other.contactId })).status).toBe(200);
    const sent = await h.post(`/v1/threads/${ann.threadId}/messages`, { content: { type: 'text', text: 'On its way' } });
    expect(await h.deliverReply(ann.threadId, sent.json.id)).toMatchObject({ kind: 'sent' });

    expect((await h.post('/v1/agents', { id: 'ann', name: 'Ann', capacity: 2 })).status).toBe(201);
    expect((await h.post('/v1/agents', { id: 'bob', name: 'Bob', capacity: 2 })).status).toBe(201);
    expect((await h.patch('/v1/agents/ann', { availability: 'online' })).status).toBe(200);
    expect((await h.patch('/v1/agents/bob', { availability: 'online' })).status).toBe(200);
    expect((await h.post(`/v1/threads/${ann.threadId}/assign`, { agentId: 'ann' })).status).toBe(200);
    expect((await h.post(`/v1/threads/${ann.threadId}/transfer`, { agentId: 'bob', note: 'Billing' })).status).toBe(200);
    expect((await h.post(`/v1/threads/${ann.threadId}/control`, { action: 'release' })).status).toBe(200);

    await queuedJobs(h);
    const types = new Set(await deliveredTypes(h, everything));
    for (const type of [
      'message.received',
      'message.status',
      'thread.created',
      'thread.updated',
      'contact.merged',
      'agent.availability.changed',
      'thread.assigned',
      'thread.transferred',
      'thread.control.changed',
      'thread.unassigned',
    ]) {
      expect(types, type).toContain(type);
    }
  });

  it('reach a subscription made right after the relay read the (empty) list: the very next event', async () => {
    const h = await start();
    // The relay has handled a write and read the subscriptions (none), which it keeps for 30 s.
    await h.customerWrites('telegram', '1001');
    expect(await queuedJobs(h)).toEqual([]);

    const { id } = (await h.post('/v1/webhooks', { url: HOOK, events: ['message.received'] })).json;
    const next = await h.customerWrites('telegram', '1001', { content: { type: 'text', text: 'Still there?' } });

    const jobs = await queuedJobs(h);
    expect(jobs).toHaveLength(1);
    const deliveries = (await h.get(`/v1/webhooks/${id}/deliveries`)).json.items;
    expect(deliveries).toEqual([expect.objectContaining({ eventType: 'message.received', state: 'pending', attempts: 0 })]);
    const event = (await h.outbox()).events.find((e) => e.type === 'message.received' && e.data.message.id === next.messageId);
    expect(jobs[0]).toEqual({ kind: 'webhook-delivery', subscriptionId: id, deliveryId: deliveryIdOf(event!.id, id) });
  });

  it('none while a subscription is disabled; again once it is enabled', async () => {
    const h = await start();
    const { id } = (await h.post('/v1/webhooks', { url: HOOK, events: ['message.received'] })).json;
    await h.patch(`/v1/webhooks/${id}`, { enabled: false });

    await h.customerWrites('telegram', '1001');
    expect(await queuedJobs(h)).toEqual([]);

    await h.patch(`/v1/webhooks/${id}`, { enabled: true });
    await h.customerWrites('telegram', '1001');
    expect(await queuedJobs(h)).toHaveLength(1);
    expect(await deliveredTypes(h, id)).toEqual(['message.received']);
  });

  it('none once a subscription is deleted, and nothing posted for a delivery it had queued', async () => {
    const h = await start(LOCAL_URL_POLICY);
    const target = await receiver();
    const { id } = (await h.post('/v1/webhooks', { url: target.url, events: ['message.received'] })).json;
    await h.customerWrites('telegram', '1001');
    const queued = await queuedJobs(h);
    expect(queued).toHaveLength(1);

    expect((await h.call('DELETE', `/v1/webhooks/${id}`)).status).toBe(204);
    await h.customerWrites('telegram', '1001');

    expect(await queuedJobs(h)).toHaveLength(1);
    await dispatch(h, queued);
    expect(target.received).toEqual([]);
  });
});

describe('deliveries', () => {
  it("are posted signed with the subscription's secret, and listed newest first with status code, latency and attempts", async () => {
    const h = await start(LOCAL_URL_POLICY);
    const target = await receiver(() => ({ status: 200, delayMs: 30 }));
    const created = (await h.post('/v1/webhooks', { url: target.url, events: ['message.received'] })).json;
    const texts = ['first', 'second', 'third'];
    for (const text of texts) {
      await h.customerWrites('telegram', '1001', { content: { type: 'text', text } });
      h.clock.advance(1000);
    }

    const response = await dispatch(h, await queuedJobs(h));

    expect(response.batchItemFailures).toEqual([]);
    expect(target.received).toHaveLength(3);
    const events = target.received.map((request) => verifyDelivery(created.secret, request));
    expect(events.map((e) => (e.data.message as { content: { text: string } }).content.text).sort()).toEqual([...texts].sort());
    expect(events.every((e) => e.type === 'message.received')).toBe(true);

    const page = await h.get(`/v1/webhooks/${created.id}/deliveries`, { query: { limit: '2' } });
    expect(page.status).toBe(200);
    expect(page.json.items).toHaveLength(2);
    const rest = await h.get(`/v1/webhooks/${created.id}/deliveries`, { query: { limit: '2', cursor: page.json.nextCursor } });
    expect(rest.json.items).toHaveLength(1);
    expect(rest.json).not.toHaveProperty('nextCursor');
    const deliveries = [...page.json.items, ...rest.json.items];
    const byText = new Map(
      target.received.map((r) => [
        r.headers['webhook-id'],
        (verifyDelivery(created.secret, r).data.message as { content: { text: string } }).content.text,
      ]),
    );
    // Newest first: the third message's delivery leads.
    expect(deliveries.map((d: { id: string }) => byText.get(d.id))).toEqual(['third', 'second', 'first']);
    for (const delivery of deliveries) {
      expect(delivery).toEqual({
        id: expect.stringMatching(/^msg_/),
        subscriptionId: created.id,
        eventId: expect.any(String),
        eventType: 'message.received',
        state: 'delivered',
        attempts: 1,
        lastStatusCode: 200,
        lastLatencyMs: expect.any(Number),
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect(delivery.lastLatencyMs).toBeGreaterThanOrEqual(25);
    }
    expect(JSON.stringify(deliveries)).not.toContain('"body"');
  });

  it('that failed for good are shown failed, and redelivered through the API with the same webhook-id', async () => {
    const h = await start(LOCAL_URL_POLICY);
    const target = await receiver(() => 503);
    const created = (await h.post('/v1/webhooks', { url: target.url, events: ['message.received'] })).json;
    await h.customerWrites('telegram', '1001', { content: { type: 'text', text: 'Is anyone there?' } });
    const [job] = await queuedJobs(h);
    for (let receive = 1; receive <= MAX_ATTEMPTS; receive++) await dispatch(h, [job!], receive);

    const [failed] = (await h.get(`/v1/webhooks/${created.id}/deliveries`)).json.items;
    expect(failed).toMatchObject({ id: job!.deliveryId, state: 'failed', attempts: MAX_ATTEMPTS, lastStatusCode: 503 });
    expect(failed).not.toHaveProperty('nextAttemptAt');
    expect(target.received).toHaveLength(MAX_ATTEMPTS);

    target.answer = () => 200;
    const redelivered = await h.post(`/v1/webhooks/${created.id}/deliveries/${failed.id}/redeliver`, {});

    expect(redelivered.status).toBe(202);
    expect(redelivered.json).toMatchObject({ id: failed.id, state: 'pending', attempts: 0, lastStatusCode: 503 });
    expect(redelivered.json).not.toHaveProperty('body');
    const jobs = await queuedJobs(h);
    expect(jobs.at(-1)).toEqual({ kind: 'webhook-delivery', subscriptionId: created.id, deliveryId: failed.id });
    await dispatch(h, [jobs.at(-1)!]);
    const last = target.received.at(-1)!;
    expect(last.headers['webhook-id']).toBe(failed.id);
    expect(verifyDelivery(created.secret, last).data.message).toMatchObject({ content: { type: 'text', text: 'Is anyone there?' } });
    expect((await h.get(`/v1/webhooks/${created.id}/deliveries`)).json.items[0]).toMatchObject({
      id: failed.id,
      state: 'delivered',
      attempts: 1,
      lastStatusCode: 200,
    });
    // The dispatcher logged every attempt and the failure, never the secret.
    expect(h.log.entries).toContainEqual(expect.objectContaining({ level: 'warn', message: 'webhook delivery failed for good' }));
    expect(JSON.stringify(h.log.entries)).not.toContain(created.secret.slice('whsec_'.length));
  });

  it('answer 404 for a delivery or a subscription that does not exist', async () => {
    const h = await start();
    const { id } = (await h.post('/v1/webhooks', { url: HOOK, events: ['*'] })).json;

    expect((await h.post(`/v1/webhooks/${id}/deliveries/msg_missing/redeliver`, {})).json).toMatchObject({ code: 'not_found' });
    expect((await h.post('/v1/webhooks/wh_missing/deliveries/msg_missing/redeliver', {})).json).toMatchObject({ code: 'not_found' });
    expect((await h.get('/v1/webhooks/wh_missing/deliveries')).json).toMatchObject({ code: 'not_found' });
    expect(await queuedJobs(h)).toEqual([]);
  });
});
