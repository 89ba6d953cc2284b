/**
 * Campaigns: one template (with per-recipient parameters) or one content to many recipients, paced, optionally
 * scheduled, with counts per status, per-recipient states, and cancellation. A campaign of more recipients than
 * one request carries is made as a draft, filled in batches, then started.
 */
import * as z from 'zod';
import { ChannelSchema, ContentSchema, type OutboundContent } from '../../domain/content.ts';
import {
  addRecipients,
  cancelCampaign,
  CampaignError,
  countsOf,
  createCampaign,
  MAX_RECIPIENTS_PER_REQUEST,
  RECIPIENT_STATES,
  CampaignRecipientSchema,
  RecipientParametersSchema,
  startCampaign,
  type Campaign,
  type CampaignStartDeps,
} from '../../domain/delivery/campaigns.ts';
import { deterministicId, randomId } from '../../domain/ids.ts';
import { PurposeSchema } from '../../domain/model.ts';
import { IsoInstantSchema, millis } from '../../domain/shared/time.ts';
import { ApiError } from '../errors.ts';
import { json, jsonBody, jsonResponse, route } from '../kit.ts';
import { OutboundContentSchema } from '../schemas.ts';
import type { Api, ApiDeps } from '../deps.ts';
import { actorOf } from './notifications.ts';

/** A template's name, language and parameters: the template content without its `type`. */
const templateMember = ContentSchema.options.find((option) => option.shape.type.value === 'template');
if (!templateMember) throw new Error('ContentSchema has no template member');
const CampaignTemplateSchema = (templateMember as unknown as z.ZodObject<z.ZodRawShape>)
  .omit({ type: true })
  .meta({ id: 'CampaignTemplate' });

const CampaignRecipientRequestSchema = z
  .union([
    z.strictObject({
      channel: ChannelSchema,
      externalUserId: z.string().min(1).max(256),
      accountId: z.string().min(1).max(64).optional(),
      parameters: RecipientParametersSchema.optional(),
    }),
    z.strictObject({ contactId: z.string().min(1).max(200), parameters: RecipientParametersSchema.optional() }),
  ])
  .meta({ id: 'CampaignRecipientRequest', description: 'A recipient (as `to` of a notification), with its own template parameters' });

const RecipientsSchema = z.array(CampaignRecipientRequestSchema).max(MAX_RECIPIENTS_PER_REQUEST);

const CreateCampaignRequestSchema = z
  .strictObject({
    name: z.string().min(1).max(200).optional(),
    template: CampaignTemplateSchema.optional().describe(
      "A WhatsApp template (name, language, parameters); each recipient's `parameters` replace its own",
    ),
    content: OutboundContentSchema.optional().describe('Or one content for every recipient'),
    purpose: PurposeSchema,
    channel: ChannelSchema.optional().describe('For contacts: the channel to write on; default: the one each wrote on last'),
    recipients: RecipientsSchema.describe(
      `Up to ${MAX_RECIPIENTS_PER_REQUEST} per request; more with POST /v1/campaigns/{id}/recipients on a draft`,
    ),
    ratePerSecond: z
      .number()
      .min(0.01)
      .max(1000)
      .default(20)
      .describe("Recipients dispatched per second (each account's provider pace applies too)"),
    scheduledAt: IsoInstantSchema.optional().describe('When to start; default: now'),
    draft: z.boolean().default(false).describe('Keep it a draft, to add recipients, until POST /v1/campaigns/{id}/start'),
  })
  .refine((r) => (r.template === undefined) !== (r.content === undefined), {
    message: 'give a template or a content, exactly one',
    path: ['template'],
  })
  .refine((r) => r.draft || r.recipients.length > 0, { message: 'a campaign that starts now needs recipients', path: ['recipients'] })
  .meta({ id: 'CreateCampaignRequest' });

const CountsSchema = z
  .object({ total: z.int().nonnegative(), ...Object.fromEntries(RECIPIENT_STATES.map((s) => [s, z.int().nonnegative()])) } as Record<
    string,
    z.ZodInt
  >)
  .meta({ id: 'CampaignCounts', description: 'Recipients per state; `pending` have not been dispatched yet' });

