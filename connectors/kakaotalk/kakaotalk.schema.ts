/**
 * The parts of the Kakao i Open Builder SkillPayload that Parley reads, as zod schemas, and the parser that
 * turns a skill request body into one. Kakao publishes no machine-readable schema, so this follows the doc
 * pages cited below and the payloads they show. Every object is loose, and everything but the user's key is
 * optional: test-console traffic, non-friends and older payloads each leave out different fields.
 *
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/answer_json_format (SkillPayload)
 * @see https://i.kakao.com/docs/skill-response-format#skillpayload
 */
import * as z from 'zod';
import type { ParseResult } from '../connector.ts';

/**
 * `user.properties`. Every value is optional: `plusfriendUserKey` is missing on test-console traffic,
 * `isFriend` is present only for users who added the channel, `appUserId` only with a linked app key.
 * Real payloads also carry snake_case duplicates (`bot_user_key`, `plusfriend_user_key`).
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/answer_json_format (User, properties)
 */
export const KakaoUserPropertiesSchema = z.looseObject({
  botUserKey: z.string().optional(),
  plusfriendUserKey: z.string().optional(),
  plusfriend_user_key: z.string().optional(),
  appUserId: z.string().optional(),
  // Documented as a boolean; a string "true" has been seen in hand-written test payloads.
  isFriend: z.union([z.boolean(), z.string()]).optional(),
});

/**
 * `type` is `botUserKey` today (Skill v1 used `talk_user_id`); kept as a plain string so a test payload with
 * another type still reaches the normalizer. `id` is at most 70 characters and differs per bot.
 */
export const KakaoUserSchema = z.looseObject({
  id: z.string().min(1),
  type: z.string().optional(),
  properties: KakaoUserPropertiesSchema.nullish(),
});

const IdNameSchema = z.looseObject({ id: z.string().optional(), name: z.string().optional() });

/**
 * `params` values are strings; `surface` tells real traffic (`Kakaotalk.plusfriend`) from the admin center's
 * bot test panel (`BuilderBotTest`, with `ignoreMe: "true"`). `callbackUrl` appears only on blocks with the
 * AI chatbot callback turned on.
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/ai_chatbot_callback_guide
 */
export const KakaoUserRequestSchema = z.looseObject({
  timezone: z.string().optional(),
  block: IdNameSchema.nullish(),
  utterance: z.string().optional(),
  lang: z.string().nullish(),
  params: z.record(z.string(), z.unknown()).nullish(),
  user: KakaoUserSchema,
  callbackUrl: z.string().optional(),
});

/** `{origin: what the user typed, value: the same string as params[name], groupName}`. */
export const KakaoDetailParamSchema = z.looseObject({
  origin: z.unknown().optional(),
  value: z.unknown().optional(),
  groupName: z.unknown().optional(),
});

/**
 * The skill call: `params` and `detailParams` are kept as unknown values here (documented as strings, but a
 * wrong type must not cost the message), and read defensively by `kakaoParams`. `clientExtra` is the `extra`
 * of the tapped quick reply or button, or null/{} when the user typed.
 */
export const KakaoActionSchema = z.looseObject({
  id: z.string().optional(),
  name: z.string().optional(),
  params: z.record(z.string(), z.unknown()).nullish(),
  detailParams: z.record(z.string(), z.unknown()).nullish(),
  clientExtra: z.unknown().optional(),
});

/** @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/answer_json_format */
export const KakaoSkillPayloadSchema = z.looseObject({
  intent: IdNameSchema.nullish(),
  userRequest: KakaoUserRequestSchema,
  bot: IdNameSchema.nullish(),
  action: KakaoActionSchema.nullish(),
  contexts: z.unknown().optional(),
});

export type KakaoSkillPayload = z.infer<typeof KakaoSkillPayloadSchema>;
export type KakaoUserRequest = z.infer<typeof KakaoUserRequestSchema>;
export type KakaoAction = z.infer<typeof KakaoActionSchema>;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const describeIssue = (issue: z.core.$ZodIssue): string => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`;

/**
 * Parses a skill request body; never throws. Unlike Telegram's, an unusable body is `malformed` (400), never
 * `ignored`: Kakao does not retry a skill call, and an `ignored` body would be answered with a body that is no
 * SkillResponse, which Kakao shows the user as an error just the same. A body with a user key is `ok` even if
 * it has nothing else; the normalizer says what it could not use, and the skill still answers properly.
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/make_skill
 */
export const parseKakaoSkillPayload = (rawBody: Buffer): ParseResult<KakaoSkillPayload> => {
  let json: unknown;
  try {
    json = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return { kind: 'malformed', reason: 'body is not JSON' };
  }
  if (!isRecord(json)) return { kind: 'malformed', reason: 'not a skill payload: body is not a JSON object' };
  if (!isRecord(json['userRequest'])) return { kind: 'malformed', reason: 'not a skill payload: no userRequest' };
  const result = KakaoSkillPayloadSchema.safeParse(json);
  if (!result.success) {
    const first = result.error.issues[0];
    return { kind: 'malformed', reason: `skill payload is not readable: ${first ? describeIssue(first) : 'invalid'}` };
  }
  return { kind: 'ok', payload: result.data };
};

/**
 * Decodes one `action.params` value. Values are strings; for system entities the string is itself JSON
 * (`"{\"amount\": 2, \"unit\": null}"` for `sys_number`), so a string that parses as a JSON object or array is
 * returned parsed, and anything else as it is. Never throws.
 * @see https://i.kakao.com/docs/skill-response-format#detailparams
 */
export const decodeKakaoParamValue = (value: unknown): unknown => {
  if (typeof value !== 'string') return value;
  const trimmed = value.trim();
  if (!(trimmed.startsWith('{') || trimmed.startsWith('['))) return value;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return value;
  }
};

/** One action parameter: the raw string, its decoded value, and what the user actually typed for it. */
export interface KakaoParam {
  readonly raw: unknown;
  readonly value: unknown;
  readonly origin?: string;
}

/**
 * The action's parameters by name, with system-entity JSON decoded and `detailParams[name].origin` attached.
 * Names only in `detailParams` are included too. Never throws, whatever the shapes.
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/answer_json_format (action)
 */
export const kakaoParams = (action: KakaoAction | null | undefined): Record<string, KakaoParam> => {
  const params: Record<string, KakaoParam> = {};
  const plain = action?.params ?? {};
  const detail = action?.detailParams ?? {};
  for (const name of new Set([...Object.keys(plain), ...Object.keys(detail)])) {
    // JSON.parse makes `__proto__` an own key; assigning it here would replace the result's prototype.
    if (name === '__proto__') continue;
    const details = detail[name];
    const parsedDetails = KakaoDetailParamSchema.safeParse(details);
    const raw = name in plain ? plain[name] : parsedDetails.success ? parsedDetails.data.value : undefined;
    const origin = parsedDetails.success ? parsedDetails.data.origin : undefined;
    params[name] = {
      raw,
      value: decodeKakaoParamValue(raw),
      ...(typeof origin === 'string' && origin !== '' && { origin }),
    };
  }
  return params;
};
