/**
 * Posts webhook deliveries to integrators' receivers without letting a subscription reach what Parley must not
 * call: the receiver's name is resolved, every address checked (public only; loopback too where the policy
 * allows it, locally), and the connection made to those addresses alone (no second resolution a rebinding DNS
 * could answer differently). Redirects are not followed (an answer is an answer); the receiver's body is read
 * only to its first kilobytes and dropped.
 */
import { lookup } from 'node:dns/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { WebhookTransport } from '../../domain/integrations/dispatch.ts';
import { addressRefusal } from '../../domain/shared/addresses.ts';

interface Resolved {
  readonly address: string;
  readonly family: 4 | 6;
}

const pinned =
  (addresses: readonly Resolved[]): LookupFunction =>
  (_hostname, options, callback) => {
    const usable = addresses.filter(
      (a) => !options.family || a.family === options.family || (options.family as unknown) === `IPv${a.family}`,
    );
    const [first] = usable;
    if (!first) {
      callback(Object.assign(new Error('no checked address'), { code: 'ENOTFOUND' }), '');
      return;
    }
    if (options.all)
      callback(
        null,
        usable.map((a) => ({ address: a.address, family: a.family })),
      );
    else callback(null, first.address, first.family);
  };

/** How many bytes of a receiver's answer are read (the rest is dropped with the connection). */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface TransportOptions {
  /** Resolves a host name (tests inject one); the system resolver by default. */
  readonly resolve?: (hostname: string) => Promise<readonly Resolved[]>;
  /** Trusted certificates for https (tests with a self-signed receiver). */
  readonly ca?: string;
}

export const createWebhookTransport = (options: TransportOptions = {}): WebhookTransport => {
  const resolve =
    options.resolve ??
    (async (hostname: string) =>
      (await lookup(hostname, { all: true, verbatim: true })).map((a) => ({
        address: a.address,
        family: a.family === 6 ? (6 as const) : (4 as const),
      })));
  return {
    post: async (raw, request) => {
      const url = new URL(raw);
      const host = url.hostname.replace(/^\[|\]$/g, '');
      const family = isIP(host);
      const addresses: readonly Resolved[] = family === 0 ? await resolve(host) : [{ address: host, family: family === 6 ? 6 : 4 }];
      if (addresses.length === 0) throw new Error(`${host} resolves to no address`);
      for (const { address } of addresses) {
        const refusal = addressRefusal(address);
        if (refusal === undefined) continue;
        if (request.policy.allowLoopback && refusal === 'a loopback address') continue;
        throw new Error(`${host} resolves to ${refusal} (${address}); refused`);
      }
      const client = url.protocol === 'http:' ? http : https;
      return new Promise((resolvePost, reject) => {
        const started = client.request(
          url,
          {
            method: 'POST',
            headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)), 'user-agent': 'Parley-Webhooks/1' },
            agent: false,
            lookup: pinned(addresses),
            timeout: request.timeoutMs,
            signal: AbortSignal.timeout(request.timeoutMs),
            ...(options.ca !== undefined && { ca: options.ca }),
          },
          (answer) => {
            let read = 0;
            answer.on('data', (chunk: Buffer) => {
              read += chunk.length;
              if (read > MAX_ANSWER_BYTES) answer.destroy();
            });
            answer.on('close', () => resolvePost({ status: answer.statusCode ?? 0 }));
            answer.on('error', () => resolvePost({ status: answer.statusCode ?? 0 }));
          },
        );
        started.on('timeout', () => started.destroy(new Error(`no answer within ${request.timeoutMs} ms`)));
        started.on('error', reject);
        started.end(request.body);
      });
    },
  };
};
