/**
 * API keys: made and revoked through the API by an `admin` key. A key's secret is answered once, when it is
 * made; only its SHA-256 is kept.
 */
import * as z from 'zod';
import { ApiKeySchema, SCOPES, ScopeSchema } from '../../domain/access/model.ts';
import { apiKeyRecord, generateApiKey } from '../auth.ts';
import { ApiError } from '../errors.ts';
import { json, jsonBody, jsonResponse, route } from '../kit.ts';
import type { Api, ApiDeps } from '../deps.ts';

const CreateKeyRequestSchema = z
  .strictObject({
    name: z.string().min(1).max(200).optional().describe('A name for people'),
    scopes: z.array(ScopeSchema).min(1).max(SCOPES.length).describe('read: GET; write: includes read; admin: includes write'),
  })
  .meta({ id: 'CreateKeyRequest' });

const CreatedKeySchema = ApiKeySchema.extend({
  key: z.string().describe('The secret, `prl_…`: shown only in this answer; send it as `Authorization: Bearer <key>`'),
}).meta({ id: 'CreatedKey' });

const KeyIdParams = z.object({ keyId: z.string().min(1).max(100) });

const createKey = route({
  method: 'post',
  path: '/v1/keys',
  operationId: 'createKey',
  summary: 'Make an API key',
  tags: ['keys'],
  scope: 'admin',
  errors: ['invalid_request'],
  request: { body: jsonBody(CreateKeyRequestSchema) },
  responses: { 201: jsonResponse(CreatedKeySchema, 'The key, with its secret (shown only here)') },
});

const listKeys = route({
  method: 'get',
  path: '/v1/keys',
  operationId: 'listKeys',
  summary: 'The API keys (never their secrets)',
  tags: ['keys'],
  scope: 'admin',
  responses: { 200: jsonResponse(z.object({ items: z.array(ApiKeySchema) }).meta({ id: 'KeyList' }), 'Oldest first') },
});

const revokeKey = route({
  method: 'delete',
  path: '/v1/keys/{keyId}',
  operationId: 'revokeKey',
  summary: 'Revoke an API key: it is refused from then on',
  tags: ['keys'],
  scope: 'admin',
  errors: ['not_found', 'invalid_request'],
  request: { params: KeyIdParams },
  responses: { 204: { description: 'Revoked' } },
});

const publicKey = ({ keyHash: _hash, ...key }: z.infer<typeof ApiKeySchema> & { keyHash?: string }) => ApiKeySchema.parse(key);

export const registerKeyRoutes = (app: Api, deps: ApiDeps): void => {
  app.openapi(createKey, async (c) => {
    const input = c.req.valid('json');
    const principal = c.get('principal');
    const { secret } = generateApiKey();
    const record = apiKeyRecord(
      secret,
      input.name ?? 'unnamed',
      deps.clock.now().toISOString(),
      [...new Set(input.scopes)],
      principal.keyId,
    );
    await deps.keys.create(record);
    deps.log.info('api key created', { keyId: record.id, scopes: record.scopes, by: principal.keyId });
    // The secret is shown once and stored nowhere, not even as the answer an Idempotency-Key would replay.
    c.set(
      'withheldFromReplay',
      `This Idempotency-Key already made key ${record.id}, whose secret was shown only in that answer; if it was lost, revoke that key (DELETE /v1/keys/${record.id}) and make another`,
    );
    return json(c, 201, { ...publicKey(record), key: secret }) as never;
  });

  app.openapi(listKeys, async (c) => json(c, 200, { items: (await deps.keys.list()).map(publicKey) }) as never);

  app.openapi(revokeKey, async (c) => {
    const { keyId } = c.req.valid('param');
    const principal = c.get('principal');
    if (keyId === principal.keyId) throw new ApiError('invalid_request', 'A key cannot revoke itself; use another admin key');
    if (!(await deps.keys.revoke(keyId))) throw new ApiError('not_found', `No API key ${keyId}`);
    deps.log.info('api key revoked', { keyId, by: principal.keyId });
    return new Response(null, { status: 204 }) as never;
  });
};
