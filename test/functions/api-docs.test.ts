import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../api/openapi.ts';
import { create } from '../../functions/api-docs.ts';
import type { ApiEvent } from '../../functions/api.ts';

const event = (keyId: string | undefined): ApiEvent =>
  ({
    rawPath: '/v1/openapi.json',
    headers: {},
    isBase64Encoded: false,
    requestContext: { http: { method: 'GET', path: '/v1/openapi.json' }, ...(keyId && { authorizer: { lambda: { keyId } } }) },
  }) as unknown as ApiEvent;

describe('the api-docs function', () => {
  it("serves the API's OpenAPI document to an authorized caller", async () => {
    const result = await create()(event('key_abc'));
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['content-type']).toBe('application/json');
    expect(JSON.parse(result.body ?? '')).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
  });

  it("serves nothing without the authorizer's verdict", async () => {
    const result = await create()(event(undefined));
    expect(result.statusCode).toBe(401);
    expect(JSON.parse(result.body ?? '')).toMatchObject({ code: 'unauthorized' });
  });
});
