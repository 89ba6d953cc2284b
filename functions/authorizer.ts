/**
 * API Gateway HTTP API Lambda authorizer for the integrator API: payload format 2.0 with simple responses.
 * Looks the bearer key up by its hash (it may read API key items and nothing else: lib/thread-table.ts) and
 * passes the key's id and scopes on to the API; the API checks each route's scope.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
 */
import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult, Context } from 'aws-lambda';
import { awsApiKeys } from '../adapters/aws/deps.ts';
import { authorize } from '../api/auth.ts';
import type { AuthorizerContext } from './api.ts';
import type { Deps } from './deps.ts';
import { lambda } from './kit/handler.ts';
import { awsObservability } from './kit/powertools.ts';

export type AuthorizerResult = APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext | Record<string, never>>;

export const create = (deps: Pick<Deps, 'keys' | 'observability'>) =>
  lambda<APIGatewayRequestAuthorizerEventV2, AuthorizerResult>(async (event): Promise<AuthorizerResult> => {
    const header = event.headers?.authorization ?? event.headers?.Authorization ?? event.identitySource?.[0];
    // A store failure propagates: API Gateway answers 500, which is true, rather than a misleading deny.
    const principal = await authorize(deps.keys, header);
    if (!principal) {
      deps.observability.log.info('api key refused', { routeKey: event.routeKey, hasHeader: header !== undefined });
      return { isAuthorized: false, context: {} };
    }
    return { isAuthorized: true, context: { keyId: principal.keyId, scopes: principal.scopes.join(',') } };
  }, deps.observability);

let wired: ReturnType<typeof create> | undefined;
export const handler = (event: APIGatewayRequestAuthorizerEventV2, context: Context) =>
  (wired ??= create({ keys: awsApiKeys(), observability: awsObservability() }))(event, context);
