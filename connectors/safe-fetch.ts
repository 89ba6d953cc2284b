/**
 * The one way a media download fetches a URL it was handed (by a webhook body, or by a provider's answer),
 * so a signed body cannot make Parley fetch its cloud's metadata service, a loopback service or the Lambda
 * runtime API and serve the bytes back through the integrator API (SSRF):
 *
 * - a URL under the provider's API as configured (`<CHANNEL>_API_BASE_URL`, or the provider's default) is
 *   the operator's choice and goes through the injected `fetch`, so local fakes and sandboxes keep working;
 * - any other URL must be https, name a host the provider serves media from (where it documents them), and
 *   resolve to public addresses only: every address of the name is checked, and the connection is then made
 *   to those addresses and no other;
 * - redirects are followed by hand, at most {@link MAX_REDIRECTS}, each hop checked the same way.
 *
 * What it refuses is a {@link PermanentProviderError} with code {@link MEDIA_REFUSED}: the same URL will be
 * refused on every attempt.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIPv4, isIPv6, type LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import type { MediaNetwork, ResolvedAddress } from './connector.ts';
import { PermanentProviderError } from '../domain/provider-errors.ts';
import { addressRefusal } from '../domain/shared/addresses.ts';

export { addressRefusal };

/** A CDN redirects once or twice; a longer chain is a loop or a detour. */
export const MAX_REDIRECTS = 5;

/** The error code of a download refused by this policy. */
export const MEDIA_REFUSED = 'media_refused';

const refused = (what: string, reason: string): PermanentProviderError =>
  new PermanentProviderError(`${what} refused: ${reason}`, MEDIA_REFUSED);

// ---------------------------------------------------------------------------------------------------------
// The system's network

/**
 * A `lookup` that answers `addresses` whatever it is asked, so a socket connects to the addresses that were
 * checked. Resolving again when connecting would let a name that answered a public address to the check
 * answer 169.254.169.254 to the connection (DNS rebinding).
 */
export const pinnedLookup =
  (addresses: readonly ResolvedAddress[]): LookupFunction =>
  (_hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
    const usable = addresses.filter((a) => !family || a.family === family);
    const [first] = usable;
    if (first === undefined) {
      callback(Object.assign(new Error(`no checked address of family ${family}`), { code: 'ENOTFOUND' }), '');
      return;
    }
    if (options.all)
      callback(
        null,
        usable.map((a) => ({ address: a.address, family: a.family })),
      );
    else callback(null, first.address, first.family);
  };

const NULL_BODY_STATUSES = new Set([204, 205, 304]);

/**
 * A {@link MediaNetwork} on the system's resolver and sockets (`tls.ca` replaces the trusted certificates,
 * for tests). It connects with `node:https` and a pinned `lookup` rather than handing Node's `fetch` an
 * undici `dispatcher` with one: the dispatcher would have to come from the npm `undici`, and Node's fetch
 * runs on the undici it bundles (6 on Node 20, 7 on Lambda's Node 24, 8 from Node 26), which rejects
 * dispatchers of another major's handler protocol. `node:https` still checks the certificate against the
 * URL's host name (SNI) while the socket goes to the pinned address, and asks for no compression, so the
 * bytes counted against the limit are the bytes kept.
 */
export const createSystemNetwork = (tls: { readonly ca?: string } = {}): MediaNetwork => ({
  resolve: async (hostname) => {
    try {
      const found = await dnsLookup(hostname, { all: true, verbatim: true });
      return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
    } catch (error) {
      // The code (ENOTFOUND, EAI_AGAIN) goes where `networkFailure` reads it.
      throw new Error(`lookup of ${hostname} failed`, { cause: error });
    }
  },
  get: (url, init, addresses) =>
    new Promise<Response>((resolve, reject) => {
      const client = url.protocol === 'http:' ? http : https;
      const request = client.request(
        url,
        // A fresh agent per request: a pooled socket could have been connected by a lookup of another time.
        { method: 'GET', headers: { ...init.headers }, signal: init.signal, agent: false, lookup: pinnedLookup(addresses), ...tls },
        (incoming) => {
          try {
            const headers = new Headers();
            for (let i = 0; i + 1 < incoming.rawHeaders.length; i += 2) {
              const [name, value] = incoming.rawHeaders.slice(i, i + 2);
              if (name !== undefined && value !== undefined) headers.append(name, value);
            }
            const status = incoming.statusCode ?? 0;
            const nullBody = NULL_BODY_STATUSES.has(status);
            if (nullBody) incoming.resume();
            const body = nullBody ? null : (Readable.toWeb(incoming) as ReadableStream<Uint8Array>);
            resolve(new Response(body, { status, statusText: incoming.statusMessage ?? '', headers }));
          } catch (error) {
            // A status outside 200–599 cannot be a Response: an answer that is no HTTP worth reading.
            request.destroy();
            reject(new Error('unreadable answer', { cause: error }));
          }
        },
      );
      request.on('error', reject);
      request.end();
    }),
});

/** The network media downloads use unless one is injected. */
export const systemNetwork: MediaNetwork = createSystemNetwork();

// ---------------------------------------------------------------------------------------------------------
// Hops

/** Where a download may fetch from. */
export interface MediaSource {
  /**
   * The provider's API as configured (its `<CHANNEL>_API_BASE_URL`, or its default): URLs under it are
   * fetched through the injected `fetch` as they are. Absent when the URL may point anywhere (LINE's
   * external content), so nothing is trusted.
   */
  readonly trustedBase?: string;
  /**
   * The hosts any other URL may name: a name, or `*.domain` for the domain's subdomains. Absent when the
   * provider names none (LINE's external content): any host with public addresses.
   */
  readonly hosts?: readonly string[];
}

