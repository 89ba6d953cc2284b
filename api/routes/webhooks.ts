/**
 * Webhook subscriptions (`admin` scope): integrators choose event types and a URL, get a signing secret once,
 * and see each subscription's recent deliveries (status code, latency, attempts), which they can redeliver.
 */
import * as z from 'zod';
import { redeliver } from '../../domain/integrations/dispatch.ts';
import {
  AWS_URL_POLICY,
  DeliverySchema,
  newSecret,
  SubscriptionSchema,
  urlRefusal,
  WEBHOOK_EVENT_WILDCARD,
  type StoredSubscription,
} from '../../domain/integrations/webhooks.ts';
import { DOMAIN_EVENT_TYPES, isDomainEventType } from '../../domain/events/domain-events.ts';
import { deterministicId, randomId } from '../../domain/ids.ts';
import { ConflictError, NEW_RECORD, retryOnConflict } from '../../domain/shared/store.ts';
import { ApiError } from '../errors.ts';
import { CursorSchema, json, jsonBody, jsonResponse, LimitSchema, pageSchema, route, type ApiContext } from '../kit.ts';
import type { Api, ApiDeps } from '../deps.ts';

const WebhookParams = z.object({ webhookId: z.string().min(1).max(100).describe('A subscription id') });
const DeliveryParams = WebhookParams.extend({ deliveryId: z.string().min(1).max(100).describe('A delivery id (its `webhook-id`)') });

const EventsSchema = z
  .array(z.string().min(1).max(100))
  .min(1)
  .max(DOMAIN_EVENT_TYPES.length)
  .describe(`Event types (${DOMAIN_EVENT_TYPES.join(', ')}), or ["*"] for all`);

const CreateWebhookRequestSchema = z
  .strictObject({
    url: z.string().min(1).max(2048).describe('Where deliveries are POSTed: https (and, in the local runtime, http on loopback)'),
    events: EventsSchema,
    description: z.string().max(500).optional(),
  })
  .meta({ id: 'CreateWebhookRequest' });

const UpdateWebhookRequestSchema = z
  .strictObject({
    url: CreateWebhookRequestSchema.shape.url.optional(),
    events: EventsSchema.optional(),
    description: z.string().max(500).optional(),
    enabled: z.boolean().optional(),
  })
  .refine((r) => Object.keys(r).length > 0, { message: 'must change something' })
  .meta({ id: 'UpdateWebhookRequest' });

const CreatedWebhookSchema = SubscriptionSchema.extend({
  secret: z.string().describe('`whsec_…`: the signing secret, shown only in this answer'),
}).meta({ id: 'CreatedWebhook' });

const createWebhook = route({
  method: 'post',
  path: '/v1/webhooks',
  operationId: 'createWebhook',
  summary: 'Subscribe a URL to event types',
  tags: ['webhooks'],
  scope: 'admin',
  errors: ['invalid_request'],
  request: { body: jsonBody(CreateWebhookRequestSchema) },
  responses: { 201: jsonResponse(CreatedWebhookSchema, 'The subscription, with its secret (shown only here)') },
});

const listWebhooks = route({
  method: 'get',
  path: '/v1/webhooks',
  operationId: 'listWebhooks',
  summary: 'The webhook subscriptions (never their secrets)',
  tags: ['webhooks'],
  scope: 'admin',
  responses: { 200: jsonResponse(z.object({ items: z.array(SubscriptionSchema) }).meta({ id: 'WebhookList' }), 'Oldest first') },
});

const getWebhook = route({
  method: 'get',
  path: '/v1/webhooks/{webhookId}',
  operationId: 'getWebhook',
  summary: 'One subscription',
  tags: ['webhooks'],
  scope: 'admin',
  errors: ['not_found'],
  request: { params: WebhookParams },
  responses: { 200: jsonResponse(SubscriptionSchema, 'The subscription') },
});

const updateWebhook = route({
  method: 'patch',
  path: '/v1/webhooks/{webhookId}',
  operationId: 'updateWebhook',
  summary: "Change a subscription's URL, event types, description, or pause it (`enabled: false`)",
  tags: ['webhooks'],
  scope: 'admin',
  errors: ['not_found', 'invalid_request'],
  request: { params: WebhookParams, body: jsonBody(UpdateWebhookRequestSchema) },
  responses: { 200: jsonResponse(SubscriptionSchema, 'The subscription as changed') },
});

const deleteWebhook = route({
  method: 'delete',
  path: '/v1/webhooks/{webhookId}',
  operationId: 'deleteWebhook',
  summary: 'Delete a subscription: no further deliveries',
  tags: ['webhooks'],
  scope: 'admin',
  errors: ['not_found'],
  request: { params: WebhookParams },
  responses: { 204: { description: 'Deleted' } },
});

const listDeliveries = route({
  method: 'get',
  path: '/v1/webhooks/{webhookId}/deliveries',
  operationId: 'listWebhookDeliveries',
  summary: "A subscription's recent deliveries: state, attempts, last status code and latency",
  tags: ['webhooks'],
  scope: 'admin',
  errors: ['not_found', 'invalid_cursor'],
  request: { params: WebhookParams, query: z.object({ limit: LimitSchema, cursor: CursorSchema }) },
  responses: { 200: jsonResponse(pageSchema(DeliverySchema, 'WebhookDeliveryPage', 'Newest first (kept for 7 days)'), 'One page') },
});

