/**
 * What a KakaoTalk account is, apart from the rest of the connector: its credential names, where the default
 * account's come from locally, and the account id credentials name. Functions that need only this (the
 * integrator API, the sender, the media copier) do not bundle the inbound protocol code.
 */
import type { ChannelAccount } from '../connector.ts';
import { KAKAO_DEFAULT_API_BASE_URL } from './kakaotalk.api.ts';

export const KAKAOTALK_ACCOUNT: ChannelAccount = {
  channel: 'kakaotalk',
  defaultApiBaseUrl: KAKAO_DEFAULT_API_BASE_URL,
  credentialNames: { inbound: ['skillSecret'], outbound: [], optional: ['ackText', 'eventName'] },
  environment: {
    credentials: { skillSecret: 'KAKAO_SKILL_SECRET', botId: 'KAKAO_BOT_ID', restApiKey: 'KAKAO_REST_API_KEY' },
    apiBaseUrl: 'KAKAO_API_BASE_URL',
  },
  accountIdOf: (credentials) => credentials['botId'] || undefined,
};
