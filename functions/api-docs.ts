/**
 * Serves the integrator API's OpenAPI document (`GET /v1/openapi.json`), without a key. A function of its own:
 * the document generator has no place in the API function that serves every other request; this one touches
 * no table, queue or secret.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { buildOpenApiDocument } from '../api/app.ts';
import type { Deps } from './deps.ts';
import { lambda } from './kit/handler.ts';
import { awsObservability } from './kit/powertools.ts';

export const create = (deps: Pick<Deps, 'observability'>) => {
  let body: string | undefined;
  return lambda<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>(async () => {
    body ??= JSON.stringify(buildOpenApiDocument());
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=300' },
      body,
    };
  }, deps.observability);
};

let wired: ReturnType<typeof create> | undefined;
export const handler = (event: APIGatewayProxyEventV2, context: Context) =>
  (wired ??= create({ observability: awsObservability() }))(event, context);
