/**
 * The integrator API (`/v1`): an OpenAPIHono app whose routes are each declared once (api/routes/), which
 * validates, authorizes and documents them. The Lambda handler (`functions/api.ts`) and the local runtime run
 * the same app on API Gateway events; `GET /v1/openapi.json` is generated from the same declarations.
 */
import { OpenAPIHono } from '@hono/zod-openapi';

export type { Api, ApiDeps };
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { methodNotAllowed } from 'hono/method-not-allowed';
import type { Principal } from '../domain/access/model.ts';
import { ScopeSchema } from '../domain/access/model.ts';
import { ThreadRuleError } from '../domain/conversations/threads.ts';
import { InvalidCursorError, SecretNotWritableError } from '../domain/errors.ts';
import { ConflictError } from '../domain/shared/store.ts';
import { authorize } from './auth.ts';
import type { Api, ApiDeps } from './deps.ts';
import { ApiError, invalidRequest } from './errors.ts';
import { idempotency } from './idempotency.ts';
import { unauthorized, type ApiEnv } from './kit.ts';
import { registerAccountRoutes } from './routes/accounts.ts';
import { registerAgentRoutes } from './routes/agents.ts';
import { registerAssignmentRoutes } from './routes/assignment.ts';
import { registerContactRoutes } from './routes/contacts.ts';
import { registerDocsRoute } from './routes/docs.ts';
import { registerKeyRoutes } from './routes/keys.ts';
import { registerMessageRoutes } from './routes/messages.ts';
import { registerThreadRoutes } from './routes/threads.ts';
import { registerWebhookRoutes } from './routes/webhooks.ts';
import { registerNotificationRoutes } from './routes/notifications.ts';
import { registerCampaignRoutes } from './routes/campaigns.ts';
import { MAX_API_BODY_BYTES, type ErrorBody } from './schemas.ts';

/** Who the authorizer in front of the API (API Gateway's) found the caller to be, if it ran. */
const principalOfEvent = (c: { env?: ApiEnv['Bindings'] }): Principal | undefined => {
  const event = c.env?.event as { requestContext?: { authorizer?: { lambda?: Record<string, unknown> } } } | undefined;
  const context = event?.requestContext?.authorizer?.lambda;
  if (typeof context?.keyId !== 'string' || typeof context.scopes !== 'string') return undefined;
  const scopes = context.scopes.split(',').flatMap((s) => (ScopeSchema.safeParse(s).success ? [ScopeSchema.parse(s)] : []));
  return { keyId: context.keyId, scopes };
};

