/**
 * One channel's webhook Lambda (one deployment per channel, named by PARLEY_CHANNEL). Thin: converts the
 * API Gateway event to raw bytes and headers, and hands it to the shared ingest path.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { getConnector } from '../connectors/registry.ts';
import { ingestWebhook } from '../domain/ingest.ts';
import { MAX_WEBHOOK_BODY_BYTES } from '../topology/topology.ts';
import type { Deps, Environment } from './deps.ts';
import { awsBus, awsLog, awsSecrets } from '../adapters/aws/deps.ts';
import { systemClock } from '../domain/ports.ts';

export const create = (deps: Pick<Deps, 'secrets' | 'bus' | 'clock' | 'log'>, environment: Environment) => {
  const channel = environment.PARLEY_CHANNEL ?? '';
  const connector = getConnector(channel);
  if (!connector) throw new Error(`no connector for channel '${channel}' (PARLEY_CHANNEL)`);
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
export const handler = (event: APIGatewayProxyEventV2) => (wired ??= create({ secrets: awsSecrets(), bus: awsBus(), clock: systemClock, log: awsLog() }, process.env))(event);