const redeliverRoute = route({
  method: 'post',
  path: '/v1/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver',
  operationId: 'redeliverWebhook',
  summary: 'Send a delivery again (a failed one, or any other), with the same webhook-id',
  tags: ['webhooks'],
  scope: 'admin',
  errors: ['not_found'],
  request: { params: DeliveryParams },
  responses: { 202: jsonResponse(DeliverySchema, 'The delivery, queued again') },
});

const publicSubscription = ({ secret: _secret, ...subscription }: StoredSubscription) => SubscriptionSchema.parse(subscription);

const checkEvents = (events: readonly string[]): string[] => {
  const unknown = events.filter((e) => e !== WEBHOOK_EVENT_WILDCARD && !isDomainEventType(e));
  if (unknown.length > 0)
    throw new ApiError('invalid_request', `Unknown event type(s): ${unknown.join(', ')}. Types: ${DOMAIN_EVENT_TYPES.join(', ')}, or *`);
  return [...new Set(events)];
};

export const registerWebhookRoutes = (app: Api, deps: ApiDeps): void => {
  const policy = deps.webhookUrlPolicy ?? AWS_URL_POLICY;
  const checkUrl = (url: string) => {
    const refusal = urlRefusal(url, policy);
    if (refusal !== undefined) throw new ApiError('invalid_request', `url ${refusal}`);
  };
  const find = async (id: string) => {
    const found = await deps.webhooks.getSubscription(id);
    if (!found) throw new ApiError('not_found', `No webhook subscription ${id}`);
    return found;
  };
  /**
   * Subscription ids: with an Idempotency-Key, derived from it and the time its first request came, so a retried
   * create finds what it made, and the key used again once it expired makes the subscription then asked for.
   */
  const newId = (c: ApiContext) => {
    const idempotency = c.get('idempotency');
    return idempotency ? deterministicId('wh', c.get('principal').keyId, idempotency.key, idempotency.firstSeenAt) : randomId('wh');
  };

  app.openapi(createWebhook, async (c) => {
    const input = c.req.valid('json');
    checkUrl(input.url);
    const at = c.get('idempotency')?.firstSeenAt ?? deps.clock.now().toISOString();
    const subscription: StoredSubscription = {
      id: newId(c),
      url: input.url,
      events: checkEvents(input.events),
      ...(input.description !== undefined && { description: input.description }),
      enabled: true,
      createdAt: at,
      updatedAt: at,
      secret: newSecret(),
    };
    try {
      await deps.webhooks.putSubscription(subscription, NEW_RECORD);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      // This request's first run made it (a retry with the same Idempotency-Key after it stopped).
      const existing = await find(subscription.id);
      return json(c, 201, { ...publicSubscription(existing.value), secret: existing.value.secret }) as never;
    }
    deps.log.info('webhook subscription created', { webhookId: subscription.id, events: subscription.events });
    return json(c, 201, { ...publicSubscription(subscription), secret: subscription.secret }) as never;
  });

  app.openapi(
    listWebhooks,
    async (c) => json(c, 200, { items: (await deps.webhooks.listSubscriptions()).map(publicSubscription) }) as never,
  );

  app.openapi(getWebhook, async (c) => json(c, 200, publicSubscription((await find(c.req.valid('param').webhookId)).value)) as never);

  app.openapi(updateWebhook, async (c) => {
    const { webhookId } = c.req.valid('param');
    const input = c.req.valid('json');
    if (input.url !== undefined) checkUrl(input.url);
    const events = input.events === undefined ? undefined : checkEvents(input.events);
    const updated = await retryOnConflict(async () => {
      const current = await find(webhookId);
      const next: StoredSubscription = {
        ...current.value,
        ...(input.url !== undefined && { url: input.url }),
        ...(events !== undefined && { events }),
        ...(input.description !== undefined && { description: input.description }),
        ...(input.enabled !== undefined && { enabled: input.enabled }),
        updatedAt: deps.clock.now().toISOString(),
      };
      await deps.webhooks.putSubscription(next, current.version);
      return next;
    });
    return json(c, 200, publicSubscription(updated)) as never;
  });

  app.openapi(deleteWebhook, async (c) => {
    const { webhookId } = c.req.valid('param');
    await retryOnConflict(async () => {
      const current = await find(webhookId);
      await deps.webhooks.deleteSubscription(webhookId, current.version);
    });
    return new Response(null, { status: 204 }) as never;
  });

  app.openapi(listDeliveries, async (c) => {
    const { webhookId } = c.req.valid('param');
    const { limit, cursor } = c.req.valid('query');
    await find(webhookId);
    return json(c, 200, await deps.webhooks.listDeliveries(webhookId, limit, cursor)) as never;
  });

  app.openapi(redeliverRoute, async (c) => {
    const { webhookId, deliveryId } = c.req.valid('param');
    await find(webhookId);
    const delivery = await redeliver({ webhooks: deps.webhooks, clock: deps.clock, deliveries: deps.deliveries }, webhookId, deliveryId);
    if (!delivery) throw new ApiError('not_found', `No delivery ${deliveryId} of webhook ${webhookId}`);
    const { body: _body, ...shown } = delivery;
    return json(c, 202, DeliverySchema.parse(shown)) as never;
  });
};
