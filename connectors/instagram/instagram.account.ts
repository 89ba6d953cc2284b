/**
 * What a Instagram account is, apart from the rest of the connector: its credential names, where the default
 * account's come from locally, and the account id credentials name. Functions that need only this (the
 * integrator API, the sender, the media copier) do not bundle the inbound protocol code.
 */
import type { ChannelAccount } from '../connector.ts';

export const INSTAGRAM_ACCOUNT: ChannelAccount = {
  channel: 'instagram',
  defaultApiBaseUrl: 'https://graph.instagram.com',
  // `humanAgent`: `true` once Meta granted the account the Human Agent feature (the HUMAN_AGENT tag outside the window); `false` refuses the tag there.
  credentialNames: { inbound: ['appSecret', 'verifyToken'], outbound: ['accessToken', 'accountId'], optional: ['humanAgent'] },
  environment: {
    credentials: {
      appSecret: 'INSTAGRAM_APP_SECRET',
      verifyToken: 'INSTAGRAM_VERIFY_TOKEN',
      accessToken: 'INSTAGRAM_ACCESS_TOKEN',
      accountId: 'INSTAGRAM_ACCOUNT_ID',
    },
    apiBaseUrl: 'INSTAGRAM_API_BASE_URL',
  },
  accountIdOf: (credentials) => credentials['accountId'] || undefined,
};
