/**
 * The webhook Lambda as API Gateway invokes it, on the AWS bus adapter with a mocked EventBridge: the
 * provider is acknowledged only when every event was accepted.
 */
import { readFileSync } from 'node:fs';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EventBridgeBus } from '../../adapters/aws/eventbridge-bus.ts';
import { LocalSecretStore } from '../../adapters/local/local-secrets.ts';
import { systemClock } from '../../domain/ports.ts';
import { create } from '../../functions/webhooks/telegram.ts';
import { createLocalLog } from '../../runtime/local-log.ts';

const eventBridge = mockClient(EventBridgeClient);
beforeEach(() => eventBridge.reset());

const SECRET = 'lambda-test-secret';
const callback = readFileSync(new URL('../fixtures/telegram/callback-query.json', import.meta.url));

const handler = (accounts = { telegram: { credentials: { webhookSecret: SECRET, botToken: '7712345678:t' }, accountId: '7712345678' } }) =>
  create(
    {
      secrets: new LocalSecretStore(accounts),
      bus: new EventBridgeBus({ client: new EventBridgeClient({}), busName: 'parley', sleep: async () => {} }),
      clock: systemClock,
      log: createLocalLog({ level: 'silent' }),
    },
    { PARLEY_CHANNEL: 'telegram' },
  );

const request = (body: Buffer, headers: Record<string, string> = { 'x-telegram-bot-api-secret-token': SECRET }, method = 'POST') =>
  ({
    version: '2.0',
    routeKey: `${method} /webhooks/telegram`,
    rawPath: '/webhooks/telegram',
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...headers },
    requestContext: { http: { method, path: '/webhooks/telegram' } },
    body: body.toString('base64'),
    isBase64Encoded: true,
  }) as unknown as APIGatewayProxyEventV2;

describe('webhook Lambda', () => {
  it('puts both events of a button tap on the bus, then answers 200', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }, { EventId: '2' }] });
    const response = await handler()(request(callback));
    expect(response.statusCode).toBe(200);
    const entries = eventBridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries ?? [];
    expect(entries.map((e) => [e.Source, e.DetailType, e.EventBusName])).toEqual([
      ['parley.connectors', 'message.received', 'parley'],
      ['parley.connectors', 'provider.action.requested', 'parley'],
    ]);
  });

  it('retries the entry PutEvents failed and still answers 200', async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ EventId: '1' }, { ErrorCode: 'ThrottlingException' }] })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: '2' }] });
    expect((await handler()(request(callback))).statusCode).toBe(200);
    expect(eventBridge.commandCalls(PutEventsCommand)[1]?.args[0].input.Entries).toHaveLength(1);
  });

  it('answers 503 when the bus keeps refusing, so Telegram delivers the update again', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 2, Entries: [{ ErrorCode: 'InternalFailure' }, { ErrorCode: 'InternalFailure' }] });
    const response = await handler()(request(callback));
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body ?? '')).toEqual({ code: 'unavailable', message: 'events could not be accepted; retry later' });
  });

  it('answers 503 when EventBridge itself fails', async () => {
    eventBridge.on(PutEventsCommand).rejects(new Error('ServiceUnavailable'));
    expect((await handler()(request(callback))).statusCode).toBe(503);
  });

  it('refuses a wrong secret with 401 before anything reaches the bus', async () => {
    const response = await handler()(request(callback, { 'x-telegram-bot-api-secret-token': 'nope' }));
    expect(response.statusCode).toBe(401);
    expect(eventBridge).not.toHaveReceivedCommand(PutEventsCommand);
  });

  it('answers 404 for a channel without credentials, as in AWS before the secret is set', async () => {
    const response = await handler({ telegram: { credentials: { webhookSecret: '', botToken: '' }, accountId: 'x' } })(request(callback));
    expect(response.statusCode).toBe(404);
    expect(eventBridge).not.toHaveReceivedCommand(PutEventsCommand);
  });

  it('answers 405 to a GET: Telegram has no handshake', async () => {
    expect((await handler()(request(Buffer.alloc(0), {}, 'GET'))).statusCode).toBe(405);
  });
});
