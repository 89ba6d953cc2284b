/**
 * A channel's webhook Lambda as API Gateway invokes it: a middy handler with its environment's middlewares,
 * on the AWS bus adapter with a mocked EventBridge. The provider is acknowledged only when every event was
 * accepted, and every answer is counted (WebhooksAccepted / WebhooksRejected per channel).
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { connectorEntry, EventBridgeBus } from '../../adapters/aws/eventbridge-bus.ts';
import { LocalSecretStore, type LocalAccount } from '../../adapters/local/local-secrets.ts';
import type { Channel } from '../../domain/content.ts';
import { localContext } from '../../functions/kit/handler.ts';
import { memoryMetrics, type Observability } from '../../functions/kit/observability.ts';
import { create as telegramWebhook } from '../../functions/webhooks/telegram.ts';
import { create as whatsappWebhook } from '../../functions/webhooks/whatsapp.ts';
import { testClock, captureLog } from '../helpers/conversations.ts';

const eventBridge = mockClient(EventBridgeClient);
beforeEach(() => eventBridge.reset());

const SECRET = 'lambda-test-secret';
const APP_SECRET = '3f1c9b2e7a6d4058b1e2c3d4e5f60718';
const callback = readFileSync(new URL('../fixtures/telegram/callback-query.json', import.meta.url));
const whatsappText = readFileSync(new URL('../fixtures/whatsapp/text-escaped-unicode.json', import.meta.url));
const TELEGRAM: Partial<Record<Channel, LocalAccount>> = {
  telegram: { credentials: { webhookSecret: SECRET, botToken: '7712345678:t' }, accountId: '7712345678' },
};

/** Observability that keeps what it was told, and a middleware that records that middy ran it around the handler. */
const observed = () => {
  const metrics = memoryMetrics();
  const log = captureLog();
  const around: string[] = [];
  const middleware: middy.MiddlewareObj = {
    before: async (request) => void around.push(`before ${request.context.functionName}`),
    after: async (request) => void around.push(`after ${(request.response as { statusCode: number }).statusCode}`),
  };
  const observability: Observability = { log, metrics, middlewares: [middleware] };
  return { observability, metrics, log, around };
};

const bus = () =>
  new EventBridgeBus({ client: new EventBridgeClient({}), busName: 'parley', entryOf: connectorEntry, sleep: async () => {} });

const telegram = (accounts = TELEGRAM) => {
  const seen = observed();
  const handler = telegramWebhook(
    { secrets: new LocalSecretStore(accounts), bus: bus(), clock: testClock(), observability: seen.observability },
    {},
  );
  return { handler, ...seen };
};

const request = (body: Buffer, headers: Record<string, string>, options: { method?: string; path?: string; accountId?: string } = {}) =>
  ({
    version: '2.0',
    routeKey: `${options.method ?? 'POST'} /webhooks/telegram`,
    rawPath: options.path ?? '/webhooks/telegram',
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...headers },
    requestContext: { http: { method: options.method ?? 'POST', path: options.path ?? '/webhooks/telegram' } },
    ...(options.accountId && { pathParameters: { accountId: options.accountId } }),
    body: body.toString('base64'),
    isBase64Encoded: true,
  }) as unknown as APIGatewayProxyEventV2;
const signed = (body: Buffer) => request(body, { 'x-telegram-bot-api-secret-token': SECRET });
const context = localContext('webhook-telegram');

