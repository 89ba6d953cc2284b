/**
 * SkillResponses: the synchronous answer to every skill call (the webhook's HTTP response is what the user
 * sees), and the full answers the sender posts to a callback URL.
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/answer_json_format (SkillResponse)
 * @see https://i.kakao.com/docs/skill-response-format#skillresponse
 */
import type { Button, OutboundContent, QuickReply } from '../../domain/content.ts';
import type { Credentials } from '../../domain/ports.ts';
import { quickRepliesAsText, type NormalizeResult, type WebhookAnswer } from '../connector.ts';
import { buttonsAsQuickReplies, listAsChoices, listAsText, type ListContent, fitsButtons } from '../degrade.ts';
import { shorten, splitTail, splitText, utf8Length } from '../text.ts';
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

/**
 * A card's button: `message` sends `messageText` as the user's utterance and hands `extra` to the skill as
 * `clientExtra`, as a quick reply does; `webLink` opens `webLinkUrl`. (unverified here: the field names and
 * that a `message` button's `extra` reaches the skill are Kakao's answer_json_format page as public skill code
 * uses it; the research notes name only the actions.)
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/answer_json_format (Button)
 */
export type KakaoButton =
  | { readonly label: string; readonly action: 'message'; readonly messageText: string; readonly extra: Readonly<Record<string, string>> }
  | { readonly label: string; readonly action: 'webLink'; readonly webLinkUrl: string };

/**
 * The components Parley sends: `simpleText`, and `textCard` (a text with buttons; `title` is optional and not
 * used, unverified here).
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/answer_json_format (SimpleText, TextCard)
 */
export type KakaoOutput =
  | KakaoSimpleText
  | { readonly textCard: { readonly description: string; readonly buttons: readonly KakaoButton[] } };
export type KakaoSimpleText = { readonly simpleText: { readonly text: string } };

/** `version` is required: without it Kakao reads the answer as the old v1 format. */
export interface KakaoTemplateResponse<O extends KakaoOutput = KakaoOutput> {
  readonly version: '2.0';
  readonly template: {
    readonly outputs: readonly O[];
    readonly quickReplies?: readonly KakaoQuickReply[];
  };
}

/**
 * A text card's `description` is at most 400 characters (unverified here: Kakao's answer_json_format page;
 * the research notes give no limit). The start of a longer text goes first as simpleText.
 */
export const KAKAO_TEXT_CARD_DESCRIPTION_MAX = 400;

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

const fitsExtra = (payload: string): boolean => utf8Length(payload) <= KAKAOTALK_CAPABILITIES.quickReplies.maxPayloadBytes;

const fitsQuickReplies = (quickReplies: readonly QuickReply[]): boolean =>
  quickReplies.length <= KAKAOTALK_CAPABILITIES.quickReplies.max && quickReplies.every((reply) => fitsExtra(reply.payload));

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
 * The simpleText parts of a text: split at 1000 characters, at most `maxOutputs`, the last cut with an
 * ellipsis if the text is longer still (one SkillResponse is all a callback or a skill answer can carry).
 */
const simpleTextOutputs = (text: string, maxOutputs: number): KakaoSimpleText[] => {
  const max = KAKAOTALK_CAPABILITIES.maxTextLength;
  const parts = splitText(text, max);
  if (parts.length > maxOutputs) {
    const rest = parts.slice(maxOutputs - 1).join('\n');
    parts.splice(maxOutputs - 1, parts.length, shorten(rest, max));
  }
  return parts.map((part) => ({ simpleText: { text: part } }));
};

/**
 * A text as simpleText outputs (see {@link simpleTextOutputs}), with its quick replies; quick replies beyond
 * the limits become a numbered list in the text.
 */
export const textResponse = (text: string, quickReplies?: readonly QuickReply[]): KakaoTemplateResponse<KakaoSimpleText> => {
  let body = text;
  let replies: KakaoQuickReply[] | undefined;
  if (quickReplies !== undefined && quickReplies.length > 0) {
    if (fitsQuickReplies(quickReplies)) replies = quickReplies.map(quickReplyOf);
    else body = quickRepliesAsText(text, quickReplies);
  }
  const outputs = simpleTextOutputs(body, KAKAO_MAX_OUTPUTS);
  return { version: '2.0', template: replies ? { outputs, quickReplies: replies } : { outputs } };
};

/** A postback as a `message` button carrying its payload in `extra`, like a quick reply; a link as `webLink`. */
const cardButtonOf = (button: Button): KakaoButton =>
  button.type === 'url'
    ? { label: button.text, action: 'webLink', webLinkUrl: button.url }
    : { label: button.text, action: 'message', messageText: button.text, extra: { [PARLEY_PAYLOAD_KEY]: button.payload } };

/**
 * A text with buttons: a text card when they fit, carrying the end of the text (at most
 * {@link KAKAO_TEXT_CARD_DESCRIPTION_MAX} characters) while the start goes first as simpleText, in the
 * outputs left. Buttons that do not fit degrade: postbacks to quick replies, links written out in the text.
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/answer_json_format (TextCard)
 */
export const buttonsResponse = (text: string, buttons: readonly Button[]): KakaoTemplateResponse => {
  if (!fitsButtons(buttons, KAKAOTALK_CAPABILITIES.buttons, fitsExtra)) {
    const degraded = buttonsAsQuickReplies(text, buttons);
    return textResponse(degraded.text, degraded.quickReplies);
  }
  const { head, tail } = splitTail(text, KAKAO_TEXT_CARD_DESCRIPTION_MAX);
  const card: KakaoOutput = { textCard: { description: tail, buttons: buttons.map(cardButtonOf) } };
  return { version: '2.0', template: { outputs: [...(head === '' ? [] : simpleTextOutputs(head, KAKAO_MAX_OUTPUTS - 1)), card] } };
};

/**
 * A list: quick replies (the titles, or a numbered text with a quick reply per number) when they fit, else
 * a numbered text with the descriptions. A `listCard` is not used: the research notes give none of its limits.
 */
export const listResponse = (list: ListContent): KakaoTemplateResponse<KakaoSimpleText> => {
  const choices = listAsChoices(list, KAKAOTALK_CAPABILITIES.quickReplies.maxLabelLength);
  return fitsQuickReplies(choices.quickReplies) ? textResponse(choices.text, choices.quickReplies) : textResponse(listAsText(list));
};

/** What Parley can send on KakaoTalk: a text (with quick replies or buttons) or a list. */
export type KakaoReplyContent = Extract<OutboundContent, { type: 'text' | 'list' }>;

/** The SkillResponse that answers with an agent's content, for a callback. */
export const skillResponseOf = (content: KakaoReplyContent): KakaoTemplateResponse => {
  switch (content.type) {
    case 'text':
      return content.buttons ? buttonsResponse(content.text, content.buttons) : textResponse(content.text, content.quickReplies);
    case 'list':
      return listResponse(content);
  }
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
export const respondToKakaoSkill = (result: NormalizeResult, payload: KakaoSkillPayload, credentials: Credentials): WebhookAnswer => {
  const received = result.events.some((event) => event.type === 'message.received');
  if (!received) {
    return answer(textResponse(isKorean(payload.userRequest.lang) ? UNREADABLE_TEXT : UNREADABLE_TEXT_EN));
  }
  const text = ackTextFor(payload, credentials);
  const callbackOffered = result.events.some((event) => event.type === 'message.received' && event.replyHandle !== undefined);
  if (callbackOffered) return answer({ version: '2.0', useCallback: true, data: { text } });
  return answer(textResponse(text));
};
