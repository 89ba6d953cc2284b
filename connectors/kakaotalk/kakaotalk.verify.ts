/**
 * Authenticity of a skill call. Kakao signs nothing and publishes no source addresses for skill calls, so
 * the skill is configured to carry a shared secret that Parley checks, and the bot id in the body is checked
 * against the configured one when there is one.
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/make_skill
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { WebhookRequest } from '../connector.ts';
import type { Credentials } from '../../domain/ports.ts';

/** The header the skill settings are configured to send (contract: "Channel credentials"). Lower-cased. */
export const KAKAO_SECRET_HEADER = 'x-parley-skill-secret';
/** The query parameter carrying the secret where the skill settings cannot set a header. */
export const KAKAO_SECRET_QUERY = 'secret';

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Constant-time; hashing first gives equal lengths, so a secret of another length neither throws nor leaks it. */
const sameSecret = (given: string | undefined, expected: string): boolean =>
  typeof given === 'string' && timingSafeEqual(digest(given), digest(expected));

/**
 * `bot.id` of the body; `null` for a skill payload (a JSON object with a `userRequest` object) without one;
 * `undefined` for a body that is no skill payload at all, left for `parse` to answer 400.
 */
const botIdOfBody = (rawBody: Buffer): string | null | undefined => {
  let json: unknown;
  try {
    json = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(json) || !isRecord(json['userRequest'])) return undefined;
  const bot = json['bot'];
  const id = isRecord(bot) ? bot['id'] : undefined;
  return typeof id === 'string' && id !== '' ? id : null;
};

/**
 * True when the request carries the configured `skillSecret` in the `X-Parley-Skill-Secret` header or, failing
 * that, the `secret` query parameter (both compared in constant time), and, when `botId` is configured, the
 * body's `bot.id` is that bot. The header wins when both are present: a wrong header is not rescued by a query
 * parameter. No configured secret means nothing can be verified: refused. Prefer the header: a query string
 * ends up in access logs.
 *
 * Test-console traffic (`userRequest.params.surface: "BuilderBotTest"`) comes from the same bot and carries
 * its id, so it passes the same check; no exception is made for it, since `surface` is just a body field
 * anyone holding the secret could set. The skill editor's sample request, whose `bot.id` may be a
 * placeholder, is refused while `botId` is configured: leave KAKAO_BOT_ID unset while trying it.
 * A body that is no skill payload (not JSON, or no `userRequest`) passes on the secret alone, so that `parse`
 * answers it 400 rather than 401; a skill payload without `bot.id` is refused while `botId` is configured.
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/make_skill
 */
export const verifyKakaoSkillRequest = (request: WebhookRequest, credentials: Credentials): boolean => {
  try {
    const expected = credentials['skillSecret'];
    if (!expected) return false;
    const header = request.headers[KAKAO_SECRET_HEADER];
    const given = header !== undefined ? header : request.query[KAKAO_SECRET_QUERY];
    if (!sameSecret(given, expected)) return false;
    const botId = credentials['botId'];
    if (!botId) return true;
    const bodyBotId = botIdOfBody(request.rawBody);
    if (bodyBotId === undefined) return true;
    return bodyBotId !== null && sameSecret(bodyBotId, botId);
  } catch {
    return false;
  }
};
