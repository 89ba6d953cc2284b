/**
 * Proactive messages, one at a time: notifications (`POST /v1/notifications`, checked against the messaging window,
 * the contact's consent and the template registry before they are queued), their status and redrive; the consent
 * ledger; the template registry (registered, or read from the provider); and an account's push usage.
 */
import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { ChannelSchema } from '../../domain/content.ts';
import { MessageTagSchema, PurposeSchema } from '../../domain/model.ts';
import {
  CONSENT_STATUSES,
  ConsentEntrySchema,
  consentAtSend,
  consentEntryId,
  consentStatesOf,
  currentConsent,
  recordConsent,
} from '../../domain/delivery/consent.ts';
import {
  notificationOf,
  NotificationSchema,
  planNotification,
  proactiveDeps,
  queueNotification,
  type ProactiveDeps,
  type Refusal,
} from '../../domain/delivery/notifications.ts';
import { requeue } from '../../domain/delivery/outbound.ts';
import { RecipientError, RecipientRefSchema, resolveRecipient } from '../../domain/delivery/recipients.ts';
import { TemplateSchema, TEMPLATE_BUTTON_TYPES, type Template } from '../../domain/delivery/templates.ts';
import type { Actor } from '../../domain/conversations/model.ts';
import { newMessageId } from '../../domain/message-ids.ts';
import { ProviderError } from '../../domain/provider-errors.ts';
import { NEW_RECORD, retryOnConflict } from '../../domain/shared/store.ts';
import { IsoInstantSchema, millis } from '../../domain/shared/time.ts';
import { ApiError } from '../errors.ts';
import { CursorSchema, json, jsonBody, jsonResponse, LimitSchema, route, type ApiContext } from '../kit.ts';
import { OutboundContentSchema } from '../schemas.ts';
import type { Api, ApiDeps } from '../deps.ts';
import { fastPath } from './messages.ts';

export const NotificationRequestSchema = z
  .strictObject({
    to: RecipientRefSchema.describe('A contact, or a channel identity (for WhatsApp, a phone number)'),
    content: OutboundContentSchema,
    purpose: PurposeSchema.describe(
      "`marketing` needs the contact's opt-in on the channel; `transactional` only the absence of an opt-out",
    ),
    channel: ChannelSchema.optional().describe('For a contact: the channel to write on; default: the one the customer wrote on last'),
    messageTag: MessageTagSchema.optional().describe(
      'A Meta message tag (Messenger, Instagram): `human_agent` reaches a customer up to 7 days after their last message',
    ),
  })
  .meta({ id: 'NotificationRequest' });

const ConsentRequestSchema = z
  .strictObject({
    to: RecipientRefSchema.describe('A contact, or a channel identity (created if Parley has not seen it: an opt-in collected elsewhere)'),
    channel: ChannelSchema.optional().describe('The channel it applies to; default: every channel (for a channel identity: its channel)'),
    purpose: PurposeSchema,
    status: z.enum(CONSENT_STATUSES),
    source: z.string().min(1).max(100).optional().describe('Where it was given: `web_form`, `checkout`, `support_call`…; default `api`'),
    at: IsoInstantSchema.optional().describe('When the contact gave or withdrew it (not later than now); default: now'),
  })
  .meta({ id: 'ConsentRequest' });

/**
 * How far ahead of this API's clock a consent's `at` may be (the integrator's clock running a little fast); it is
 * then recorded as now. The latest change decides, so a change dated in the future would outrank every opt-out the
 * customer writes until then.
 */
const CONSENT_CLOCK_SKEW_MS = 60_000;

const RecordedConsentSchema = ConsentEntrySchema.extend({
  current: z.boolean().describe('False when a later change of the same scope was recorded already: this one is history only'),
}).meta({ id: 'RecordedConsent' });

const ConsentLedgerSchema = z
  .object({
    current: z.array(ConsentEntrySchema).describe('The current state of each scope (purpose, channel or every channel)'),
    items: z.array(ConsentEntrySchema).describe('Every change, newest first'),
    nextCursor: z.string().optional(),
  })
  .meta({ id: 'ConsentLedger' });

const TemplateRequestSchema = TemplateSchema.omit({ source: true, updatedAt: true, accountId: true })
  .extend({
    accountId: z.string().min(1).max(64).optional().describe("The account it belongs to; default: the channel's default account"),
    buttons: z
      .array(z.object({ index: z.int().min(0).max(9), type: z.enum(TEMPLATE_BUTTON_TYPES), dynamic: z.boolean().default(false) }))
      .max(10)
      .default([]),
  })
  .strict()
  .meta({ id: 'TemplateRequest' });