const CampaignViewSchema = z
  .object({
    id: z.string(),
    name: z.string().optional(),
    status: z.enum(['draft', 'scheduled', 'running', 'completed', 'cancelled']),
    purpose: PurposeSchema,
    channel: ChannelSchema.optional(),
    ratePerSecond: z.number(),
    scheduledAt: IsoInstantSchema.optional(),
    createdAt: IsoInstantSchema,
    startedAt: IsoInstantSchema.optional(),
    completedAt: IsoInstantSchema.optional().describe('When every recipient had been dispatched'),
    cancelledAt: IsoInstantSchema.optional(),
    counts: CountsSchema,
  })
  .meta({ id: 'Campaign' });

const CampaignParams = z.object({ campaignId: z.string().min(1).max(200).describe('A campaign id') });

const createRoute = route({
  method: 'post',
  path: '/v1/campaigns',
  operationId: 'createCampaign',
  summary: 'A campaign: one message to many recipients, paced, once each, optionally scheduled',
  tags: ['campaigns'],
  scope: 'write',
  errors: ['invalid_request', 'unsupported_content', 'idempotency_key_reused', 'idempotency_key_in_use'],
  request: { body: jsonBody(CreateCampaignRequestSchema) },
  responses: { 202: jsonResponse(CampaignViewSchema, 'The campaign') },
});

const getRoute = route({
  method: 'get',
  path: '/v1/campaigns/{campaignId}',
  operationId: 'getCampaign',
  summary: 'A campaign, with its counts per recipient state',
  tags: ['campaigns'],
  scope: 'read',
  errors: ['not_found'],
  request: { params: CampaignParams },
  responses: { 200: jsonResponse(CampaignViewSchema, 'The campaign') },
});

const cancelRoute = route({
  method: 'post',
  path: '/v1/campaigns/{campaignId}/cancel',
  operationId: 'cancelCampaign',
  summary: 'Cancel a campaign: recipients not sent to yet get nothing',
  tags: ['campaigns'],
  scope: 'write',
  errors: ['not_found', 'invalid_status_change'],
  request: { params: CampaignParams },
  responses: { 200: jsonResponse(CampaignViewSchema, 'The campaign, cancelled') },
});

const addRoute = route({
  method: 'post',
  path: '/v1/campaigns/{campaignId}/recipients',
  operationId: 'addCampaignRecipients',
  summary: 'Add recipients to a draft campaign, after those it has',
  tags: ['campaigns'],
  scope: 'write',
  errors: ['not_found', 'invalid_request', 'invalid_status_change'],
  request: {
    params: CampaignParams,
    body: jsonBody(z.strictObject({ recipients: RecipientsSchema.min(1) }).meta({ id: 'AddRecipientsRequest' })),
  },
  responses: { 202: jsonResponse(CampaignViewSchema, 'The campaign') },
});

const startRoute = route({
  method: 'post',
  path: '/v1/campaigns/{campaignId}/start',
  operationId: 'startCampaign',
  summary: 'Start a draft campaign (at its scheduledAt, if it has one)',
  tags: ['campaigns'],
  scope: 'write',
  errors: ['not_found'],
  request: { params: CampaignParams },
  responses: { 202: jsonResponse(CampaignViewSchema, 'The campaign') },
});

const listRecipientsRoute = route({
  method: 'get',
  path: '/v1/campaigns/{campaignId}/recipients',
  operationId: 'listCampaignRecipients',
  summary: "A campaign's recipients with their states, in the order given",
  tags: ['campaigns'],
  scope: 'read',
  errors: ['not_found', 'invalid_request'],
  request: {
    params: CampaignParams,
    query: z.object({
      state: z.enum(RECIPIENT_STATES).optional(),
      from: z.coerce.number<string>().int().nonnegative().default(0).describe("The position to list from (the previous page's `next`)"),
      limit: z.coerce.number<string>().int().min(1).max(100).default(50),
    }),
  },
  responses: {
    200: jsonResponse(
      z
        .object({ items: z.array(CampaignRecipientSchema), next: z.int().optional().describe('Pass as `from` for the next page') })
        .meta({ id: 'CampaignRecipientPage' }),
      'One page',
    ),
  },
});

const split = (recipients: z.infer<typeof RecipientsSchema>) =>
  recipients.map(({ parameters, ...to }) => ({
    to: to as Parameters<typeof createCampaign>[1]['recipients'][number]['to'],
    ...(parameters !== undefined && { parameters }),
  }));

