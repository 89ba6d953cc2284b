/**
 * `Idempotency-Key` on every POST: a retry with the same key and the same request answers with the first
 * response (`Idempotent-Replayed: true`) and changes nothing; the same key with another request is refused
 * (409 `idempotency_key_reused`); a retry while the first request still runs is refused
 * (409 `idempotency_key_in_use`, with `Retry-After`). Server errors are not kept: the key is released so a retry
 * can run. A first request that stopped halfway (a Lambda timeout) leaves the key claimed until its lease
 * runs out; the next retry then runs the request again with the first request's time, from which handlers
 * derive their records' ids, so it finds what the first run wrote instead of writing it twice.
 */
import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Clock } from '../domain/ports.ts';
import type { IdempotencyRecord, IdempotencyStore, StoredResponse } from '../domain/shared/idempotency.ts';
import { ConflictError, NEW_RECORD } from '../domain/shared/store.ts';
import { millis } from '../domain/shared/time.ts';
import { ApiError } from './errors.ts';
import { IDEMPOTENCY_TTL_HOURS, IdempotencyKeySchema } from './schemas.ts';
import type { ApiEnv } from './kit.ts';

/** How long a request that claimed a key holds it before a retry may take over (longer than the API's timeout). */
const LEASE_SECONDS = 30;
/** Responses larger than this are not kept (the request still ran once); a replay then answers 409. */
const MAX_KEPT_BODY = 100 * 1024;

/** JSON with object keys sorted, so the same request always hashes the same however its keys were ordered. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );

const hashRequest = (method: string, path: string, body: string): string => {
  let parsed: unknown = body;
  try {
    parsed = body === '' ? null : JSON.parse(body);
  } catch {
    // Not JSON: the handler will refuse it; hashed as text meanwhile.
  }
  return createHash('sha256')
    .update(canonicalJson({ method, path, body: parsed }))
    .digest('hex');
};

export const idempotency =
  (deps: { readonly idempotency: IdempotencyStore; readonly clock: Clock }): MiddlewareHandler<ApiEnv> =>
  async (c, next) => {
    c.set('idempotency', undefined);
    const raw = c.req.header('idempotency-key');
    if (c.req.method !== 'POST' || raw === undefined) return next();
    const parsedKey = IdempotencyKeySchema.safeParse(raw);
    if (!parsedKey.success)
      throw new ApiError('invalid_request', `The Idempotency-Key header ${parsedKey.error.issues[0]?.message ?? 'is not valid'}`);
    const principal = c.get('principal');
    if (!principal) return next();
    const key = parsedKey.data;
    const scope = principal.keyId;
    const body = await c.req.text();
    const requestHash = hashRequest(c.req.method, c.req.path, body);
    const now = deps.clock.now();
    const nowIso = now.toISOString();
    const lease = new Date(now.getTime() + LEASE_SECONDS * 1000).toISOString();

    const claim = async (): Promise<IdempotencyRecord> => {
      for (let attempt = 0; attempt < 5; attempt++) {
        const stored = await deps.idempotency.get(scope, key);
        const live = stored && millis(stored.value.expiresAt) > now.getTime() ? stored : undefined;
        if (live) {
          if (live.value.requestHash !== requestHash) {
            throw new ApiError('idempotency_key_reused', 'This Idempotency-Key was already used with a different request');
          }
          if (live.value.state === 'completed') return live.value;
          if (live.value.leaseUntil !== undefined && millis(live.value.leaseUntil) > now.getTime()) {
            throw new ApiError(
              'idempotency_key_in_use',
              'A request with this Idempotency-Key is still being handled; retry shortly',
              undefined,
              {
                'retry-after': '1',
              },
            );
          }
        }
        // Free, expired, or left by a request that stopped: claim it (keeping the first request's time).
        const record: IdempotencyRecord = {
          scope,
          key,
          requestHash,
          firstSeenAt: live?.value.firstSeenAt ?? nowIso,
          state: 'in_progress',
          leaseUntil: lease,
          expiresAt: live?.value.expiresAt ?? new Date(now.getTime() + IDEMPOTENCY_TTL_HOURS * 3_600_000).toISOString(),
        };
        try {
          await deps.idempotency.put(record, stored?.version ?? NEW_RECORD);
          return record;
        } catch (error) {
          if (!(error instanceof ConflictError)) throw error;
        }
      }
      throw new ApiError('idempotency_key_in_use', 'A request with this Idempotency-Key is still being handled; retry shortly', undefined, {
        'retry-after': '1',
      });
    };

    const record = await claim();
    if (record.state === 'completed' && record.response) {
      const { status, headers, body: replayed } = record.response;
      return new Response(replayed, { status, headers: { ...headers, 'idempotent-replayed': 'true' } });
    }
    c.set('idempotency', { key, firstSeenAt: record.firstSeenAt });
    let failed = true;
    try {
      await next();
      failed = c.res.status >= 500;
    } finally {
      const current = await deps.idempotency.get(scope, key);
      if (current && current.value.requestHash === requestHash && current.value.state === 'in_progress') {
        if (failed) {
          // Not kept: a retry runs again (with the first request's time, so it finds what this one wrote).
          await deps.idempotency.put({ ...current.value, leaseUntil: nowIso }, current.version).catch(() => undefined);
        } else {
          const text = await c.res.clone().text();
          const withheld =
            c.get('withheldFromReplay') ?? (text.length > MAX_KEPT_BODY ? 'The first response was too large to keep' : undefined);
          const response: StoredResponse =
            withheld === undefined
              ? {
                  status: c.res.status,
                  headers: Object.fromEntries(
                    [...c.res.headers.entries()].filter(([name]) => name === 'content-type' || name === 'location'),
                  ),
                  body: text,
                }
              : {
                  status: 409,
                  headers: { 'content-type': 'application/json; charset=utf-8' },
                  body: JSON.stringify({ code: 'conflict', message: withheld }),
                };
          const { leaseUntil: _lease, ...rest } = current.value;
          await deps.idempotency.put({ ...rest, state: 'completed', response }, current.version).catch(() => undefined);
        }
      }
    }
  };
