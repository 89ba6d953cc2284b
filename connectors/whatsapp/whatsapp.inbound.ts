/**
 * The WhatsApp connector's inbound part: its accounts and webhook protocol, and nothing the webhook function
 * does not run (the sender, media downloads, development credentials, the sandbox), so its bundle stays lean.
 */
import type { InboundConnector } from '../connector.ts';
import { metaWebhookHandshake, verifyMetaWebhook } from '../meta/meta.verify.ts';
import { WHATSAPP_ACCOUNT } from './whatsapp.account.ts';
import { normalizeWhatsAppWebhook } from './whatsapp.normalize.ts';
import { parseWhatsAppWebhook, type WhatsAppWebhook } from './whatsapp.schema.ts';

export const WHATSAPP_INBOUND: InboundConnector<WhatsAppWebhook> = {
  ...WHATSAPP_ACCOUNT,
  handshake: metaWebhookHandshake,
  verify: verifyMetaWebhook,
  parse: parseWhatsAppWebhook,
  normalize: normalizeWhatsAppWebhook,
};