export interface SafeGet extends MediaSource {
  readonly url: string;
  /** Names the call in errors ("Telegram file"); never the URL, which may hold a token. */
  readonly what: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly fetch: typeof globalThis.fetch;
  readonly network?: MediaNetwork;
  /** Covers every hop; aborting it closes the connection. */
  readonly signal: AbortSignal;
}

/** True when `url` lies under `base` (same origin, path below the base's). */
const isUnder = (url: URL, base: string | undefined): boolean => {
  if (base === undefined || !URL.canParse(base)) return false;
  const trusted = new URL(base);
  const prefix = `${trusted.origin}${trusted.pathname.replace(/\/+$/, '')}/`;
  return url.origin === trusted.origin && url.username === '' && url.password === '' && url.href.startsWith(prefix);
};

const hostAllowed = (hostname: string, hosts: readonly string[] | undefined): boolean =>
  hosts === undefined || hosts.some((host) => (host.startsWith('*.') ? hostname.endsWith(host.slice(1)) : hostname === host));

/** Rejects when `signal` aborts first (a name lookup cannot be cancelled). */
const unlessAborted = <T>(work: Promise<T>, signal: AbortSignal): Promise<T> => {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener('abort', abort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
};

const fetchHop = async (url: URL, headers: Readonly<Record<string, string>>, get: SafeGet): Promise<Response> => {
  if (isUnder(url, get.trustedBase)) return get.fetch(url.href, { headers, redirect: 'manual', signal: get.signal });
  if (url.protocol !== 'https:') throw refused(get.what, `not an https URL (${url.protocol})`);
  if (url.username !== '' || url.password !== '') throw refused(get.what, 'a URL with credentials');
  if (!hostAllowed(url.hostname, get.hosts)) throw refused(get.what, `${url.hostname} is not a host the provider serves media from`);
  const network = get.network ?? systemNetwork;
  // An IP literal is its own address (IPv6 ones come bracketed).
  const literal = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const family = isIPv4(literal) ? 4 : isIPv6(literal) ? 6 : undefined;
  const addresses: readonly ResolvedAddress[] =
    family !== undefined ? [{ address: literal, family }] : await unlessAborted(network.resolve(url.hostname), get.signal);
  if (addresses.length === 0) throw refused(get.what, `${url.hostname} resolves to no address`);
  // Any bad address refuses the host: which one a connection would use is not ours to choose.
  for (const { address } of addresses) {
    const reason = addressRefusal(address);
    if (reason !== undefined)
      throw refused(get.what, family !== undefined ? `${address} is ${reason}` : `${url.hostname} resolves to ${address}, ${reason}`);
  }
  return network.get(url, { headers, signal: get.signal }, addresses);
};

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * GETs `get.url`, following redirects by hand so every hop is checked, and answers the first response that
 * is not a redirect, its body unread. Throws a {@link PermanentProviderError} ({@link MEDIA_REFUSED}) for a
 * hop the policy refuses; network failures are thrown as they came.
 */
export const safeGet = async (get: SafeGet): Promise<Response> => {
  let url = new URL(get.url);
  let headers = { ...get.headers };
  for (let redirects = 0; ; redirects += 1) {
    const response = await fetchHop(url, headers, get);
    const location = response.headers.get('location');
    if (!REDIRECT_STATUSES.has(response.status) || location === null || !URL.canParse(location, url.href)) return response;
    await response.body?.cancel().catch(() => undefined);
    if (redirects === MAX_REDIRECTS) throw refused(get.what, `more than ${MAX_REDIRECTS} redirects`);
    const next = new URL(location, url);
    // As fetch does: credentials meant for one origin are not handed to another.
    if (next.origin !== url.origin)
      headers = Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'authorization'));
    url = next;
  }
};

/** A body read up to a limit: `complete` is false when it held more, and the rest was never read. */
export interface BoundedBody {
  readonly bytes: Buffer;
  readonly complete: boolean;
}

/**
 * Reads at most `maxBytes` of a body, chunk by chunk, and cancels the stream (closing the connection) as
 * soon as it holds more: memory stays bounded by the limit whatever the server sends. With `sizeHint` (the
 * `Content-Length`), the bytes are copied into one buffer of that size as they come, so a 100 MB body takes
 * 100 MB rather than its chunks plus their concatenation.
 */
export const readAtMost = async (body: ReadableStream<Uint8Array> | null, maxBytes: number, sizeHint?: number): Promise<BoundedBody> => {
  if (body === null) return { bytes: Buffer.alloc(0), complete: true };
  const reader = body.getReader();
  let whole =
    sizeHint !== undefined && Number.isSafeInteger(sizeHint) && sizeHint >= 0 && sizeHint <= maxBytes
      ? Buffer.allocUnsafe(sizeHint)
      : undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        if (whole === undefined) return { bytes: Buffer.concat(chunks, size), complete: true };
        // Shorter than announced: a copy, so no uninitialized tail stays reachable through `.buffer`.
        return { bytes: size === whole.length ? whole : Buffer.from(whole.subarray(0, size)), complete: true };
      }
      const room = maxBytes - size;
      if (value.byteLength > room) {
        if (whole !== undefined) chunks.push(whole.subarray(0, size));
        if (room > 0) chunks.push(value.subarray(0, room));
        return { bytes: Buffer.concat(chunks, maxBytes), complete: false };
      }
      if (whole !== undefined && size + value.byteLength <= whole.length) whole.set(value, size);
      else {
        // Longer than announced: on with chunks.
        if (whole !== undefined) chunks.push(whole.subarray(0, size));
        whole = undefined;
        chunks.push(value);
      }
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
};
