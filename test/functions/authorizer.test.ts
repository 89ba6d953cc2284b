/**
 * The API Gateway Lambda authorizer on the real key store (API key items on the local engine): a bearer key
 * it knows is allowed, with its id and scopes in the context the API reads; anything else is denied; a store
 * that fails is a 500, not a misleading deny.
 */
import { readFileSync } from 'node:fs';
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoApiKeyStore } from '../../adapters/aws/store/access.ts';
import { apiKeyRecord, generateApiKey } from '../../api/auth.ts';
import type { ApiKeyStore } from '../../domain/access/model.ts';
import { create } from '../../functions/authorizer.ts';
import { localContext } from '../../functions/kit/handler.ts';
import { memoryMetrics } from '../../functions/kit/observability.ts';
import { captureLog, startConversations, type ConversationHarness } from '../helpers/conversations.ts';

let h: ConversationHarness;
let keys: DynamoApiKeyStore;
beforeEach(async () => {
  h = await startConversations();
  keys = new DynamoApiKeyStore(h.table);
});
afterEach(() => h.stop());

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/api/authorizer-event.json', import.meta.url), 'utf8'),
) as APIGatewayRequestAuthorizerEventV2;
/** The request API Gateway hands the authorizer, with this Authorization header (or none). */
const request = (authorization: string | undefined, identitySource = authorization): APIGatewayRequestAuthorizerEventV2 => {
  const { authorization: _authorization, ...headers } = fixture.headers ?? {};
  return {
    ...fixture,
    headers: { ...headers, ...(authorization !== undefined && { authorization }) },
    identitySource: identitySource === undefined ? [] : [identitySource],
  };
};

const authorizer = (store: ApiKeyStore = keys) => {
  const log = captureLog();
  const handler = create({ keys: store, observability: { log, metrics: memoryMetrics(), middlewares: [] } });
  return { log, run: (event: APIGatewayRequestAuthorizerEventV2) => handler(event, localContext('authorizer')) };
};

describe('the authorizer function', () => {
  it('allows a known key and passes its id and scopes on, comma-separated', async () => {
    const { id, secret } = generateApiKey();
    await keys.create(apiKeyRecord(secret, 'support desk', '2026-03-14T00:00:00.000Z', ['read', 'write']));
    expect(await authorizer().run(request(`Bearer ${secret}`))).toEqual({
      isAuthorized: true,
      context: { keyId: id, scopes: 'read,write' },
    });
    // The scheme is case-insensitive.
    expect(await authorizer().run(request(`bearer ${secret}`))).toEqual({
      isAuthorized: true,
      context: { keyId: id, scopes: 'read,write' },
    });
  });

  it('reads the identity source when the header comes under another case', async () => {
    const { id, secret } = generateApiKey();
    await keys.create(apiKeyRecord(secret, 'ops', '2026-03-14T00:00:00.000Z', ['admin']));
    const event = { ...request(undefined), headers: { Authorization: `Bearer ${secret}` } } as APIGatewayRequestAuthorizerEventV2;
    expect(await authorizer().run(event)).toEqual({ isAuthorized: true, context: { keyId: id, scopes: 'admin' } });
    expect(
      await authorizer().run({
        ...request(undefined),
        headers: undefined,
        identitySource: [`Bearer ${secret}`],
      } as unknown as APIGatewayRequestAuthorizerEventV2),
    ).toMatchObject({
      isAuthorized: true,
    });
  });

  it('denies an unknown key, a revoked one, another scheme and no header, with an empty context', async () => {
    const { id, secret } = generateApiKey();
    await keys.create(apiKeyRecord(secret, 'temp', '2026-03-14T00:00:00.000Z', ['read']));
    await keys.revoke(id);
    const { run, log } = authorizer();
    for (const header of [
      `Bearer ${secret}`,
      `Bearer ${generateApiKey().secret}`,
      `Basic ${Buffer.from('a:b').toString('base64')}`,
      undefined,
    ]) {
      expect(await run(request(header))).toEqual({ isAuthorized: false, context: {} });
    }
    expect(log.entries.map((e) => [e.level, e.message, e.extra])).toEqual([
      ['info', 'api key refused', { routeKey: 'GET /v1/{proxy+}', hasHeader: true }],
      ['info', 'api key refused', { routeKey: 'GET /v1/{proxy+}', hasHeader: true }],
      ['info', 'api key refused', { routeKey: 'GET /v1/{proxy+}', hasHeader: true }],
      ['info', 'api key refused', { routeKey: 'GET /v1/{proxy+}', hasHeader: false }],
    ]);
  });

  it('lets a store failure through, so API Gateway answers 500 rather than deny', async () => {
    const failing = Object.create(keys) as ApiKeyStore;
    failing.findByHash = async () => {
      throw new Error('ProvisionedThroughputExceededException');
    };
    await expect(authorizer(failing).run(request(`Bearer ${generateApiKey().secret}`))).rejects.toThrow(
      'ProvisionedThroughputExceededException',
    );
  });
});