export const registerCampaignRoutes = (app: Api, deps: ApiDeps): void => {
  const startDeps: CampaignStartDeps = {
    store: deps.delivery,
    queue: deps.campaigns,
    scheduler: deps.scheduler,
    now: () => deps.clock.now(),
  };

  const view = async (campaign: Campaign) => {
    const counters = await deps.delivery.listCounters(campaign.id);
    const { id, name, status, purpose, channel, ratePerSecond, scheduledAt, createdAt, startedAt, completedAt, cancelledAt } = campaign;
    return {
      id,
      ...(name !== undefined && { name }),
      status,
      purpose,
      ...(channel !== undefined && { channel }),
      ratePerSecond,
      ...(scheduledAt !== undefined && { scheduledAt }),
      createdAt,
      ...(startedAt !== undefined && { startedAt }),
      ...(completedAt !== undefined && { completedAt }),
      ...(cancelledAt !== undefined && { cancelledAt }),
      counts: countsOf(campaign, counters),
    };
  };

  const rethrow = (error: unknown): never => {
    if (error instanceof CampaignError) throw new ApiError(error.code, error.message);
    throw error;
  };

  app.openapi(createRoute, async (c) => {
    const input = c.req.valid('json');
    const idempotency = c.get('idempotency');
    const by = actorOf(c);
    const at = idempotency ? idempotency.firstSeenAt : deps.clock.now().toISOString();
    const content: OutboundContent = input.template
      ? ({ type: 'template', ...input.template } as OutboundContent)
      : (input.content as OutboundContent);
    const channels = new Set(
      [input.channel, ...input.recipients.map((r) => ('channel' in r ? r.channel : undefined))].filter((c) => c !== undefined),
    );
    for (const channel of channels) {
      const capabilities = deps.capabilities(channel);
      if (!capabilities?.outboundTypes.includes(content.type)) {
        throw new ApiError(
          'unsupported_content',
          `${channel} cannot carry ${content.type} content${capabilities ? `; it can carry: ${capabilities.outboundTypes.join(', ')}` : ''}`,
        );
      }
    }
    const id = idempotency ? deterministicId('cmp', by.id ?? '', idempotency.key) : randomId('cmp');
    const campaign = await createCampaign(startDeps, {
      id,
      name: input.name,
      purpose: input.purpose,
      channel: input.channel,
      content,
      ratePerSecond: input.ratePerSecond,
      ...(input.scheduledAt !== undefined && millis(input.scheduledAt) > millis(at) && { scheduledAt: input.scheduledAt }),
      recipients: split(input.recipients),
      draft: input.draft,
      by,
      at,
    }).catch(rethrow);
    return json(c, 202, await view(campaign)) as never;
  });

  const find = async (id: string): Promise<Campaign> => {
    const campaign = await deps.delivery.getCampaign(id);
    if (!campaign) throw new ApiError('not_found', `No campaign ${id}`);
    return campaign.value;
  };

  app.openapi(getRoute, async (c) => json(c, 200, await view(await find(c.req.valid('param').campaignId))) as never);

  app.openapi(cancelRoute, async (c) => {
    const campaign = await cancelCampaign(deps.delivery, c.req.valid('param').campaignId, deps.clock.now().toISOString()).catch(rethrow);
    return json(c, 200, await view(campaign)) as never;
  });

  app.openapi(addRoute, async (c) => {
    const { recipients } = c.req.valid('json');
    const campaign = await addRecipients(
      deps.delivery,
      c.req.valid('param').campaignId,
      split(recipients),
      deps.clock.now().toISOString(),
    ).catch(rethrow);
    return json(c, 202, await view(campaign)) as never;
  });

  app.openapi(startRoute, async (c) => {
    const campaign = await startCampaign(startDeps, c.req.valid('param').campaignId, deps.clock.now().toISOString()).catch(rethrow);
    return json(c, 202, await view(campaign)) as never;
  });

  app.openapi(listRecipientsRoute, async (c) => {
    const { campaignId } = c.req.valid('param');
    const { state, from, limit } = c.req.valid('query');
    const campaign = await find(campaignId);
    // A cancelled campaign's undispatched recipients are cancelled, as its counts say.
    const cancelled = campaign.status === 'cancelled';
    const storeState = cancelled && (state === 'cancelled' || state === 'pending') ? undefined : state;
    const records = (await deps.delivery.listRecipients(campaignId, from, limit + 1, storeState)).map(({ value }) =>
      cancelled && value.state === 'pending' ? { ...value, state: 'cancelled' as const } : value,
    );
    const items = records.slice(0, limit).filter((r) => state === undefined || r.state === state);
    const next = records[limit]?.seq;
    return json(c, 200, { items, ...(next !== undefined && { next }) }) as never;
  });
};
