/**
 * Outbound KakaoTalk. A Kakao chatbot speaks only in answer to the user's own message, with two exceptions
 * Parley can use for an agent's later reply:
 * - the skill call's **callback URL**, when the block has the (approval-gated) callback turned on: one POST of
 *   a full SkillResponse within a minute of the user's message, free of charge. The normalizer hands it out as
 *   the message's reply handle, and it comes back as `recipient.replyHandle` while unexpired;
 * - the **Event API**, when a REST API key is configured: the bot speaks first by running an event block,
 *   paid per message, reaching channel friends.
 * Anything else cannot reach the user, and says so with a {@link PermanentProviderError}.
 *
 * A callback carries a full SkillResponse, so buttons that fit go in a text card (see kakaotalk.response.ts).
 * The Event API carries text only: quick replies, buttons and lists are written into the text there.
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/ai_chatbot_callback_guide
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/main_notions/event-api
 */
import type { ReplyHandle } from '../../domain/events.ts';
import { deterministicId } from '../../domain/ids.ts';
import { InvalidRequestError, PermanentProviderError, ProviderError } from '../../domain/provider-errors.ts';
import { quickRepliesAsText } from '../connector.ts';
import type { ChannelSender, SendContext, SendRequest, SendResult } from '../connector.ts';
import { buttonsAsQuickReplies, listAsText } from '../degrade.ts';
import { splitText } from '../text.ts';
import { callbackTarget, eventApiUrl, postKakao } from './kakaotalk.api.ts';
import { KAKAOTALK_CAPABILITIES } from './kakaotalk.capabilities.ts';
import { skillResponseOf, type KakaoReplyContent, type KakaoTemplateResponse } from './kakaotalk.response.ts';

/**
 * The event name sent to the Event API unless the `eventName` credential names another. The bot needs an
 * event block of that name whose bot response shows the event data's `text` (or whose skill reads it)
 * (unverified here: the admin-center wiring of event data into a block's answer).
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/main_notions/event-api
 */
export const KAKAO_EVENT_NAME = 'parley_agent_reply';

/** The code of the refusal when neither a callback nor the Event API can carry a reply. */
export const NO_DELIVERY_PATH = 'kakao_no_delivery_path';

/** Ids of parts sent through a callback start so: a retry knows the message went out that way. */
const CALLBACK_ID_PREFIX = 'callback:';

const hash = (value: string): string => deterministicId('kakao', value).slice('kakao_'.length);

/**
 * POSTs one SkillResponse to a callback URL (the reply handle's value). Refused without calling when the
 * minute is over or the URL is not Kakao's. A retryable failure stays retryable only while the URL is valid:
 * the next attempt checks the expiry first.
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/ai_chatbot_callback_guide
 */
export const postCallbackAnswer = async (
  handle: ReplyHandle,
  response: KakaoTemplateResponse,
  context: Pick<SendContext, 'apiBaseUrl' | 'fetch'>,
  now: Date = new Date(),
): Promise<string> => {
  if (now.getTime() >= Date.parse(handle.expiresAt)) {
    throw new PermanentProviderError(
      `Kakao callback expired at ${handle.expiresAt}; a callback URL is valid for one minute`,
      'callback_expired',
    );
  }
  const target = callbackTarget(handle.value, context.apiBaseUrl);
  if (target === undefined) {
    throw new PermanentProviderError(
      'the callback URL is not an https URL on a kakao.com host; refusing to call it',
      'callback_url_rejected',
    );
  }
  const answer = await postKakao('Kakao callback', target, response, {}, context);
  return `${CALLBACK_ID_PREFIX}${answer.taskId ? `task:${answer.taskId}` : hash(handle.value)}`;
};

/**
 * The recipient's callback when it can still be used: unexpired and on a Kakao host. A callback answer is one
 * SkillResponse of at most three outputs, so a reply longer than about 2000–3000 characters is cut there with
 * an ellipsis: the callback must be answered within its minute or the customer sees it time out, and Kakao
 * offers no second answer to the same utterance.
 */
const usableCallback = (request: SendRequest, context: SendContext): ReplyHandle | undefined => {
  const handle = request.recipient.replyHandle;
  if (handle === undefined || !(Date.now() < Date.parse(handle.expiresAt))) return undefined;
  return callbackTarget(handle.value, context.apiBaseUrl) === undefined ? undefined : handle;
};

