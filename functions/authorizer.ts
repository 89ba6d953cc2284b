/**
 * API Gateway HTTP API Lambda authorizer for the integrator API: payload format 2.0 with simple responses.
 * Looks the bearer key up by its hash and passes the key's id on to the API as `context.keyId`.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
 */
import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { awsLog, awsStore } from '../adapters/aws/deps.ts';
import { authorize } from '../api/auth.ts';
import type { AuthorizerContext } from './api.ts';
import type { Deps } from './deps.ts';

export type AuthorizerResult = APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext | Record<string, never>>;

export const create =
  (deps: Pick<Deps, 'store' | 'log'>) =>
  async (event: APIGatewayRequestAuthorizerEventV2): Promise<AuthorizerResult> => {
    const header = event.headers?.authorization ?? event.headers?.Authorization ?? event.identitySource?.[0];
    // A store failure propagates: API Gateway answers 500, which is true, rather than a misleading deny.
    const principal = await authorize(deps.store, header);
    if (!principal) {
      deps.log.info('api key refused', { routeKey: event.routeKey, hasHeader: header !== undefined });
      return { isAuthorized: false, context: {} };
    }
    return { isAuthorized: true, context: { keyId: principal.keyId } };
  };

let wired: ReturnType<typeof create> | undefined;
export const handler = (event: APIGatewayRequestAuthorizerEventV2) => (wired ??= create({ store: awsStore(), log: awsLog() }))(event);
