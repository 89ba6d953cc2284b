/**
 * Serves the integrator API's OpenAPI document (`GET /v1/openapi.json`). A function of its own: the document
 * is generated from the API's zod schemas, and that generator has no place in the API function that serves
 * every other request; this one touches no table, queue or secret.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { buildOpenApiDocument } from '../api/openapi.ts';
import type { ApiEvent } from './api.ts';

export const create = () => {
  let body: string | undefined;
  return async (event: ApiEvent): Promise<APIGatewayProxyStructuredResultV2> => {
    // The route's authorizer has run; without its verdict (a direct invocation) nothing is served.
    if (typeof event.requestContext.authorizer?.lambda?.keyId !== 'string') {
      return {
        statusCode: 401,
        headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer' },
        body: JSON.stringify({ code: 'unauthorized', message: 'A valid API key is required: Authorization: Bearer <key>' }),
      };
    }
    body ??= JSON.stringify(buildOpenApiDocument());
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body };
  };
};

let wired: ReturnType<typeof create> | undefined;
export const handler = (event: ApiEvent) => (wired ??= create())(event);
