/**
 * The integrator API's routes, declared once: the router matches requests against this table and the
 * OpenAPI document describes exactly these operations.
 */
export const ROUTES = [
  { operationId: 'getOpenApiDocument', method: 'GET', path: '/v1/openapi.json' },
  { operationId: 'listAccounts', method: 'GET', path: '/v1/accounts' },
  { operationId: 'registerAccount', method: 'POST', path: '/v1/accounts' },
  { operationId: 'listThreads', method: 'GET', path: '/v1/threads' },
  { operationId: 'getThread', method: 'GET', path: '/v1/threads/{threadId}' },
  { operationId: 'listMessages', method: 'GET', path: '/v1/threads/{threadId}/messages' },
  { operationId: 'postMessage', method: 'POST', path: '/v1/threads/{threadId}/messages' },
  { operationId: 'getMessageMedia', method: 'GET', path: '/v1/threads/{threadId}/messages/{messageId}/media' },
] as const;

export type Route = (typeof ROUTES)[number];
export type OperationId = Route['operationId'];

export type RouteMatch =
  | { readonly kind: 'route'; readonly route: Route; readonly params: Readonly<Record<string, string>> }
  /** The path exists, but not with this method. */
  | { readonly kind: 'method_not_allowed'; readonly allow: readonly string[] }
  | { readonly kind: 'not_found' };

const segmentsOf = (path: string): string[] => path.split('/').slice(1);

/** Path parameters come back decoded; a segment that is not valid percent-encoding matches nothing. */
const matchPath = (template: string, path: string): Record<string, string> | undefined => {
  const want = segmentsOf(template);
  const got = segmentsOf(path);
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, part] of want.entries()) {
    const actual = got[i] ?? '';
    const name = /^\{(\w+)\}$/.exec(part)?.[1];
    if (name === undefined) {
      if (actual !== part) return undefined;
      continue;
    }
    if (actual === '') return undefined;
    try {
      params[name] = decodeURIComponent(actual);
    } catch {
      return undefined;
    }
  }
  return params;
};

export const matchRoute = (method: string, path: string): RouteMatch => {
  const allow: string[] = [];
  for (const route of ROUTES) {
    const params = matchPath(route.path, path);
    if (!params) continue;
    if (route.method === method.toUpperCase()) return { kind: 'route', route, params };
    allow.push(route.method);
  }
  return allow.length > 0 ? { kind: 'method_not_allowed', allow } : { kind: 'not_found' };
};
