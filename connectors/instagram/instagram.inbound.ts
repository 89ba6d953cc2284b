/**
 * The Instagram connector's inbound part: its accounts and webhook protocol, and nothing the webhook function
 * does not run (the sender, media downloads, development credentials, the sandbox), so its bundle stays lean.
 */
import type { InboundConnector } from '../connector.ts';
import { metaWebhookHandshake, verifyMetaWebhook } from '../meta/meta.verify.ts';
import { INSTAGRAM_ACCOUNT } from './instagram.account.ts';
import { normalizeInstagramWebhook } from './instagram.normalize.ts';
import { parseInstagramWebhook, type InstagramWebhook } from './instagram.schema.ts';

export const INSTAGRAM_INBOUND: InboundConnector<InstagramWebhook> = {
  ...INSTAGRAM_ACCOUNT,
  handshake: metaWebhookHandshake,
  verify: verifyMetaWebhook,
  parse: parseInstagramWebhook,
  normalize: normalizeInstagramWebhook,
};
