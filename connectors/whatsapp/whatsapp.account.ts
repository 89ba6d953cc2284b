/**
 * What a WhatsApp account is, apart from the rest of the connector: its credential names, where the default
 * account's come from locally, and the account id credentials name. Functions that need only this (the
 * integrator API, the sender, the media copier) do not bundle the inbound protocol code.
 */
import type { ChannelAccount } from '../connector.ts';

export const WHATSAPP_ACCOUNT: ChannelAccount = {
  channel: 'whatsapp',
  defaultApiBaseUrl: 'https://graph.facebook.com',
  // `businessAccountId`: the WhatsApp Business Account the number belongs to, to read its message templates.
  credentialNames: { inbound: ['appSecret', 'verifyToken'], outbound: ['accessToken', 'phoneNumberId'], optional: ['businessAccountId'] },
  environment: {
    credentials: {
      appSecret: 'WHATSAPP_APP_SECRET',
      verifyToken: 'WHATSAPP_VERIFY_TOKEN',
      accessToken: 'WHATSAPP_ACCESS_TOKEN',
      phoneNumberId: 'WHATSAPP_PHONE_NUMBER_ID',
    },
    apiBaseUrl: 'WHATSAPP_API_BASE_URL',
  },
  accountIdOf: (credentials) => credentials['phoneNumberId'] || undefined,
};
