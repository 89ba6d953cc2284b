/**
 * What every route of the integrator API is made with: one declaration per route (`route`) that gives the
 * router its path and method, the validation of its parameters, query and body, the scope a key needs, and
 * the OpenAPI document its operation. Handlers are small functions over the API's ports.
 */
import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { LambdaContext, LambdaEvent } from 'hono/aws-lambda';
import * as z from 'zod';
import type { Principal, Scope } from '../domain/access/model.ts';
import { ErrorSchema, ERROR_STATUS, IdempotencyKeySchema, type ErrorCode } from './schemas.ts';
import { ApiError } from './errors.ts';
import { allows } from '../domain/access/model.ts';

export interface ApiEnv {
  Bindings: { event: LambdaEvent; lambdaContext: LambdaContext };
  Variables: {
    principal: Principal;
    /** Set by the idempotency middleware on a POST with an `Idempotency-Key`. */
    idempotency: { readonly key: string; readonly firstSeenAt: string } | undefined;
    /**
     * Set by a handler whose answer must never be stored (it shows a secret once): a replay with the same
     * `Idempotency-Key` then answers 409 with this message instead of the first answer.
     */
    withheldFromReplay: string | undefined;
  };
}

export type ApiContext = Context<ApiEnv>;

/** The error answers an operation may give, documented with the shared error body. */
const errorResponses = (all: readonly ErrorCode[]) => {
  const codes = [...new Set(all)];
  return Object.fromEntries(
    [...new Set(codes.map((code) => ERROR_STATUS[code]))].map((status) => [
      status,
      {
        description: codes.filter((code) => ERROR_STATUS[code] === status).join(', '),
        content: { 'application/json': { schema: ErrorSchema } },
      },
    ]),
  );
};

/** Errors every authenticated operation may answer. */
const COMMON_ERRORS: readonly ErrorCode[] = ['unauthorized', 'forbidden', 'rate_limited', 'internal', 'unavailable'];

export type Needs = Scope | 'none';

/**
 * A route: its OpenAPI operation, and the scope a key needs to call it (`none`: no key at all). The scope is
 * checked by the middleware the declaration carries, and documented as the operation's security requirement.
 */
export const route = <R extends Omit<RouteConfig, 'security' | 'middleware'>>(
  config: R & { readonly scope: Needs; readonly errors?: readonly ErrorCode[] },
) => {
  const { scope, errors = [], ...rest } = config;
  // What the API's middlewares answer for every route of a kind: a body too large or not JSON; a reused key.
  const post = rest.method === 'post';
  const implied: ErrorCode[] = [
    ...(rest.request?.body ? (['invalid_request', 'payload_too_large'] as const) : []),
    ...(post ? (['invalid_request', 'idempotency_key_reused', 'idempotency_key_in_use'] as const) : []),
  ];
  return createRoute({
    ...rest,
    ...(post && { request: { ...rest.request, headers: z.object({ 'idempotency-key': IdempotencyKeySchema.optional() }) } }),
    ...(scope === 'none' ? { security: [] } : { security: [{ apiKey: [scope] }] }),
    responses: {
      ...errorResponses(scope === 'none' ? ['internal', ...errors, ...implied] : [...COMMON_ERRORS, ...errors, ...implied]),
      ...rest.responses,
    },
    middleware: scope === 'none' ? [] : [requireScope(scope)],
  } as unknown as R & { security: RouteConfig['security']; middleware: [] });
};

const requireScope =
  (needed: Scope) =>
  async (c: ApiContext, next: () => Promise<void>): Promise<void> => {
    const principal = c.get('principal');
    if (!principal) throw unauthorized();
    if (!allows(principal, needed)) {
      throw new ApiError(
        'forbidden',
        `This key does not have the ${needed} scope this operation needs (it has: ${principal.scopes.join(', ')})`,
      );
    }
    await next();
  };

export const unauthorized = (): ApiError =>
  new ApiError('unauthorized', 'A valid API key is required: Authorization: Bearer <key>', undefined, { 'www-authenticate': 'Bearer' });

/** A JSON answer with the API's headers. */
export const json = <T>(_c: ApiContext, status: number, body: T, headers: Readonly<Record<string, string>> = {}): Response =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  });

// ---- shared parameter and page shapes ----

export const PAGE_LIMIT = { min: 1, max: 100, default: 50 } as const;

/** Query strings arrive as text: `limit` is coerced, then held to its range. */
export const LimitSchema = z.coerce
  .number<string>()
  .int()
  .min(PAGE_LIMIT.min)
  .max(PAGE_LIMIT.max)
  .default(PAGE_LIMIT.default)
  .describe('Page size');
export const CursorSchema = z.string().min(1).max(4096).optional().describe("The previous page's `nextCursor`");

export const pageSchema = <T extends z.ZodType>(item: T, id: string, order: string) =>
  z
    .object({
      items: z.array(item).describe(order),
      nextCursor: z.string().optional().describe('Present when there is more: pass it as `cursor` for the next page'),
    })
    .meta({ id });

/** The `content` of a JSON request body. */
export const jsonBody = <T extends z.ZodType>(schema: T, description?: string) => ({
  required: true,
  ...(description !== undefined && { description }),
  content: { 'application/json': { schema } },
});

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