const SyncRequestSchema = z
  .strictObject({
    channel: ChannelSchema,
    accountId: z.string().min(1).max(64).optional(),
    businessAccountId: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe("WhatsApp: the business account's id, when the account's settings do not name it"),
  })
  .meta({ id: 'TemplateSyncRequest' });

const NotificationParams = z.object({ notificationId: z.string().min(1).max(200).describe('A notification id') });

const postNotification = route({
  method: 'post',
  path: '/v1/notifications',
  operationId: 'sendNotification',
  summary: 'Write to a customer first: checked against the messaging window, consent and templates, then queued',
  tags: ['notifications'],
  scope: 'write',
  errors: [
    'invalid_request',
    'not_found',
    'channel_not_in_thread',
    'channel_unavailable',
    'unsupported_content',
    'outside_messaging_window',
    'no_consent',
    'invalid_template',
    'idempotency_key_reused',
    'idempotency_key_in_use',
  ],
  request: { body: jsonBody(NotificationRequestSchema) },
  responses: { 202: jsonResponse(NotificationSchema, 'The notification, `queued`') },
});

const getNotification = route({
  method: 'get',
  path: '/v1/notifications/{notificationId}',
  operationId: 'getNotification',
  summary: "A notification's status: queued, sent, delivered, read, or failed with the reason",
  tags: ['notifications'],
  scope: 'read',
  errors: ['not_found'],
  request: { params: NotificationParams },
  responses: { 200: jsonResponse(NotificationSchema, 'The notification') },
});

const retryNotification = route({
  method: 'post',
  path: '/v1/notifications/{notificationId}/retry',
  operationId: 'retryNotification',
  summary: 'Send a failed notification again (a redrive)',
  tags: ['notifications'],
  scope: 'write',
  errors: ['not_found', 'invalid_status_change', 'no_consent'],
  request: { params: NotificationParams },
  responses: { 202: jsonResponse(NotificationSchema, 'The notification, `queued` again') },
});

const postConsent = route({
  method: 'post',
  path: '/v1/consents',
  operationId: 'recordConsent',
  summary: "Record a contact's opt-in or opt-out; the ledger keeps every change with its source and time",
  tags: ['consents'],
  scope: 'write',
  errors: ['invalid_request', 'not_found', 'channel_not_in_thread'],
  request: { body: jsonBody(ConsentRequestSchema) },
  responses: { 201: jsonResponse(RecordedConsentSchema, 'The ledger entry') },
});

const getConsents = route({
  method: 'get',
  path: '/v1/consents',
  operationId: 'listConsents',
  summary:
    "A contact's consent: the current state of each scope (counting the contacts merged into it, as sending does), and the ledger of the contact's own changes",
  tags: ['consents'],
  scope: 'read',
  errors: ['invalid_request', 'invalid_cursor'],
  request: { query: z.object({ contactId: z.string().min(1).max(200), limit: LimitSchema, cursor: CursorSchema }) },
  responses: { 200: jsonResponse(ConsentLedgerSchema, "The contact's consent") },
});

const listTemplates = route({
  method: 'get',
  path: '/v1/templates',
  operationId: 'listTemplates',
  summary: "An account's registered message templates",
  tags: ['templates'],
  scope: 'read',
  request: { query: z.object({ channel: ChannelSchema, accountId: z.string().min(1).max(64).optional() }) },
  responses: { 200: jsonResponse(z.object({ items: z.array(TemplateSchema) }).meta({ id: 'TemplateList' }), 'By name and language') },
});

const putTemplate = route({
  method: 'post',
  path: '/v1/templates',
  operationId: 'registerTemplate',
  summary: 'Register (or replace) a template: its category, status and the parameters each component takes',
  tags: ['templates'],
  scope: 'admin',
  errors: ['invalid_request', 'channel_unavailable'],
  request: { body: jsonBody(TemplateRequestSchema) },
  responses: { 201: jsonResponse(TemplateSchema, 'The template as registered') },
});

const syncTemplates = route({
  method: 'post',
  path: '/v1/templates/sync',
  operationId: 'syncTemplates',
  summary: "Read an account's templates from its provider into the registry (WhatsApp)",
  tags: ['templates'],
  scope: 'admin',
  errors: ['invalid_request', 'channel_unavailable', 'templates_unavailable', 'unavailable'],
  request: { body: jsonBody(SyncRequestSchema) },
  responses: { 200: jsonResponse(z.object({ items: z.array(TemplateSchema) }).meta({ id: 'SyncedTemplates' }), 'The templates read') },
});

