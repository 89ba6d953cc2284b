/**
 * The safe fetch every media download goes through: which addresses it refuses, that the connection goes to
 * the address that was checked (TLS still checked against the host name), and, over real local servers,
 * that every redirect hop is checked and that bodies are cut at the limit without being read whole.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { MediaNetwork, ResolvedAddress } from '../../domain/connector.ts';
import { RetryableProviderError } from '../../domain/provider-errors.ts';
import { getMedia, MEDIA_TOO_LARGE } from '../../connectors/media.ts';
import { addressRefusal, createSystemNetwork, MEDIA_REFUSED, pinnedLookup, readAtMost } from '../../connectors/safe-fetch.ts';
import { listenLocally } from '../helpers/fake-server.ts';

const MiB = 1024 * 1024;
const LOOPBACK: ResolvedAddress = { address: '127.0.0.1', family: 4 };
/** A public address (one of Meta's) the test's resolver answers for names it was told nothing about. */
const PUBLIC: ResolvedAddress = { address: '157.240.201.15', family: 4 };
const REFUSED = { kind: 'permanent', code: MEDIA_REFUSED };
const TOO_LARGE = { kind: 'permanent', code: MEDIA_TOO_LARGE };

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

const dotted = (value: number): string => [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');
const addressValue = (address: string): number => address.split('.').reduce((v, octet) => v * 256 + Number(octet), 0);

/** The IPv4 ranges a download must never reach, written out here independently of the implementation. */
const REFUSED_V4: readonly [cidr: string, reason: string][] = [
  ['0.0.0.0/8', 'this network'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'CGNAT'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'IETF'],
  ['192.0.2.0/24', 'documentation'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
];
const rangeOf = (cidr: string): [number, number] => {
  const [base = '', bits = '32'] = cidr.split('/');
  const start = addressValue(base);
  return [start, start + 2 ** (32 - Number(bits)) - 1];
};
const inRefusedV4 = (value: number) =>
  REFUSED_V4.some(([cidr]) => {
    const [start, end] = rangeOf(cidr);
    return value >= start && value <= end;
  });

describe('addressRefusal', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.0.12.7', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.100.100.200', 'CGNAT'], // Alibaba Cloud's metadata service
    ['169.254.169.254', 'the cloud metadata address'],
    ['169.254.170.2', 'link-local'], // ECS task metadata
    ['192.0.0.192', 'IETF'], // Oracle Cloud's metadata service
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.251', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fd00:ec2::254', 'the cloud metadata address'],
    ['fd12:3456::1', 'unique local'],
    ['fc00::1', 'unique local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['100::1', 'not a global unicast'],
    ['::ffff:127.0.0.1', 'loopback address (IPv4 in IPv6)'],
    ['::ffff:7f00:1', 'loopback address (IPv4 in IPv6)'],
    ['::ffff:a9fe:a9fe', 'the cloud metadata address (IPv4 in IPv6)'],
    ['::ffff:0:a9fe:a9fe', 'the cloud metadata address (IPv4 in IPv6)'],
    ['::10.0.0.1', 'private address (IPv4 in IPv6)'],
    ['64:ff9b::169.254.169.254', 'the cloud metadata address (IPv4 in IPv6)'],
    ['2002:a9fe:a9fe::1', 'the cloud metadata address (IPv4 in IPv6)'],
    ['metadata.google.internal', 'not an IP address'],
  ])('refuses %s (%s)', (address, reason) => {
    expect(addressRefusal(address)).toContain(reason);
  });

  it.each([
    '157.240.201.15',
    '8.8.8.8',
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '169.253.255.255',
    '172.15.255.255',
    '172.32.0.0',
    '223.255.255.255',
    '2a03:2880:f10c:83:face:b00c:0:25de',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808', // NAT64 of a public address (an IPv6-only VPC with DNS64)
    '2002:808:808::1',
  ])('allows %s', (address) => {
    expect(addressRefusal(address)).toBeUndefined();
  });

  it('refuses exactly the IPv4 ranges listed, in every IPv6 form that embeds them', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (value) => {
        const v4 = dotted(value);
        const high = (value >>> 16).toString(16);
        const low = (value & 0xffff).toString(16);
        const reason = addressRefusal(v4);
        expect(reason !== undefined).toBe(inRefusedV4(value));
        for (const embedded of [`::ffff:${v4}`, `::ffff:${high}:${low}`, `64:ff9b::${high}:${low}`, `2002:${high}:${low}::1`]) {
          expect(addressRefusal(embedded)).toBe(reason && `${reason} (IPv4 in IPv6)`);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses each listed range to its edges, and not one address beyond', () => {
    for (const [cidr] of REFUSED_V4) {
      const [start, end] = rangeOf(cidr);
      for (const value of [start, Math.floor((start + end) / 2), end]) expect(addressRefusal(dotted(value)), dotted(value)).toBeDefined();
      for (const value of [start - 1, end + 1].filter((v) => v >= 0 && v <= 0xffffffff)) {
        expect(addressRefusal(dotted(value)) !== undefined, dotted(value)).toBe(inRefusedV4(value));
      }
    }
  });
});

