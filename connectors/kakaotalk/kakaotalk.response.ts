/**
 * SkillResponses: the synchronous answer to every skill call (the webhook's HTTP response is what the user
 * sees), and the full answers the sender posts to a callback URL.
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/answer_json_format (SkillResponse)
 * @see https://i.kakao.com/docs/skill-response-format#skillresponse
 */
import type { QuickReply } from '../../domain/content.ts';
import type { Credentials } from '../../domain/ports.ts';
import { quickRepliesAsText, type NormalizeResult, type WebhookAnswer } from '../connector.ts';
import { shorten, splitText } from '../text.ts';
import { KAKAO_MAX_OUTPUTS, KAKAOTALK_CAPABILITIES } from './kakaotalk.capabilities.ts';
import { PARLEY_PAYLOAD_KEY } from './kakaotalk.normalize.ts';
import type { KakaoSkillPayload } from './kakaotalk.schema.ts';

/** The acknowledgement shown while no automated answer exists: an agent answers later. */
export const DEFAULT_ACK_TEXT = '메시지를 받았어요. 곧 상담원이 답변드릴게요.';
/** The same for users whose KakaoTalk is not set to Korean (`userRequest.lang` other than ko/kr). */
export const DEFAULT_ACK_TEXT_EN = 'We got your message. An agent will reply soon.';
/** The answer to a call Parley could not read (no utterance): nothing was stored, so nothing is promised. */
export const UNREADABLE_TEXT = '죄송해요, 메시지를 읽지 못했어요. 다시 보내 주세요.';
export const UNREADABLE_TEXT_EN = 'Sorry, we could not read that message. Please send it again.';

/** `{label, action: "message", messageText, extra}`. @see https://i.kakao.com/docs/skill-response-format#quickreplies */
export interface KakaoQuickReply {
  readonly label: string;
  readonly action: 'message';
  readonly messageText: string;
  readonly extra: Readonly<Record<string, string>>;
}

/** `version` is required: without it Kakao reads the answer as the old v1 format. */
export interface KakaoTemplateResponse {
  readonly version: '2.0';
  readonly template: {
    readonly outputs: readonly { readonly simpleText: { readonly text: string } }[];
    readonly quickReplies?: readonly KakaoQuickReply[];
  };
}

/**
 * The immediate answer when the block has the callback turned on: `data.text` fills the block's waiting
 * message, and `template` is ignored.
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/ai_chatbot_callback_guide
 */
export interface KakaoCallbackAck {
  readonly version: '2.0';
  readonly useCallback: true;
  readonly data: { readonly text: string };
}

const fitsQuickReplies = (quickReplies: readonly QuickReply[]): boolean => {
  const limits = KAKAOTALK_CAPABILITIES.quickReplies;
  return (
    quickReplies.length <= limits.max &&
    quickReplies.every((reply) => Buffer.byteLength(reply.payload, 'utf8') <= limits.maxPayloadBytes)
  );
};

/**
 * A label longer than 14 characters is shortened; the tap still sends the full text, and the payload comes
 * back in `clientExtra` under {@link PARLEY_PAYLOAD_KEY}.
 */
const quickReplyOf = (reply: QuickReply): KakaoQuickReply => ({
  label: shorten(reply.text, KAKAOTALK_CAPABILITIES.quickReplies.maxLabelLength),
  action: 'message',
  messageText: reply.text,
  extra: { [PARLEY_PAYLOAD_KEY]: reply.payload },
});

/**
 * The simpleText parts of a text: split at 1000 characters, at most three outputs, the third cut with an
 * ellipsis if the text is longer still (one SkillResponse is all a callback or a skill answer can carry).
 * Quick replies beyond the limits become a numbered list in the text.
 */
export const textResponse = (text: string, quickReplies?: readonly QuickReply[]): KakaoTemplateResponse => {
  let body = text;
  let replies: KakaoQuickReply[] | undefined;
  if (quickReplies !== undefined && quickReplies.length > 0) {
    if (fitsQuickReplies(quickReplies)) replies = quickReplies.map(quickReplyOf);
    else body = quickRepliesAsText(text, quickReplies);
  }
  const max = KAKAOTALK_CAPABILITIES.maxTextLength;
  const parts = splitText(body, max);
  if (parts.length > KAKAO_MAX_OUTPUTS) {
    const rest = parts.slice(KAKAO_MAX_OUTPUTS - 1).join('\n');
    parts.splice(KAKAO_MAX_OUTPUTS - 1, parts.length, shorten(rest, max));
  }
  const outputs = parts.map((part) => ({ simpleText: { text: part } }));
  return { version: '2.0', template: replies ? { outputs, quickReplies: replies } : { outputs } };
};

const isKorean = (lang: string | null | undefined): boolean => {
  const code = (lang ?? '').toLowerCase();
  return code === '' || code === 'ko' || code === 'kr' || code.startsWith('ko-');
};

/**
 * The acknowledgement text: the `ackText` credential when configured (for every user), else Korean, or
 * English for users whose `lang` is something other than Korean.
 */
export const ackTextFor = (payload: KakaoSkillPayload, credentials: Credentials): string => {
  const configured = credentials['ackText'];
  if (configured) return shorten(configured, KAKAOTALK_CAPABILITIES.maxTextLength);
  return isKorean(payload.userRequest.lang) ? DEFAULT_ACK_TEXT : DEFAULT_ACK_TEXT_EN;
};

const answer = (body: KakaoTemplateResponse | KakaoCallbackAck): WebhookAnswer => ({
  statusCode: 200,
  contentType: 'application/json; charset=utf-8',
  body: JSON.stringify(body),
});

/**
 * The skill's HTTP answer, once the events are accepted. There is no automated answer yet, so it
 * acknowledges: as `useCallback` when the call offered a callback (the agent's reply may then follow through
 * it within the minute), else as a simpleText. A call that produced no message gets a plain "could not read"
 * instead of a promise nobody will keep.
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/answer_json_format
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/ai_chatbot_callback_guide
 */
export const respondToKakaoSkill = (
  result: NormalizeResult,
  payload: KakaoSkillPayload,
  credentials: Credentials,
): WebhookAnswer => {
  const received = result.events.some((event) => event.type === 'message.received');
  if (!received) {
    return answer(textResponse(isKorean(payload.userRequest.lang) ? UNREADABLE_TEXT : UNREADABLE_TEXT_EN));
  }
  const text = ackTextFor(payload, credentials);
  const callbackOffered = result.events.some((event) => event.type === 'message.received' && event.replyHandle !== undefined);
  if (callbackOffered) return answer({ version: '2.0', useCallback: true, data: { text } });
  return answer(textResponse(text));
};
