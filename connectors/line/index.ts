/**
 * The LINE Messaging API connector: signed webhooks carrying batches of events, and a JSON API for sending
 * by push (any time) or reply (once, within a minute of an event).
 * @see https://developers.line.biz/en/reference/messaging-api/
 */
import { randomBytes } from 'node:crypto';
import type { Connector } from '../connector.ts';
import { LINE_INBOUND } from './line.inbound.ts';
import { downloadLineMedia } from './line.media.ts';
import { createLineSandbox } from './line.sandbox.ts';
import type { LineWebhook } from './line.schema.ts';
import { lineSender } from './line.sender.ts';

export type { LineWebhook } from './line.schema.ts';

/**
 * Credentials: `channelSecret` verifies `x-line-signature`; `channelAccessToken` sends. Neither names the
 * bot, so {@link Connector.accountIdOf} says nothing; {@link Connector.resolveAccountId} asks LINE with the
 * token (`GET /v2/bot/info`) for the bot's user id, which webhook bodies carry as `destination`. The webhook
 * path gives it to `normalize` as the account, and a body naming another bot yields no event.
 */
export const lineConnector: Connector<LineWebhook> = {
  ...LINE_INBOUND,
  // Shaped like the real thing: a channel secret of 32 hex digits, a long-lived token of 172 base64 characters.
  devCredentials: () => ({
    channelSecret: randomBytes(16).toString('hex'),
    channelAccessToken: randomBytes(129).toString('base64'),
  }),
  sender: lineSender,
  downloadMedia: downloadLineMedia,
  sandbox: createLineSandbox(),
};