describe('pinnedLookup', () => {
  const addresses: ResolvedAddress[] = [PUBLIC, { address: '2a03:2880:f10c:83:face:b00c:0:25de', family: 6 }];
  const ask = (options: Parameters<ReturnType<typeof pinnedLookup>>[1]) =>
    new Promise<unknown>((resolve) =>
      pinnedLookup(addresses)('attacker-rebinds.example', options, (error, address, family) =>
        resolve(error ? (error as NodeJS.ErrnoException).code : { address, family }),
      ),
    );

  it('answers the checked addresses whatever name it is asked, filtered by family', async () => {
    expect(await ask({ all: true })).toEqual({ address: addresses, family: undefined });
    expect(await ask({ family: 6 })).toEqual({ address: addresses[1]!.address, family: 6 });
    expect(await ask({})).toEqual({ address: PUBLIC.address, family: 4 });
    const v4only = await new Promise((resolve) =>
      pinnedLookup([PUBLIC])('x', { family: 6 }, (error) => resolve((error as NodeJS.ErrnoException | null)?.code)),
    );
    expect(v4only).toBe('ENOTFOUND');
  });
});

describe('readAtMost', () => {
  /** A body of `chunks`, noting whether the reader cancelled it (which closes a real connection). */
  const bodyOf = (chunks: string[]) => {
    const state = { cancelled: false, pulled: 0 };
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks[state.pulled++];
        if (next === undefined) controller.close();
        else controller.enqueue(Buffer.from(next));
      },
      cancel() {
        state.cancelled = true;
      },
    });
    return { stream, state };
  };

  it.each([
    ['no size announced', undefined],
    ['the size announced', 10],
    ['a smaller size announced', 4],
    ['a larger size announced', 64],
  ])('reads a whole body with %s', async (_name, hint) => {
    const { stream } = bodyOf(['abc', 'defg', 'hij']);
    const read = await readAtMost(stream, 10, hint);
    expect(read.complete).toBe(true);
    expect(read.bytes.toString()).toBe('abcdefghij');
  });

  it.each([undefined, 8, 64])('stops one chunk past the limit and cancels the rest (size announced: %s)', async (hint) => {
    const { stream, state } = bodyOf(['abc', 'defg', 'hij', 'never', 'read']);
    const read = await readAtMost(stream, 8, hint);
    expect(read).toEqual({ bytes: Buffer.from('abcdefgh'), complete: false });
    expect(state.pulled).toBeLessThanOrEqual(4);
    expect(state.cancelled).toBe(true);
  });

  it('does not leave an announced but unsent tail reachable', async () => {
    const { stream } = bodyOf(['abc']);
    const read = await readAtMost(stream, MiB, 64 * 1024);
    expect(read.bytes.toString()).toBe('abc');
    // Not a view of the 64 KiB buffer the announced size made room for.
    expect(read.bytes.buffer.byteLength).toBeLessThan(64 * 1024);
  });
});

