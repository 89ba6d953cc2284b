/**
 * Kakao SkillPayload → Parley events. A skill call is one user utterance in a 1:1 chat with the bot; it
 * carries no message id and no timestamp, so both are synthesized here (see {@link kakaoMessageKey}).
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/answer_json_format
 */
import { createHash } from 'node:crypto';
import type { Content, TextEntity } from '../../domain/content.ts';
import { EVENT_SCHEMA_VERSION, EVENT_TYPES } from '../../domain/events.ts';
import type { MessageReceivedEvent, ParleyEvent, Sender } from '../../domain/events.ts';
import { deterministicId } from '../../domain/ids.ts';
import type { NormalizeContext, NormalizeResult } from '../connector.ts';
import { kakaoParams, type KakaoSkillPayload } from './kakaotalk.schema.ts';

/**
 * A callback URL is valid for one minute after the skill call, and only once.
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/ai_chatbot_callback_guide
 */
export const KAKAO_CALLBACK_TTL_MS = 60_000;

/**
 * Width of the receipt-time window in which the same utterance from the same user in the same block counts as
 * the same message. Kakao documents no retry of skill calls; this only makes a duplicate delivery (or a double
 * tap on a quick reply) harmless. Short, so that a customer who really repeats themselves a little later is
 * still heard twice.
 */
export const KAKAO_DEDUPE_WINDOW_MS = 10_000;

/**
 * The key under which Parley's own quick replies carry their payload in `extra` (see the sender), so a tap
 * comes back as exactly the payload the integrator gave.
 */
export const PARLEY_PAYLOAD_KEY = 'parleyPayload';

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const hash = (parts: readonly string[]): string => createHash('sha256').update(parts.join('\u001f')).digest('base64url').slice(0, 27);

/**
 * The synthesized message id, `kakao:<hash>`. Kakao gives neither a message id nor a timestamp, so the id
 * is derived from what identifies one utterance:
 * - the bot, the user's botUserKey, the block, the utterance and the tapped quick reply's extra, and
 * - the request's own `callbackUrl` when it has one: it is issued per request and single-use, so it tells two
 *   calls apart exactly and makes a redelivery of the same call the same message;
 * - otherwise the {@link KAKAO_DEDUPE_WINDOW_MS} receipt-time window: the same words twice within it are one
 *   message. A redelivery that straddles a window boundary is stored twice, which is the lesser harm than
 *   losing a message that was really repeated.
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/answer_json_format
 */
export const kakaoMessageKey = (payload: KakaoSkillPayload, accountId: string, receivedAt: string): string => {
  const request = payload.userRequest;
  const callbackUrl = request.callbackUrl;
  const window = Math.floor(Date.parse(receivedAt) / KAKAO_DEDUPE_WINDOW_MS);
  return `kakao:${hash([
    accountId,
    request.user.id,
    request.block?.id ?? '',
    request.utterance ?? '',
    JSON.stringify(payload.action?.clientExtra ?? null),
    callbackUrl !== undefined && callbackUrl !== '' ? `callback:${callbackUrl}` : `window:${window}`,
  ])}`;
};

/** `lang` is `ko` today; old payloads say `kr`, a country code, for the same language. */
const languageOf = (lang: string | null | undefined): string | undefined => {
  if (!lang) return undefined;
  return lang.toLowerCase() === 'kr' ? 'ko' : lang;
};

/**
 * Where each parameter the block extracted sits in the utterance, as entities of type `param:<name>`: the
 * event format has no slot for structured parameters, and this keeps at least what the user typed for each.
 * Decoded values (system entities are JSON inside strings) are available through `kakaoParams`.
 */
