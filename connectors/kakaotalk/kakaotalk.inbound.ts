/**
 * The KakaoTalk connector's inbound part: its accounts and webhook protocol, and nothing the webhook function
 * does not run (the sender, media downloads, development credentials, the sandbox), so its bundle stays lean.
 */
import type { InboundConnector } from '../connector.ts';
import { KAKAOTALK_ACCOUNT } from './kakaotalk.account.ts';
import { normalizeKakaoSkillPayload } from './kakaotalk.normalize.ts';
import { respondToKakaoSkill } from './kakaotalk.response.ts';
import { parseKakaoSkillPayload, type KakaoSkillPayload } from './kakaotalk.schema.ts';
import { verifyKakaoSkillRequest } from './kakaotalk.verify.ts';

export const KAKAOTALK_INBOUND: InboundConnector<KakaoSkillPayload> = {
  ...KAKAOTALK_ACCOUNT,
  verify: verifyKakaoSkillRequest,
  respond: respondToKakaoSkill,
  parse: parseKakaoSkillPayload,
  normalize: normalizeKakaoSkillPayload,
};
