/**
 * KakaoTalk's kit for the shared conformance suite: a shared secret in `X-Parley-Skill-Secret` (no body
 * signature), one SkillPayload per request, no handshake.
 */
import { kakaotalkConnector } from '../../../connectors/kakaotalk/index.ts';
import { KAKAO_SECRET_HEADER } from '../../../connectors/kakaotalk/kakaotalk.verify.ts';
import type { Credentials } from '../../../domain/ports.ts';
import type { ConformanceKit } from '../conformance.ts';

/** The bot every fixture belongs to. */
export const BOT_ID = '65f1a2b3c4d5e6f708192a3b';

/** Test values shaped like real ones: a random secret of the operator's choosing, a 32-hex REST API key. */
export const KAKAO_TEST_CREDENTIALS: Credentials = {
  skillSecret: 'kW3v9Qe7Zt2mB8xR5nLc1HsY4pDa6Gfj',
  botId: BOT_ID,
  restApiKey: '3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e',
};

/** The headers the skill settings add to every call. */
export const signKakao = (_rawBody: Buffer, credentials: Credentials): Record<string, string> => ({
  [KAKAO_SECRET_HEADER]: credentials['skillSecret'] ?? '',
});

/** Another bot, with a skill secret of its own. */
const OTHER_BOT_ID = '65f1a2b3c4d5e6f708190099';

export const kit: ConformanceKit = {
  connector: kakaotalkConnector,
  credentials: KAKAO_TEST_CREDENTIALS,
  fixturesDir: new URL('../../fixtures/kakaotalk/', import.meta.url),
  sign: signKakao,
  signsBody: false,
  // A skill call has no message id and no time: ids and the callback's expiry come from the receipt time.
  idsFromPayload: false,
  otherAccount: {
    accountId: OTHER_BOT_ID,
    credentials: { skillSecret: 'Zp4rT8vN2qW6yB1xK9mH3cJ7fL5dG0sA', botId: OTHER_BOT_ID, restApiKey: '7c1e9a3f5b2d4e6a8c0f1b3d5e7a9c2f' },
    naming: (json, accountId) => {
      const bot = (json as { bot?: { id?: string } }).bot;
      if (bot?.id === undefined) return undefined;
      bot.id = accountId;
      return json;
    },
  },
};
