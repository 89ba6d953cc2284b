/** `GET /v1/openapi.json`: the OpenAPI 3.1 document, generated from the route declarations; no key needed. */
import * as z from 'zod';
import type { Api } from '../deps.ts';
import { json, jsonResponse, route } from '../kit.ts';

const getDocument = route({
  method: 'get',
  path: '/v1/openapi.json',
  operationId: 'getOpenApiDocument',
  summary: 'This API, described (OpenAPI 3.1)',
  tags: ['docs'],
  scope: 'none',
  responses: { 200: jsonResponse(z.record(z.string(), z.unknown()), 'The OpenAPI document') },
});

export const registerDocsRoute = (app: Api, build: () => unknown): void => {
  let document: string | undefined;
  app.openapi(getDocument, (c) => {
    document ??= JSON.stringify(build());
    return json(c, 200, JSON.parse(document) as unknown) as never;
  });
};
