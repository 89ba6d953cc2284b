/**
 * The integrator API's Lambda (API Gateway HTTP API, payload format 2.0): the Hono app of `api/app.ts` on
 * API Gateway events, as a middy handler.
 */
import type { APIGatewayProxyEventV2WithLambdaAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { handle } from 'hono/aws-lambda';
import { accountOf, capabilitiesOf } from '../connectors/capabilities.ts';
import { providerTemplates } from '../connectors/templates.ts';
import type { CampaignJob } from '../domain/delivery/campaigns.ts';
import { ENABLED_CHANNELS } from '../topology/channels.ts';
import { AccountResolver } from '../domain/accounts.ts';
import { systemClock, type WorkQueue } from '../domain/ports.ts';
import type { DeliveryJob } from '../domain/integrations/webhooks.ts';
import { queueUrlVariable } from '../topology/queue-names.ts';
import { createApi, type ApiDeps } from '../api/app.ts';
import {
  awsAccounts,
  awsApiKeys,
  awsCampaignScheduler,
  awsDelivery,
  awsOutboundQueue,
  awsConversations,
  awsIdempotency,
  awsRouting,
  awsMediaStore,
  awsQueue,
  awsRateLimiter,
  awsWebhooks,
  awsSecrets,
  retentionDays,
} from '../adapters/aws/deps.ts';
import type { Deps } from './deps.ts';
import { lambda } from './kit/handler.ts';
import { awsObservability } from './kit/powertools.ts';

/** What `functions/authorizer.ts` puts in the request context: the key's id and its scopes, comma-separated. */
export interface AuthorizerContext {
  readonly keyId: string;
  readonly scopes: string;
}

export type ApiEvent = APIGatewayProxyEventV2WithLambdaAuthorizer<AuthorizerContext>;

/**
 * The handler over explicit ports. `capabilities`, `account` and `channels` default to the connectors' light
 * registry and the enabled channels, and are there for tests.
 */
export const create = (
  deps: Pick<
    Deps,
    | 'conversations'
    | 'keys'
    | 'accounts'
    | 'idempotency'
    | 'webhooks'
    | 'routing'
    | 'queue'
    | 'media'
    | 'clock'
    | 'observability'
    | 'retentionDays'
    | 'delivery'
    | 'scheduler'
  > &
    Partial<Pick<Deps, 'outbound'>> &
    Partial<Pick<Deps, 'secrets' | 'fetch' | 'apiBaseUrls' | 'webhookUrlPolicy' | 'rateLimiter'>> &
    Partial<Pick<ApiDeps, 'capabilities' | 'account' | 'channels'>>,
) => {
  const app = createApi({
    conversations: deps.conversations,
    keys: deps.keys,
    accounts: deps.accounts,
    idempotency: deps.idempotency,
    webhooks: deps.webhooks,
    routing: deps.routing,
    deliveries: deps.queue('webhook-deliveries') as WorkQueue<DeliveryJob>,
    webhookUrlPolicy: deps.webhookUrlPolicy,
    rateLimiter: deps.rateLimiter,
    media: deps.media,
    clock: deps.clock,
    log: deps.observability.log,
    channels: deps.channels ?? ENABLED_CHANNELS,
    capabilities: deps.capabilities ?? capabilitiesOf,
    account: deps.account ?? accountOf,
    secrets: deps.secrets,
    accountIds: new AccountResolver({
      fetch: deps.fetch ?? globalThis.fetch,
      apiBaseUrls: deps.apiBaseUrls ?? {},
      log: deps.observability.log,
    }),
    retentionDays: deps.retentionDays,
    delivery: deps.delivery,
    outbound: deps.outbound,
    campaigns: deps.queue('campaigns') as WorkQueue<CampaignJob>,
    scheduler: deps.scheduler,
    providerTemplates: (channel, accountId, credentials) =>
      providerTemplates(channel, accountId, credentials, {
        fetch: deps.fetch ?? globalThis.fetch,
        apiBaseUrls: deps.apiBaseUrls ?? {},
        now: deps.clock.now(),
      }),
  });
  const serve = handle(app);
  return lambda<ApiEvent, APIGatewayProxyStructuredResultV2>(
    async (event, context) => (await serve(withoutGetBody(event) as never, context as never)) as APIGatewayProxyStructuredResultV2,
    deps.observability,
  );
};

/**
 * API Gateway passes a body on any method, but a fetch `Request` cannot carry one on GET or HEAD (Hono would
 * answer a plain-text 400): no GET route reads a body, so it is dropped.
 */
const withoutGetBody = (event: ApiEvent): ApiEvent => {
  const method = event.requestContext.http.method.toUpperCase();
  if ((method !== 'GET' && method !== 'HEAD') || event.body === undefined) return event;
  const { body: _ignored, ...rest } = event;
  return { ...rest, isBase64Encoded: false };
};

let wired: ReturnType<typeof create> | undefined;
export const handler = (event: ApiEvent, context: Context) =>
  (wired ??= create({
    conversations: awsConversations(),
    keys: awsApiKeys(),
    accounts: awsAccounts(),
    idempotency: awsIdempotency(),
    webhooks: awsWebhooks(),
    rateLimiter: awsRateLimiter(),
    routing: awsRouting(),
    queue: (name) => awsQueue(queueUrlVariable(name)),
    media: awsMediaStore(),
    secrets: awsSecrets((channel, credentials) => accountOf(channel)?.accountIdOf(credentials)),
    clock: systemClock,
    observability: awsObservability(),
    retentionDays: retentionDays(),
    delivery: awsDelivery(),
    scheduler: awsCampaignScheduler(),
    outbound: awsOutboundQueue(),
  }))(event, context);
