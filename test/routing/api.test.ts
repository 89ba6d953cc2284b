/**
 * The agents, teams, queue, assignment and control routes of the integrator API, over the real stores on the
 * local DynamoDB engine: what a caller sends, what is stored (read back through the API), which error codes
 * answer broken rules, and which events the changes publish. The assigner's part (routing a thread that
 * needs a person) is run directly, as the assignment queue would run it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApi, type Api } from '../../api/app.ts';
import { apiKeyRecord, generateApiKey } from '../../api/auth.ts';
import { DynamoAccountStore, DynamoApiKeyStore, DynamoIdempotencyStore } from '../../adapters/aws/store/access.ts';
import { DynamoDeliveryStore } from '../../adapters/aws/store/delivery.ts';
import { DynamoWebhookStore } from '../../adapters/aws/store/webhooks.ts';
import { accountOf, capabilitiesOf } from '../../connectors/capabilities.ts';
import type { Channel } from '../../domain/content.ts';
import type { Scope } from '../../domain/access/model.ts';
import { drain, reconcileThread } from '../../domain/routing/assigner.ts';
import type { StoredMessage } from '../../domain/conversations/ports.ts';
import { NEW_RECORD } from '../../domain/shared/store.ts';
import { startRouting, type RoutingHarness } from './harness.ts';

let h: RoutingHarness;
let app: Api;
const keys: Partial<Record<Scope, string>> = {};

const silentLog = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

beforeEach(async () => {
  h = await startRouting();
  const apiKeys = new DynamoApiKeyStore(h.table);
  for (const scope of ['read', 'write', 'admin'] as const) {
    const { secret } = generateApiKey();
    await apiKeys.create(apiKeyRecord(secret, scope, h.clock.now().toISOString(), [scope]));
    keys[scope] = secret;
  }
  app = createApi({
    conversations: h.conversations,
    routing: h.routing,
    keys: apiKeys,
    accounts: new DynamoAccountStore(h.table),
    idempotency: new DynamoIdempotencyStore(h.table),
    webhooks: new DynamoWebhookStore(h.table),
    deliveries: { send: async () => {} },
    delivery: new DynamoDeliveryStore(h.table),
    campaigns: { send: async () => {} },
    scheduler: { schedule: async () => {} },
    media: {
      put: async () => {},
      get: async () => undefined,
      head: async () => undefined,
      delete: async () => {},
    },
    clock: h.clock,
    log: silentLog,
    channels: ['telegram', 'line'],
    capabilities: capabilitiesOf,
    account: accountOf,
  });
});
afterEach(async () => {
  await h.stop();
});

const call = async <T = Record<string, unknown>>(method: string, path: string, body?: unknown, scope: Scope = 'admin') => {
  const response = await app.request(`/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${keys[scope]}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
};

/** What the assigner does for a new thread's `thread.created`. */
const routeNew = async (threadId: string) => {
  await reconcileThread(h, threadId, { created: true });
  await drain(h);
};

describe('the OpenAPI document', () => {
  it('documents the agents, teams, queue, assignment and control routes, from their declarations', async () => {
    const response = await app.request('/v1/openapi.json');
    const document = (await response.json()) as { paths: Record<string, Record<string, { security?: { apiKey: string[] }[] }>> };
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/v1/agents',
        '/v1/agents/{agentId}',
        '/v1/teams',
        '/v1/queue',
        '/v1/threads/{threadId}/transfer',
        '/v1/threads/{threadId}/control',
      ]),
    );
    expect(document.paths['/v1/agents']?.post?.security).toEqual([{ apiKey: ['admin'] }]);
    expect(document.paths['/v1/queue']?.get?.security).toEqual([{ apiKey: ['read'] }]);
  });
});

