/**
 * The LINE connector's inbound part: its accounts and webhook protocol, and nothing the webhook function
 * does not run (the sender, media downloads, development credentials, the sandbox), so its bundle stays lean.
 */
import type { InboundConnector } from '../connector.ts';
import { LINE_ACCOUNT } from './line.account.ts';
import { normalizeLineWebhook } from './line.normalize.ts';
import { parseLineWebhook, type LineWebhook } from './line.schema.ts';
import { verifyLineWebhook } from './line.verify.ts';

export const LINE_INBOUND: InboundConnector<LineWebhook> = {
  ...LINE_ACCOUNT,
  verify: verifyLineWebhook,
  parse: parseLineWebhook,
  normalize: normalizeLineWebhook,
};