const getUsage = route({
  method: 'get',
  path: '/v1/usage/{channel}/{accountId}',
  operationId: 'getUsage',
  summary: "An account's sends counted against its provider's monthly quota (LINE pushes)",
  tags: ['notifications'],
  scope: 'read',
  request: {
    params: z.object({ channel: ChannelSchema, accountId: z.string().min(1).max(64) }),
    query: z.object({
      month: z
        .string()
        .regex(/^\d{4}-\d{2}$/)
        .optional()
        .describe('`YYYY-MM`, UTC; default: this month'),
    }),
  },
  responses: {
    200: jsonResponse(
      z.object({ channel: ChannelSchema, accountId: z.string(), month: z.string(), pushes: z.int().nonnegative() }).meta({ id: 'Usage' }),
      "The month's count",
    ),
  },
});

/** A refusal of the notification rules, as the API answers it. */
export const refusalError = (refusal: Refusal): ApiError =>
  new ApiError(refusal.code, refusal.message, refusal.details as Record<string, unknown> | undefined);

export const actorOf = (c: ApiContext): Actor => ({ type: 'api_key', id: c.get('principal').keyId });

/** The notification rules over the API's ports. */
export const rulesOf = (deps: ApiDeps): ProactiveDeps =>
  proactiveDeps({
    conversations: deps.conversations,
    delivery: deps.delivery,
    capabilities: deps.capabilities,
    account: deps.account,
    secrets: deps.secrets,
    accounts: deps.accounts,
    accountIds: deps.accountIds,
    retentionDays: deps.retentionDays,
  });

/** The account a request names, or the channel's default account's own id. */
const accountOrDefault = async (
  rules: ProactiveDeps,
  channel: z.infer<typeof ChannelSchema>,
  accountId: string | undefined,
): Promise<string> => accountId ?? (await rules.defaultAccounts(channel)).at(-1) ?? 'default';

