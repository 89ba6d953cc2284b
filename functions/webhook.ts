/**
 * A channel's webhook Lambda, made for one connector (`functions/webhooks/<channel>.ts`), so its bundle
 * carries that channel's code only. Thin: converts the API Gateway event to raw bytes and headers, and
 * hands it to the shared ingest path.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { InboundConnector } from '../domain/connector.ts';
import { AccountResolver } from '../domain/accounts.ts';
import { ingestWebhook } from '../domain/ingest.ts';
import { systemClock } from '../domain/ports.ts';
import { MAX_WEBHOOK_BODY_BYTES } from '../topology/limits.ts';
import { awsBus, awsSecrets } from '../adapters/aws/deps.ts';
import type { Deps, Environment } from './deps.ts';
import { lambda } from './kit/handler.ts';
import { awsObservability } from './kit/powertools.ts';

export const webhookFunction = (connector: InboundConnector) => {
  const create = (
    deps: Pick<Deps, 'secrets' | 'bus' | 'clock' | 'observability'> & Partial<Pick<Deps, 'fetch' | 'apiBaseUrls'>>,
    environment: Environment,
  ) => {
    const maxBodyBytes = Number(environment.MAX_WEBHOOK_BODY_BYTES) || MAX_WEBHOOK_BODY_BYTES;
    const { log, metrics } = deps.observability;
    // One per handler: which bot a LINE token belongs to is asked once per container, not per webhook.
    const accounts = new AccountResolver({ fetch: deps.fetch ?? globalThis.fetch, apiBaseUrls: deps.apiBaseUrls ?? {}, log });
    return lambda<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>(async (event) => {
      const answer = await ingestWebhook(
        connector,
        {
          method: event.requestContext.http.method,
          headers: event.headers ?? {},
          query: event.queryStringParameters ?? {},
          rawBody: Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8'),
        },
        { maxBodyBytes, ...(event.pathParameters?.accountId && { accountId: event.pathParameters.accountId }) },
        { secrets: deps.secrets, bus: deps.bus, clock: deps.clock, log, accounts },
      );
      metrics.count(answer.statusCode < 300 ? 'WebhooksAccepted' : 'WebhooksRejected', connector.channel);
      return {
        statusCode: answer.statusCode,
        headers: { 'content-type': answer.contentType ?? 'text/plain; charset=utf-8' },
        body: answer.body,
      };
    }, deps.observability);
  };

  const wire = () => {
    // The provider's API is asked which account credentials belong to (LINE's bot info), at its override if set.
    const apiBaseUrl = process.env[connector.environment.apiBaseUrl];
    return create(
      {
        secrets: awsSecrets((_channel, credentials) => connector.accountIdOf(credentials)),
        bus: awsBus(),
        clock: systemClock,
        observability: awsObservability(),
        fetch: globalThis.fetch,
        apiBaseUrls: apiBaseUrl ? { [connector.channel]: apiBaseUrl } : {},
      },
      process.env,
    );
  };
  let wired: ReturnType<typeof create> | undefined;
  const handler = (event: APIGatewayProxyEventV2, context: Context) => (wired ??= wire())(event, context);
  return { create, handler };
};
