/**
 * What a Telegram account is, apart from the rest of the connector: its credential names, where the default
 * account's come from locally, and the account id credentials name. Functions that need only this (the
 * integrator API, the sender, the media copier) do not bundle the inbound protocol code.
 */
import type { ChannelAccount } from '../connector.ts';
import { botIdOf } from './telegram.api.ts';

export const TELEGRAM_ACCOUNT: ChannelAccount = {
  channel: 'telegram',
  defaultApiBaseUrl: 'https://api.telegram.org',
  credentialNames: { inbound: ['webhookSecret'], outbound: ['botToken'] },
  environment: {
    credentials: { webhookSecret: 'TELEGRAM_WEBHOOK_SECRET', botToken: 'TELEGRAM_BOT_TOKEN' },
    apiBaseUrl: 'TELEGRAM_API_BASE_URL',
  },
  accountIdOf: (credentials) => botIdOf(credentials['botToken']),
};
