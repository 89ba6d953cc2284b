/**
 * The safe fetch every media download goes through: which addresses it refuses, that the connection goes to
 * the address that was checked (TLS still checked against the host name), and that bodies are read up to a
 * limit only.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResolvedAddress } from '../../domain/connector.ts';
import { addressRefusal, createSystemNetwork, pinnedLookup, readAtMost } from '../../connectors/safe-fetch.ts';
import { listenLocally } from '../helpers/fake-server.ts';

const MiB = 1024 * 1024;
const LOOPBACK: ResolvedAddress = { address: '127.0.0.1', family: 4 };
/** A public address (one of Meta's) the test's resolver answers for names it was told nothing about. */
const PUBLIC: ResolvedAddress = { address: '157.240.201.15', family: 4 };

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

const dotted = (value: number): string => [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');
const valueOf = (address: string): number => address.split('.').reduce((v, octet) => v * 256 + Number(octet), 0);

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
  const start = valueOf(base);
  return [start, start + 2 ** (32 - Number(bits)) - 1];
};
const inRefusedV4 = (value: number) => REFUSED_V4.some(([cidr]) => {
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
    new Promise<unknown>((resolve) => pinnedLookup(addresses)('attacker-rebinds.example', options, (error, address, family) => resolve(error ? (error as NodeJS.ErrnoException).code : { address, family })));

  it('answers the checked addresses whatever name it is asked, filtered by family', async () => {
    expect(await ask({ all: true })).toEqual({ address: addresses, family: undefined });
    expect(await ask({ family: 6 })).toEqual({ address: addresses[1]!.address, family: 6 });
    expect(await ask({})).toEqual({ address: PUBLIC.address, family: 4 });
    const v4only = await new Promise((resolve) => pinnedLookup([PUBLIC])('x', { family: 6 }, (error) => resolve((error as NodeJS.ErrnoException | null)?.code)));
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
    const response = await createSystemNetwork().get(new URL(`http://rebind.example.test:${port}/a`), { headers: {}, signal: AbortSignal.timeout(5000) }, [LOOPBACK]);

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
