/**
 * The local stand-in for API Gateway's HTTP API: matches the topology's routes the way API Gateway does
 * (exact paths before `{param}` before `{proxy+}`), turns each request into a payload-format-2.0 event for
 * the same handler Lambda would run, and runs the integrator authorizer first where a route requires it.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
} from 'aws-lambda';
import type { RouteSpec } from '../topology/topology.ts';

export type HttpHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
export type Authorizer = (
  event: APIGatewayRequestAuthorizerEventV2,
) => Promise<APIGatewaySimpleAuthorizerWithContextResult<Record<string, string>>>;

export interface BoundRoute extends RouteSpec {
  readonly functionName: string;
  readonly handler: HttpHandler;
}

interface CompiledRoute {
  readonly route: BoundRoute;
  readonly regex: RegExp;
  readonly params: readonly string[];
  readonly rank: number;
}

/** API Gateway's own payload limit; the handlers enforce their smaller ones. */
const GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;

const compile = (route: BoundRoute): CompiledRoute => {
  const params: string[] = [];
  let rank = 0;
  const pattern = route.path
    .split('/')
    .map((segment) => {
      const greedy = /^\{(\w+)\+\}$/.exec(segment);
      if (greedy?.[1]) {
        params.push(greedy[1]);
        rank = Math.max(rank, 2);
        return '(.+)';
      }
      const param = /^\{(\w+)\}$/.exec(segment);
      if (param?.[1]) {
        params.push(param[1]);
        rank = Math.max(rank, 1);
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { route, regex: new RegExp(`^${pattern}$`), params, rank };
};

export interface GatewayOptions {
  readonly routes: readonly BoundRoute[];
  readonly authorizer?: Authorizer;
  /** Extra handlers tried before the routes (the provider sandboxes). */
  readonly extra?: (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<boolean>;
  readonly onRequest?: (line: { method: string; path: string; status: number; ms: number; functionName?: string }) => void;
}

const TEXT_TYPES = /^(application\/(json|x-www-form-urlencoded|xml)|text\/)/i;

const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
};

const readBody = (req: IncomingMessage): Promise<Buffer | 'too-large'> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size > GATEWAY_MAX_BODY_BYTES) return;
      size += chunk.length;
      if (size > GATEWAY_MAX_BODY_BYTES) {
        // Answered 413 by the caller; the rest of the upload is read and thrown away.
        resolve('too-large');
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

export const createGateway = (options: GatewayOptions) => {
  const compiled = options.routes.map(compile).sort((a, b) => a.rank - b.rank);

  const match = (method: string, path: string) => {
    let pathMatched = false;
    for (const candidate of compiled) {
      const m = candidate.regex.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (candidate.route.method !== method && candidate.route.method !== 'ANY') continue;
      let pathParameters: Record<string, string>;
      try {
        pathParameters = Object.fromEntries(candidate.params.map((p, i) => [p, decodeURIComponent(m[i + 1] ?? '')]));
      } catch {
        return { pathMatched }; // not valid percent-encoding: no route matches it
      }
      return { route: candidate.route, pathParameters };
    }
    return { pathMatched };
  };

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://local');
    const method = (req.method ?? 'GET').toUpperCase();
    let functionName: string | undefined;
    const finish = (status: number) =>
      options.onRequest?.({ method, path: url.pathname, status, ms: performance.now() - started, ...(functionName && { functionName }) });
    try {
      const body = await readBody(req);
      if (body === 'too-large') {
        send(res, 413, JSON.stringify({ message: 'Request Entity Too Large' }));
        return finish(413);
      }
      if (options.extra && (await options.extra(req, res, body))) return finish(res.statusCode);
      const found = match(method, url.pathname);
      if (!('route' in found) || !found.route) {
        // API Gateway answers unknown routes itself, before any function runs.
        send(res, 404, JSON.stringify({ code: 'not_found', message: `no route for ${method} ${url.pathname}` }));
        return finish(404);
      }
      const { route, pathParameters } = found;
      functionName = route.functionName;
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
      }
      const isText = TEXT_TYPES.test(headers['content-type'] ?? '') || body.length === 0;
      const now = new Date();
      const requestContext = {
        accountId: '000000000000',
        apiId: 'local',
        domainName: headers.host ?? 'localhost',
        domainPrefix: 'local',
        http: {
          method,
          path: url.pathname,
          protocol: `HTTP/${req.httpVersion}`,
          sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
          userAgent: headers['user-agent'] ?? '',
        },
        requestId: randomUUID(),
        routeKey: `${route.method} ${route.path}`,
        stage: '$default',
        time: now.toUTCString(),
        timeEpoch: now.getTime(),
      };
      const query = Object.fromEntries(url.searchParams);
      const event: APIGatewayProxyEventV2 = {
        version: '2.0',
        routeKey: requestContext.routeKey,
        rawPath: url.pathname,
        rawQueryString: url.search.slice(1),
        headers,
        ...(url.search && { queryStringParameters: query }),
        ...(Object.keys(pathParameters).length > 0 && { pathParameters }),
        requestContext,
        ...(body.length > 0 && { body: body.toString(isText ? 'utf8' : 'base64') }),
        isBase64Encoded: !isText,
      };
      if (route.auth === 'apiKey') {
        const authorization = headers.authorization;
        const denied = () => {
          // API Gateway itself answers 401 (no identity) and 403 (denied); the contract promises 401 with a
          // JSON error for both, which the local runtime gives. See docs/deploy.md for AWS.
          send(res, 401, JSON.stringify({ code: 'unauthorized', message: 'missing or invalid API key' }), {
            'www-authenticate': 'Bearer',
          });
          return finish(401);
        };
        if (!authorization || !options.authorizer) return denied();
        const verdict = await options.authorizer({
          version: '2.0',
          type: 'REQUEST',
          routeArn: `arn:aws:execute-api:local:000000000000:local/$default/${method}${url.pathname}`,
          identitySource: [authorization],
          routeKey: event.routeKey,
          rawPath: event.rawPath,
          rawQueryString: event.rawQueryString,
          headers,
          ...(event.queryStringParameters && { queryStringParameters: event.queryStringParameters }),
          ...(event.pathParameters && { pathParameters: event.pathParameters }),
          requestContext,
        } as APIGatewayRequestAuthorizerEventV2);
        if (!verdict.isAuthorized) return denied();
        Object.assign(requestContext, { authorizer: { lambda: verdict.context ?? {} } });
      }
      const result = await route.handler(event);
      const resultHeaders = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)]));
      res.writeHead(result.statusCode ?? 200, resultHeaders);
      res.end(result.body === undefined ? undefined : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8'));
      return finish(result.statusCode ?? 200);
    } catch (error) {
      // A handler that throws is what Lambda reports as a 500 through API Gateway.
      if (!res.headersSent) send(res, 500, JSON.stringify({ message: 'Internal Server Error' }));
      else res.end();
      options.onRequest?.({
        method,
        path: url.pathname,
        status: 500,
        ms: performance.now() - started,
        ...(functionName && { functionName }),
      });
      process.emitWarning(`handler ${functionName ?? '?'} threw: ${error instanceof Error ? error.stack : String(error)}`);
    }
  };
};
