/**
 * WhatsApp message templates, read from the WhatsApp Business Account (`GET /{WABA-ID}/message_templates`) into
 * Parley's template registry: name, language, category, status, and the placeholders each component takes.
 * The account's credentials name its phone number, not its business account: the WABA id comes from the
 * account's `businessAccountId` setting, or from the sync request.
 * @see https://developers.facebook.com/docs/graph-api/reference/whats-app-business-account/message_templates/
 */
import * as z from 'zod';
import type { Template } from '../../domain/delivery/templates.ts';
import { placeholdersOf } from '../../domain/delivery/templates.ts';
import { AuthenticationError } from '../../domain/provider-errors.ts';
import { networkFailure, tryParseJson } from '../http.ts';
import type { SendContext } from '../connector.ts';
import { GRAPH_API_VERSION, GraphErrorBodySchema } from '../meta/meta.graph-api.ts';
import { classifyWhatsAppError, WHATSAPP_TIMEOUT_MS } from './whatsapp.api.ts';

const ComponentSchema = z.looseObject({
  type: z.string(),
  format: z.string().optional(),
  text: z.string().optional(),
  buttons: z.array(z.looseObject({ type: z.string(), text: z.string().optional(), url: z.string().optional() })).optional(),
});
const GraphTemplateSchema = z.looseObject({
  name: z.string(),
  language: z.string(),
  category: z.string(),
  status: z.string(),
  parameter_format: z.string().optional(),
  components: z.array(ComponentSchema).default([]),
});
const PageSchema = z.looseObject({
  data: z.array(z.unknown()),
  paging: z.looseObject({ cursors: z.looseObject({ after: z.string().optional() }).optional(), next: z.string().optional() }).optional(),
});

const STATES: Readonly<Record<string, Template['status']>> = {
  APPROVED: 'approved',
  PENDING: 'pending',
  IN_APPEAL: 'pending',
  REJECTED: 'rejected',
  PAUSED: 'paused',
  LIMIT_EXCEEDED: 'paused',
  DISABLED: 'disabled',
  PENDING_DELETION: 'disabled',
  DELETED: 'disabled',
  ARCHIVED: 'disabled',
};
const BUTTONS: Readonly<Record<string, Template['buttons'][number]['type']>> = {
  QUICK_REPLY: 'quick_reply',
  URL: 'url',
  PHONE_NUMBER: 'phone_number',
  COPY_CODE: 'copy_code',
  OTP: 'otp',
  FLOW: 'flow',
};

/** One template of the Graph API's list, as the registry keeps it; undefined for one Parley cannot use. */
export const templateOfGraph = (raw: unknown, accountId: string, at: string): Template | undefined => {
  const parsed = GraphTemplateSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  const graph = parsed.data;
  const category = graph.category.toLowerCase();
  if (category !== 'marketing' && category !== 'utility' && category !== 'authentication') return undefined;
  if (!/^[a-z0-9_]{1,512}$/.test(graph.name) || !/^[a-z]{2,3}(_[A-Za-z0-9]{2,8})?$/.test(graph.language)) return undefined;
  const header = graph.components.find((c) => c.type.toUpperCase() === 'HEADER');
  const body = graph.components.find((c) => c.type.toUpperCase() === 'BODY');
  const buttons = graph.components.find((c) => c.type.toUpperCase() === 'BUTTONS')?.buttons ?? [];
  const headerFormat = header?.format?.toLowerCase();
  const bodyPlaceholders = placeholdersOf(body?.text ?? '');
  const named = graph.parameter_format?.toUpperCase() === 'NAMED' || bodyPlaceholders.named.length > 0;
  return {
    channel: 'whatsapp',
    accountId,
    name: graph.name,
    language: graph.language,
    category,
    status: STATES[graph.status.toUpperCase()] ?? 'disabled',
    ...(header &&
      (headerFormat === 'text' ||
        headerFormat === 'image' ||
        headerFormat === 'video' ||
        headerFormat === 'document' ||
        headerFormat === 'location') && {
        header: {
          format: headerFormat,
          // A text header takes a parameter only with a placeholder; a media or location header always does.
          parameters:
            headerFormat === 'text'
              ? placeholdersOf(header.text ?? '').positional > 0 || placeholdersOf(header.text ?? '').named.length > 0
                ? 1
                : 0
              : 1,
        },
      }),
    body: named ? { kind: 'named', names: [...bodyPlaceholders.named] } : { kind: 'positional', count: bodyPlaceholders.positional },
    buttons: buttons.slice(0, 10).map((button, index) => ({
      index,
      type: BUTTONS[button.type.toUpperCase()] ?? 'other',
      dynamic: button.type.toUpperCase() === 'URL' && /\{\{\s*\w+\s*\}\}/.test(button.url ?? ''),
    })),
    source: 'provider',
    updatedAt: at,
  };
};

/** Every template of a WhatsApp Business Account, page by page. Throws a provider error on refusal. */
export const fetchWhatsAppTemplates = async (
  accountId: string,
  businessAccountId: string,
  context: Pick<SendContext, 'apiBaseUrl' | 'credentials' | 'fetch'>,
  at: string,
): Promise<Template[]> => {
  const token = context.credentials['accessToken'];
  if (!token) throw new AuthenticationError('WhatsApp access token is not configured');
  const templates: Template[] = [];
  const base = `${context.apiBaseUrl.replace(/\/+$/, '')}/${GRAPH_API_VERSION}/${encodeURIComponent(businessAccountId)}/message_templates`;
  let after: string | undefined;
  for (let pages = 0; pages < 50; pages++) {
    const url = `${base}?fields=name,language,category,status,parameter_format,components&limit=100${after ? `&after=${encodeURIComponent(after)}` : ''}`;
    let response: Response;
    let text: string;
    try {
      response = await context.fetch(url, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(WHATSAPP_TIMEOUT_MS),
      });
      text = await response.text();
    } catch (error) {
      throw networkFailure('WhatsApp message_templates', error, WHATSAPP_TIMEOUT_MS);
    }
    const json = tryParseJson(text);
    if (!response.ok) {
      const error = GraphErrorBodySchema.safeParse(json);
      throw classifyWhatsAppError(response.status, error.success ? error.data : undefined, response.headers.get('retry-after'));
    }
    const page = PageSchema.parse(json);
    for (const raw of page.data) {
      const template = templateOfGraph(raw, accountId, at);
      if (template) templates.push(template);
    }
    after = page.paging?.next ? page.paging.cursors?.after : undefined;
    if (!after) break;
  }
  return templates;
};
