/**
 * The parts of the WhatsApp Cloud API webhook that Parley reads, as zod schemas, and the parser that turns
 * a webhook body into one. Only the envelope (`entry[] × changes[]`) is checked here; every message,
 * status and contact inside a change is read on its own by the normalizer, so one element of a shape
 * Parley does not know never costs the others in the same batch. Every object is loose: Meta adds fields
 * with most Graph versions.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages
 */
import * as z from 'zod';
import type { ParseResult } from '../connector.ts';

/** The `object` of every WhatsApp Business Account webhook. */
export const WHATSAPP_OBJECT = 'whatsapp_business_account';

export const WhatsAppChangeSchema = z.looseObject({ field: z.string(), value: z.unknown() });

/** `entry[].id` is the WABA id; WhatsApp entries have no `time`. */
export const WhatsAppEntrySchema = z.looseObject({
  id: z.string().optional(),
  changes: z.array(WhatsAppChangeSchema).default([]),
});

export const WhatsAppWebhookSchema = z.looseObject({
  object: z.literal(WHATSAPP_OBJECT),
  entry: z.array(WhatsAppEntrySchema),
});
export type WhatsAppWebhook = z.infer<typeof WhatsAppWebhookSchema>;

/** `metadata` names the business number the change belongs to: the account every event is routed by. */
export const WhatsAppMetadataSchema = z.looseObject({
  display_phone_number: z.string().optional(),
  phone_number_id: z.string().min(1),
});

/** The `value` of a `messages` or `smb_message_echoes` change; elements stay unknown until read one by one. */
export const WhatsAppValueSchema = z.looseObject({
  metadata: WhatsAppMetadataSchema.optional(),
  contacts: z.array(z.unknown()).optional(),
  messages: z.array(z.unknown()).optional(),
  statuses: z.array(z.unknown()).optional(),
  message_echoes: z.array(z.unknown()).optional(),
  errors: z.array(z.unknown()).optional(),
});
export type WhatsAppValue = z.infer<typeof WhatsAppValueSchema>;

/** @see https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes */
export const WhatsAppErrorSchema = z.looseObject({
  code: z.number().optional(),
  title: z.string().optional(),
  message: z.string().optional(),
  error_data: z.looseObject({ details: z.string().optional() }).optional(),
});
export type WhatsAppError = z.infer<typeof WhatsAppErrorSchema>;

/** `wa_id` is absent for business-scoped user ids (2026), which carry `user_id` instead. */
export const WhatsAppContactProfileSchema = z.looseObject({
  wa_id: z.string().optional(),
  user_id: z.string().optional(),
  profile: z.looseObject({ name: z.string().optional(), username: z.string().optional() }).optional(),
});
export type WhatsAppContactProfile = z.infer<typeof WhatsAppContactProfileSchema>;

/** Media arrives by id (downloaded in two steps through the Graph API); `url` only in recent versions. */
export const WhatsAppMediaSchema = z.looseObject({
  id: z.string().min(1),
  mime_type: z.string().optional(),
  sha256: z.string().optional(),
  caption: z.string().optional(),
  filename: z.string().optional(),
  url: z.string().optional(),
  voice: z.boolean().optional(),
  animated: z.boolean().optional(),
});
export type WhatsAppMedia = z.infer<typeof WhatsAppMediaSchema>;

/** @see https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/contacts */
export const WhatsAppSharedContactSchema = z.looseObject({
  name: z
    .looseObject({ formatted_name: z.string().optional(), first_name: z.string().optional(), last_name: z.string().optional() })
    .optional(),
  phones: z.array(z.looseObject({ phone: z.string().optional(), wa_id: z.string().optional() })).optional(),
});
export type WhatsAppSharedContact = z.infer<typeof WhatsAppSharedContactSchema>;

const replyRow = z.looseObject({ id: z.string(), title: z.string().optional(), description: z.string().optional() });

/**
 * One inbound message. `type` stays a plain string so a type Meta adds later reaches the normalizer (as
 * `unsupported`) instead of failing the message.
 */
export const WhatsAppMessageSchema = z.looseObject({
  id: z.string().min(1),
  from: z.string().min(1).optional(),
  /** Business-scoped user id, sent instead of (or beside) `from` from 2026. */
  from_user_id: z.string().min(1).optional(),
  /** Echoes only: the customer the business wrote to. */
  to: z.string().min(1).optional(),
  group_id: z.string().min(1).optional(),
  timestamp: z.string().optional(),
  type: z.string(),
  context: z
    .looseObject({
      id: z.string().optional(),
      from: z.string().optional(),
      forwarded: z.boolean().optional(),
      frequently_forwarded: z.boolean().optional(),
    })
    .optional(),
  text: z.looseObject({ body: z.string() }).optional(),
  image: WhatsAppMediaSchema.optional(),
  video: WhatsAppMediaSchema.optional(),
  audio: WhatsAppMediaSchema.optional(),
  document: WhatsAppMediaSchema.optional(),
  sticker: WhatsAppMediaSchema.optional(),
  location: z
    .looseObject({ latitude: z.number(), longitude: z.number(), name: z.string().optional(), address: z.string().optional() })
    .optional(),
  contacts: z.array(z.unknown()).optional(),
  interactive: z.looseObject({ type: z.string(), button_reply: replyRow.optional(), list_reply: replyRow.optional() }).optional(),
  button: z.looseObject({ payload: z.string().optional(), text: z.string().optional() }).optional(),
  reaction: z.looseObject({ message_id: z.string().min(1), emoji: z.string().optional() }).optional(),
  system: z.looseObject({ type: z.string().optional(), body: z.string().optional() }).optional(),
  edit: z.looseObject({ original_message_id: z.string().min(1), message: z.unknown() }).optional(),
  revoke: z.looseObject({ original_message_id: z.string().min(1) }).optional(),
  errors: z.array(WhatsAppErrorSchema).optional(),
});
export type WhatsAppMessage = z.infer<typeof WhatsAppMessageSchema>;

/** @see https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/status */
export const WhatsAppStatusSchema = z.looseObject({
  id: z.string().min(1),
  status: z.string(),
  timestamp: z.string().optional(),
  recipient_id: z.string().optional(),
  errors: z.array(WhatsAppErrorSchema).optional(),
});
export type WhatsAppStatus = z.infer<typeof WhatsAppStatusSchema>;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Parses a webhook body. Not JSON is malformed (400); JSON that is not a WhatsApp Business Account
 * notification is ignored with 200, since Meta retries failed deliveries for up to 7 days.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/overview
 */
export const parseWhatsAppWebhook = (rawBody: Buffer): ParseResult<WhatsAppWebhook> => {
  let json: unknown;
  try {
    json = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return { kind: 'malformed', reason: 'body is not JSON' };
  }
  if (!isRecord(json)) return { kind: 'ignored', reason: 'not a WhatsApp notification: body is not a JSON object' };
  if (json['object'] !== WHATSAPP_OBJECT) {
    return { kind: 'ignored', reason: `not a WhatsApp notification: object is ${JSON.stringify(json['object'] ?? null)}` };
  }
  const result = WhatsAppWebhookSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue ? issue.path.map(String).join('.') : '';
    return { kind: 'ignored', reason: `WhatsApp notification is not readable: ${where ? `${where}: ` : ''}${issue?.message ?? 'invalid'}` };
  }
  return { kind: 'ok', payload: result.data };
};