describe('the system network', () => {
  it('connects to the pinned address, never resolving the name again', async () => {
    const hosts: (string | undefined)[] = [];
    const server = createServer((request, response) => {
      hosts.push(request.headers.host);
      response.end('pinned');
    });
    const { baseUrl, close } = await listenLocally(server);
    closers.push(close);
    const port = new URL(baseUrl).port;

    // `.test` names resolve nowhere: only the pinned address can have been used.
    const response = await createSystemNetwork().get(
      new URL(`http://rebind.example.test:${port}/a`),
      { headers: {}, signal: AbortSignal.timeout(5000) },
      [LOOPBACK],
    );

    expect(await response.text()).toBe('pinned');
    expect(hosts).toEqual([`rebind.example.test:${port}`]);
  });

  it("keeps checking the certificate against the URL's host name while connecting to the pinned address", async () => {
    const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url)), 'utf8');
    const cert = fixture('media.example.test.crt');
    const servernames: (string | false | null)[] = [];
    const server = createHttpsServer({ cert, key: fixture('media.example.test.key') }, (request, response) => {
      servernames.push((request.socket as TLSSocket).servername);
      response.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from('89504e47', 'hex'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const { port } = server.address() as AddressInfo;
    const network = createSystemNetwork({ ca: cert });
    const init = { headers: {}, signal: AbortSignal.timeout(5000) };

    const response = await network.get(new URL(`https://media.example.test:${port}/a.png`), init, [LOOPBACK]);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(Buffer.from('89504e47', 'hex'));
    expect(servernames).toEqual(['media.example.test']);

    const other = network.get(new URL(`https://other.example.test:${port}/a.png`), init, [LOOPBACK]);
    await expect(other).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });
});

type Route = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * The test's internet: one local server answering for every host (by its Host header), reached through a
 * network whose resolver answers `dns[name]` (else a public address) and whose connections are real
 * sockets, sent to the local server instead of the checked address (TLS aside, the system network).
 */
const internet = async (routes: Record<string, Route>, dns: Record<string, ResolvedAddress[]> = {}) => {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    const target = `${(request.headers.host ?? '').replace(/:\d+$/, '')}${request.url ?? ''}`;
    requests.push(target);
    const route = routes[target];
    if (route) route(request, response);
    else response.writeHead(404).end();
  });
  const { baseUrl, close } = await listenLocally(server);
  closers.push(close);
  const port = new URL(baseUrl).port;
  const system = createSystemNetwork();
  const pinned: string[][] = [];
  const network: MediaNetwork = {
    resolve: async (hostname) => dns[hostname] ?? [PUBLIC],
    get: (url, init, addresses) => {
      pinned.push(addresses.map((a) => a.address));
      return system.get(new URL(`http://${url.hostname}:${port}${url.pathname}${url.search}`), init, [LOOPBACK]);
    },
  };
  return { baseUrl, requests, pinned, network };
};

const redirectTo =
  (location: string): Route =>
  (_request, response) =>
    response.writeHead(302, { location }).end();

/** Streams 64 KiB chunks, honouring backpressure, until the client hangs up (or `cap`, to spare the machine). */
const endless = (cap: number, status = 200) => {
  const state = { sent: 0, closed: false, whenClosed: Promise.resolve() };
  const route: Route = (_request, response) => {
    state.whenClosed = new Promise((resolve) =>
      response.on('close', () => {
        state.closed = true;
        resolve();
      }),
    );
    response.writeHead(status, { 'content-type': 'video/mp4' });
    const chunk = Buffer.alloc(64 * 1024, 7);
    const pump = () => {
      while (!state.closed && state.sent < cap) {
        state.sent += chunk.length;
        if (!response.write(chunk)) {
          response.once('drain', pump);
          return;
        }
      }
      if (!state.closed) response.end();
    };
    pump();
  };
  return { state, route };
};

