/**
 * What a LINE account is, apart from the rest of the connector: its credential names, where the default
 * account's come from locally, and the account id credentials name. Functions that need only this (the
 * integrator API, the sender, the media copier) do not bundle the inbound protocol code.
 */
import type { ChannelAccount } from '../connector.ts';
import { resolveLineBotUserId } from './line.bot-info.ts';

export const LINE_ACCOUNT: ChannelAccount = {
  channel: 'line',
  defaultApiBaseUrl: 'https://api.line.me',
  credentialNames: { inbound: ['channelSecret'], outbound: ['channelAccessToken'] },
  environment: {
    credentials: { channelSecret: 'LINE_CHANNEL_SECRET', channelAccessToken: 'LINE_CHANNEL_ACCESS_TOKEN' },
    apiBaseUrl: 'LINE_API_BASE_URL',
  },
  // A channel secret names no bot: the access token asks LINE which bot it is (the webhooks' `destination`).
  accountIdOf: () => undefined,
  resolveAccountId: resolveLineBotUserId,
};
