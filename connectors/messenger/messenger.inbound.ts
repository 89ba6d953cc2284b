/**
 * The Messenger connector's inbound part: its accounts and webhook protocol, and nothing the webhook function
 * does not run (the sender, media downloads, development credentials, the sandbox), so its bundle stays lean.
 */
import type { InboundConnector } from '../connector.ts';
import { metaWebhookHandshake, verifyMetaWebhook } from '../meta/meta.verify.ts';
import { MESSENGER_ACCOUNT } from './messenger.account.ts';
import { normalizeMessengerWebhook } from './messenger.normalize.ts';
import { parseMessengerWebhook, type MessengerWebhook } from './messenger.schema.ts';

export const MESSENGER_INBOUND: InboundConnector<MessengerWebhook> = {
  ...MESSENGER_ACCOUNT,
  handshake: metaWebhookHandshake,
  verify: verifyMetaWebhook,
  parse: parseMessengerWebhook,
  normalize: normalizeMessengerWebhook,
};