describe('agents', () => {
  it('are created with an id, capacity and skills, offline until they say otherwise, with their load', async () => {
    const created = await call('POST', '/agents', { id: 'ann@example.com', name: 'Ann', capacity: 3, skills: ['language:JA', 'billing'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: 'ann@example.com',
      availability: 'offline',
      capacity: 3,
      load: 0,
      skills: ['language:ja', 'topic:billing'],
    });
    const made = await call('POST', '/agents', { name: 'Bob', capacity: 1 });
    expect(made.status).toBe(201);
    expect(made.body.id).toMatch(/^ag_/);

    const online = await call('PATCH', '/agents/ann@example.com', { availability: 'online', capacity: 4 });
    expect(online.status).toBe(200);
    expect((await call('GET', '/agents/ann@example.com', undefined, 'read')).body).toMatchObject({
      availability: 'online',
      capacity: 4,
      load: 0,
    });
    expect(
      (await call<{ items: { id: string }[] }>('GET', '/agents?availability=online', undefined, 'read')).body.items.map((a) => a.id),
    ).toEqual(['ann@example.com']);
    const changed = (await h.events()).filter((e) => e.type === 'agent.availability.changed');
    expect(changed.map((e) => e.data)).toEqual([
      expect.objectContaining({ previous: 'offline', agent: expect.objectContaining({ id: 'ann@example.com', availability: 'online' }) }),
    ]);
  });

  it('refuse what breaks the rules, with a code, and change nothing', async () => {
    await call('POST', '/agents', { id: 'ann', name: 'Ann', capacity: 1, availability: 'online' });
    expect((await call('POST', '/agents', { id: 'ann', name: 'Other', capacity: 9 })).body).toMatchObject({ code: 'already_exists' });
    expect((await call('POST', '/agents', { name: 'Ann', capacity: -1 })).status).toBe(400);
    expect((await call('POST', '/agents', { name: 'Ann', capacity: 1, skills: ['language:'] })).status).toBe(400);
    expect((await call('POST', '/agents', { id: 'has space', name: 'Ann', capacity: 1 })).status).toBe(400);
    expect((await call('PATCH', '/agents/ann', { availability: 'busy' })).status).toBe(400);
    expect((await call('PATCH', '/agents/nobody', { availability: 'online' })).body).toMatchObject({ code: 'not_found' });
    expect((await call('POST', '/agents', { name: 'Eve', capacity: 1 }, 'write')).body).toMatchObject({ code: 'forbidden' });
    expect((await call('GET', '/agents/ann', undefined, 'read')).body).toMatchObject({ name: 'Ann', capacity: 1 });

    await routeNew((await h.thread()).id);
    const lower = await call('PATCH', '/agents/ann', { capacity: 0 });
    expect(lower).toMatchObject({ status: 409, body: { code: 'capacity_below_load', details: { load: 1 } } });
    expect((await call('DELETE', '/agents/ann')).body).toMatchObject({ code: 'agent_has_threads' });
    expect((await call('GET', '/agents/ann', undefined, 'read')).body).toMatchObject({ capacity: 1, load: 1 });
  });
});

describe('the queue', () => {
  it('lists the waiting threads, longest waiting first, with how long they have waited', async () => {
    const first = await h.thread();
    await routeNew(first.id);
    h.clock.advance(90);
    const second = await h.thread({ channel: 'line' });
    await routeNew(second.id);
    h.clock.advance(30);
    const queue = await call<{ items: { threadId: string; waitingSeconds: number; skills: string[] }[] }>(
      'GET',
      '/queue',
      undefined,
      'read',
    );
    expect(queue.status).toBe(200);
    expect(queue.body.items).toEqual([
      expect.objectContaining({
        threadId: first.id,
        waitingSince: first.createdAt,
        waitingSeconds: 120,
        priority: 'normal',
        skills: ['channel:telegram'],
      }),
      expect.objectContaining({ threadId: second.id, waitingSeconds: 30, skills: ['channel:line'] }),
    ]);
    expect((await call('GET', `/threads/${first.id}/route`, undefined, 'read')).body).toMatchObject({
      state: 'waiting',
      waitingSince: first.createdAt,
    });
  });
});

describe('assignment and transfer', () => {
  it('gives a thread to a named agent, moves it to another with a note the new owner reads, and refuses a full agent', async () => {
    await call('POST', '/agents', { id: 'ann', name: 'Ann', capacity: 2, availability: 'online' });
    await call('POST', '/agents', { id: 'bob', name: 'Bob', capacity: 1, availability: 'online' });
    await call('POST', '/agents', { id: 'cy', name: 'Cy', capacity: 1, availability: 'offline' });
    const thread = await h.thread();
    await routeNew(thread.id);
    expect((await call('GET', `/threads/${thread.id}`, undefined, 'read')).body).toMatchObject({ assignee: 'ann' });

    const moved = await call<{ thread: { assignee: string }; route: { state: string; agentId: string } }>(
      'POST',
      `/threads/${thread.id}/transfer`,
      { agentId: 'bob', note: 'Wants a refund for order A-1029' },
      'write',
    );
    expect(moved.status).toBe(200);
    expect(moved.body.thread.assignee).toBe('bob');
    expect(moved.body.route).toMatchObject({ state: 'assigned', agentId: 'bob' });
    expect((await call('GET', '/agents/ann', undefined, 'read')).body).toMatchObject({ load: 0 });
    expect((await call('GET', '/agents/bob', undefined, 'read')).body).toMatchObject({ load: 1 });
    const notes = await call<{ items: { text: string }[] }>('GET', `/threads/${thread.id}/notes`, undefined, 'read');
    expect(notes.body.items.map((n) => n.text)).toEqual(['Wants a refund for order A-1029']);
    const transferred = (await h.events()).filter((e) => e.type === 'thread.transferred');
    expect(transferred.map((e) => e.data)).toEqual([
      expect.objectContaining({
        from: { agentId: 'ann', teamId: null },
        to: { agentId: 'bob', teamId: null },
        note: 'Wants a refund for order A-1029',
      }),
    ]);

    const other = await h.thread();
    expect((await call('POST', `/threads/${other.id}/assign`, { agentId: 'bob' }, 'write')).body).toMatchObject({
      code: 'agent_at_capacity',
    });
    expect((await call('POST', `/threads/${other.id}/assign`, { agentId: 'cy' }, 'write')).body).toMatchObject({
      code: 'agent_unavailable',
    });
    expect((await call('POST', `/threads/${other.id}/assign`, { agentId: 'ann' }, 'write')).body).toMatchObject({
      thread: { assignee: 'ann' },
      route: { state: 'assigned' },
    });
  });

  it('lets the new owner read the whole history, every channel of it', async () => {
    await call('POST', '/agents', { id: 'ann', name: 'Ann', capacity: 2, availability: 'online' });
    await call('POST', '/agents', { id: 'bob', name: 'Bob', capacity: 2, availability: 'online' });
    const thread = await h.thread();
    const message = (id: string, channel: Channel, text: string, at: string): StoredMessage => ({
      id,
      threadId: thread.id,
      direction: 'inbound',
      channel,
      accountId: 'default',
      externalId: id,
      occurredAt: at,
      author: { role: 'customer', id: thread.contactId },
      content: { type: 'text', text },
      status: 'received',
    });
    await h.conversations.commit([
      {
        kind: 'message',
        op: 'put',
        value: message('msg_1', 'telegram', 'My order is late', '2026-03-02T08:00:00.000Z'),
        version: NEW_RECORD,
      },
      {
        kind: 'message',
        op: 'put',
        value: message('msg_2', 'line', 'Writing from LINE now', '2026-03-02T08:30:00.000Z'),
        version: NEW_RECORD,
      },
    ]);
    await routeNew(thread.id);
    await call('POST', `/threads/${thread.id}/transfer`, { agentId: 'bob' }, 'write');
    const history = await call<{ items: { channel: string; content: { text: string } }[] }>(
      'GET',
      `/threads/${thread.id}/messages`,
      undefined,
      'read',
    );
    expect(history.body.items.map((m) => [m.channel, m.content.text])).toEqual([
      ['telegram', 'My order is late'],
      ['line', 'Writing from LINE now'],
    ]);
  });

  it('sends a thread transferred to a team to one of its members, and a released thread to someone else', async () => {
    await call('POST', '/agents', { id: 'ann', name: 'Ann', capacity: 2, availability: 'online' });
    await call('POST', '/agents', { id: 'bob', name: 'Bob', capacity: 2, availability: 'online' });
    await call('POST', '/agents', { id: 'kenji', name: 'Kenji', capacity: 2, availability: 'online' });
    const team = await call('POST', '/teams', { id: 'billing', name: 'Billing', members: ['kenji'] });
    expect(team).toMatchObject({ status: 201, body: { id: 'billing', members: ['kenji'], open: true } });
    expect((await call('POST', '/teams', { name: 'Ghosts', members: ['nobody'] })).body).toMatchObject({ code: 'not_found' });

    const thread = await h.thread();
    await routeNew(thread.id);
    expect((await call('GET', `/threads/${thread.id}`, undefined, 'read')).body).toMatchObject({ assignee: 'ann' });
    const toTeam = await call('POST', `/threads/${thread.id}/transfer`, { teamId: 'billing', note: 'Billing question' }, 'write');
    expect(toTeam.body).toMatchObject({ thread: { assignee: null, team: 'billing' }, route: { state: 'waiting', team: 'billing' } });
    await drain(h);
    expect((await call('GET', `/threads/${thread.id}`, undefined, 'read')).body).toMatchObject({ assignee: 'kenji', team: 'billing' });

    const other = await h.thread();
    await routeNew(other.id);
    const holder = ((await call('GET', `/threads/${other.id}`, undefined, 'read')).body as { assignee: string }).assignee;
    const released = await call('POST', `/threads/${other.id}/release`, {}, 'write');
    expect(released.body).toMatchObject({ thread: { assignee: null, control: { holder: 'none' } }, route: { state: 'waiting' } });
    await drain(h);
    const next = ((await call('GET', `/threads/${other.id}`, undefined, 'read')).body as { assignee: string }).assignee;
    expect(next).not.toBe(holder);
    expect(next).not.toBeNull();
    expect((await call('POST', `/threads/${thread.id}/transfer`, { agentId: 'ann', teamId: 'billing' }, 'write')).status).toBe(400);
  });
});

describe('control', () => {
  it('moves between automation and humans, and keeps automation silent while a human holds the thread', async () => {
    await call('POST', '/agents', { id: 'ann', name: 'Ann', capacity: 1, availability: 'online' });
    await call('PATCH', '/routing/settings', { newThreadControl: 'automation', automationId: 'faq-bot' });
    const thread = await h.thread();
    await routeNew(thread.id);
    const held = await call('GET', `/threads/${thread.id}`, undefined, 'read');
    expect(held.body).toMatchObject({ assignee: null, control: { holder: 'automation', id: 'faq-bot' } });
    expect((await call<{ items: unknown[] }>('GET', '/queue', undefined, 'read')).body.items).toEqual([]);
    const botReply = { content: { type: 'text', text: 'Hi! I am the FAQ bot.' }, author: { role: 'bot', id: 'faq-bot' } };
    expect((await call('POST', `/threads/${thread.id}/messages`, botReply, 'write')).status).toBe(202);

    // The bot hands over: it keeps answering until a person accepts by being given the thread.
    const offered = await call('POST', `/threads/${thread.id}/control`, { action: 'offer', to: 'human' }, 'write');
    expect(offered.body).toMatchObject({ thread: { control: { holder: 'automation', offeredTo: 'human' } }, route: { state: 'waiting' } });
    await drain(h);
    expect((await call('GET', `/threads/${thread.id}`, undefined, 'read')).body).toMatchObject({
      assignee: 'ann',
      control: { holder: 'human', id: 'ann' },
    });
    const silenced = await call('POST', `/threads/${thread.id}/messages`, botReply, 'write');
    expect(silenced).toMatchObject({ status: 409, body: { code: 'control_held' } });
    expect(
      (await call('POST', `/threads/${thread.id}/messages`, { content: { type: 'text', text: 'Ann here, let me look.' } }, 'write')).status,
    ).toBe(202);

    // Back to the bot: Ann's capacity is free again, and the thread waits for nobody.
    const passed = await call('POST', `/threads/${thread.id}/control`, { action: 'pass', to: 'automation', id: 'faq-bot' }, 'write');
    expect(passed.body).toMatchObject({
      thread: { assignee: null, control: { holder: 'automation', id: 'faq-bot' } },
      route: { state: 'idle' },
    });
    expect((await call('GET', '/agents/ann', undefined, 'read')).body).toMatchObject({ load: 0 });
    expect((await call('POST', `/threads/${thread.id}/control`, { action: 'accept' }, 'write')).body).toMatchObject({
      code: 'invalid_control_change',
    });

    // Released by the bot: nobody holds it, so it needs a person.
    const released = await call('POST', `/threads/${thread.id}/control`, { action: 'release' }, 'write');
    expect(released.body).toMatchObject({ thread: { control: { holder: 'none' } }, route: { state: 'waiting' } });
    const changes = (await h.events())
      .filter((e) => e.type === 'thread.control.changed')
      .map((e) => e.data as { action: string; thread: { control: { holder: string } } });
    expect(changes.map((c) => [c.action, c.thread.control.holder])).toEqual([
      ['pass', 'automation'],
      ['offer', 'automation'],
      ['accept', 'human'],
      ['pass', 'automation'],
      ['release', 'none'],
    ]);
  });
});
