/**
 * What a Messenger account is, apart from the rest of the connector: its credential names, where the default
 * account's come from locally, and the account id credentials name. Functions that need only this (the
 * integrator API, the sender, the media copier) do not bundle the inbound protocol code.
 */
import type { ChannelAccount } from '../connector.ts';

export const MESSENGER_ACCOUNT: ChannelAccount = {
  channel: 'messenger',
  defaultApiBaseUrl: 'https://graph.facebook.com',
  // `humanAgent`: `true` once Meta granted the Page the Human Agent permission (the HUMAN_AGENT tag outside the window); `false` refuses the tag there.
  credentialNames: { inbound: ['appSecret', 'verifyToken'], outbound: ['pageAccessToken', 'pageId'], optional: ['humanAgent'] },
  environment: {
    credentials: {
      appSecret: 'MESSENGER_APP_SECRET',
      verifyToken: 'MESSENGER_VERIFY_TOKEN',
      pageAccessToken: 'MESSENGER_PAGE_ACCESS_TOKEN',
      pageId: 'MESSENGER_PAGE_ID',
    },
    apiBaseUrl: 'MESSENGER_API_BASE_URL',
  },
  accountIdOf: (credentials) => credentials['pageId'] || undefined,
};
