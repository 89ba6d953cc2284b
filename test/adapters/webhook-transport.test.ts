/**
 * The webhook transport against real receivers on 127.0.0.1: what it posts, what it makes of an answer, a
 * timeout and a refused connection; and what it refuses to reach. A name is resolved once by the transport's
 * resolver (injected here: `.test` names exist in no real DNS), every address checked, and the connection made
 * to the checked address alone, so a resolver that changes its answer (DNS rebinding) cannot redirect it.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebhookTransport } from '../../adapters/net/webhook-transport.ts';
import { AWS_URL_POLICY, LOCAL_URL_POLICY, type UrlPolicy } from '../../domain/integrations/webhooks.ts';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.ts';

type Resolved = { readonly address: string; readonly family: 4 | 6 };

const BODY = JSON.stringify({
  id: 'ev_1',
  type: 'message.received',
  createdAt: '2026-11-26T10:00:00.000Z',
  data: { text: 'Où est ma commande ? 📦' },
});
const HEADERS = {
  'content-type': 'application/json',
  'webhook-id': 'msg_1',
  'webhook-timestamp': '1795000000',
  'webhook-signature': 'v1,abc=',
};

const receivers: Receiver[] = [];
const receiver = async (answer?: Receiver['answer']) => {
  const started = await startReceiver(answer);
  receivers.push(started);
  return started;
};
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

/** A resolver that answers from `dns` and counts its lookups. */
const resolverOf = (dns: Record<string, readonly Resolved[] | (() => readonly Resolved[])>) => {
  const lookups: string[] = [];
  const resolve = async (hostname: string) => {
    lookups.push(hostname);
    const answer = dns[hostname];
    if (answer === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return typeof answer === 'function' ? answer() : answer;
  };
  return { resolve, lookups };
};

const post = (
  url: string,
  policy: UrlPolicy,
  options: { resolve?: (host: string) => Promise<readonly Resolved[]>; timeoutMs?: number; ca?: string } = {},
) =>
  createWebhookTransport({ ...(options.resolve && { resolve: options.resolve }), ...(options.ca && { ca: options.ca }) }).post(url, {
    headers: HEADERS,
    body: BODY,
    timeoutMs: options.timeoutMs ?? 2000,
    policy,
  });

describe('posting', () => {
  it('POSTs the body and the signed headers exactly, with its length, to the URL path and query', async () => {
    const target = await receiver();

    const answer = await post(`http://127.0.0.1:${target.port}/hooks/parley?tenant=a`, LOCAL_URL_POLICY);

    expect(answer).toEqual({ status: 200 });
    const [request] = target.received;
    expect(request).toMatchObject({ method: 'POST', path: '/hooks/parley?tenant=a', body: BODY });
    expect(request?.headers).toMatchObject({
      ...HEADERS,
      'content-length': String(Buffer.byteLength(BODY)),
      'user-agent': 'Parley-Webhooks/1',
    });
  });

  it.each([200, 204, 299, 301, 400, 410, 429, 500, 503])("answers the receiver's status %i as it is", async (status) => {
    const target = await receiver(() => status);
    expect(await post(target.url, LOCAL_URL_POLICY)).toEqual({ status });
  });

  it('does not follow a redirect: the answer is the 302, and its Location is never called', async () => {
    const elsewhere = await receiver();
    const redirecting = createServer((_request, response) => response.writeHead(302, { location: elsewhere.url }).end());
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = redirecting.address() as AddressInfo;
      expect(await post(`http://127.0.0.1:${port}/hook`, LOCAL_URL_POLICY)).toEqual({ status: 302 });
      expect(elsewhere.received).toHaveLength(0);
    } finally {
      redirecting.closeAllConnections();
      await new Promise((resolve) => redirecting.close(resolve));
    }
  });

  it('reads only the first kilobytes of an endless answer and returns its status without waiting for its end', async () => {
    const endless = createServer((_request, response) => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      // 256 KiB, then the body never ends: only dropping the connection ends the read.
      response.write(Buffer.alloc(256 * 1024, 'x'));
    });
    await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = endless.address() as AddressInfo;
      const started = Date.now();
      expect(await post(`http://127.0.0.1:${port}/hook`, LOCAL_URL_POLICY, { timeoutMs: 5000 })).toEqual({ status: 500 });
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      endless.closeAllConnections();
      await new Promise((resolve) => endless.close(resolve));
    }
  });

  it('gives up on a receiver that does not answer within the timeout, with the reason', async () => {
    const target = await receiver(() => 'hang');
    const started = Date.now();

    await expect(post(target.url, LOCAL_URL_POLICY, { timeoutMs: 300 })).rejects.toThrow(/300 ms|aborted|timeout/i);

    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(280);
    expect(waited).toBeLessThan(2000);
    expect(target.received).toHaveLength(1);
  });

  it('throws when nothing listens (connection refused)', async () => {
    const gone = await receiver();
    await gone.close();
    receivers.splice(receivers.indexOf(gone), 1);

    await expect(post(gone.url, LOCAL_URL_POLICY)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('what it refuses to reach (deployment policy)', () => {
  it.each([
    ['loopback', 'https://127.0.0.1/hook', /loopback/],
    ['the metadata service', 'https://169.254.169.254/latest/meta-data/', /metadata/],
    ['the IPv6 metadata service', 'https://[fd00:ec2::254]/', /metadata/],
    ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/hook', /loopback/],
    ['the IPv6 loopback', 'https://[::1]/hook', /loopback/],
    ['a private address', 'https://10.0.0.8/hook', /private/],
    ['a decimal loopback', 'https://2130706433/hook', /loopback/],
  ])('refuses a literal %s without connecting', async (_what, url, reason) => {
    const { resolve, lookups } = resolverOf({});
    await expect(post(url, AWS_URL_POLICY, { resolve })).rejects.toThrow(reason);
    expect(lookups).toEqual([]);
  });

  it.each([
    ['loopback', [{ address: '127.0.0.1', family: 4 }], /resolves to a loopback address \(127\.0\.0\.1\); refused/],
    ['the metadata service', [{ address: '169.254.169.254', family: 4 }], /cloud metadata address/],
    ['the IPv6 metadata service', [{ address: 'fd00:ec2::254', family: 6 }], /cloud metadata address/],
    ['an IPv4-mapped loopback', [{ address: '::ffff:127.0.0.1', family: 6 }], /loopback address \(IPv4 in IPv6\)/],
    [
      'a private address among public ones',
      [
        { address: '93.184.216.34', family: 4 },
        { address: '192.168.1.20', family: 4 },
      ],
      /private address \(192\.168\.1\.20\)/,
    ],
    ['a link-local IPv6 address', [{ address: 'fe80::1', family: 6 }], /link-local/],
  ] as [string, Resolved[], RegExp][])('refuses a name that resolves to %s, after DNS', async (_what, addresses, reason) => {
    const { resolve } = resolverOf({ 'hooks.customer.example': addresses });
    await expect(post('https://hooks.customer.example/parley', AWS_URL_POLICY, { resolve })).rejects.toThrow(reason);
  });

  it('refuses a name that resolves to nothing', async () => {
    const { resolve } = resolverOf({ 'empty.example': [] });
    await expect(post('https://empty.example/hook', AWS_URL_POLICY, { resolve })).rejects.toThrow(/resolves to no address/);
  });

  it('refuses a loopback receiver that is really listening, and it never hears of it', async () => {
    const target = await receiver();
    const { resolve } = resolverOf({ 'receiver.test': [{ address: '127.0.0.1', family: 4 }] });

    await expect(post(`http://127.0.0.1:${target.port}/hook`, AWS_URL_POLICY)).rejects.toThrow(/loopback/);
    await expect(post(`https://receiver.test:${target.port}/hook`, AWS_URL_POLICY, { resolve })).rejects.toThrow(/loopback/);
    expect(target.received).toHaveLength(0);
  });
});

describe('the local policy', () => {
  it('reaches loopback, by address or by a name that resolves to it', async () => {
    const target = await receiver();
    const { resolve } = resolverOf({ 'receiver.test': [{ address: '127.0.0.1', family: 4 }] });

    expect(await post(`http://127.0.0.1:${target.port}/a`, LOCAL_URL_POLICY)).toEqual({ status: 200 });
    expect(await post(`http://receiver.test:${target.port}/b`, LOCAL_URL_POLICY, { resolve })).toEqual({ status: 200 });
    expect(target.received.map((r) => r.path)).toEqual(['/a', '/b']);
    // The name the URL gave is what the receiver sees, though the connection went to the checked address.
    expect(target.received[1]?.headers.host).toBe(`receiver.test:${target.port}`);
  });

  it('still refuses private and metadata addresses, literal or resolved', async () => {
    const { resolve } = resolverOf({
      'inside.test': [{ address: '10.20.30.40', family: 4 }],
      'meta.test': [{ address: '169.254.169.254', family: 4 }],
    });
    await expect(post('http://10.0.0.1/hook', LOCAL_URL_POLICY, { resolve })).rejects.toThrow(/private/);
    await expect(post('http://inside.test/hook', LOCAL_URL_POLICY, { resolve })).rejects.toThrow(/private/);
    await expect(post('http://meta.test/hook', LOCAL_URL_POLICY, { resolve })).rejects.toThrow(/metadata/);
  });
});

describe('pinned connections (DNS rebinding)', () => {
  it('resolves the name once and connects to the address it checked, whatever the resolver says next', async () => {
    const target = await receiver();
    // A rebinding resolver: the checked answer first, a private address to every later question.
    let asked = 0;
    const { resolve, lookups } = resolverOf({
      'rebind.test': () => (asked++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.0.0.1', family: 4 }]),
    });

    expect(await post(`http://rebind.test:${target.port}/hook`, LOCAL_URL_POLICY, { resolve })).toEqual({ status: 200 });

    expect(lookups).toEqual(['rebind.test']);
    expect(target.received).toHaveLength(1);
  });

  it('keeps https name checks on the URL name while connecting to the checked address', async () => {
    const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url)), 'utf8');
    const ca = fixture('media.example.test.crt');
    const hits: string[] = [];
    const server = createHttpsServer({ key: fixture('media.example.test.key'), cert: ca }, (request, response) => {
      hits.push(request.headers.host ?? '');
      response.writeHead(202).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const loopback = [{ address: '127.0.0.1', family: 4 }] as const;
      const { resolve } = resolverOf({ 'media.example.test': loopback, 'other.example.test': loopback });

      expect(await post(`https://media.example.test:${port}/hook`, LOCAL_URL_POLICY, { resolve, ca })).toEqual({ status: 202 });
      // The certificate is for media.example.test: the same address under another name fails TLS.
      await expect(post(`https://other.example.test:${port}/hook`, LOCAL_URL_POLICY, { resolve, ca })).rejects.toThrow(
        /altnames|certificate/i,
      );
      expect(hits).toEqual([`media.example.test:${port}`]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