describe('the webhook function', () => {
  it("puts both events of a button tap on the bus, then answers 200, counted as accepted, inside the environment's middlewares", async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }, { EventId: '2' }] });
    const { handler, metrics, around } = telegram();
    const response = await handler(signed(callback), context);
    expect(response).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ok: true, events: 2 }),
    });
    const entries = eventBridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries ?? [];
    expect(entries.map((e) => [e.Source, e.DetailType, e.EventBusName, e.Time?.toISOString()])).toEqual([
      ['parley.connectors', 'message.received', 'parley', '2026-03-14T01:00:00.000Z'],
      ['parley.connectors', 'provider.action.requested', 'parley', '2026-03-14T01:00:00.000Z'],
    ]);
    expect(JSON.parse(entries[0]?.Detail ?? '{}')).toMatchObject({
      type: 'message.received',
      channel: 'telegram',
      accountId: '7712345678',
      receivedAt: '2026-03-14T01:00:00.000Z',
    });
    expect([...metrics.totals]).toEqual([['WebhooksAccepted/telegram', 1]]);
    expect(around).toEqual(['before webhook-telegram', 'after 200']);
  });

  it('retries the entry PutEvents failed and still answers 200', async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ EventId: '1' }, { ErrorCode: 'ThrottlingException' }] })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: '2' }] });
    const { handler } = telegram();
    expect((await handler(signed(callback), context)).statusCode).toBe(200);
    expect(eventBridge.commandCalls(PutEventsCommand)[1]?.args[0].input.Entries?.map((e) => e.DetailType)).toEqual([
      'provider.action.requested',
    ]);
  });

  it('answers 503 when the bus keeps refusing, so Telegram delivers the update again; counted as rejected', async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 2, Entries: [{ ErrorCode: 'InternalFailure' }, { ErrorCode: 'InternalFailure' }] });
    const { handler, metrics, log } = telegram();
    const response = await handler(signed(callback), context);
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body ?? '')).toEqual({ code: 'unavailable', message: 'events could not be accepted; retry later' });
    expect([...metrics.totals]).toEqual([['WebhooksRejected/telegram', 1]]);
    expect(log.entries.filter((e) => e.level === 'error').map((e) => e.extra?.['events'])).toEqual([2]);
  });

  it('answers 503 when EventBridge itself fails', async () => {
    eventBridge.on(PutEventsCommand).rejects(new Error('ServiceUnavailable'));
    expect((await telegram().handler(signed(callback), context)).statusCode).toBe(503);
  });

  it('refuses a wrong secret with 401 before anything reaches the bus', async () => {
    const { handler, metrics } = telegram();
    const response = await handler(request(callback, { 'x-telegram-bot-api-secret-token': 'nope' }), context);
    expect(response.statusCode).toBe(401);
    expect(JSON.parse(response.body ?? '')).toEqual({ code: 'invalid_signature', message: 'missing or wrong signature' });
    expect(eventBridge).not.toHaveReceivedCommand(PutEventsCommand);
    expect([...metrics.totals]).toEqual([['WebhooksRejected/telegram', 1]]);
  });

  it('answers 404 for a channel without credentials, as in AWS before the secret is set', async () => {
    const response = await telegram({ telegram: { credentials: { webhookSecret: '', botToken: '' }, accountId: 'x' } }).handler(
      signed(callback),
      context,
    );
    expect(response.statusCode).toBe(404);
    expect(eventBridge).not.toHaveReceivedCommand(PutEventsCommand);
  });

  it('answers 405 to a GET: Telegram has no handshake', async () => {
    expect((await telegram().handler(request(Buffer.alloc(0), {}, { method: 'GET' }), context)).statusCode).toBe(405);
  });

  it('reads a body that is not base64-encoded as it is', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }, { EventId: '2' }] });
    const plain = { ...signed(callback), body: callback.toString('utf8'), isBase64Encoded: false } as APIGatewayProxyEventV2;
    expect((await telegram().handler(plain, context)).statusCode).toBe(200);
  });

  it('refuses a body over the limit the environment sets with 413', async () => {
    const seen = observed();
    const handler = telegramWebhook(
      { secrets: new LocalSecretStore(TELEGRAM), bus: bus(), clock: testClock(), observability: seen.observability },
      { MAX_WEBHOOK_BODY_BYTES: '64' },
    );
    const response = await handler(signed(callback), context);
    expect(response.statusCode).toBe(413);
    expect(JSON.parse(response.body ?? '')).toEqual({ code: 'payload_too_large', message: 'body exceeds 64 bytes' });
  });

  it("takes the account from the path: an account's own credentials verify its webhooks", async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
    const seen = observed();
    const handler = whatsappWebhook(
      {
        secrets: new LocalSecretStore({
          whatsapp: {
            credentials: { appSecret: APP_SECRET, verifyToken: 'vt', accessToken: 'EAAtoken', phoneNumberId: '106540352242922' },
            accountId: '106540352242922',
          },
        }),
        bus: bus(),
        clock: testClock(),
        observability: seen.observability,
      },
      {},
    );
    const signature = { 'x-hub-signature-256': `sha256=${createHmac('sha256', APP_SECRET).update(whatsappText).digest('hex')}` };
    const ok = await handler(
      request(whatsappText, signature, { path: '/webhooks/whatsapp/106540352242922', accountId: '106540352242922' }),
      context,
    );
    expect(ok.statusCode).toBe(200);
    const detail = JSON.parse(eventBridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0]?.Detail ?? '{}');
    expect(detail).toMatchObject({ channel: 'whatsapp', accountId: '106540352242922', sender: { externalUserId: '5215550101234' } });

    const forged = { 'x-hub-signature-256': `sha256=${createHmac('sha256', 'another-secret').update(whatsappText).digest('hex')}` };
    expect((await handler(request(whatsappText, forged, { accountId: '106540352242922' }), context)).statusCode).toBe(401);
    expect([...seen.metrics.totals]).toEqual([
      ['WebhooksAccepted/whatsapp', 1],
      ['WebhooksRejected/whatsapp', 1],
    ]);
  });
});
