/**
 * Every channel end to end on the local runtime: the channel's sample conversation (its provider's own
 * signed webhook requests) becomes a thread read through the integrator API; an agent's reply goes out
 * through the outbound queue to a local fake of the provider's API, which records exactly what it got
 * and answers as the provider does (the connector's sandbox gives the answers). Where the provider
 * publishes a specification, the recorded request is checked against it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demos } from '../../connectors/demo.ts';
import { connectors } from '../../connectors/registry.ts';
import type { Connector } from '../../domain/connector.ts';
import type { Channel } from '../../domain/content.ts';
import type { Message, Thread } from '../../domain/conversations/model.ts';
import { startRuntime, type Runtime } from '../../runtime/runtime.ts';
import { lineRequestViolations } from '../helpers/line-spec.ts';
import { telegramRequestViolations } from '../helpers/telegram-spec.ts';
import { whatsappMessageViolations } from '../helpers/whatsapp-spec.ts';

interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: unknown;
}

/** A provider's API on loopback: records each request, answers with the connector's sandbox. */
const startFakeProvider = async (connector: Connector) => {
  const calls: Recorded[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const path = new URL(req.url ?? '/', 'http://fake').pathname;
      let body: unknown = raw.toString('utf8');
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        // not JSON: kept as text
      }
      calls.push({ method: req.method ?? 'GET', path, headers: req.headers, body });
      const answer = connector.sandbox?.handle({ method: req.method ?? 'GET', path, body: raw }) ?? { statusCode: 404, body: {} };
      res.writeHead(answer.statusCode, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

/** Spec checks for the providers that publish one. */
const specViolations: Partial<Record<Channel, (call: Recorded) => string[]>> = {
  telegram: (call) => telegramRequestViolations(call.path.split('/').at(-1) ?? '', call.body),
  whatsapp: (call) => {
    const violations = whatsappMessageViolations(call.body);
    return violations ? [violations] : [];
  },
  line: (call) =>
    lineRequestViolations(call.path.endsWith('/reply') ? 'reply' : 'push', call.body, {
      'x-line-retry-key': call.headers['x-line-retry-key'] as string | undefined,
    }),
};

const all = Object.values(connectors) as Connector[];
const fakes = new Map<Channel, Awaited<ReturnType<typeof startFakeProvider>>>();
let runtime: Runtime;
let dataDir: string;
const API_KEY = 'prl_channels_e2e_key_0123456789';

beforeAll(async () => {
  for (const connector of all) fakes.set(connector.channel, await startFakeProvider(connector));
  dataDir = mkdtempSync(join(tmpdir(), 'parley-channels-e2e-'));
  runtime = await startRuntime({
    port: 0,
    dataDir,
    logLevel: 'silent',
    timeScale: 0.001,
    env: {
      PARLEY_API_KEY: API_KEY,
      ...Object.fromEntries(all.map((c) => [c.environment.apiBaseUrl, fakes.get(c.channel)?.baseUrl])),
    },
  });
});
afterAll(async () => {
  await runtime?.stop();
  for (const fake of fakes.values()) await fake.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const api = async <T>(path: string, init: RequestInit = {}) => {
  const response = await fetch(`${runtime.url}/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...init.headers },
  });
  return { status: response.status, body: (await response.json()) as T };
};

describe.each(all.map((c) => [c.channel, c] as const))('%s end to end on the local runtime', (channel, connector) => {
  const demo = demos[channel];

  it('turns signed webhooks into a thread, and sends an agent reply to the provider exactly once', async () => {
    const info = runtime.channels.find((c) => c.channel === channel);
    const fake = fakes.get(channel);
    if (!info || !fake) throw new Error(`${channel} is not running`);

    // Without its signature or secret, a provider's request is refused and stores nothing.
    const [firstRequest] = demo.opening(info.credentials, 1);
    if (!firstRequest) throw new Error(`${channel} demo has no opening request`);
    const unsigned = await fetch(`${runtime.url}/webhooks/${channel}`, {
      method: 'POST',
      headers: { 'content-type': firstRequest.headers['content-type'] ?? 'application/json' },
      body: firstRequest.body,
    });
    expect(unsigned.status).toBe(401);
    await runtime.idle();
    const query = `?channel=${channel}&externalUserId=${encodeURIComponent(demo.customer.externalUserId)}`;
    expect((await api<{ items: Thread[] }>(`/threads${query}`)).body.items).toEqual([]);

    for (const request of demo.opening(info.credentials, 1)) {
      const response = await fetch(`${runtime.url}/webhooks/${channel}`, { method: 'POST', ...request });
      expect(response.status, await response.clone().text()).toBe(200);
    }
    await runtime.idle();

    const threads = (await api<{ items: Thread[] }>(`/threads${query}`)).body.items;
    expect(threads).toHaveLength(1);
    const thread = threads[0] as Thread;
    expect(thread.channels).toEqual([channel]);
    const before = (await api<{ items: Message[] }>(`/threads/${thread.id}/messages`)).body.items;
    expect(before.length).toBeGreaterThan(0);
    expect(before.every((m) => m.direction === 'inbound' && m.channel === channel && m.status === 'received')).toBe(true);

    // Provider calls the webhooks caused (a Telegram callback answer, say) are not the reply.
    await runtime.idle();
    const callsBefore = fake.calls.length;
    const text = `Thanks for writing on ${channel}; we are on it.`;
    const posted = await api<Message>(`/threads/${thread.id}/messages`, {
      method: 'POST',
      body: JSON.stringify({ content: { type: 'text', text } }),
    });
    expect(posted.status).toBe(202);
    expect(posted.body).toMatchObject({ status: 'queued', channel, direction: 'outbound' });
    // The write queued it (the outbox relay); the channel's sender sent it.
    await runtime.idle();
    const sent = (await api<{ items: Message[] }>(`/threads/${thread.id}/messages?limit=100`)).body.items.find(
      (m) => m.id === posted.body.id,
    );
    expect(sent, JSON.stringify(sent?.failure)).toMatchObject({ status: 'sent', channel });
    expect((await api<Thread>(`/threads/${thread.id}`)).body.firstResponseAt).toBe(posted.body.occurredAt);
    expect(sent?.externalId).toEqual(expect.any(String));

    const replyCalls = fake.calls.slice(callsBefore);
    expect(replyCalls).toHaveLength(1);
    const [call] = replyCalls;
    expect(call?.method).toBe('POST');
    expect(JSON.stringify(call?.body)).toContain(JSON.stringify(text).slice(1, -1));
    if (call) expect(specViolations[channel]?.(call) ?? []).toEqual([]);

    // A redelivery of the first webhook changes nothing.
    await fetch(`${runtime.url}/webhooks/${channel}`, { method: 'POST', ...firstRequest });
    await runtime.idle();
    const after = (await api<{ items: Message[] }>(`/threads/${thread.id}/messages?limit=100`)).body.items;
    expect(after.filter((m) => m.direction === 'inbound')).toHaveLength(before.length);
    expect(connector.channel).toBe(channel);
  });
});