const paramEntities = (payload: KakaoSkillPayload, utterance: string): TextEntity[] | undefined => {
  const entities: TextEntity[] = [];
  for (const [name, param] of Object.entries(kakaoParams(payload.action))) {
    if (param.origin === undefined) continue;
    const offset = utterance.indexOf(param.origin);
    if (offset < 0) continue;
    entities.push({ type: `param:${name}`, offset, length: param.origin.length });
  }
  entities.sort((a, b) => a.offset - b.offset || a.type.localeCompare(b.type));
  return entities.length > 0 ? entities : undefined;
};

/**
 * What the user said. A tapped quick reply or button with an `extra` is a `reply`: its payload is the
 * `parleyPayload` of a quick reply Parley sent, else the JSON of the whole `clientExtra` (the button was built
 * in the admin center, and its extra is all that identifies it). Block ids are not used as payloads: one block
 * serves many buttons.
 */
const contentOf = (payload: KakaoSkillPayload): Content | undefined => {
  const utterance = payload.userRequest.utterance ?? '';
  const extra = payload.action?.clientExtra;
  if (isRecord(extra) && Object.keys(extra).length > 0) {
    const own = extra[PARLEY_PAYLOAD_KEY];
    const replyPayload = typeof own === 'string' && own !== '' ? own : JSON.stringify(extra);
    return { type: 'reply', text: utterance, payload: replyPayload };
  }
  if (utterance === '') return undefined;
  const entities = paramEntities(payload, utterance);
  return entities ? { type: 'text', text: utterance, entities } : { type: 'text', text: utterance };
};

/**
 * The event a skill call means: the utterance as a `message.received`. When the call carries a `callbackUrl`
 * (the block has the callback turned on), the URL is the message's `replyHandle`, valid one minute from
 * receipt (Kakao gives no time of its own): the agent's reply within that minute goes through it, free of
 * charge. The account is `context.accountId` (see below), not the payload's `bot.id`. There is no profile to read: the sender is
 * only the botUserKey. Non-friends and test-console users (no `plusfriendUserKey`, no `isFriend`) are
 * customers like any other.
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/answer_json_format
 */
export const normalizeKakaoSkillPayload = (payload: KakaoSkillPayload, context: NormalizeContext): NormalizeResult => {
  const events: ParleyEvent[] = [];
  const ignored: string[] = [];
  const request = payload.userRequest;
  const userKey = request.user.id;
  // The account whose credentials verified the call, never the body's say: with KAKAO_BOT_ID configured it is
  // that bot (and verify refused any other `bot.id`); without it the secret does not say which bot it serves,
  // so the call lands in the account whose URL it reached rather than in whichever bot the body names.
  const accountId = context.accountId;
  const content = contentOf(payload);
  if (content === undefined) {
    ignored.push(`skill call from ${userKey} in block ${request.block?.id ?? '(none)'} has no utterance`);
    return { events, ignored };
  }
  const externalMessageId = kakaoMessageKey(payload, accountId, context.receivedAt);
  const sender: Sender = { externalUserId: userKey, isBot: false };
  const languageCode = languageOf(request.lang);
  if (languageCode !== undefined) sender.languageCode = languageCode;
  const message: MessageReceivedEvent = {
    schemaVersion: EVENT_SCHEMA_VERSION,
    eventId: deterministicId('evt', 'kakaotalk', accountId, externalMessageId, 'message'),
    channel: 'kakaotalk',
    accountId,
    occurredAt: context.receivedAt,
    receivedAt: context.receivedAt,
    type: EVENT_TYPES.messageReceived,
    direction: 'inbound',
    externalMessageId,
    sender,
    conversation: { externalId: userKey, kind: 'direct' },
    content,
  };
  const callbackUrl = request.callbackUrl;
  const receivedMs = Date.parse(context.receivedAt);
  if (callbackUrl !== undefined && callbackUrl !== '' && Number.isFinite(receivedMs)) {
    message.replyHandle = { value: callbackUrl, expiresAt: new Date(receivedMs + KAKAO_CALLBACK_TTL_MS).toISOString() };
  }
  events.push(message);
  return { events, ignored };
};