/**
 * The text an Event API message carries. The event block draws the message and event data carries text
 * only, so nothing rich survives: quick replies and postback buttons become a numbered list (the customer
 * answers by typing), links are written out, and a list is a numbered text with its descriptions.
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/main_notions/event-api
 */
export const eventTextOf = (content: KakaoReplyContent): string => {
  switch (content.type) {
    case 'text': {
      const { text, quickReplies } = content.buttons ? buttonsAsQuickReplies(content.text, content.buttons) : content;
      return quickReplies !== undefined && quickReplies.length > 0 ? quickRepliesAsText(text, quickReplies) : text;
    }
    case 'list':
      return listAsText(content);
  }
};

/**
 * Sends one text through the Event API, one call (one paid message) per 1000-character part.
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/main_notions/event-api
 */
const sendThroughEventApi = async (request: SendRequest, body: string, context: SendContext): Promise<SendResult> => {
  const restApiKey = context.credentials['restApiKey'];
  if (!restApiKey) {
    throw new PermanentProviderError(
      "KakaoTalk cannot deliver this reply: a Kakao chatbot may only answer the user's own message (within 5 s, " +
        'or through its one-minute callback), and later replies need the Event API, which is not configured ' +
        '(set KAKAO_REST_API_KEY and add an event block; each message is charged)',
      NO_DELIVERY_PATH,
    );
  }
  const botId = context.credentials['botId'] || request.recipient.accountId;
  if (!botId || botId === 'default') {
    throw new PermanentProviderError('the Kakao bot id is unknown: set KAKAO_BOT_ID to use the Event API', 'kakao_bot_id_unknown');
  }
  const parts = splitText(body, KAKAOTALK_CAPABILITIES.maxTextLength);
  const eventName = context.credentials['eventName'] || KAKAO_EVENT_NAME;
  const userKey = request.recipient.conversation.externalId;
  const externalIds = [...request.sentParts];
  for (const [index, part] of parts.entries()) {
    if (index < request.sentParts.length) continue;
    const answer = await postKakao(
      'Kakao Event API',
      eventApiUrl(context.apiBaseUrl, botId),
      { event: { name: eventName, data: { text: part } }, user: [{ type: 'botUserKey', id: userKey }] },
      { authorization: `KakaoAK ${restApiKey}` },
      context,
    );
    const externalId = answer.taskId
      ? `task:${answer.taskId}`
      : `event:${hash(`${request.messageId ?? userKey}\u001f${index}\u001f${part}`)}`;
    await context.onPartSent(externalId, index < parts.length - 1);
    externalIds.push(externalId);
  }
  return { externalIds };
};

/**
 * Sends an agent's text or list: through the recipient's callback while it is valid, else through the Event
 * API, else refuses permanently. The callback is single use and the route keeps offering it for its minute, so a
 * second reply (or a callback Kakao refuses as spent or late) goes through the Event API instead. A
 * retryable failure of the callback POST is retried as such: Kakao may have taken it.
 */
const send = async (request: SendRequest, context: SendContext): Promise<SendResult> => {
  const content = request.content;
  if (content.type !== 'text' && content.type !== 'list') {
    throw new InvalidRequestError(`KakaoTalk cannot carry ${content.type} content from Parley`);
  }
  // A callback answer is one POST: if an earlier attempt got it through, the message is sent.
  if (request.sentParts[0]?.startsWith(CALLBACK_ID_PREFIX)) return { externalIds: [...request.sentParts] };
  const callback = request.sentParts.length === 0 ? usableCallback(request, context) : undefined;
  if (callback !== undefined) {
    try {
      const externalId = await postCallbackAnswer(callback, skillResponseOf(content), context);
      await context.onPartSent(externalId, false);
      return { externalIds: [externalId] };
    } catch (error) {
      if (!(error instanceof ProviderError) || error.kind === 'retryable' || error.kind === 'rate_limited') throw error;
      // Refused: spent by an earlier reply, or late. The ordinary way is still open.
    }
  }
  return sendThroughEventApi(request, eventTextOf(content), context);
};

/** Kakao has no provider actions: a skill call's callback comes to the sender as the reply handle. */
const perform: ChannelSender['perform'] = async (action) => {
  throw new InvalidRequestError(`KakaoTalk has no action ${action}`);
};

export const kakaotalkSender: ChannelSender = { capabilities: KAKAOTALK_CAPABILITIES, send, perform };