export const createApi = (deps: ApiDeps): Api => {
  const app = new OpenAPIHono<ApiEnv>({
    // Parameters, query and body failures in the API's words (api/validation.ts).
    defaultHook: (result) => {
      if (!result.success) {
        const what = { json: 'The body', query: 'The query', header: 'The headers' }[result.target as string] ?? 'The path';
        throw invalidRequest(what, result.error);
      }
    },
  });

  app.onError((error, c) => {
    const answer = (status: number, body: ErrorBody, headers: Record<string, string> = {}) =>
      new Response(JSON.stringify(body), {
        status,
        headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
      });
    if (error instanceof ApiError) return answer(error.status, error.toBody(), { ...error.headers });
    // Hono's own refusals: a JSON body that does not parse is the caller's mistake, not ours.
    if (error instanceof HTTPException && error.status === 400) {
      return answer(400, { code: 'invalid_request', message: 'The body is not valid JSON' });
    }
    if (error instanceof InvalidCursorError)
      return answer(400, { code: 'invalid_cursor', message: 'The cursor is not one this API gave out for this listing' });
    if (error instanceof ThreadRuleError) return answer(422, { code: error.code, message: error.message });
    if (error instanceof SecretNotWritableError) {
      return answer(409, {
        code: 'credentials_managed_elsewhere',
        message: "This account's credentials were put in the secret store outside the API; change them there",
      });
    }
    if (error instanceof ConflictError) {
      return answer(
        409,
        { code: 'conflict', message: 'The record changed while this request was handled; try again' },
        { 'retry-after': '1' },
      );
    }
    deps.log.error('api request failed', {
      method: c.req.method,
      path: c.req.path,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    return answer(500, { code: 'internal', message: 'Something went wrong on our side; try again later' });
  });

  app.notFound(
    (c) =>
      new Response(JSON.stringify({ code: 'not_found', message: `No route ${c.req.method} ${c.req.path}` } satisfies ErrorBody), {
        status: 404,
        headers: { 'content-type': 'application/json; charset=utf-8' },
      }),
  );

  app.use(
    '*',
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) => {
        const allow = methods.filter((m) => m !== 'HEAD').join(', ');
        return new Response(JSON.stringify({ code: 'method_not_allowed', message: `${c.req.path} accepts ${allow}` } satisfies ErrorBody), {
          status: 405,
          headers: { 'content-type': 'application/json; charset=utf-8', allow },
        });
      },
    }),
  );

  // Measured before parsing, so an oversized body costs no more than its length.
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: MAX_API_BODY_BYTES,
      onError: () => {
        throw new ApiError('payload_too_large', `The body is over ${MAX_API_BODY_BYTES} bytes`);
      },
    }),
  );

  // Every route but the OpenAPI document needs a key. The authorizer has checked it already in AWS;
  // without its verdict (tests, direct invocation) the API checks the key itself, so it is never open by a
  // wiring mistake.
  app.use('/v1/*', async (c, next) => {
    if (c.req.path === '/v1/openapi.json') return next();
    const principal = principalOfEvent(c) ?? (await authorize(deps.keys, c.req.header('authorization')));
    if (!principal) throw unauthorized();
    c.set('principal', principal);
    await next();
  });

  // Each key is held to its rate, in every container at once (the counter is in the table).
  app.use('/v1/*', async (c, next) => {
    const principal = c.get('principal');
    if (principal && deps.rateLimiter) {
      const verdict = await deps.rateLimiter.take(principal.keyId);
      if (!verdict.allowed) {
        throw new ApiError('rate_limited', 'Too many requests for this API key; slow down', undefined, {
          'retry-after': String(verdict.retryAfterSeconds),
        });
      }
    }
    await next();
  });

  app.use('/v1/*', idempotency(deps));

  registerDocsRoute(app, () => buildOpenApiDocument(app));
  registerKeyRoutes(app, deps);
  registerAccountRoutes(app, deps);
  registerThreadRoutes(app, deps);
  registerMessageRoutes(app, deps);
  registerContactRoutes(app, deps);
  registerWebhookRoutes(app, deps);
  registerAgentRoutes(app, deps);
  registerAssignmentRoutes(app, deps);
  registerNotificationRoutes(app, deps);
  registerCampaignRoutes(app, deps);

  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An integrator API key, `Authorization: Bearer <key>`. Scopes: read (GET), write (includes read), admin (includes write).',
  });
  return app;
};

/** The OpenAPI 3.1 document of the API, from its route declarations. */
export const buildOpenApiDocument = (app: Api = createApi(undocumentedDeps)) =>
  app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'Parley integrator API',
      version: '1.0.0',
      description:
        'Threads, messages, contacts and the rest of Parley, for integrators. Every route but this document needs `Authorization: Bearer <key>`; errors are JSON `{ code, message }`; every POST honours `Idempotency-Key`.',
    },
    servers: [{ url: '/' }],
    security: [{ apiKey: [] }],
  });

/** Dependencies for building the document alone: the routes are declared, never called. */
const undocumentedDeps = new Proxy({} as ApiDeps, {
  get: (_target, name) => {
    if (name === 'channels') return [];
    return () => {
      throw new Error(`the document-only API has no ${String(name)}`);
    };
  },
});