describe('getMedia over real servers', () => {
  const what = 'Test media';

  it.each([
    ['a loopback literal', 'https://127.0.0.1/admin', 'is a loopback address'],
    ['the metadata service', 'https://169.254.169.254/latest/meta-data/iam/security-credentials/', 'is the cloud metadata address'],
    ['a private literal', 'https://10.0.0.8/internal', 'is a private address'],
    ['an IPv6 loopback literal', 'https://[::1]/admin', 'is a loopback address'],
    [
      'a name that resolves to the metadata service',
      'https://rebound.example/latest/meta-data/',
      'rebound.example resolves to 169.254.169.254',
    ],
    ['a name with one private address among public ones', 'https://mixed.example/x', 'mixed.example resolves to 10.9.8.7'],
    ['plain http', 'http://cdn3.example.com/x', 'not an https URL'],
  ])('refuses a redirect to %s at the hop it appears, after following the good ones', async (_name, target, reason) => {
    const net = await internet(
      {
        'cdn.example.com/start': redirectTo('https://cdn2.example.com/next'),
        'cdn2.example.com/next': redirectTo(target),
        // Answers whatever host the connection claims: a request reaching here would be a leak.
        'rebound.example/latest/meta-data/': (_request, response) => response.end('secret'),
      },
      { 'rebound.example': [{ address: '169.254.169.254', family: 4 }], 'mixed.example': [PUBLIC, { address: '10.9.8.7', family: 4 }] },
    );

    const result = getMedia({ url: 'https://cdn.example.com/start', what, fetch: globalThis.fetch, network: net.network });

    await expect(result).rejects.toMatchObject({ ...REFUSED, message: expect.stringContaining(reason) });
    expect(net.requests).toEqual(['cdn.example.com/start', 'cdn2.example.com/next']);
    expect(net.pinned).toEqual([[PUBLIC.address], [PUBLIC.address]]);
  });

  it('cuts an endless body at the limit, closing the connection, and fails at once as too large', async () => {
    const stream = endless(256 * MiB);
    const net = await internet({ 'cdn.example.com/forever.mp4': stream.route });
    const started = Date.now();

    const result = getMedia({
      url: 'https://cdn.example.com/forever.mp4',
      what,
      fetch: globalThis.fetch,
      network: net.network,
      maxBytes: 1 * MiB,
    });

    await expect(result).rejects.toMatchObject({ ...TOO_LARGE, message: `${what} is too large: more than ${MiB} bytes came` });
    await stream.state.whenClosed;
    expect(Date.now() - started).toBeLessThan(5000);
    // What the server got rid of before the hang-up: the limit plus what socket buffers hold, not the stream.
    expect(stream.state.sent).toBeLessThan(1 * MiB + 16 * MiB);
  });

  it('cuts an endless body from the trusted API base too (through the injected fetch)', async () => {
    const stream = endless(256 * MiB);
    const net = await internet({ '127.0.0.1/file/bot1:t/video.mp4': stream.route });

    const result = getMedia({
      url: `${net.baseUrl}/file/bot1:t/video.mp4`,
      trustedBase: net.baseUrl,
      what,
      fetch: globalThis.fetch,
      maxBytes: 1 * MiB,
    });

    await expect(result).rejects.toMatchObject(TOO_LARGE);
    await stream.state.whenClosed;
    expect(stream.state.sent).toBeLessThan(1 * MiB + 16 * MiB);
    expect(net.pinned).toEqual([]); // the configured API is not a host to check
  });

  it('refuses a body whose Content-Length is over the limit before reading any of it', async () => {
    let closed!: Promise<void>;
    const net = await internet({
      'cdn.example.com/huge.mp4': (_request, response) => {
        closed = new Promise((resolve) => response.on('close', () => resolve()));
        // Announces 5 GiB and sends nothing: a client waiting for the body would wait for ever.
        response.writeHead(200, { 'content-type': 'video/mp4', 'content-length': 5 * 1024 * MiB });
        response.flushHeaders();
      },
    });
    const started = Date.now();

    const result = getMedia({
      url: 'https://cdn.example.com/huge.mp4',
      what,
      fetch: globalThis.fetch,
      network: net.network,
      maxBytes: 1 * MiB,
    });

    await expect(result).rejects.toMatchObject({
      ...TOO_LARGE,
      message: `${what} is too large: it declares ${5 * 1024 * MiB} bytes, the limit is ${MiB}`,
    });
    await closed;
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('keeps a body of exactly the limit, and refuses one byte more', async () => {
    const net = await internet({
      'cdn.example.com/fits': (_request, response) => response.end(Buffer.alloc(MiB, 1)),
      // Chunked, with no Content-Length to give it away.
      'cdn.example.com/over': (_request, response) => {
        response.write(Buffer.alloc(MiB, 1));
        response.end(Buffer.alloc(1, 1));
      },
    });
    const get = (path: string) =>
      getMedia({ url: `https://cdn.example.com/${path}`, what, fetch: globalThis.fetch, network: net.network, maxBytes: MiB });

    expect((await get('fits')).bytes.length).toBe(MiB);
    await expect(get('over')).rejects.toMatchObject(TOO_LARGE);
  });

  it('reads only the start of an endless error answer, and classifies it', async () => {
    const stream = endless(256 * MiB, 503);
    const net = await internet({ 'cdn.example.com/broken': stream.route });

    const result = getMedia({ url: 'https://cdn.example.com/broken', what, fetch: globalThis.fetch, network: net.network });

    await expect(result).rejects.toBeInstanceOf(RetryableProviderError);
    await expect(result).rejects.toMatchObject({ message: `${what} answered HTTP 503` });
    await stream.state.whenClosed;
    expect(stream.state.sent).toBeLessThan(16 * MiB);
  });
});
