/**
 * The KakaoTalk connector: a Kakao i Open Builder (챗봇 관리자센터) skill server. Each skill call is one user
 * utterance, answered synchronously within Kakao's 5 s with a SkillResponse (the HTTP response is what the
 * user sees); an agent's later reply goes through the call's one-minute callback or the paid Event API.
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/make_skill
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/answer_json_format
 */
import { randomBytes } from 'node:crypto';
import type { Connector } from '../connector.ts';
import { KAKAOTALK_INBOUND } from './kakaotalk.inbound.ts';
import { createKakaotalkSandbox } from './kakaotalk.sandbox.ts';
import type { KakaoSkillPayload } from './kakaotalk.schema.ts';
import { kakaotalkSender } from './kakaotalk.sender.ts';

export type { KakaoSkillPayload } from './kakaotalk.schema.ts';

/**
 * Credentials:
 * - `skillSecret` (required): the shared secret the skill sends in `X-Parley-Skill-Secret` (or `?secret=`);
 * - `botId` (optional): when set, only calls whose `bot.id` is this bot are accepted; it also names the account.
 *   Without it the secret does not say which bot it serves, so calls land in the account whose webhook URL
 *   they reached (`default` on `/webhooks/kakaotalk`), whatever `bot.id` they carry, and the Event API, which
 *   needs the bot id, cannot be used;
 * - `restApiKey` (optional): the Kakao REST API key for the Event API, the only way to deliver a reply after
 *   the callback minute;
 * - `ackText`, `eventName` (optional, secret store only, no environment variable): the acknowledgement text
 *   shown for every message, and the Event API event name (default `parley_agent_reply`).
 * Only `skillSecret` is named as required: `hasCredentials` requires every named credential, and a reply
 * through a callback needs no outbound credential at all, so `outbound` is empty and the sender itself says
 * why a reply cannot go out.
 */
export const kakaotalkConnector: Connector<KakaoSkillPayload> = {
  ...KAKAOTALK_INBOUND,
  // Shaped like the real thing: a bot id is 24 hex digits, a REST API key 32; with both, the local runtime's
  // replies go through the sandbox's Event API and reach `sent`. A sample from the skill editor carries
  // another bot id: set KAKAO_BOT_ID to it (or leave it empty) to try one locally.
  devCredentials: () => ({
    skillSecret: randomBytes(24).toString('base64url'),
    botId: randomBytes(12).toString('hex'),
    restApiKey: randomBytes(16).toString('hex'),
  }),
  sender: kakaotalkSender,
  sandbox: createKakaotalkSandbox(),
};
