/**
 * Which network addresses Parley refuses to connect to when a URL comes from outside (a media URL in a webhook
 * body, an integrator's webhook subscription): everything that is not a host on the public internet. Pure
 * address arithmetic; resolving names and connecting is the adapters' part.
 */
import { isIPv4, isIPv6 } from 'node:net';

const ipv4Value = (address: string): number | undefined => {
  if (!isIPv4(address)) return undefined;
  return address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
};

const inV4 = (value: number, base: string, bits: number): boolean => {
  const start = ipv4Value(base) ?? 0;
  const size = 2 ** (32 - bits);
  return value >= start && value < start + size;
};

/** An IPv6 address as its eight 16-bit words. */
type Words = readonly [number, number, number, number, number, number, number, number];

/** The eight 16-bit words of an IPv6 address (a zone index is dropped, a dotted IPv4 tail converted). */
const ipv6Words = (address: string): Words | undefined => {
  let text = address.split('%')[0] ?? '';
  if (!isIPv6(text)) return undefined;
  const lastColon = text.lastIndexOf(':');
  const v4 = ipv4Value(text.slice(lastColon + 1));
  if (v4 !== undefined) text = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((word) => Number.parseInt(word, 16)));
  const first = parse(head);
  const last = tail === undefined ? [] : parse(tail);
  // isIPv6 accepted it: the words and the zeros `::` stands for are eight.
  return [...first, ...Array<number>(8 - first.length - last.length).fill(0), ...last] as unknown as Words;
};

const v4Reason = (value: number): string | undefined => {
  if (value === ipv4Value('169.254.169.254')) return 'the cloud metadata address';
  if (inV4(value, '0.0.0.0', 8)) return value === 0 ? 'the unspecified address' : 'a "this network" address';
  if (inV4(value, '127.0.0.0', 8)) return 'a loopback address';
  if (inV4(value, '10.0.0.0', 8) || inV4(value, '172.16.0.0', 12) || inV4(value, '192.168.0.0', 16)) return 'a private address';
  if (inV4(value, '100.64.0.0', 10)) return 'a shared (CGNAT) address';
  if (inV4(value, '169.254.0.0', 16)) return 'a link-local address';
  if (inV4(value, '192.0.0.0', 24)) return 'an IETF protocol address';
  if (inV4(value, '192.0.2.0', 24) || inV4(value, '198.51.100.0', 24) || inV4(value, '203.0.113.0', 24)) return 'a documentation address';
  if (inV4(value, '198.18.0.0', 15)) return 'a benchmarking address';
  if (inV4(value, '224.0.0.0', 4)) return 'a multicast address';
  if (inV4(value, '240.0.0.0', 4)) return 'a reserved address';
  return undefined;
};

const wordsEqual = (words: readonly number[], prefix: readonly number[]): boolean => prefix.every((word, i) => words[i] === word);

/** The IPv4 address an IPv6 address carries and reaches, when it is one of the forms that embed one. */
const embeddedIpv4 = (w: Words): number | undefined => {
  const low = ((w[6] << 16) + w[7]) >>> 0;
  // ::ffff:a.b.c.d (mapped), ::ffff:0:a.b.c.d (translated), ::a.b.c.d (compatible), 64:ff9b::a.b.c.d (NAT64)
  if (wordsEqual(w, [0, 0, 0, 0, 0, 0xffff]) || wordsEqual(w, [0, 0, 0, 0, 0xffff, 0])) return low;
  if (wordsEqual(w, [0, 0, 0, 0, 0, 0]) && low > 1) return low;
  if (wordsEqual(w, [0x64, 0xff9b, 0, 0, 0, 0])) return low;
  // 2002:AABB:CCDD::/48 (6to4) reaches a.b.c.d's network.
  if (w[0] === 0x2002) return ((w[1] << 16) + w[2]) >>> 0;
  return undefined;
};

const v6Reason = (w: Words): string | undefined => {
  const embedded = embeddedIpv4(w);
  if (embedded !== undefined) {
    const reason = v4Reason(embedded);
    return reason && `${reason} (IPv4 in IPv6)`;
  }
  if (w.every((word) => word === 0)) return 'the unspecified address';
  if (wordsEqual(w, [0, 0, 0, 0, 0, 0, 0, 1])) return 'a loopback address';
  if (wordsEqual(w, [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254])) return 'the cloud metadata address';
  if ((w[0] & 0xfe00) === 0xfc00) return 'a private (unique local) address';
  if ((w[0] & 0xffc0) === 0xfe80) return 'a link-local address';
  if ((w[0] & 0xffc0) === 0xfec0) return 'a site-local address';
  if ((w[0] & 0xff00) === 0xff00) return 'a multicast address';
  if (w[0] === 0x2001 && w[1] === 0xdb8) return 'a documentation address';
  // Global unicast is 2000::/3; everything else (discard-only 100::/64, local NAT64 64:ff9b:1::/48, ...) is
  // not a host on the internet.
  if ((w[0] & 0xe000) !== 0x2000) return 'not a global unicast address';
  return undefined;
};

/**
 * Why Parley may not connect to `address` (a media download, a webhook delivery), or undefined when it may: loopback, private (RFC 1918,
 * CGNAT, IPv6 unique local), link-local, unspecified, multicast, reserved and documentation ranges, the
 * metadata addresses (169.254.169.254, fd00:ec2::254), and IPv6 forms that embed any of them.
 */
export const addressRefusal = (address: string): string | undefined => {
  const v4 = ipv4Value(address);
  if (v4 !== undefined) return v4Reason(v4);
  const words = ipv6Words(address);
  if (words !== undefined) return v6Reason(words);
  return 'not an IP address';
};
