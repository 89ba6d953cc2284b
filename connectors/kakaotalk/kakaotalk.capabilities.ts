import type { ChannelCapabilities } from '../connector.ts';

/**
 * What KakaoTalk carries from Parley: text, with quick replies or buttons, and lists. An agent's reply reaches
 * the user either in a callback SkillResponse (within a minute of the user's message) or through the Event
 * API, whose message is drawn by an event block and can carry only the text in its event data; images and
 * files would need blocks built for them, so they are refused rather than half-delivered.
 * - simpleText: at most 1000 characters; longer texts are split (a SkillResponse holds at most 3 outputs).
 * - quickReplies: at most 10, labels at most 14 characters (longer ones are shortened; the full text is what
 *   the tap sends). The payload travels in the quick reply's `extra`, which has no documented size limit;
 *   Parley's own cap of 1000 applies.
 * - Buttons (callback only): a `textCard` with at most 3 buttons, `message` buttons carrying the payload in
 *   `extra` (it comes back as `clientExtra`) and `webLink` buttons for links; labels at most 14 characters.
 *   More buttons or longer labels degrade: postbacks to quick replies, links written out in the text. Through
 *   the Event API every button is written into the text. The card's fields and limits are not in the research
 *   notes beyond its name and the button actions: (unverified here) as Kakao's answer_json_format page gives them.
 * - Lists: no native list from Parley. The notes name `listCard` but give none of its limits, so a list is
 *   quick replies when its items fit (no descriptions or section titles, titles of at most 14 characters),
 *   else a numbered text with the descriptions.
 * - No provider templates here (AlimTalk templates go through BizMessage dealers, not the chatbot) and no
 *   message tags.
 * - No messaging window, but the Event API reaches only channel friends and is paid per message.
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/answer_json_format (SimpleText, TextCard, Button, QuickReplies)
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/main_notions/event-api
 */
export const KAKAOTALK_CAPABILITIES: ChannelCapabilities = {
  outboundTypes: ['text', 'list'],
  maxTextLength: 1000,
  maxCaptionLength: 0,
  quickReplies: { max: 10, maxPayloadBytes: 1000, maxLabelLength: 14 },
  buttons: { max: 3, maxLabelLength: 14, url: true },
  messageTags: [],
  // Without a callback URL still valid, only the Event API (paid, needs the REST API key) reaches the user.
  proactive: { kind: 'credential', credential: 'restApiKey' },
  // Kakao publishes no Event API rate; a modest pace keeps a campaign from being refused in bulk.
  throughput: { perSecond: 20, burst: 5 },
  inboundTypes: ['text', 'reply'],
};

/** A SkillResponse's `template.outputs` holds at most three components. */
export const KAKAO_MAX_OUTPUTS = 3;
