/**
 * The api-docs Lambda: the integrator API's OpenAPI document at `GET /v1/openapi.json`, public (no key, no
 * authorizer), the same document the API itself is built from.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../api/app.ts';
import { create } from '../../functions/api-docs.ts';
import { localContext } from '../../functions/kit/handler.ts';
import { memoryMetrics } from '../../functions/kit/observability.ts';
import { captureLog } from '../helpers/conversations.ts';

const anonymous = {
  version: '2.0',
  routeKey: 'GET /v1/openapi.json',
  rawPath: '/v1/openapi.json',
  rawQueryString: '',
  headers: { accept: 'application/json' },
  isBase64Encoded: false,
  requestContext: { http: { method: 'GET', path: '/v1/openapi.json' } },
} as unknown as APIGatewayProxyEventV2;

describe('the api-docs function', () => {
  it('serves the OpenAPI document to anyone, cacheable for five minutes', async () => {
    const handler = create({ observability: { log: captureLog(), metrics: memoryMetrics(), middlewares: [] } });
    const result = await handler(anonymous, localContext('api-docs'));
    expect(result.statusCode).toBe(200);
    expect(result.headers).toEqual({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=300' });
    const document = JSON.parse(result.body ?? '');
    expect(document).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
    expect(document.openapi).toMatch(/^3\.1\./);
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/v1/threads', '/v1/threads/{threadId}/messages']));
  });

  it('serves the same document on every call', async () => {
    const handler = create({ observability: { log: captureLog(), metrics: memoryMetrics(), middlewares: [] } });
    const first = await handler(anonymous, localContext('api-docs'));
    const second = await handler({ ...anonymous, headers: {} }, localContext('api-docs'));
    expect(second.body).toBe(first.body);
  });
});
