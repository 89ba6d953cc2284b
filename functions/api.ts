/**
 * The integrator API's Lambda (API Gateway HTTP API, payload format 2.0). Thin: turns the event into an
 * {@link ApiRequest} and the answer back; everything else is `api/router.ts`.
 */
import type { APIGatewayProxyEventV2WithLambdaAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { awsLog, awsMediaStore, awsOutboundQueue, awsSecrets, awsStore } from '../adapters/aws/deps.ts';
import { systemClock } from '../domain/ports.ts';
import { accountOf, capabilitiesOf } from '../connectors/capabilities.ts';
import { createApi, type ApiDeps, type ApiRequest } from '../api/router.ts';
import type { Principal } from '../api/auth.ts';
import type { Deps } from './deps.ts';

/** What `functions/authorizer.ts` puts in the request context. */
export type AuthorizerContext = Principal;

export type ApiEvent = APIGatewayProxyEventV2WithLambdaAuthorizer<AuthorizerContext>;

const lowerCaseKeys = (headers: Readonly<Record<string, string | undefined>> | undefined): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));

export const toApiRequest = (event: ApiEvent): ApiRequest => {
  // The authorizer is absent on routes served without a key (the OpenAPI document).
  const keyId = event.requestContext.authorizer?.lambda?.keyId;
  return {
    method: event.requestContext.http.method,
    path: event.rawPath,
    query: event.queryStringParameters ?? {},
    headers: lowerCaseKeys(event.headers),
    body: event.body === undefined ? undefined : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body,
    ...(typeof keyId === 'string' && keyId !== '' && { principal: { keyId } }),
  };
};

/** What a channel can carry, from its connector; undefined for a channel without one. */
const connectorCapabilities: ApiDeps['capabilities'] = capabilitiesOf;

/**
 * The handler over explicit ports. Takes the shared `Deps` as the local runtime passes them to every
 * function; `capabilities` and `account` default to the connectors' light registry and are there for tests.
 * `secrets` keeps the credentials of accounts registered with them and tells whether an account is configured.
 */
export const create = (
  deps: Pick<Deps, 'store' | 'outbound' | 'media' | 'clock' | 'log'> &
    Partial<Pick<Deps, 'secrets'>> &
    Partial<Pick<ApiDeps, 'capabilities' | 'account'>>,
) => {
  const api = createApi({
    store: deps.store,
    outbound: deps.outbound,
    media: deps.media,
    clock: deps.clock,
    log: deps.log,
    capabilities: deps.capabilities ?? connectorCapabilities,
    secrets: deps.secrets,
    account: deps.account ?? accountOf,
  });
  return async (event: ApiEvent): Promise<APIGatewayProxyStructuredResultV2> => {
    const response = await api(toApiRequest(event));
    return {
      statusCode: response.statusCode,
      headers: { ...response.headers },
      body: response.body,
      ...(response.isBase64Encoded && { isBase64Encoded: true }),
    };
  };
};

let wired: ReturnType<typeof create> | undefined;
export const handler = (event: ApiEvent) =>
  (wired ??= create({
    store: awsStore(),
    outbound: awsOutboundQueue(),
    media: awsMediaStore(),
    secrets: awsSecrets((channel, credentials) => accountOf(channel)?.accountIdOf(credentials)),
    clock: systemClock,
    log: awsLog(),
  }))(event);
