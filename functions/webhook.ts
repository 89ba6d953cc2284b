/**
 * A channel's webhook Lambda, made for one connector (`functions/webhooks/<channel>.ts`), so its bundle
 * carries that channel's code only. Thin: converts the API Gateway event to raw bytes and headers, and
 * hands it to the shared ingest path.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Connector } from '../domain/connector.ts';
import { ingestWebhook } from '../domain/ingest.ts';
import { MAX_WEBHOOK_BODY_BYTES } from '../topology/topology.ts';
import type { Deps, Environment } from './deps.ts';
import { awsBus, awsLog, awsSecrets } from '../adapters/aws/deps.ts';
import { systemClock } from '../domain/ports.ts';

export const webhookFunction = (connector: Connector) => {
const create = (deps: Pick<Deps, 'secrets' | 'bus' | 'clock' | 'log'>, environment: Environment) => {
  const maxBodyBytes = Number(environment.MAX_WEBHOOK_BODY_BYTES) || MAX_WEBHOOK_BODY_BYTES;
  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const answer = await ingestWebhook(
      connector,
      {
        method: event.requestContext.http.method,
        headers: event.headers ?? {},
        query: event.queryStringParameters ?? {},
        rawBody: Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8'),
      },
      {
        maxBodyBytes,
        ...(event.pathParameters?.accountId && { accountId: event.pathParameters.accountId }),
      },
      deps,
    );
    return {
      statusCode: answer.statusCode,
      headers: { 'content-type': answer.contentType ?? 'text/plain; charset=utf-8' },
      body: answer.body,
    };
  };
};

let wired: ReturnType<typeof create> | undefined;
const handler = (event: APIGatewayProxyEventV2) =>
  (wired ??= create(
    { secrets: awsSecrets((_channel, credentials) => connector.accountIdOf(credentials)), bus: awsBus(), clock: systemClock, log: awsLog() },
    process.env,
  ))(event);
return { create, handler };
};