export const registerNotificationRoutes = (app: Api, deps: ApiDeps): void => {
  const rules = rulesOf(deps);

  app.openapi(postNotification, async (c) => {
    const input = c.req.valid('json');
    const idempotency = c.get('idempotency');
    const by = actorOf(c);
    // With an Idempotency-Key, the id comes from the key and the first request's time: a request run again after
    // its first run stopped halfway finds the message it wrote.
    const at = idempotency ? new Date(idempotency.firstSeenAt) : deps.clock.now();
    const key = idempotency?.key ?? randomUUID();
    const plan = await planNotification(rules, {
      to: input.to,
      channel: input.channel,
      content: input.content,
      purpose: input.purpose,
      messageTag: input.messageTag,
      by,
      at: at.toISOString(),
      messageId: () => newMessageId(at, at, by.id ?? '', key, 'notification'),
    });
    if (plan.kind === 'refused') throw refusalError(plan.refusal);
    const message = await queueNotification(rules, plan, by, { pointer: true });
    if (message.status === 'queued') await fastPath(deps, message);
    return json(c, 202, notificationOf(message)) as never;
  });

  const findNotification = async (id: string) => {
    const pointer = await deps.delivery.getNotification(id);
    const message = pointer && (await deps.conversations.getMessage(pointer.threadId, id));
    if (!message) throw new ApiError('not_found', `No notification ${id}`);
    return message;
  };

  app.openapi(getNotification, async (c) => {
    const { notificationId } = c.req.valid('param');
    return json(c, 200, notificationOf((await findNotification(notificationId)).value)) as never;
  });

  app.openapi(retryNotification, async (c) => {
    const { notificationId } = c.req.valid('param');
    const message = await findNotification(notificationId);
    if (message.value.status !== 'failed')
      throw new ApiError('invalid_status_change', `Only a failed notification can be sent again; this one is ${message.value.status}`);
    const consent = await consentAtSend(deps, message.value);
    if (consent?.kind === 'refused') throw new ApiError('no_consent', consent.reason);
    const queued = await requeue(message, { store: deps.conversations, clock: deps.clock, log: deps.log });
    return json(c, 202, notificationOf(queued?.value ?? message.value)) as never;
  });

  app.openapi(postConsent, async (c) => {
    const input = c.req.valid('json');
    const idempotency = c.get('idempotency');
    const by = actorOf(c);
    const now = idempotency ? idempotency.firstSeenAt : deps.clock.now().toISOString();
    if (input.at !== undefined && millis(input.at) > millis(now) + CONSENT_CLOCK_SKEW_MS) {
      throw new ApiError(
        'invalid_request',
        `at (${input.at}) is in the future: a consent is recorded when it was given or withdrawn, not before`,
      );
    }
    let contactId: string;
    try {
      const recipient = await resolveRecipient(rules, input.to, { create: true, by, at: now });
      contactId = recipient.contact.id;
    } catch (error) {
      if (error instanceof RecipientError) throw new ApiError(error.code, error.message);
      throw error;
    }
    const channel = input.channel ?? ('channel' in input.to ? input.to.channel : undefined);
    const at = input.at === undefined || millis(input.at) > millis(now) ? now : input.at;
    const recorded = await recordConsent(deps.delivery, {
      id: consentEntryId(at, input.status, by.id ?? '', idempotency?.key ?? randomUUID()),
      contactId,
      ...(channel !== undefined && { channel }),
      purpose: input.purpose,
      status: input.status,
      source: input.source ?? 'api',
      by,
      at,
      recordedAt: now,
    });
    return json(c, 201, { ...recorded.entry, current: recorded.current }) as never;
  });

  app.openapi(getConsents, async (c) => {
    const { contactId, limit, cursor } = c.req.valid('query');
    const contact = await deps.conversations.getContact(contactId);
    const [states, page] = await Promise.all([
      // What decides a send: the contact's own states and those of the contacts merged into it.
      contact ? consentStatesOf(deps, contact.value) : deps.delivery.listConsentStates(contactId),
      deps.delivery.listConsentEntries(contactId, limit, cursor),
    ]);
    return json(c, 200, {
      current: currentConsent(states),
      items: page.items,
      ...(page.nextCursor && { nextCursor: page.nextCursor }),
    }) as never;
  });

  app.openapi(listTemplates, async (c) => {
    const { channel, accountId } = c.req.valid('query');
    const account = await accountOrDefault(rules, channel, accountId);
    const templates = await deps.delivery.listTemplates(channel, account);
    return json(c, 200, { items: templates.map((t) => t.value) }) as never;
  });

  app.openapi(putTemplate, async (c) => {
    const input = c.req.valid('json');
    const capabilities = deps.capabilities(input.channel);
    if (!capabilities) throw new ApiError('channel_unavailable', `${input.channel} is not enabled on this deployment`);
    if (!capabilities.outboundTypes.includes('template'))
      throw new ApiError('invalid_request', `${input.channel} has no message templates`);
    const template: Template = {
      ...input,
      accountId: await accountOrDefault(rules, input.channel, input.accountId),
      source: 'api',
      updatedAt: deps.clock.now().toISOString(),
    };
    await putTemplates(deps, [template]);
    return json(c, 201, template) as never;
  });

  app.openapi(syncTemplates, async (c) => {
    const input = c.req.valid('json');
    const capabilities = deps.capabilities(input.channel);
    if (!capabilities) throw new ApiError('channel_unavailable', `${input.channel} is not enabled on this deployment`);
    const accountId = await accountOrDefault(rules, input.channel, input.accountId);
    const credentials = (await deps.secrets?.get(input.channel, accountId)) ?? {};
    const settings = input.businessAccountId !== undefined ? { ...credentials, businessAccountId: input.businessAccountId } : credentials;
    let templates: Template[] | undefined;
    try {
      templates = await deps.providerTemplates?.(input.channel, accountId, settings);
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      throw new ApiError(
        error.kind === 'retryable' || error.kind === 'rate_limited' ? 'unavailable' : 'templates_unavailable',
        `The provider did not list the templates: ${error.message}`,
      );
    }
    if (templates === undefined) {
      throw new ApiError(
        'templates_unavailable',
        `${input.channel} templates cannot be read from the provider here (WhatsApp needs the account's businessAccountId)`,
      );
    }
    await putTemplates(deps, templates);
    return json(c, 200, { items: templates }) as never;
  });

  app.openapi(getUsage, async (c) => {
    const { channel, accountId } = c.req.valid('param');
    const month = c.req.valid('query').month ?? deps.clock.now().toISOString().slice(0, 7);
    const usage = await deps.delivery.getUsage(channel, accountId, month);
    return json(c, 200, { channel, accountId, month, pushes: usage.pushes }) as never;
  });
};

/** Writes templates into the registry, each replacing the one of its name and language. */
const putTemplates = async (deps: ApiDeps, templates: readonly Template[]): Promise<void> => {
  for (const template of templates) {
    await retryOnConflict(async () => {
      const existing = await deps.delivery.getTemplate(template);
      await deps.delivery.commit([{ kind: 'template', op: 'put', value: template, version: existing?.version ?? NEW_RECORD }]);
    });
  }
};
